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

// quantize_row without the SIMD fast paths (no argument checks): the reference they must match bit
// for bit.
void quantize_row_scalar(ggml_type t, const float* src, void* dst, int64_t n);

// Bit-identical SIMD quantize_row for the activation types f16, q8_0 and q8_K; returns false (and
// writes nothing) for other types or when not built in.
bool quantize_row_simd(ggml_type t, const float* src, void* dst, int64_t n);

// Whether the AMX batch kernel handles this weight type in this build and process (the OS grants the
// tile state on first call). False without AMX.
bool amx_available(ggml_type weight);

// AMX-INT8 version of gemm_tile for q8_0/q4_0/q4_K/q5_K/q6_K. Only call when amx_available(weight).
void gemm_tile_amx(ggml_type weight, int64_t n, const void* w, size_t w_stride, int n_rows, const void* a,
                   size_t a_stride, int n_cols, float* out, size_t out_stride);

// Fewest columns for which gemm_tile takes the AMX path: below it the 16-token tiles are mostly padding.
inline constexpr int amx_min_cols = 8;

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
