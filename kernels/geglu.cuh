#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

namespace epic {

// out[i] = gelu_tanh(gate[i]) * up[i] (Gemma's FFN, tanh approximation as ggml), i < n. out may alias gate.
cudaError_t launch_geglu(const float* gate, const float* up, float* out, size_t n, cudaStream_t stream);

} // namespace epic
