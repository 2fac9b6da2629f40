// RoPE on the CPU: f32 activations (fresh q/k) and f16 cached keys (rotated at link time).
#include "backend/cpu/cpu_backend.h"
#include "backend/rope_angles.h"
#include "core/fp16.h"

#include <cmath>
#include <vector>

namespace epic {
namespace {

// Rotates one row [n_head, head_dim] at position pos; load/store convert the element type.
template <class T, class Load, class Store>
void rope_row(T* row, int32_t pos, int n_head, int head_dim, const rope_params& p, const std::vector<double>& inv_freq,
              std::vector<float>& cs, Load load, Store store) {
    const int n_rot = p.n_rot;
    // cs: [n_rot/2][cos, sin] for this position, shared by every head.
    for (int i = 0; i < n_rot / 2; ++i) {
        const double theta = (double)pos * inv_freq[(size_t)i];
        cs[2 * (size_t)i] = (float)std::cos(theta);
        cs[2 * (size_t)i + 1] = (float)std::sin(theta);
    }
    for (int h = 0; h < n_head; ++h) {
        T* x = row + (size_t)h * head_dim; // [head_dim]
        for (int i = 0; i < n_rot / 2; ++i) {
            const float c = cs[2 * (size_t)i], s = cs[2 * (size_t)i + 1];
            const int a = rope_first(p, i), b = rope_second(p, i);
            const float x0 = load(x[a]), x1 = load(x[b]);
            x[a] = store(x0 * c - x1 * s);
            x[b] = store(x0 * s + x1 * c);
        }
    }
}

} // namespace

void cpu_backend::rope(float* x, const int32_t* pos, int n, int n_head, int head_dim, const rope_params& p) {
    const std::vector<double> inv_freq = rope_inv_freq(p);
    parallel_range((size_t)n, 4, [&](size_t b, size_t e) {
        std::vector<float> cs((size_t)p.n_rot);
        for (size_t r = b; r < e; ++r)
            rope_row(x + r * (size_t)n_head * head_dim, pos[r], n_head, head_dim, p, inv_freq, cs,
                     [](float v) { return v; }, [](float v) { return v; });
    });
}

void cpu_backend::rope_f16(uint16_t* k, const int32_t* pos, int n, int n_head, int head_dim, const rope_params& p) {
    const std::vector<double> inv_freq = rope_inv_freq(p);
    parallel_range((size_t)n, 4, [&](size_t b, size_t e) {
        std::vector<float> cs((size_t)p.n_rot);
        for (size_t r = b; r < e; ++r)
            rope_row(k + r * (size_t)n_head * head_dim, pos[r], n_head, head_dim, p, inv_freq, cs,
                     [](uint16_t v) { return fp16_to_fp32(v); }, [](float v) { return fp32_to_fp16(v); });
    });
}

} // namespace epic
