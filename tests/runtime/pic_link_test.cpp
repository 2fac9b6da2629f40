// Compile and link semantics (DESIGN.md "Compile and link"), on random-weight fixture models.
#include "backend/cpu/cpu_backend.h"
#include "common/error.h"
#include "core/fp16.h"
#include "generate/generator.h"
#include "model/random_model.h"
#include "pic/compiler.h"
#include "pic/linker.h"
#include "pic_fixture.h"
#include "support/reference_llama.h"
#include "support/shared_models.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <numeric>
#include <random>

namespace epic {
namespace {

TEST_P(pic_test, legolink_with_k_covering_every_chunk_equals_full_recompute) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    const auto c1 = compile(tokens(7)), c2 = compile(tokens(12)), c3 = compile(tokens(9));
    link_input in;
    in.system_tokens = {1, 5, 6, 7};
    in.chunks = {&c1, &c2, &c3};
    in.question = tokens(5);
    linker lk(*tf_);
    const auto fr = lk.link(in, link_policy::parse("full"));
    const auto ll = lk.link(in, link_policy::parse("legolink-13"));
    EXPECT_EQ(ll.recompute_rows.size(), (size_t)fr.layout.n_rows());
    EXPECT_LT(rel(ll.logits, fr.logits), 1e-6);
    // And FR itself is a plain prefill of the same token sequence.
    EXPECT_LT(rel(fr.logits, full_prefill(fr.layout.tokens)), 1e-6);
}

TEST_P(pic_test, cacheblend_with_r_one_equals_full_recompute) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    const auto c1 = compile(tokens(10)), c2 = compile(tokens(6));
    link_input in;
    in.system_tokens = {1, 9, 10};
    in.chunks = {&c1, &c2};
    in.question = tokens(4);
    linker lk(*tf_);
    const auto fr = lk.link(in, link_policy::parse("full"));
    const auto cb = lk.link(in, link_policy::parse("cacheblend-1"));
    EXPECT_LT(rel(cb.logits, fr.logits), 1e-6);
}

TEST_P(pic_test, naive_with_one_chunk_and_no_system_equals_full_recompute) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    const auto c1 = compile(tokens(20));
    link_input in;
    in.chunks = {&c1};
    in.question = tokens(6);
    linker lk(*tf_);
    const auto fr = lk.link(in, link_policy::parse("full"));
    const auto nv = lk.link(in, link_policy::parse("naive"));
    EXPECT_EQ(nv.stats.recomputed_rows(), 6);
    // The chunk alone at position 0 is an exact prefix; only f16 storage of pre-RoPE K differs.
    EXPECT_LT(rel(nv.logits, fr.logits), 2e-3);
}

TEST_P(pic_test, rotating_cached_keys_equals_compiling_at_the_offset) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    const auto t = tokens(15);
    const auto cache = compile(t);
    const int L = cache.n_rows();
    std::uniform_int_distribution<int> pick_offset(1, 700);
    const int p = pick_offset(rng_);
    // Compile directly at offset p: the same rows at positions p..p+L-1, seeing only themselves.
    auto kv = tf_->new_kv_cache(p + L);
    std::vector<int32_t> pos((size_t)L);
    std::iota(pos.begin(), pos.end(), p);
    forward_state s;
    tf_->begin(s, cache.tokens, pos);
    s.attend_from = p;
    const model_config& c = mdl_->config();
    for (int il = 0; il < c.n_layer; ++il) tf_->layer(il, s, *kv);
    const int w = cache.row_width();
    for (int il = 0; il < c.n_layer; ++il) {
        std::vector<uint16_t> rotated = cache.k[(size_t)il];
        be_->rope_f16(rotated.data(), pos.data(), L, c.n_head_kv, c.head_dim, tf_->rope(il));
        std::vector<float> got(rotated.size()), got_v(rotated.size());
        std::vector<double> want(rotated.size()), want_v(rotated.size());
        for (size_t i = 0; i < rotated.size(); ++i) {
            got[i] = fp16_to_fp32(rotated[i]);
            want[i] = fp16_to_fp32(kv->k(il)[(size_t)p * w + i]);
            got_v[i] = fp16_to_fp32(cache.v[(size_t)il][i]);
            want_v[i] = fp16_to_fp32(kv->v(il)[(size_t)p * w + i]);
        }
        EXPECT_LT(test::relative_error(got.data(), want.data(), got.size()), 3e-3) << "K, layer " << il << ", offset " << p;
        EXPECT_LT(test::relative_error(got_v.data(), want_v.data(), got_v.size()), 3e-3) << "V, layer " << il;
    }
}

TEST_P(pic_test, recompute_sets_follow_the_design_table) {
    const auto c1 = compile(tokens(4)), c2 = compile(tokens(19)), c3 = compile(tokens(39)); // rows 5, 20, 40
    link_input in;
    in.system_tokens = {1, 5, 6};
    in.chunks = {&c1, &c2, &c3};
    in.question = tokens(4);
    const link_layout lay = make_layout(in, link_policy::parse("legolink"), *mdl_);
    ASSERT_EQ(lay.n_rows(), 3 + 5 + 20 + 40 + 4);
    auto range = [](int b, int n) {
        std::vector<int32_t> r((size_t)n);
        std::iota(r.begin(), r.end(), b);
        return r;
    };
    auto concat = [](std::initializer_list<std::vector<int32_t>> parts) {
        std::vector<int32_t> out;
        for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
        return out;
    };
    const auto sys = range(0, 3), q = range(68, 4);
    EXPECT_EQ(recompute_rows(lay, link_policy::parse("full")), range(0, 72));
    EXPECT_EQ(recompute_rows(lay, link_policy::parse("naive")), concat({sys, q}));
    EXPECT_EQ(recompute_rows(lay, link_policy::parse("legolink-16")), concat({sys, range(3, 5), range(8, 16), range(28, 16), q}));
    EXPECT_EQ(recompute_rows(lay, link_policy::parse("legolink-1")), concat({sys, {3}, {8}, {28}, q}));
    // A cached system prompt really is at the start: LegoLink leaves it alone.
    const auto sys_cache = compile({5, 6});
    link_input in2 = in;
    in2.system = &sys_cache;
    const link_layout lay2 = make_layout(in2, link_policy::parse("legolink-2"), *mdl_);
    EXPECT_EQ(recompute_rows(lay2, link_policy::parse("legolink-2")), concat({{3, 4}, {8, 9}, {28, 29}, q}));
    EXPECT_EQ(recompute_rows(lay2, link_policy::parse("naive")), q);

    // LegoLink-0: chunks compiled with 4 sinks; the sinks are dropped, only question rows recomputed.
    const auto s1 = compile(tokens(4), 4), s2 = compile(tokens(19), 4);
    link_input in0;
    in0.chunks = {&s1, &s2};
    in0.question = tokens(3);
    const link_policy ll0 = link_policy::parse("legolink-0");
    const link_layout lay0 = make_layout(in0, ll0, *mdl_);
    EXPECT_EQ(lay0.n_rows(), 4 + 19 + 3);
    EXPECT_EQ(std::vector<int32_t>(lay0.tokens.begin(), lay0.tokens.begin() + 4), std::vector<int32_t>(s1.tokens.begin() + 4, s1.tokens.end()));
    EXPECT_EQ(recompute_rows(lay0, ll0), range(23, 3));
    EXPECT_THROW(make_layout(in0, link_policy::parse("legolink-16"), *mdl_), epic::error); // sink mismatch

    // CacheBlend-r: every row at layer 0, then round(r * chunk rows) + uncached rows.
    linker lk(*tf_);
    const auto cb = lk.link(in, link_policy::parse("cacheblend-0.15"));
    ASSERT_EQ(cb.stats.recomputed_per_layer.size(), (size_t)mdl_->config().n_layer);
    EXPECT_EQ(cb.stats.recomputed_per_layer[0], 72);
    const int expect = (int)std::llround(0.15 * 65) + 3 + 4;
    for (size_t il = 1; il < cb.stats.recomputed_per_layer.size(); ++il) EXPECT_EQ(cb.stats.recomputed_per_layer[il], expect);
    EXPECT_TRUE(std::includes(cb.recompute_rows.begin(), cb.recompute_rows.end(), q.begin(), q.end()));
    EXPECT_TRUE(std::includes(cb.recompute_rows.begin(), cb.recompute_rows.end(), sys.begin(), sys.end()));
}

TEST_P(pic_test, decoding_after_an_exact_link_equals_decoding_after_prefill) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    auto tok = tokenizer::from_gguf(mdl_->file());
    const auto c1 = compile(tokens(8)), c2 = compile(tokens(11));
    link_input in;
    in.system_tokens = {1, 40, 41};
    in.chunks = {&c1, &c2};
    in.question = tokens(5);
    linker lk(*tf_);
    auto linked = lk.link(in, link_policy::parse("legolink-32"), 16);
    generator gen(*tf_, *tok);
    generation_params gp;
    gp.max_tokens = 12;
    gp.sampling.temperature = 0.0f;
    gp.stop_at_eos = false;
    const auto after_link = gen.continue_from(*linked.kv, linked.logits, gp);
    auto kv = tf_->new_kv_cache(linked.layout.n_rows() + 16);
    const auto after_prefill = gen.generate(*kv, linked.layout.tokens, gp);
    EXPECT_EQ(after_link.tokens, after_prefill.tokens);
}

// (Stored caches, their corruption and truncation: service_kv_codec_test and the kv_store tests.)
TEST_P(pic_test, caches_of_other_models_are_refused_and_keys_name_the_scheme) {
    const auto c = compile(tokens(9));
    chunk_cache other = c;
    other.model_fingerprint = "0000000000000000";
    link_input in;
    in.chunks = {&other};
    in.question = tokens(2);
    EXPECT_THROW(make_layout(in, link_policy::parse("naive"), *mdl_), epic::error);
    EXPECT_NE(chunk_cache_key(c.model_fingerprint, c.tokens, compile_options::standalone(1)), chunk_cache_key(c.model_fingerprint, c.tokens, compile_options::standalone(4)));
    EXPECT_NE(chunk_cache_key("a", c.tokens, compile_options::standalone(1)), chunk_cache_key("b", c.tokens, compile_options::standalone(1)));
}

INSTANTIATE_TEST_SUITE_P(models, pic_test, ::testing::Values("tiny", "tiny-gemma3", "tiny-qwen2", "tiny-qwen3", "tiny-phi3"),
                         pic_family_name);

TEST(link_policy, parses_names_and_rejects_garbage) {
    EXPECT_EQ(link_policy::parse("legolink").k, 16);
    EXPECT_EQ(link_policy::parse("legolink-4").k, 4);
    EXPECT_EQ(link_policy::parse("legolink-0").sink_tokens(), 4);
    EXPECT_EQ(link_policy::parse("legolink-8").sink_tokens(), 1);
    EXPECT_DOUBLE_EQ(link_policy::parse("cacheblend").r, 0.15);
    EXPECT_DOUBLE_EQ(link_policy::parse("cacheblend-0.05").r, 0.05);
    EXPECT_EQ(link_policy::parse("full").name(), "full");
    EXPECT_EQ(link_policy::parse("cacheblend-0.05").name(), "cacheblend-0.05");
    for (const char* bad : {"", "legolink-", "legolink-x", "legolink--1", "legolink-1.5", "cacheblend-0", "cacheblend-2", "blend", "Full"})
        EXPECT_THROW(link_policy::parse(bad), epic::error) << bad;
}

} // namespace
} // namespace epic
