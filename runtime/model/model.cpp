#include "model/model.h"

#include "common/error.h"
#include "common/xxhash64.h"
#include "gguf/gguf_file.h"
#include "quant/quant.h"

#include "common/xxhash64.h" // storage/common: the project's one bulk byte hash

#include <cstdio>
#include <cstring>
#include <map>

namespace epic {
namespace {

// The fingerprint's running hash over the file's structure (XXH64, storage/common/xxhash64.h);
// strings end with a NUL so names cannot run together. Tensor bytes go through XXH64 first (below).
struct fingerprint_hash {
    storage::xxh64_stream h;
    void add(const void* p, size_t n) { h.add(p, n); }
    void add(const std::string& s) { add(s.data(), s.size()); add("\0", 1); }
    template <typename T> void add_pod(T v) { add(&v, sizeof v); }

    // A metadata value, all of it: type, payload, and for arrays every item (the tokenizer's pieces,
    // scores and merges included: they decide which tokens a text becomes).
    void add_value(const gguf_value& v) {
        add_pod((uint32_t)v.type);
        switch (v.type) {
        case gguf_type::string: add(v.str); break;
        case gguf_type::array:
            add_pod((uint32_t)v.elem_type);
            add_pod((uint64_t)v.items.size());
            for (const gguf_value& item : v.items) add_value(item);
            break;
        case gguf_type::boolean: add_pod((uint8_t)v.b); break;
        case gguf_type::f32:
        case gguf_type::f64: add_pod(v.f); break;
        default: // integers: one of u / i holds the value, the other stays 0
            add_pod(v.u);
            add_pod(v.i);
            break;
        }
    }
};

class tensor_reader {
public:
    explicit tensor_reader(const gguf_file& f) : f_(f) {}

    weight_view matrix(const std::string& name, int64_t rows, int64_t cols) const {
        const gguf_tensor_info* t = f_.find_tensor(name);
        if (!t) throw error(f_.path() + ": missing tensor " + name);
        if (t->ne.size() != 2 || t->ne[0] != cols || t->ne[1] != rows)
            throw error(f_.path() + ": tensor " + name + " has shape " + shape_string(*t) + ", expected [" +
                        std::to_string(cols) + ", " + std::to_string(rows) + "]");
        if (!traits(t->type).supported)
            throw error(f_.path() + ": tensor " + name + " has type " + type_name(t->type) +
                        ", which this runtime cannot compute with yet");
        weight_view w;
        w.name = name;
        w.type = t->type;
        w.rows = rows;
        w.cols = cols;
        w.row_stride = row_bytes(t->type, cols);
        w.data = t->data;
        return w;
    }

    // Rows [first, first + count) of a matrix: a view into the same mapped bytes.
    static weight_view row_range(const weight_view& w, const std::string& name, int64_t first, int64_t count) {
        weight_view v = w;
        v.name = name;
        v.rows = count;
        v.data = w.data + (size_t)first * w.row_stride;
        return v;
    }

    bool has(const std::string& name) const { return f_.find_tensor(name) != nullptr; }

    std::vector<float> vector(const std::string& name, int64_t n) const {
        const gguf_tensor_info* t = f_.find_tensor(name);
        if (!t) throw error(f_.path() + ": missing tensor " + name);
        if (t->n_elements() != n)
            throw error(f_.path() + ": tensor " + name + " has " + std::to_string(t->n_elements()) + " elements, expected " +
                        std::to_string(n));
        if (!traits(t->type).supported || traits(t->type).block_size != 1)
            throw error(f_.path() + ": tensor " + name + " has unsupported type " + type_name(t->type) + " for a vector");
        std::vector<float> out((size_t)n);
        dequantize_row(t->type, t->data, out.data(), n);
        return out;
    }

    static std::string shape_string(const gguf_tensor_info& t) {
        std::string s = "[";
        for (size_t i = 0; i < t.ne.size(); ++i) s += (i ? ", " : "") + std::to_string(t.ne[i]);
        return s + "]";
    }

private:
    const gguf_file& f_;
};

// Every metadata key and value, every tensor's name, type and shape, and every byte of every tensor
// (XXH64, storage/common/xxhash64.h: several GB/s on one core, 0.1-0.3 s for a 1.1 GB model once its
// pages are in memory; reading every weight is what running the model does anyway). Sampling the
// data instead let two models that differ in weights away from the sampled spots share a
// fingerprint, and so each other's caches.
std::string compute_fingerprint(const gguf_file& f) {
    fingerprint_hash h;
    h.add(std::string("epic model fingerprint v2"));
    for (const auto& kv : f.metadata()) {
        h.add(kv.key);
        h.add_value(kv.value);
    }
    for (const auto& t : f.tensors()) {
        h.add(t.name);
        h.add_pod((uint32_t)t.type);
        h.add_pod((uint64_t)t.ne.size());
        for (int64_t d : t.ne) h.add_pod(d);
        h.add_pod((uint64_t)t.nbytes);
        h.add_pod(storage::xxh64(t.data, t.nbytes));
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)h.h.digest());
    return buf;
}

} // namespace

model::~model() = default;

const std::string& model::path() const { return file_->path(); }

std::unique_ptr<model> model::load(const std::string& path) {
    std::unique_ptr<model> m(new model());
    m->file_ = gguf_file::open(path);
    const gguf_file& f = *m->file_;
    m->config_ = read_model_config(f);
    model_config& c = m->config_;
    tensor_reader r(f);

    m->token_embd_ = r.matrix("token_embd.weight", c.n_vocab, c.n_embd);
    m->output_norm_ = r.vector("output_norm.weight", c.n_embd);
    m->output_ = c.tied_output ? m->token_embd_ : r.matrix("output.weight", c.n_vocab, c.n_embd);
    if (f.find_tensor("rope_freqs.weight")) c.rope_freq_factors = r.vector("rope_freqs.weight", c.n_rot / 2);
    // Phi-3 LongRoPE: the short factors cover the original context, the only one this runtime uses.
    else if (f.find_tensor("rope_factors_short.weight"))
        c.rope_freq_factors = r.vector("rope_factors_short.weight", c.n_rot / 2);

    m->layers_.resize((size_t)c.n_layer);
    for (int il = 0; il < c.n_layer; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        layer_weights& l = m->layers_[(size_t)il];
        l.attn_norm = r.vector(p + "attn_norm.weight", c.n_embd);
        if (r.has(p + "attn_qkv.weight")) { // fused (Phi-3): q rows, then k rows, then v rows
            const weight_view qkv = r.matrix(p + "attn_qkv.weight", c.q_width() + 2 * c.kv_width(), c.n_embd);
            l.wq = tensor_reader::row_range(qkv, p + "attn_qkv.weight[q]", 0, c.q_width());
            l.wk = tensor_reader::row_range(qkv, p + "attn_qkv.weight[k]", c.q_width(), c.kv_width());
            l.wv = tensor_reader::row_range(qkv, p + "attn_qkv.weight[v]", c.q_width() + c.kv_width(), c.kv_width());
        } else {
            l.wq = r.matrix(p + "attn_q.weight", c.q_width(), c.n_embd);
            l.wk = r.matrix(p + "attn_k.weight", c.kv_width(), c.n_embd);
            l.wv = r.matrix(p + "attn_v.weight", c.kv_width(), c.n_embd);
        }
        // Biases: required where the family has them, taken when a llama file carries them.
        if (c.qkv_bias || r.has(p + "attn_q.bias")) {
            l.bq = r.vector(p + "attn_q.bias", c.q_width());
            l.bk = r.vector(p + "attn_k.bias", c.kv_width());
            l.bv = r.vector(p + "attn_v.bias", c.kv_width());
        }
        l.wo = r.matrix(p + "attn_output.weight", c.n_embd, c.q_width());
        l.ffn_norm = r.vector(p + "ffn_norm.weight", c.n_embd);
        if (!r.has(p + "ffn_gate.weight") && c.arch == "phi3") { // fused: gate rows, then up rows
            const weight_view gate_up = r.matrix(p + "ffn_up.weight", 2 * (int64_t)c.n_ff, c.n_embd);
            l.w_gate = tensor_reader::row_range(gate_up, p + "ffn_up.weight[gate]", 0, c.n_ff);
            l.w_up = tensor_reader::row_range(gate_up, p + "ffn_up.weight[up]", c.n_ff, c.n_ff);
        } else {
            l.w_gate = r.matrix(p + "ffn_gate.weight", c.n_ff, c.n_embd);
            l.w_up = r.matrix(p + "ffn_up.weight", c.n_ff, c.n_embd);
        }
        l.w_down = r.matrix(p + "ffn_down.weight", c.n_embd, c.n_ff);
        if (c.qk_norm) {
            l.attn_q_norm = r.vector(p + "attn_q_norm.weight", c.head_dim);
            l.attn_k_norm = r.vector(p + "attn_k_norm.weight", c.head_dim);
        }
        if (c.post_norms) {
            l.attn_post_norm = r.vector(p + "post_attention_norm.weight", c.n_embd);
            l.ffn_post_norm = r.vector(p + "post_ffw_norm.weight", c.n_embd);
        }
    }
    for (const auto& t : f.tensors()) m->weight_bytes_ += t.nbytes;
    m->fingerprint_ = compute_fingerprint(f);
    return m;
}

std::vector<std::pair<ggml_type, int>> model::tensor_type_counts() const {
    std::map<uint32_t, int> counts;
    for (const auto& t : file_->tensors()) counts[(uint32_t)t.type]++;
    std::vector<std::pair<ggml_type, int>> out;
    for (auto [k, v] : counts) out.emplace_back((ggml_type)k, v);
    return out;
}

} // namespace epic
