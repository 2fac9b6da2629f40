#pragma once
// CPU emulation of cuda_fp16.h: __half / __half2 and the conversion intrinsics the kernels use,
// rounding to nearest-even exactly as the device does.
#include <cstdint>
#include <cstring>

struct __half {
    uint16_t bits;
};
struct __half2 {
    __half x, y;
};
struct float2 {
    float x, y;
};
struct float4 {
    float x, y, z, w;
};
inline float2 make_float2(float x, float y) { return float2{x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }

namespace epic::cuda_emu {

inline uint32_t float_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}
inline float bits_float(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

// IEEE binary32 -> binary16, round to nearest-even, overflow to inf, NaN kept quiet.
inline uint16_t f32_to_f16_bits(float f) {
    const uint32_t x = float_bits(f);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const uint32_t mag = x & 0x7fffffffu;
    if (mag > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((mag >> 13) & 0x3ffu)); // NaN
    if (mag >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);                          // rounds to inf
    if (mag < 0x38800000u) {                                                              // subnormal or zero
        // value * 2^24 rounded to an integer (nearest-even through the float adder).
        const float scaled = bits_float(mag) * 16777216.0f; // exact: mag < 2^-14
        const float r = (scaled + 12582912.0f) - 12582912.0f; // 1.5 * 2^23 forces integer rounding
        return (uint16_t)(sign | (uint32_t)r);
    }
    const uint32_t exp_mant = mag - 0x38000000u; // rebias 127 -> 15
    const uint32_t rounded = exp_mant + 0x0fffu + ((exp_mant >> 13) & 1u);
    return (uint16_t)(sign | (rounded >> 13));
}

inline float f16_bits_to_f32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0) {
        const float v = (float)m * (1.0f / 16777216.0f); // subnormal: m * 2^-24
        return bits_float(float_bits(v) | sign);
    }
    if (e == 31) return bits_float(sign | 0x7f800000u | (m << 13));
    return bits_float(sign | ((e + 112u) << 23) | (m << 13));
}

} // namespace epic::cuda_emu

inline __half __float2half_rn(float f) { return __half{epic::cuda_emu::f32_to_f16_bits(f)}; }
inline __half __float2half(float f) { return __float2half_rn(f); }
inline float __half2float(__half h) { return epic::cuda_emu::f16_bits_to_f32(h.bits); }
inline __half __ushort_as_half(unsigned short u) { return __half{u}; }
inline unsigned short __half_as_ushort(__half h) { return h.bits; }
inline __half2 __floats2half2_rn(float a, float b) { return __half2{__float2half_rn(a), __float2half_rn(b)}; }
inline __half2 __float2half2_rn(float a) { return __half2{__float2half_rn(a), __float2half_rn(a)}; }
inline float2 __half22float2(__half2 h) { return float2{__half2float(h.x), __half2float(h.y)}; }
inline float __low2float(__half2 h) { return __half2float(h.x); }
inline float __high2float(__half2 h) { return __half2float(h.y); }
