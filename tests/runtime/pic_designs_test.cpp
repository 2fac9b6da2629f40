// The link designs beyond the paper (DESIGN.md "Compile and link"; named modifiers of link_policy):
// context-compiled chunks, seam (tail) recompute and query-aware recompute. Each is exact where it
// must be, its recompute set matches its definition, and caches of another scheme are refused.
#include "common/error.h"
#include "pic/query_rows.h"
#include "pic_fixture.h"

#include <algorithm>

namespace epic {
namespace {

std::vector<int32_t> range(int b, int n) {
    std::vector<int32_t> r((size_t)n);
    std::iota(r.begin(), r.end(), b);
    return r;
}

std::vector<int32_t> concat(std::initializer_list<std::vector<int32_t>> parts) {
    std::vector<int32_t> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

class pic_design_test : public pic_test {
protected:
    chunk_cache compile_after(const std::vector<int32_t>& t, const std::vector<int32_t>& context, int sinks = 0) {
        return compile_chunk(*tf_, t, 1, compile_options::standalone(sinks), context);
    }
};

TEST_P(pic_design_test, a_context_compiled_chunk_right_after_its_system_segment_equals_full_recompute) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    const auto sys = tokens(6), t = tokens(17);
    const auto sys_cache = compile_chunk(*tf_, sys, 1, compile_options::standalone(0));
    const auto c = compile_after(t, sys);
    EXPECT_EQ(c.options.context, context_fingerprint(sys));
    EXPECT_EQ(c.options.context_rows, 6);
    EXPECT_EQ(c.tokens, t); // the context is not part of the cache
    link_input in;
    in.system = &sys_cache;
    in.chunks = {&c};
    in.question = tokens(5);
    linker lk(*tf_);
    const auto fr = lk.link(in, link_policy::parse("full+ctx+hdr"));
    const auto nv = lk.link(in, link_policy::parse("naive+ctx+hdr"));
    EXPECT_EQ(nv.stats.recomputed_rows(), 5);
    EXPECT_LT(rel(nv.logits, fr.logits), 2e-3); // f16 storage of pre-RoPE K and V only
    // The same chunk compiled on its own is not exact there: the context is what makes it so (unless
    // every layer's window hides the system segment from the question, as in the phi3 fixture).
    const model_config& cfg = mdl_->config();
    bool all_windowed = true;
    for (int il = 0; il < cfg.n_layer; ++il) all_windowed = all_windowed && cfg.is_swa(il);
    if (all_windowed) return;
    const auto alone = compile_chunk(*tf_, t, 1, compile_options::standalone(0));
    in.chunks = {&alone};
    const auto nv_alone = lk.link(in, link_policy::parse("naive+hdr"));
    EXPECT_GT(rel(nv_alone.logits, fr.logits), 5 * rel(nv.logits, fr.logits));
}

TEST_P(pic_design_test, chunks_compiled_in_link_order_relink_exactly_with_question_rows_only) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    const auto sys = tokens(4), t1 = tokens(9), t2 = tokens(13);
    std::vector<int32_t> sys_t1 = sys;
    sys_t1.insert(sys_t1.end(), t1.begin(), t1.end());
    const auto c1 = compile_after(t1, sys), c2 = compile_after(t2, sys_t1);
    link_input in;
    in.system_tokens = sys;
    in.chunks = {&c1, &c2};
    in.question = tokens(4);
    linker lk(*tf_);
    const auto fr = lk.link(in, link_policy::parse("full+ctx+hdr"));
    const auto nv = lk.link(in, link_policy::parse("naive+ctx+hdr"));
    EXPECT_EQ(nv.recompute_rows, concat_rows({range(0, 4), range(26, 4)}));
    EXPECT_LT(rel(nv.logits, fr.logits), 2e-3);
    // Out of their compile order, c2's context is not what precedes it: refused, never misused.
    in.chunks = {&c2, &c1};
    EXPECT_THROW(make_layout(in, link_policy::parse("naive+ctx+hdr"), *mdl_), epic::error);
}

TEST_P(pic_design_test, caches_of_another_compile_scheme_are_refused) {
    const auto sys = tokens(5), other_sys = tokens(5), t = tokens(8);
    const auto ctx = compile_after(t, sys), alone = compile_chunk(*tf_, t, 1, compile_options::standalone(0));
    link_input in;
    in.system_tokens = sys;
    in.question = tokens(3);
    in.chunks = {&ctx};
    EXPECT_NO_THROW(make_layout(in, link_policy::parse("legolink-4+ctx+hdr"), *mdl_));
    EXPECT_THROW(make_layout(in, link_policy::parse("legolink-4+hdr"), *mdl_), epic::error);   // context-compiled, standalone asked
    in.chunks = {&alone};
    EXPECT_THROW(make_layout(in, link_policy::parse("legolink-4+ctx+hdr"), *mdl_), epic::error); // standalone, context asked
    in.chunks = {&ctx};
    in.system_tokens = other_sys;                                                                 // the system prompt changed
    EXPECT_THROW(make_layout(in, link_policy::parse("legolink-4+ctx+hdr"), *mdl_), epic::error);
    in.system_tokens.clear();
    EXPECT_THROW(make_layout(in, link_policy::parse("legolink-4+ctx+hdr"), *mdl_), epic::error);
    // The scheme is part of the key and survives its text form (what a blob stores: kv_codec).
    EXPECT_NE(chunk_cache_key(ctx), chunk_cache_key(alone));
    EXPECT_EQ(compile_options::parse(ctx.options.to_string(), "x"), ctx.options);
}

TEST_P(pic_design_test, tail_rows_join_the_head_rows_of_every_chunk) {
    const auto c1 = compile(tokens(4)), c2 = compile(tokens(19)); // rows 5, 20
    link_input in;
    in.system_tokens = {1, 5, 6};
    in.chunks = {&c1, &c2};
    in.question = tokens(4);
    const link_layout lay = make_layout(in, link_policy::parse("legolink-2"), *mdl_);
    const auto sys = range(0, 3), q = range(28, 4);
    EXPECT_EQ(recompute_rows(lay, link_policy::parse("legolink-2+tail-3")),
              concat_rows({sys, range(3, 5), range(8, 2), range(25, 3), q})); // c1 is shorter than 2 + 3
    EXPECT_EQ(recompute_rows(lay, link_policy::parse("naive+tail-1")), concat_rows({sys, {7}, {27}, q}));
    EXPECT_EQ(recompute_rows(lay, link_policy::parse("full+tail-1")), range(0, 32));
}

TEST_P(pic_design_test, an_oracle_chunk_is_recomputed_whole_on_top_of_the_policy) {
    const auto c1 = compile(tokens(9)), c2 = compile(tokens(7)); // rows 10, 8
    link_input in;
    in.system_tokens = {1, 5};
    in.chunks = {&c1, &c2};
    in.question = tokens(3);
    in.recompute_whole = {1};
    const link_layout lay = make_layout(in, link_policy::parse("legolink-2"), *mdl_);
    EXPECT_EQ(recompute_rows(lay, link_policy::parse("legolink-2")), concat_rows({range(0, 2), range(2, 2), range(12, 8), range(20, 3)}));
}

TEST_P(pic_design_test, attention_temperature_changes_only_the_rows_after_the_chunks) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    const auto c1 = compile(tokens(11)), c2 = compile(tokens(9)); // rows 12, 10
    link_input in;
    in.system_tokens = {1, 5, 6};
    in.chunks = {&c1, &c2};
    in.question = tokens(4);
    linker lk(*tf_);
    const auto plain = lk.link(in, link_policy::parse("legolink-2"), 3);
    const auto ape = lk.link(in, link_policy::parse("legolink-2+ape-0.5:1.5"), 3);
    // The chunks span rows 3..24; the question (25..28) and every decoded row attend at T = 0.5.
    EXPECT_EQ(ape.kv->context.begin, 3);
    EXPECT_EQ(ape.kv->context.end, 25);
    EXPECT_FLOAT_EQ(ape.kv->context.temperature, 0.5f);
    EXPECT_FLOAT_EQ(ape.kv->context.scale, 1.5f);
    EXPECT_EQ(plain.kv->context.end, 0);
    // Rows up to the question are computed exactly as without APE (the recomputed chunk heads too)...
    const int w = plain.kv->row_width(), last = mdl_->config().n_layer - 1;
    for (int row = 0; row < 25; ++row)
        for (int e = 0; e < w; ++e)
            ASSERT_EQ(ape.kv->v(last)[(size_t)row * w + e], plain.kv->v(last)[(size_t)row * w + e]) << "row " << row;
    // ...and the question's are not.
    EXPECT_GT(rel(ape.logits, plain.logits), 1e-3);
    // T = S = 1 is plain attention.
    EXPECT_FALSE(link_policy::parse("legolink-2+ape-1").ape());
    const auto one = lk.link(in, link_policy::parse("legolink-2+ape-1:1"));
    EXPECT_EQ(one.logits, plain.logits);
}

TEST_P(pic_design_test, the_chunks_nearest_the_question_are_recomputed_whole) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    const auto c1 = compile(tokens(9)), c2 = compile(tokens(7)), c3 = compile(tokens(5)); // rows 10, 8, 6
    link_input in;
    in.system_tokens = {1, 5};
    in.chunks = {&c1, &c2, &c3};
    in.question = tokens(3);
    const link_layout lay = make_layout(in, link_policy::parse("legolink-2"), *mdl_);
    const auto sys = range(0, 2), q = range(26, 3);
    EXPECT_EQ(recompute_rows(lay, link_policy::parse("legolink-2+last-1")), concat_rows({sys, range(2, 2), range(12, 2), range(20, 6), q}));
    EXPECT_EQ(recompute_rows(lay, link_policy::parse("naive+last-2")), concat_rows({sys, range(12, 14), q}));
    EXPECT_EQ(recompute_rows(lay, link_policy::parse("naive+last-9")), range(0, 29));
    // Every chunk recomputed is a full recompute.
    linker lk(*tf_);
    EXPECT_LT(rel(lk.link(in, link_policy::parse("naive+last-3")).logits, lk.link(in, link_policy::parse("full")).logits), 1e-5);
    const auto p = link_policy::parse("legolink-16+hdr+last-1");
    EXPECT_EQ(p.last, 1);
    EXPECT_EQ(p.name(), "legolink-16+hdr+last-1");
    EXPECT_TRUE(p.same_compile_scheme(link_policy::parse("legolink-16+hdr")));
    for (const char* bad : {"naive+last-0", "naive+last-", "naive+last-1.5", "naive+last"}) EXPECT_THROW(link_policy::parse(bad), epic::error) << bad;
}

TEST(query_rows, the_best_scoring_groups_fill_the_budget_exactly) {
    // Layout: system 0..2 (uncached), chunk A 3..12 (10 rows), chunk B 13..20 (8 rows), question 21..22.
    chunk_cache fake;
    link_layout lay;
    lay.tokens.assign(23, 7);
    lay.segments = {{link_segment::kind::system, 0, 3, nullptr, 0},
                    {link_segment::kind::chunk, 3, 10, &fake, 0},
                    {link_segment::kind::chunk, 13, 8, &fake, 0},
                    {link_segment::kind::question, 21, 2, nullptr, 0}};
    const std::vector<int32_t> base = {0, 1, 2, 3, 13, 21, 22}; // legolink-1
    std::vector<double> scores(23, 0.01);
    scores[15] = 5.0;              // group B[0..3] = rows 13..16 (13 already in the set)
    scores[9] = 3.0;               // group A[4..7] = rows 7..10
    scores[12] = scores[11] = 1.0; // group A[8..9] = rows 11..12
    link_policy p = link_policy::parse("legolink-1+q-0.5"); // round(0.5 * 18) = 9 rows
    const auto rows = add_query_rows(lay, base, scores, p);
    EXPECT_TRUE(std::is_sorted(rows.begin(), rows.end()));
    EXPECT_EQ(rows.size(), base.size() + 9);
    EXPECT_TRUE(std::includes(rows.begin(), rows.end(), base.begin(), base.end()));
    // B's group gives 3 new rows, A's 4..7 four, A's 8..9 two: 9.
    EXPECT_EQ(rows, (std::vector<int32_t>{0, 1, 2, 3, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 21, 22}));
    p.query = 1.0;
    EXPECT_EQ(add_query_rows(lay, base, scores, p), range(0, 23)) << "a budget of every chunk row takes every row";
    p.query = 0.1; // 2 rows: the best group in part
    EXPECT_EQ(add_query_rows(lay, base, scores, p), (std::vector<int32_t>{0, 1, 2, 3, 13, 14, 15, 21, 22}));

    // Chunk prefixes: A scores 3 + 2 + 0.08 > B's 5 + 0.07, so A's head grows first, then B's.
    link_policy pc = link_policy::parse("legolink-1+qc-0.7"); // round(0.7 * 18) = 13 rows: A's 9, then 4 of B
    ASSERT_TRUE(pc.query_prefix);
    EXPECT_EQ(add_query_rows(lay, base, scores, pc), concat({range(0, 13), range(13, 5), {21, 22}}));
    pc.query = 0.2; // 4 rows: A's head grows from 1 to 5 rows
    EXPECT_EQ(add_query_rows(lay, base, scores, pc), concat({range(0, 8), {13, 21, 22}}));
}

TEST_P(pic_design_test, query_aware_recompute_with_a_full_budget_equals_full_recompute) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    const auto c1 = compile(tokens(11)), c2 = compile(tokens(14));
    link_input in;
    in.system_tokens = {1, 5, 6, 7};
    in.chunks = {&c1, &c2};
    in.question = tokens(5);
    linker lk(*tf_);
    const auto fr = lk.link(in, link_policy::parse("full"));
    const auto qa = lk.link(in, link_policy::parse("legolink-2+q-1"));
    EXPECT_EQ(qa.stats.recomputed_rows(), fr.layout.n_rows());
    EXPECT_LT(rel(qa.logits, fr.logits), 1e-5);
    // A partial budget: the base set plus round(F x chunk rows), at every layer.
    const auto part = lk.link(in, link_policy::parse("legolink-2+q-0.25"));
    const int chunk_rows = c1.n_rows() + c2.n_rows();
    for (int n : part.stats.recomputed_per_layer) EXPECT_EQ(n, 4 + 2 + 2 + 5 + (int)std::lround(0.25 * chunk_rows));
    const auto base = recompute_rows(part.layout, link_policy::parse("legolink-2"));
    EXPECT_TRUE(std::includes(part.recompute_rows.begin(), part.recompute_rows.end(), base.begin(), base.end()));
}

TEST_P(pic_design_test, question_attention_is_a_distribution_per_question_row_and_head) {
    const auto c1 = compile(tokens(12));
    link_input in;
    in.system_tokens = {1, 5};
    in.chunks = {&c1};
    in.question = tokens(3);
    const link_layout lay = make_layout(in, link_policy::parse("naive"), *mdl_);
    const auto rows = recompute_rows(lay, link_policy::parse("naive")); // system + question
    auto kv = tf_->new_kv_cache(lay.n_rows());
    // Every row computed (as a full recompute would) up to layer 1's keys.
    forward_state s;
    const auto all = range(0, lay.n_rows());
    tf_->begin(s, lay.tokens, all);
    tf_->layer(0, s, *kv);
    tf_->qkv(1, s);
    tf_->store_kv(1, s, *kv);
    const std::vector<int32_t> question_rows = {(int32_t)lay.n_rows() - 3, (int32_t)lay.n_rows() - 2, (int32_t)lay.n_rows() - 1};
    const auto scores = question_attention(*tf_, 1, s, *kv, lay.n_rows(), question_rows);
    double sum = 0.0;
    for (double v : scores) {
        EXPECT_GE(v, 0.0);
        sum += v;
    }
    EXPECT_NEAR(sum, 3.0 * mdl_->config().n_head, 1e-6);
    EXPECT_GT(scores[0], 0.0);
}

INSTANTIATE_TEST_SUITE_P(models, pic_design_test, ::testing::Values("tiny", "tiny-gemma3", "tiny-qwen2", "tiny-qwen3", "tiny-phi3"),
                         pic_family_name);

TEST(link_policy, names_the_designs_beyond_the_paper) {
    const auto p = link_policy::parse("legolink-16+ctx+hdr+tail-4+q-0.05@3");
    EXPECT_TRUE(p.context_compiled);
    EXPECT_TRUE(p.header_framing);
    EXPECT_EQ(p.tail, 4);
    EXPECT_DOUBLE_EQ(p.query, 0.05);
    EXPECT_EQ(p.query_layer, 3);
    EXPECT_EQ(p.sink_tokens(), 0);
    EXPECT_EQ(p.name(), "legolink-16+ctx+hdr+tail-4+q-0.05@3");
    EXPECT_EQ(link_policy::parse(p.name()).name(), p.name());
    EXPECT_EQ(link_policy::parse("default").name(), link_policy::app_default_name);
    EXPECT_EQ(link_policy::app_default().name(), link_policy::app_default_name); // the name is canonical
    // Libraries compiled for the previous default keep their caches.
    EXPECT_TRUE(link_policy::app_default().same_compile_scheme(link_policy::parse("legolink-16+hdr+tail-16")));
    EXPECT_EQ(link_policy::parse("naive+q-0.1").query_layer_for(30), 7);
    EXPECT_EQ(link_policy::parse("naive+q-0.1@40").query_layer_for(30), 29);
    EXPECT_EQ(p.chunk_text("notes/a.md", "Text"), "Document: notes/a.md\nText\n");
    EXPECT_EQ(link_policy::parse("legolink-16").chunk_text("t", "Text"), "Text");
    EXPECT_EQ(link_policy::parse("legolink-16+ctx+qc-0.1").name(), "legolink-16+ctx+qc-0.1");
    const auto ape = link_policy::parse("legolink-16+hdr+ape-0.9");
    EXPECT_DOUBLE_EQ(ape.ape_temperature, 0.9);
    EXPECT_DOUBLE_EQ(ape.ape_scale, 0.9);
    EXPECT_EQ(ape.name(), "legolink-16+hdr+ape-0.9");
    EXPECT_EQ(link_policy::parse("naive+ape-0.8:1.2").name(), "naive+ape-0.8:1.2");
    EXPECT_DOUBLE_EQ(link_policy::parse("naive+ape-0.8:1.2").ape_scale, 1.2);
    EXPECT_TRUE(ape.same_compile_scheme(link_policy::parse("legolink-16+hdr"))); // caches serve both
    for (const char* bad : {"naive+ape-0", "naive+ape-", "naive+ape-0.9:", "naive+ape-x", "naive+ape-0.9:0", "naive+ape",
                            "legolink+", "naive+qc-0", "naive+qc-", "legolink+ctxx", "naive+tail-0", "naive+tail-x", "naive+q-0", "naive+q-1.5", "naive+q-0.1@",
                            "naive+q-0.1@-1", "ctx", "+ctx"})
        EXPECT_THROW(link_policy::parse(bad), epic::error) << bad;
}

TEST(compile_options, the_kv_format_is_part_of_the_options_and_round_trips) {
    for (int sinks : {0, 1, 4})
        for (const std::string ctx : {std::string(), std::string("0123456789abcdef")})
            for (kv_format f : all_kv_formats) {
                compile_options o = compile_options::standalone(sinks);
                if (!ctx.empty()) {
                    o.context = ctx;
                    o.context_rows = 17;
                }
                o.format = f;
                const std::string s = o.to_string();
                EXPECT_EQ(compile_options::parse(s, "x"), o) << s;
                EXPECT_EQ(s.find("kv=") != std::string::npos, f != kv_format::f16) << s;
            }
    compile_options q8 = compile_options::standalone(1);
    q8.format = kv_format::q8;
    EXPECT_NE(chunk_cache_key("m", std::vector<int32_t>{5, 6, 7}, q8), chunk_cache_key("m", std::vector<int32_t>{5, 6, 7}, compile_options::standalone(1)));
    for (const char* bad : {"sink=1,kv=f16", "sink=1,kv=q3", "sink=1,kv=q8,ctx=0123456789abcdef/3", "sink=1,kv=q8,kv=q4", "sink=1,"})
        EXPECT_THROW(compile_options::parse(bad, "x"), error) << bad;
}

} // namespace
} // namespace epic
