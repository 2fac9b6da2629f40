#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

namespace epic {

// out[i] = 0.5 x[i] (1 + erf(x[i] / sqrt(2))), i < n: the exact GELU (BERT's "gelu"). out may alias x.
cudaError_t launch_gelu(const float* x, float* out, size_t n, cudaStream_t stream);

} // namespace epic
