// Tile kernels for the 32-element block types (q8_0, q4_0, q4_1, q5_0, q5_1 weights) against q8_0
// activations: per block one integer dot per (row, column) pair, then one FMA with the product of
// the two f16 scales (and for q4_1/q5_1 one more FMA adding m * da * sum(a)).
// VNNI's vpdpbusd wants an unsigned operand: q4_0 nibbles and q5_0's 5-bit values already are (the
// -8 / -16 offset is folded in as -offset*sum(a)); q8_0 weights are biased by +128 and -128*sum(a)
// is subtracted. Those corrections are per column and seed the accumulator, so a pair costs exactly
// one vpdpbusd. q4_1/q5_1 levels are unsigned with no offset; their minimum needs sum(a), taken per
// column and block with one more vpdpbusd against ones (ggml's q8_1 stores it; q8_0 does not).
#include "quant/simd.h"

#if defined(EPIC_QUANT_SIMD)
#include "quant/blocks.h"

#include <cstring>
#include <type_traits>

namespace epic::quant_detail {
namespace {

// Weight side of a block, prepared once per row and reused across the tile's columns.
struct q8_0_weights {
    static constexpr int8_t bias = (int8_t)0x80; // +128 as an unsigned byte (VNNI path)
    static constexpr char offset = (char)0x80;
    static constexpr bool has_min = false;
    using block = block_q8_0;
    static __m256i unsigned_quants(const block& b) {
        const __m256i q = _mm256_loadu_si256((const __m256i*)b.qs);
        if constexpr (have_vnni) return _mm256_xor_si256(q, _mm256_set1_epi8(bias));
        else return q; // the AVX2 path applies sign tricks per pair instead
    }
};

// 16 bytes of nibble pairs -> 32 lanes: lane k = element k (low nibbles are elements 0..15).
inline __m256i unpack_nibbles(const uint8_t* qs) {
    const __m128i x = _mm_loadu_si128((const __m128i*)qs);
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(x, 4), x);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// The 32 fifth bits of a q5 block (bit k of the little-endian word = element k) as 0x10 in lane k:
// broadcast the word, give lane k the byte holding its bit, keep that bit, compare, mask.
inline __m256i unpack_fifth_bits(const uint8_t* qh) {
    uint32_t bits;
    std::memcpy(&bits, qh, 4);
    const __m256i byte_of_lane = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
    const __m256i bit_of_lane = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    const __m256i b = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), byte_of_lane), bit_of_lane);
    return _mm256_and_si256(_mm256_cmpeq_epi8(b, bit_of_lane), _mm256_set1_epi8(0x10));
}

struct q4_0_weights {
    static constexpr char offset = 8;
    static constexpr bool has_min = false;
    using block = block_q4_0;
    static __m256i unsigned_quants(const block& b) { return unpack_nibbles(b.qs); }
};

struct q4_1_weights {
    static constexpr char offset = 0;
    static constexpr bool has_min = true;
    using block = block_q4_1;
    static __m256i unsigned_quants(const block& b) { return unpack_nibbles(b.qs); }
};

struct q5_0_weights {
    static constexpr char offset = 16;
    static constexpr bool has_min = false;
    using block = block_q5_0;
    static __m256i unsigned_quants(const block& b) { return _mm256_or_si256(unpack_nibbles(b.qs), unpack_fifth_bits(b.qh)); }
};

struct q5_1_weights {
    static constexpr char offset = 0;
    static constexpr bool has_min = true;
    using block = block_q5_1;
    static __m256i unsigned_quants(const block& b) { return _mm256_or_si256(unpack_nibbles(b.qs), unpack_fifth_bits(b.qh)); }
};

template <typename W>
struct q8_act_kernel {
    static constexpr int rows = 4, cols = 4;
    // Measured on TinyLlama-shape rows: q4_0 decode +23%, q8_0 +35% against 4; q4_1 (SmolLM2) is
    // 15% slower with one row: its per-column block sums are then not shared by four rows.
    static constexpr int decode_rows = W::has_min ? 4 : 1;
    static constexpr bool is_q8 = std::is_same_v<W, q8_0_weights>;

    template <int R, int C>
    static void tile(int64_t n, const char* w, size_t ws, const char* a, size_t as, float* out, size_t os) {
        using wblock = typename W::block;
        const int64_t nb = n / 32;
        __m256 acc[R][C];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
        // Offset folded out of the unsigned weights: 128 for biased q8_0, 8 for q4_0, 16 for q5_0.
        constexpr bool seeded = (have_vnni || !is_q8) && W::offset != 0;
        const __m256i offset = _mm256_set1_epi8(W::offset);
        for (int64_t b = 0; b < nb; ++b) { // [R rows] x [C cols] x 32 elements
            __m256i av[C], seed[C];
            __m256 da[C], asum[C]; // asum: per-lane partial sums of a, times da (minimum types only)
            for (int c = 0; c < C; ++c) {
                const block_q8_0& ab = ((const block_q8_0*)(a + c * as))[b];
                av[c] = _mm256_loadu_si256((const __m256i*)ab.qs);
                da[c] = _mm256_set1_ps(half_to_float(ab.d));
                seed[c] = _mm256_setzero_si256();
                if constexpr (seeded)
                    seed[c] = _mm256_sub_epi32(_mm256_setzero_si256(), dot_u8s8(_mm256_setzero_si256(), offset, av[c]));
                if constexpr (W::has_min)
                    asum[c] = _mm256_mul_ps(
                        _mm256_cvtepi32_ps(dot_u8s8(_mm256_setzero_si256(), _mm256_set1_epi8(1), av[c])), da[c]);
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
                    if constexpr (W::has_min) {
                        const __m256 mw = _mm256_set1_ps(half_to_float(wb.m));
                        for (int c = 0; c < C; ++c) acc[r][c] = _mm256_fmadd_ps(asum[c], mw, acc[r][c]);
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
    switch (t) {
    case ggml_type::q8_0: return tile_walk<q8_act_kernel<q8_0_weights>>(n, w, ws, nr, a, as, nc, out, os);
    case ggml_type::q4_1: return tile_walk<q8_act_kernel<q4_1_weights>>(n, w, ws, nr, a, as, nc, out, os);
    case ggml_type::q5_0: return tile_walk<q8_act_kernel<q5_0_weights>>(n, w, ws, nr, a, as, nc, out, os);
    case ggml_type::q5_1: return tile_walk<q8_act_kernel<q5_1_weights>>(n, w, ws, nr, a, as, nc, out, os);
    default: return tile_walk<q8_act_kernel<q4_0_weights>>(n, w, ws, nr, a, as, nc, out, os);
    }
}

} // namespace epic::quant_detail
#endif
