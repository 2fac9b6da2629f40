// Tile kernels for the K-quants (q4_K, q5_K, q6_K) against q8_K activations. Per 256-element
// super-block and (row, column) pair: integer dots per sub-block (vpmaddubsw: u8 weights x s8
// activations into i16 pairs, which cannot saturate for <= 6-bit weights), weighted by the integer
// sub-block scales (vpdpwssd), one int->float conversion, and the min/offset term from the q8_K
// bsums. Weight unpacking and scale decoding happen once per row, reused across the tile's columns.
#include "quant/simd.h"

#if defined(EPIC_QUANT_SIMD)
#include "quant/blocks.h"

#include <cstring>
#include <type_traits>

namespace epic::quant_detail {
namespace {

// Decoded per-row super-block data for q4_K/q5_K: the 8 sub-block scales, and the 8 mins widened to
// i32 to meet the pairwise sums of the 16 bsums (sub-block j covers bsums 2j and 2j+1).
struct k4_row {
    __m256i mins32;
    __m256 d, dmin;
    alignas(8) uint8_t sc[8];
};

// The 12 scale bytes hold 8 six-bit scales and 8 six-bit mins (ggml's get_scale_min_k4 layout):
// sub-blocks 0-3 in the low 6 bits of bytes 0-3 (scales) and 4-7 (mins); sub-blocks 4-7 take their
// low 4 bits from bytes 8-11 and their top 2 bits from the spare top bits of bytes 0-7. Decoding
// all 16 values with 32-bit masks and shifts avoids a per-value scalar loop, which dominated the
// single-column (decode) case.
inline void decode_k4(const uint8_t* scales, uint16_t d, uint16_t dmin, k4_row& row) {
    uint32_t u[3];
    std::memcpy(u, scales, 12);
    const uint32_t sc_lo = u[0] & 0x3f3f3f3fu;
    const uint32_t m_lo = u[1] & 0x3f3f3f3fu;
    const uint32_t sc_hi = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
    const uint32_t m_hi = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
    std::memcpy(row.sc, &sc_lo, 4);
    std::memcpy(row.sc + 4, &sc_hi, 4);
    const uint64_t mins = (uint64_t)m_lo | ((uint64_t)m_hi << 32);
    row.mins32 = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)mins));
    row.d = _mm256_set1_ps(half_to_float(d));
    row.dmin = _mm256_set1_ps(half_to_float(dmin));
}

template <bool five_bit>
struct k4_kernel {
    using block = std::conditional_t<five_bit, block_q5_k, block_q4_k>;
    static constexpr int rows = 4, cols = 4;
    static constexpr int decode_rows = 4; // measured: 1 is 10% slower for q4_K (its 144-byte blocks stream well in four rows)

    template <int R, int C>
    static void tile(int64_t n, const char* w, size_t ws, const char* a, size_t as, float* out, size_t os) {
        const int64_t nb = n / 256;
        const __m256i m4 = _mm256_set1_epi8(0x0F);
        __m256 acc[R][C];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; ++b) { // [R rows] x [C cols] x 256 elements
            const block* wb[R];
            const block_q8_k* ab[C];
            k4_row row[R];
            for (int r = 0; r < R; ++r) {
                wb[r] = (const block*)(w + r * ws) + b;
                decode_k4(wb[r]->scales, wb[r]->d, wb[r]->dmin, row[r]);
            }
            for (int c = 0; c < C; ++c) ab[c] = (const block_q8_k*)(a + c * as) + b;
            __m256i isum[R][C];
            for (int r = 0; r < R; ++r)
                for (int c = 0; c < C; ++c) isum[r][c] = _mm256_setzero_si256();
            static_for<8>([&]<int J>() { // sub-block J: elements 32J..32J+32
                constexpr int chunk = J / 2;
                __m256i q[R], sc[R];
                for (int r = 0; r < R; ++r) {
                    const __m256i raw = _mm256_loadu_si256((const __m256i*)(wb[r]->qs + 32 * chunk));
                    q[r] = (J & 1) ? _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4) : _mm256_and_si256(raw, m4);
                    if constexpr (five_bit) {
                        const __m256i hb = _mm256_loadu_si256((const __m256i*)wb[r]->qh);
                        // bit J of qh[l] becomes bit 4 of element 32J+l
                        const __m256i h = J <= 4 ? _mm256_slli_epi16(hb, 4 - J) : _mm256_srli_epi16(hb, J - 4);
                        q[r] = _mm256_or_si256(q[r], _mm256_and_si256(h, _mm256_set1_epi8(0x10)));
                    }
                    sc[r] = _mm256_set1_epi16(row[r].sc[J]);
                }
                for (int c = 0; c < C; ++c) {
                    const __m256i av = _mm256_loadu_si256((const __m256i*)(ab[c]->qs + 32 * J));
                    for (int r = 0; r < R; ++r)
                        isum[r][c] = dot_i16(isum[r][c], _mm256_maddubs_epi16(q[r], av), sc[r]);
                }
            });
            for (int c = 0; c < C; ++c) {
                // bsums[2j] + bsums[2j+1]: the activation sum over sub-block j, as i32
                const __m256i bsum_pairs =
                    _mm256_madd_epi16(_mm256_loadu_si256((const __m256i*)ab[c]->bsums), _mm256_set1_epi16(1));
                const __m256 da = _mm256_set1_ps(ab[c]->d);
                for (int r = 0; r < R; ++r) {
                    const __m256i msum = _mm256_mullo_epi32(bsum_pairs, row[r].mins32);
                    const __m256 v = _mm256_fmsub_ps(_mm256_cvtepi32_ps(isum[r][c]), row[r].d,
                                                     _mm256_mul_ps(_mm256_cvtepi32_ps(msum), row[r].dmin));
                    acc[r][c] = _mm256_fmadd_ps(v, da, acc[r][c]);
                }
            }
        }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) out[c * os + r] = hsum(acc[r][c]);
    }
};

struct q6_kernel {
    static constexpr int rows = 4, cols = 4;
    static constexpr int decode_rows = 1; // measured: q6_K decode +55% against 4

    template <int R, int C>
    static void tile(int64_t n, const char* w, size_t ws, const char* a, size_t as, float* out, size_t os) {
        const int64_t nb = n / 256;
        const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
        __m256 acc[R][C];
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; ++b) { // [R rows] x [C cols] x 256 elements
            const block_q6_k* wb[R];
            const block_q8_k* ab[C];
            for (int r = 0; r < R; ++r) wb[r] = (const block_q6_k*)(w + r * ws) + b;
            for (int c = 0; c < C; ++c) ab[c] = (const block_q8_k*)(a + c * as) + b;
            // The stored 6-bit values are q+32 (unsigned, fit vpmaddubsw); the -32 comes back as
            // -32 * sum_j sc_j * bsums_j, which seeds the integer accumulator.
            __m256i isum[R][C];
            for (int r = 0; r < R; ++r) {
                const __m256i neg32sc = _mm256_mullo_epi16(
                    _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)wb[r]->scales)), _mm256_set1_epi16(-32));
                for (int c = 0; c < C; ++c)
                    isum[r][c] = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i*)ab[c]->bsums), neg32sc);
            }
            static_for<8>([&]<int G>() { // group G: elements 32G..32G+32 = sub-blocks 2G, 2G+1
                constexpr int h = G / 4, g = G % 4;
                __m256i q[R], sc[R];
                for (int r = 0; r < R; ++r) {
                    const __m256i ql = _mm256_loadu_si256((const __m256i*)(wb[r]->ql + 64 * h + 32 * (g & 1)));
                    const __m256i qh = _mm256_loadu_si256((const __m256i*)(wb[r]->qh + 32 * h));
                    const __m256i lo = g < 2 ? _mm256_and_si256(ql, m4) : _mm256_and_si256(_mm256_srli_epi16(ql, 4), m4);
                    // bits 2g, 2g+1 of qh become bits 4, 5
                    const __m256i hi = 2 * g <= 4 ? _mm256_slli_epi16(qh, 4 - 2 * g) : _mm256_srli_epi16(qh, 2 * g - 4);
                    q[r] = _mm256_or_si256(lo, _mm256_and_si256(hi, m30));
                    sc[r] = _mm256_set_m128i(_mm_set1_epi16(wb[r]->scales[2 * G + 1]), _mm_set1_epi16(wb[r]->scales[2 * G]));
                }
                for (int c = 0; c < C; ++c) {
                    const __m256i av = _mm256_loadu_si256((const __m256i*)(ab[c]->qs + 32 * G));
                    for (int r = 0; r < R; ++r)
                        isum[r][c] = dot_i16(isum[r][c], _mm256_maddubs_epi16(q[r], av), sc[r]);
                }
            });
            for (int c = 0; c < C; ++c) {
                const __m256 da = _mm256_set1_ps(ab[c]->d);
                for (int r = 0; r < R; ++r) {
                    const __m256 d = _mm256_mul_ps(_mm256_set1_ps(half_to_float(wb[r]->d)), da);
                    acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[r][c]), d, acc[r][c]);
                }
            }
        }
        for (int r = 0; r < R; ++r)
            for (int c = 0; c < C; ++c) out[c * os + r] = hsum(acc[r][c]);
    }
};

} // namespace

void gemm_tile_k_simd(ggml_type t, int64_t n, const void* w, size_t ws, int nr, const void* a, size_t as, int nc,
                      float* out, size_t os) {
    switch (t) {
    case ggml_type::q4_k: return tile_walk<k4_kernel<false>>(n, w, ws, nr, a, as, nc, out, os);
    case ggml_type::q5_k: return tile_walk<k4_kernel<true>>(n, w, ws, nr, a, as, nc, out, os);
    default: return tile_walk<q6_kernel>(n, w, ws, nr, a, as, nc, out, os);
    }
}

} // namespace epic::quant_detail
#endif
