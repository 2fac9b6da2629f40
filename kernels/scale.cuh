#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

namespace epic {

// x[i] *= s, i < n (Gemma's embedding scale).
cudaError_t launch_scale(float* x, size_t n, float s, cudaStream_t stream);

} // namespace epic
