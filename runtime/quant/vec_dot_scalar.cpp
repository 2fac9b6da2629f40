// Scalar reference dot products for every weight type (always compiled): the fallback when no SIMD
// kernel is built in, and the yardstick the tests hold the SIMD kernels to.
#include "quant/blocks.h"
#include "quant/quant.h"
#include "quant/quant_internal.h"

#include "common/error.h"
#include "core/fp16.h"

#include <cstring>

namespace epic::quant_detail {
namespace {

float dot_f32(const float* w, const float* a, int64_t n) {
    float s = 0;
    for (int64_t i = 0; i < n; ++i) s += w[i] * a[i];
    return s;
}

float dot_f16(const uint16_t* w, const uint16_t* a, int64_t n) {
    float s = 0;
    for (int64_t i = 0; i < n; ++i) s += fp16_to_fp32(w[i]) * fp16_to_fp32(a[i]);
    return s;
}

float dot_bf16(const uint16_t* w, const uint16_t* a, int64_t n) {
    float s = 0;
    for (int64_t i = 0; i < n; ++i) s += bf16_to_fp32(w[i]) * bf16_to_fp32(a[i]);
    return s;
}

float dot_q8_0(const block_q8_0* w, const block_q8_0* a, int64_t nb) {
    float s = 0;
    for (int64_t i = 0; i < nb; ++i) {
        int isum = 0;
        for (int j = 0; j < 32; ++j) isum += w[i].qs[j] * a[i].qs[j];
        s += fp16_to_fp32(w[i].d) * fp16_to_fp32(a[i].d) * (float)isum;
    }
    return s;
}

float dot_q4_0(const block_q4_0* w, const block_q8_0* a, int64_t nb) {
    float s = 0;
    for (int64_t i = 0; i < nb; ++i) {
        int isum = 0;
        for (int j = 0; j < 16; ++j) {
            isum += ((w[i].qs[j] & 0xF) - 8) * a[i].qs[j];
            isum += ((w[i].qs[j] >> 4) - 8) * a[i].qs[j + 16];
        }
        s += fp16_to_fp32(w[i].d) * fp16_to_fp32(a[i].d) * (float)isum;
    }
    return s;
}

// q4_1 / q5_0 / q5_1 against q8_0 activations: per block d*da*sum(q*a), plus m*da*sum(a) for the
// types with a minimum (q5_0's -16 offset is applied to q directly).
template <int bits, bool with_min, typename block>
float dot_q4q5(const block* w, const block_q8_0* a, int64_t nb) {
    float s = 0;
    for (int64_t i = 0; i < nb; ++i) {
        uint32_t qh = 0;
        if constexpr (bits == 5) std::memcpy(&qh, w[i].qh, 4);
        int isum = 0, asum = 0;
        for (int j = 0; j < 16; ++j) {
            int q0 = w[i].qs[j] & 0xF, q1 = w[i].qs[j] >> 4;
            if constexpr (bits == 5) {
                q0 |= (int)((qh >> j) & 1u) << 4;
                q1 |= (int)((qh >> (j + 16)) & 1u) << 4;
                if constexpr (!with_min) {
                    q0 -= 16;
                    q1 -= 16;
                }
            }
            isum += q0 * a[i].qs[j] + q1 * a[i].qs[j + 16];
            asum += a[i].qs[j] + a[i].qs[j + 16];
        }
        const float da = fp16_to_fp32(a[i].d);
        s += fp16_to_fp32(w[i].d) * da * (float)isum;
        if constexpr (with_min) s += fp16_to_fp32(w[i].m) * da * (float)asum;
    }
    return s;
}

// q4_K and q5_K share the scale/min structure: sum = d*da*sum_j sc_j*dot_j - dmin*da*sum_j m_j*asum_j,
// where asum_j (the activation sum of sub-block j) comes from the q8_K bsums.
template <bool five_bit, typename block>
float dot_k4(const block* w, const block_q8_k* a, int64_t nb) {
    float s = 0;
    for (int64_t i = 0; i < nb; ++i) {
        int sumi = 0, summ = 0;
        for (int j = 0; j < 8; ++j) {
            uint8_t sc, m;
            get_scale_min_k4(j, w[i].scales, &sc, &m);
            const int c = j / 2;
            const int shift = (j & 1) * 4;
            int dot = 0;
            for (int l = 0; l < 32; ++l) {
                int q = (w[i].qs[32 * c + l] >> shift) & 0xF;
                if constexpr (five_bit) q |= ((w[i].qh[l] >> j) & 1) << 4;
                dot += q * a[i].qs[32 * j + l];
            }
            sumi += sc * dot;
            summ += m * (a[i].bsums[2 * j] + a[i].bsums[2 * j + 1]);
        }
        s += a[i].d * fp16_to_fp32(w[i].d) * (float)sumi - a[i].d * fp16_to_fp32(w[i].dmin) * (float)summ;
    }
    return s;
}

float dot_q6_k(const block_q6_k* w, const block_q8_k* a, int64_t nb) {
    float s = 0;
    int8_t q[256];
    for (int64_t i = 0; i < nb; ++i) {
        for (int h = 0; h < 2; ++h) { // unpack the 6-bit values as block_q6_k lays them out
            const uint8_t* ql = w[i].ql + 64 * h;
            const uint8_t* qh = w[i].qh + 32 * h;
            int8_t* qo = q + 128 * h;
            for (int l = 0; l < 32; ++l) {
                qo[l] = (int8_t)(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
                qo[l + 32] = (int8_t)(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                qo[l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                qo[l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
            }
        }
        int sumi = 0;
        for (int j = 0; j < 16; ++j) {
            int dot = 0;
            for (int l = 0; l < 16; ++l) dot += q[16 * j + l] * a[i].qs[16 * j + l];
            sumi += w[i].scales[j] * dot;
        }
        s += a[i].d * fp16_to_fp32(w[i].d) * (float)sumi;
    }
    return s;
}

float dot_q8_k(const block_q8_k* w, const block_q8_k* a, int64_t nb) {
    float s = 0;
    for (int64_t i = 0; i < nb; ++i) {
        int isum = 0;
        for (int j = 0; j < 256; ++j) isum += w[i].qs[j] * a[i].qs[j];
        s += w[i].d * a[i].d * (float)isum;
    }
    return s;
}

} // namespace

void vec_dot_scalar(ggml_type weight, int64_t n, const void* w, const void* a, float* out) {
    switch (weight) {
    case ggml_type::f32: *out = dot_f32((const float*)w, (const float*)a, n); return;
    case ggml_type::f16: *out = dot_f16((const uint16_t*)w, (const uint16_t*)a, n); return;
    case ggml_type::bf16: *out = dot_bf16((const uint16_t*)w, (const uint16_t*)a, n); return;
    case ggml_type::q8_0: *out = dot_q8_0((const block_q8_0*)w, (const block_q8_0*)a, n / 32); return;
    case ggml_type::q4_0: *out = dot_q4_0((const block_q4_0*)w, (const block_q8_0*)a, n / 32); return;
    case ggml_type::q4_1: *out = dot_q4q5<4, true>((const block_q4_1*)w, (const block_q8_0*)a, n / 32); return;
    case ggml_type::q5_0: *out = dot_q4q5<5, false>((const block_q5_0*)w, (const block_q8_0*)a, n / 32); return;
    case ggml_type::q5_1: *out = dot_q4q5<5, true>((const block_q5_1*)w, (const block_q8_0*)a, n / 32); return;
    case ggml_type::q4_k: *out = dot_k4<false>((const block_q4_k*)w, (const block_q8_k*)a, n / 256); return;
    case ggml_type::q5_k: *out = dot_k4<true>((const block_q5_k*)w, (const block_q8_k*)a, n / 256); return;
    case ggml_type::q6_k: *out = dot_q6_k((const block_q6_k*)w, (const block_q8_k*)a, n / 256); return;
    case ggml_type::q8_k: *out = dot_q8_k((const block_q8_k*)w, (const block_q8_k*)a, n / 256); return;
    default: break;
    }
    throw error(std::string("vec_dot: unsupported weight type ") + type_name(weight));
}

void gemm_tile_scalar(ggml_type weight, int64_t n, const void* w, size_t w_stride, int n_rows, const void* a,
                      size_t a_stride, int n_cols, float* out, size_t out_stride) {
    for (int c = 0; c < n_cols; ++c)
        for (int r = 0; r < n_rows; ++r)
            vec_dot_scalar(weight, n, (const char*)w + (size_t)r * w_stride, (const char*)a + (size_t)c * a_stride,
                           out + (size_t)c * out_stride + r);
}

} // namespace epic::quant_detail
