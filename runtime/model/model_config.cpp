#include "model/model_config.h"

#include "core/error.h"
#include "gguf/gguf_file.h"

#include <cmath>

namespace epic {
namespace {

int32_t require_int(const gguf_file& f, const std::string& key) {
    auto v = f.get_int(key);
    if (!v) throw error(f.path() + ": missing metadata key " + key);
    if (*v <= 0 || *v > (int64_t)1 << 30) throw error(f.path() + ": " + key + " = " + std::to_string(*v) + " is out of range");
    return (int32_t)*v;
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
    const double factor = f.get_float(p + "rope.scaling.factor").value_or(1.0);
    if (!(factor > 0.0)) throw error(f.path() + ": rope scaling factor must be positive");
    c.rope_freq_scale = (float)(1.0 / factor);
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
        c.rms_eps = (float)f.get_float(p + "attention.layer_norm_rms_epsilon").value_or(1e-6);
        c.sliding_window = (int32_t)f.get_int(p + "attention.sliding_window").value_or(0);
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
        c.sliding_window = (int32_t)f.get_int(p + "attention.sliding_window").value_or(0);
        if (c.sliding_window > 0) c.swa_layer.assign((size_t)c.n_layer, 1);
        c.rope_base_swa = c.rope_base;
        // LongRoPE (Phi-3-128k, Phi-3.5): this runtime keeps to the original context, where the
        // short factors apply (llama.cpp switches to the long ones only beyond it).
        c.rope_attn_factor = (float)f.get_float(p + "rope.scaling.attn_factor").value_or(1.0);
        if (!(c.rope_attn_factor > 0.0f)) throw error(f.path() + ": rope.scaling.attn_factor must be positive");
        if (c.rope_attn_factor != 1.0f && c.n_rot != c.head_dim)
            throw error(f.path() + ": rope.scaling.attn_factor with partial rotary dimensions is not supported");
        const int64_t orig = f.get_int(p + "rope.scaling.original_context_length").value_or(0);
        if (f.find_tensor("rope_factors_short.weight") && orig > 0 && orig < c.n_ctx_train) c.n_ctx_train = (int32_t)orig;
        c.attn_scale = c.rope_attn_factor * c.rope_attn_factor / std::sqrt((float)c.head_dim);
    }
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
    c.n_embd = require_int(f, p + "embedding_length");
    c.n_layer = require_int(f, p + "block_count");
    c.n_head = require_int(f, p + "attention.head_count");
    c.n_head_kv = (int32_t)f.get_int(p + "attention.head_count_kv").value_or(c.n_head);
    c.n_ff = require_int(f, p + "feed_forward_length");
    c.n_ctx_train = (int32_t)f.get_int(p + "context_length").value_or(2048);
    c.rms_eps = (float)f.get_float(p + "attention.layer_norm_rms_epsilon").value_or(1e-5);
    c.rope_base = (float)f.get_float(p + "rope.freq_base").value_or(10000.0);
    if (c.n_head_kv <= 0 || c.n_head % c.n_head_kv != 0)
        throw error(f.path() + ": head_count " + std::to_string(c.n_head) + " is not a multiple of head_count_kv " +
                    std::to_string(c.n_head_kv));
    c.head_dim = (int32_t)f.get_int(p + "attention.key_length").value_or(c.n_embd / c.n_head);
    if (c.head_dim <= 0 || c.head_dim % 2 != 0)
        throw error(f.path() + ": head dimension " + std::to_string(c.head_dim) + " must be positive and even");
    c.n_rot = (int32_t)f.get_int(p + "rope.dimension_count").value_or(c.head_dim);
    if (c.n_rot <= 0 || c.n_rot > c.head_dim || c.n_rot % 2 != 0)
        throw error(f.path() + ": rope dimension count " + std::to_string(c.n_rot) + " is invalid for head dim " +
                    std::to_string(c.head_dim));
    read_rope_scaling(f, p, c);
    // The vocabulary size comes from the embedding table (the token list may be absent).
    const gguf_tensor_info* emb = f.find_tensor("token_embd.weight");
    if (!emb) throw error(f.path() + ": missing tensor token_embd.weight");
    if (emb->ne.size() != 2 || emb->ne[0] != c.n_embd)
        throw error(f.path() + ": token_embd.weight has the wrong shape for embedding_length " + std::to_string(c.n_embd));
    c.n_vocab = (int32_t)emb->ne[1];
    c.tied_output = f.find_tensor("output.weight") == nullptr;
    apply_family(f, p, c);
    return c;
}

} // namespace epic
