// Every CUDA backend op against the CPU backend (the reference) on fresh random inputs.
// Each test creates the CUDA backend first and skips, with the reason, when no GPU is usable.
//
// Tolerances (relative L2 error ||gpu - ref|| / ||ref|| unless said otherwise):
//   dequantization to f16      bit-exact: f16(dequantize_row(...)) (same f32 operation order, RNE)
//   matmul                     3e-3 vs float64 of the dequantized weights: weights and activations
//                              are rounded to f16 (2^-11 each) before an f32-accumulated GEMM
//   get_rows                   1e-3: the table is kept as f16
//   rms_norm, elementwise      1e-5: f32 math (fast exp / rsqrt)
//   rope (f32)                 1e-5: angles in double on both sides
//   rope_f16                   1 f16 ulp per element
//   attention                  1e-4: f32 math on the same f16 K/V, fast exp, different summation order
//   scatter_f16, gather_rows   exact
#include "backend/cpu/cpu_backend.h"
#include "backend/cuda/cuda_backend.h"
#include "common/error.h"
#include "core/fp16.h"
#include "model/model.h"
#include "model/model_config.h"
#include "quant/quant.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

namespace epic {
namespace {

double rel_error(const float* a, const float* b, size_t n) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; ++i) {
        const double d = (double)a[i] - (double)b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    return den > 0.0 ? std::sqrt(num / den) : std::sqrt(num);
}

double rel_error(const std::vector<float>& a, const std::vector<float>& b) {
    EXPECT_EQ(a.size(), b.size());
    return rel_error(a.data(), b.data(), std::min(a.size(), b.size()));
}

int f16_ulp_distance(uint16_t a, uint16_t b) {
    // Map sign-magnitude to a monotone integer line.
    auto line = [](uint16_t h) { return (h & 0x8000) ? -(int)(h & 0x7fff) : (int)h; };
    return std::abs(line(a) - line(b));
}

class cuda_ops : public ::testing::Test {
protected:
    void SetUp() override {
        try {
            gpu_ = create_cuda_backend(0);
        } catch (const error& e) {
            GTEST_SKIP() << e.what();
        }
        cpu_ = std::make_unique<cpu_backend>(2);
        seed_ = std::random_device{}();
        rng_.seed(seed_);
    }

    std::vector<float> randn(size_t n, float sd = 1.0f) {
        std::normal_distribution<float> nd(0.0f, sd);
        std::vector<float> v(n);
        for (auto& x : v) x = nd(rng_);
        return v;
    }
    std::vector<uint16_t> randn_f16(size_t n, float sd = 1.0f) {
        std::vector<uint16_t> v(n);
        std::normal_distribution<float> nd(0.0f, sd);
        for (auto& x : v) x = fp32_to_fp16(nd(rng_));
        return v;
    }
    template <class T> std::unique_ptr<device_buffer> to_gpu(const std::vector<T>& v) {
        auto b = gpu_->alloc(v.size() * sizeof(T));
        gpu_->upload(b->data(), v.data(), v.size() * sizeof(T));
        return b;
    }
    template <class T> std::vector<T> from_gpu(device_buffer& b, size_t n) {
        std::vector<T> v(n);
        gpu_->download(v.data(), b.data(), n * sizeof(T));
        return v;
    }

    std::unique_ptr<cuda_backend> gpu_;
    std::unique_ptr<cpu_backend> cpu_;
    uint32_t seed_ = 0;
    std::mt19937 rng_;
};

// A quantized weight in host memory (the bytes a GGUF file would hold) and its view.
struct host_weight {
    std::vector<uint8_t> bytes;
    weight_view view;
};

host_weight make_weight(ggml_type t, int64_t rows, int64_t cols, const std::vector<float>& values) {
    host_weight w;
    const size_t rb = row_bytes(t, cols);
    w.bytes.resize(rb * (size_t)rows);
    for (int64_t r = 0; r < rows; ++r) quantize_row(t, values.data() + r * cols, w.bytes.data() + (size_t)r * rb, cols);
    w.view.name = std::string("test.") + type_name(t);
    w.view.type = t;
    w.view.rows = rows;
    w.view.cols = cols;
    w.view.row_stride = rb;
    w.view.data = w.bytes.data();
    return w;
}

const ggml_type all_types[] = {ggml_type::f32,  ggml_type::f16,  ggml_type::bf16, ggml_type::q8_0, ggml_type::q4_0,
                               ggml_type::q4_1, ggml_type::q5_0, ggml_type::q5_1, ggml_type::q4_k, ggml_type::q5_k,
                               ggml_type::q6_k};

TEST_F(cuda_ops, backend_reports_a_name_and_memory) {
    EXPECT_NE(gpu_->name().find("cuda"), std::string::npos);
    size_t free_b = 0, total_b = 0;
    gpu_->memory_info(free_b, total_b);
    EXPECT_GT(total_b, 0u);
    EXPECT_LE(free_b, total_b);
    backend_params p;
    p.device = "cuda";
    EXPECT_NE(create_backend(p)->name().find("cuda"), std::string::npos);
    p.device = "auto";
    EXPECT_NE(create_backend(p)->name().find("cuda"), std::string::npos);
}

TEST_F(cuda_ops, upload_copy_download_round_trip) {
    const auto v = randn(1000);
    auto a = to_gpu(v);
    auto b = gpu_->alloc(v.size() * sizeof(float));
    gpu_->copy(b->data(), a->data(), v.size() * sizeof(float));
    EXPECT_EQ(from_gpu<float>(*b, v.size()), v);
}

TEST_F(cuda_ops, dequantization_of_every_type_is_bit_exact) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    const int64_t rows = 7, cols = 768; // a multiple of every block size
    for (ggml_type t : all_types) {
        SCOPED_TRACE(type_name(t));
        const auto values = randn((size_t)(rows * cols), 0.5f);
        const host_weight w = make_weight(t, rows, cols, values);
        const device_weight d = gpu_->prepare_weight(w.view);
        ASSERT_EQ(d.type, ggml_type::f16);
        std::vector<uint16_t> got((size_t)(rows * cols));
        gpu_->download(got.data(), d.data, got.size() * sizeof(uint16_t));
        std::vector<float> row((size_t)cols);
        int mismatches = 0;
        for (int64_t r = 0; r < rows; ++r) {
            dequantize_row(t, w.bytes.data() + (size_t)r * w.view.row_stride, row.data(), cols);
            for (int64_t c = 0; c < cols; ++c)
                if (got[(size_t)(r * cols + c)] != fp32_to_fp16(row[(size_t)c])) ++mismatches;
        }
        EXPECT_EQ(mismatches, 0);
    }
}

TEST_F(cuda_ops, get_rows_matches_the_cpu_for_every_type) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    const int64_t rows = 50, cols = 512;
    const std::vector<int32_t> ids = {0, 49, 7, 7, 23, 1, 48};
    for (ggml_type t : all_types) {
        SCOPED_TRACE(type_name(t));
        const host_weight w = make_weight(t, rows, cols, randn((size_t)(rows * cols)));
        const device_weight dg = gpu_->prepare_weight(w.view), dc = cpu_->prepare_weight(w.view);
        std::vector<float> want(ids.size() * (size_t)cols);
        cpu_->get_rows(dc, ids.data(), (int)ids.size(), want.data());
        auto ids_d = to_gpu(ids);
        auto out = gpu_->alloc(want.size() * sizeof(float));
        gpu_->get_rows(dg, ids_d->as<int32_t>(), (int)ids.size(), out->as<float>());
        EXPECT_LT(rel_error(from_gpu<float>(*out, want.size()), want), 1e-3);
    }
}

TEST_F(cuda_ops, get_rows_with_a_bad_token_throws_at_the_next_sync) {
    const host_weight w = make_weight(ggml_type::f16, 10, 64, randn(640));
    const device_weight d = gpu_->prepare_weight(w.view);
    auto ids = to_gpu(std::vector<int32_t>{3, 10});
    auto out = gpu_->alloc(2 * 64 * sizeof(float));
    gpu_->get_rows(d, ids->as<int32_t>(), 2, out->as<float>());
    EXPECT_THROW(gpu_->synchronize(), error);
    // The error was reported once; the backend stays usable.
    auto ok = to_gpu(std::vector<int32_t>{3, 9});
    gpu_->get_rows(d, ok->as<int32_t>(), 2, out->as<float>());
    EXPECT_NO_THROW(gpu_->synchronize());
}

TEST_F(cuda_ops, tied_weights_share_one_device_copy) {
    const host_weight w = make_weight(ggml_type::q8_0, 16, 64, randn(16 * 64));
    const device_weight a = gpu_->prepare_weight(w.view);
    const device_weight b = gpu_->prepare_weight(w.view);
    EXPECT_EQ(a.data, b.data);
}

TEST_F(cuda_ops, rms_norm_matches_the_cpu) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    for (int dim : {64, 4099}) {
        const int n = 5;
        const auto x = randn((size_t)n * dim, 3.0f), w = randn((size_t)dim);
        std::vector<float> want(x.size());
        cpu_->rms_norm(x.data(), w.data(), want.data(), n, dim, 1e-5f);
        auto xd = to_gpu(x), wd = to_gpu(w);
        auto yd = gpu_->alloc(x.size() * sizeof(float));
        gpu_->rms_norm(xd->as<float>(), wd->as<float>(), yd->as<float>(), n, dim, 1e-5f);
        EXPECT_LT(rel_error(from_gpu<float>(*yd, x.size()), want), 1e-5) << "dim " << dim;
    }
}

// y = x · W^T against float64 of the dequantized weights (and loosely against the CPU backend,
// whose quantized matmuls round the activations to q8 instead of f16).
TEST_F(cuda_ops, matmul_matches_float64_and_the_cpu_for_every_type) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    const int64_t rows = 300, cols = 512;
    for (ggml_type t : all_types) {
        for (int n : {1, 7, 33}) {
            SCOPED_TRACE(std::string(type_name(t)) + " n=" + std::to_string(n));
            const host_weight w = make_weight(t, rows, cols, randn((size_t)(rows * cols)));
            const auto x = randn((size_t)n * cols);
            std::vector<float> wf((size_t)(rows * cols));
            for (int64_t r = 0; r < rows; ++r)
                dequantize_row(t, w.bytes.data() + (size_t)r * w.view.row_stride, wf.data() + r * cols, cols);
            std::vector<float> ref((size_t)n * rows);
            for (int i = 0; i < n; ++i)
                for (int64_t r = 0; r < rows; ++r) {
                    double s = 0.0;
                    for (int64_t c = 0; c < cols; ++c) s += (double)x[(size_t)(i * cols + c)] * wf[(size_t)(r * cols + c)];
                    ref[(size_t)(i * rows + r)] = (float)s;
                }
            const device_weight dg = gpu_->prepare_weight(w.view), dc = cpu_->prepare_weight(w.view);
            auto xd = to_gpu(x);
            auto yd = gpu_->alloc(ref.size() * sizeof(float));
            gpu_->matmul(dg, xd->as<float>(), n, yd->as<float>());
            const auto got = from_gpu<float>(*yd, ref.size());
            EXPECT_LT(rel_error(got, ref), 3e-3);
            std::vector<float> cpu_y(ref.size());
            cpu_->matmul(dc, x.data(), n, cpu_y.data());
            EXPECT_LT(rel_error(got, cpu_y), 2e-2);
        }
    }
}

struct rope_case {
    int n_head, head_dim, n_rot;
    bool neox, factors;
    float freq_scale;
};

TEST_F(cuda_ops, rope_f32_and_f16_match_the_cpu) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    const rope_case cases[] = {{4, 128, 128, false, false, 1.0f}, {8, 64, 64, false, true, 1.0f},
                               {2, 128, 64, false, false, 0.5f},  {3, 96, 96, true, true, 0.25f},
                               {1, 256, 256, true, false, 1.0f}};
    std::uniform_int_distribution<int32_t> pick_pos(0, 120000);
    for (const rope_case& c : cases) {
        SCOPED_TRACE("head_dim " + std::to_string(c.head_dim) + " n_rot " + std::to_string(c.n_rot));
        std::vector<float> factors;
        for (int i = 0; i < c.n_rot / 2; ++i) factors.push_back(1.0f + (float)(i % 7));
        rope_params p;
        p.n_rot = c.n_rot;
        p.freq_base = 500000.0f;
        p.freq_scale = c.freq_scale;
        p.freq_factors = c.factors ? factors.data() : nullptr;
        p.neox = c.neox;
        const int n = 9;
        std::vector<int32_t> pos((size_t)n);
        for (auto& x : pos) x = pick_pos(rng_);
        pos[0] = 0;
        auto pos_d = to_gpu(pos);
        const size_t elems = (size_t)n * c.n_head * c.head_dim;

        auto x = randn(elems);
        auto xd = to_gpu(x);
        cpu_->rope(x.data(), pos.data(), n, c.n_head, c.head_dim, p);
        gpu_->rope(xd->as<float>(), pos_d->as<int32_t>(), n, c.n_head, c.head_dim, p);
        EXPECT_LT(rel_error(from_gpu<float>(*xd, elems), x), 1e-5);

        auto k = randn_f16(elems);
        auto kd = to_gpu(k);
        cpu_->rope_f16(k.data(), pos.data(), n, c.n_head, c.head_dim, p);
        gpu_->rope_f16(kd->as<uint16_t>(), pos_d->as<int32_t>(), n, c.n_head, c.head_dim, p);
        const auto got = from_gpu<uint16_t>(*kd, elems);
        int worst = 0;
        for (size_t i = 0; i < elems; ++i) worst = std::max(worst, f16_ulp_distance(got[i], k[i]));
        EXPECT_LE(worst, 1);
    }
}

TEST_F(cuda_ops, scatter_f16_and_gather_rows_match_the_cpu_exactly) {
    const int n = 6, width = 200, table_rows = 20;
    const auto src = randn((size_t)n * width, 10.0f);
    const std::vector<int32_t> rows = {19, 0, 5, 6, 11, 2};
    std::vector<uint16_t> want((size_t)table_rows * width, 0);
    cpu_->scatter_f16(src.data(), rows.data(), n, width, want.data());
    auto src_d = to_gpu(src), rows_d = to_gpu(rows);
    auto dst_d = to_gpu(std::vector<uint16_t>((size_t)table_rows * width, 0));
    gpu_->scatter_f16(src_d->as<float>(), rows_d->as<int32_t>(), n, width, dst_d->as<uint16_t>());
    EXPECT_EQ(from_gpu<uint16_t>(*dst_d, want.size()), want);

    const auto table = randn((size_t)table_rows * width);
    std::vector<float> g((size_t)n * width);
    cpu_->gather_rows(table.data(), rows.data(), n, width, g.data());
    auto table_d = to_gpu(table);
    auto g_d = gpu_->alloc(g.size() * sizeof(float));
    gpu_->gather_rows(table_d->as<float>(), rows_d->as<int32_t>(), n, width, g_d->as<float>());
    EXPECT_EQ(from_gpu<float>(*g_d, g.size()), g);
}

TEST_F(cuda_ops, elementwise_ops_match_the_cpu) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    const size_t n = 100003;
    const auto gate = randn(n, 4.0f), up = randn(n);
    auto gate_d = to_gpu(gate), up_d = to_gpu(up);
    auto out_d = gpu_->alloc(n * sizeof(float));
    std::vector<float> want(n);

    cpu_->swiglu(gate.data(), up.data(), want.data(), n);
    gpu_->swiglu(gate_d->as<float>(), up_d->as<float>(), out_d->as<float>(), n);
    EXPECT_LT(rel_error(from_gpu<float>(*out_d, n), want), 1e-5) << "swiglu";

    cpu_->geglu(gate.data(), up.data(), want.data(), n);
    gpu_->geglu(gate_d->as<float>(), up_d->as<float>(), out_d->as<float>(), n);
    EXPECT_LT(rel_error(from_gpu<float>(*out_d, n), want), 1e-5) << "geglu";

    std::vector<float> y = gate;
    cpu_->add(y.data(), up.data(), n);
    gpu_->add(gate_d->as<float>(), up_d->as<float>(), n);
    EXPECT_LT(rel_error(from_gpu<float>(*gate_d, n), y), 1e-6) << "add";

    cpu_->scale(y.data(), n, 0.37f);
    gpu_->scale(gate_d->as<float>(), n, 0.37f);
    EXPECT_LT(rel_error(from_gpu<float>(*gate_d, n), y), 1e-6) << "scale";

    // Bias rows (Qwen2's q/k/v): an odd width, so a row-index bug shows; float64 reference.
    const int rows = 37, width = 131;
    const auto x = randn((size_t)rows * width), b = randn((size_t)width, 3.0f);
    std::vector<double> ref(x.size());
    for (int r = 0; r < rows; ++r)
        for (int j = 0; j < width; ++j) ref[(size_t)r * width + j] = (double)x[(size_t)r * width + j] + (double)b[(size_t)j];
    auto x_d = to_gpu(x), b_d = to_gpu(b);
    std::vector<float> xc = x;
    cpu_->add_bias(xc.data(), b.data(), rows, width);
    gpu_->add_bias(x_d->as<float>(), b_d->as<float>(), rows, width);
    const auto got = from_gpu<float>(*x_d, x.size());
    EXPECT_EQ(got, xc) << "add_bias: one float addition per element on both";
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < ref.size(); ++i) num += (got[i] - ref[i]) * (got[i] - ref[i]), den += ref[i] * ref[i];
    EXPECT_LT(std::sqrt(num / den), 1e-7) << "add_bias against float64";
}

TEST_F(cuda_ops, argmax_takes_the_first_of_equal_maxima) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    for (int n : {1, 31, 32000, 128256}) {
        auto x = randn((size_t)n);
        std::uniform_int_distribution<int> pick(0, n - 1);
        const int a = pick(rng_), b = pick(rng_);
        x[(size_t)a] = x[(size_t)b] = 100.0f;
        auto xd = to_gpu(x);
        EXPECT_EQ(gpu_->argmax(xd->as<float>(), n), std::min(a, b)) << "n " << n;
    }
}

struct attention_case {
    int n_head, n_head_kv, head_dim, n_kv, n_rows, kv_first;
    int window = 0;
};

class cuda_attention : public cuda_ops, public ::testing::WithParamInterface<attention_case> {};

TEST_P(cuda_attention, matches_the_cpu_for_arbitrary_rows) {
    const attention_case c = GetParam();
    SCOPED_TRACE("seed " + std::to_string(seed_));
    const size_t q_row = (size_t)c.n_head * c.head_dim, kv_row = (size_t)c.n_head_kv * c.head_dim;
    const auto q = randn((size_t)c.n_rows * q_row, 2.0f);
    const auto k = randn_f16((size_t)c.n_kv * kv_row), v = randn_f16((size_t)c.n_kv * kv_row);
    // Arbitrary unsorted positions in [kv_first, n_kv), the last row at the end of the sequence.
    std::uniform_int_distribution<int32_t> pick(c.kv_first, c.n_kv - 1);
    std::vector<int32_t> pos((size_t)c.n_rows);
    for (auto& p : pos) p = pick(rng_);
    pos.back() = c.n_kv - 1;
    if (c.n_rows > 1) pos.front() = c.kv_first; // a row that sees a single key
    attention_params ap{c.n_head, c.n_head_kv, c.head_dim, 1.0f / std::sqrt((float)c.head_dim), c.kv_first, c.window};
    std::vector<float> want(q.size());
    cpu_->attention(q.data(), pos.data(), c.n_rows, k.data(), v.data(), c.n_kv, want.data(), ap);
    auto qd = to_gpu(q), kd = to_gpu(k), vd = to_gpu(v), pd = to_gpu(pos);
    auto od = gpu_->alloc(q.size() * sizeof(float));
    gpu_->attention(qd->as<float>(), pd->as<int32_t>(), c.n_rows, kd->as<uint16_t>(), vd->as<uint16_t>(), c.n_kv,
                    od->as<float>(), ap);
    EXPECT_LT(rel_error(from_gpu<float>(*od, q.size()), want), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(
    shapes, cuda_attention,
    ::testing::Values(
        // head_dim 64 / 128, GQA groups 1, 4, 8; n_kv not a multiple of the 32-key tile
        attention_case{8, 8, 64, 301, 37, 0}, attention_case{32, 8, 128, 1000, 20, 0},
        attention_case{32, 4, 128, 517, 33, 0}, attention_case{4, 4, 128, 129, 17, 0},
        attention_case{16, 2, 64, 77, 77, 0},
        // kv_first > 0 (a segment computed on its own)
        attention_case{8, 2, 64, 517, 33, 211}, attention_case{32, 4, 128, 700, 50, 650},
        // decode: one row over a long sequence (split-key path) and a short one
        attention_case{32, 8, 128, 5003, 1, 0}, attention_case{32, 32, 128, 4097, 1, 0},
        attention_case{8, 1, 64, 2000, 1, 100}, attention_case{4, 2, 64, 5, 1, 0},
        // a few decode-like rows, small batches over long sequences
        attention_case{32, 8, 128, 3000, 3, 0},
        // other head sizes: odd pair counts, 256 (opt-in shared memory), MQA with 32 heads per group
        attention_case{6, 3, 48, 260, 40, 0}, attention_case{8, 4, 256, 300, 9, 0}, attention_case{32, 1, 64, 400, 5, 0},
        attention_case{2, 1, 2, 1, 1, 0},
        // sliding windows
        attention_case{4, 1, 256, 700, 30, 0, 40}, attention_case{8, 2, 64, 900, 50, 0, 300},
        attention_case{8, 2, 64, 600, 25, 100, 129}, attention_case{8, 2, 64, 5000, 1, 0, 1000}));

TEST_F(cuda_ops, attention_position_outside_the_sequence_throws_at_the_next_sync) {
    auto q = to_gpu(randn(64)), out = gpu_->alloc(64 * sizeof(float));
    auto k = to_gpu(randn_f16(64 * 4)), v = to_gpu(randn_f16(64 * 4));
    auto pos = to_gpu(std::vector<int32_t>{4});
    attention_params ap{1, 1, 64, 0.125f, 0};
    gpu_->attention(q->as<float>(), pos->as<int32_t>(), 1, k->as<uint16_t>(), v->as<uint16_t>(), 4, out->as<float>(), ap);
    EXPECT_THROW(gpu_->synchronize(), error);
    auto pos1 = to_gpu(std::vector<int32_t>{1});
    ap.kv_first = 2;
    gpu_->attention(q->as<float>(), pos1->as<int32_t>(), 1, k->as<uint16_t>(), v->as<uint16_t>(), 4, out->as<float>(), ap);
    EXPECT_THROW(gpu_->synchronize(), error);
    EXPECT_NO_THROW(gpu_->synchronize());
}

// Runs everywhere: "auto" never fails (CUDA when usable, else the CPU, silently); "cuda" names the
// reason when there is no usable device.
TEST(cuda_create_backend, auto_falls_back_and_cuda_explains) {
    bool usable = true;
    std::string why;
    try {
        create_cuda_backend(0);
    } catch (const error& e) {
        usable = false;
        why = e.what();
    }
    backend_params p;
    p.device = "auto";
    std::unique_ptr<backend> be;
    ASSERT_NO_THROW(be = create_backend(p));
    EXPECT_EQ(be->name().rfind(usable ? "cuda" : "cpu", 0), 0u) << be->name();
    p.device = "cuda";
    if (usable) {
        EXPECT_NO_THROW(create_backend(p));
    } else {
        EXPECT_EQ(why.rfind("no usable CUDA device: ", 0), 0u) << why;
        try {
            create_backend(p);
            FAIL() << "device 'cuda' without a usable GPU must throw";
        } catch (const error& e) {
            const std::string m = e.what();
            EXPECT_EQ(m.rfind(why, 0), 0u) << m; // the device's reason first, then what to change
            EXPECT_NE(m.find("choose 'auto' or 'cpu'"), std::string::npos) << m;
        }
    }
}

} // namespace
} // namespace epic
