#!/usr/bin/env python3
"""Independent float64 numpy reference forward pass for EPIC's real-model tests.

What it does
  * Loads a GGUF with gguf-py's GGUFReader and dequantizes every tensor with
    gguf.quants.dequantize (pure numpy; independent of EPIC's dequantizer).
  * Runs a plain float64 transformer forward pass (no KV cache: every greedy
    step re-runs the whole sequence, which is mathematically the same as a
    cached causal decode), written from Hugging Face transformers'
    modeling_gemma3.py / modeling_llama.py semantics:
      gemma3: embeddings * sqrt(hidden); RMSNorm eps from GGUF, the GGUF norm
              weights already hold (1 + w) (llama.cpp's converter adds 1 to every
              "*norm.weight" of Gemma3, see convert_hf_to_gguf.py Gemma3Model
              norm_shift); per-head q_norm/k_norm before RoPE; NEOX (rotate-half)
              RoPE on Q/K as stored in the GGUF (no permute for gemma);
              layer i is global iff (i+1) % 6 == 0, global layers use
              rope theta gemma3.rope.freq_base, local ones theta 10000 and a
              causal sliding window of gemma3.attention.sliding_window
              (key j visible from query i iff i - window < j <= i);
              attention scale 1/sqrt(query_pre_attn_scalar) with
              query_pre_attn_scalar = head_dim = gemma3.attention.key_length;
              GQA; post-attention and post-feedforward RMSNorms;
              GELU(tanh) gated MLP; final RMSNorm; tied output (token_embd);
              no attention or final logit softcapping.
      qwen2:  as llama plus Q/K/V biases and NEOX (rotate-half) RoPE (Qwen2.5,
              --float64 of the llamacpp command).
      llama:  (sanity check of the shared machinery on SmolLM2) RMSNorm w,
              interleaved RoPE on adjacent pairs (llama.cpp's converter permutes
              HF's Q/K rows so the GGUF is in GPT-J pair order), scale
              1/sqrt(head_dim), SiLU gated MLP, output.weight or tied embedding.
  * Tokenization: gemma3 prompts are tokenized with sentencepiece, using a
    ModelProto built from the GGUF's tokenizer.ggml.{tokens,scores,token_type}
    (BPE, byte fallback, no dummy prefix, no whitespace normalisation), plus
    BOS (id 2) because tokenizer.ggml.add_bos_token = true. The ids are stored
    in the data file; --epic PATH additionally prints whether EPIC's
    `epic tokenize` gives the same ids (information only; the forward pass
    never uses EPIC).
  * Embedding scale is the exact float sqrt(n_embd) (HF casts it to the weight
    dtype, e.g. bf16 25.25 instead of 25.298 for 640; llama.cpp uses the exact
    value).

Setup (throwaway venv, never the system python):
  python3 -m venv /tmp/refenv
  /tmp/refenv/bin/pip install numpy gguf sentencepiece protobuf

Rerun (from the repo root):
  # Gemma 3 270M reference data (a few minutes, ~10 GB RAM peak):
  /tmp/refenv/bin/python tests/data/real_models/gemma3_numpy_reference.py gemma3 \
      --model models/gemma3-270m-q4_k_m.gguf \
      --out tests/data/real_models/gemma3_reference.json \
      [--epic build-lead/runtime/epic]
  # SmolLM2: llama.cpp dumps, then the data file (which also records this
  # script's float64 pass on SmolLM2 and its agreement with every dump):
  g++ -O2 -std=c++17 tests/data/real_models/dump_logits.cpp -o /tmp/dump_logits_B \
      -I/work/llamacpp/src/include -I/work/llamacpp/src/ggml/include \
      -L/work/llamacpp/B/bin -lllama -lggml -lggml-base -Wl,-rpath,/work/llamacpp/B/bin
      (B = build-noamx, the primary reference, and build, the AMX one)
  /tmp/refenv/bin/python tests/data/real_models/gemma3_numpy_reference.py f32-copy \
      --model models/smollm2-135m-instruct-q4_1.gguf --out /tmp/ref/smollm2_f32.gguf
  for i in 0 1 2; do P=<PROMPTS[i]>   # bash $'...' for the newline in prompt 2
    /tmp/dump_logits_build-noamx -m models/smollm2-135m-instruct-q4_1.gguf -t 2 -p "$P" \
        --dump-bin /tmp/ref/smol_build-noamx_$i.f32 > /tmp/ref/smol_build-noamx_$i.json
    /tmp/dump_logits_build -m models/smollm2-135m-instruct-q4_1.gguf -t 2 -p "$P" \
        --dump-bin /tmp/ref/smol_build_$i.f32 > /tmp/ref/smol_build_$i.json
    /tmp/dump_logits_build-noamx -m /tmp/ref/smollm2_f32.gguf -t 2 -p "$P" \
        --dump-bin /tmp/ref/smol_f32kv16_$i.f32 > /tmp/ref/smol_f32kv16_$i.json
    /tmp/dump_logits_build-noamx -m /tmp/ref/smollm2_f32.gguf -t 2 --kv-f32 -p "$P" \
        --dump-bin /tmp/ref/smol_f32kv32_$i.f32 > /tmp/ref/smol_f32kv32_$i.json
  done
  /tmp/refenv/bin/python tests/data/real_models/gemma3_numpy_reference.py smollm2 \
      --model models/smollm2-135m-instruct-q4_1.gguf --dumps /tmp/ref \
      --dump-tag build-noamx --compare-tags build f32kv16 f32kv32 \
      --computed-with "<description>" --out tests/data/real_models/smollm2_reference.json
  # Qwen2.5-Coder 0.5B / 1.5B Instruct (qwen2): llama.cpp is the primary reference (the
  # test's logits and greedy tokens and margins), this script's float64 pass is recorded
  # beside it (--float64; ~13 GB RAM peak for the 1.5B); the same dump_logits as above
  # against build (-DGGML_NATIVE=ON on a CPU without AMX); PROMPTS[0..2], then
  # CHATML_PROMPT with --parse-special:
  for i in 0 1 2 3; do P=<(PROMPTS + [CHATML_PROMPT])[i]>; X=; [ $i = 3 ] && X=--parse-special
    /tmp/dump_logits -m models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf -t 2 -k 20 -n 16 \
        -p "$P" $X > /tmp/ref/q05_build_$i.json      # q15_build_$i.json for the 1.5B
  done
  /tmp/refenv/bin/python tests/data/real_models/gemma3_numpy_reference.py llamacpp --float64 \
      --model models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf --dumps /tmp/ref --prefix q05 \
      --dump-tag build --computed-with "<description>" \
      --out tests/data/real_models/qwen2.5-coder-0.5b_reference.json
"""

import argparse
import hashlib
import json
import math
import os
import subprocess
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

PROMPTS = [
    "The capital of France is",
    "Tidewater Instruments makes measuring devices for the sea. Its first product was",
    "Question: What colour is the sky on a clear day?\nAnswer:",
]
# Qwen2.5 (llama.cpp-only references): the three prompts above plus a ChatML turn whose control
# tokens are parsed as such (llama.cpp parse_special=true; EPIC's encode_with_specials).
CHATML_PROMPT = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                 "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n")
TOPK = 20
N_GREEDY = 16


# ----------------------------------------------------------------------------- gguf

def field(reader, key, default=None):
    f = reader.fields.get(key)
    if f is None:
        return default
    return f.contents()


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fp:
        for blk in iter(lambda: fp.read(1 << 20), b""):
            h.update(blk)
    return h.hexdigest()


class Model:
    def __init__(self, path):
        self.path = path
        r = GGUFReader(path)
        self.reader = r
        arch = field(r, "general.architecture")
        self.arch = arch
        g = lambda k, d=None: field(r, f"{arch}.{k}", d)
        self.n_embd = int(g("embedding_length"))
        self.n_layer = int(g("block_count"))
        self.n_head = int(g("attention.head_count"))
        self.n_head_kv = int(g("attention.head_count_kv", self.n_head))
        self.head_dim = int(g("attention.key_length", self.n_embd // self.n_head))
        self.eps = float(g("attention.layer_norm_rms_epsilon"))
        self.rope_base = float(g("rope.freq_base", 10000.0))
        self.sliding_window = g("attention.sliding_window")
        self.final_softcap = g("final_logit_softcapping")
        self.attn_softcap = g("attn_logit_softcapping")
        assert g("rope.scaling.type") in (None, "none"), "rope scaling not implemented"
        self.tensors = {t.name: t for t in r.tensors}
        self._cache = {}

    def w(self, name, dtype=np.float64):
        """Dequantized tensor in numpy (row-major, out x in for matrices)."""
        key = (name, dtype)
        if key not in self._cache:
            t = self.tensors[name]
            a = dequantize(t.data, t.tensor_type)
            shape = tuple(int(x) for x in reversed(t.shape))  # GGUF ne0 is the fastest dim
            a = np.asarray(a).reshape(shape).astype(dtype)
            self._cache[key] = a
        return self._cache[key]

    def has(self, name):
        return name in self.tensors


# ----------------------------------------------------------------------------- math

def rmsnorm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def silu(x):
    return x / (1.0 + np.exp(-x))


def rope_neox(x, pos, theta):
    """x: (T, H, D). Rotate-half layout: pairs (i, i + D/2)."""
    D = x.shape[-1]
    inv = 1.0 / theta ** (np.arange(0, D, 2, dtype=np.float64) / D)
    ang = pos[:, None].astype(np.float64) * inv[None, :]          # (T, D/2)
    c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    x1, x2 = x[..., : D // 2], x[..., D // 2:]
    return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], axis=-1)


def rope_interleaved(x, pos, theta):
    """x: (T, H, D). GPT-J / ggml 'normal' layout: pairs (2i, 2i+1)."""
    D = x.shape[-1]
    inv = 1.0 / theta ** (np.arange(0, D, 2, dtype=np.float64) / D)
    ang = pos[:, None].astype(np.float64) * inv[None, :]
    c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = x0 * c - x1 * s
    out[..., 1::2] = x1 * c + x0 * s
    return out


def attention(q, k, v, scale, window=None, softcap=None):
    """q: (T, H, D), k/v: (T, Hkv, D); causal (+ optional sliding window)."""
    T, H, D = q.shape
    Hkv = k.shape[1]
    rep = H // Hkv
    i = np.arange(T)[:, None]
    j = np.arange(T)[None, :]
    allowed = j <= i
    if window is not None:
        allowed &= j > i - window
    out = np.empty((T, H, v.shape[-1]))
    for h in range(H):
        kh = k[:, h // rep, :]
        vh = v[:, h // rep, :]
        s = (q[:, h, :] @ kh.T) * scale
        if softcap:
            s = np.tanh(s / softcap) * softcap
        s = np.where(allowed, s, -np.inf)
        s = s - s.max(axis=1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(axis=1, keepdims=True)
        out[:, h, :] = p @ vh
    return out


def output_logits(m, x):
    """x: (T, n_embd) float64 after final norm -> (T, n_vocab) float64, chunked."""
    name = "output.weight" if m.has("output.weight") else "token_embd.weight"
    W = m.w(name, np.float32)
    out = np.empty((x.shape[0], W.shape[0]))
    step = 32768
    for a in range(0, W.shape[0], step):
        out[:, a:a + step] = x @ W[a:a + step].astype(np.float64).T
    return out


def forward(m, ids, last_only=False):
    ids = np.asarray(ids, dtype=np.int64)
    T = len(ids)
    pos = np.arange(T)
    E = m.w("token_embd.weight", np.float32)
    x = E[ids].astype(np.float64)
    gemma = m.arch == "gemma3"
    if gemma:
        x = x * math.sqrt(m.n_embd)
    for L in range(m.n_layer):
        p = f"blk.{L}."
        h = rmsnorm(x, m.w(p + "attn_norm.weight"), m.eps)
        q, k, v = (h @ m.w(p + f"attn_{n}.weight").T for n in "qkv")
        if m.has(p + "attn_q.bias"):  # qwen2: biases on Q, K and V
            q, k, v = q + m.w(p + "attn_q.bias"), k + m.w(p + "attn_k.bias"), v + m.w(p + "attn_v.bias")
        q = q.reshape(T, m.n_head, m.head_dim)
        k = k.reshape(T, m.n_head_kv, m.head_dim)
        v = v.reshape(T, m.n_head_kv, -1)
        if gemma:
            q = rmsnorm(q, m.w(p + "attn_q_norm.weight"), m.eps)
            k = rmsnorm(k, m.w(p + "attn_k_norm.weight"), m.eps)
            is_global = (L + 1) % 6 == 0
            theta = m.rope_base if is_global else 10000.0
            window = None if is_global else int(m.sliding_window)
            q = rope_neox(q, pos, theta)
            k = rope_neox(k, pos, theta)
            scale = 1.0 / math.sqrt(m.head_dim)  # query_pre_attn_scalar = head_dim
            a = attention(q, k, v, scale, window, m.attn_softcap)
        else:
            # qwen2: HF rotate-half RoPE, stored unpermuted (llama.cpp LLAMA_ROPE_TYPE_NEOX)
            rope = rope_neox if m.arch == "qwen2" else rope_interleaved
            q = rope(q, pos, m.rope_base)
            k = rope(k, pos, m.rope_base)
            a = attention(q, k, v, 1.0 / math.sqrt(m.head_dim))
        a = a.reshape(T, -1) @ m.w(p + "attn_output.weight").T
        if gemma:
            a = rmsnorm(a, m.w(p + "post_attention_norm.weight"), m.eps)
        x = x + a
        h = rmsnorm(x, m.w(p + "ffn_norm.weight"), m.eps)
        gt = h @ m.w(p + "ffn_gate.weight").T
        up = h @ m.w(p + "ffn_up.weight").T
        f = (gelu_tanh(gt) if gemma else silu(gt)) * up
        f = f @ m.w(p + "ffn_down.weight").T
        if gemma:
            f = rmsnorm(f, m.w(p + "post_ffw_norm.weight"), m.eps)
        x = x + f
    x = rmsnorm(x, m.w("output_norm.weight"), m.eps)
    if last_only:
        x = x[-1:]
    logits = output_logits(m, x)
    if m.final_softcap:
        logits = np.tanh(logits / m.final_softcap) * m.final_softcap
    return logits


def topk(row, k=TOPK):
    idx = np.lexsort((np.arange(len(row)), -row))[:k]  # by logit desc, then id asc
    return [[int(i), round(float(row[i]), 5)] for i in idx]


def greedy(m, ids, first_logits, n=N_GREEDY):
    """Greedy continuation; also returns, per step, the top1 - top2 logit margin
    (small margins mark steps where a quantized engine may legitimately differ)."""
    seq = list(ids)
    out, margins = [], []
    row = first_logits
    for g in range(n):
        t = int(np.argmax(row))
        two = np.partition(row, -2)[-2:]
        margins.append(round(float(two[1] - two[0]), 5))
        out.append(t)
        seq.append(t)
        if g + 1 < n:
            row = forward(m, seq, last_only=True)[0]
    return out, margins


# ----------------------------------------------------------------------------- tokenizers

def gemma_sp_tokenizer(m):
    """sentencepiece processor built from the GGUF vocabulary."""
    from sentencepiece import SentencePieceProcessor
    from sentencepiece import sentencepiece_model_pb2 as pb
    r = m.reader
    toks = field(r, "tokenizer.ggml.tokens")
    scores = field(r, "tokenizer.ggml.scores")
    types = field(r, "tokenizer.ggml.token_type")
    mp = pb.ModelProto()
    mp.trainer_spec.model_type = pb.TrainerSpec.BPE
    mp.trainer_spec.vocab_size = len(toks)
    mp.trainer_spec.byte_fallback = True
    mp.trainer_spec.unk_id = int(field(r, "tokenizer.ggml.unknown_token_id"))
    mp.trainer_spec.bos_id = int(field(r, "tokenizer.ggml.bos_token_id"))
    mp.trainer_spec.eos_id = int(field(r, "tokenizer.ggml.eos_token_id"))
    mp.trainer_spec.pad_id = int(field(r, "tokenizer.ggml.padding_token_id"))
    mp.normalizer_spec.name = "identity"
    mp.normalizer_spec.add_dummy_prefix = bool(field(r, "tokenizer.ggml.add_space_prefix", False))
    mp.normalizer_spec.remove_extra_whitespaces = False
    mp.normalizer_spec.escape_whitespaces = True
    # GGUF token types follow sentencepiece's enum: 1 normal 2 unknown 3 control 4 user 5 unused 6 byte
    for t, s, ty in zip(toks, scores, types):
        p = mp.pieces.add()
        p.piece = t
        p.score = float(s)
        p.type = int(ty)
    sp = SentencePieceProcessor()
    sp.LoadFromSerializedProto(mp.SerializeToString())
    return sp


def gemma_detok(m, ids):
    toks = field(m.reader, "tokenizer.ggml.tokens")
    types = field(m.reader, "tokenizer.ggml.token_type")
    b = bytearray()
    for i in ids:
        t, ty = toks[i], types[i]
        if ty == 6 and t.startswith("<0x"):
            b.append(int(t[3:-1], 16))
        else:
            b += t.replace("\u2581", " ").encode("utf-8")
    return b.decode("utf-8", errors="replace")


def gpt2_detok(m, ids):
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for c in range(256):
        if c not in bs:
            bs.append(c)
            cs.append(256 + n)
            n += 1
    dec = {chr(c): b for b, c in zip(bs, cs)}
    toks = field(m.reader, "tokenizer.ggml.tokens")
    types = field(m.reader, "tokenizer.ggml.token_type")
    b = bytearray()
    for i in ids:
        t = toks[i]
        if types[i] == 3:  # control: rendered verbatim (as llama.cpp does with special=true)
            b += t.encode()
        else:
            b += bytes(dec[ch] for ch in t)
    return b.decode("utf-8", errors="replace")


# ----------------------------------------------------------------------------- commands

def write_data_file(args, cases):
    """The reference file the C++ test reads: the model's identity and the cases."""
    doc = {
        "model_file": os.path.basename(args.model),
        "sha256": sha256(args.model),
        "computed_with": args.computed_with,
        "logit_dtype": "float32 from llama.cpp, rounded to 5 decimals",
        "cases": cases,
    }
    with open(args.out, "w") as fp:
        json.dump(doc, fp, separators=(",", ":"))
        fp.write("\n")
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)", file=sys.stderr)


def cmd_gemma3(args):
    m = Model(args.model)
    assert m.arch == "gemma3"
    kl = m.head_dim
    print(f"gemma3: n_embd={m.n_embd} layers={m.n_layer} heads={m.n_head}/{m.n_head_kv} head_dim={kl} "
          f"eps={m.eps} rope_base={m.rope_base} window={m.sliding_window} softcap={m.final_softcap}/{m.attn_softcap}",
          file=sys.stderr)
    nw = m.w("blk.0.attn_norm.weight")
    print(f"blk.0.attn_norm mean {nw.mean():.3f} (GGUF holds 1+w)", file=sys.stderr)
    sp = gemma_sp_tokenizer(m)
    add_bos = bool(field(m.reader, "tokenizer.ggml.add_bos_token", True))
    bos = int(field(m.reader, "tokenizer.ggml.bos_token_id"))
    cases = []
    for prompt in PROMPTS:
        ids = ([bos] if add_bos else []) + list(sp.encode(prompt))
        if args.epic:
            e = subprocess.run([args.epic, "tokenize", "--model", args.model, "--text", prompt],
                               capture_output=True, text=True, check=True).stdout.split()
            e = [int(x) for x in e]
            print(f"  sp ids   {ids}\n  epic ids {e}  {'SAME' if e == ids else 'DIFFERENT'}", file=sys.stderr)
        logits = forward(m, ids)
        g, gm = greedy(m, ids, logits[-1])
        text = gemma_detok(m, g)
        print(f"{prompt!r} -> {text!r}", file=sys.stderr)
        cases.append({
            "prompt": prompt, "prompt_ids": ids, "add_bos": add_bos,
            "top20_per_position": [topk(r) for r in logits],
            "last_position_top20": topk(logits[-1]),
            "greedy_ids": g, "greedy_text": text, "greedy_top1_top2_margin": gm,
        })
    doc = {
        "model_file": os.path.basename(args.model),
        "sha256": sha256(args.model),
        "computed_with": ("tests/data/real_models/gemma3_numpy_reference.py: independent float64 numpy forward pass "
                          "(HF transformers Gemma3 semantics), weights dequantized with gguf-py "
                          "gguf.quants.dequantize (gguf %s; bit-identical to ggml's to_float for every tensor), prompt "
                          "tokenized with sentencepiece built from the GGUF vocabulary + BOS (ids equal to EPIC's "
                          "`epic tokenize`); logits at every prompt position from one full-sequence pass; "
                          "greedy = argmax, 16 tokens, no stop on EOS, each step a full re-run" % _gguf_version()),
        "logit_dtype": "float64, rounded to 5 decimals",
        "cases": cases,
    }
    with open(args.out, "w") as fp:
        json.dump(doc, fp, separators=(",", ":"))
        fp.write("\n")
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)", file=sys.stderr)


def _gguf_version():
    try:
        from importlib.metadata import version
        return version("gguf")
    except Exception:
        return "?"


def _load_dump(dumps, tag, i, prefix="smol"):
    d = json.load(open(os.path.join(dumps, f"{prefix}_{tag}_{i}.json")))
    lg = np.fromfile(os.path.join(dumps, f"{prefix}_{tag}_{i}.f32"), dtype=np.float32).reshape(-1, d["n_vocab"])
    return d, lg


def _cmp(a, b):
    d = np.abs(a - b)
    return {"max_abs": round(float(d.max()), 6), "rms": round(float(np.sqrt((d ** 2).mean())), 6),
            "max_rel_to_row_max_abs": round(float((d.max(axis=1) / np.abs(a).max(axis=1)).max()), 8),
            "top1_agree": f"{int((a.argmax(1) == b.argmax(1)).sum())}/{a.shape[0]}"}


def cmd_smollm2(args):
    """SmolLM2 data file: llama.cpp (dump tag --dump-tag) as the primary reference,
    plus this script's float64 numpy pass and the other llama.cpp dumps for comparison."""
    m = Model(args.model)
    assert m.arch == "llama"
    cases = []
    for i, prompt in enumerate(PROMPTS):
        d, ref = _load_dump(args.dumps, args.dump_tag, i)
        assert d["prompt"] == prompt
        ids = d["prompt_ids"]
        top = [[[int(a), round(float(b), 5)] for a, b in row] for row in d["top_per_position"]]
        case = {"prompt": prompt, "prompt_ids": ids, "add_bos": d["add_bos"],
                "top20_per_position": top, "last_position_top20": top[-1],
                "greedy_ids": d["greedy_ids"], "greedy_text": d["greedy_text"]}
        lg = forward(m, ids)
        g, gm = greedy(m, ids, lg[-1])
        case["numpy_float64"] = {
            "top20_per_position": [topk(r) for r in lg],
            "greedy_ids": g, "greedy_text": gpt2_detok(m, g), "greedy_top1_top2_margin": gm,
            "vs_primary_logits_all_positions": _cmp(lg, ref)}
        others = {}
        for tag in args.compare_tags:
            od, olg = _load_dump(args.dumps, tag, i)
            assert od["prompt_ids"] == ids
            others[tag] = {"greedy_ids": od["greedy_ids"], "greedy_text": od["greedy_text"],
                           "vs_numpy_float64": _cmp(lg, olg), "vs_primary": _cmp(ref.astype(np.float64), olg)}
        case["other_llamacpp_runs"] = others
        print(json.dumps({k: v for k, v in case.items() if k not in ("top20_per_position", "last_position_top20")}
                         | {"numpy_float64": {k: v for k, v in case["numpy_float64"].items() if k != "top20_per_position"}}),
              file=sys.stderr)
        cases.append(case)
    write_data_file(args, cases)


def cmd_llamacpp(args):
    """Data file from llama.cpp dumps alone (Qwen2.5): PROMPTS, then CHATML_PROMPT with
    --parse-special. Reads PREFIX_TAG_I.json (no .f32 needed); greedy margins are llama.cpp's own."""
    prompts = PROMPTS + [CHATML_PROMPT]
    m = Model(args.model) if args.float64 else None
    cases = []
    for i, prompt in enumerate(prompts):
        d = json.load(open(os.path.join(args.dumps, f"{args.prefix}_{args.dump_tag}_{i}.json")))
        assert d["prompt"] == prompt, (d["prompt"], prompt)
        assert d["parse_special"] == (prompt == CHATML_PROMPT)
        top = [[[int(a), round(float(b), 5)] for a, b in row] for row in d["top_per_position"]]
        case = {"prompt": prompt, "prompt_ids": d["prompt_ids"], "add_bos": d["add_bos"]}
        if d["parse_special"]:
            case["parse_special"] = True
        case |= {"top20_per_position": top, "last_position_top20": top[-1],
                 "greedy_ids": d["greedy_ids"],
                 "greedy_top1_top2_margin": [round(float(x), 5) for x in d["greedy_top1_top2_margin"]],
                 "greedy_text": d["greedy_text"]}
        if args.float64:
            lg = forward(m, d["prompt_ids"])
            g, gm = greedy(m, d["prompt_ids"], lg[-1])
            diff = max(abs(lg[t][a] - b) for t, row in enumerate(top) for a, b in row)
            # Per position, as the test compares: float64 minus llama.cpp on the primary's top-20 ids,
            # the mean (row offset) removed; positions where the two references differ by more than
            # the test's tolerances (residual 1.5, offset 3.0) decide nothing and are listed.
            per_pos = []
            for t, row in enumerate(top):
                dd = [lg[t][a] - b for a, b in row]
                off = sum(dd) / len(dd)
                per_pos.append([round(float(off), 4), round(float(max(abs(x - off) for x in dd)), 4)])
            disagree = [t for t, (off, res) in enumerate(per_pos) if res > 1.5 or abs(off) > 3.0]
            if disagree:
                case["positions_references_disagree"] = disagree
            case["numpy_float64"] = {
                "top20_per_position": [topk(r) for r in lg],
                "greedy_ids": g, "greedy_text": gpt2_detok(m, g), "greedy_top1_top2_margin": gm,
                "vs_primary_top20_max_abs": round(float(diff), 6),
                "vs_primary_top20_offset_and_residual_per_position": per_pos,
                "top1_agree": f"{sum(int(np.argmax(lg[t]) == top[t][0][0]) for t in range(len(top)))}/{len(top)}"}
            print(json.dumps({k: v for k, v in case["numpy_float64"].items() if k != "top20_per_position"}), file=sys.stderr)
        print(json.dumps({k: v for k, v in case.items() if k not in ("top20_per_position", "last_position_top20", "numpy_float64")}),
              file=sys.stderr)
        cases.append(case)
    write_data_file(args, cases)


def cmd_f32_copy(args):
    """Write an F32 GGUF holding the gguf-py-dequantized weights (same metadata):
    lets llama.cpp run the exact same weights without activation quantization."""
    import gguf
    from gguf import GGUFWriter
    r = GGUFReader(args.model)
    arch = field(r, "general.architecture")
    w = GGUFWriter(args.out, arch)
    for k, f in r.fields.items():
        if k.startswith("GGUF.") or k == "general.architecture":
            continue
        if k == "general.file_type":
            w.add_uint32(k, 0)
            continue
        vt = f.types[0]
        w.add_key_value(k, f.contents(), vt, sub_type=f.types[-1] if vt == gguf.GGUFValueType.ARRAY else None)
    for t in r.tensors:
        shape = tuple(int(x) for x in reversed(t.shape))
        w.add_tensor(t.name, np.asarray(dequantize(t.data, t.tensor_type)).reshape(shape).astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("gemma3")
    a.add_argument("--model", required=True)
    a.add_argument("--out", required=True)
    a.add_argument("--epic", help="path to EPIC's CLI: compare its `tokenize` ids (information only)")
    b = sub.add_parser("smollm2")
    b.add_argument("--model", required=True)
    b.add_argument("--dumps", required=True)
    b.add_argument("--dump-tag", default="build-noamx")
    b.add_argument("--out", required=True)
    b.add_argument("--compare-tags", nargs="*", default=[],
                   help="other dump tags to record (e.g. build f32kv32 for the F32-weight copy)")
    b.add_argument("--computed-with", default="llama.cpp")
    d = sub.add_parser("llamacpp")
    d.add_argument("--model", required=True)
    d.add_argument("--dumps", required=True)
    d.add_argument("--prefix", required=True, help="dump files are PREFIX_TAG_I.json")
    d.add_argument("--dump-tag", default="build")
    d.add_argument("--out", required=True)
    d.add_argument("--computed-with", default="llama.cpp")
    d.add_argument("--float64", action="store_true",
                   help="also record this script's float64 pass (qwen2/llama) as numpy_float64 in each case")
    c = sub.add_parser("f32-copy")
    c.add_argument("--model", required=True)
    c.add_argument("--out", required=True)
    args = ap.parse_args()
    {"gemma3": cmd_gemma3, "smollm2": cmd_smollm2, "llamacpp": cmd_llamacpp, "f32-copy": cmd_f32_copy}[args.cmd](args)


if __name__ == "__main__":
    main()
