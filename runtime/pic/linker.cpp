#include "pic/linker.h"

#include "common/error.h"
#include "common/stopwatch.h"
#include "pic/kv_placement.h"
#include "pic/query_rows.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <optional>

namespace epic {
namespace {

using clock_type = std::chrono::steady_clock;

void check_cache(const chunk_cache& c, const model& m, const std::string& what) {
    const model_config& cfg = m.config();
    if (c.model_fingerprint != m.fingerprint())
        throw error(what + " was compiled with another model (" + c.model_fingerprint + ", this is " + m.fingerprint() + ")");
    if (c.n_layer != cfg.n_layer || c.n_head_kv != cfg.n_head_kv || c.head_dim != cfg.head_dim)
        throw error(what + " has the wrong shape for this model");
    if (!c.has_tensors()) return; // header-only: kv_placement finds its tensors in the hot tier or refuses it
    for (int il = 0; il < c.n_layer; ++il)
        if (c.k[(size_t)il].size() != (size_t)c.n_rows() * c.row_width() || c.v[(size_t)il].size() != c.k[(size_t)il].size())
            throw error(what + " has inconsistent layer sizes");
}

} // namespace

int link_stats::recomputed_rows() const { return recomputed_per_layer.empty() ? 0 : recomputed_per_layer.back(); }

double link_stats::mean_recomputed() const {
    if (recomputed_per_layer.empty()) return 0.0;
    return std::accumulate(recomputed_per_layer.begin(), recomputed_per_layer.end(), 0.0) / recomputed_per_layer.size();
}

link_layout make_layout(const link_input& in, const link_policy& policy, const model& m) {
    link_layout lay;
    auto add = [&](link_segment::kind type, const chunk_cache* cache, int first_row, std::span<const int32_t> tokens) {
        if (tokens.empty()) return;
        link_segment s{type, lay.n_rows(), (int)tokens.size(), cache, first_row};
        lay.tokens.insert(lay.tokens.end(), tokens.begin(), tokens.end());
        lay.segments.push_back(s);
    };
    if (in.system) {
        check_cache(*in.system, m, "the system prompt cache");
        add(link_segment::kind::system, in.system, 0, in.system->tokens);
    } else {
        add(link_segment::kind::system, nullptr, 0, in.system_tokens);
    }
    const int sinks = policy.sink_tokens();
    const std::vector<int32_t>& system = in.system ? in.system->tokens : in.system_tokens;
    if (policy.context_compiled && system.empty())
        throw error("link: " + policy.name() + " links context-compiled chunks and needs their system segment");
    for (size_t i = 0; i < in.chunks.size(); ++i) {
        const chunk_cache* c = in.chunks[i];
        const std::string what = "chunk cache " + std::to_string(i + 1);
        if (!c) throw error(what + " is missing");
        check_cache(*c, m, what);
        // One link, one stored format: caches of two formats (a format changed between compiles)
        // would give the chunks unequal precision; the service recompiles under the current one.
        if (c->options.format != in.chunks[0]->options.format)
            throw error(what + " is stored as " + std::string(kv_format_name(c->options.format)) + " but chunk cache 1 as " +
                        std::string(kv_format_name(in.chunks[0]->options.format)) + ": one link never mixes formats");
        if (c->options.n_sink != sinks)
            throw error(what + " was compiled with " + std::to_string(c->options.n_sink) + " sink token(s); " + policy.name() +
                        " needs " + std::to_string(sinks));
        // A context-compiled chunk must have been compiled after this link's system segment, or after
        // exactly what precedes it here (then its rows are what a full recompute computes).
        const compile_options& o = c->options;
        if (!policy.context_compiled && !o.context.empty())
            throw error(what + " was compiled after a system segment; " + policy.name() + " needs chunks compiled on their own");
        if (policy.context_compiled) {
            if (o.context.empty())
                throw error(what + " was compiled on its own; " + policy.name() + " needs chunks compiled after the system segment");
            const bool fits = o.context_rows == (int)system.size() || o.context_rows == lay.n_rows();
            if (!fits || o.context != context_fingerprint(std::span(lay.tokens).first((size_t)o.context_rows)))
                throw error(what + " was compiled after another system prompt or context (stale); recompile it");
        }
        const int first = first_linked_row(policy, *c); // LegoLink-0 links the rows after the sinks
        if (first >= c->n_rows()) continue;
        add(link_segment::kind::chunk, c, first, std::span(c->tokens).subspan((size_t)first));
        if (std::find(in.recompute_whole.begin(), in.recompute_whole.end(), (int)i) != in.recompute_whole.end())
            lay.segments.back().recompute_whole = true;
    }
    add(link_segment::kind::question, nullptr, 0, in.question);
    if (lay.tokens.empty()) throw error("link: nothing to link (no system prompt, chunks or question)");
    return lay;
}

linker::linker(transformer& tf, kv_hot_tier* tier) : tf_(tf), tier_(tier), staging_(std::make_unique<kv_staging_area>()) {}

linker::~linker() = default;

void linker::set_staging_budget(size_t bytes) { staging_->budget_bytes = bytes; }

link_result linker::link(const link_input& in, const link_policy& policy, int extra_capacity) {
    const auto t_start = clock_type::now();
    link_result res;
    res.layout = make_layout(in, policy, tf_.get_model());
    const link_layout& lay = res.layout;
    const model_config& c = tf_.config();
    backend& be = tf_.get_backend();
    const int N = lay.n_rows();
    res.kv = tf_.new_kv_cache(N + std::max(0, extra_capacity));
    kv_cache& kv = *res.kv;
    kv.context = ape_context(lay, policy);
    link_stats& st = res.stats;
    st.n_rows = N;
    // Cached rows arrive layer by layer: every layer's transfers are enqueued now, and each layer's
    // compute waits for its own.
    std::optional<kv_placement> placement;
    if (uses_cached_rows(policy)) {
        placement.emplace(tf_, lay, kv, tier_, *staging_, st);
        placement->start();
    }
    kv.n_rows = N;

    std::vector<int32_t> rows = recompute_rows(lay, policy);
    forward_state& s = state_;
    int placed = 0; // layers whose cached rows are in place
    auto t0 = clock_type::now();
    if (adds_query_rows(policy)) {
        // Pass 1: the base set through layers 0..lq-1, then the question rows' attention at layer lq
        // scores every key. Rows the base set wrote stay valid: pass 2 recomputes a superset of them.
        const int lq = policy.query_layer_for(c.n_layer);
        std::vector<int32_t> base_tokens(rows.size());
        for (size_t i = 0; i < rows.size(); ++i) base_tokens[i] = lay.tokens[(size_t)rows[i]];
        const std::vector<int32_t> question_rows = question_row_indices(lay, rows);
        tf_.begin(s, base_tokens, rows);
        for (int il = 0; il <= lq; ++il) {
            if (placement) placement->place(il);
            placed = il + 1;
            tf_.qkv(il, s);
            tf_.store_kv(il, s, kv);
            if (il == lq) break;
            tf_.attend(il, s, kv);
            tf_.project_and_ffn(il, s);
        }
        const auto t_sel = clock_type::now();
        const std::vector<double> scores = question_attention(tf_, lq, s, kv, N, question_rows);
        rows = add_query_rows(lay, rows, scores, policy);
        st.seconds_select += seconds_since(t_sel);
    }
    std::vector<int32_t> row_tokens(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) row_tokens[i] = lay.tokens[(size_t)rows[i]];
    tf_.begin(s, row_tokens, rows);
    be.synchronize();
    st.seconds_recompute += seconds_since(t0);

    const int select_layer = row_selection_layer(policy);
    for (int il = 0; il < c.n_layer; ++il) {
        // Before CacheBlend reads layer 1's cached V and store_kv overwrites rows R.
        if (placement && il >= placed) placement->place(il);
        t0 = clock_type::now();
        tf_.qkv(il, s);
        be.synchronize();
        st.seconds_recompute += seconds_since(t0);
        if (il == select_layer) {
            // The rows' fresh V against the cached V, before store_kv overwrites rows R.
            t0 = clock_type::now();
            const int w = kv.row_width();
            std::vector<float> v_fresh((size_t)s.n * w);       // [s.n, n_head_kv, head_dim]
            std::vector<uint16_t> v_cached((size_t)N * w);     // [N, n_head_kv, head_dim] f16
            be.download(v_fresh.data(), s.v->data(), v_fresh.size() * sizeof(float));
            be.download(v_cached.data(), kv.v(il), v_cached.size() * sizeof(uint16_t));
            tf_.select_rows(s, cacheblend_rows(lay, s.positions, v_fresh, v_cached, w, policy.r));
            st.seconds_select += seconds_since(t0);
        }
        st.recomputed_per_layer.push_back(s.n);
        t0 = clock_type::now();
        tf_.store_kv(il, s, kv);
        tf_.attend(il, s, kv);
        be.synchronize();
        st.seconds_attention += seconds_since(t0);
        t0 = clock_type::now();
        tf_.project_and_ffn(il, s);
        be.synchronize();
        st.seconds_recompute += seconds_since(t0);
    }
    if (placement) placement->finish();
    kv.n_rows = N;
    res.recompute_rows = s.positions;
    t0 = clock_type::now();
    tf_.logits(s, s.n - 1, 1, res.logits);
    st.seconds_logits = seconds_since(t0);
    st.seconds_total = seconds_since(t_start);
    return res;
}

} // namespace epic
