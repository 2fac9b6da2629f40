#pragma once
#include <cuda_runtime_api.h>

namespace epic {

// y[n, dim] = (x[n, dim] - mean) / sqrt(var + eps) * w[dim] + b[dim], mean and biased variance over
// each row (BERT's LayerNorm). All device memory; y may alias x.
cudaError_t launch_layer_norm(const float* x, const float* w, const float* b, float* y, int n, int dim, float eps,
                              cudaStream_t stream);

} // namespace epic
