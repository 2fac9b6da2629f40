// quantize_row: reference (non-imatrix) quantizers following ggml's quantize_row_*_ref: the same
// scale searches (make_qkx2-style scale+min fit for q4_K/q5_K, make_qx-style weighted scale search
// for q6_K), written for this runtime. Not a hot path: model conversion and tests use it, the
// activations of a matmul go through the same code once per row.
#include "quant/blocks.h"
#include "quant/quant.h"
#include "quant/quant_internal.h"

#include "common/error.h"
#include "core/fp16.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace epic {
namespace {

using quant_detail::nearest_int;

constexpr float group_max_eps = 1e-15f;

void quant_f16(const float* x, uint16_t* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
}

void quant_bf16(const float* x, uint16_t* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = fp32_to_bf16(x[i]);
}

void quant_q8_0(const float* x, block_q8_0* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += 32) {
        float amax = 0.f;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.f;
        const float id = d != 0.f ? 1.f / d : 0.f;
        y[i].d = fp32_to_fp16(d);
        for (int j = 0; j < 32; ++j) y[i].qs[j] = (int8_t)std::round(x[j] * id);
    }
}

void quant_q4_0(const float* x, block_q4_0* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += 32) {
        // The scale maps the signed extreme to -8 so the full [-8, 7] range is used on that side.
        float amax = 0.f, max = 0.f;
        for (int j = 0; j < 32; ++j)
            if (std::fabs(x[j]) > amax) { amax = std::fabs(x[j]); max = x[j]; }
        const float d = max / -8.f;
        const float id = d != 0.f ? 1.f / d : 0.f;
        y[i].d = fp32_to_fp16(d);
        for (int j = 0; j < 16; ++j) {
            const int q0 = std::min(15, (int)(int8_t)(x[j] * id + 8.5f));
            const int q1 = std::min(15, (int)(int8_t)(x[j + 16] * id + 8.5f));
            y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

// q4_1 / q5_1: the block's range [min, max] split into 2^bits - 1 steps; levels round half up.
template <int nmax, typename block>
void quant_with_min(const float* x, block* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += 32) {
        float min = x[0], max = x[0];
        for (int j = 1; j < 32; ++j) {
            min = std::min(min, x[j]);
            max = std::max(max, x[j]);
        }
        const float d = (max - min) / nmax;
        const float id = d != 0.f ? 1.f / d : 0.f;
        y[i].d = fp32_to_fp16(d);
        y[i].m = fp32_to_fp16(min);
        uint8_t L[32];
        for (int j = 0; j < 32; ++j) L[j] = (uint8_t)std::min(nmax, (int)((x[j] - min) * id + 0.5f));
        for (int j = 0; j < 16; ++j) y[i].qs[j] = (uint8_t)((L[j] & 0xF) | ((L[j + 16] & 0xF) << 4));
        if constexpr (nmax == 31) {
            uint32_t qh = 0;
            for (int j = 0; j < 32; ++j) qh |= (uint32_t)(L[j] >> 4) << j;
            std::memcpy(y[i].qh, &qh, 4);
        }
    }
}

// q5_0: as q4_0 with 32 levels: the signed extreme maps to -16.
void quant_q5_0(const float* x, block_q5_0* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += 32) {
        float amax = 0.f, max = 0.f;
        for (int j = 0; j < 32; ++j)
            if (std::fabs(x[j]) > amax) { amax = std::fabs(x[j]); max = x[j]; }
        const float d = max / -16.f;
        const float id = d != 0.f ? 1.f / d : 0.f;
        y[i].d = fp32_to_fp16(d);
        uint32_t qh = 0;
        for (int j = 0; j < 16; ++j) {
            const int q0 = std::min(31, (int)(int8_t)(x[j] * id + 16.5f));
            const int q1 = std::min(31, (int)(int8_t)(x[j + 16] * id + 16.5f));
            y[i].qs[j] = (uint8_t)((q0 & 0xF) | ((q1 & 0xF) << 4));
            qh |= (uint32_t)(q0 >> 4) << j;
            qh |= (uint32_t)(q1 >> 4) << (j + 16);
        }
        std::memcpy(y[i].qh, &qh, 4);
    }
}

// Fits x[i] ~ scale * L[i] - the_min with L in [0, nmax] by weighted least squares, trying
// nstep+1 candidate inverse scales around nmax/(max-min) and keeping the best. Returns scale,
// writes the (positive) min to *the_min. As ggml's make_qkx2_quants.
float fit_scale_min(int n, int nmax, const float* x, const float* w, uint8_t* L, float* the_min, uint8_t* Laux,
                    float rmin, float rdelta, int nstep) {
    float min = x[0], max = x[0];
    float sum_w = w[0], sum_x = w[0] * x[0];
    for (int i = 1; i < n; ++i) {
        min = std::min(min, x[i]);
        max = std::max(max, x[i]);
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        std::fill(L, L + n, 0);
        *the_min = -min;
        return 0.f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; ++i) {
        const int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
        L[i] = (uint8_t)l;
        const float diff = scale * l + min - x[i];
        best_error += w[i] * diff * diff;
    }
    for (int is = 0; is <= nstep; ++is) {
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; ++i) {
            const int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
            Laux[i] = (uint8_t)l;
            sum_l += w[i] * l;
            sum_l2 += w[i] * l * l;
            sum_xl += w[i] * l * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D <= 0) continue;
        float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
        float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
        if (this_min > 0) { // a positive min cannot be stored: refit the scale alone
            this_min = 0;
            this_scale = sum_xl / sum_l2;
        }
        float err = 0;
        for (int i = 0; i < n; ++i) {
            const float diff = this_scale * Laux[i] + this_min - x[i];
            err += w[i] * diff * diff;
        }
        if (err < best_error) {
            std::copy(Laux, Laux + n, L);
            best_error = err;
            scale = this_scale;
            min = this_min;
        }
    }
    *the_min = -min;
    return scale;
}

// Packs 8 (6-bit scale, 6-bit min) pairs exactly as get_scale_min_k4 unpacks them.
void pack_scales_k4(const uint8_t* ls, const uint8_t* lm, uint8_t* s) {
    std::memset(s, 0, 12);
    for (int j = 0; j < 8; ++j) {
        if (j < 4) {
            s[j] |= ls[j];
            s[j + 4] |= lm[j];
        } else {
            s[j + 4] = (uint8_t)((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
            s[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
            s[j] |= (uint8_t)((lm[j] >> 4) << 6);
        }
    }
}

// Shared body of q4_K and q5_K: per sub-block of 32 fit (scale, min), quantize those to 6 bits
// against the super-block maxima, then requantize the elements with the stored scales.
// L receives the final levels in [0, nmax].
void quant_k4_common(const float* x, int nmax, float rmin, float rdelta, int nstep, uint16_t* d_out,
                     uint16_t* dmin_out, uint8_t* scales_out, uint8_t* L) {
    float scales[8], mins[8], weights[32];
    uint8_t Laux[32];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; ++j) {
        const float* xs = x + 32 * j;
        float sum_x2 = 0;
        for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
        const float av_x = std::sqrt(sum_x2 / 32);
        for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xs[l]);
        scales[j] = fit_scale_min(32, nmax, xs, weights, L + 32 * j, &mins[j], Laux, rmin, rdelta, nstep);
        max_scale = std::max(max_scale, scales[j]);
        max_min = std::max(max_min, mins[j]);
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    uint8_t ls[8], lm[8];
    for (int j = 0; j < 8; ++j) {
        ls[j] = (uint8_t)std::min(63, nearest_int(inv_scale * scales[j]));
        lm[j] = (uint8_t)std::min(63, nearest_int(inv_min * mins[j]));
    }
    pack_scales_k4(ls, lm, scales_out);
    *d_out = fp32_to_fp16(max_scale / 63.f);
    *dmin_out = fp32_to_fp16(max_min / 63.f);
    const float d_all = fp16_to_fp32(*d_out), dmin_all = fp16_to_fp32(*dmin_out);
    for (int j = 0; j < 8; ++j) {
        uint8_t sc, m;
        get_scale_min_k4(j, scales_out, &sc, &m);
        const float d = d_all * sc;
        if (d == 0.f) continue; // keep the fit's levels; they multiply a zero scale anyway
        const float dm = dmin_all * m;
        for (int l = 0; l < 32; ++l) L[32 * j + l] = (uint8_t)std::clamp(nearest_int((x[32 * j + l] + dm) / d), 0, nmax);
    }
}

void quant_q4_k(const float* x, block_q4_k* y, int64_t nb) {
    uint8_t L[256];
    for (int64_t i = 0; i < nb; ++i, x += 256) {
        quant_k4_common(x, 15, -1.f, 0.1f, 20, &y[i].d, &y[i].dmin, y[i].scales, L);
        for (int c = 0; c < 4; ++c)
            for (int l = 0; l < 32; ++l) y[i].qs[32 * c + l] = (uint8_t)(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
    }
}

void quant_q5_k(const float* x, block_q5_k* y, int64_t nb) {
    uint8_t L[256];
    for (int64_t i = 0; i < nb; ++i, x += 256) {
        quant_k4_common(x, 31, -0.5f, 0.1f, 15, &y[i].d, &y[i].dmin, y[i].scales, L);
        std::memset(y[i].qh, 0, 32);
        for (int c = 0; c < 4; ++c)
            for (int l = 0; l < 32; ++l) {
                const int l1 = L[64 * c + l], l2 = L[64 * c + 32 + l];
                y[i].qs[32 * c + l] = (uint8_t)((l1 & 0xF) | ((l2 & 0xF) << 4));
                y[i].qh[l] |= (uint8_t)(((l1 >> 4) << (2 * c)) | ((l2 >> 4) << (2 * c + 1)));
            }
    }
}

// Symmetric fit x ~ scale * (L - nmax), L in [0, 2*nmax), weights x^2, searching 19 inverse scales
// around -nmax/max (max = the signed extreme). As ggml's make_qx_quants with rmse_type 1.
float fit_scale_sym(int n, int nmax, const float* x, int8_t* L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; ++i)
        if (std::fabs(x[i]) > amax) { amax = std::fabs(x[i]); max = x[i]; }
    if (amax < group_max_eps) {
        std::fill(L, L + n, 0);
        return 0.f;
    }
    float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
        const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)(l + nmax);
        const float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 != 0 ? sumlx / suml2 : 0.f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        iscale = -(nmax + 0.1f * is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; ++i) {
            const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
            const float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) { // better weighted fit: keep its levels
            for (int i = 0; i < n; ++i)
                L[i] = (int8_t)(nmax + std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

void quant_q6_k(const float* x, block_q6_k* y, int64_t nb) {
    int8_t L[256];
    float scales[16];
    for (int64_t i = 0; i < nb; ++i, x += 256) {
        float max_scale = 0, max_abs_scale = 0;
        for (int ib = 0; ib < 16; ++ib) {
            scales[ib] = fit_scale_sym(16, 32, x + 16 * ib, L + 16 * ib);
            if (std::fabs(scales[ib]) > max_abs_scale) {
                max_abs_scale = std::fabs(scales[ib]);
                max_scale = scales[ib];
            }
        }
        if (max_abs_scale < group_max_eps) {
            std::memset(&y[i], 0, sizeof(block_q6_k));
            continue;
        }
        const float iscale = -128.f / max_scale;
        y[i].d = fp32_to_fp16(1 / iscale);
        for (int ib = 0; ib < 16; ++ib) y[i].scales[ib] = (int8_t)std::min(127, nearest_int(iscale * scales[ib]));
        const float d_all = fp16_to_fp32(y[i].d);
        for (int j = 0; j < 16; ++j) {
            const float d = d_all * y[i].scales[j];
            if (d == 0.f) continue;
            for (int l = 0; l < 16; ++l)
                L[16 * j + l] = (int8_t)(std::clamp(nearest_int(x[16 * j + l] / d), -32, 31) + 32);
        }
        for (int h = 0; h < 2; ++h) { // [2 halves][32]: see block_q6_k for the bit positions
            uint8_t* ql = y[i].ql + 64 * h;
            uint8_t* qh = y[i].qh + 32 * h;
            const int8_t* Lh = L + 128 * h;
            for (int l = 0; l < 32; ++l) {
                const int q1 = Lh[l], q2 = Lh[l + 32], q3 = Lh[l + 64], q4 = Lh[l + 96];
                ql[l] = (uint8_t)((q1 & 0xF) | ((q3 & 0xF) << 4));
                ql[l + 32] = (uint8_t)((q2 & 0xF) | ((q4 & 0xF) << 4));
                qh[l] = (uint8_t)((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
            }
        }
    }
}

void quant_q8_k(const float* x, block_q8_k* y, int64_t nb) {
    for (int64_t i = 0; i < nb; ++i, x += 256) {
        float max = 0, amax = 0;
        for (int j = 0; j < 256; ++j)
            if (std::fabs(x[j]) > amax) { amax = std::fabs(x[j]); max = x[j]; }
        if (amax == 0.f) {
            std::memset(&y[i], 0, sizeof(block_q8_k));
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < 256; ++j) y[i].qs[j] = (int8_t)std::min(127, nearest_int(iscale * x[j]));
        for (int j = 0; j < 16; ++j) {
            int sum = 0;
            for (int l = 0; l < 16; ++l) sum += y[i].qs[16 * j + l];
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1 / iscale;
    }
}

} // namespace

void quantize_row(ggml_type t, const float* src, void* dst, int64_t n) {
    quant_detail::checked_row_bytes(t, n, "quantize_row");
    // Activation types (converted once per token per matmul) take bit-identical SIMD versions.
    if (quant_detail::quantize_row_simd(t, src, dst, n)) return;
    quant_detail::quantize_row_scalar(t, src, dst, n);
}

void quant_detail::quantize_row_scalar(ggml_type t, const float* src, void* dst, int64_t n) {
    switch (t) {
    case ggml_type::f32: std::memcpy(dst, src, (size_t)n * sizeof(float)); return;
    case ggml_type::f16: quant_f16(src, (uint16_t*)dst, n); return;
    case ggml_type::bf16: quant_bf16(src, (uint16_t*)dst, n); return;
    case ggml_type::q8_0: quant_q8_0(src, (block_q8_0*)dst, n / 32); return;
    case ggml_type::q4_0: quant_q4_0(src, (block_q4_0*)dst, n / 32); return;
    case ggml_type::q4_1: quant_with_min<15>(src, (block_q4_1*)dst, n / 32); return;
    case ggml_type::q5_0: quant_q5_0(src, (block_q5_0*)dst, n / 32); return;
    case ggml_type::q5_1: quant_with_min<31>(src, (block_q5_1*)dst, n / 32); return;
    case ggml_type::q4_k: quant_q4_k(src, (block_q4_k*)dst, n / 256); return;
    case ggml_type::q5_k: quant_q5_k(src, (block_q5_k*)dst, n / 256); return;
    case ggml_type::q6_k: quant_q6_k(src, (block_q6_k*)dst, n / 256); return;
    case ggml_type::q8_k: quant_q8_k(src, (block_q8_k*)dst, n / 256); return;
    default: break;
    }
    throw error(std::string("quantize_row: unsupported tensor type ") + type_name(t));
}

} // namespace epic
