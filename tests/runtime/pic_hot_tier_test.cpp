// The GPU hot tier of chunk caches (runtime/pic/kv_hot_tier) on the CPU backend, where it is plain
// memory: LRU order, the byte budget, pins; and links reading from it give bit for bit what links
// staging from the host give.
#include "backend/cpu/cpu_backend.h"
#include "common/error.h"
#include "model/random_model.h"
#include "pic/compiler.h"
#include "pic/kv_hot_tier.h"
#include "pic/linker.h"
#include "support/deferred_transfer_backend.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace epic {
namespace {

// A cache of n_rows rows shaped 2 layers x 1 head x 4 dims: 2 * 2 * n_rows * 4 * 2 = 32 * n_rows bytes resident.
chunk_cache shaped_cache(int n_rows) {
    chunk_cache c;
    c.model_fingerprint = "m";
    c.tokens.assign((size_t)n_rows, 7);
    c.n_layer = 2;
    c.n_head_kv = 1;
    c.head_dim = 4;
    c.k.assign(2, std::vector<uint16_t>((size_t)n_rows * 4));
    c.v = c.k;
    return c;
}

TEST(hot_tier, keeps_least_recently_used_order_and_evicts_from_its_end) {
    cpu_backend be(1);
    kv_hot_tier tier(be, 3 * 320); // three caches of 10 rows
    const auto c = shaped_cache(10);
    ASSERT_NE(tier.insert("a", c), nullptr);
    ASSERT_NE(tier.insert("b", c), nullptr);
    ASSERT_NE(tier.insert("c", c), nullptr);
    EXPECT_EQ(tier.keys(), (std::vector<std::string>{"c", "b", "a"}));
    ASSERT_NE(tier.find("a"), nullptr);
    EXPECT_EQ(tier.keys(), (std::vector<std::string>{"a", "c", "b"}));
    EXPECT_EQ(tier.find("zz"), nullptr);
    ASSERT_NE(tier.insert("d", c), nullptr); // evicts b, the least recently used
    EXPECT_EQ(tier.keys(), (std::vector<std::string>{"d", "a", "c"}));
    EXPECT_EQ(tier.stats().hits, 1u);
    EXPECT_EQ(tier.stats().misses, 1u);
    EXPECT_EQ(tier.stats().insertions, 4u);
    EXPECT_EQ(tier.stats().evictions, 1u);
    EXPECT_EQ(tier.bytes_used(), 3u * 320);
    EXPECT_THROW(tier.insert("d", c), error);
    tier.set_budget(320); // keeps only the most recent
    EXPECT_EQ(tier.keys(), (std::vector<std::string>{"d"}));
    EXPECT_EQ(tier.stats().evictions, 3u);
}

TEST(hot_tier, never_exceeds_its_budget_and_refuses_a_cache_larger_than_it) {
    cpu_backend be(1);
    const size_t budget = 32 * 100;
    kv_hot_tier tier(be, budget);
    ASSERT_NE(tier.insert("small", shaped_cache(40)), nullptr);
    EXPECT_EQ(tier.insert("huge", shaped_cache(101)), nullptr); // larger than the budget: nothing evicted for it
    EXPECT_EQ(tier.keys(), (std::vector<std::string>{"small"}));
    EXPECT_EQ(tier.stats().rejected, 1u);
    std::mt19937 rng(5);
    std::uniform_int_distribution<int> rows(1, 120), pick(0, 30);
    for (int i = 0; i < 500; ++i) {
        const std::string key = std::to_string(pick(rng));
        if (!tier.find(key)) {
            const auto c = shaped_cache(rows(rng));
            resident_chunk* e = tier.insert(key, c);
            EXPECT_EQ(e != nullptr, c.kv_bytes() <= budget);
            if (e) {
                EXPECT_EQ(e->bytes(), c.kv_bytes());
                EXPECT_EQ(tier.keys().front(), key);
            }
        }
        ASSERT_LE(tier.bytes_used(), budget);
    }
    EXPECT_GT(tier.stats().evictions, 0u);
}

TEST(hot_tier, never_evicts_pinned_entries) {
    cpu_backend be(1);
    kv_hot_tier tier(be, 2 * 320);
    const auto c = shaped_cache(10);
    resident_chunk* a = tier.insert("a", c);
    ASSERT_NE(a, nullptr);
    tier.pin(*a);
    ASSERT_NE(tier.insert("b", c), nullptr);
    ASSERT_NE(tier.insert("c", c), nullptr); // evicts b, not the older but pinned a
    EXPECT_EQ(tier.keys(), (std::vector<std::string>{"c", "a"}));
    tier.pin(*tier.find("c"));
    EXPECT_EQ(tier.insert("d", c), nullptr); // only pinned entries: no room
    EXPECT_EQ(tier.keys(), (std::vector<std::string>{"c", "a"}));
    tier.set_budget(320);
    EXPECT_EQ(tier.size(), 2u); // still pinned
    tier.clear();
    EXPECT_EQ(tier.size(), 2u);
    tier.unpin(*a);
    EXPECT_THROW(tier.unpin(*a), error);
    tier.set_budget(320);
    EXPECT_EQ(tier.keys(), (std::vector<std::string>{"c"}));
}

// Links with a tier against links without, on a random-weight model.
class hot_tier_link_test : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        seed_ = std::random_device{}();
        rng_.seed(seed_);
        random_model_params p = random_model_shape(GetParam());
        p.type = ggml_type::f32;
        p.seed = seed_;
        p.n_ctx = 512;
        const std::string path = (dir_ / "m.gguf").string();
        write_random_model(path, p);
        mdl_ = model::load(path);
        be_ = std::make_unique<test::deferred_transfer_backend>(2); // transfers really wait for their fences
        tf_ = std::make_unique<transformer>(*mdl_, *be_);
    }
    std::vector<int32_t> tokens(int n) {
        std::uniform_int_distribution<int32_t> pick(3, mdl_->config().n_vocab - 1);
        std::vector<int32_t> t((size_t)n);
        for (auto& x : t) x = pick(rng_);
        return t;
    }
    // Logits and every layer's K and V rows, as bytes.
    std::vector<uint8_t> bits(link_result& r) {
        std::vector<uint8_t> out(r.logits.size() * sizeof(float));
        std::memcpy(out.data(), r.logits.data(), out.size());
        const size_t n = (size_t)r.kv->n_rows * r.kv->row_width() * sizeof(uint16_t);
        for (int il = 0; il < r.kv->n_layer(); ++il)
            for (const uint16_t* p : {r.kv->k(il), r.kv->v(il)}) {
                const size_t at = out.size();
                out.resize(at + n);
                be_->download(out.data() + at, p, n);
            }
        return out;
    }

    uint32_t seed_ = 0;
    std::mt19937 rng_;
    test::scratch_dir dir_;
    std::unique_ptr<model> mdl_;
    std::unique_ptr<test::deferred_transfer_backend> be_;
    std::unique_ptr<transformer> tf_;
};

TEST_P(hot_tier_link_test, links_through_the_tier_equal_links_without_it_bit_for_bit) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    for (const std::string algo : {"full", "naive", "legolink-3", "legolink-0", "cacheblend-0.3"}) {
        SCOPED_TRACE(algo);
        const int sinks = algo == "legolink-0" ? 4 : 1;
        const auto c1 = compile_chunk(*tf_, tokens(9), 1, compile_options::standalone(sinks)), c2 = compile_chunk(*tf_, tokens(14), 1, compile_options::standalone(sinks));
        const auto sys = compile_chunk(*tf_, tokens(5), 1, compile_options::standalone(0));
        link_input in;
        in.system = &sys;
        in.chunks = {&c1, &c2, &c1}; // c1 twice: the second use reads the entry the first one fills
        in.question = tokens(4);
        const auto policy = link_policy::parse(algo);

        linker plain(*tf_);
        auto want = plain.link(in, policy);
        const auto want_bits = bits(want);

        kv_hot_tier tier(*be_, size_t{64} << 20);
        linker lk(*tf_, &tier);
        auto cold = lk.link(in, policy);
        EXPECT_EQ(bits(cold), want_bits);
        auto warm = lk.link(in, policy);
        EXPECT_EQ(bits(warm), want_bits);
        if (algo == "full") {
            EXPECT_EQ(tier.size(), 0u); // nothing placed, nothing looked up
            continue;
        }
        EXPECT_EQ(tier.size(), 3u);
        EXPECT_EQ(cold.stats.chunks_staged, 3);   // the system prompt, c1 and c2
        EXPECT_EQ(cold.stats.chunks_resident, 1); // the second c1
        EXPECT_EQ(warm.stats.chunks_staged, 0);
        EXPECT_EQ(warm.stats.chunks_resident, 4);
        EXPECT_EQ(warm.stats.bytes_copied_host, 0u);
        EXPECT_EQ(warm.stats.bytes_copied_device, cold.stats.bytes_copied_device);
        EXPECT_EQ(tier.stats().misses, 3u);
        EXPECT_EQ(tier.stats().hits, 1u + 4u);
        for (const chunk_cache* c : {&sys, &c1, &c2}) EXPECT_TRUE(tier.contains(chunk_cache_key(*c)));
    }
}

// A header-only cache (tokens and shape, no tensors: what the service passes for a resident cache
// instead of reading its blob) links exactly like the full cache when the tier holds it, and is
// refused, leaving the tier as it was, when it does not.
TEST_P(hot_tier_link_test, header_only_caches_link_from_the_tier_and_are_refused_without_it) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    const auto c1 = compile_chunk(*tf_, tokens(9), 1, compile_options::standalone(1)), c2 = compile_chunk(*tf_, tokens(12), 1, compile_options::standalone(1));
    auto header_only = [](const chunk_cache& c) {
        chunk_cache h = c;
        h.k.clear();
        h.v.clear();
        return h;
    };
    const chunk_cache h1 = header_only(c1), h2 = header_only(c2);
    ASSERT_FALSE(h1.has_tensors());
    link_input in;
    in.system_tokens = {1, 4};
    in.chunks = {&c1, &c2};
    in.question = tokens(4);
    const auto policy = link_policy::parse("legolink-3");
    kv_hot_tier tier(*be_, size_t{64} << 20);
    linker lk(*tf_, &tier);
    auto want = lk.link(in, policy); // fills the tier
    const auto want_bits = bits(want);

    link_input resident = in;
    resident.chunks = {&h1, &h2};
    auto got = lk.link(resident, policy);
    EXPECT_EQ(bits(got), want_bits);
    EXPECT_EQ(got.stats.chunks_resident, 2);

    tier.erase(chunk_cache_key(c2));
    const size_t before = tier.size();
    EXPECT_THROW(lk.link(resident, policy), error);
    EXPECT_EQ(tier.size(), before) << "the refused link leaves no half-filled entry";
    linker no_tier(*tf_);
    EXPECT_THROW(no_tier.link(resident, policy), error);
    // The tier still works after the refusals.
    auto again = lk.link(in, policy);
    EXPECT_EQ(bits(again), want_bits);
}

TEST_P(hot_tier_link_test, a_tier_too_small_for_the_link_keeps_what_fits_and_evicts_nothing_in_use) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    const auto c1 = compile_chunk(*tf_, tokens(10), 1, compile_options::standalone(1)), c2 = compile_chunk(*tf_, tokens(10), 1, compile_options::standalone(1)),
               c3 = compile_chunk(*tf_, tokens(10), 1, compile_options::standalone(1)), c4 = compile_chunk(*tf_, tokens(10), 1, compile_options::standalone(1));
    const size_t one = c1.kv_bytes();
    link_input in;
    in.system_tokens = {1};
    in.chunks = {&c1, &c2, &c3};
    in.question = tokens(3);
    const auto policy = link_policy::parse("legolink-2");
    linker plain(*tf_);
    auto want = plain.link(in, policy);
    const auto want_bits = bits(want);

    kv_hot_tier tier(*be_, 2 * one + one / 2); // room for two of the three
    linker lk(*tf_, &tier);
    auto first = lk.link(in, policy);
    EXPECT_EQ(bits(first), want_bits);
    EXPECT_EQ(tier.keys(), (std::vector<std::string>{chunk_cache_key(c2), chunk_cache_key(c1)}));
    EXPECT_EQ(tier.stats().rejected, 1u);  // c3: c1 and c2 were pinned by the link
    EXPECT_EQ(tier.stats().evictions, 0u);
    EXPECT_LE(tier.bytes_used(), tier.budget());
    auto second = lk.link(in, policy);
    EXPECT_EQ(bits(second), want_bits);
    EXPECT_EQ(second.stats.chunks_resident, 2);
    EXPECT_EQ(second.stats.chunks_staged, 1);

    // Another link: c4 evicts the least recently used entry not in use by it.
    link_input in2 = in;
    in2.chunks = {&c2, &c4};
    lk.link(in2, policy);
    EXPECT_EQ(tier.keys(), (std::vector<std::string>{chunk_cache_key(c4), chunk_cache_key(c2)}));
    EXPECT_EQ(tier.stats().evictions, 1u);
    for (const std::string& k : tier.keys()) EXPECT_EQ(tier.find(k)->pins, 0); // the links unpinned what they used
}

INSTANTIATE_TEST_SUITE_P(models, hot_tier_link_test, ::testing::Values("tiny", "tiny-gemma3"),
                         [](const auto& info) { return info.param == "tiny" ? std::string("llama") : std::string("gemma3"); });

} // namespace
} // namespace epic
