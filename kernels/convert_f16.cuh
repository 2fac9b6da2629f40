#pragma once
// f32 activations -> f16, the input cuBLAS's f16 GEMM wants.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace epic {

// dst[i] = f16(src[i]) (round to nearest even; beyond +-65504 becomes +-inf), i < n.
cudaError_t launch_f32_to_f16(const float* src, uint16_t* dst, size_t n, cudaStream_t stream);

} // namespace epic
