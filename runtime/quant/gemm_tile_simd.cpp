// Routes gemm_tile to the per-type SIMD tile kernels compiled into this build.
#include "quant/quant_internal.h"
#include "quant/simd.h"

#include "common/error.h"

namespace epic::quant_detail {

#if !defined(EPIC_QUANT_AMX)
bool amx_available(ggml_type) { return false; }

void gemm_tile_amx(ggml_type weight, int64_t, const void*, size_t, int, const void*, size_t, int, float*, size_t) {
    throw error(std::string("gemm_tile_amx: not built in, type ") + type_name(weight));
}
#endif

bool simd_available(ggml_type weight) {
#if defined(EPIC_QUANT_SIMD)
    switch (weight) {
    case ggml_type::f32: case ggml_type::f16: case ggml_type::bf16: case ggml_type::q8_0: case ggml_type::q4_0:
    case ggml_type::q4_1: case ggml_type::q5_0: case ggml_type::q5_1:
    case ggml_type::q4_k: case ggml_type::q5_k: case ggml_type::q6_k:
        return true;
    default: return false;
    }
#else
    (void)weight;
    return false;
#endif
}

void gemm_tile_simd(ggml_type weight, int64_t n, const void* w, size_t ws, int nr, const void* a, size_t as, int nc,
                    float* out, size_t os) {
#if defined(EPIC_QUANT_SIMD)
    switch (weight) {
    case ggml_type::f32: case ggml_type::f16: case ggml_type::bf16:
        return gemm_tile_float_simd(weight, n, w, ws, nr, a, as, nc, out, os);
    case ggml_type::q8_0: case ggml_type::q4_0: case ggml_type::q4_1: case ggml_type::q5_0: case ggml_type::q5_1:
        return gemm_tile_q8_simd(weight, n, w, ws, nr, a, as, nc, out, os);
    case ggml_type::q4_k: case ggml_type::q5_k: case ggml_type::q6_k:
        return gemm_tile_k_simd(weight, n, w, ws, nr, a, as, nc, out, os);
    default: break;
    }
#endif
    throw error(std::string("gemm_tile: no SIMD kernel for ") + type_name(weight));
}

} // namespace epic::quant_detail
