#pragma once
// Embedding lookup: rows of an f16 table (the backend keeps every weight as f16) to f32.
#include "kernel_status.cuh"

#include <cuda_runtime_api.h>

#include <cstdint>

namespace epic {

// out[n, cols] f32 = table[ids[i], :] with table [rows, cols] f16 and ids [n] in device memory.
// An id outside [0, rows) records kernel_token_out_of_range in *status and writes a zero row.
cudaError_t launch_get_rows_f16(const uint16_t* table, int64_t rows, int64_t cols, const int32_t* ids, int n, float* out,
                                kernel_status* status, cudaStream_t stream);

} // namespace epic
