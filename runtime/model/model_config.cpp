#include "model/model_config.h"

#include "common/error.h"
#include "gguf/gguf_file.h"

#include <algorithm>
#include <cmath>
#include <optional>

namespace epic {
namespace {

// Ranges of the hyperparameters, far beyond every real model (Llama 3.1 405B: width 16384, 126
// layers, 128 heads of 128, feed-forward 53248; Gemma 3: heads of 256, 262144 tokens; Llama 4
// Scout: 10M context) and small enough that every size derived from them fits comfortably in 64
// bits (and the widths in 32, the type model_config keeps them in).
constexpr int64_t max_width = int64_t(1) << 20;     // embedding, feed-forward, n_head x head_dim
constexpr int64_t max_heads = int64_t(1) << 12;
constexpr int64_t max_head_dim = int64_t(1) << 16;
constexpr int64_t max_layers = int64_t(1) << 12;
constexpr int64_t max_context = int64_t(1) << 28;
constexpr int64_t max_vocab = int64_t(1) << 24;

std::string range_text(int64_t lo, int64_t hi) { return " (must be " + std::to_string(lo) + ".." + std::to_string(hi) + ")"; }

// An integer hyperparameter in [lo, hi], read as 64 bits (a wider value is never truncated into a
// plausible one); `fallback` when the key is absent, which without one is an error.
int32_t int_param(const gguf_file& f, const std::string& key, int64_t lo, int64_t hi,
                  std::optional<int64_t> fallback = std::nullopt) {
    const std::optional<int64_t> v = f.get_int(key);
    if (!v && !fallback) throw error(f.path() + ": missing metadata key " + key);
    const int64_t x = v ? *v : *fallback;
    if (x < lo || x > hi) throw error(f.path() + ": " + key + " = " + std::to_string(x) + " is out of range" + range_text(lo, hi));
    return (int32_t)x;
}

// A float hyperparameter that must be finite and positive (a NaN or zero rms epsilon or rope base
// turns every activation into NaN or infinity); `fallback` when absent.
float positive_param(const gguf_file& f, const std::string& key, double fallback) {
    const double v = f.get_float(key).value_or(fallback);
    if (!std::isfinite(v) || !(v > 0.0) || !std::isfinite((float)v) || !((float)v > 0.0f))
        throw error(f.path() + ": " + key + " = " + std::to_string(v) + " is invalid (must be finite and positive)");
    return (float)v;
}

// The architectures this runtime computes, as llama.cpp names them in general.architecture.
constexpr const char* supported_archs[] = {"llama", "gemma3", "qwen2", "qwen3", "phi3"};

bool is_supported(const std::string& arch) {
    for (const char* a : supported_archs)
        if (arch == a) return true;
    return false;
}

// rope.scaling.*: linear (position interpolation) is computed here; llama3 is carried by the
// rope_freqs tensor (read with the weights); others would change every rotation, so refuse them.
void read_rope_scaling(const gguf_file& f, const std::string& p, model_config& c) {
    auto scaling = f.get_string(p + "rope.scaling.type");
    if (!scaling || *scaling == "none" || scaling->empty()) return;
    if (*scaling == "llama3") {
        if (!f.find_tensor("rope_freqs.weight"))
            throw error(f.path() + ": rope scaling 'llama3' without a rope_freqs.weight tensor");
        return;
    }
    if (*scaling != "linear") throw error(f.path() + ": rope scaling '" + *scaling + "' is not supported");
    const double factor = positive_param(f, p + "rope.scaling.factor", 1.0);
    c.rope_freq_scale = (float)(1.0 / factor);
    if (!(c.rope_freq_scale > 0.0f)) throw error(f.path() + ": " + p + "rope.scaling.factor = " + std::to_string(factor) + " is too large");
}

// What each family changes from llama's defaults, as llama.cpp builds it.
void apply_family(const gguf_file& f, const std::string& p, model_config& c) {
    if (c.arch == "gemma3") {
        // Its converter already stores norm weights as 1 + w.
        c.embd_scale = std::sqrt((float)c.n_embd);
        c.rope_neox = true;
        c.qk_norm = true;
        c.post_norms = true;
        c.activation = ffn_activation::gelu_tanh;
        c.rms_eps = positive_param(f, p + "attention.layer_norm_rms_epsilon", 1e-6);
        c.sliding_window = int_param(f, p + "attention.sliding_window", 0, max_context, 0);
        c.rope_base_swa = 10000.0f;
        // Every sixth layer is global, the others slide (pattern 5:1).
        c.swa_layer.resize((size_t)c.n_layer);
        for (int il = 0; il < c.n_layer; ++il) c.swa_layer[(size_t)il] = il % 6 < 5;
        c.attn_scale = 1.0f / std::sqrt((float)c.head_dim);
    } else if (c.arch == "qwen2") {
        c.rope_neox = true;
        c.qkv_bias = true;
    } else if (c.arch == "qwen3") {
        c.rope_neox = true;
        c.qk_norm = true;
    } else if (c.arch == "phi3") {
        c.rope_neox = true;
        // Phi-3 is trained with a sliding window on every layer (2047 keys for the 4k models).
        c.sliding_window = int_param(f, p + "attention.sliding_window", 0, max_context, 0);
        if (c.sliding_window > 0) c.swa_layer.assign((size_t)c.n_layer, 1);
        c.rope_base_swa = c.rope_base;
        // LongRoPE (Phi-3-128k, Phi-3.5): this runtime keeps to the original context, where the
        // short factors apply (llama.cpp switches to the long ones only beyond it).
        c.rope_attn_factor = positive_param(f, p + "rope.scaling.attn_factor", 1.0);
        if (c.rope_attn_factor != 1.0f && c.n_rot != c.head_dim)
            throw error(f.path() + ": rope.scaling.attn_factor with partial rotary dimensions is not supported");
        const int64_t orig = int_param(f, p + "rope.scaling.original_context_length", 0, max_context, 0);
        if (f.find_tensor("rope_factors_short.weight") && orig > 0 && orig < c.n_ctx_train) c.n_ctx_train = (int32_t)orig;
        c.attn_scale = c.rope_attn_factor * c.rope_attn_factor / std::sqrt((float)c.head_dim);
    }
}

// The layers the file holds tensors for: blk.0 .. blk.(n-1) without a gap, counted without looking
// past `limit` (the layer count claimed, itself no larger than the number of tensors).
int64_t layers_present(const gguf_file& f, int64_t limit) {
    int64_t n = 0;
    while (n < limit && f.find_tensor("blk." + std::to_string(n) + ".attn_norm.weight")) ++n;
    return n;
}

} // namespace

float model_config::attention_scale() const {
    return attn_scale > 0.0f ? attn_scale : 1.0f / std::sqrt((float)head_dim);
}

int64_t model_config::matmul_params() const {
    const int64_t attn = (int64_t)n_embd * q_width() * 2 + (int64_t)n_embd * kv_width() * 2;
    const int64_t ffn = (int64_t)n_embd * n_ff * 3;
    return (attn + ffn) * n_layer + (int64_t)n_embd * n_vocab;
}

model_config read_model_config(const gguf_file& f) {
    model_config c;
    auto arch = f.get_string("general.architecture");
    if (!arch) throw error(f.path() + ": missing general.architecture");
    c.arch = *arch;
    if (!is_supported(c.arch)) {
        std::string list;
        for (const char* a : supported_archs) list += (list.empty() ? "" : ", ") + std::string(a);
        throw error(f.path() + ": architecture '" + c.arch + "' is not supported (supported: " + list + ")");
    }
    c.name = f.get_string("general.name").value_or("");
    const std::string p = c.arch + ".";
    // Every hyperparameter is range-checked as it is read, and every size derived from them is
    // computed in 64 bits and checked, before anything is allocated from them.
    c.n_embd = int_param(f, p + "embedding_length", 1, max_width);
    c.n_layer = int_param(f, p + "block_count", 1, max_layers);
    c.n_head = int_param(f, p + "attention.head_count", 1, max_heads);
    c.n_head_kv = int_param(f, p + "attention.head_count_kv", 1, c.n_head, c.n_head);
    c.n_ff = int_param(f, p + "feed_forward_length", 1, max_width);
    c.n_ctx_train = int_param(f, p + "context_length", 1, max_context, 2048);
    c.rms_eps = positive_param(f, p + "attention.layer_norm_rms_epsilon", 1e-5);
    c.rope_base = positive_param(f, p + "rope.freq_base", 10000.0);
    if (c.n_head % c.n_head_kv != 0)
        throw error(f.path() + ": head_count " + std::to_string(c.n_head) + " is not a multiple of head_count_kv " +
                    std::to_string(c.n_head_kv));
    c.head_dim = int_param(f, p + "attention.key_length", 2, max_head_dim, c.n_embd / c.n_head);
    if (c.head_dim % 2 != 0)
        throw error(f.path() + ": " + p + "attention.key_length = " + std::to_string(c.head_dim) +
                    ": the head dimension must be even");
    const int64_t q_width = (int64_t)c.n_head * c.head_dim; // both below 2^16: no overflow
    if (q_width > max_width)
        throw error(f.path() + ": " + p + "attention.head_count " + std::to_string(c.n_head) + " x " + p +
                    "attention.key_length " + std::to_string(c.head_dim) + " = " + std::to_string(q_width) +
                    " is out of range (attention width at most " + std::to_string(max_width) + ")");
    c.n_rot = int_param(f, p + "rope.dimension_count", 2, c.head_dim, c.head_dim);
    if (c.n_rot % 2 != 0)
        throw error(f.path() + ": " + p + "rope.dimension_count = " + std::to_string(c.n_rot) + " must be even");
    read_rope_scaling(f, p, c);
    // The vocabulary size comes from the embedding table (the token list may be absent).
    const gguf_tensor_info* emb = f.find_tensor("token_embd.weight");
    if (!emb) throw error(f.path() + ": missing tensor token_embd.weight");
    if (emb->ne.size() != 2 || emb->ne[0] != c.n_embd)
        throw error(f.path() + ": token_embd.weight has the wrong shape for embedding_length " + std::to_string(c.n_embd));
    if (emb->ne[1] < 1 || emb->ne[1] > max_vocab)
        throw error(f.path() + ": token_embd.weight has " + std::to_string(emb->ne[1]) + " rows: the vocabulary size is out of range" +
                    range_text(1, max_vocab));
    c.n_vocab = (int32_t)emb->ne[1];
    // Every id the tokenizer can produce needs a row (a table may have more rows than tokens: padding).
    if (const gguf_value* tokens = f.find("tokenizer.ggml.tokens"); tokens && tokens->type == gguf_type::array &&
                                                                     tokens->items.size() > (uint64_t)c.n_vocab)
        throw error(f.path() + ": tokenizer.ggml.tokens has " + std::to_string(tokens->items.size()) +
                    " tokens but token_embd.weight has only " + std::to_string(c.n_vocab) + " rows");
    c.tied_output = f.find_tensor("output.weight") == nullptr;
    // The layer count against the tensors present, before any per-layer structure is sized by it
    // (2^24 claimed layers would otherwise allocate gigabytes before the first missing tensor).
    const int64_t present = layers_present(f, std::min<int64_t>(c.n_layer, (int64_t)f.tensors().size()));
    if (present < c.n_layer)
        throw error(f.path() + ": " + p + "block_count = " + std::to_string(c.n_layer) + " but the file holds tensors for " +
                    std::to_string(present) + " layer" + (present == 1 ? "" : "s") + " (no blk." + std::to_string(present) +
                    ".attn_norm.weight)");
    apply_family(f, p, c);
    return c;
}

} // namespace epic
