#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

namespace epic {

// y[i] += x[i], i < n (the residual adds).
cudaError_t launch_add(float* y, const float* x, size_t n, cudaStream_t stream);

} // namespace epic
