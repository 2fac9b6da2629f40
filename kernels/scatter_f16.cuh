#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace epic {

// dst[rows[i], 0..width) = f16(src[i, 0..width)) for i < n; src [n, width] f32, dst [*, width] f16,
// rows [n] device memory. Writes K/V of freshly computed rows into the KV cache at their positions.
cudaError_t launch_scatter_f16(const float* src, const int32_t* rows, int n, int width, uint16_t* dst, cudaStream_t stream);

} // namespace epic
