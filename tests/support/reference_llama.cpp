#include "support/reference_llama.h"

#include "gguf/gguf_file.h"
#include "quant/quant.h"

#include <cmath>
#include <stdexcept>

namespace epic::test {
namespace {

std::vector<double> load(const gguf_file& f, const std::string& name, int64_t expect_elements) {
    const gguf_tensor_info* t = f.find_tensor(name);
    if (!t) throw std::runtime_error("reference: missing " + name);
    if (t->n_elements() != expect_elements) throw std::runtime_error("reference: bad shape of " + name);
    const int64_t cols = t->ne[0];
    const int64_t rows = t->n_elements() / cols;
    std::vector<float> row((size_t)cols);
    std::vector<double> out((size_t)t->n_elements());
    const size_t rb = row_bytes(t->type, cols);
    for (int64_t r = 0; r < rows; ++r) {
        dequantize_row(t->type, t->data + (size_t)r * rb, row.data(), cols);
        for (int64_t c = 0; c < cols; ++c) out[(size_t)(r * cols + c)] = row[(size_t)c];
    }
    return out;
}

// y[rows] = W[rows, cols] x[cols]
std::vector<double> matvec(const std::vector<double>& w, const std::vector<double>& x, size_t rows) {
    const size_t cols = x.size();
    std::vector<double> y(rows, 0.0);
    for (size_t r = 0; r < rows; ++r) {
        double s = 0.0;
        for (size_t c = 0; c < cols; ++c) s += w[r * cols + c] * x[c];
        y[r] = s;
    }
    return y;
}

std::vector<double> rmsnorm(const std::vector<double>& x, const std::vector<double>& w, double eps) {
    double ss = 0.0;
    for (double v : x) ss += v * v;
    const double scale = 1.0 / std::sqrt(ss / (double)x.size() + eps);
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * scale * w[i];
    return y;
}

} // namespace

reference_llama::reference_llama(const std::string& path) {
    auto f = gguf_file::open(path);
    const std::string a = *f->get_string("general.architecture") + ".";
    gemma_ = a == "gemma3.";
    phi3_ = a == "phi3.";
    neox_ = a != "llama.";
    const bool qk_norm = gemma_ || a == "qwen3.";
    n_embd_ = (int)*f->get_int(a + "embedding_length");
    n_head_ = (int)*f->get_int(a + "attention.head_count");
    n_head_kv_ = (int)f->get_int(a + "attention.head_count_kv").value_or(n_head_);
    n_ff_ = (int)*f->get_int(a + "feed_forward_length");
    head_dim_ = (int)f->get_int(a + "attention.key_length").value_or(n_embd_ / n_head_);
    eps_ = f->get_float(a + "attention.layer_norm_rms_epsilon").value_or(gemma_ ? 1e-6 : 1e-5);
    rope_base_ = f->get_float(a + "rope.freq_base").value_or(10000.0);
    window_ = (int)f->get_int(a + "attention.sliding_window").value_or(0);
    const int n_layer = (int)*f->get_int(a + "block_count");
    n_vocab_ = (int)f->find_tensor("token_embd.weight")->ne[1];
    embd_ = load(*f, "token_embd.weight", (int64_t)n_vocab_ * n_embd_);
    output_ = f->find_tensor("output.weight") ? load(*f, "output.weight", (int64_t)n_vocab_ * n_embd_) : embd_;
    output_norm_ = load(*f, "output_norm.weight", n_embd_);
    if (f->find_tensor("rope_freqs.weight")) rope_factors_ = load(*f, "rope_freqs.weight", head_dim_ / 2);
    if (f->find_tensor("rope_factors_short.weight")) rope_factors_ = load(*f, "rope_factors_short.weight", head_dim_ / 2);
    rope_attn_factor_ = f->get_float(a + "rope.scaling.attn_factor").value_or(1.0);
    const int64_t kvw = (int64_t)n_head_kv_ * head_dim_, qw = (int64_t)n_head_ * head_dim_;
    for (int il = 0; il < n_layer; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        layer l;
        l.attn_norm = load(*f, p + "attn_norm.weight", n_embd_);
        l.ffn_norm = load(*f, p + "ffn_norm.weight", n_embd_);
        if (f->find_tensor(p + "attn_qkv.weight")) { // phi3: [q rows; k rows; v rows]
            const auto qkv = load(*f, p + "attn_qkv.weight", (qw + 2 * kvw) * n_embd_);
            const auto q_end = qkv.begin() + (ptrdiff_t)(qw * n_embd_), k_end = q_end + (ptrdiff_t)(kvw * n_embd_);
            l.wq.assign(qkv.begin(), q_end);
            l.wk.assign(q_end, k_end);
            l.wv.assign(k_end, qkv.end());
        } else {
            l.wq = load(*f, p + "attn_q.weight", qw * n_embd_);
            l.wk = load(*f, p + "attn_k.weight", kvw * n_embd_);
            l.wv = load(*f, p + "attn_v.weight", kvw * n_embd_);
        }
        if (f->find_tensor(p + "attn_q.bias")) {
            l.bq = load(*f, p + "attn_q.bias", qw);
            l.bk = load(*f, p + "attn_k.bias", kvw);
            l.bv = load(*f, p + "attn_v.bias", kvw);
        }
        l.wo = load(*f, p + "attn_output.weight", (int64_t)n_embd_ * qw);
        if (qk_norm) {
            l.q_norm = load(*f, p + "attn_q_norm.weight", head_dim_);
            l.k_norm = load(*f, p + "attn_k_norm.weight", head_dim_);
        }
        if (gemma_) {
            l.post_attn_norm = load(*f, p + "post_attention_norm.weight", n_embd_);
            l.post_ffn_norm = load(*f, p + "post_ffw_norm.weight", n_embd_);
        }
        if (phi3_) { // ffn_up holds the gate rows, then the up rows
            const auto gate_up = load(*f, p + "ffn_up.weight", 2 * (int64_t)n_ff_ * n_embd_);
            const auto mid = gate_up.begin() + (ptrdiff_t)((int64_t)n_ff_ * n_embd_);
            l.w_gate.assign(gate_up.begin(), mid);
            l.w_up.assign(mid, gate_up.end());
        } else {
            l.w_gate = load(*f, p + "ffn_gate.weight", (int64_t)n_ff_ * n_embd_);
            l.w_up = load(*f, p + "ffn_up.weight", (int64_t)n_ff_ * n_embd_);
        }
        l.w_down = load(*f, p + "ffn_down.weight", (int64_t)n_embd_ * n_ff_);
        layers_.push_back(std::move(l));
    }
}

std::vector<std::vector<double>> reference_llama::forward(const std::vector<int32_t>& tokens) const {
    const size_t n = tokens.size(), d = (size_t)n_embd_, hd = (size_t)head_dim_;
    std::vector<std::vector<double>> x(n);
    for (size_t t = 0; t < n; ++t) {
        x[t].assign(embd_.begin() + (ptrdiff_t)(tokens[t] * d), embd_.begin() + (ptrdiff_t)((tokens[t] + 1) * d));
        if (gemma_) for (auto& e : x[t]) e *= std::sqrt((double)d);
    }
    // Rotation of one head vector at position pos: pairs (2i, 2i+1) for llama GGUF files,
    // (i, i + hd/2) for the others (rotate-half); phi3's LongRoPE scales cos and sin.
    auto rotate = [&](double* v, size_t pos, double base) {
        for (size_t i = 0; i < hd / 2; ++i) {
            double theta = (double)pos * std::pow(base, -2.0 * (double)i / (double)hd);
            if (!rope_factors_.empty()) theta /= rope_factors_[i];
            const double c = std::cos(theta) * rope_attn_factor_, s = std::sin(theta) * rope_attn_factor_;
            const size_t ia = neox_ ? i : 2 * i, ib = neox_ ? i + hd / 2 : 2 * i + 1;
            const double a = v[ia], b = v[ib];
            v[ia] = a * c - b * s;
            v[ib] = a * s + b * c;
        }
    };
    auto head_norm = [&](double* v, const std::vector<double>& w) {
        std::vector<double> h(v, v + hd);
        const auto y = rmsnorm(h, w, eps_);
        std::copy(y.begin(), y.end(), v);
    };
    const size_t kvw = (size_t)n_head_kv_ * hd, qw = (size_t)n_head_ * hd;
    for (size_t il = 0; il < layers_.size(); ++il) {
        const layer& l = layers_[il];
        // gemma3: five sliding-window layers (local rope base 10000) then one global layer;
        // phi3: every layer slides, with the model's base.
        const bool swa = window_ > 0 && (phi3_ || (gemma_ && il % 6 < 5));
        const double base = swa && gemma_ ? 10000.0 : rope_base_;
        std::vector<std::vector<double>> q(n), k(n), v(n);
        for (size_t t = 0; t < n; ++t) {
            const auto xn = rmsnorm(x[t], l.attn_norm, eps_);
            q[t] = matvec(l.wq, xn, qw);
            k[t] = matvec(l.wk, xn, kvw);
            v[t] = matvec(l.wv, xn, kvw);
            if (!l.bq.empty()) {
                for (size_t e = 0; e < qw; ++e) q[t][e] += l.bq[e];
                for (size_t e = 0; e < kvw; ++e) k[t][e] += l.bk[e], v[t][e] += l.bv[e];
            }
            for (int h = 0; h < n_head_; ++h) {
                if (!l.q_norm.empty()) head_norm(&q[t][(size_t)h * hd], l.q_norm);
                rotate(&q[t][(size_t)h * hd], t, base);
            }
            for (int h = 0; h < n_head_kv_; ++h) {
                if (!l.k_norm.empty()) head_norm(&k[t][(size_t)h * hd], l.k_norm);
                rotate(&k[t][(size_t)h * hd], t, base);
            }
        }
        for (size_t t = 0; t < n; ++t) {
            std::vector<double> att(qw, 0.0);
            const size_t first = swa && t + 1 > (size_t)window_ ? t + 1 - (size_t)window_ : 0;
            for (int h = 0; h < n_head_; ++h) {
                const size_t g = (size_t)(h / (n_head_ / n_head_kv_));
                std::vector<double> sc(t + 1 - first);
                double mx = -1e300;
                for (size_t j = first; j <= t; ++j) {
                    double s = 0.0;
                    for (size_t e = 0; e < hd; ++e) s += q[t][(size_t)h * hd + e] * k[j][g * hd + e];
                    sc[j - first] = s / std::sqrt((double)hd);
                    mx = std::max(mx, sc[j - first]);
                }
                double sum = 0.0;
                for (auto& s : sc) { s = std::exp(s - mx); sum += s; }
                for (size_t j = first; j <= t; ++j)
                    for (size_t e = 0; e < hd; ++e) att[(size_t)h * hd + e] += sc[j - first] / sum * v[j][g * hd + e];
            }
            auto o = matvec(l.wo, att, d);
            if (gemma_) o = rmsnorm(o, l.post_attn_norm, eps_);
            for (size_t e = 0; e < d; ++e) x[t][e] += o[e];
            const auto xn = rmsnorm(x[t], l.ffn_norm, eps_);
            auto g = matvec(l.w_gate, xn, (size_t)n_ff_);
            const auto u = matvec(l.w_up, xn, (size_t)n_ff_);
            for (size_t e = 0; e < g.size(); ++e) {
                const double z = g[e];
                const double act = gemma_ ? 0.5 * z * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (z + 0.044715 * z * z * z)))
                                          : z / (1.0 + std::exp(-z));
                g[e] = act * u[e];
            }
            auto down = matvec(l.w_down, g, d);
            if (gemma_) down = rmsnorm(down, l.post_ffn_norm, eps_);
            for (size_t e = 0; e < d; ++e) x[t][e] += down[e];
        }
    }
    std::vector<std::vector<double>> logits(n);
    for (size_t t = 0; t < n; ++t) logits[t] = matvec(output_, rmsnorm(x[t], output_norm_, eps_), (size_t)n_vocab_);
    return logits;
}

double relative_error(const float* a, const double* b, size_t n) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; ++i) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += b[i] * b[i];
    }
    return std::sqrt(num / std::max(den, 1e-300));
}

} // namespace epic::test
