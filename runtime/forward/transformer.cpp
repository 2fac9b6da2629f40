#include "forward/transformer.h"

#include "common/error.h"

#include <algorithm>
#include <cmath>

namespace epic {
namespace {

std::unique_ptr<device_buffer> upload_vector(backend& be, const std::vector<float>& v) {
    auto b = be.alloc(v.size() * sizeof(float));
    be.upload(b->data(), v.data(), v.size() * sizeof(float));
    return b;
}

} // namespace

working_set resolve_working_set(const model_config& c, working_set ws) {
    // 4096 rows cover the service's default question (8 retrieved 512-token chunks, the prompt and
    // the answer); a longer context is the caller's to ask for.
    if (ws.n_ctx <= 0) ws.n_ctx = c.n_ctx_train > 0 ? std::min(c.n_ctx_train, 4096) : 4096;
    if (ws.n_batch <= 0) ws.n_batch = 512;
    return ws;
}

transformer::transformer(const model& m, backend& be, working_set ws) : model_(m), be_(be) {
    const working_set w = resolve_working_set(m.config(), ws);
    try {
        be_.check_fits(m.config(), w.n_ctx, w.n_batch);
    } catch (const error& e) {
        throw error(m.path() + ": " + e.what());
    }
    token_embd_ = be_.prepare_weight(m.token_embd());
    output_ = be_.prepare_weight(m.output());
    output_norm_ = upload_vector(be_, m.output_norm());
    for (const layer_weights& l : m.layers()) {
        layer_device d;
        d.attn_norm = upload_vector(be_, l.attn_norm);
        d.ffn_norm = upload_vector(be_, l.ffn_norm);
        if (!l.bq.empty()) {
            d.bq = upload_vector(be_, l.bq);
            d.bk = upload_vector(be_, l.bk);
            d.bv = upload_vector(be_, l.bv);
        }
        if (!l.attn_q_norm.empty()) d.q_norm = upload_vector(be_, l.attn_q_norm);
        if (!l.attn_k_norm.empty()) d.k_norm = upload_vector(be_, l.attn_k_norm);
        if (!l.attn_post_norm.empty()) d.attn_post_norm = upload_vector(be_, l.attn_post_norm);
        if (!l.ffn_post_norm.empty()) d.ffn_post_norm = upload_vector(be_, l.ffn_post_norm);
        d.wq = be_.prepare_weight(l.wq);
        d.wk = be_.prepare_weight(l.wk);
        d.wv = be_.prepare_weight(l.wv);
        d.wo = be_.prepare_weight(l.wo);
        d.w_gate = be_.prepare_weight(l.w_gate);
        d.w_up = be_.prepare_weight(l.w_up);
        d.w_down = be_.prepare_weight(l.w_down);
        layers_.push_back(std::move(d));
    }
}

rope_params transformer::rope(int il) const {
    const model_config& c = config();
    rope_params p;
    p.n_rot = c.n_rot;
    p.freq_base = c.rope_base_for(il);
    p.freq_scale = c.rope_scale_for(il);
    p.freq_factors = c.rope_freq_factors.empty() ? nullptr : c.rope_freq_factors.data();
    p.neox = c.rope_neox;
    return p;
}

std::unique_ptr<kv_cache> transformer::new_kv_cache(int n_ctx, bool keep_prerope_k) const {
    return std::make_unique<kv_cache>(be_, config(), n_ctx, keep_prerope_k);
}

void transformer::reserve(forward_state& s, int n) {
    if (n <= s.capacity) return;
    const model_config& c = config();
    const size_t f = sizeof(float);
    const size_t rows = (size_t)n;
    s.ids_d = be_.alloc(rows * sizeof(int32_t));
    s.pos_d = be_.alloc(rows * sizeof(int32_t));
    s.rows_d = be_.alloc(rows * sizeof(int32_t));
    s.x = be_.alloc(rows * (size_t)c.n_embd * f);
    s.xn = be_.alloc(rows * (size_t)c.n_embd * f);
    s.q = be_.alloc(rows * (size_t)c.q_width() * f);
    s.k = be_.alloc(rows * (size_t)c.kv_width() * f);
    s.k_raw = be_.alloc(rows * (size_t)c.kv_width() * f);
    s.v = be_.alloc(rows * (size_t)c.kv_width() * f);
    s.att = be_.alloc(rows * (size_t)c.q_width() * f);
    s.gate = be_.alloc(rows * (size_t)c.n_ff * f);
    s.up = be_.alloc(rows * (size_t)c.n_ff * f);
    s.tmp = be_.alloc(rows * (size_t)std::max({c.n_embd, c.n_ff, c.q_width()}) * f);
    s.capacity = n;
}

void transformer::upload_rows(forward_state& s, std::span<const int32_t> positions) {
    s.positions.assign(positions.begin(), positions.end());
    be_.upload(s.pos_d->data(), positions.data(), positions.size_bytes());
}

void transformer::begin(forward_state& s, std::span<const int32_t> tokens, std::span<const int32_t> positions) {
    if (tokens.size() != positions.size())
        throw error("forward: " + std::to_string(tokens.size()) + " tokens but " + std::to_string(positions.size()) +
                    " positions");
    if (tokens.empty()) throw error("forward: no rows to compute");
    const int n = (int)tokens.size();
    reserve(s, n);
    s.n = n;
    s.attend_from = 0;
    be_.upload(s.ids_d->data(), tokens.data(), tokens.size_bytes());
    upload_rows(s, positions);
    be_.get_rows(token_embd_, s.ids_d->as<int32_t>(), n, s.x->as<float>());
    if (config().embd_scale != 1.0f) be_.scale(s.x->as<float>(), (size_t)n * config().n_embd, config().embd_scale);
}

void transformer::qkv(int il, forward_state& s) {
    const model_config& c = config();
    const layer_device& l = layers_[(size_t)il];
    be_.rms_norm(s.x->as<float>(), l.attn_norm->as<float>(), s.xn->as<float>(), s.n, c.n_embd, c.rms_eps);
    be_.matmul(l.wq, s.xn->as<float>(), s.n, s.q->as<float>());
    be_.matmul(l.wk, s.xn->as<float>(), s.n, s.k->as<float>());
    be_.matmul(l.wv, s.xn->as<float>(), s.n, s.v->as<float>());
    if (l.bq) { // Qwen2: biases before any norm or rotation
        be_.add_bias(s.q->as<float>(), l.bq->as<float>(), s.n, c.q_width());
        be_.add_bias(s.k->as<float>(), l.bk->as<float>(), s.n, c.kv_width());
        be_.add_bias(s.v->as<float>(), l.bv->as<float>(), s.n, c.kv_width());
    }
    if (c.qk_norm) { // per head, in place: [n * n_head, head_dim]
        be_.rms_norm(s.q->as<float>(), l.q_norm->as<float>(), s.q->as<float>(), s.n * c.n_head, c.head_dim, c.rms_eps);
        be_.rms_norm(s.k->as<float>(), l.k_norm->as<float>(), s.k->as<float>(), s.n * c.n_head_kv, c.head_dim, c.rms_eps);
    }
    // What a compiled chunk stores: K after any norm, before RoPE.
    be_.copy(s.k_raw->data(), s.k->data(), (size_t)s.n * c.kv_width() * sizeof(float));
    const rope_params rp = rope(il);
    be_.rope(s.q->as<float>(), s.pos_d->as<int32_t>(), s.n, c.n_head, c.head_dim, rp);
    be_.rope(s.k->as<float>(), s.pos_d->as<int32_t>(), s.n, c.n_head_kv, c.head_dim, rp);
}

void transformer::store_kv(int il, forward_state& s, kv_cache& kv) {
    const int32_t max_pos = *std::max_element(s.positions.begin(), s.positions.end());
    if (max_pos >= kv.n_ctx() || *std::min_element(s.positions.begin(), s.positions.end()) < 0)
        throw error("position " + std::to_string(max_pos) + " does not fit the KV cache of " + std::to_string(kv.n_ctx()) +
                    " rows (context too long)");
    const int w = kv.row_width();
    be_.scatter_f16(s.k->as<float>(), s.pos_d->as<int32_t>(), s.n, w, kv.k(il));
    be_.scatter_f16(s.v->as<float>(), s.pos_d->as<int32_t>(), s.n, w, kv.v(il));
    if (kv.keeps_prerope_k()) be_.scatter_f16(s.k_raw->as<float>(), s.pos_d->as<int32_t>(), s.n, w, kv.k_raw(il));
    kv.n_rows = std::max(kv.n_rows, max_pos + 1);
}

void transformer::attend(int il, forward_state& s, kv_cache& kv) {
    const model_config& c = config();
    attention_params ap;
    ap.n_head = c.n_head;
    ap.n_head_kv = c.n_head_kv;
    ap.head_dim = c.head_dim;
    ap.scale = c.attention_scale();
    ap.kv_first = s.attend_from;
    ap.window = c.is_swa(il) ? c.sliding_window : 0;
    ap.context = kv.context;
    be_.attention(s.q->as<float>(), s.pos_d->as<int32_t>(), s.n, kv.k(il), kv.v(il), kv.n_rows, s.att->as<float>(), ap);
}

void transformer::project_and_ffn(int il, forward_state& s) {
    const model_config& c = config();
    const layer_device& l = layers_[(size_t)il];
    float* x = s.x->as<float>();
    float* out = s.xn->as<float>(); // [n, n_embd] scratch for each block's output
    // x += [post_norm](att · Wo^T)
    be_.matmul(l.wo, s.att->as<float>(), s.n, out);
    if (c.post_norms) be_.rms_norm(out, l.attn_post_norm->as<float>(), out, s.n, c.n_embd, c.rms_eps);
    be_.add(x, out, (size_t)s.n * c.n_embd);
    // x += [post_norm](W_down · (act(W_gate · norm(x)) * (W_up · norm(x))))
    be_.rms_norm(x, l.ffn_norm->as<float>(), out, s.n, c.n_embd, c.rms_eps);
    be_.matmul(l.w_gate, out, s.n, s.gate->as<float>());
    be_.matmul(l.w_up, out, s.n, s.up->as<float>());
    if (c.activation == ffn_activation::gelu_tanh)
        be_.geglu(s.gate->as<float>(), s.up->as<float>(), s.gate->as<float>(), (size_t)s.n * c.n_ff);
    else
        be_.swiglu(s.gate->as<float>(), s.up->as<float>(), s.gate->as<float>(), (size_t)s.n * c.n_ff);
    be_.matmul(l.w_down, s.gate->as<float>(), s.n, out);
    if (c.post_norms) be_.rms_norm(out, l.ffn_post_norm->as<float>(), out, s.n, c.n_embd, c.rms_eps);
    be_.add(x, out, (size_t)s.n * c.n_embd);
}

void transformer::attend_and_ffn(int il, forward_state& s, kv_cache& kv) {
    attend(il, s, kv);
    project_and_ffn(il, s);
}

void transformer::layer(int il, forward_state& s, kv_cache& kv) {
    qkv(il, s);
    store_kv(il, s, kv);
    attend_and_ffn(il, s, kv);
}

void transformer::select_rows(forward_state& s, std::span<const int32_t> keep) {
    const model_config& c = config();
    for (size_t i = 0; i < keep.size(); ++i)
        if (keep[i] < 0 || keep[i] >= s.n || (i > 0 && keep[i] <= keep[i - 1]))
            throw error("select_rows: row indices must be ascending and within the current rows");
    const int n = (int)keep.size();
    be_.upload(s.rows_d->data(), keep.data(), keep.size_bytes());
    const int32_t* rows = s.rows_d->as<int32_t>();
    auto compact = [&](device_buffer& buf, int width) {
        be_.gather_rows(buf.as<float>(), rows, n, width, s.tmp->as<float>());
        be_.copy(buf.data(), s.tmp->data(), (size_t)n * width * sizeof(float));
    };
    compact(*s.x, c.n_embd);
    compact(*s.q, c.q_width());
    compact(*s.k, c.kv_width());
    compact(*s.k_raw, c.kv_width());
    compact(*s.v, c.kv_width());
    std::vector<int32_t> pos(keep.size());
    for (size_t i = 0; i < keep.size(); ++i) pos[i] = s.positions[(size_t)keep[i]];
    s.n = n;
    upload_rows(s, pos);
}

void transformer::logits(forward_state& s, int first, int count, std::vector<float>& out) {
    const model_config& c = config();
    if (first < 0 || count <= 0 || first + count > s.n) throw error("logits: row range outside the computed rows");
    if (!s.logits || s.logits->size() < (size_t)count * c.n_vocab * sizeof(float))
        s.logits = be_.alloc((size_t)count * c.n_vocab * sizeof(float));
    const float* x = s.x->as<float>() + (size_t)first * c.n_embd; // [count, n_embd]
    be_.rms_norm(x, output_norm_->as<float>(), s.xn->as<float>(), count, c.n_embd, c.rms_eps);
    be_.matmul(output_, s.xn->as<float>(), count, s.logits->as<float>());
    out.resize((size_t)count * c.n_vocab);
    be_.download(out.data(), s.logits->data(), out.size() * sizeof(float));
}

void transformer::forward(kv_cache& kv, std::span<const int32_t> tokens, std::span<const int32_t> positions,
                          bool all_logits, std::vector<float>& out) {
    begin(state_, tokens, positions);
    for (int il = 0; il < config().n_layer; ++il) layer(il, state_, kv);
    if (all_logits) logits(state_, 0, state_.n, out);
    else logits(state_, state_.n - 1, 1, out);
}

} // namespace epic
