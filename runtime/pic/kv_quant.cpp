// Group-wise K/V quantization (kv_quant.h; the measurements behind its group and axes are there).
#include "pic/kv_quant.h"

#include "common/error.h"
#include "core/fp16.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define EPIC_KVQ_AVX2 1
#endif
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define EPIC_KVQ_AVX512 1
#endif
#if defined(EPIC_KVQ_AVX2) || defined(EPIC_KVQ_AVX512)
#include "core/immintrin_quiet.h"
#endif

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace epic {
namespace {

// The next f16 above a positive (or zero) f16: the scale rounded up.
uint16_t f16_next_up(uint16_t h) { return (uint16_t)(h + 1); }

// The code of (row r, channel c) from a codes tensor [code_rows, w].
inline unsigned code_at(const uint8_t* codes, int bits, int64_t r, int64_t c, int64_t w) {
    if (bits == 8) return codes[r * w + c];
    const uint8_t b = codes[(r >> 1) * w + c];
    return (r & 1) ? (unsigned)(b >> 4) : (unsigned)(b & 0x0f);
}

inline uint16_t decode_one(unsigned code, uint16_t s, uint16_t m) {
    return fp32_to_fp16(std::fma((float)code, fp16_to_fp32(s), fp16_to_fp32(m)));
}

// One group's scale and minimum from its extremes (f16 values, so mn is exact in f16).
struct group_params {
    uint16_t s16, m16;
    float inv; // 1 / scale (0 when the group is constant)
    float mf;
};
inline group_params params_for(float mn, float mx, int qmax) {
    group_params p;
    p.m16 = fp32_to_fp16(mn); // exact: mn is one of the f16 inputs
    p.mf = fp16_to_fp32(p.m16);
    const double range = (double)mx - (double)p.mf;
    p.s16 = fp32_to_fp16((float)(range / qmax));
    // Round the scale up until the top code reaches the maximum (f16 rounding may have shrunk it).
    while ((double)fp16_to_fp32(p.s16) * qmax < range) p.s16 = f16_next_up(p.s16);
    const float sf = fp16_to_fp32(p.s16);
    p.inv = sf > 0.0f ? 1.0f / sf : 0.0f;
    return p;
}

inline unsigned code_for(float x, const group_params& p, int qmax) {
    const float q = std::nearbyint((x - p.mf) * p.inv);
    return (unsigned)std::clamp(q, 0.0f, (float)qmax);
}

// row [n] f16 -> f32.
void to_f32(const uint16_t* x, float* y, int64_t n) {
    int64_t i = 0;
#if defined(EPIC_KVQ_AVX512)
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)(x + i))));
#elif defined(EPIC_KVQ_AVX2)
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(x + i))));
#endif
    for (; i < n; ++i) y[i] = fp16_to_fp32(x[i]);
}

[[noreturn]] void non_finite(const kv_quant_layout& l, int64_t r) {
    throw error("KV quantization: row " + std::to_string(r) + " of a " + std::to_string(l.n_rows) + " x " +
                std::to_string(l.width) + " tensor holds a NaN or an infinity");
}

// Every value of a row [n] must be finite (|x| <= 65504, the largest f16); NaN fails the test too.
inline void check_finite(const kv_quant_layout& l, const float* row, int64_t n, int64_t r) {
    bool ok = true;
    for (int64_t c = 0; c < n; ++c) ok &= std::fabs(row[c]) <= 65504.0f;
    if (!ok) non_finite(l, r);
}

// Stores code q of (row r, channel c). 4-bit codes are OR-ed in: the caller zeroes the codes first.
inline void put_code(uint8_t* codes, int bits, int64_t r, int64_t c, int64_t w, unsigned q) {
    if (bits == 8) codes[r * w + c] = (uint8_t)q;
    else codes[(r >> 1) * w + c] |= (uint8_t)(q << ((r & 1) * 4));
}

void quantize_tokens(const kv_quant_layout& l, const uint16_t* x, uint8_t* codes, uint16_t* scales, uint16_t* mins) {
    const int64_t w = l.width, G = l.group;
    const int qmax = (1 << l.bits) - 1;
    std::vector<float> buf((size_t)(G + 2) * (size_t)w);
    float* rows = buf.data();                 // [G, w] the group's rows in f32
    float* mn = rows + (size_t)G * (size_t)w; // [w]
    float* mx = mn + w;                       // [w]
    std::vector<group_params> gp((size_t)w);  // [w]
    for (int64_t g = 0; g * G < l.n_rows; ++g) {
        const int64_t r0 = g * G, r1 = std::min(l.n_rows, r0 + G);
        for (int64_t r = r0; r < r1; ++r) {
            to_f32(x + r * w, rows + (r - r0) * w, w);
            check_finite(l, rows + (r - r0) * w, w, r);
        }
        std::copy(rows, rows + w, mn);
        std::copy(rows, rows + w, mx);
        for (int64_t r = 1; r < r1 - r0; ++r) {
            const float* row = rows + r * w; // [w]
            for (int64_t c = 0; c < w; ++c) {
                mn[c] = std::min(mn[c], row[c]);
                mx[c] = std::max(mx[c], row[c]);
            }
        }
        for (int64_t c = 0; c < w; ++c) {
            gp[(size_t)c] = params_for(mn[c], mx[c], qmax);
            scales[g * w + c] = gp[(size_t)c].s16;
            mins[g * w + c] = gp[(size_t)c].m16;
        }
        for (int64_t r = r0; r < r1; ++r) {
            const float* row = rows + (r - r0) * w; // [w]
            for (int64_t c = 0; c < w; ++c) put_code(codes, l.bits, r, c, w, code_for(row[c], gp[(size_t)c], qmax));
        }
    }
}

void quantize_channels(const kv_quant_layout& l, const uint16_t* x, uint8_t* codes, uint16_t* scales, uint16_t* mins) {
    const int64_t w = l.width, G = l.group, ng = l.scale_cols();
    const int qmax = (1 << l.bits) - 1;
    std::vector<float> row((size_t)w); // [w]
    for (int64_t r = 0; r < l.n_rows; ++r) {
        to_f32(x + r * w, row.data(), w);
        check_finite(l, row.data(), w, r);
        for (int64_t g = 0; g < ng; ++g) {
            const int64_t c0 = g * G, c1 = std::min(w, c0 + G);
            float mn = row[(size_t)c0], mx = mn;
            for (int64_t c = c0 + 1; c < c1; ++c) {
                mn = std::min(mn, row[(size_t)c]);
                mx = std::max(mx, row[(size_t)c]);
            }
            const group_params p = params_for(mn, mx, qmax);
            scales[r * ng + g] = p.s16;
            mins[r * ng + g] = p.m16;
            for (int64_t c = c0; c < c1; ++c) put_code(codes, l.bits, r, c, w, code_for(row[(size_t)c], p, qmax));
        }
    }
}

// --- decoding -------------------------------------------------------------------------------------

void dequantize_scalar(const kv_quant_layout& l, const uint8_t* codes, const uint16_t* scales, const uint16_t* mins,
                       uint16_t* out) {
    const int64_t w = l.width, ng = l.scale_cols();
    for (int64_t r = 0; r < l.n_rows; ++r)
        for (int64_t c = 0; c < w; ++c) {
            const size_t si = l.axis == kv_quant_axis::tokens ? (size_t)((r / l.group) * w + c) : (size_t)(r * ng + c / l.group);
            out[r * w + c] = decode_one(code_at(codes, l.bits, r, c, w), scales[si], mins[si]);
        }
}

#if defined(EPIC_KVQ_AVX512)
// 16 codes of one row (bytes at q; the high nibbles when shift) -> 16 f16 at out, lanes under `mask`.
inline void decode16_avx512(const uint8_t* q, int bits, int shift, __m512 s, __m512 m, uint16_t* out, __mmask16 mask) {
    __m128i b = _mm_maskz_loadu_epi8(mask, q);
    if (bits == 4) b = _mm_and_si128(shift ? _mm_srli_epi16(b, 4) : b, _mm_set1_epi8(0x0f));
    const __m512 f = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b));
    const __m256i h = _mm512_cvtps_ph(_mm512_fmadd_ps(f, s, m), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_mask_storeu_epi16(out, mask, h);
}

inline __mmask16 lanes(int64_t n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u); }

void dequantize_avx512(const kv_quant_layout& l, const uint8_t* codes, const uint16_t* scales, const uint16_t* mins,
                       uint16_t* out) {
    const int64_t w = l.width, G = l.group, ng = l.scale_cols();
    for (int64_t r = 0; r < l.n_rows; ++r) {
        const uint8_t* q = codes + (l.bits == 8 ? r : r >> 1) * w; // [w] this row's codes
        const int shift = l.bits == 4 && (r & 1);
        uint16_t* o = out + r * w;                                 // [w]
        if (l.axis == kv_quant_axis::tokens) {
            const uint16_t* s = scales + (r / G) * w; // [w]
            const uint16_t* m = mins + (r / G) * w;   // [w]
            for (int64_t c = 0; c < w; c += 16) {
                const __mmask16 k = lanes(w - c);
                const __m512 vs = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, s + c));
                const __m512 vm = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, m + c));
                decode16_avx512(q + c, l.bits, shift, vs, vm, o + c, k);
            }
        } else {
            for (int64_t g = 0; g < ng; ++g) {
                const __m512 vs = _mm512_set1_ps(fp16_to_fp32(scales[r * ng + g]));
                const __m512 vm = _mm512_set1_ps(fp16_to_fp32(mins[r * ng + g]));
                const int64_t c1 = std::min(w, (g + 1) * G);
                for (int64_t c = g * G; c < c1; c += 16) decode16_avx512(q + c, l.bits, shift, vs, vm, o + c, lanes(c1 - c));
            }
        }
    }
}
#endif

#if defined(EPIC_KVQ_AVX2)
// 8 codes of one row -> 8 f16.
inline void decode8_avx2(const uint8_t* q, int bits, int shift, __m256 s, __m256 m, uint16_t* out) {
    __m128i b = _mm_loadl_epi64((const __m128i*)q);
    if (bits == 4) b = _mm_and_si128(shift ? _mm_srli_epi16(b, 4) : b, _mm_set1_epi8(0x0f));
    const __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b));
    _mm_storeu_si128((__m128i*)out, _mm256_cvtps_ph(_mm256_fmadd_ps(f, s, m), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

inline unsigned nibble(const uint8_t* q, int bits, int shift, int64_t c) {
    return bits == 8 ? q[c] : (unsigned)((q[c] >> (shift * 4)) & 0x0f);
}

void dequantize_avx2(const kv_quant_layout& l, const uint8_t* codes, const uint16_t* scales, const uint16_t* mins,
                     uint16_t* out) {
    const int64_t w = l.width, G = l.group, ng = l.scale_cols();
    for (int64_t r = 0; r < l.n_rows; ++r) {
        const uint8_t* q = codes + (l.bits == 8 ? r : r >> 1) * w; // [w]
        const int shift = l.bits == 4 && (r & 1);
        uint16_t* o = out + r * w;                                 // [w]
        if (l.axis == kv_quant_axis::tokens) {
            const uint16_t* s = scales + (r / G) * w; // [w]
            const uint16_t* m = mins + (r / G) * w;   // [w]
            int64_t c = 0;
            for (; c + 8 <= w; c += 8)
                decode8_avx2(q + c, l.bits, shift, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(s + c))),
                             _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(m + c))), o + c);
            for (; c < w; ++c) o[c] = decode_one(nibble(q, l.bits, shift, c), s[c], m[c]);
        } else {
            for (int64_t g = 0; g < ng; ++g) {
                const uint16_t s = scales[r * ng + g], m = mins[r * ng + g];
                const __m256 vs = _mm256_set1_ps(fp16_to_fp32(s)), vm = _mm256_set1_ps(fp16_to_fp32(m));
                const int64_t c1 = std::min(w, (g + 1) * G);
                int64_t c = g * G;
                for (; c + 8 <= c1; c += 8) decode8_avx2(q + c, l.bits, shift, vs, vm, o + c);
                for (; c < c1; ++c) o[c] = decode_one(nibble(q, l.bits, shift, c), s, m);
            }
        }
    }
}
#endif

} // namespace

int kv_format_bits(kv_format f, bool value) {
    switch (f) {
    case kv_format::f16: return 16;
    case kv_format::q8: return 8;
    case kv_format::k8v4: return value ? 4 : 8;
    case kv_format::q4: return 4;
    }
    return 16;
}

const char* kv_quant_axis_name(kv_quant_axis a) { return a == kv_quant_axis::tokens ? "tokens" : "channels"; }

kv_quant_axis parse_kv_quant_axis(const std::string& name) {
    if (name == "tokens") return kv_quant_axis::tokens;
    if (name == "channels") return kv_quant_axis::channels;
    throw error("unknown quantization axis '" + name + "' (expected tokens or channels)");
}

void kv_quant_layout::check() const {
    const std::string what = "KV quantization layout " + std::to_string(n_rows) + " x " + std::to_string(width) + ", " +
                             std::to_string(bits) + " bits, groups of " + std::to_string(group);
    if (bits != 8 && bits != 4) throw error(what + ": bits must be 8 or 4");
    if (group < 2 || group > 4096 || group % 2) throw error(what + ": the group must be even, 2..4096");
    if (n_rows <= 0 || width <= 0 || n_rows > (1ll << 31) || width > (1ll << 31) || n_rows * width > (1ll << 40))
        throw error(what + ": implausible sizes");
}

void kv_quantize(const kv_quant_layout& l, const uint16_t* x, uint8_t* codes, uint16_t* scales, uint16_t* mins) {
    l.check();
    if (l.bits == 4) std::fill(codes, codes + l.code_bytes(), (uint8_t)0);
    if (l.axis == kv_quant_axis::tokens) quantize_tokens(l, x, codes, scales, mins);
    else quantize_channels(l, x, codes, scales, mins);
}

void kv_dequantize_scalar(const kv_quant_layout& l, const uint8_t* codes, const uint16_t* scales, const uint16_t* mins,
                          uint16_t* out) {
    l.check();
    dequantize_scalar(l, codes, scales, mins, out);
}

kv_simd kv_dequantize_best() {
#if defined(EPIC_KVQ_AVX512)
    return kv_simd::avx512;
#elif defined(EPIC_KVQ_AVX2)
    return kv_simd::avx2;
#else
    return kv_simd::scalar;
#endif
}

const char* kv_simd_name(kv_simd s) {
    switch (s) {
    case kv_simd::scalar: return "scalar";
    case kv_simd::avx2: return "AVX2";
    case kv_simd::avx512: return "AVX-512";
    }
    return "?";
}

bool kv_dequantize_with(kv_simd s, const kv_quant_layout& l, const uint8_t* codes, const uint16_t* scales,
                        const uint16_t* mins, uint16_t* out) {
    l.check();
    switch (s) {
    case kv_simd::scalar: dequantize_scalar(l, codes, scales, mins, out); return true;
    case kv_simd::avx2:
#if defined(EPIC_KVQ_AVX2)
        dequantize_avx2(l, codes, scales, mins, out);
        return true;
#else
        return false;
#endif
    case kv_simd::avx512:
#if defined(EPIC_KVQ_AVX512)
        dequantize_avx512(l, codes, scales, mins, out);
        return true;
#else
        return false;
#endif
    }
    return false;
}

void kv_dequantize(const kv_quant_layout& l, const uint8_t* codes, const uint16_t* scales, const uint16_t* mins,
                   uint16_t* out) {
    kv_dequantize_with(kv_dequantize_best(), l, codes, scales, mins, out);
}

} // namespace epic
