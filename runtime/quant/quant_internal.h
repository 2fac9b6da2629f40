#pragma once
// Internals of the quant module shared by its .cpp files and its tests: the scalar reference dots
// and the SIMD tile kernels, so tests can check one against the other.
#include "core/tensor_type.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace epic::quant_detail {

// Throws epic::error unless t is one of the types this module computes with; returns row_bytes(t, n)
// (which itself throws when n is not a whole number of blocks).
size_t checked_row_bytes(ggml_type t, int64_t n, const char* what);

// Scalar reference: *out = dot(w, a) for one row pair; a is of vec_dot_type(weight). Always compiled.
void vec_dot_scalar(ggml_type weight, int64_t n, const void* w, const void* a, float* out);

// Whether a SIMD tile kernel for this weight type is compiled into this build.
bool simd_available(ggml_type weight);

// SIMD tiled kernel, same contract as epic::gemm_tile. Only call when simd_available(weight).
void gemm_tile_simd(ggml_type weight, int64_t n, const void* w, size_t w_stride, int n_rows, const void* a,
                    size_t a_stride, int n_cols, float* out, size_t out_stride);

// Scalar version of gemm_tile (loops vec_dot_scalar).
void gemm_tile_scalar(ggml_type weight, int64_t n, const void* w, size_t w_stride, int n_rows, const void* a,
                      size_t a_stride, int n_cols, float* out, size_t out_stride);

// ggml's nearest_int: round half to even through the 1.5*2^23 magic constant; valid for |x| < 2^22.
inline int nearest_int(float x) {
    const float v = x + 12582912.f;
    int32_t i;
    std::memcpy(&i, &v, 4);
    return (i & 0x007fffff) - 0x00400000;
}
} // namespace epic::quant_detail
