#pragma once
// Hyperparameters of a decoder-only transformer, read from a GGUF file's `<arch>.*` keys.
#include <cstdint>
#include <string>
#include <vector>

namespace epic {

class gguf_file;

// How a family's layers differ from llama's (llama: all defaults).
enum class ffn_activation { silu, gelu_tanh };

struct model_config {
    std::string arch;          // "llama", "gemma3", "qwen2", "qwen3", "phi3"
    std::string name;          // general.name, may be empty
    int32_t n_vocab = 0;
    int32_t n_embd = 0;        // model width
    int32_t n_layer = 0;
    int32_t n_head = 0;        // query heads
    int32_t n_head_kv = 0;     // key/value heads (GQA when < n_head)
    int32_t head_dim = 0;      // n_embd / n_head unless the file says otherwise
    int32_t n_ff = 0;          // feed-forward width
    int32_t n_ctx_train = 0;   // context length the model was trained (or converted) with
    int32_t n_rot = 0;         // rotary dimensions per head (== head_dim for llama)
    float rms_eps = 1e-5f;
    float rope_base = 10000.0f;
    bool tied_output = false;  // output projection shares token_embd
    std::vector<float> rope_freq_factors; // [n_rot/2] Llama-3 style scaling (empty when absent)
    float rope_freq_scale = 1.0f; // linear rope scaling of the global layers (1/factor)
    // Phi-3 LongRoPE: the rotation's cos/sin are multiplied by this (rope.scaling.attn_factor), which
    // scales every attention score by its square; folded into attention_scale() (n_rot == head_dim).
    float rope_attn_factor = 1.0f;

    // Gemma 3 and relatives.
    float embd_scale = 1.0f;       // token embeddings are multiplied by this (sqrt(n_embd) for Gemma)
    bool rope_neox = false;        // rotate-half pairs (i, i + n_rot/2)
    bool qk_norm = false;          // per-head RMSNorm of q and k before RoPE (Gemma 3, Qwen3)
    bool qkv_bias = false;         // q, k and v projections add a bias before RoPE (Qwen2)
    bool post_norms = false;       // RMSNorm of the attention and FFN outputs before their residual adds
    ffn_activation activation = ffn_activation::silu;
    float attn_scale = 0.0f;       // 0: 1/sqrt(head_dim)
    int32_t sliding_window = 0;    // keys visible to sliding-window layers; 0 = none
    std::vector<char> swa_layer;   // [n_layer] whether layer il uses the sliding window (Gemma 3: 5 of 6; Phi-3: all)
    float rope_base_swa = 10000.0f; // rope base of sliding-window layers

    bool is_swa(int il) const { return sliding_window > 0 && !swa_layer.empty() && swa_layer[(size_t)il]; }
    float rope_base_for(int il) const { return is_swa(il) ? rope_base_swa : rope_base; }
    float rope_scale_for(int il) const { return is_swa(il) ? 1.0f : rope_freq_scale; }
    float attention_scale() const;

    // read_model_config bounds n_head x head_dim to 2^20, so the widths cannot overflow 32 bits.
    int32_t q_width() const { return n_head * head_dim; }
    int32_t kv_width() const { return n_head_kv * head_dim; }
    // Total weight parameter count (for FLOP estimates): 2 * params FLOPs per token.
    int64_t matmul_params() const;
};

// Reads and validates the configuration. Throws epic::error naming the file for an unsupported
// architecture or inconsistent values: every hyperparameter is range-checked (no NaN, zero or
// infinite epsilon or rope base), every size derived from them checked in 64 bits, the tokenizer's
// token count against the embedding table's rows and the layer count against the layers whose
// tensors the file holds, all before anything is sized from them.
model_config read_model_config(const gguf_file& file);

} // namespace epic
