// SIMD versions of the activation conversions (f16, q8_0, q8_K) that run before every matmul, once
// per token and weight. They must equal the scalar reference in quantize_ref.cpp bit for bit (the
// tests compare them), so each step mirrors it: same products, same rounding rule, same clamps.
#include "quant/quant_internal.h"
#include "quant/simd.h"

#if defined(EPIC_QUANT_SIMD) && defined(__AVX512F__) && defined(__AVX512BW__)
#include "quant/blocks.h"

#include <cmath>
#include <cstring>

namespace epic::quant_detail {
namespace {

inline __m512 abs16(__m512 v) { return _mm512_abs_ps(v); }

void f16_row(const float* x, uint16_t* y, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) // hardware conversion rounds to nearest even, as fp32_to_fp16 does
        _mm256_storeu_si256((__m256i*)(y + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; ++i) y[i] = (uint16_t)_cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

// std::round (half away from zero) of 16 floats: truncate, then step away from zero when the
// dropped part is >= 0.5 (exact: p - trunc(p) has no rounding error below 2^23).
inline __m512i round_away(__m512 p) {
    const __m512 t = _mm512_roundscale_ps(p, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __mmask16 up = _mm512_cmp_ps_mask(abs16(_mm512_sub_ps(p, t)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    const __m512 one = _mm512_or_ps(_mm512_set1_ps(1.f), _mm512_and_ps(p, _mm512_set1_ps(-0.f)));
    return _mm512_cvttps_epi32(_mm512_mask_add_ps(t, up, t, one));
}

void q8_0_row(const float* x, block_q8_0* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += 32) { // [32] per block
        const __m512 a = _mm512_loadu_ps(x), b = _mm512_loadu_ps(x + 16);
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(abs16(a), abs16(b)));
        const float d = amax / 127.f;
        const float id = d != 0.f ? 1.f / d : 0.f;
        y[i].d = (uint16_t)_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        const __m512 vid = _mm512_set1_ps(id);
        _mm_storeu_si128((__m128i*)y[i].qs, _mm512_cvtepi32_epi8(round_away(_mm512_mul_ps(a, vid))));
        _mm_storeu_si128((__m128i*)(y[i].qs + 16), _mm512_cvtepi32_epi8(round_away(_mm512_mul_ps(b, vid))));
    }
}

void q8_k_row(const float* x, block_q8_k* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += 256) { // [256] per super-block
        __m512 m = _mm512_setzero_ps();
        for (int j = 0; j < 256; j += 16) m = _mm512_max_ps(m, abs16(_mm512_loadu_ps(x + j)));
        const float amax = _mm512_reduce_max_ps(m);
        if (amax == 0.f) {
            std::memset(&y[i], 0, sizeof(block_q8_k));
            continue;
        }
        // The reference keeps the first element of largest magnitude (its sign sets the scale's).
        float max = 0.f;
        for (int j = 0; j < 256; ++j)
            if (std::fabs(x[j]) == amax) { max = x[j]; break; }
        const float iscale = -127.f / max;
        const __m512 vs = _mm512_set1_ps(iscale);
        for (int j = 0; j < 16; ++j) { // nearest_int = round to nearest even, the default mode
            const __m512i q = _mm512_min_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(vs, _mm512_loadu_ps(x + 16 * j))),
                                               _mm512_set1_epi32(127));
            _mm_storeu_si128((__m128i*)(y[i].qs + 16 * j), _mm512_cvtepi32_epi8(q));
            y[i].bsums[j] = (int16_t)_mm512_reduce_add_epi32(q);
        }
        y[i].d = 1 / iscale;
    }
}

} // namespace

bool quantize_row_simd(ggml_type t, const float* src, void* dst, int64_t n) {
    switch (t) {
    case ggml_type::f16: f16_row(src, (uint16_t*)dst, n); return true;
    case ggml_type::q8_0: q8_0_row(src, (block_q8_0*)dst, n / 32); return true;
    case ggml_type::q8_k: q8_k_row(src, (block_q8_k*)dst, n / 256); return true;
    default: return false;
    }
}

} // namespace epic::quant_detail
#else
namespace epic::quant_detail {
bool quantize_row_simd(ggml_type, const float*, void*, int64_t) { return false; }
} // namespace epic::quant_detail
#endif
