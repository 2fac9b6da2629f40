// CPU attention (tiled AVX-512 path and the straight fallback) against float64, plain and with APE's
// attention temperature over a context range (checked in APE's own form: two softmaxes merged by their
// log-sum-exps, the context's scaled by S x T).
#include "backend/cpu/cpu_backend.h"
#include "core/fp16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace epic {
namespace {

struct attention_case {
    int n_head, n_head_kv, head_dim, n_kv, n_rows, kv_first;
    int window = 0;
    int context_begin = 0, context_end = 0; // APE: rows after context_end see [begin, end) at temperature T
    float temperature = 1.0f, scale = 1.0f;
};

class cpu_attention : public ::testing::TestWithParam<attention_case> {};

TEST_P(cpu_attention, matches_float64_for_arbitrary_rows) {
    const attention_case c = GetParam();
    const uint32_t seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const size_t q_row = (size_t)c.n_head * c.head_dim, kv_row = (size_t)c.n_head_kv * c.head_dim;
    std::vector<float> q((size_t)c.n_rows * q_row), out(q.size());
    std::vector<uint16_t> k((size_t)c.n_kv * kv_row), v(k.size());
    for (auto& x : q) x = 2.0f * nd(rng);
    for (auto& x : k) x = fp32_to_fp16(nd(rng));
    for (auto& x : v) x = fp32_to_fp16(nd(rng));
    // Arbitrary positions in [kv_first, n_kv), unsorted, the last row always present.
    std::uniform_int_distribution<int32_t> pick(c.kv_first, c.n_kv - 1);
    std::vector<int32_t> pos((size_t)c.n_rows);
    for (auto& p : pos) p = pick(rng);
    pos.back() = c.n_kv - 1;
    attention_params ap{c.n_head, c.n_head_kv, c.head_dim, 1.0f / std::sqrt((float)c.head_dim), c.kv_first, c.window};
    ap.context = {c.context_begin, c.context_end, c.temperature, c.scale};
    cpu_backend be(2);
    be.attention(q.data(), pos.data(), c.n_rows, k.data(), v.data(), c.n_kv, out.data(), ap);

    const int group = c.n_head / c.n_head_kv;
    double num = 0.0, den = 0.0;
    for (int i = 0; i < c.n_rows; ++i)
        for (int h = 0; h < c.n_head; ++h) {
            const int g = h / group;
            std::vector<double> s;
            double mx = -1e300;
            const int first = c.window > 0 ? std::max(c.kv_first, pos[(size_t)i] - c.window + 1) : c.kv_first;
            for (int j = first; j <= pos[(size_t)i]; ++j) {
                double d = 0.0;
                for (int e = 0; e < c.head_dim; ++e)
                    d += (double)q[(size_t)i * q_row + (size_t)h * c.head_dim + e] *
                         fp16_to_fp32(k[(size_t)j * kv_row + (size_t)g * c.head_dim + e]);
                s.push_back(d * ap.scale);
                mx = std::max(mx, s.back());
            }
            // Two parts, each its own softmax (the context's at temperature T), merged with weights
            // exp(LSE_other) and exp(S T LSE_context); without APE every key is in `other`.
            const bool ape = c.context_end > c.context_begin && pos[(size_t)i] >= c.context_end;
            auto in_context = [&](int j) { return ape && j >= c.context_begin && j < c.context_end; };
            double lse[2] = {-1e300, -1e300}; // [other, context]
            for (size_t j = 0; j < s.size(); ++j) {
                const int part = in_context(first + (int)j);
                const double x = part ? s[j] / c.temperature : s[j];
                lse[part] = std::max(lse[part], x) + std::log1p(std::exp(-std::abs(lse[part] - x)));
            }
            const double w_ctx_log = (double)c.scale * c.temperature * lse[1];
            const double top = std::max(lse[0], w_ctx_log);
            const double w0 = std::exp(lse[0] - top), w1 = lse[1] > -1e299 ? std::exp(w_ctx_log - top) : 0.0;
            for (size_t j = 0; j < s.size(); ++j) {
                const int part = in_context(first + (int)j);
                const double x = part ? s[j] / c.temperature : s[j];
                s[j] = std::exp(x - lse[part]) * (part ? w1 : w0) / (w0 + w1);
            }
            for (int e = 0; e < c.head_dim; ++e) {
                double o = 0.0;
                for (size_t j = 0; j < s.size(); ++j)
                    o += s[j] * fp16_to_fp32(v[(size_t)(first + (int)j) * kv_row + (size_t)g * c.head_dim + e]);
                const double got = out[(size_t)i * q_row + (size_t)h * c.head_dim + e];
                num += (got - o) * (got - o);
                den += o * o;
            }
        }
    EXPECT_LT(std::sqrt(num / den), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(shapes, cpu_attention,
                         ::testing::Values(attention_case{8, 1, 64, 300, 37, 0}, attention_case{32, 4, 64, 1000, 20, 0},
                                           attention_case{4, 4, 128, 129, 17, 0}, attention_case{8, 2, 64, 517, 33, 211},
                                           attention_case{8, 4, 8, 90, 9, 3}, attention_case{6, 3, 48, 260, 40, 0},
                                           attention_case{2, 1, 16, 1, 1, 0},
                                           // sliding windows: shorter than a key block, across blocks, with kv_first
                                           attention_case{4, 1, 256, 700, 30, 0, 40}, attention_case{8, 2, 64, 900, 50, 0, 300},
                                           attention_case{8, 2, 64, 600, 25, 100, 129}, attention_case{8, 4, 8, 90, 9, 3, 7},
                                           // APE over a context range: sharper and flatter, scaled up and down, on
                                           // the tiled path and the fallback (head_dim 48), rows before and after it
                                           attention_case{8, 2, 64, 600, 40, 0, 0, 50, 400, 0.8f, 0.9f},
                                           attention_case{4, 4, 128, 300, 20, 0, 0, 10, 200, 0.5f, 1.3f},
                                           attention_case{14, 2, 64, 900, 30, 0, 0, 30, 870, 1.2f, 0.7f},
                                           attention_case{6, 3, 48, 260, 40, 0, 0, 20, 150, 0.7f, 0.7f}));

TEST(cpu_attention_errors, position_outside_the_sequence_throws) {
    cpu_backend be(1);
    std::vector<float> q(64), out(64);
    std::vector<uint16_t> k(64 * 4), v(64 * 4);
    std::vector<int32_t> pos = {4};
    attention_params ap{1, 1, 64, 0.125f, 0};
    EXPECT_ANY_THROW(be.attention(q.data(), pos.data(), 1, k.data(), v.data(), 4, out.data(), ap));
    pos = {1};
    ap.kv_first = 2;
    EXPECT_ANY_THROW(be.attention(q.data(), pos.data(), 1, k.data(), v.data(), 4, out.data(), ap));
}

} // namespace
} // namespace epic
