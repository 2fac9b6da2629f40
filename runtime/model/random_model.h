#pragma once
// Writes llama GGUF files with random weights and a synthetic sentencepiece-BPE vocabulary: the
// fixtures tests always have, and the shapes benchmarks use (TinyLlama-1.1B, Llama-2-7B).
#include "core/tensor_type.h"

#include <cstdint>
#include <string>
#include <vector>

namespace epic {

struct random_model_params {
    std::string arch = "llama";             // "llama", "gemma3", "qwen2", "qwen3" or "phi3"
    int32_t head_dim = 0;                   // 0: n_embd / n_head
    int32_t sliding_window = 0;             // gemma3, phi3: keys seen by sliding-window layers
    int32_t n_vocab = 320;
    int32_t n_embd = 256;
    int32_t n_layer = 2;
    int32_t n_head = 4;
    int32_t n_head_kv = 2;
    int32_t n_ff = 512;
    int32_t n_ctx = 512;
    float rope_base = 10000.0f;
    float rms_eps = 1e-5f;
    ggml_type type = ggml_type::f32;        // 2-D weights (a tensor whose rows don't fit the blocks stays f32)
    ggml_type embd_type = ggml_type::f32;   // token_embd (K-quants need n_embd % 256 == 0)
    bool tied_output = false;
    bool rope_freqs = false;                // write a Llama-3 style rope_freqs tensor
    bool long_rope = false;                 // phi3: LongRoPE short/long factors and an attention factor
    uint64_t seed = 1;
    std::string name = "random";
    std::vector<std::string> special_tokens; // appended to the vocabulary as control tokens (chat markup)
    std::string chat_template;               // written as tokenizer.chat_template when not empty
};

random_model_params random_model_default_params();
// Named shapes: "tiny" (the default above), "tinyllama" (2048/22/32/4/5632/32000), "llama2-7b"
// (4096/32/32/32/11008/32000), "tiny-gemma3" (gemma3, 7 layers, head dim 64 != n_embd/n_head,
// window 6), "tiny-qwen2" (q/k/v biases, rotate-half, tied output), "tiny-qwen3" (QK norms, head dim
// 64 != n_embd/n_head), "tiny-phi3" (fused qkv and gate/up tensors, window 6 on every layer, LongRoPE
// factors). Throws epic::error for an unknown name.
random_model_params random_model_shape(const std::string& name);

// The synthetic vocabulary: <unk>, <s>, </s>, 256 byte tokens, then pieces built by merging
// earlier ones (so every piece is reachable by BPE), scores decreasing.
struct synthetic_vocab {
    std::vector<std::string> pieces;
    std::vector<float> scores;
    std::vector<int32_t> types; // 1 normal, 2 unknown, 3 control, 6 byte
};
synthetic_vocab make_synthetic_vocab(int32_t n_vocab);

// Writes the model; returns nothing, throws epic::error naming the path on failure.
void write_random_model(const std::string& path, const random_model_params& p);

} // namespace epic
