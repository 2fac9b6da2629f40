#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace epic {

// dst[i, :] = src[rows[i], :] for i < n, width floats per row; rows [n] device memory.
// dst must not overlap src (the caller compacts through a scratch buffer).
cudaError_t launch_gather_rows(const float* src, const int32_t* rows, int n, int width, float* dst, cudaStream_t stream);

} // namespace epic
