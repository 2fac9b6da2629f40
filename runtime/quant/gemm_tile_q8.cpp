// Tile kernels for q8_0 and q4_0 weights against q8_0 activations: per 32-element block one integer
// dot per (row, column) pair, then one FMA with the product of the two f16 scales.
// VNNI's vpdpbusd wants an unsigned operand: q4_0 nibbles already are (0..15, the -8 offset is
// folded in as -8*sum(a)); q8_0 weights are biased by +128 and -128*sum(a) is subtracted. Both
// corrections are per column and seed the accumulator, so a pair costs exactly one vpdpbusd.
#include "quant/simd.h"

#if defined(EPIC_QUANT_SIMD)
#include "quant/blocks.h"

#include <type_traits>

namespace epic::quant_detail {
namespace {

// Weight side of a block, prepared once per row and reused across the tile's columns.
struct q8_0_weights {
    static constexpr int8_t bias = (int8_t)0x80; // +128 as an unsigned byte (VNNI path)
    using block = block_q8_0;
    static __m256i unsigned_quants(const block& b) {
        const __m256i q = _mm256_loadu_si256((const __m256i*)b.qs);
        if constexpr (have_vnni) return _mm256_xor_si256(q, _mm256_set1_epi8(bias));
        else return q; // the AVX2 path applies sign tricks per pair instead
    }
};

struct q4_0_weights {
    using block = block_q4_0;
    static __m256i unsigned_quants(const block& b) { // 16 bytes -> 32 nibbles: low = elements 0..15
        const __m128i x = _mm_loadu_si128((const __m128i*)b.qs);
        const __m256i both = _mm256_set_m128i(_mm_srli_epi16(x, 4), x);
        return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
    }
};

template <typename W>
struct q8_act_kernel {
    static constexpr int rows = 4, cols = 4;
    static constexpr bool is_q8 = std::is_same_v<W, q8_0_weights>;

    template <int R, int C>
    static void tile(int64_t n, const char* w, size_t ws, const char* a, size_t as, float* out, size_t os) {
        using wblock = typename W::block;
        const int64_t nb = n / 32;
        __m256 acc[R][C];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
        // Offset folded out of the unsigned weights: 128 for biased q8_0, 8 for q4_0 nibbles.
        const __m256i offset = _mm256_set1_epi8(is_q8 ? (char)0x80 : 8);
        for (int64_t b = 0; b < nb; ++b) { // [R rows] x [C cols] x 32 elements
            __m256i av[C], seed[C];
            __m256 da[C];
            for (int c = 0; c < C; ++c) {
                const block_q8_0& ab = ((const block_q8_0*)(a + c * as))[b];
                av[c] = _mm256_loadu_si256((const __m256i*)ab.qs);
                da[c] = _mm256_set1_ps(half_to_float(ab.d));
                if constexpr (have_vnni || !is_q8)
                    seed[c] = _mm256_sub_epi32(_mm256_setzero_si256(), dot_u8s8(_mm256_setzero_si256(), offset, av[c]));
            }
            for (int r = 0; r < R; ++r) {
                const wblock& wb = ((const wblock*)(w + r * ws))[b];
                const __m256i wq = W::unsigned_quants(wb);
                const __m256 dw = _mm256_set1_ps(half_to_float(wb.d));
                if constexpr (have_vnni || !is_q8) {
                    for (int c = 0; c < C; ++c) {
                        const __m256i isum = dot_u8s8(seed[c], wq, av[c]);
                        acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(dw, da[c]), acc[r][c]);
                    }
                } else {
                    // AVX2 without VNNI, q8_0: |w| (<= 128) times a with w's sign keeps maddubs in range.
                    const __m256i wabs = _mm256_sign_epi8(wq, wq);
                    for (int c = 0; c < C; ++c) {
                        const __m256i isum = dot_u8s8(_mm256_setzero_si256(), wabs, _mm256_sign_epi8(av[c], wq));
                        acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(dw, da[c]), acc[r][c]);
                    }
                }
            }
        }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) out[c * os + r] = hsum(acc[r][c]);
    }
};

} // namespace

void gemm_tile_q8_simd(ggml_type t, int64_t n, const void* w, size_t ws, int nr, const void* a, size_t as, int nc,
                       float* out, size_t os) {
    if (t == ggml_type::q8_0) return tile_walk<q8_act_kernel<q8_0_weights>>(n, w, ws, nr, a, as, nc, out, os);
    return tile_walk<q8_act_kernel<q4_0_weights>>(n, w, ws, nr, a, as, nc, out, os);
}

} // namespace epic::quant_detail
#endif
