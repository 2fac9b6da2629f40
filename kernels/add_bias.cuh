#pragma once
#include <cuda_runtime_api.h>

namespace epic {

// y[i, j] += b[j] for i < n, j < width: the bias of a projection (Qwen2's q, k, v).
// y: [n, width] f32, b: [width] f32, both device memory.
cudaError_t launch_add_bias(float* y, const float* b, int n, int width, cudaStream_t stream);

} // namespace epic
