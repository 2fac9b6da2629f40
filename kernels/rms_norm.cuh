#pragma once
#include <cuda_runtime_api.h>

namespace epic {

// y[n, dim] = x[n, dim] / sqrt(mean(x^2) + eps) * w[dim]. y may alias x.
cudaError_t launch_rms_norm(const float* x, const float* w, float* y, int n, int dim, float eps, cudaStream_t stream);

} // namespace epic
