#pragma once
// Small vector helpers over f16 rows (attention over the f16 KV cache). Scalar fallback included.
#include "core/fp16.h"

#include <cstdint>
#if defined(__AVX2__) && defined(__F16C__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace epic {

// sum_i q[i] * k[i], k in f16.
inline float dot_f32_f16(const float* q, const uint16_t* k, int n) {
    int i = 0;
    float sum = 0.0f;
#if defined(__AVX2__) && defined(__F16C__) && defined(__FMA__)
    __m256 acc = _mm256_setzero_ps();
    for (; i + 8 <= n; i += 8) {
        const __m256 kv = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(k + i)));
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), kv, acc);
    }
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    sum = _mm_cvtss_f32(s);
#endif
    for (; i < n; ++i) sum += q[i] * fp16_to_fp32(k[i]);
    return sum;
}

// out[i] += a * v[i], v in f16.
inline void axpy_f16(float* out, float a, const uint16_t* v, int n) {
    int i = 0;
#if defined(__AVX2__) && defined(__F16C__) && defined(__FMA__)
    const __m256 av = _mm256_set1_ps(a);
    for (; i + 8 <= n; i += 8) {
        const __m256 vv = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v + i)));
        _mm256_storeu_ps(out + i, _mm256_fmadd_ps(av, vv, _mm256_loadu_ps(out + i)));
    }
#endif
    for (; i < n; ++i) out[i] += a * fp16_to_fp32(v[i]);
}

} // namespace epic
