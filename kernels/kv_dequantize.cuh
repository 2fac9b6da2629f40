#pragma once
// Quantized chunk caches (runtime/pic/kv_quant.h, the q8 / k8v4 / q4 formats) decoded to f16 on the device,
// so a cache could travel to the GPU at a quarter of its f16 bytes and be expanded there.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace epic {

// out [n_rows, width] f16 = f16(fma(code, scale, min)) (f32 fma, round to nearest even: bit for bit
// what kv_dequantize computes on the CPU). All pointers device memory:
//   codes [code_rows, width] u8, code_rows = ceil(n_rows * bits / 8): bits 2..8, packed per channel
//         by octets of rows as kv_quant.h describes (8 bits: one code per byte; 4 bits: rows 2i and
//         2i+1 share byte (i, c), row 2i in the low nibble)
//   scales, mins [scale_rows, scale_cols] f16: groups_along_rows (one per channel and group of
//         `group` rows: [ceil(n_rows / group), width]), else one per row and group of `group`
//         channels: [n_rows, ceil(width / group)]
// Returns cudaErrorInvalidValue for bits outside 2..8, an odd or non-positive group, or negative
// sizes (nothing launched); otherwise the launch's error.
cudaError_t launch_kv_dequantize_f16(const uint8_t* codes, const uint16_t* scales, const uint16_t* mins, int64_t n_rows,
                                     int64_t width, int bits, int group, bool groups_along_rows, uint16_t* out,
                                     cudaStream_t stream);

} // namespace epic
