// The forward pass against the independent float64 reference, on random-weight models of every
// tensor type, plus the properties linking relies on (arbitrary positions, foreign KV rows).
#include "backend/cpu/cpu_backend.h"
#include "common/error.h"
#include "forward/transformer.h"
#include "model/random_model.h"
#include "support/reference_llama.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <random>

namespace epic {
namespace {

struct fixture_model {
    test::scratch_dir dir;
    std::string path;
    std::unique_ptr<model> mdl;
};

std::unique_ptr<fixture_model> make_model(random_model_params p) {
    auto f = std::make_unique<fixture_model>();
    f->path = (f->dir / "model.gguf").string();
    write_random_model(f->path, p);
    f->mdl = model::load(f->path);
    return f;
}

std::vector<int32_t> random_tokens(std::mt19937& rng, int n, int n_vocab) {
    std::uniform_int_distribution<int32_t> pick(3, n_vocab - 1);
    std::vector<int32_t> t((size_t)n);
    for (auto& x : t) x = pick(rng);
    t[0] = 1; // BOS
    return t;
}

std::vector<int32_t> iota_positions(int n, int start = 0) {
    std::vector<int32_t> p((size_t)n);
    std::iota(p.begin(), p.end(), start);
    return p;
}

struct type_case {
    ggml_type type;
    double tolerance; // relative error of a logits row against float64
};

class forward_types : public ::testing::TestWithParam<type_case> {};

TEST_P(forward_types, prefill_logits_match_float64_reference) {
    const uint32_t seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    random_model_params p = random_model_default_params();
    p.type = GetParam().type;
    p.embd_type = GetParam().type;
    p.seed = seed;
    auto f = make_model(p);
    test::reference_llama ref(f->path);

    cpu_backend be(2);
    transformer tf(*f->mdl, be);
    const int n = 12;
    const auto tokens = random_tokens(rng, n, p.n_vocab);
    auto kv = tf.new_kv_cache(n);
    std::vector<float> logits;
    tf.forward(*kv, tokens, iota_positions(n), true, logits);
    const auto expect = ref.forward(tokens);
    for (int t = 0; t < n; ++t) {
        const double err = test::relative_error(logits.data() + (size_t)t * p.n_vocab, expect[(size_t)t].data(), (size_t)p.n_vocab);
        EXPECT_LT(err, GetParam().tolerance) << "row " << t << " type " << type_name(p.type);
    }
}

// f16 KV rounding bounds the float types (~1e-3); for quantized weights the activations are
// quantized to 8 bits before the integer dot products (as llama.cpp does), ~1-2% after a few layers.
// A layout or scale bug gives errors near 1.
INSTANTIATE_TEST_SUITE_P(all_types, forward_types,
                         ::testing::Values(type_case{ggml_type::f32, 3e-3}, type_case{ggml_type::f16, 3e-3},
                                           type_case{ggml_type::bf16, 8e-3}, type_case{ggml_type::q8_0, 3e-2},
                                           type_case{ggml_type::q4_0, 4e-2}, type_case{ggml_type::q4_k, 3e-2},
                                           type_case{ggml_type::q5_k, 3e-2}, type_case{ggml_type::q6_k, 3e-2}),
                         [](const auto& info) { return std::string(type_name(info.param.type)); });

TEST(forward, tied_output_and_rope_freqs_match_reference) {
    const uint32_t seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    random_model_params p = random_model_default_params();
    p.tied_output = true;
    p.rope_freqs = true;
    p.rope_base = 500000.0f;
    p.seed = seed;
    auto f = make_model(p);
    ASSERT_TRUE(f->mdl->config().tied_output);
    ASSERT_EQ(f->mdl->config().rope_freq_factors.size(), (size_t)(p.n_embd / p.n_head / 2));
    test::reference_llama ref(f->path);
    cpu_backend be(2);
    transformer tf(*f->mdl, be);
    const int n = 20;
    const auto tokens = random_tokens(rng, n, p.n_vocab);
    auto kv = tf.new_kv_cache(n);
    std::vector<float> logits;
    tf.forward(*kv, tokens, iota_positions(n), true, logits);
    const auto expect = ref.forward(tokens);
    for (int t = 0; t < n; ++t)
        EXPECT_LT(test::relative_error(logits.data() + (size_t)t * p.n_vocab, expect[(size_t)t].data(), (size_t)p.n_vocab), 3e-3);
}

TEST(forward, token_by_token_decode_equals_prefill) {
    const uint32_t seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    random_model_params p = random_model_default_params();
    p.type = ggml_type::f16;
    p.seed = seed;
    auto f = make_model(p);
    cpu_backend be(2);
    transformer tf(*f->mdl, be);
    const int n = 16;
    const auto tokens = random_tokens(rng, n, p.n_vocab);
    auto kv_a = tf.new_kv_cache(n), kv_b = tf.new_kv_cache(n);
    std::vector<float> prefill, step;
    tf.forward(*kv_a, tokens, iota_positions(n), true, prefill);
    for (int t = 0; t < n; ++t) {
        const int32_t pos = t;
        tf.forward(*kv_b, std::span(tokens).subspan((size_t)t, 1), std::span<const int32_t>(&pos, 1), false, step);
        // The same row computed alone must give the same logits: only its own K/V was new.
        std::vector<double> expect(prefill.begin() + (ptrdiff_t)t * p.n_vocab, prefill.begin() + (ptrdiff_t)(t + 1) * p.n_vocab);
        EXPECT_LT(test::relative_error(step.data(), expect.data(), expect.size()), 1e-5) << "row " << t;
    }
}

TEST(forward, rows_attend_over_kv_rows_they_did_not_compute) {
    // Compute the first half in one cache, copy its KV rows into a second cache, then compute the
    // second half there at positions k..n-1: identical to a plain prefill of the whole sequence.
    const uint32_t seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    random_model_params p = random_model_default_params();
    p.seed = seed;
    auto f = make_model(p);
    cpu_backend be(2);
    transformer tf(*f->mdl, be);
    const int n = 24, k = 9;
    const auto tokens = random_tokens(rng, n, p.n_vocab);
    auto full = tf.new_kv_cache(n), first = tf.new_kv_cache(n), second = tf.new_kv_cache(n);
    std::vector<float> ref_logits, part_logits;
    tf.forward(*full, tokens, iota_positions(n), true, ref_logits);
    tf.forward(*first, std::span(tokens).first(k), iota_positions(k), false, part_logits);
    const size_t row_bytes = (size_t)first->row_width() * sizeof(uint16_t);
    for (int il = 0; il < p.n_layer; ++il) {
        std::memcpy(second->k(il), first->k(il), row_bytes * k);
        std::memcpy(second->v(il), first->v(il), row_bytes * k);
    }
    second->n_rows = k;
    tf.forward(*second, std::span(tokens).subspan(k), iota_positions(n - k, k), true, part_logits);
    for (int t = k; t < n; ++t) {
        std::vector<double> expect(ref_logits.begin() + (ptrdiff_t)t * p.n_vocab, ref_logits.begin() + (ptrdiff_t)(t + 1) * p.n_vocab);
        EXPECT_LT(test::relative_error(part_logits.data() + (size_t)(t - k) * p.n_vocab, expect.data(), expect.size()), 1e-5)
            << "row " << t;
    }
}

TEST(forward, thread_count_does_not_change_results) {
    const uint32_t seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    random_model_params p = random_model_default_params();
    p.type = ggml_type::q4_k;
    p.embd_type = ggml_type::q4_k;
    p.seed = seed;
    auto f = make_model(p);
    const auto tokens = random_tokens(rng, 33, p.n_vocab);
    std::vector<float> a, b;
    {
        cpu_backend be(1);
        transformer tf(*f->mdl, be);
        auto kv = tf.new_kv_cache(33);
        tf.forward(*kv, tokens, iota_positions(33), true, a);
    }
    {
        cpu_backend be(2);
        transformer tf(*f->mdl, be);
        auto kv = tf.new_kv_cache(33);
        tf.forward(*kv, tokens, iota_positions(33), true, b);
    }
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << "results depend on the thread count";
}

TEST(forward, position_beyond_cache_is_an_error_not_a_crash) {
    random_model_params p = random_model_default_params();
    auto f = make_model(p);
    cpu_backend be(1);
    transformer tf(*f->mdl, be);
    auto kv = tf.new_kv_cache(4);
    std::vector<int32_t> tokens = {1, 5, 6, 7, 8};
    std::vector<float> logits;
    EXPECT_THROW(tf.forward(*kv, tokens, iota_positions(5), false, logits), epic::error);
    std::vector<int32_t> bad = {1, 100000};
    EXPECT_THROW(tf.forward(*kv, bad, iota_positions(2), false, logits), epic::error);
}

} // namespace
} // namespace epic

namespace epic {
namespace {

class forward_gemma3 : public ::testing::TestWithParam<ggml_type> {};

TEST_P(forward_gemma3, sliding_window_qk_norm_post_norm_geglu_match_float64_reference) {
    const uint32_t seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    random_model_params p = random_model_shape("tiny-gemma3");
    p.type = GetParam();
    p.seed = seed;
    auto f = make_model(p);
    const model_config& c = f->mdl->config();
    ASSERT_TRUE(c.rope_neox && c.qk_norm && c.post_norms);
    ASSERT_EQ(c.sliding_window, 6);
    ASSERT_TRUE(c.is_swa(0) && !c.is_swa(5) && c.is_swa(6));
    test::reference_llama ref(f->path);
    cpu_backend be(2);
    transformer tf(*f->mdl, be);
    const int n = 19; // several windows long
    const auto tokens = random_tokens(rng, n, p.n_vocab);
    auto kv = tf.new_kv_cache(n);
    std::vector<float> logits;
    tf.forward(*kv, tokens, iota_positions(n), true, logits);
    const auto expect = ref.forward(tokens);
    const double tol = GetParam() == ggml_type::f32 ? 3e-3 : 6e-2; // q8 activations over 7 layers: ~2-3%
    for (int t = 0; t < n; ++t)
        EXPECT_LT(test::relative_error(logits.data() + (size_t)t * p.n_vocab, expect[(size_t)t].data(), (size_t)p.n_vocab), tol)
            << "row " << t;
}

INSTANTIATE_TEST_SUITE_P(types, forward_gemma3, ::testing::Values(ggml_type::f32, ggml_type::q8_0),
                         [](const auto& info) { return std::string(type_name(info.param)); });

// Qwen2 (q/k/v biases, rotate-half, tied output), Qwen3 (QK norms, head dim != n_embd / n_head) and
// Phi-3 (fused qkv and gate/up tensors, a window on every layer, LongRoPE factors and attention
// factor) against the float64 reference, which reads their GGUF layouts on its own.
struct family_case {
    std::string shape;
    ggml_type type;
    friend void PrintTo(const family_case& c, std::ostream* os) { *os << c.shape << " " << type_name(c.type); }
};

class forward_families : public ::testing::TestWithParam<family_case> {};

TEST_P(forward_families, prefill_logits_match_float64_reference) {
    const uint32_t seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    random_model_params p = random_model_shape(GetParam().shape);
    p.type = GetParam().type;
    p.seed = seed;
    auto f = make_model(p);
    const model_config& c = f->mdl->config();
    ASSERT_EQ(c.arch, p.arch);
    ASSERT_TRUE(c.rope_neox);
    const auto& l0 = f->mdl->layers()[0];
    if (p.arch == "qwen2") {
        ASSERT_TRUE(c.qkv_bias && c.tied_output);
        ASSERT_EQ(l0.bk.size(), (size_t)c.kv_width());
    }
    if (p.arch == "qwen3") {
        ASSERT_TRUE(c.qk_norm && !c.qkv_bias);
        ASSERT_NE(c.head_dim * c.n_head, c.n_embd);
    }
    if (p.arch == "phi3") {
        ASSERT_TRUE(c.is_swa(0) && c.is_swa(c.n_layer - 1));
        ASSERT_GT(c.rope_attn_factor, 1.0f);
        ASSERT_EQ(c.rope_freq_factors.size(), (size_t)c.n_rot / 2);
        ASSERT_EQ(l0.wk.data, l0.wq.data + (size_t)c.q_width() * l0.wq.row_stride); // row ranges of attn_qkv
        ASSERT_EQ(l0.w_up.data, l0.w_gate.data + (size_t)c.n_ff * l0.w_gate.row_stride);
    }
    test::reference_llama ref(f->path);
    cpu_backend be(2);
    transformer tf(*f->mdl, be);
    const int n = 19; // several of phi3's windows
    const auto tokens = random_tokens(rng, n, p.n_vocab);
    auto kv = tf.new_kv_cache(n);
    std::vector<float> logits;
    tf.forward(*kv, tokens, iota_positions(n), true, logits);
    const auto expect = ref.forward(tokens);
    const double tol = GetParam().type == ggml_type::f32 ? 3e-3 : 4e-2;
    for (int t = 0; t < n; ++t)
        EXPECT_LT(test::relative_error(logits.data() + (size_t)t * p.n_vocab, expect[(size_t)t].data(), (size_t)p.n_vocab), tol)
            << "row " << t;
}

INSTANTIATE_TEST_SUITE_P(
    shapes, forward_families,
    ::testing::Values(family_case{"tiny-qwen2", ggml_type::f32}, family_case{"tiny-qwen2", ggml_type::q8_0},
                      family_case{"tiny-qwen3", ggml_type::f32}, family_case{"tiny-qwen3", ggml_type::q4_k},
                      family_case{"tiny-phi3", ggml_type::f32}, family_case{"tiny-phi3", ggml_type::q8_0}),
    [](const auto& info) {
        std::string s = info.param.shape.substr(5) + "_" + type_name(info.param.type);
        return s;
    });

} // namespace
} // namespace epic
