#pragma once
// Rotary position embedding, in place, on f32 activations (fresh q/k) and f16 keys (cached pre-RoPE
// keys turned into keys at their global positions when a chunk is linked).
#include <cuda_runtime_api.h>

#include <cstdint>

namespace epic {

struct rope_kernel_params {
    int n_head = 0;
    int head_dim = 0;
    int n_rot = 0;          // rotated dims per head (even, <= head_dim)
    bool neox = false;      // pairs (i, i + n_rot/2) instead of (2i, 2i+1)
    const double* inv_freq = nullptr; // [n_rot/2] device memory: angle of pair i = pos * inv_freq[i]
};

// x[n, n_head, head_dim] f32, row r rotated to position pos[r] (pos: [n] device memory).
cudaError_t launch_rope_f32(float* x, const int32_t* pos, int n, const rope_kernel_params& p, cudaStream_t stream);
// Same on f16 (k: [n, n_head, head_dim]); math in f32, one rounding per element.
cudaError_t launch_rope_f16(uint16_t* k, const int32_t* pos, int n, const rope_kernel_params& p, cudaStream_t stream);

} // namespace epic
