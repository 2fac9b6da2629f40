// Each link algorithm's rules on their own (pic/link_rules.h): hand-built layouts and random host
// arrays, no model. Every expectation is written from DESIGN.md's definitions, row by row, not from
// the code under test.
#include "common/error.h"
#include "core/fp16.h"
#include "pic/link_rules.h"
#include "pic/query_rows.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <random>
#include <set>

namespace epic {
namespace {

using kind = link_segment::kind;

// One segment of a hand-built layout.
struct seg_spec {
    kind type;
    int length;
    bool cached = true;
    bool recompute_whole = false;
};

// Caches only stand for "this segment is cached" here: the rules never read their tensors.
struct built_layout {
    link_layout layout;
    std::vector<std::unique_ptr<chunk_cache>> caches;
};

built_layout build(const std::vector<seg_spec>& specs) {
    built_layout b;
    for (const seg_spec& sp : specs) {
        link_segment s{sp.type, b.layout.n_rows(), sp.length};
        if (sp.cached) {
            b.caches.push_back(std::make_unique<chunk_cache>());
            s.cache = b.caches.back().get();
        }
        s.recompute_whole = sp.recompute_whole;
        b.layout.segments.push_back(s);
        b.layout.tokens.insert(b.layout.tokens.end(), (size_t)sp.length, 7);
    }
    return b;
}

std::vector<int32_t> range(int from, int n) {
    std::vector<int32_t> r((size_t)n);
    std::iota(r.begin(), r.end(), from);
    return r;
}

std::vector<int32_t> concat(std::initializer_list<std::vector<int32_t>> parts) {
    std::vector<int32_t> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// DESIGN.md's table, row by row: is global row `row` in the layer-0 recompute set?
bool in_layer0_set(const link_layout& lay, const link_policy& p, int row) {
    using algo = link_policy::algorithm;
    if (row == lay.n_rows() - 1) return true; // the logits' row
    const bool fixed = p.algo == algo::legolink || p.algo == algo::naive;
    int chunk_index = 0, n_chunks = 0;
    for (const link_segment& s : lay.segments) n_chunks += s.type == kind::chunk;
    for (const link_segment& s : lay.segments) {
        const bool chunk = s.type == kind::chunk;
        const int from_end = n_chunks - 1 - chunk_index; // chunk segments after this one
        chunk_index += chunk;
        if (row < s.begin || row >= s.begin + s.length) continue;
        const int offset = row - s.begin;
        if (!s.cache || s.recompute_whole) return true;
        if (p.algo == algo::full || p.algo == algo::cacheblend) return true;
        if (!chunk) return false; // a cached system segment: an exact prefix
        if (p.algo == algo::legolink && offset < p.k) return true;
        if (fixed && p.tail > 0 && offset >= s.length - p.tail) return true;
        if (fixed && from_end < p.last) return true;
        return false;
    }
    ADD_FAILURE() << "row " << row << " is in no segment";
    return false;
}

TEST(link_rules, sinks_and_compile_options_of_each_algorithm) {
    for (const char* name : {"full", "naive", "legolink-16", "legolink-1", "cacheblend-0.15", "legolink-16+ctx", "naive+kv-q8"}) {
        const link_policy p = link_policy::parse(name);
        EXPECT_EQ(p.sink_tokens(), 1) << name;
        EXPECT_EQ(p.chunk_compile_options(), compile_options::standalone(1)) << name; // f16, no context
    }
    EXPECT_EQ(link_policy::parse("legolink-0").sink_tokens(), 4);
    EXPECT_EQ(link_policy::parse("legolink-0").chunk_compile_options().n_sink, 4);
    for (const char* name : {"legolink-16+hdr", "legolink-0+hdr", "naive+hdr", "cacheblend+hdr+ctx"})
        EXPECT_EQ(link_policy::parse(name).chunk_compile_options(), compile_options::standalone(0)) << name;
    const compile_options o = compile_options::standalone(3);
    EXPECT_EQ(o.n_sink, 3);
    EXPECT_TRUE(o.context.empty());
    EXPECT_EQ(o.context_rows, 0);
    EXPECT_EQ(o.format, kv_format::f16);
    EXPECT_EQ(o.to_string(), "sink=3");
}

TEST(link_rules, only_legolink_0_drops_the_sinks_of_a_cache) {
    chunk_cache four, one, none;
    four.options = compile_options::standalone(4);
    one.options = compile_options::standalone(1);
    none.options = compile_options::standalone(0);
    EXPECT_EQ(first_linked_row(link_policy::parse("legolink-0"), four), 4);
    EXPECT_EQ(first_linked_row(link_policy::parse("legolink-0+hdr"), none), 0);
    for (const char* name : {"legolink-1", "legolink-16", "naive", "full", "cacheblend"})
        EXPECT_EQ(first_linked_row(link_policy::parse(name), one), 0) << name;
}

TEST(link_rules, which_algorithms_use_cached_rows_query_rows_and_a_selection_layer) {
    EXPECT_FALSE(uses_cached_rows(link_policy::parse("full")));
    for (const char* name : {"naive", "legolink-0", "legolink-16", "cacheblend"}) EXPECT_TRUE(uses_cached_rows(link_policy::parse(name))) << name;
    for (const char* name : {"legolink-16+q-0.1", "legolink-0+qc-0.2", "naive+q-0.05@3"})
        EXPECT_TRUE(adds_query_rows(link_policy::parse(name))) << name;
    for (const char* name : {"legolink-16", "naive", "cacheblend+q-0.1", "full+q-0.1", "full"})
        EXPECT_FALSE(adds_query_rows(link_policy::parse(name))) << name;
    EXPECT_EQ(row_selection_layer(link_policy::parse("cacheblend-0.15")), 1);
    EXPECT_EQ(row_selection_layer(link_policy::parse("cacheblend-1")), 1);
    for (const char* name : {"full", "naive", "legolink-16", "legolink-0", "legolink-4+q-0.1"})
        EXPECT_EQ(row_selection_layer(link_policy::parse(name)), -1) << name;
}

// system 3 (cached), chunks of 5, 7 and 2 rows (cached), question 4: rows 0-2, 3-7, 8-14, 15-16, 17-20.
TEST(link_rules, layer_0_sets_on_a_hand_built_layout) {
    const built_layout b = build({{kind::system, 3}, {kind::chunk, 5}, {kind::chunk, 7}, {kind::chunk, 2}, {kind::question, 4, false}});
    const link_layout& lay = b.layout;
    const auto q = range(17, 4);
    auto rows = [&](const char* name) { return recompute_rows(lay, link_policy::parse(name)); };
    EXPECT_EQ(rows("full"), range(0, 21));
    EXPECT_EQ(rows("cacheblend-0.1"), range(0, 21)); // every row at layer 0
    EXPECT_EQ(rows("naive"), q);
    EXPECT_EQ(rows("legolink-0"), q);
    EXPECT_EQ(rows("legolink-1"), concat({{3}, {8}, {15}, q}));
    EXPECT_EQ(rows("legolink-3"), concat({range(3, 3), range(8, 3), range(15, 2), q})); // min(k, L)
    EXPECT_EQ(rows("legolink-2+tail-2"), concat({range(3, 2), range(6, 2), range(8, 2), range(13, 2), range(15, 2), q}));
    EXPECT_EQ(rows("naive+tail-1"), concat({{7}, {14}, {16}, q}));
    EXPECT_EQ(rows("naive+last-1"), concat({range(15, 2), q}));
    EXPECT_EQ(rows("legolink-1+last-2"), concat({{3}, range(8, 9), q}));
    EXPECT_EQ(rows("naive+last-5"), range(3, 18)); // every chunk, never the cached system segment
    // The modifiers of LegoLink and naive mean nothing to full and CacheBlend (every row already).
    EXPECT_EQ(rows("cacheblend+tail-1+last-1"), range(0, 21));

    // No question: the last row (a chunk's) is recomputed for the logits.
    const built_layout nq = build({{kind::chunk, 4}, {kind::chunk, 3}});
    EXPECT_EQ(recompute_rows(nq.layout, link_policy::parse("naive")), std::vector<int32_t>{6});
    EXPECT_EQ(recompute_rows(nq.layout, link_policy::parse("legolink-2")), concat({range(0, 2), range(4, 3)}));

    // A system segment computed fresh and a chunk recomputed whole (link_input::recompute_whole).
    const built_layout fw = build({{kind::system, 2, false}, {kind::chunk, 4}, {kind::chunk, 5, true, true}, {kind::question, 2, false}});
    EXPECT_EQ(recompute_rows(fw.layout, link_policy::parse("naive")), concat({range(0, 2), range(6, 7)}));
    EXPECT_EQ(recompute_rows(fw.layout, link_policy::parse("legolink-1")), concat({range(0, 3), range(6, 7)}));
}

TEST(link_rules, layer_0_sets_match_the_definition_on_random_layouts) {
    std::mt19937 rng(17);
    const std::vector<std::string> names = {"full", "naive", "legolink-0", "legolink-1", "legolink-4", "legolink-16",
                                            "cacheblend-0.15", "legolink-2+tail-3", "naive+tail-1", "legolink-4+last-1",
                                            "naive+last-2", "legolink-1+tail-2+last-3", "full+tail-2", "cacheblend+last-1"};
    for (int trial = 0; trial < 200; ++trial) {
        std::vector<seg_spec> specs;
        const int sys = (int)(rng() % 4);
        if (sys > 0) specs.push_back({kind::system, sys, rng() % 2 == 0});
        const int n_chunks = (int)(rng() % 5);
        for (int i = 0; i < n_chunks; ++i) specs.push_back({kind::chunk, 1 + (int)(rng() % 20), true, rng() % 6 == 0});
        const int q = (int)(rng() % 5);
        if (q > 0 || specs.empty()) specs.push_back({kind::question, std::max(q, 1), false});
        const built_layout b = build(specs);
        for (const std::string& name : names) {
            const link_policy p = link_policy::parse(name);
            std::vector<int32_t> want;
            for (int r = 0; r < b.layout.n_rows(); ++r)
                if (in_layer0_set(b.layout, p, r)) want.push_back(r);
            EXPECT_EQ(recompute_rows(b.layout, p), want) << name << ", trial " << trial;
        }
    }
}

TEST(link_rules, ape_spans_the_chunks) {
    const built_layout b = build({{kind::system, 3}, {kind::chunk, 5}, {kind::chunk, 7}, {kind::question, 4, false}});
    const context_attention a = ape_context(b.layout, link_policy::parse("legolink-16+ape-0.5:2"));
    EXPECT_EQ(a.begin, 3);
    EXPECT_EQ(a.end, 15);
    EXPECT_EQ(a.temperature, 0.5f);
    EXPECT_EQ(a.scale, 2.0f);
    EXPECT_TRUE(a.adjusted());
    const context_attention plain = ape_context(b.layout, link_policy::parse("legolink-16"));
    EXPECT_FALSE(plain.adjusted());
    EXPECT_EQ(plain.end, 0);
}

TEST(link_rules, question_rows_score_the_query_aware_choice) {
    const built_layout b = build({{kind::system, 2}, {kind::chunk, 5}, {kind::question, 3, false}});
    const std::vector<int32_t> base = {0, 1, 2, 3, 7, 8, 9}; // rows 7-9: the question
    EXPECT_EQ(question_row_indices(b.layout, base), (std::vector<int32_t>{4, 5, 6}));
    const built_layout nq = build({{kind::chunk, 5}});
    EXPECT_EQ(question_row_indices(nq.layout, std::vector<int32_t>{0, 4}), std::vector<int32_t>{1}); // the last row
}

// CacheBlend's choice, from its definition: every uncached row and the last row, plus the
// round(r x cached chunk rows) cached chunk rows (other than the last) with the largest
// sum over heads and dims of (V_fresh - V_cached)^2; never a cached system row.
std::set<int32_t> cacheblend_by_definition(const link_layout& lay, const std::vector<int32_t>& rows, const std::vector<float>& fresh,
                                           const std::vector<uint16_t>& cached, int w, double r) {
    const int N = lay.n_rows();
    std::set<int32_t> keep;
    std::vector<std::pair<double, int32_t>> candidates;
    int n_chunk_rows = 0;
    for (const link_segment& s : lay.segments)
        if (s.cache && s.type == kind::chunk) n_chunk_rows += s.length;
    for (size_t i = 0; i < rows.size(); ++i) {
        const int32_t row = rows[i];
        const link_segment* seg = nullptr;
        for (const link_segment& s : lay.segments)
            if (row >= s.begin && row < s.begin + s.length) seg = &s;
        if (!seg->cache || row == N - 1) { keep.insert(row); continue; }
        if (seg->type != kind::chunk) continue;
        double d = 0.0;
        for (int e = 0; e < w; ++e) {
            const double diff = (double)fresh[i * w + e] - (double)fp16_to_fp32(cached[(size_t)row * w + e]);
            d += diff * diff;
        }
        candidates.emplace_back(d, row);
    }
    std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    const size_t n = std::min(candidates.size(), (size_t)std::lround(r * n_chunk_rows));
    for (size_t i = 0; i < n; ++i) keep.insert(candidates[i].second);
    return keep;
}

TEST(link_rules, cacheblend_keeps_the_rows_whose_v_moved_most_on_random_inputs) {
    std::mt19937 rng(5);
    std::normal_distribution<float> gauss(0.0f, 1.0f);
    for (int trial = 0; trial < 300; ++trial) {
        std::vector<seg_spec> specs;
        if (rng() % 3 != 0) specs.push_back({kind::system, 1 + (int)(rng() % 4), rng() % 3 != 0});
        const int n_chunks = 1 + (int)(rng() % 4);
        for (int i = 0; i < n_chunks; ++i) specs.push_back({kind::chunk, 1 + (int)(rng() % 25)});
        if (rng() % 5 != 0) specs.push_back({kind::question, 1 + (int)(rng() % 4), false});
        const built_layout b = build(specs);
        const link_layout& lay = b.layout;
        const int N = lay.n_rows(), w = 1 + (int)(rng() % 12);
        const double r = std::vector<double>{0.05, 0.15, 0.3, 0.5, 1.0}[trial % 5];
        // Layer 1 of CacheBlend sees every row (its layer-0 set); some trials a strict subset, to
        // check that the answer indexes `rows`, not the layout.
        std::vector<int32_t> rows = range(0, N);
        if (trial % 4 == 3)
            rows.erase(std::remove_if(rows.begin(), rows.end(), [&](int32_t x) { return x != N - 1 && rng() % 3 == 0; }), rows.end());
        std::vector<float> fresh(rows.size() * (size_t)w);  // [rows, w]
        std::vector<uint16_t> cached((size_t)N * w);       // [N, w] f16
        for (auto& x : cached) x = fp32_to_fp16(gauss(rng));
        for (size_t i = 0; i < rows.size(); ++i)
            for (int e = 0; e < w; ++e) // fresh = cached + a per-row scale of noise: distinct deviations
                fresh[i * w + e] = fp16_to_fp32(cached[(size_t)rows[i] * w + e]) + (float)(i % 7 + 1) * 0.1f * gauss(rng);

        const std::vector<int32_t> got = cacheblend_rows(lay, rows, fresh, cached, w, r);
        ASSERT_TRUE(std::is_sorted(got.begin(), got.end())) << "trial " << trial;
        std::set<int32_t> got_rows;
        for (int32_t i : got) {
            ASSERT_GE(i, 0);
            ASSERT_LT(i, (int32_t)rows.size());
            got_rows.insert(rows[(size_t)i]);
        }
        EXPECT_EQ(got_rows.size(), got.size()) << "trial " << trial << ": an index twice";
        EXPECT_EQ(got_rows, cacheblend_by_definition(lay, rows, fresh, cached, w, r)) << "trial " << trial;

        // The count on its own: uncached rows + the last row + round(r x cached chunk rows) chunk rows
        // when every row was computed.
        if (rows.size() == (size_t)N) {
            int uncached = 0, chunk_rows = 0;
            for (const link_segment& s : lay.segments) {
                if (!s.cache) uncached += s.length;
                else if (s.type == kind::chunk) chunk_rows += s.length;
            }
            const bool last_cached = lay.segments.back().cache != nullptr;
            const long pick = std::min<long>(std::lround(r * chunk_rows), chunk_rows - (last_cached ? 1 : 0));
            EXPECT_EQ((long)got.size(), uncached + (last_cached ? 1 : 0) + pick) << "trial " << trial;
        }
    }
}

TEST(link_rules, cacheblend_with_a_planted_deviation_keeps_that_row) {
    const built_layout b = build({{kind::system, 2}, {kind::chunk, 10}, {kind::chunk, 10}, {kind::question, 2, false}});
    const int N = b.layout.n_rows(), w = 4;
    std::vector<uint16_t> cached((size_t)N * w, fp32_to_fp16(0.5f));
    std::vector<float> fresh((size_t)N * w, 0.5f); // nothing moved...
    for (int e = 0; e < w; ++e) fresh[(size_t)13 * w + e] = 3.0f; // ...but row 13
    for (int e = 0; e < w; ++e) fresh[(size_t)0 * w + e] = 9.0f;  // a system row moved more: still never kept
    // r = 0.05 of 20 chunk rows: one row.
    EXPECT_EQ(cacheblend_rows(b.layout, range(0, N), fresh, cached, w, 0.05), (std::vector<int32_t>{13, 22, 23}));
    EXPECT_THROW(cacheblend_rows(b.layout, range(0, N), fresh, cached, w + 1, 0.05), error);
    EXPECT_THROW(cacheblend_rows(b.layout, range(0, N - 1), fresh, cached, w, 0.05), error);
}

} // namespace
} // namespace epic
