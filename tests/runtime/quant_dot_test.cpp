// vec_dot, vec_dot_rows and gemm_tile against a float64 dot of the dequantized operands, for every
// weight type and odd tile shapes; and the SIMD kernels against the scalar reference.
#include "quant/quant.h"
#include "quant/quant_internal.h"

#include "core/tensor_type.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace epic {
namespace {

const ggml_type weight_types[] = {ggml_type::f32,  ggml_type::f16,  ggml_type::bf16, ggml_type::q8_0,
                                  ggml_type::q4_0, ggml_type::q4_1, ggml_type::q5_0, ggml_type::q5_1,
                                  ggml_type::q4_k, ggml_type::q5_k, ggml_type::q6_k, ggml_type::q8_k};

std::vector<int64_t> lengths(ggml_type t) {
    const int64_t bs = traits(t).block_size;
    if (bs == 1) return {1, 37, 1000};
    if (bs == 32) return {32, 96, 1024};
    return {256, 1280};
}

// A matrix of `rows` random rows quantized to type t, with its dequantized float64 copy.
struct quantized_rows {
    ggml_type type;
    int64_t n;
    size_t stride;
    std::vector<uint8_t> bytes;
    std::vector<double> values; // [rows, n]

    quantized_rows(ggml_type t, int64_t n_, int rows, std::mt19937& rng, size_t pad = 0) : type(t), n(n_) {
        stride = row_bytes(t, n) + pad; // pad > 0 checks that strides, not row sizes, are used
        bytes.assign(stride * rows + 64, 0xAB);
        values.resize((size_t)rows * n);
        std::normal_distribution<float> g(0.f, 1.f);
        std::uniform_real_distribution<float> sc(0.1f, 3.f);
        std::vector<float> x(n), y(n);
        for (int r = 0; r < rows; ++r) {
            const float s = sc(rng);
            for (auto& v : x) v = g(rng) * s + (r % 3 == 0 ? 0.5f * s : 0.f); // some rows with an offset
            quantize_row(t, x.data(), bytes.data() + r * stride, n);
            dequantize_row(t, bytes.data() + r * stride, y.data(), n);
            for (int64_t i = 0; i < n; ++i) values[(size_t)r * n + i] = y[i];
        }
    }
    const void* row(int r) const { return bytes.data() + r * stride; }
};

struct ref_dot {
    double value, magnitude; // sum w*a and sum |w*a| in float64
};

ref_dot reference(const quantized_rows& w, int r, const quantized_rows& a, int c) {
    ref_dot d{0, 0};
    for (int64_t i = 0; i < w.n; ++i) {
        const double p = w.values[(size_t)r * w.n + i] * a.values[(size_t)c * a.n + i];
        d.value += p;
        d.magnitude += std::fabs(p);
    }
    return d;
}

// Float accumulation error only: the integer parts of the quantized kernels are exact.
void expect_close(float got, const ref_dot& ref, const char* what) {
    const double tol = 3e-5 * ref.magnitude + 1e-30;
    EXPECT_LE(std::fabs(got - ref.value), tol + 1e-6 * std::fabs(ref.value))
        << what << ": got " << got << ", float64 reference " << ref.value;
}

TEST(QuantDot, VecDotMatchesFloat64Reference) {
    const unsigned seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    for (ggml_type t : weight_types) {
        for (int64_t n : lengths(t)) {
            SCOPED_TRACE(std::string(type_name(t)) + " n=" + std::to_string(n));
            quantized_rows w(t, n, 3, rng), a(vec_dot_type(t), n, 2, rng);
            for (int r = 0; r < 3; ++r)
                for (int c = 0; c < 2; ++c) {
                    float out = NAN;
                    vec_dot(t, n, w.row(r), a.row(c), &out);
                    expect_close(out, reference(w, r, a, c), "vec_dot");
                    float scalar = NAN;
                    quant_detail::vec_dot_scalar(t, n, w.row(r), a.row(c), &scalar);
                    expect_close(scalar, reference(w, r, a, c), "vec_dot_scalar");
                }
        }
    }
}

TEST(QuantDot, VecDotRowsMatchesReference) {
    const unsigned seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    for (ggml_type t : weight_types) {
        const int64_t n = lengths(t).back();
        for (int n_rows : {1, 3, 5, 7, 13}) {
            SCOPED_TRACE(std::string(type_name(t)) + " rows=" + std::to_string(n_rows));
            quantized_rows w(t, n, n_rows, rng, 6), a(vec_dot_type(t), n, 1, rng);
            std::vector<float> out(n_rows + 1, -12345.f);
            vec_dot_rows(t, n, w.row(0), w.stride, n_rows, a.row(0), out.data());
            for (int r = 0; r < n_rows; ++r) expect_close(out[r], reference(w, r, a, 0), "vec_dot_rows");
            EXPECT_EQ(out[n_rows], -12345.f) << "wrote past n_rows";
        }
    }
}

TEST(QuantDot, GemmTileMatchesReferenceOnOddShapes) {
    const unsigned seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const int shapes[][2] = {{1, 1}, {1, 5}, {3, 3}, {5, 7}, {7, 1}, {13, 13}, {4, 4}, {8, 12}};
    for (ggml_type t : weight_types) {
        const int64_t n = lengths(t)[1];
        for (const auto& s : shapes) {
            const int n_rows = s[0], n_cols = s[1];
            SCOPED_TRACE(std::string(type_name(t)) + " " + std::to_string(n_rows) + "x" + std::to_string(n_cols));
            quantized_rows w(t, n, n_rows, rng, 2), a(vec_dot_type(t), n, n_cols, rng, 34);
            const size_t out_stride = n_rows + 3;
            std::vector<float> out(out_stride * n_cols, -12345.f), scalar(out.size(), -12345.f);
            gemm_tile(t, n, w.row(0), w.stride, n_rows, a.row(0), a.stride, n_cols, out.data(), out_stride);
            quant_detail::gemm_tile_scalar(t, n, w.row(0), w.stride, n_rows, a.row(0), a.stride, n_cols,
                                           scalar.data(), out_stride);
            for (int c = 0; c < n_cols; ++c) {
                for (int r = 0; r < n_rows; ++r) {
                    const ref_dot ref = reference(w, r, a, c);
                    expect_close(out[c * out_stride + r], ref, "gemm_tile");
                    expect_close(scalar[c * out_stride + r], ref, "gemm_tile_scalar");
                }
                for (size_t r = n_rows; r < out_stride; ++r)
                    EXPECT_EQ(out[c * out_stride + r], -12345.f) << "wrote into the stride padding";
            }
        }
    }
}

// Batches wide enough for the AMX path (where built in): against the float64 reference, with partial
// 16-row / 16-token groups and a q8_0 length that ends in a partial 256-element chunk; and splitting
// the same batch into other tiles, or computing one column alone as decoding does, must give bitwise
// the same outputs (thread-count independence; a token decoded equals the same token prefilled).
TEST(QuantDot, GemmTileBatchMatchesReferenceAndIsSplitInvariant) {
    const unsigned seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    for (ggml_type t : weight_types) {
        for (int64_t n : {lengths(t)[1], lengths(t).back()}) {
            const int n_rows = 37, n_cols = 40;
            SCOPED_TRACE(std::string(type_name(t)) + " n=" + std::to_string(n) +
                         (quant_detail::amx_available(t) ? " amx" : ""));
            quantized_rows w(t, n, n_rows, rng, 2), a(vec_dot_type(t), n, n_cols, rng, 34);
            const size_t os = n_rows + 1;
            std::vector<float> out(os * n_cols, -12345.f), split(out.size(), -12345.f);
            gemm_tile(t, n, w.row(0), w.stride, n_rows, a.row(0), a.stride, n_cols, out.data(), os);
            for (int c = 0; c < n_cols; ++c)
                for (int r = 0; r < n_rows; ++r) expect_close(out[c * os + r], reference(w, r, a, c), "gemm_tile batch");
            // rows [0,21) x cols [0,17), rows [21,37) x cols [0,17), then all rows x cols [17,40)
            gemm_tile(t, n, w.row(0), w.stride, 21, a.row(0), a.stride, 17, split.data(), os);
            gemm_tile(t, n, w.row(21), w.stride, 16, a.row(0), a.stride, 17, split.data() + 21, os);
            gemm_tile(t, n, w.row(0), w.stride, n_rows, a.row(17), a.stride, 23, split.data() + 17 * os, os);
            for (int c = 0; c < n_cols; ++c)
                for (int r = 0; r < n_rows; ++r)
                    ASSERT_EQ(out[c * os + r], split[c * os + r]) << "r " << r << " c " << c;
            // One column at a time (decoding walks rows in tiles of their own shape): the same values.
            for (int c : {0, 13, n_cols - 1}) {
                std::vector<float> one(os, -12345.f);
                gemm_tile(t, n, w.row(0), w.stride, n_rows, a.row(c), a.stride, 1, one.data(), os);
                for (int r = 0; r < n_rows; ++r) ASSERT_EQ(out[c * os + r], one[r]) << "one column: r " << r << " c " << c;
            }
        }
    }
}

// The activation conversions have SIMD fast paths that must equal the scalar reference byte for
// byte: random rows, rows with exact .5 ties after scaling, an all-zero block, a negative extreme.
TEST(QuantDot, ActivationQuantizeMatchesScalarBitwise) {
    const unsigned seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.f, 1.f);
    const int64_t n = 1024;
    for (ggml_type t : {ggml_type::f16, ggml_type::q8_0, ggml_type::q8_k}) {
        SCOPED_TRACE(type_name(t));
        for (int kind = 0; kind < 4; ++kind) {
            std::vector<float> x(n);
            for (auto& v : x) v = g(rng) * (kind == 3 ? 1e-6f : 3.f);
            if (kind == 1) { // amax 127 in every block, so scale 1: the k + 0.5 values are rounding ties
                for (int64_t i = 0; i < n; ++i) x[i] = (float)((int)(rng() % 254) - 127) + 0.5f;
                for (int64_t i = 0; i < n; i += 32) x[i] = (i / 32) % 2 ? 127.f : -127.f;
            }
            if (kind == 2) {
                for (int i = 0; i < 256; ++i) x[i] = 0.f;
                x[300] = -50.f, x[301] = 50.f;
            }
            const size_t bytes = row_bytes(t, n);
            std::vector<uint8_t> fast(bytes, 0xCD), ref(bytes, 0xCD);
            quantize_row(t, x.data(), fast.data(), n);
            quant_detail::quantize_row_scalar(t, x.data(), ref.data(), n);
            EXPECT_EQ(0, std::memcmp(fast.data(), ref.data(), bytes)) << "kind " << kind;
        }
    }
}

TEST(QuantDot, SimdMatchesScalarWhereCompiled) {
    const unsigned seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    int checked = 0;
    for (ggml_type t : weight_types) {
        if (!quant_detail::simd_available(t)) continue;
        ++checked;
        const int64_t n = lengths(t).back();
        SCOPED_TRACE(type_name(t));
        quantized_rows w(t, n, 6, rng), a(vec_dot_type(t), n, 5, rng);
        std::vector<float> simd(30), scalar(30);
        quant_detail::gemm_tile_simd(t, n, w.row(0), w.stride, 6, a.row(0), a.stride, 5, simd.data(), 6);
        quant_detail::gemm_tile_scalar(t, n, w.row(0), w.stride, 6, a.row(0), a.stride, 5, scalar.data(), 6);
        for (int c = 0; c < 5; ++c)
            for (int r = 0; r < 6; ++r) {
                const ref_dot ref = reference(w, r, a, c);
                const double tol = 3e-5 * ref.magnitude;
                EXPECT_LE(std::fabs((double)simd[c * 6 + r] - scalar[c * 6 + r]), tol) << "r " << r << " c " << c;
            }
    }
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
    EXPECT_EQ(checked, 11) << "every weight type but q8_K should have a SIMD kernel in an AVX2 build";
#endif
}

TEST(QuantDot, VecDotTypes) {
    EXPECT_EQ(vec_dot_type(ggml_type::f32), ggml_type::f32);
    EXPECT_EQ(vec_dot_type(ggml_type::f16), ggml_type::f16);
    EXPECT_EQ(vec_dot_type(ggml_type::bf16), ggml_type::bf16);
    EXPECT_EQ(vec_dot_type(ggml_type::q8_0), ggml_type::q8_0);
    EXPECT_EQ(vec_dot_type(ggml_type::q4_0), ggml_type::q8_0);
    EXPECT_EQ(vec_dot_type(ggml_type::q4_1), ggml_type::q8_0);
    EXPECT_EQ(vec_dot_type(ggml_type::q5_0), ggml_type::q8_0);
    EXPECT_EQ(vec_dot_type(ggml_type::q5_1), ggml_type::q8_0);
    EXPECT_EQ(vec_dot_type(ggml_type::q4_k), ggml_type::q8_k);
    EXPECT_EQ(vec_dot_type(ggml_type::q5_k), ggml_type::q8_k);
    EXPECT_EQ(vec_dot_type(ggml_type::q6_k), ggml_type::q8_k);
}

} // namespace
} // namespace epic
