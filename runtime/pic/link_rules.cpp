#include "pic/link_rules.h"

#include "common/error.h"
#include "core/fp16.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

namespace epic {
namespace {

bool is(const link_policy& p, link_policy::algorithm a) { return p.algo == a; }

// LegoLink and naive fix their rows from the layout; the seam and query modifiers extend those.
bool fixed_rows(const link_policy& p) {
    return is(p, link_policy::algorithm::legolink) || is(p, link_policy::algorithm::naive);
}

} // namespace

// --- compiling ----------------------------------------------------------------------------------------

int link_policy::sink_tokens() const {
    if (header_framing) return 0; // the header line opens the chunk instead of a (chat-token) BOS
    return algo == algorithm::legolink && k == 0 ? 4 : 1;
}

compile_options link_policy::chunk_compile_options() const {
    // f16: a stored format (+kv-FMT) is applied when the cache is written. Under +ctx compile_chunk
    // records the context it compiles after in the options it returns.
    return compile_options::standalone(sink_tokens());
}

// --- laying out ---------------------------------------------------------------------------------------

int first_linked_row(const link_policy& policy, const chunk_cache& cache) {
    return is(policy, link_policy::algorithm::legolink) && policy.k == 0 ? cache.options.n_sink : 0;
}

bool uses_cached_rows(const link_policy& policy) { return !is(policy, link_policy::algorithm::full); }

context_attention ape_context(const link_layout& layout, const link_policy& policy) {
    context_attention a;
    if (!policy.ape()) return a;
    // The recomputed chunk rows inside the span attend as usual: only rows after it see the temperature.
    for (const link_segment& sg : layout.segments)
        if (sg.type == link_segment::kind::chunk) {
            if (a.end == 0) a.begin = sg.begin;
            a.end = sg.begin + sg.length;
        }
    a.temperature = (float)policy.ape_temperature;
    a.scale = (float)policy.ape_scale;
    return a;
}

// --- the rows recomputed ------------------------------------------------------------------------------

std::vector<int32_t> recompute_rows(const link_layout& layout, const link_policy& policy) {
    std::vector<char> mark((size_t)layout.n_rows(), 0);
    int chunks_after = 0; // +last-N: chunk segments after the one at hand
    for (const link_segment& s : layout.segments) chunks_after += s.type == link_segment::kind::chunk;
    for (const link_segment& s : layout.segments) {
        int take = 0;
        if (s.type == link_segment::kind::chunk) --chunks_after;
        const bool near_question = fixed_rows(policy) && s.type == link_segment::kind::chunk && chunks_after < policy.last;
        if (!s.cache || s.recompute_whole || near_question || is(policy, link_policy::algorithm::full) ||
            is(policy, link_policy::algorithm::cacheblend))
            take = s.length; // uncached rows, or every row (FR; CacheBlend's layer 0)
        else if (is(policy, link_policy::algorithm::legolink) && s.type == link_segment::kind::chunk)
            take = std::min(policy.k, s.length);
        for (int i = 0; i < take; ++i) mark[(size_t)(s.begin + i)] = 1;
        if (s.cache && s.type == link_segment::kind::chunk && policy.tail > 0 && fixed_rows(policy))
            for (int i = std::max(0, s.length - policy.tail); i < s.length; ++i) mark[(size_t)(s.begin + i)] = 1;
    }
    mark.back() = 1; // logits come from the last row
    std::vector<int32_t> rows;
    for (int i = 0; i < layout.n_rows(); ++i)
        if (mark[(size_t)i]) rows.push_back(i);
    return rows;
}

bool adds_query_rows(const link_policy& policy) { return policy.query > 0 && fixed_rows(policy); }

int row_selection_layer(const link_policy& policy) { return is(policy, link_policy::algorithm::cacheblend) ? 1 : -1; }

std::vector<int32_t> cacheblend_rows(const link_layout& layout, std::span<const int32_t> rows, std::span<const float> v_fresh,
                                     std::span<const uint16_t> v_cached, int row_width, double r) {
    const int N = layout.n_rows(), w = row_width;
    if (w <= 0 || v_fresh.size() != rows.size() * (size_t)w || v_cached.size() != (size_t)N * (size_t)w)
        throw error("cacheblend_rows: fresh V holds " + std::to_string(v_fresh.size()) + " values and cached V " +
                    std::to_string(v_cached.size()) + " for " + std::to_string(rows.size()) + " of " + std::to_string(N) +
                    " rows of width " + std::to_string(w));
    std::vector<char> chunk_row((size_t)N, 0), uncached((size_t)N, 0); // [N]
    int n_chunk_rows = 0;
    for (const link_segment& seg : layout.segments)
        for (int i = 0; i < seg.length; ++i) {
            if (!seg.cache) uncached[(size_t)(seg.begin + i)] = 1;
            else if (seg.type == link_segment::kind::chunk) { chunk_row[(size_t)(seg.begin + i)] = 1; ++n_chunk_rows; }
        }
    std::vector<std::pair<double, int32_t>> deviation; // (score, index into rows)
    std::vector<int32_t> keep;
    for (int i = 0; i < (int)rows.size(); ++i) {
        const int32_t row = rows[(size_t)i];
        if (row < 0 || row >= N) throw error("cacheblend_rows: row " + std::to_string(row) + " is outside the layout's " +
                                             std::to_string(N) + " rows");
        if (uncached[(size_t)row] || row == N - 1) { keep.push_back(i); continue; }
        if (!chunk_row[(size_t)row]) continue; // exact system prefix: its cached KV is already right
        double d = 0.0;
        for (int e = 0; e < w; ++e) {
            const double diff = v_fresh[(size_t)i * w + e] - fp16_to_fp32(v_cached[(size_t)row * w + e]);
            d += diff * diff;
        }
        deviation.emplace_back(d, i);
    }
    const size_t n_pick = std::min(deviation.size(), (size_t)std::llround(r * n_chunk_rows));
    std::partial_sort(deviation.begin(), deviation.begin() + (ptrdiff_t)n_pick, deviation.end(),
                      [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t i = 0; i < n_pick; ++i) keep.push_back(deviation[i].second);
    std::sort(keep.begin(), keep.end());
    return keep;
}

} // namespace epic
