#pragma once
// Greedy sampling on the device: the index of the largest logit, so decoding need not download
// the whole [n_vocab] row per token.
#include <cuda_runtime_api.h>

#include <cstdint>

namespace epic {

// out[r] = index of the largest x[r, 0..n) for r < rows (x [rows, n]); ties go to the lowest index
// and NaNs never win (as generate/sampler.cpp's argmax). out: [rows] device memory.
cudaError_t launch_argmax(const float* x, int rows, int n, int32_t* out, cudaStream_t stream);

} // namespace epic
