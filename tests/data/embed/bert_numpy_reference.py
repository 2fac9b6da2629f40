#!/usr/bin/env python3
"""An independent float64 numpy implementation of all-MiniLM-L6-v2's sentence embedding, the reference
tests/runtime/embed_bert_encoder_test.cpp compares the C++ BERT encoder with.

It reads model.safetensors by hand (8-byte little-endian header length, JSON header, raw data: no torch,
no safetensors package), tokenizes a few fixed sentences with the `tokenizers` package (the model's own
tokenizer.json, padding and truncation switched off so that every token is a real one), runs BertModel
in float64 (absolute positions, post-LayerNorm blocks, exact erf GELU, bidirectional attention), pools
by the mean over all tokens and L2-normalises, as sentence-transformers does for one unpadded sequence.

It writes tests/data/embed/minilm_reference.json: per input the text, the token ids and the whole
384-dim embedding. Sanity check before writing: the two paraphrases are closer than any unrelated pair.

    pip install tokenizers    # numpy is assumed
    python3 tests/data/embed/bert_numpy_reference.py [--model models/all-minilm-l6-v2] [--out FILE]
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))

# The inputs: two paraphrases, two unrelated sentences, one with punctuation and digits, and a
# passage truncated to exactly 128 tokens (the length the C++ test also times).
SENTENCES = [
    "The cat sat on the mat.",
    "A cat was sitting on the rug.",
    "Quarterly revenue grew by 12% compared with last year.",
    "How do I reset my password?",
    "EPIC answers questions about your own documents, offline!",
]
PASSAGE = (
    "Retrieval-augmented generation answers a question by first finding the passages of a document "
    "collection that are most likely to contain the answer, then handing those passages to a language "
    "model together with the question. Dense retrieval represents every passage and every question as a "
    "vector, so that passages whose meaning is close to the question's lie close to it in the vector "
    "space, even when they share few words. Sparse retrieval such as BM25 instead counts shared terms, "
    "weighted by how rare they are in the collection. The two methods fail in different ways, which is "
    "why many systems combine them, merging the ranked lists with reciprocal rank fusion or a learned "
    "reranker before the best passages reach the model's context window."
)
PASSAGE_TOKENS = 128


def load_safetensors(path):
    """name -> float64 array, by hand: u64 header length, JSON header, data section."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        if info["dtype"] == "F32":
            a = np.frombuffer(data[begin:end], dtype="<f4")
        elif info["dtype"] == "I64":
            a = np.frombuffer(data[begin:end], dtype="<i8")
        else:
            raise SystemExit(f"{path}: tensor {name}: dtype {info['dtype']} not handled")
        out[name] = a.reshape(info["shape"]).astype(np.float64)
    return out


_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def layer_norm(x, w, b, eps):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def linear(x, W, b):
    return x @ W.T + b  # PyTorch Linear: W is [out, in]


def bert_hidden(W, cfg, ids):
    n = len(ids)
    E, H = cfg["hidden_size"], cfg["num_attention_heads"]
    hd = E // H
    eps = cfg["layer_norm_eps"]
    x = W["embeddings.word_embeddings.weight"][ids]
    x = x + W["embeddings.position_embeddings.weight"][:n]
    x = x + W["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"], eps)
    for il in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{il}."
        q = linear(x, W[p + "attention.self.query.weight"], W[p + "attention.self.query.bias"])
        k = linear(x, W[p + "attention.self.key.weight"], W[p + "attention.self.key.bias"])
        v = linear(x, W[p + "attention.self.value.weight"], W[p + "attention.self.value.bias"])
        q = q.reshape(n, H, hd).transpose(1, 0, 2)  # [H, n, hd]
        k = k.reshape(n, H, hd).transpose(1, 0, 2)
        v = v.reshape(n, H, hd).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(hd)  # [H, n, n], no mask: one unpadded sequence
        s = np.exp(s - s.max(axis=-1, keepdims=True))
        s = s / s.sum(axis=-1, keepdims=True)
        att = (s @ v).transpose(1, 0, 2).reshape(n, E)
        o = linear(att, W[p + "attention.output.dense.weight"], W[p + "attention.output.dense.bias"])
        x = layer_norm(x + o, W[p + "attention.output.LayerNorm.weight"], W[p + "attention.output.LayerNorm.bias"], eps)
        h = gelu(linear(x, W[p + "intermediate.dense.weight"], W[p + "intermediate.dense.bias"]))
        o = linear(h, W[p + "output.dense.weight"], W[p + "output.dense.bias"])
        x = layer_norm(x + o, W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"], eps)
    return x


def embed(W, cfg, ids):
    m = bert_hidden(W, cfg, ids).mean(axis=0)
    return m / max(np.linalg.norm(m), 1e-12)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "all-minilm-l6-v2"))
    ap.add_argument("--out", default=os.path.join(HERE, "minilm_reference.json"))
    args = ap.parse_args()

    from tokenizers import Tokenizer

    cfg = json.load(open(os.path.join(args.model, "config.json")))
    W = load_safetensors(os.path.join(args.model, "model.safetensors"))
    tok = Tokenizer.from_file(os.path.join(args.model, "tokenizer.json"))
    tok.no_padding()  # tokenizer.json pads to 128: pads would join the mean without a mask
    tok.no_truncation()

    inputs = [(s, tok.encode(s).ids) for s in SENTENCES]
    tok.enable_truncation(PASSAGE_TOKENS)
    inputs.append((PASSAGE, tok.encode(PASSAGE).ids))
    if len(inputs[-1][1]) != PASSAGE_TOKENS:
        raise SystemExit(f"the passage has {len(inputs[-1][1])} tokens, expected {PASSAGE_TOKENS}: lengthen it")

    records = []
    vecs = []
    for text, ids in inputs:
        e = embed(W, cfg, ids)
        vecs.append(e)
        records.append({"text": text, "ids": ids, "embedding": [float("%.9g" % v) for v in e]})
        print(f"{len(ids):4d} tokens  |e|={np.linalg.norm(e):.6f}  e[:4]={e[:4]}  {text[:50]!r}")

    cos = lambda a, b: float(a @ b)
    paraphrase = cos(vecs[0], vecs[1])
    unrelated = max(cos(vecs[i], vecs[j]) for i in range(len(vecs)) for j in range(i + 1, len(vecs)) if (i, j) != (0, 1))
    print(f"cosine of the paraphrases {paraphrase:.4f}, largest of the unrelated pairs {unrelated:.4f}")
    if not paraphrase > unrelated:
        raise SystemExit("sanity check failed: the paraphrases are not the closest pair")

    out = {
        "about": "all-MiniLM-L6-v2 sentence embeddings (mean pooling, L2-normalised) computed in float64 by "
        "tests/data/embed/bert_numpy_reference.py; ids from the model's tokenizer.json (tokenizers package), "
        "no padding, no truncation except the passage (128 tokens)",
        "cosine_paraphrases": paraphrase,
        "cosine_unrelated_max": unrelated,
        "inputs": records,
    }
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", args.out)


if __name__ == "__main__":
    sys.exit(main())
