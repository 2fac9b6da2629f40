// dequantize_row: bit-exact with ggml's dequantize_row_* (same formula, same float operation order;
// products are rounded before the subtraction, never fused, so results match ggml built without FMA
// contraction and numpy-based readers such as gguf-py).
// -march=native enables FMA and GCC contracts a*b - c into one fused op even in ISO mode, which
// changes the last bit; these pragmas keep this file's products rounded on their own.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#include "quant/blocks.h"
#include "quant/quant.h"
#include "quant/quant_internal.h"

#include "common/error.h"
#include "core/fp16.h"

#if defined(__F16C__) || defined(__AVX2__) || defined(__AVX512F__)
#include "core/immintrin_quiet.h"
#endif

#include <cstring>

namespace epic {
namespace {

void dequant_f16(const uint16_t* x, float* y, int64_t n) {
    int64_t i = 0;
#if defined(__AVX512F__)
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)(x + i))));
#elif defined(__F16C__)
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(x + i))));
#endif
    for (; i < n; ++i) y[i] = fp16_to_fp32(x[i]);
}

void dequant_bf16(const uint16_t* x, float* y, int64_t n) {
    int64_t i = 0;
#if defined(__AVX512F__)
    for (; i + 16 <= n; i += 16) {
        const __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)(x + i)));
        _mm512_storeu_ps(y + i, _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)));
    }
#endif
    for (; i < n; ++i) y[i] = bf16_to_fp32(x[i]);
}

void dequant_q8_0(const block_q8_0* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += 32) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < 32; ++j) y[j] = (float)x[i].qs[j] * d;
    }
}

void dequant_q4_0(const block_q4_0* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += 32) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < 16; ++j) {
            y[j] = (float)((x[i].qs[j] & 0xF) - 8) * d;
            y[j + 16] = (float)((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

inline float rounded_mul(float a, float b) { return a * b; } // not fused: see the pragmas at the top

void dequant_q4_1(const block_q4_1* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += 32) {
        const float d = fp16_to_fp32(x[i].d), m = fp16_to_fp32(x[i].m);
        for (int j = 0; j < 16; ++j) {
            y[j] = rounded_mul((float)(x[i].qs[j] & 0xF), d) + m;
            y[j + 16] = rounded_mul((float)(x[i].qs[j] >> 4), d) + m;
        }
    }
}

// q5_0 / q5_1: element j takes bit j of qh (j < 16 low nibbles, j >= 16 high nibbles).
template <bool with_min, typename block>
void dequant_q5(const block* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += 32) {
        const float d = fp16_to_fp32(x[i].d);
        float m = 0.f;
        if constexpr (with_min) m = fp16_to_fp32(x[i].m);
        uint32_t qh;
        std::memcpy(&qh, x[i].qh, 4);
        for (int j = 0; j < 16; ++j) {
            int q0 = (x[i].qs[j] & 0xF) | (int)(((qh >> j) & 1u) << 4);
            int q1 = (x[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1u) << 4);
            if constexpr (with_min) {
                y[j] = rounded_mul((float)q0, d) + m;
                y[j + 16] = rounded_mul((float)q1, d) + m;
            } else {
                y[j] = (float)(q0 - 16) * d;
                y[j + 16] = (float)(q1 - 16) * d;
            }
        }
    }
}

void dequant_q4_k(const block_q4_k* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        const float dmin = fp16_to_fp32(x[i].dmin);
        const uint8_t* q = x[i].qs;
        for (int c = 0; c < 4; ++c, q += 32) { // 4 chunks of 64 elements = 2 sub-blocks each
            uint8_t sc, m;
            get_scale_min_k4(2 * c, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = dmin * m;
            get_scale_min_k4(2 * c + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; ++l) *y++ = rounded_mul(d1, (float)(q[l] & 0xF)) - m1;
            for (int l = 0; l < 32; ++l) *y++ = rounded_mul(d2, (float)(q[l] >> 4)) - m2;
        }
    }
}

void dequant_q5_k(const block_q5_k* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        const float dmin = fp16_to_fp32(x[i].dmin);
        const uint8_t* ql = x[i].qs;
        const uint8_t* qh = x[i].qh;
        for (int c = 0; c < 4; ++c, ql += 32) {
            uint8_t sc, m;
            get_scale_min_k4(2 * c, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = dmin * m;
            get_scale_min_k4(2 * c + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = dmin * m;
            const uint8_t u1 = (uint8_t)(1u << (2 * c)), u2 = (uint8_t)(2u << (2 * c));
            for (int l = 0; l < 32; ++l)
                *y++ = rounded_mul(d1, (float)((ql[l] & 0xF) + ((qh[l] & u1) ? 16 : 0))) - m1;
            for (int l = 0; l < 32; ++l)
                *y++ = rounded_mul(d2, (float)((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0))) - m2;
        }
    }
}

void dequant_q6_k(const block_q6_k* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        const uint8_t* ql = x[i].ql;
        const uint8_t* qh = x[i].qh;
        const int8_t* sc = x[i].scales;
        for (int h = 0; h < 2; ++h, y += 128, ql += 64, qh += 32, sc += 8) { // two halves of 128
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = (int)((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = (int)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = (int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = (int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                // ggml evaluates d * sc * q left to right: (d * sc) rounded, then * q.
                y[l] = d * (float)sc[is + 0] * (float)q1;
                y[l + 32] = d * (float)sc[is + 2] * (float)q2;
                y[l + 64] = d * (float)sc[is + 4] * (float)q3;
                y[l + 96] = d * (float)sc[is + 6] * (float)q4;
            }
        }
    }
}

void dequant_q8_k(const block_q8_k* x, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, y += 256)
        for (int j = 0; j < 256; ++j) y[j] = x[i].d * (float)x[i].qs[j];
}

} // namespace

void dequantize_row(ggml_type t, const void* src, float* dst, int64_t n) {
    quant_detail::checked_row_bytes(t, n, "dequantize_row");
    switch (t) {
    case ggml_type::f32: std::memcpy(dst, src, (size_t)n * sizeof(float)); return;
    case ggml_type::f16: dequant_f16((const uint16_t*)src, dst, n); return;
    case ggml_type::bf16: dequant_bf16((const uint16_t*)src, dst, n); return;
    case ggml_type::q8_0: dequant_q8_0((const block_q8_0*)src, dst, n / 32); return;
    case ggml_type::q4_0: dequant_q4_0((const block_q4_0*)src, dst, n / 32); return;
    case ggml_type::q4_1: dequant_q4_1((const block_q4_1*)src, dst, n / 32); return;
    case ggml_type::q5_0: dequant_q5<false>((const block_q5_0*)src, dst, n / 32); return;
    case ggml_type::q5_1: dequant_q5<true>((const block_q5_1*)src, dst, n / 32); return;
    case ggml_type::q4_k: dequant_q4_k((const block_q4_k*)src, dst, n / 256); return;
    case ggml_type::q5_k: dequant_q5_k((const block_q5_k*)src, dst, n / 256); return;
    case ggml_type::q6_k: dequant_q6_k((const block_q6_k*)src, dst, n / 256); return;
    case ggml_type::q8_k: dequant_q8_k((const block_q8_k*)src, dst, n / 256); return;
    default: break;
    }
    throw error(std::string("dequantize_row: unsupported tensor type ") + type_name(t));
}

} // namespace epic
