#pragma once
// Weights dequantized to f16 on the device, once at load: the CUDA backend keeps every matmul weight
// as f16 so cuBLAS tensor-core GEMMs do the work (see runtime/backend/cuda/cuda_backend.cpp).
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace epic {

// ggml type ids (the numbers of core/tensor_type.h; kernels do not include the runtime):
// f32 0, f16 1, q4_0 2, q4_1 3, q5_0 6, q5_1 7, q8_0 8, q4_K 12, q5_K 13, q6_K 14, bf16 30.
bool dequantize_f16_supported(uint32_t ggml_type_id);

// dst[rows, cols] (f16, dense) = rows of `src` (device memory, row_stride bytes apart, blocks laid
// out as in runtime/quant/blocks.h), dequantized exactly as quant/dequantize_row computes them in
// f32 (same operation order, products rounded on their own) and then rounded to nearest-even f16.
// cols must be a multiple of the type's block size. Returns the launch error (cudaGetLastError).
cudaError_t launch_dequantize_f16(uint32_t ggml_type_id, const void* src, size_t row_stride, int64_t rows, int64_t cols,
                                  uint16_t* dst, cudaStream_t stream);

} // namespace epic
