// AMX-INT8 tile kernels for the quantized weight types (q8_0, q4_0, q4_K, q5_K, q6_K) against their
// int8 activations, used for batches (prefill); single columns stay on the AVX-512 VNNI kernels.
//
// Roles: the activations are the A operand (16 tokens x S bytes, loaded straight from the q8_0 /
// q8_K rows with the row stride, no packing), the weights the B operand. B wants the VNNI layout
// (row k/4 holds 4 consecutive k of each of the 16 output columns), so each 16-row weight group is
// unpacked to signed int8 once per 256-element chunk and transposed at 4-byte granularity; that cost
// is shared by every token of the call. Each S-element sub-block (S = 32, or 16 for q6_K, the span
// of one weight scale) is one TDPBSSD into a 16x16 int32 tile, which AVX-512 then converts and
// scales: C[token][row] * (weight scale vector over rows) into float accumulators.
// The integer products are exact and every output element is accumulated in the same order
// whatever the tile split, so results do not depend on how the caller partitions the matrix.
#include "quant/quant_internal.h"
#include "quant/simd.h"

#if defined(EPIC_QUANT_AMX)
#include "quant/blocks.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

namespace epic::quant_detail {
namespace {

// Linux hands out the 8 KiB AMX tile state only to processes that ask (arch_prctl
// ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA); the grant is process-wide and permanent.
bool request_amx_permission() {
    constexpr long arch_req_xcomp_perm = 0x1023, xfeature_xtiledata = 18;
    return syscall(SYS_arch_prctl, arch_req_xcomp_perm, xfeature_xtiledata) == 0;
}

struct alignas(64) tile_config {
    uint8_t palette_id;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
};

// Tiles: 0-3 = C (16 tokens x 16 rows int32); 4,5 = A (16 tokens x S bytes); 6,7 = B (S/4 x 64
// bytes). Four sub-blocks go to four C tiles before any is stored: a product's result is only
// readable after its full latency, so back-to-back independent products keep the unit busy where a
// product-store-product chain would wait on each one (measured 1.05-1.2x over pairs of two).
inline void load_config(int s) {
    tile_config cfg;
    std::memset(&cfg, 0, sizeof cfg);
    cfg.palette_id = 1;
    for (int t = 0; t < 4; ++t) cfg.rows[t] = 16, cfg.colsb[t] = 64;
    for (int t = 0; t < 2; ++t) {
        cfg.rows[4 + t] = 16, cfg.colsb[4 + t] = (uint16_t)s;
        cfg.rows[6 + t] = (uint8_t)(s / 4), cfg.colsb[6 + t] = 64;
    }
    _tile_loadconfig(&cfg);
}

constexpr int chunk = 256;       // elements per unpack step (one K-quant super-block, 8 q8_0 blocks)
constexpr int token_block = 256; // tokens whose accumulators live on the stack at once

// Unpacked weights of one 16-row group over one chunk, VNNI layout: word kk (bytes 4kk..4kk+3 of
// the chunk) of row r at bw[kk * 16 + r]. Sub-block j's B tile then starts at byte j*S*16, stride 64.
struct weight_group {
    alignas(64) int32_t bw[chunk / 4 * 16];
    alignas(64) float scale[16][16];   // [sub-block][row]: the float factor of each integer sub-dot
    alignas(64) float min[8][16];      // [sub-block][row]: dmin*m for q4_K/q5_K
    alignas(64) int8_t rows[16][chunk]; // staging, row-major
};

// Per-type weight unpacking: row r's chunk c (ne elements) to int8 in dst and its scales into
// g.scale[j][r] (and g.min[j][r]).
struct q8_0_unpack {
    static constexpr int s = 32;
    static constexpr bool act_q8k = false, has_mins = false;
    static void row(const char* w, int64_t c, int ne, int8_t* dst, weight_group& g, int r) {
        const block_q8_0* b = (const block_q8_0*)w + c * 8;
        for (int j = 0; j < ne / 32; ++j) {
            std::memcpy(dst + 32 * j, b[j].qs, 32);
            g.scale[j][r] = half_to_float(b[j].d);
        }
    }
};

struct q4_0_unpack {
    static constexpr int s = 32;
    static constexpr bool act_q8k = false, has_mins = false;
    static void row(const char* w, int64_t c, int ne, int8_t* dst, weight_group& g, int r) {
        const block_q4_0* b = (const block_q4_0*)w + c * 8;
        const __m128i m4 = _mm_set1_epi8(0x0F), eight = _mm_set1_epi8(8);
        for (int j = 0; j < ne / 32; ++j) { // byte l: element l (low nibble), l+16 (high)
            const __m128i x = _mm_loadu_si128((const __m128i*)b[j].qs);
            _mm_storeu_si128((__m128i*)(dst + 32 * j), _mm_sub_epi8(_mm_and_si128(x, m4), eight));
            _mm_storeu_si128((__m128i*)(dst + 32 * j + 16), _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(x, 4), m4), eight));
            g.scale[j][r] = half_to_float(b[j].d);
        }
    }
};

// Each byte of x shifted left by k (right for k < 0). 16-bit shifts leak bits between the two bytes
// of a lane only outside the bit range callers mask afterwards (|k| <= 4, bits 4-5 kept).
inline __m256i shift_bytes(__m256i x, int k) {
    return k >= 0 ? _mm256_sll_epi16(x, _mm_cvtsi32_si128(k)) : _mm256_srl_epi16(x, _mm_cvtsi32_si128(-k));
}

// Bit `bit` of every byte of x, moved to bit 4 (0x10 or 0).
inline __m256i bit_to_4(__m256i x, int bit) { return _mm256_and_si256(shift_bytes(x, 4 - bit), _mm256_set1_epi8(0x10)); }

template <bool five_bit>
struct k4_unpack {
    static constexpr int s = 32;
    static constexpr bool act_q8k = true, has_mins = true;
    using block = std::conditional_t<five_bit, block_q5_k, block_q4_k>;
    static void row(const char* w, int64_t c, int, int8_t* dst, weight_group& g, int r) {
        const block& b = ((const block*)w)[c];
        const float d = half_to_float(b.d), dmin = half_to_float(b.dmin);
        for (int j = 0; j < 8; ++j) {
            uint8_t sc, m;
            get_scale_min_k4(j, b.scales, &sc, &m);
            g.scale[j][r] = d * sc;
            g.min[j][r] = dmin * m;
        }
        const __m256i m4 = _mm256_set1_epi8(0x0F);
        for (int ch = 0; ch < 4; ++ch) { // chunk ch: elements 64ch+l (low nibble), 64ch+32+l (high)
            const __m256i raw = _mm256_loadu_si256((const __m256i*)(b.qs + 32 * ch));
            __m256i lo = _mm256_and_si256(raw, m4), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
            if constexpr (five_bit) { // bit 2ch of qh[l] -> element 64ch+l, bit 2ch+1 -> 64ch+32+l
                const __m256i hb = _mm256_loadu_si256((const __m256i*)b.qh);
                lo = _mm256_or_si256(lo, bit_to_4(hb, 2 * ch));
                hi = _mm256_or_si256(hi, bit_to_4(hb, 2 * ch + 1));
            }
            _mm256_storeu_si256((__m256i*)(dst + 64 * ch), lo);
            _mm256_storeu_si256((__m256i*)(dst + 64 * ch + 32), hi);
        }
    }
};

struct q6_unpack {
    static constexpr int s = 16;
    static constexpr bool act_q8k = true, has_mins = false;
    static void row(const char* w, int64_t c, int, int8_t* dst, weight_group& g, int r) {
        const block_q6_k& b = ((const block_q6_k*)w)[c];
        const float d = half_to_float(b.d);
        for (int j = 0; j < 16; ++j) g.scale[j][r] = d * b.scales[j];
        const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30), off = _mm256_set1_epi8(32);
        for (int grp = 0; grp < 8; ++grp) { // elements 32grp..32grp+32 (see block_q6_k)
            const int h = grp / 4, q = grp % 4;
            const __m256i ql = _mm256_loadu_si256((const __m256i*)(b.ql + 64 * h + 32 * (q & 1)));
            const __m256i qh = _mm256_loadu_si256((const __m256i*)(b.qh + 32 * h));
            const __m256i lo = q < 2 ? _mm256_and_si256(ql, m4) : _mm256_and_si256(_mm256_srli_epi16(ql, 4), m4);
            const __m256i hi = _mm256_and_si256(shift_bytes(qh, 4 - 2 * q), m30); // bits 2q, 2q+1 -> 4, 5
            _mm256_storeu_si256((__m256i*)(dst + 32 * grp), _mm256_sub_epi8(_mm256_or_si256(lo, hi), off));
        }
    }
};

// Unpacks rows [r0, r0+nrow) (nrow <= 16; the rest zero) of chunk c into g.
template <typename U>
void unpack_group(const char* w, size_t ws, int nrow, int64_t c, int ne, weight_group& g) {
    constexpr int nsub_max = chunk / U::s;
    for (int r = 0; r < 16; ++r) {
        if (r < nrow) {
            U::row(w + (size_t)r * ws, c, ne, g.rows[r], g, r);
        } else {
            std::memset(g.rows[r], 0, chunk);
            for (int j = 0; j < nsub_max; ++j) g.scale[j][r] = 0.f;
            if constexpr (U::has_mins)
                for (int j = 0; j < 8; ++j) g.min[j][r] = 0.f;
        }
    }
    // 16 x (ne/4) int32 transpose, 16x16 words at a time: [row][kk] -> [kk][row]
    for (int k0 = 0; k0 < ne / 4; k0 += 16) {
        __m512i v[16];
        for (int r = 0; r < 16; ++r) v[r] = _mm512_loadu_si512((const void*)(g.rows[r] + 4 * k0));
        // Standard 4-stage transpose: 32-bit, 64-bit unpacks, then 128-bit lane shuffles.
        __m512i t[16];
        for (int i = 0; i < 8; ++i) {
            t[2 * i] = _mm512_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
            t[2 * i + 1] = _mm512_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
        }
        for (int i = 0; i < 4; ++i) {
            v[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
            v[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
            v[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
            v[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
        }
        // v[4i + q] now holds, in 128-bit lane L, words 4L+q of rows 4i..4i+3.
        for (int i = 0; i < 2; ++i)
            for (int q = 0; q < 4; ++q) {
                const __m512i a = v[8 * i + q], b = v[8 * i + 4 + q];
                t[8 * i + q] = _mm512_shuffle_i32x4(a, b, 0x88);     // lanes 0,2 of a | 0,2 of b
                t[8 * i + 4 + q] = _mm512_shuffle_i32x4(a, b, 0xDD); // lanes 1,3 of a | 1,3 of b
            }
        for (int q = 0; q < 4; ++q) {
            // t[q]: rows0-3 L0, rows0-3 L2, rows4-7 L0, rows4-7 L2; t[8+q] same for rows 8-15.
            const __m512i lo02 = t[q], lo13 = t[4 + q], hi02 = t[8 + q], hi13 = t[12 + q];
            const __m512i l0 = _mm512_shuffle_i32x4(lo02, hi02, 0x88); // lane 0 of rows 0..15
            const __m512i l2 = _mm512_shuffle_i32x4(lo02, hi02, 0xDD); // lane 2
            const __m512i l1 = _mm512_shuffle_i32x4(lo13, hi13, 0x88); // lane 1
            const __m512i l3 = _mm512_shuffle_i32x4(lo13, hi13, 0xDD); // lane 3
            _mm512_store_si512((void*)(g.bw + (k0 + 0 + q) * 16), l0);
            _mm512_store_si512((void*)(g.bw + (k0 + 4 + q) * 16), l1);
            _mm512_store_si512((void*)(g.bw + (k0 + 8 + q) * 16), l2);
            _mm512_store_si512((void*)(g.bw + (k0 + 12 + q) * 16), l3);
        }
    }
}

template <typename U>
void amx_gemm(int64_t n, const char* w, size_t ws, int nr, const char* a, size_t as, int nc, float* out, size_t os) {
    constexpr int s = U::s;
    const int64_t n_chunks = (n + chunk - 1) / chunk;
    load_config(s);
    weight_group g;
    alignas(64) float tot[token_block][16];   // [token][row of the group]
    alignas(64) int32_t cbuf[4][16][16];     // [C tile][token][row]
    alignas(64) int8_t apad[16][chunk];       // a partial token group, zero padded
    alignas(64) float da[16];                 // q8_K: per-token scale of the chunk
    alignas(64) float bs[16][8];              // q8_K: per-token activation sum of each 32-sub-block
    alignas(64) float dq[8][16];              // q8_0: [block][token] scales
    for (int c0 = 0; c0 < nc; c0 += token_block) {
        const int ncb = nc - c0 < token_block ? nc - c0 : token_block;
        const char* ab = a + (size_t)c0 * as;
        for (int r0 = 0; r0 < nr; r0 += 16) {
            const int nrow = nr - r0 < 16 ? nr - r0 : 16;
            std::memset(tot, 0, sizeof(float) * 16 * (size_t)((ncb + 15) & ~15));
            for (int64_t c = 0; c < n_chunks; ++c) {
                const int ne = n - c * chunk < chunk ? (int)(n - c * chunk) : chunk;
                const int nsub = ne / s;
                unpack_group<U>(w + (size_t)r0 * ws, ws, nrow, c, ne, g);
                for (int t0 = 0; t0 < ncb; t0 += 16) { // [16 tokens] x [16 rows] x ne
                    const int ntok = ncb - t0 < 16 ? ncb - t0 : 16;
                    // A operand: token t's sub-block j at abase + t*astride + aoff(j).
                    const char* abase;
                    size_t astride, ablock, aoff0;
                    if constexpr (U::act_q8k) {
                        abase = ab + (size_t)t0 * as, astride = as, aoff0 = c * sizeof(block_q8_k) + 4, ablock = s;
                    } else {
                        abase = ab + (size_t)t0 * as, astride = as, aoff0 = c * 8 * sizeof(block_q8_0) + 2,
                        ablock = sizeof(block_q8_0);
                    }
                    for (int t = 0; t < 16; ++t) {
                        const char* row = ab + (size_t)(t0 + t) * as;
                        if constexpr (U::act_q8k) {
                            const block_q8_k* qb = (const block_q8_k*)row + c;
                            if (t < ntok) {
                                da[t] = qb->d;
                                for (int j = 0; j < 8; ++j) bs[t][j] = (float)(qb->bsums[2 * j] + qb->bsums[2 * j + 1]);
                            } else {
                                da[t] = 0.f;
                                for (int j = 0; j < 8; ++j) bs[t][j] = 0.f;
                            }
                        } else {
                            const block_q8_0* qb = (const block_q8_0*)row + c * 8;
                            for (int j = 0; j < nsub; ++j) dq[j][t] = t < ntok ? half_to_float(qb[j].d) : 0.f;
                        }
                    }
                    if (ntok < 16) { // never read past the last token row: stage the group, zero padded
                        std::memset(apad, 0, sizeof apad);
                        for (int t = 0; t < ntok; ++t)
                            for (int j = 0; j < nsub; ++j)
                                std::memcpy(apad[t] + j * s, ab + (size_t)(t0 + t) * as + aoff0 + j * ablock, s);
                        abase = (const char*)apad, astride = chunk, aoff0 = 0, ablock = s;
                    }
                    __m512 acc[16];
                    for (int t = 0; t < 16; ++t)
                        acc[t] = U::act_q8k ? _mm512_setzero_ps() : _mm512_load_ps(tot[t0 + t]);
                    // GCC's tile intrinsics paste the tile number into the asm: literals only.
#define EPIC_AMX_PRODUCT(C, A, B, J)                                                    \
    do {                                                                                \
        _tile_zero(C);                                                                  \
        _tile_loadd(A, abase + aoff0 + (J) * ablock, (long)astride);                    \
        _tile_loadd(B, (const char*)g.bw + (J) * s * 16, 64);                           \
        _tile_dpbssd(C, A, B);                                                          \
    } while (0)
                    auto convert = [&](int p, int j) {
                        const __m512 sc = _mm512_load_ps(g.scale[j]);
                        for (int t = 0; t < 16; ++t) {
                            const __m512 v = _mm512_cvtepi32_ps(_mm512_load_si512((const void*)cbuf[p][t]));
                            if constexpr (U::act_q8k)
                                acc[t] = _mm512_fmadd_ps(v, sc, acc[t]);
                            else
                                acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(v, sc), _mm512_set1_ps(dq[j][t]), acc[t]);
                        }
                    };
                    int j = 0;
                    for (; j + 4 <= nsub; j += 4) { // 4 independent products, then their stores
                        EPIC_AMX_PRODUCT(0, 4, 6, j);
                        EPIC_AMX_PRODUCT(1, 5, 7, j + 1);
                        EPIC_AMX_PRODUCT(2, 4, 6, j + 2);
                        EPIC_AMX_PRODUCT(3, 5, 7, j + 3);
                        _tile_stored(0, cbuf[0], 64);
                        _tile_stored(1, cbuf[1], 64);
                        _tile_stored(2, cbuf[2], 64);
                        _tile_stored(3, cbuf[3], 64);
                        for (int p = 0; p < 4; ++p) convert(p, j + p);
                    }
                    for (; j < nsub; ++j) { // q8_0 rows whose last chunk is not a multiple of 4 blocks
                        EPIC_AMX_PRODUCT(0, 4, 6, j);
                        _tile_stored(0, cbuf[0], 64);
                        convert(0, j);
                    }
#undef EPIC_AMX_PRODUCT
                    if constexpr (U::act_q8k) {
                        // x = d*sc*q - dmin*m per sub-block: subtract sum_j dmin*m_j * sum(a over j), then
                        // apply the activation scale of the chunk.
                        for (int t = 0; t < 16; ++t) {
                            __m512 v = acc[t];
                            if constexpr (U::has_mins)
                                for (int jj = 0; jj < 8; ++jj)
                                    v = _mm512_fnmadd_ps(_mm512_set1_ps(bs[t][jj]), _mm512_load_ps(g.min[jj]), v);
                            _mm512_store_ps(tot[t0 + t],
                                            _mm512_fmadd_ps(v, _mm512_set1_ps(da[t]), _mm512_load_ps(tot[t0 + t])));
                        }
                    } else {
                        for (int t = 0; t < 16; ++t) _mm512_store_ps(tot[t0 + t], acc[t]);
                    }
                }
            }
            const __mmask16 keep = (__mmask16)((1u << nrow) - 1);
            for (int t = 0; t < ncb; ++t) _mm512_mask_storeu_ps(out + (size_t)(c0 + t) * os + r0, keep, _mm512_load_ps(tot[t]));
        }
    }
    _tile_release();
}

} // namespace

bool amx_available(ggml_type weight) {
    switch (weight) {
    case ggml_type::q8_0: case ggml_type::q4_0: case ggml_type::q4_k: case ggml_type::q5_k: case ggml_type::q6_k:
        break;
    default: return false;
    }
    // Function-local: asked once per process, the first time a batch reaches a quantized matmul.
    static const bool granted = request_amx_permission();
    return granted;
}

void gemm_tile_amx(ggml_type t, int64_t n, const void* w, size_t ws, int nr, const void* a, size_t as, int nc,
                   float* out, size_t os) {
    const char* wc = (const char*)w;
    const char* ac = (const char*)a;
    switch (t) {
    case ggml_type::q8_0: return amx_gemm<q8_0_unpack>(n, wc, ws, nr, ac, as, nc, out, os);
    case ggml_type::q4_0: return amx_gemm<q4_0_unpack>(n, wc, ws, nr, ac, as, nc, out, os);
    case ggml_type::q4_k: return amx_gemm<k4_unpack<false>>(n, wc, ws, nr, ac, as, nc, out, os);
    case ggml_type::q5_k: return amx_gemm<k4_unpack<true>>(n, wc, ws, nr, ac, as, nc, out, os);
    default: return amx_gemm<q6_unpack>(n, wc, ws, nr, ac, as, nc, out, os);
    }
}

} // namespace epic::quant_detail
#endif
