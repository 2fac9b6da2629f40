#include "embed/bert_encoder.h"

#include "common/error.h"
#include "core/json.h"
#include "embed/safetensors.h"
#include "kvstore/atomic_file.h"
#include "model/model.h"
#include "storage_error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace epic {
namespace {

// A config.json is a few hundred bytes; anything near this is not one.
constexpr uint64_t max_config_bytes = 1 << 20;
constexpr int max_config_depth = 8;

json read_json_file(const std::string& file) {
    std::vector<std::byte> bytes;
    try {
        bytes = storage::read_whole_file(file, max_config_bytes);
    } catch (const storage_error& e) {
        throw error(e.what());
    }
    const std::string text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    json j = parse_json_bounded(text, file, "config", max_config_depth);
    if (!j.is_object()) throw error(file + ": not a JSON object");
    return j;
}

// An integer `key` of the config in [lo, hi].
int config_int(const json& j, const std::string& file, const char* key, int lo, int hi) {
    auto it = j.find(key);
    if (it == j.end()) throw error(file + ": no \"" + key + "\"");
    const double v = it->is_number() ? it->get<double>() : NAN; // huge integers round, but stay out of [lo, hi]
    if (!(v >= lo && v <= hi) || v != std::floor(v))
        throw error(file + ": \"" + key + "\" must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                    "]");
    return (int)v;
}

// The string `key` when present; `fallback` when absent.
std::string config_string(const json& j, const std::string& file, const char* key, const std::string& fallback) {
    auto it = j.find(key);
    if (it == j.end()) return fallback;
    if (!it->is_string()) throw error(file + ": \"" + key + "\" is not a string");
    return it->get<std::string>();
}

// sentence-transformers' pooling module, when the folder has one: this encoder computes mean pooling,
// so a model meant for [CLS] or max pooling must not be embedded silently the wrong way.
void check_pooling(const std::filesystem::path& dir, const bert_config& c) {
    const std::filesystem::path p = dir / "1_Pooling" / "config.json";
    std::error_code ec;
    if (!std::filesystem::exists(p, ec)) return;
    const std::string file = p.string();
    const json j = read_json_file(file);
    auto flag = [&](const char* key) {
        auto it = j.find(key);
        if (it == j.end()) return false;
        if (!it->is_boolean()) throw error(file + ": \"" + key + "\" is not true or false");
        return it->get<bool>();
    };
    if (!flag("pooling_mode_mean_tokens") || flag("pooling_mode_cls_token") || flag("pooling_mode_max_tokens") ||
        flag("pooling_mode_mean_sqrt_len_tokens"))
        throw error(file + ": the model pools other than by the plain mean of its tokens, which is all this encoder computes");
    if (j.contains("word_embedding_dimension") &&
        config_int(j, file, "word_embedding_dimension", 1, 1 << 30) != c.n_embd)
        throw error(file + ": word_embedding_dimension differs from the encoder's hidden_size " + std::to_string(c.n_embd));
}

std::unique_ptr<device_buffer> upload_vector(backend& be, std::span<const float> v) {
    auto b = be.alloc(v.size_bytes());
    be.upload(b->data(), v.data(), v.size_bytes());
    return b;
}

} // namespace

bert_config read_bert_config(const std::string& file) {
    const json j = read_json_file(file);
    // Bounds: far above any BERT-family encoder, and low enough that every buffer's element count
    // (n_ctx x n_ff at most 2^29) stays inside the backend ops' int arguments.
    bert_config c;
    c.n_vocab = config_int(j, file, "vocab_size", 1, 1 << 22);
    c.n_embd = config_int(j, file, "hidden_size", 1, 1 << 14);
    c.n_layer = config_int(j, file, "num_hidden_layers", 1, 256);
    c.n_head = config_int(j, file, "num_attention_heads", 1, 1 << 10);
    c.n_ff = config_int(j, file, "intermediate_size", 1, 1 << 16);
    c.n_ctx = config_int(j, file, "max_position_embeddings", 1, 1 << 13);
    // Absent in some configs; BertModel's default is 2.
    c.n_type = j.contains("type_vocab_size") ? config_int(j, file, "type_vocab_size", 1, 1 << 10) : 2;
    if (c.n_embd % c.n_head != 0)
        throw error(file + ": hidden_size " + std::to_string(c.n_embd) + " is not divisible by num_attention_heads " +
                    std::to_string(c.n_head));
    auto eps = j.find("layer_norm_eps");
    if (eps != j.end()) {
        const double v = eps->is_number() ? eps->get<double>() : NAN;
        // Positive and small: 0 divides by zero on a constant row, a large one is not a LayerNorm.
        if (!(v > 0.0) || v >= 1.0 || !std::isnormal((float)v))
            throw error(file + ": \"layer_norm_eps\" must be a number in (0, 1)");
        c.norm_eps = (float)v;
    }
    const std::string act = config_string(j, file, "hidden_act", "gelu");
    if (act != "gelu")
        throw error(file + ": hidden_act '" + act + "' is not supported (only \"gelu\", the exact erf GELU)");
    const std::string pos = config_string(j, file, "position_embedding_type", "absolute");
    if (pos != "absolute")
        throw error(file + ": position_embedding_type '" + pos + "' is not supported (only \"absolute\")");
    // RoBERTa and relatives share most of the layout but offset their positions; refuse them here
    // rather than embed with the wrong rows.
    const std::string type = config_string(j, file, "model_type", "bert");
    if (type != "bert") throw error(file + ": model_type '" + type + "' is not supported (only \"bert\")");
    return c;
}

struct bert_encoder::layer_device {
    device_weight wq, wk, wv, wo;                 // [n_embd, n_embd]
    device_weight w_up;                           // [n_ff, n_embd]
    device_weight w_down;                         // [n_embd, n_ff]
    std::unique_ptr<device_buffer> bq, bk, bv, bo; // [n_embd]
    std::unique_ptr<device_buffer> attn_norm_w, attn_norm_b; // [n_embd]
    std::unique_ptr<device_buffer> b_up;          // [n_ff]
    std::unique_ptr<device_buffer> b_down;        // [n_embd]
    std::unique_ptr<device_buffer> ffn_norm_w, ffn_norm_b; // [n_embd]
};

bert_encoder::bert_encoder(const std::filesystem::path& dir, backend& be) : dir_(dir.string()), be_(be) {}

bert_encoder::~bert_encoder() = default;

std::unique_ptr<bert_encoder> bert_encoder::open(const std::filesystem::path& dir, backend& be) {
    std::unique_ptr<bert_encoder> e(new bert_encoder(dir, be));
    bert_config& c = e->config_;
    c = read_bert_config((dir / "config.json").string());
    check_pooling(dir, c);
    e->file_ = safetensors_file::open((dir / "model.safetensors").string());
    const safetensors_file& f = *e->file_;
    const int64_t E = c.n_embd, F = c.n_ff;

    // A matrix [rows, cols] of the file (PyTorch Linear: [out, in], y = x W^T + b), as the backend takes it.
    auto matrix = [&](const std::string& name, int64_t rows, int64_t cols) {
        const std::span<const float> w = f.f32(name, {rows, cols});
        weight_view v;
        v.name = name;
        v.type = ggml_type::f32;
        v.rows = rows;
        v.cols = cols;
        v.row_stride = (size_t)cols * sizeof(float);
        v.data = reinterpret_cast<const uint8_t*>(w.data());
        try {
            return be.prepare_weight(v);
        } catch (const error& ex) {
            throw error(f.path() + ": " + ex.what());
        }
    };
    auto vector = [&](const std::string& name, int64_t n) { return upload_vector(be, f.f32(name, {n})); };

    e->word_embd_ = matrix("embeddings.word_embeddings.weight", c.n_vocab, E);
    e->pos_embd_ = matrix("embeddings.position_embeddings.weight", c.n_ctx, E);
    // Every input is one segment, so only token type 0's row is ever added (as a bias).
    e->type0_ = upload_vector(be, f.f32("embeddings.token_type_embeddings.weight", {c.n_type, E}).first((size_t)E));
    e->embd_norm_w_ = vector("embeddings.LayerNorm.weight", E);
    e->embd_norm_b_ = vector("embeddings.LayerNorm.bias", E);
    for (int il = 0; il < c.n_layer; ++il) {
        const std::string p = "encoder.layer." + std::to_string(il) + ".";
        layer_device l;
        l.wq = matrix(p + "attention.self.query.weight", E, E);
        l.bq = vector(p + "attention.self.query.bias", E);
        l.wk = matrix(p + "attention.self.key.weight", E, E);
        l.bk = vector(p + "attention.self.key.bias", E);
        l.wv = matrix(p + "attention.self.value.weight", E, E);
        l.bv = vector(p + "attention.self.value.bias", E);
        l.wo = matrix(p + "attention.output.dense.weight", E, E);
        l.bo = vector(p + "attention.output.dense.bias", E);
        l.attn_norm_w = vector(p + "attention.output.LayerNorm.weight", E);
        l.attn_norm_b = vector(p + "attention.output.LayerNorm.bias", E);
        l.w_up = matrix(p + "intermediate.dense.weight", F, E);
        l.b_up = vector(p + "intermediate.dense.bias", F);
        l.w_down = matrix(p + "output.dense.weight", E, F);
        l.b_down = vector(p + "output.dense.bias", E);
        l.ffn_norm_w = vector(p + "output.LayerNorm.weight", E);
        l.ffn_norm_b = vector(p + "output.LayerNorm.bias", E);
        e->layers_.push_back(std::move(l));
    }
    // A checkpoint with more layers than the config names would be run short without a word.
    const std::string extra = "encoder.layer." + std::to_string(c.n_layer) + ".";
    for (const safetensors_tensor& t : f.tensors())
        if (t.name.compare(0, extra.size(), extra) == 0)
            throw error(f.path() + ": tensor '" + t.name + "' belongs to a layer beyond num_hidden_layers " +
                        std::to_string(c.n_layer) + " of config.json");
    return e;
}

void bert_encoder::reserve(int n) {
    if (n <= capacity_) return;
    const size_t rows = (size_t)n, E = (size_t)config_.n_embd, f = sizeof(float);
    ids_d_ = be_.alloc(rows * sizeof(int32_t));
    pos_d_ = be_.alloc(rows * sizeof(int32_t));
    position_d_ = be_.alloc(rows * sizeof(int32_t));
    last_d_ = be_.alloc(rows * sizeof(int32_t));
    x_ = be_.alloc(rows * E * f);
    q_ = be_.alloc(rows * E * f);
    k_ = be_.alloc(rows * E * f);
    v_ = be_.alloc(rows * E * f);
    kh_ = be_.alloc(rows * E * sizeof(uint16_t));
    vh_ = be_.alloc(rows * E * sizeof(uint16_t));
    att_ = be_.alloc(rows * E * f);
    tmp_ = be_.alloc(rows * E * f);
    ff_ = be_.alloc(rows * (size_t)config_.n_ff * f);
    std::vector<int32_t> pos(rows); // [n] 0..n-1: the K/V rows each token writes
    std::iota(pos.begin(), pos.end(), 0);
    be_.upload(pos_d_->data(), pos.data(), rows * sizeof(int32_t));
    capacity_ = n;
}

std::vector<float> bert_encoder::hidden_states(std::span<const int32_t> ids) {
    const std::span<const int32_t> one[] = {ids};
    return hidden_states_batch(one);
}

std::vector<float> bert_encoder::hidden_states_batch(std::span<const std::span<const int32_t>> seqs) {
    const bert_config& c = config_;
    if (seqs.empty()) throw error(dir_ + ": nothing to embed (no sequences)");
    std::vector<int32_t> ids;      // [n] every sequence's ids, one after another
    std::vector<int32_t> position; // [n] each row's position in its own sequence
    std::vector<int32_t> last;     // [n] each row's query position: its sequence's last
    for (const auto& seq : seqs) {
        if (seq.empty()) throw error(dir_ + ": nothing to embed (no tokens)");
        if (seq.size() > (size_t)c.n_ctx)
            throw error(dir_ + ": " + std::to_string(seq.size()) + " tokens exceed the encoder's " + std::to_string(c.n_ctx) +
                        " positions");
        for (int32_t id : seq)
            if (id < 0 || id >= c.n_vocab)
                throw error(dir_ + ": token id " + std::to_string(id) + " is outside the vocabulary of " +
                            std::to_string(c.n_vocab));
        ids.insert(ids.end(), seq.begin(), seq.end());
        for (size_t i = 0; i < seq.size(); ++i) {
            position.push_back((int32_t)i);
            // Bidirectional attention through the causal op: a query at position p sees key rows 0..p of
            // its sequence's keys, so giving every query the sequence's last position lets each see all of
            // them. Nothing else in the encoder depends on the query positions.
            last.push_back((int32_t)seq.size() - 1);
        }
    }
    if (ids.size() > (size_t)std::numeric_limits<int>::max() / std::max(c.n_ff, c.n_embd))
        throw error(dir_ + ": a batch of " + std::to_string(ids.size()) + " tokens is too large");
    const int n = (int)ids.size(), E = c.n_embd;
    const size_t nE = (size_t)n * E;
    reserve(n);
    be_.upload(ids_d_->data(), ids.data(), ids.size() * sizeof(int32_t));
    be_.upload(position_d_->data(), position.data(), position.size() * sizeof(int32_t));
    be_.upload(last_d_->data(), last.data(), last.size() * sizeof(int32_t));

    float* x = x_->as<float>();     // [n, n_embd]
    float* tmp = tmp_->as<float>(); // [n, n_embd]
    const int32_t* rows = pos_d_->as<int32_t>(); // [n] 0..n-1: the K/V row each token writes
    // x = LayerNorm(word[ids] + position[position] + token_type[0])
    be_.get_rows(word_embd_, ids_d_->as<int32_t>(), n, x);
    be_.get_rows(pos_embd_, position_d_->as<int32_t>(), n, tmp);
    be_.add(x, tmp, nE);
    be_.add_bias(x, type0_->as<float>(), n, E);
    be_.layer_norm(x, embd_norm_w_->as<float>(), embd_norm_b_->as<float>(), x, n, E, c.norm_eps);

    attention_params ap;
    ap.n_head = c.n_head;
    ap.n_head_kv = c.n_head;
    ap.head_dim = c.head_dim();
    ap.scale = 1.0f / std::sqrt((float)c.head_dim()); // BertSelfAttention: scores / sqrt(head_dim)
    for (const layer_device& l : layers_) {
        float* q = q_->as<float>(); // [n, n_head, head_dim]
        float* k = k_->as<float>(); // [n, n_head, head_dim]
        float* v = v_->as<float>(); // [n, n_head, head_dim]
        be_.matmul(l.wq, x, n, q);
        be_.add_bias(q, l.bq->as<float>(), n, E);
        be_.matmul(l.wk, x, n, k);
        be_.add_bias(k, l.bk->as<float>(), n, E);
        be_.matmul(l.wv, x, n, v);
        be_.add_bias(v, l.bv->as<float>(), n, E);
        be_.scatter_f16(k, rows, n, E, kh_->as<uint16_t>()); // [n, n_head, head_dim] f16
        be_.scatter_f16(v, rows, n, E, vh_->as<uint16_t>());
        // Each sequence attends over its own rows only: one attention call per sequence, on its slices.
        size_t begin = 0;
        for (const auto& seq : seqs) {
            const size_t off = begin * (size_t)E;
            be_.attention(q + off, last_d_->as<int32_t>() + begin, (int)seq.size(), kh_->as<uint16_t>() + off,
                          vh_->as<uint16_t>() + off, (int)seq.size(), att_->as<float>() + off, ap);
            begin += seq.size();
        }
        // x = LayerNorm(x + att · Wo^T + bo)   (post-norm)
        be_.matmul(l.wo, att_->as<float>(), n, tmp);
        be_.add_bias(tmp, l.bo->as<float>(), n, E);
        be_.add(x, tmp, nE);
        be_.layer_norm(x, l.attn_norm_w->as<float>(), l.attn_norm_b->as<float>(), x, n, E, c.norm_eps);
        // x = LayerNorm(x + gelu(x · W_up^T + b_up) · W_down^T + b_down)
        float* ff = ff_->as<float>(); // [n, n_ff]
        be_.matmul(l.w_up, x, n, ff);
        be_.add_bias(ff, l.b_up->as<float>(), n, c.n_ff);
        be_.gelu(ff, ff, (size_t)n * c.n_ff);
        be_.matmul(l.w_down, ff, n, tmp);
        be_.add_bias(tmp, l.b_down->as<float>(), n, E);
        be_.add(x, tmp, nE);
        be_.layer_norm(x, l.ffn_norm_w->as<float>(), l.ffn_norm_b->as<float>(), x, n, E, c.norm_eps);
    }
    std::vector<float> out(nE); // [n, n_embd]
    be_.download(out.data(), x, nE * sizeof(float));
    return out;
}

std::vector<float> unit_mean(std::span<const double> sum, size_t rows, const std::string& what) {
    double ss = 0.0;
    for (double x : sum) ss += (x / (double)rows) * (x / (double)rows);
    if (!std::isfinite(ss)) throw error(what + ": the model computed a non-finite embedding");
    const double norm = std::max(std::sqrt(ss), 1e-12);
    std::vector<float> out(sum.size()); // [n_embd]
    for (size_t j = 0; j < sum.size(); ++j) out[j] = (float)(sum[j] / (double)rows / norm);
    return out;
}

std::vector<float> bert_encoder::embed(std::span<const int32_t> ids) {
    const std::vector<float> h = hidden_states(ids); // [n, n_embd]
    const size_t n = ids.size(), E = (size_t)config_.n_embd;
    std::vector<double> sum(E, 0.0); // [n_embd]
    for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < E; ++j) sum[j] += h[i * E + j];
    return unit_mean(sum, n, file_->path());
}

} // namespace epic
