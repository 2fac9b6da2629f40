#pragma once
// Row-level conversions between tensor types and float, and the dot products the CPU matmul uses.
// Block layouts are ggml's (see blocks.h) so rows read straight out of users' GGUF files.
#include "core/tensor_type.h"

#include <cstddef>
#include <cstdint>

namespace epic {

// dst[0..n) = values of a row of n elements of type t. n a multiple of the block size.
// Types: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k, q8_k (throws epic::error
// for others).
void dequantize_row(ggml_type t, const void* src, float* dst, int64_t n);

// Reference quantizer: writes row_bytes(t, n) bytes. Same types as above. Matches ggml's
// reference (non-imatrix) quantization closely enough to round-trip within the type's error.
void quantize_row(ggml_type t, const float* src, void* dst, int64_t n);

// The type activations are converted to before a dot product with weights of type `weight`:
// f32->f32, f16->f16, bf16->bf16, q8_0/q4_0/q4_1/q5_0/q5_1->q8_0, q4_k/q5_k/q6_k->q8_k.
ggml_type vec_dot_type(ggml_type weight);

// *out = sum_i w[i] * a[i] over n elements, w a row of type `weight`, a a row of vec_dot_type(weight).
// Vectorized (AVX2/AVX-512 where compiled in) with a scalar fallback; never allocates.
void vec_dot(ggml_type weight, int64_t n, const void* w, const void* a, float* out);

// Several weight rows against one activation row: out[r] = dot(w + r*w_stride, a), r < n_rows.
// Lets the SIMD path reuse the activation loads across rows.
void vec_dot_rows(ggml_type weight, int64_t n, const void* w, size_t w_stride, int n_rows, const void* a, float* out);

// out[c * out_stride + r] = dot(w + r*w_stride, a + c*a_stride) for r < n_rows, c < n_cols.
// w: n_rows rows of `weight` type (n elements each); a: n_cols rows of vec_dot_type(weight).
// Register-tiled so each weight load is reused across columns and each activation load across rows.
// Any n_rows/n_cols >= 0; never allocates. Throws epic::error for an unsupported type or a bad n.
void gemm_tile(ggml_type weight, int64_t n, const void* w, size_t w_stride, int n_rows,
               const void* a, size_t a_stride, int n_cols, float* out, size_t out_stride);

// How many activation columns a caller should hand gemm_tile at once for this weight type: wide
// (256) where batches go to the AMX kernels, whose per-call weight unpacking is shared by every
// column; 64 for the register-tiled kernels, whose activation stream should stay in L2.
int gemm_col_block(ggml_type weight);

} // namespace epic
