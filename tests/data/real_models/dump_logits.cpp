// dump_logits.cpp - reference logits from llama.cpp for EPIC's real-model tests.
//
// Evaluates a prompt in ONE batch with logits requested for every position,
// then greedily decodes N tokens (one token per llama_decode, KV-cached).
// Prints one JSON object on stdout:
//   {"prompt", "add_bos", "parse_special", "prompt_ids", "top_per_position": [[[id,logit],..]..],
//    "greedy_ids", "greedy_top1_top2_margin", "greedy_text"}
// greedy_top1_top2_margin: per greedy step, llama.cpp's top-1 minus top-2 logit (small values mark
// near-ties where another engine may legitimately pick the other token).
// Optionally (--dump-bin FILE) writes the full float32 logits of the prompt
// batch, row-major [n_prompt_tokens][n_vocab], for element-wise comparisons.
// --kv-f32 keeps the KV cache in F32 instead of llama.cpp's default F16 (used
// with an F32 copy of the model to check the numpy reference's machinery).
//
// Tokenization is llama.cpp's own: llama_tokenize(add_special=true,
// parse_special=false, or true with --parse-special for prompts that spell out
// control tokens such as ChatML's <|im_start|>); whether BOS is added follows
// the GGUF's tokenizer.ggml.add_bos_token (false for SmolLM2 and Qwen2.5).
//
// Built against the llama.cpp reference build used for the data files
// (ggerganov/llama.cpp c392e50, Feb 2025), which lives OUTSIDE this repo:
//   g++ -O2 -std=c++17 tests/data/real_models/dump_logits.cpp -o /tmp/dump_logits \
//       -I/work/llamacpp/src/include -I/work/llamacpp/src/ggml/include \
//       -L/work/llamacpp/build/bin -lllama -lggml -lggml-base \
//       -Wl,-rpath,/work/llamacpp/build/bin
//   (for the non-AMX build, substitute build-noamx, or run the same binary with
//    LD_LIBRARY_PATH=/work/llamacpp/build-noamx/bin)
// Run:
//   /tmp/dump_logits -m models/smollm2-135m-instruct-q4_1.gguf -t 2 -k 20 -n 16 \
//       -p "The capital of France is" [--dump-bin /tmp/x.f32] [--parse-special]
// The data file smollm2_reference.json is assembled from these dumps by
// `gemma3_numpy_reference.py smollm2 ...` (see that script's header for the
// full sequence of commands).

#include "llama.h"
#include "ggml.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

static std::string json_escape(const std::string & s) {
    std::string o;
    for (unsigned char c : s) {
        switch (c) {
            case '"':  o += "\\\""; break;
            case '\\': o += "\\\\"; break;
            case '\n': o += "\\n"; break;
            case '\r': o += "\\r"; break;
            case '\t': o += "\\t"; break;
            default:
                if (c < 0x20) { char b[8]; snprintf(b, sizeof b, "\\u%04x", c); o += b; }
                else o += (char)c;
        }
    }
    return o;
}

static std::string piece(const llama_vocab * vocab, llama_token id) {
    char buf[256];
    int n = llama_token_to_piece(vocab, id, buf, sizeof(buf), 0, true);
    if (n < 0) return std::string();
    return std::string(buf, n);
}

static void print_top(const float * logits, int n_vocab, int k) {
    std::vector<int> idx(n_vocab);
    for (int i = 0; i < n_vocab; i++) idx[i] = i;
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int a, int b) {
        if (logits[a] != logits[b]) return logits[a] > logits[b];
        return a < b;
    });
    printf("[");
    for (int i = 0; i < k; i++) printf("%s[%d,%.9g]", i ? "," : "", idx[i], logits[idx[i]]);
    printf("]");
}

int main(int argc, char ** argv) {
    std::string model_path, prompt, dump_bin;
    int n_threads = 2, top_k = 20, n_gen = 16;
    bool kv_f32 = false, parse_special = false;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto next = [&]() -> const char * { if (i + 1 >= argc) { fprintf(stderr, "missing value for %s\n", a.c_str()); exit(1); } return argv[++i]; };
        if (a == "-m") model_path = next();
        else if (a == "-p") prompt = next();
        else if (a == "-t") n_threads = atoi(next());
        else if (a == "-k") top_k = atoi(next());
        else if (a == "-n") n_gen = atoi(next());
        else if (a == "--dump-bin") dump_bin = next();
        else if (a == "--kv-f32") kv_f32 = true;
        else if (a == "--parse-special") parse_special = true;
        else { fprintf(stderr, "unknown arg %s\n", a.c_str()); return 1; }
    }
    if (model_path.empty()) { fprintf(stderr, "usage: %s -m MODEL -p PROMPT [-t 2] [-k 20] [-n 16] [--dump-bin F] [--kv-f32] [--parse-special]\n", argv[0]); return 1; }

    llama_log_set([](ggml_log_level, const char *, void *) {}, nullptr);
    ggml_backend_load_all();

    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    llama_model * model = llama_model_load_from_file(model_path.c_str(), mp);
    if (!model) { fprintf(stderr, "failed to load %s\n", model_path.c_str()); return 1; }
    const llama_vocab * vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);
    const bool add_bos = llama_vocab_get_add_bos(vocab);

    int n_prompt = -llama_tokenize(vocab, prompt.c_str(), prompt.size(), nullptr, 0, true, parse_special);
    std::vector<llama_token> toks(n_prompt);
    if (llama_tokenize(vocab, prompt.c_str(), prompt.size(), toks.data(), toks.size(), true, parse_special) < 0) {
        fprintf(stderr, "tokenize failed\n"); return 1;
    }

    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n_prompt + n_gen + 8;
    cp.n_batch = std::max(n_prompt, 1);
    cp.n_ubatch = std::max(n_prompt, 1);
    cp.n_threads = n_threads;
    cp.n_threads_batch = n_threads;
    cp.no_perf = true;
    if (kv_f32) { cp.type_k = GGML_TYPE_F32; cp.type_v = GGML_TYPE_F32; }
    llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "context failed\n"); return 1; }

    llama_batch batch = llama_batch_init(n_prompt, 0, 1);
    for (int i = 0; i < n_prompt; i++) {
        batch.token[i] = toks[i];
        batch.pos[i] = i;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0;
        batch.logits[i] = 1;
    }
    batch.n_tokens = n_prompt;
    if (llama_decode(ctx, batch)) { fprintf(stderr, "decode failed\n"); return 1; }

    printf("{\"prompt\":\"%s\",\"add_bos\":%s,\"parse_special\":%s,\"n_vocab\":%d,\"prompt_ids\":[", json_escape(prompt).c_str(),
           add_bos ? "true" : "false", parse_special ? "true" : "false", n_vocab);
    for (int i = 0; i < n_prompt; i++) printf("%s%d", i ? "," : "", toks[i]);
    printf("],\"prompt_pieces\":[");
    for (int i = 0; i < n_prompt; i++) printf("%s\"%s\"", i ? "," : "", json_escape(piece(vocab, toks[i])).c_str());
    printf("],\"top_per_position\":[");
    FILE * fb = dump_bin.empty() ? nullptr : fopen(dump_bin.c_str(), "wb");
    for (int i = 0; i < n_prompt; i++) {
        const float * lg = llama_get_logits_ith(ctx, i);
        if (i) printf(",");
        print_top(lg, n_vocab, top_k);
        if (fb) fwrite(lg, sizeof(float), n_vocab, fb);
    }
    if (fb) fclose(fb);
    printf("]");

    // greedy continuation (argmax; ties -> lowest id), always n_gen tokens
    std::vector<llama_token> gen;
    std::vector<float> margins;
    std::string text;
    const float * lg = llama_get_logits_ith(ctx, n_prompt - 1);
    int pos = n_prompt;
    for (int g = 0; g < n_gen; g++) {
        int best = 0;
        for (int v = 1; v < n_vocab; v++) if (lg[v] > lg[best]) best = v;
        float second = -INFINITY;
        for (int v = 0; v < n_vocab; v++) if (v != best && lg[v] > second) second = lg[v];
        margins.push_back(lg[best] - second);
        gen.push_back(best);
        text += piece(vocab, best);
        if (g + 1 == n_gen) break;
        llama_batch b1 = llama_batch_init(1, 0, 1);
        b1.token[0] = best; b1.pos[0] = pos++; b1.n_seq_id[0] = 1; b1.seq_id[0][0] = 0; b1.logits[0] = 1; b1.n_tokens = 1;
        if (llama_decode(ctx, b1)) { fprintf(stderr, "decode failed\n"); return 1; }
        llama_batch_free(b1);
        lg = llama_get_logits_ith(ctx, -1);
    }
    printf(",\"greedy_ids\":[");
    for (size_t i = 0; i < gen.size(); i++) printf("%s%d", i ? "," : "", gen[i]);
    printf("],\"greedy_top1_top2_margin\":[");
    for (size_t i = 0; i < margins.size(); i++) printf("%s%.9g", i ? "," : "", margins[i]);
    printf("],\"greedy_text\":\"%s\"}\n", json_escape(text).c_str());

    llama_batch_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
