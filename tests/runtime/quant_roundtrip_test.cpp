// quantize_row then dequantize_row on fresh random rows: the relative RMS error must stay within
// each type's usual bound (tight enough that a layout or scale bug fails), and bad input throws.
#include "quant/quant.h"

#include "common/error.h"
#include "core/tensor_type.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace epic {
namespace {

struct type_bound {
    ggml_type type;
    double max_rel_rms;          // gaussian rows
    double max_rel_rms_outliers; // plus a few 20-sigma values (one outlier stretches its block's scale)
};

// Measured over 50 gaussian rows of 4096 (max relative RMS error, plain / with outliers):
// f16 2.1e-4/1.8e-4, bf16 1.7e-3/1.5e-3, q8_0 0.55%/0.85%, q4_0 8.8%/13.2%, q4_K 7.3%/8.6%,
// q5_K 3.7%/4.5%, q6_K 1.9%/2.5%, q8_K 0.75%/2.0% (ggml's own quantizers land at the same values);
// q4_1 8.1%/9.9%, q5_0 4.4%/6.9%, q5_1 4.0%/4.8% (200 rows each at the four scales below).
// Bounds are ~1.2x those: a scale or packing bug gives errors of order 1.
const type_bound bounds[] = {
    {ggml_type::f32, 0.0, 0.0},         {ggml_type::f16, 2.6e-4, 2.6e-4},   {ggml_type::bf16, 2.1e-3, 2.1e-3},
    {ggml_type::q8_0, 0.0068, 0.0105},  {ggml_type::q4_0, 0.105, 0.16},     {ggml_type::q4_k, 0.088, 0.105},
    {ggml_type::q5_k, 0.045, 0.055},    {ggml_type::q6_k, 0.023, 0.031},    {ggml_type::q8_k, 0.0092, 0.025},
    {ggml_type::q4_1, 0.097, 0.12},     {ggml_type::q5_0, 0.054, 0.083},    {ggml_type::q5_1, 0.048, 0.058},
};

double rel_rms(const std::vector<float>& x, const std::vector<float>& y) {
    double e = 0, s = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        e += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
        s += (double)x[i] * x[i];
    }
    return std::sqrt(e / s);
}

// Gaussian rows at several scales; `outliers` plants a few values 20x the spread.
std::vector<float> random_row(std::mt19937& rng, int64_t n, float scale, bool outliers) {
    std::normal_distribution<float> g(0.f, scale);
    std::vector<float> x(n);
    for (auto& v : x) v = g(rng);
    if (outliers) {
        std::uniform_int_distribution<int64_t> pos(0, n - 1);
        for (int k = 0; k < 4; ++k) x[pos(rng)] = 20.f * scale * (k % 2 ? 1.f : -1.f);
    }
    return x;
}

TEST(QuantRoundTrip, RelativeRmsErrorWithinTypeBound) {
    const unsigned seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const int64_t n = 4096;
    for (const auto& tb : bounds) {
        SCOPED_TRACE(type_name(tb.type));
        for (float scale : {1e-3f, 0.05f, 1.f, 30.f}) {
            for (bool outliers : {false, true}) {
                const auto x = random_row(rng, n, scale, outliers);
                std::vector<uint8_t> q(row_bytes(tb.type, n));
                std::vector<float> y(n);
                quantize_row(tb.type, x.data(), q.data(), n);
                dequantize_row(tb.type, q.data(), y.data(), n);
                const double bound = outliers ? tb.max_rel_rms_outliers : tb.max_rel_rms;
                EXPECT_LE(rel_rms(x, y), bound) << "scale " << scale << (outliers ? " with outliers" : "");
            }
        }
    }
}

TEST(QuantRoundTrip, ZeroRowStaysZero) {
    for (const auto& tb : bounds) {
        const int64_t n = 512;
        std::vector<float> x(n, 0.f), y(n, 1.f);
        std::vector<uint8_t> q(row_bytes(tb.type, n));
        quantize_row(tb.type, x.data(), q.data(), n);
        dequantize_row(tb.type, q.data(), y.data(), n);
        for (float v : y) ASSERT_EQ(v, 0.f) << type_name(tb.type);
    }
}

TEST(QuantRoundTrip, ExactlyRepresentableRowsSurviveQ8) {
    // Integers in [-127, 127] times a power of two: q8_0 must reproduce them exactly.
    const unsigned seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> v(-126, 126);
    const int64_t n = 256;
    std::vector<float> x(n), y(n);
    for (int64_t b = 0; b < n / 32; ++b) {
        for (int j = 0; j < 32; ++j) x[b * 32 + j] = (float)v(rng) * 0.25f;
        x[b * 32 + 5] = 127 * 0.25f; // pins the block maximum so d = 0.25 exactly
    }
    std::vector<uint8_t> q(row_bytes(ggml_type::q8_0, n));
    quantize_row(ggml_type::q8_0, x.data(), q.data(), n);
    dequantize_row(ggml_type::q8_0, q.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(x[i], y[i]) << i;
}

TEST(QuantBadInput, PartialBlocksThrow) {
    std::vector<float> x(300, 1.f), y(300);
    std::vector<uint8_t> q(4096);
    for (ggml_type t : {ggml_type::q8_0, ggml_type::q4_0, ggml_type::q4_1, ggml_type::q5_0, ggml_type::q5_1,
                        ggml_type::q4_k, ggml_type::q5_k, ggml_type::q6_k, ggml_type::q8_k}) {
        SCOPED_TRACE(type_name(t));
        const int64_t bad = traits(t).block_size + 1;
        EXPECT_THROW(row_bytes(t, bad), error);
        EXPECT_THROW(quantize_row(t, x.data(), q.data(), bad), error);
        EXPECT_THROW(dequantize_row(t, q.data(), y.data(), bad), error);
        EXPECT_THROW(vec_dot(t, bad, q.data(), q.data(), y.data()), error);
        EXPECT_THROW(gemm_tile(t, bad, q.data(), 0, 1, q.data(), 0, 1, y.data(), 1), error);
    }
}

TEST(QuantBadInput, UnsupportedTypesThrow) {
    std::vector<float> x(256, 1.f), y(256);
    std::vector<uint8_t> q(4096);
    for (ggml_type t : {ggml_type::q8_1, ggml_type::q2_k, ggml_type::q3_k, ggml_type::i32, ggml_type::f64}) {
        SCOPED_TRACE(type_name(t));
        EXPECT_THROW(quantize_row(t, x.data(), q.data(), 256), error);
        EXPECT_THROW(dequantize_row(t, q.data(), y.data(), 256), error);
        EXPECT_THROW(vec_dot_type(t), error);
        EXPECT_THROW(vec_dot(t, 256, q.data(), q.data(), y.data()), error);
        EXPECT_THROW(vec_dot_rows(t, 256, q.data(), 0, 1, q.data(), y.data()), error);
    }
    EXPECT_THROW(dequantize_row((ggml_type)99, q.data(), y.data(), 256), error);
}

} // namespace
} // namespace epic
