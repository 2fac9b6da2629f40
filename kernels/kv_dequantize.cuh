#pragma once
// Quantized chunk caches (runtime/pic/kv_quant.h, the q8 / q4 formats) decoded to f16 on the device,
// so a cache could travel to the GPU at a quarter of its f16 bytes and be expanded there.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace epic {

// out [n_rows, width] f16 = f16(fma(code, scale, min)) (f32 fma, round to nearest even: bit for bit
// what kv_dequantize computes on the CPU). All pointers device memory:
//   codes [code_rows, width] u8: bits 8 one code per byte (code_rows = n_rows); bits 4 rows 2i and
//         2i+1 share byte (i, c), row 2i in the low nibble (code_rows = ceil(n_rows / 2))
//   scales, mins [scale_rows, scale_cols] f16: groups_along_rows (one per channel and group of
//         `group` rows: [ceil(n_rows / group), width]), else one per row and group of `group`
//         channels: [n_rows, ceil(width / group)]
// Returns cudaErrorInvalidValue for bits other than 4 or 8, an odd or non-positive group, or negative
// sizes (nothing launched); otherwise the launch's error.
cudaError_t launch_kv_dequantize_f16(const uint8_t* codes, const uint16_t* scales, const uint16_t* mins, int64_t n_rows,
                                     int64_t width, int bits, int group, bool groups_along_rows, uint16_t* out,
                                     cudaStream_t stream);

} // namespace epic
