// Attention on the CPU over an f16 KV sequence: any set of query rows, each at its own global
// position, attends to the keys of rows 0..pos (the exact causal rule), grouped-query heads.
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/simd_f16.h"
#include "core/error.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace epic {

void cpu_backend::attention(const float* q, const int32_t* pos, int n, const uint16_t* k, const uint16_t* v, int n_kv,
                            float* out, const attention_params& p) {
    const int group = p.n_head / p.n_head_kv;
    const size_t q_row = (size_t)p.n_head * p.head_dim;    // q, out: [n, n_head, head_dim]
    const size_t kv_row = (size_t)p.n_head_kv * p.head_dim; // k, v: [n_kv, n_head_kv, head_dim]
    for (int i = 0; i < n; ++i)
        if (pos[i] < p.kv_first || pos[i] >= n_kv)
            throw error("attention: query position " + std::to_string(pos[i]) + " outside the KV sequence of " +
                        std::to_string(n_kv) + " rows");
    for (auto& s : scratch_)
        if (s.size() < (size_t)n_kv) s.resize((size_t)n_kv);
    pool_.parallel_for((int64_t)n * p.n_head, [&](int64_t task, int thread) {
        const int i = (int)(task / p.n_head), h = (int)(task % p.n_head);
        const int g = h / group;
        const float* qh = q + (size_t)i * q_row + (size_t)h * p.head_dim; // [head_dim]
        float* oh = out + (size_t)i * q_row + (size_t)h * p.head_dim;
        float* score = scratch_[(size_t)thread].data(); // [pos + 1]
        const int n_keys = pos[i] + 1;
        const int first = p.kv_first;
        float max_s = -INFINITY;
        for (int j = first; j < n_keys; ++j) {
            score[j] = dot_f32_f16(qh, k + (size_t)j * kv_row + (size_t)g * p.head_dim, p.head_dim) * p.scale;
            max_s = std::max(max_s, score[j]);
        }
        float sum = 0.0f;
        for (int j = first; j < n_keys; ++j) {
            score[j] = std::exp(score[j] - max_s);
            sum += score[j];
        }
        const float inv = 1.0f / sum;
        std::memset(oh, 0, sizeof(float) * (size_t)p.head_dim);
        for (int j = first; j < n_keys; ++j)
            axpy_f16(oh, score[j] * inv, v + (size_t)j * kv_row + (size_t)g * p.head_dim, p.head_dim);
    });
}

} // namespace epic
