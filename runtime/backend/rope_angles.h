#pragma once
// Rotary position angles shared by every backend's RoPE: pair i of a head (elements 2i, 2i+1 in the
// GGUF interleaved layout) turns by pos * base^(-2i/n_rot) / freq_factor[i].
#include "backend/backend.h"

#include <cmath>
#include <vector>

namespace epic {

// inv_freq[i] = base^(-2i/n_rot) / freq_factor[i], for i < n_rot/2. Computed in double.
inline std::vector<double> rope_inv_freq(const rope_params& p) {
    std::vector<double> f((size_t)p.n_rot / 2);
    for (int i = 0; i < p.n_rot / 2; ++i) {
        f[(size_t)i] = std::pow((double)p.freq_base, -2.0 * i / p.n_rot);
        if (p.freq_factors) f[(size_t)i] /= (double)p.freq_factors[i];
    }
    return f;
}

} // namespace epic
