#pragma once
// Small SIMD helpers shared by the tile kernels (internal to runtime/quant). Everything here exists
// only when AVX2 is compiled in; callers guard on EPIC_QUANT_SIMD.
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define EPIC_QUANT_SIMD 1
#include "core/tensor_type.h"

#include "core/immintrin_quiet.h"

#include <cstddef>
#include <cstdint>
#include <utility>

// AMX-INT8 batch kernels (gemm_tile_amx.cpp): need the tile intrinsics, AVX-512 for the int32->float
// side, and Linux's arch_prctl to enable the tile state.
#if defined(__AMX_TILE__) && defined(__AMX_INT8__) && defined(__AVX512F__) && defined(__AVX512BW__) && \
    defined(__linux__)
#define EPIC_QUANT_AMX 1
#endif

namespace epic::quant_detail {

// acc + sum of 4 adjacent u8*s8 products per int32 lane. Without VNNI the maddubs step saturates
// at +-32767 per byte pair, so callers keep u <= 128 (or u*|s| pairs below that).
inline __m256i dot_u8s8(__m256i acc, __m256i u, __m256i s) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
    return _mm256_dpbusd_epi32(acc, u, s);
#elif defined(__AVXVNNI__)
    return _mm256_dpbusd_avx_epi32(acc, u, s);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}

// acc + sum of 2 adjacent i16*i16 products per int32 lane.
inline __m256i dot_i16(__m256i acc, __m256i a, __m256i b) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
    return _mm256_dpwssd_epi32(acc, a, b);
#elif defined(__AVXVNNI__)
    return _mm256_dpwssd_avx_epi32(acc, a, b);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
#endif
}

inline constexpr bool have_vnni =
#if (defined(__AVX512VNNI__) && defined(__AVX512VL__)) || defined(__AVXVNNI__)
    true;
#else
    false;
#endif

inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Calls f.template operator()<I>() for I = 0..N-1 with I a compile-time constant (for immediates).
template <int N, typename F>
inline void static_for(F&& f) {
    [&]<int... I>(std::integer_sequence<int, I...>) { (f.template operator()<I>(), ...); }(std::make_integer_sequence<int, N>{});
}

// Walks an n_rows x n_cols output in K::rows x K::cols tiles (K::decode_rows x 1 for one column);
// edge tiles use smaller instantiations of the same kernel. K::tile<R, C>(n, w, w_stride, a, a_stride, out, out_stride).
template <typename K, int R, int C>
inline void tile_dispatch_c(int cc, int64_t n, const char* w, size_t ws, const char* a, size_t as, float* out, size_t os) {
    if constexpr (C > 1)
        if (cc < C) return tile_dispatch_c<K, R, C - 1>(cc, n, w, ws, a, as, out, os);
    K::template tile<R, C>(n, w, ws, a, as, out, os);
}

template <typename K, int R, int C>
inline void tile_dispatch(int rr, int cc, int64_t n, const char* w, size_t ws, const char* a, size_t as, float* out,
                          size_t os) {
    if constexpr (R > 1)
        if (rr < R) return tile_dispatch<K, R - 1, C>(rr, cc, n, w, ws, a, as, out, os);
    tile_dispatch_c<K, R, C>(cc, n, w, ws, a, as, out, os);
}

template <typename K>
void tile_walk(int64_t n, const void* w, size_t ws, int n_rows, const void* a, size_t as, int n_cols, float* out,
               size_t os) {
    // Rows outer: the K::rows weight rows stay in L1 while every activation column streams past.
    // One column (decoding a token) has little to share between rows: K::decode_rows rows at a time
    // (1 for most kernels) read the weights as one sequential stream, where four interleaved rows of
    // 1-3 KB each are streams too short for the hardware prefetcher (decode waited on memory). Rows
    // under 512 bytes (SmolLM2's 576 columns) are too short to stream on their own and keep the tile's
    // rows. Each output element is computed the same way in a tile of any size: results do not change.
    constexpr size_t stream_row_bytes = 512;
    const int row_step = n_cols == 1 && ws >= stream_row_bytes ? K::decode_rows : K::rows;
    for (int r0 = 0; r0 < n_rows; r0 += row_step) {
        const int rr = n_rows - r0 < row_step ? n_rows - r0 : row_step;
        for (int c0 = 0; c0 < n_cols; c0 += K::cols) {
            const int cc = n_cols - c0 < K::cols ? n_cols - c0 : K::cols;
            tile_dispatch<K, K::rows, K::cols>(rr, cc, n, (const char*)w + (size_t)r0 * ws, ws,
                                              (const char*)a + (size_t)c0 * as, as, out + (size_t)c0 * os + r0, os);
        }
    }
}

// Per-type tile walkers, one per kernel file.
void gemm_tile_float_simd(ggml_type t, int64_t n, const void* w, size_t ws, int nr, const void* a, size_t as, int nc,
                          float* out, size_t os);
void gemm_tile_q8_simd(ggml_type t, int64_t n, const void* w, size_t ws, int nr, const void* a, size_t as, int nc,
                       float* out, size_t os);
void gemm_tile_k_simd(ggml_type t, int64_t n, const void* w, size_t ws, int nr, const void* a, size_t as, int nc,
                      float* out, size_t os);

} // namespace epic::quant_detail
#endif
