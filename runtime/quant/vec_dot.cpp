// Public entry points of the dot products: argument checks, then the SIMD tile kernels where built
// in (vec_dot and vec_dot_rows are 1-column tiles), else the scalar reference.
#include "quant/quant.h"
#include "quant/quant_internal.h"

#include "common/error.h"

namespace epic {
namespace quant_detail {

size_t checked_row_bytes(ggml_type t, int64_t n, const char* what) {
    switch (t) {
    case ggml_type::f32: case ggml_type::f16: case ggml_type::bf16: case ggml_type::q8_0: case ggml_type::q4_0:
    case ggml_type::q4_1: case ggml_type::q5_0: case ggml_type::q5_1:
    case ggml_type::q4_k: case ggml_type::q5_k: case ggml_type::q6_k: case ggml_type::q8_k:
        return row_bytes(t, n);
    default:
        throw error(std::string(what) + ": unsupported tensor type " + type_name(t));
    }
}

} // namespace quant_detail

ggml_type vec_dot_type(ggml_type weight) {
    switch (weight) {
    case ggml_type::f32: case ggml_type::f16: case ggml_type::bf16: return weight;
    // ggml pairs q4_1/q5_1 with q8_1 (which carries d*sum(a)); q8_0 serves as well here: the
    // kernels take sum(a) from the quants themselves, so one activation format covers every
    // 32-element type.
    case ggml_type::q8_0: case ggml_type::q4_0: case ggml_type::q4_1: case ggml_type::q5_0: case ggml_type::q5_1:
        return ggml_type::q8_0;
    case ggml_type::q4_k: case ggml_type::q5_k: case ggml_type::q6_k: case ggml_type::q8_k: return ggml_type::q8_k;
    default: break;
    }
    throw error(std::string("vec_dot_type: unsupported weight type ") + type_name(weight));
}

void gemm_tile(ggml_type weight, int64_t n, const void* w, size_t w_stride, int n_rows, const void* a,
               size_t a_stride, int n_cols, float* out, size_t out_stride) {
    quant_detail::checked_row_bytes(weight, n, "gemm_tile");
    row_bytes(vec_dot_type(weight), n); // the activation rows must be whole blocks too
    if (n_rows <= 0 || n_cols <= 0) return;
    if (n_cols >= quant_detail::amx_min_cols && quant_detail::amx_available(weight))
        quant_detail::gemm_tile_amx(weight, n, w, w_stride, n_rows, a, a_stride, n_cols, out, out_stride);
    else if (quant_detail::simd_available(weight))
        quant_detail::gemm_tile_simd(weight, n, w, w_stride, n_rows, a, a_stride, n_cols, out, out_stride);
    else
        quant_detail::gemm_tile_scalar(weight, n, w, w_stride, n_rows, a, a_stride, n_cols, out, out_stride);
}

int gemm_col_block(ggml_type weight) { return quant_detail::amx_available(weight) ? 256 : 64; }

void vec_dot(ggml_type weight, int64_t n, const void* w, const void* a, float* out) {
    gemm_tile(weight, n, w, 0, 1, a, 0, 1, out, 1);
}

void vec_dot_rows(ggml_type weight, int64_t n, const void* w, size_t w_stride, int n_rows, const void* a, float* out) {
    gemm_tile(weight, n, w, w_stride, n_rows, a, 0, 1, out, (size_t)n_rows);
}

} // namespace epic
