// Attention on the CPU over an f16 KV sequence: any set of query rows, each at its own global
// position, attends to the keys of rows kv_first..pos (the exact causal rule), grouped-query heads.
//
// Fast path (AVX-512, head_dim a multiple of 16): a task is one KV head x a block of query rows.
// Keys are visited in blocks of key_block rows, converted from f16 once per task and block (K
// transposed to [head_dim, key_block] so 16 scores come out of one FMA chain, V kept as rows), and
// every query head of the group updates an online softmax (flash-attention style): no N x N matrix,
// and the f16 conversion is shared by query_block x group query heads.
// Fallback: one task per (row, head), straight loops.
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/simd_exp.h"
#include "backend/cpu/simd_f16.h"
#include "common/error.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace epic {
namespace {

constexpr int query_block = 16;
constexpr int key_block = 128;

// First key row visible from a query at position pos.
int first_key(const attention_params& p, int32_t pos) {
    return p.window > 0 ? std::max(p.kv_first, pos - p.window + 1) : p.kv_first;
}

void attention_rows_reference(const float* q, const int32_t* pos, int i, int h, const uint16_t* k, const uint16_t* v,
                              float* out, const attention_params& p, float* score) {
    const int group = p.n_head / p.n_head_kv;
    const int g = h / group;
    const size_t q_row = (size_t)p.n_head * p.head_dim;
    const size_t kv_row = (size_t)p.n_head_kv * p.head_dim;
    const float* qh = q + (size_t)i * q_row + (size_t)h * p.head_dim; // [head_dim]
    float* oh = out + (size_t)i * q_row + (size_t)h * p.head_dim;
    const int first = first_key(p, pos[i]), n_keys = pos[i] + 1;
    float max_s = -INFINITY;
    for (int j = first; j < n_keys; ++j) score[j] = dot_f32_f16(qh, k + (size_t)j * kv_row + (size_t)g * p.head_dim, p.head_dim) * p.scale;
    if (p.context.adjusted() && pos[i] >= p.context.end) {
        // APE: the context part's logits at temperature T, its log-sum-exp scaled by S x T.
        const int cb = std::max(first, p.context.begin), ce = std::min(n_keys, p.context.end);
        const float inv_t = 1.0f / p.context.temperature;
        float cmax = -INFINITY;
        for (int j = cb; j < ce; ++j) cmax = std::max(cmax, score[j] * inv_t);
        double csum = 0.0;
        for (int j = cb; j < ce; ++j) csum += std::exp((double)(score[j] * inv_t - cmax));
        const float lse = cb < ce ? cmax + (float)std::log(csum) : 0.0f;
        const float shift = (p.context.scale * p.context.temperature - 1.0f) * lse;
        for (int j = cb; j < ce; ++j) score[j] = score[j] * inv_t + shift;
    }
    for (int j = first; j < n_keys; ++j) max_s = std::max(max_s, score[j]);
    float sum = 0.0f;
    for (int j = first; j < n_keys; ++j) {
        score[j] = std::exp(score[j] - max_s);
        sum += score[j];
    }
    const float inv = 1.0f / sum;
    std::memset(oh, 0, sizeof(float) * (size_t)p.head_dim);
    for (int j = first; j < n_keys; ++j) axpy_f16(oh, score[j] * inv, v + (size_t)j * kv_row + (size_t)g * p.head_dim, p.head_dim);
}

#if defined(__AVX512F__)
// Scratch of one task: K^T block, V block, and per (row, head) softmax state.
struct tile_scratch {
    float* kt;    // [head_dim, key_block]
    float* vb;    // [key_block, head_dim]
    float* acc;   // [query_block * group, head_dim]
    float* m;     // [query_block * group]
    float* l;     // [query_block * group]
    float* score; // [key_block]
};

size_t tile_scratch_floats(int head_dim, int group) {
    return (size_t)head_dim * key_block * 2 + (size_t)query_block * group * (head_dim + 2) + key_block + 64;
}

// acc[0..hd) = acc * corr + sum_{j in [lo, nk)} score[j] * vb[j, :]. The head dimension lives in
// ND registers and two keys are in flight at once: a single accumulator per 16 dims made this loop
// wait on FMA latency and dominated long prefills.
template <int ND>
void accumulate_pv_fixed(float* acc, float corr, const float* score, const float* vb, int lo, int nk) {
    constexpr int hd = ND * 16;
    __m512 a0[ND], a1[ND];
    const __m512 c = _mm512_set1_ps(corr);
    for (int v = 0; v < ND; ++v) {
        a0[v] = _mm512_mul_ps(_mm512_loadu_ps(acc + 16 * v), c);
        a1[v] = _mm512_setzero_ps();
    }
    int j = lo;
    for (; j + 1 < nk; j += 2) {
        const __m512 p0 = _mm512_set1_ps(score[j]), p1 = _mm512_set1_ps(score[j + 1]);
        const float* v0 = vb + (size_t)j * hd; // [2, head_dim]
        for (int v = 0; v < ND; ++v) {
            a0[v] = _mm512_fmadd_ps(p0, _mm512_loadu_ps(v0 + 16 * v), a0[v]);
            a1[v] = _mm512_fmadd_ps(p1, _mm512_loadu_ps(v0 + hd + 16 * v), a1[v]);
        }
    }
    if (j < nk) {
        const __m512 p0 = _mm512_set1_ps(score[j]);
        for (int v = 0; v < ND; ++v) a0[v] = _mm512_fmadd_ps(p0, _mm512_loadu_ps(vb + (size_t)j * hd + 16 * v), a0[v]);
    }
    for (int v = 0; v < ND; ++v) _mm512_storeu_ps(acc + 16 * v, _mm512_add_ps(a0[v], a1[v]));
}

void accumulate_pv(float* acc, float corr, const float* score, const float* vb, int lo, int nk, int hd) {
    switch (hd) {
    case 64: return accumulate_pv_fixed<4>(acc, corr, score, vb, lo, nk);
    case 128: return accumulate_pv_fixed<8>(acc, corr, score, vb, lo, nk);
    case 256: return accumulate_pv_fixed<16>(acc, corr, score, vb, lo, nk);
    default: break;
    }
    const __m512 c = _mm512_set1_ps(corr); // other multiples of 16: one vector at a time
    for (int d = 0; d < hd; d += 16) {
        __m512 a = _mm512_mul_ps(_mm512_loadu_ps(acc + d), c);
        for (int j = lo; j < nk; ++j) a = _mm512_fmadd_ps(_mm512_set1_ps(score[j]), _mm512_loadu_ps(vb + (size_t)j * hd + d), a);
        _mm512_storeu_ps(acc + d, a);
    }
}

void attention_tile_avx512(const float* q, const int32_t* pos, int r0, int r1, int g, const uint16_t* k, const uint16_t* v,
                           float* out, const attention_params& p, const tile_scratch& s) {
    const int hd = p.head_dim, group = p.n_head / p.n_head_kv;
    const size_t q_row = (size_t)p.n_head * hd, kv_row = (size_t)p.n_head_kv * hd;
    const int n_states = (r1 - r0) * group;
    std::fill(s.m, s.m + n_states, -INFINITY);
    std::fill(s.l, s.l + n_states, 0.0f);
    std::fill(s.acc, s.acc + (size_t)n_states * hd, 0.0f);
    int max_pos = p.kv_first, min_first = pos[r0];
    for (int i = r0; i < r1; ++i) {
        max_pos = std::max(max_pos, pos[i]);
        min_first = std::min(min_first, first_key(p, pos[i]));
    }
    alignas(64) float tmp[16];
    for (int kb = min_first; kb <= max_pos; kb += key_block) {
        const int kn = std::min(key_block, max_pos + 1 - kb);
        // Convert this key block of head g: K transposed, V as rows.
        for (int j = 0; j < kn; ++j) {
            const uint16_t* kr = k + (size_t)(kb + j) * kv_row + (size_t)g * hd; // [head_dim]
            const uint16_t* vr = v + (size_t)(kb + j) * kv_row + (size_t)g * hd;
            for (int d = 0; d < hd; d += 16) {
                _mm512_store_ps(tmp, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(kr + d))));
                for (int e = 0; e < 16; ++e) s.kt[(size_t)(d + e) * key_block + j] = tmp[e];
                _mm512_storeu_ps(s.vb + (size_t)j * hd + d,
                                 _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(vr + d))));
            }
        }
        for (int i = r0; i < r1; ++i) {
            const int lo = std::max(0, first_key(p, pos[i]) - kb); // first key of this block row i may see
            if (pos[i] < kb || lo >= kn) continue;
            const int nk = std::min(kn, pos[i] + 1 - kb); // one past the last key of this block row i may see
            const int nv = (nk + 15) / 16;                // score vectors
            for (int hh = 0; hh < group; ++hh) {
                const int h = g * group + hh;
                const float* qh = q + (size_t)i * q_row + (size_t)h * hd; // [head_dim]
                const int st = (i - r0) * group + hh;
                // scores[j] = scale * q . k_j for 16 keys per vector, all vectors in flight at once.
                __m512 sc[key_block / 16];
                for (int t = 0; t < nv; ++t) sc[t] = _mm512_setzero_ps();
                for (int d = 0; d < hd; ++d) {
                    const __m512 qd = _mm512_set1_ps(qh[d]);
                    const float* kt = s.kt + (size_t)d * key_block;
                    for (int t = 0; t < nv; ++t) sc[t] = _mm512_fmadd_ps(qd, _mm512_loadu_ps(kt + 16 * t), sc[t]);
                }
                const __m512 scale = _mm512_set1_ps(p.scale);
                __m512 vmax = _mm512_set1_ps(-INFINITY);
                for (int t = 0; t < nv; ++t) {
                    // keys lo..nk-1 of this block are visible; vector t holds keys 16t..16t+15
                    const int valid_end = std::min(16, nk - 16 * t), valid_begin = std::clamp(lo - 16 * t, 0, 16);
                    const unsigned bits = ((1u << valid_end) - 1u) & ~((1u << valid_begin) - 1u);
                    const __mmask16 mask = (__mmask16)bits;
                    sc[t] = _mm512_mask_mul_ps(_mm512_set1_ps(-INFINITY), mask, sc[t], scale);
                    vmax = _mm512_max_ps(vmax, sc[t]);
                }
                const float m_old = s.m[st];
                const float m_new = std::max(m_old, _mm512_reduce_max_ps(vmax));
                const float corr = std::exp(m_old - m_new); // 0 on the first block (m_old = -inf)
                const __m512 mn = _mm512_set1_ps(m_new);
                __m512 vsum = _mm512_setzero_ps();
                for (int t = 0; t < nv; ++t) {
                    sc[t] = exp512(_mm512_sub_ps(sc[t], mn));
                    vsum = _mm512_add_ps(vsum, sc[t]);
                    _mm512_storeu_ps(s.score + 16 * t, sc[t]);
                }
                s.l[st] = s.l[st] * corr + _mm512_reduce_add_ps(vsum);
                s.m[st] = m_new;
                float* acc = s.acc + (size_t)st * hd; // [head_dim]
                accumulate_pv(acc, corr, s.score, s.vb, lo, nk, hd);
            }
        }
    }
    for (int i = r0; i < r1; ++i)
        for (int hh = 0; hh < group; ++hh) {
            const int st = (i - r0) * group + hh;
            float* oh = out + (size_t)i * q_row + (size_t)(g * group + hh) * hd;
            const float inv = 1.0f / s.l[st];
            for (int d = 0; d < hd; ++d) oh[d] = s.acc[(size_t)st * hd + d] * inv;
        }
}
#endif

} // namespace

void cpu_backend::attention(const float* q, const int32_t* pos, int n, const uint16_t* k, const uint16_t* v, int n_kv,
                            float* out, const attention_params& p) {
    for (int i = 0; i < n; ++i)
        if (pos[i] < p.kv_first || pos[i] >= n_kv)
            throw error("attention: query position " + std::to_string(pos[i]) + " outside the KV sequence of " +
                        std::to_string(n_kv) + " rows");
#if defined(__AVX512F__)
    if (p.head_dim % 16 == 0 && p.head_dim <= 256) {
        const int group = p.n_head / p.n_head_kv;
        const size_t floats = tile_scratch_floats(p.head_dim, group);
        for (auto& sc : scratch_)
            if (sc.size() < floats) sc.resize(floats);
        const int n_qblocks = (n + query_block - 1) / query_block;
        pool_.parallel_for((int64_t)n_qblocks * p.n_head_kv, [&](int64_t task, int thread) {
            const int g = (int)(task % p.n_head_kv), qb = (int)(task / p.n_head_kv);
            float* base = scratch_[(size_t)thread].data();
            tile_scratch s;
            s.kt = base;
            s.vb = s.kt + (size_t)p.head_dim * key_block;
            s.acc = s.vb + (size_t)p.head_dim * key_block;
            s.m = s.acc + (size_t)query_block * group * p.head_dim;
            s.l = s.m + query_block * group;
            s.score = s.l + query_block * group;
            attention_tile_avx512(q, pos, qb * query_block, std::min(n, (qb + 1) * query_block), g, k, v, out, p, s);
        });
        if (!p.context.adjusted()) return;
        // APE rows (the question and the answer after a link: a few rows) again by the reference path,
        // which applies the context temperature; the tiles computed them as plain attention.
        std::vector<int> rows;
        for (int i = 0; i < n; ++i)
            if (pos[i] >= p.context.end) rows.push_back(i);
        for (auto& sc : scratch_)
            if (sc.size() < (size_t)n_kv) sc.resize((size_t)n_kv);
        pool_.parallel_for((int64_t)rows.size() * p.n_head, [&](int64_t task, int thread) {
            attention_rows_reference(q, pos, rows[(size_t)(task / p.n_head)], (int)(task % p.n_head), k, v, out, p,
                                     scratch_[(size_t)thread].data());
        });
        return;
    }
#endif
    for (auto& s : scratch_)
        if (s.size() < (size_t)n_kv) s.resize((size_t)n_kv);
    pool_.parallel_for((int64_t)n * p.n_head, [&](int64_t task, int thread) {
        attention_rows_reference(q, pos, (int)(task / p.n_head), (int)(task % p.n_head), k, v, out, p,
                                 scratch_[(size_t)thread].data());
    });
}

} // namespace epic
