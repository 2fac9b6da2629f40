#pragma once
// Rotary position angles shared by every backend's RoPE: pair i of a head (elements 2i, 2i+1 in the
// GGUF interleaved layout) turns by pos * base^(-2i/n_rot) / freq_factor[i].
#include "backend/backend.h"

#include <cmath>
#include <vector>

namespace epic {

// inv_freq[i] = freq_scale * base^(-2i/n_rot) / freq_factor[i], for i < n_rot/2, in double, so
// that angle = pos * inv_freq[i].
inline std::vector<double> rope_inv_freq(const rope_params& p) {
    std::vector<double> f((size_t)p.n_rot / 2);
    for (int i = 0; i < p.n_rot / 2; ++i) {
        f[(size_t)i] = (double)p.freq_scale * std::pow((double)p.freq_base, -2.0 * i / p.n_rot);
        if (p.freq_factors) f[(size_t)i] /= (double)p.freq_factors[i];
    }
    return f;
}

// Index of the partner elements of rotation pair i within a head: (2i, 2i+1) interleaved (llama
// GGUF) or (i, i + n_rot/2) (NEOX / rotate-half, Gemma).
inline int rope_first(const rope_params& p, int i) { return p.neox ? i : 2 * i; }
inline int rope_second(const rope_params& p, int i) { return p.neox ? i + p.n_rot / 2 : 2 * i + 1; }

} // namespace epic
