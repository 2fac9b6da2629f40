// Layer-by-layer placement of cached K/V through the backend's transfer queue (runtime/pic/kv_placement):
// on a backend whose transfers are really deferred until their fence is waited on, every link gives
// bit for bit the logits and KV of the synchronous CPU backend, with staging memory for all layers or
// reused layer after layer; and the cached rows land exactly as rotated cached keys and cached values.
#include "backend/cpu/cpu_backend.h"
#include "model/random_model.h"
#include "pic/compiler.h"
#include "pic/linker.h"
#include "support/deferred_transfer_backend.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace epic {
namespace {

// Bytes of the logits and of every layer's K and V rows 0..N-1.
struct link_bits {
    std::vector<float> logits;
    std::vector<std::vector<uint16_t>> k, v; // [n_layer][N, n_head_kv, head_dim]
    bool operator==(const link_bits& o) const {
        return std::memcmp(logits.data(), o.logits.data(), logits.size() * sizeof(float)) == 0 && logits.size() == o.logits.size() &&
               k == o.k && v == o.v;
    }
};

link_bits bits_of(backend& be, link_result& r) {
    link_bits b;
    b.logits = r.logits;
    const size_t n = (size_t)r.kv->n_rows * r.kv->row_width();
    for (int il = 0; il < r.kv->n_layer(); ++il) {
        b.k.emplace_back(n);
        b.v.emplace_back(n);
        be.download(b.k.back().data(), r.kv->k(il), n * sizeof(uint16_t));
        be.download(b.v.back().data(), r.kv->v(il), n * sizeof(uint16_t));
    }
    return b;
}

// A model loaded twice: on the plain CPU backend and on the deferred-transfer one.
class staging_test : public ::testing::TestWithParam<std::string> {
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
        cpu_ = std::make_unique<cpu_backend>(2);
        deferred_ = std::make_unique<test::deferred_transfer_backend>(2);
        tf_cpu_ = std::make_unique<transformer>(*mdl_, *cpu_);
        tf_deferred_ = std::make_unique<transformer>(*mdl_, *deferred_);
    }
    std::vector<int32_t> tokens(int n) {
        std::uniform_int_distribution<int32_t> pick(3, mdl_->config().n_vocab - 1);
        std::vector<int32_t> t((size_t)n);
        for (auto& x : t) x = pick(rng_);
        return t;
    }

    uint32_t seed_ = 0;
    std::mt19937 rng_;
    test::scratch_dir dir_;
    std::unique_ptr<model> mdl_;
    std::unique_ptr<cpu_backend> cpu_;
    std::unique_ptr<test::deferred_transfer_backend> deferred_;
    std::unique_ptr<transformer> tf_cpu_, tf_deferred_;
};

TEST_P(staging_test, deferred_transfers_give_the_synchronous_result_bit_for_bit) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    for (const std::string algo : {"full", "naive", "legolink-3", "legolink-0", "cacheblend-0.3"}) {
        SCOPED_TRACE(algo);
        const int sinks = algo == "legolink-0" ? 4 : 1;
        const auto t1 = tokens(9), t2 = tokens(14), ts = tokens(5), q = tokens(4);
        // Compiled on the CPU: both links read the very same caches.
        const auto c1 = compile_chunk(*tf_cpu_, t1, 1, compile_options::standalone(sinks)), c2 = compile_chunk(*tf_cpu_, t2, 1, compile_options::standalone(sinks));
        const auto sys = compile_chunk(*tf_cpu_, ts, 1, compile_options::standalone(0));
        link_input in;
        in.system = &sys;
        in.chunks = {&c1, &c2, &c1}; // a chunk twice
        in.question = q;
        const auto policy = link_policy::parse(algo);

        linker sync_lk(*tf_cpu_);
        auto want = sync_lk.link(in, policy);
        const link_bits want_bits = bits_of(*cpu_, want);

        linker lk(*tf_deferred_);
        auto got = lk.link(in, policy);
        EXPECT_TRUE(bits_of(*deferred_, got) == want_bits);
        // Staging for one layer at a time: two slots, reused in turn while later layers wait.
        lk.set_staging_budget(1);
        auto reused = lk.link(in, policy);
        EXPECT_TRUE(bits_of(*deferred_, reused) == want_bits);
        EXPECT_EQ(deferred_->pending(), 0u); // every transfer landed before the link returned

        if (algo == "full") {
            EXPECT_EQ(got.stats.chunks_staged, 0); // nothing placed: every row is recomputed
            EXPECT_EQ(got.stats.bytes_copied_host, 0u);
            continue;
        }
        EXPECT_EQ(got.stats.chunks_staged, 4);
        EXPECT_EQ(got.stats.chunks_resident, 0);
        EXPECT_EQ(got.stats.bytes_copied_device, 0u);
        size_t cached_rows = 0;
        for (const auto& seg : got.layout.segments)
            if (seg.cache) cached_rows += (size_t)seg.length;
        const size_t row_bytes = (size_t)got.kv->row_width() * sizeof(uint16_t);
        EXPECT_EQ(got.stats.bytes_copied_host, 2 * (size_t)mdl_->config().n_layer * cached_rows * row_bytes);
        EXPECT_GE(got.stats.seconds_place, got.stats.seconds_wait_copy);
    }
}

TEST_P(staging_test, cached_rows_land_as_rotated_cached_keys_and_cached_values) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    const auto c1 = compile_chunk(*tf_cpu_, tokens(11), 1, compile_options::standalone(1)), c2 = compile_chunk(*tf_cpu_, tokens(7), 1, compile_options::standalone(1));
    link_input in;
    in.system_tokens = {1, 5};
    in.chunks = {&c1, &c2};
    in.question = tokens(3);
    linker lk(*tf_deferred_);
    lk.set_staging_budget(1);
    auto r = lk.link(in, link_policy::parse("naive")); // every chunk row keeps its cache
    const link_bits got = bits_of(*deferred_, r);
    const model_config& cfg = mdl_->config();
    const size_t w = (size_t)r.kv->row_width();
    for (const link_segment& seg : r.layout.segments) {
        if (seg.type != link_segment::kind::chunk) continue;
        std::vector<int32_t> pos((size_t)seg.length);
        for (int i = 0; i < seg.length; ++i) pos[(size_t)i] = seg.begin + i;
        for (int il = 0; il < cfg.n_layer; ++il) {
            SCOPED_TRACE("layer " + std::to_string(il));
            // Expected K: the cached pre-RoPE rows rotated to their global positions by the CPU backend.
            std::vector<uint16_t> k(seg.cache->k[(size_t)il].begin() + (ptrdiff_t)(seg.cache_first_row * w),
                                    seg.cache->k[(size_t)il].begin() + (ptrdiff_t)((seg.cache_first_row + seg.length) * w));
            cpu_->rope_f16(k.data(), pos.data(), seg.length, cfg.n_head_kv, cfg.head_dim, tf_cpu_->rope(il));
            EXPECT_EQ(0, std::memcmp(k.data(), got.k[(size_t)il].data() + (size_t)seg.begin * w, k.size() * 2));
            EXPECT_EQ(0, std::memcmp(seg.cache->v[(size_t)il].data() + (size_t)seg.cache_first_row * w,
                                     got.v[(size_t)il].data() + (size_t)seg.begin * w, (size_t)seg.length * w * 2));
        }
    }
    EXPECT_GE(deferred_->fences_waited, cfg.n_layer); // compute waited for every layer's transfers
}

INSTANTIATE_TEST_SUITE_P(models, staging_test, ::testing::Values("tiny", "tiny-gemma3"),
                         [](const auto& info) { return info.param == "tiny" ? std::string("llama") : std::string("gemma3"); });

} // namespace
} // namespace epic
