#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

namespace epic {

// out[i] = silu(gate[i]) * up[i] = gate[i] / (1 + exp(-gate[i])) * up[i], i < n. out may alias gate.
cudaError_t launch_swiglu(const float* gate, const float* up, float* out, size_t n, cudaStream_t stream);

} // namespace epic
