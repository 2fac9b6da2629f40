// Flash-attention style attention on CUDA cores (f32 math on f16 K/V), no N x N score matrix.
//
// Work unit: a thread block owns one KV head g and up to 16 "slots" = (query row, query head of g's
// group) pairs: `rows_per_block` consecutive rows x `heads_per_block` heads of the group. Grouped
// query heads therefore share every K/V tile the block loads. Each warp owns up to 4 slots and keeps
// their online-softmax state (running max m, sum l, output accumulator) in registers.
//
// Keys are visited in tiles of 32 (one key per lane when scoring): the block copies the tile's K and
// V rows of head g to shared memory, every warp scores its slots (lane j: key j), masks keys outside
// [first(slot), pos(slot)] (exact causal rule + kv_first + window, per slot since rows sit at arbitrary
// positions), rescales its accumulators and adds p_j * V_j (lane owns head dims 2*lane + 64u, +1).
//
// Decode has one row: the grid is then only n_head_kv blocks, so the key range is also split over
// blockIdx.z (flash-decoding); each split writes unnormalized (acc, m, l) partials and a second kernel
// merges them: out = sum_s acc_s e^{m_s - M} / sum_s l_s e^{m_s - M}.
#include "attention.cuh"
#include "kernel_common.cuh"

#include <climits>

namespace epic {
namespace {

constexpr int tile_keys = 32;       // keys per tile = lanes of a warp
constexpr int max_slots = 16;       // (row, head) pairs per block
constexpr int slots_per_warp = 4;   // so at most 4 warps per block
constexpr int max_warps = max_slots / slots_per_warp;

struct attention_plan {
    int group = 0;            // query heads per KV head
    int heads_per_block = 0;  // query heads of one group handled by a block
    int head_chunks = 0;      // blocks per group along y
    int rows_per_block = 0;
    int warps = 0;
    dim3 grid;
    int kstride2 = 0;         // key tile row stride in half2 words: odd, so lanes j hit distinct banks
    size_t smem = 0;
};

attention_plan make_plan(int n, const attention_kernel_params& p) {
    attention_plan a;
    a.group = p.n_head / p.n_head_kv;
    a.heads_per_block = a.group < max_slots ? a.group : max_slots;
    a.head_chunks = (a.group + a.heads_per_block - 1) / a.heads_per_block;
    a.rows_per_block = max_slots / a.heads_per_block;
    if (a.rows_per_block > n) a.rows_per_block = n; // decode: no empty slots
    if (a.rows_per_block < 1) a.rows_per_block = 1;
    const int slots = a.rows_per_block * a.heads_per_block;
    a.warps = slots < max_warps ? slots : max_warps;
    a.grid = dim3((unsigned)((n + a.rows_per_block - 1) / a.rows_per_block), (unsigned)(p.n_head_kv * a.head_chunks), 1);
    const int hd2 = p.head_dim / 2;
    a.kstride2 = (hd2 % 2) ? hd2 : hd2 + 1;
    // q [16, head_dim] f32 + K tile [32, kstride2] half2 + V tile [32, hd2] half2 + lo/hi [16] each.
    a.smem = sizeof(float) * ((size_t)max_slots * p.head_dim + (size_t)tile_keys * a.kstride2 + (size_t)tile_keys * hd2 +
                              2 * max_slots);
    return a;
}

struct attention_args {
    const float* q;       // [n, n_head, head_dim]
    const int32_t* pos;   // [n]
    const __half2* k;     // [n_kv, n_head_kv, head_dim/2] (pairs)
    const __half2* v;     // [n_kv, n_head_kv, head_dim/2]
    float* out;           // [n, n_head, head_dim]
    float* part_acc;      // [n_splits, n, n_head, head_dim] when split
    float* part_ml;       // [n_splits, n, n_head, 2] when split
    kernel_status* status;
    int n, n_kv, n_head, n_head_kv, head_dim;
    int group, heads_per_block, head_chunks, rows_per_block, kstride2;
    int kv_first, window, n_splits, keys_per_split;
    float scale;
};

// P: head-dim pairs per lane / 32, i.e. head_dim <= 64 * P.
template <int P> __global__ void attention_kernel(const attention_args a) {
    float* smem = dynamic_shared_memory<float>();
    const int hd = a.head_dim, hd2 = hd / 2;
    float* qs = smem;                                                    // [16, head_dim] queries * scale
    __half2* ks = reinterpret_cast<__half2*>(qs + max_slots * hd);       // [32, kstride2] key tile
    __half2* vs = ks + tile_keys * a.kstride2;                           // [32, head_dim/2] value tile
    int* lo_s = reinterpret_cast<int*>(vs + tile_keys * hd2);            // [16] first visible key per slot
    int* hi_s = lo_s + max_slots;                                        // [16] last visible key (= pos)

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, n_warps = blockDim.x >> 5;
    const int g = blockIdx.y / a.head_chunks;
    const int hh0 = (blockIdx.y % a.head_chunks) * a.heads_per_block;
    const int r0 = blockIdx.x * a.rows_per_block;
    const int n_slots = a.rows_per_block * a.heads_per_block;

    // Slot s: row r0 + s / heads_per_block, query head g*group + hh0 + s % heads_per_block.
    if (tid < max_slots) {
        int lo = INT_MAX, hi = -1; // empty
        const int row = r0 + tid / a.heads_per_block, hh = hh0 + tid % a.heads_per_block;
        if (tid < n_slots && row < a.n && hh < a.group) {
            const int p = a.pos[row];
            if (p < a.kv_first || p >= a.n_kv) {
                report_status(a.status, kernel_position_out_of_range, p, a.kv_first, a.n_kv);
            } else {
                hi = p;
                lo = a.window > 0 ? max(a.kv_first, p - a.window + 1) : a.kv_first;
            }
        }
        lo_s[tid] = lo;
        hi_s[tid] = hi;
    }
    for (int idx = tid; idx < max_slots * hd; idx += blockDim.x) {
        const int s = idx / hd, d = idx % hd;
        const int row = r0 + s / a.heads_per_block, hh = hh0 + s % a.heads_per_block;
        float val = 0.0f;
        if (s < n_slots && row < a.n && hh < a.group)
            val = a.q[((size_t)row * a.n_head + (size_t)(g * a.group + hh)) * hd + d] * a.scale;
        qs[idx] = val;
    }
    __syncthreads();

    // Keys this block visits: the union of its slots' ranges, within this split's range.
    int key_lo = INT_MAX, key_hi = -1;
    for (int s = 0; s < n_slots; ++s) {
        key_lo = min(key_lo, lo_s[s]);
        key_hi = max(key_hi, hi_s[s]);
    }
    const int split_lo = a.kv_first + (int)blockIdx.z * a.keys_per_split;
    key_lo = max(key_lo, split_lo);
    key_hi = min(key_hi, split_lo + a.keys_per_split - 1);

    // This warp's slots: warp, warp + n_warps, ... (warp-uniform count).
    int n_mine = 0;
    int my_slot[slots_per_warp], my_lo[slots_per_warp], my_hi[slots_per_warp];
    float m[slots_per_warp], l[slots_per_warp], acc[slots_per_warp][2 * P];
#pragma unroll
    for (int t = 0; t < slots_per_warp; ++t) {
        const int s = warp + t * n_warps;
        my_slot[t] = s < n_slots ? s : 0;
        if (s < n_slots) ++n_mine;
        my_lo[t] = s < n_slots ? lo_s[s] : INT_MAX;
        my_hi[t] = s < n_slots ? hi_s[s] : -1;
        m[t] = -INFINITY;
        l[t] = 0.0f;
#pragma unroll
        for (int e = 0; e < 2 * P; ++e) acc[t][e] = 0.0f;
    }

    const size_t kv_row2 = (size_t)a.n_head_kv * hd2; // half2 words per KV row
    for (int kb = key_lo; kb <= key_hi; kb += tile_keys) {
        // Tile rows kb..kb+31 of head g; rows past key_hi are zero (never NaN garbage: p = 0 multiplies them).
        for (int idx = tid; idx < tile_keys * hd2; idx += blockDim.x) {
            const int j = idx / hd2, d2 = idx % hd2, key = kb + j;
            __half2 kk = __float2half2_rn(0.0f), vv = kk;
            if (key <= key_hi) {
                const size_t off = (size_t)key * kv_row2 + (size_t)g * hd2 + d2;
                kk = a.k[off];
                vv = a.v[off];
            }
            ks[j * a.kstride2 + d2] = kk;
            vs[j * hd2 + d2] = vv;
        }
        __syncthreads();

        // Scores of key kb + lane for each of this warp's slots (K row read once, used by all slots).
        const int key = kb + lane;
        float sc[slots_per_warp];
#pragma unroll
        for (int t = 0; t < slots_per_warp; ++t) sc[t] = 0.0f;
        const __half2* krow = ks + lane * a.kstride2;
#pragma unroll 4
        for (int d2 = 0; d2 < hd2; ++d2) {
            const float2 kf = __half22float2(krow[d2]);
#pragma unroll
            for (int t = 0; t < slots_per_warp; ++t) {
                if (t < n_mine) {
                    const float2 qf = reinterpret_cast<const float2*>(qs + my_slot[t] * hd)[d2];
                    sc[t] = fmaf(qf.x, kf.x, fmaf(qf.y, kf.y, sc[t]));
                }
            }
        }

        // Online softmax update per slot.
        float pv[slots_per_warp];
#pragma unroll
        for (int t = 0; t < slots_per_warp; ++t) {
            pv[t] = 0.0f;
            if (t >= n_mine) continue;
            const bool visible = key >= my_lo[t] && key <= my_hi[t] && key <= key_hi;
            const float x = visible ? sc[t] : -INFINITY;
            const float tile_max = warp_max(x);
            if (tile_max == -INFINITY) continue; // nothing visible in this tile for this slot
            const float m_new = fmaxf(m[t], tile_max);
            const float corr = __expf(m[t] - m_new); // first visible tile: e^-inf = 0
            const float p = visible ? __expf(x - m_new) : 0.0f;
            l[t] = l[t] * corr + warp_sum(p);
            m[t] = m_new;
#pragma unroll
            for (int e = 0; e < 2 * P; ++e) acc[t][e] *= corr;
            pv[t] = p;
        }

        // acc += p_j * V_j: V row j read once per lane for all slots, p_j broadcast by shuffle.
        const int n_keys = min(tile_keys, key_hi - kb + 1);
        for (int j = 0; j < n_keys; ++j) {
            float2 vf[P];
#pragma unroll
            for (int u = 0; u < P; ++u) {
                const int d2 = lane + 32 * u;
                vf[u] = d2 < hd2 ? __half22float2(vs[j * hd2 + d2]) : make_float2(0.0f, 0.0f);
            }
#pragma unroll
            for (int t = 0; t < slots_per_warp; ++t) {
                const float pj = __shfl_sync(full_warp, pv[t], j);
#pragma unroll
                for (int u = 0; u < P; ++u) {
                    acc[t][2 * u] = fmaf(pj, vf[u].x, acc[t][2 * u]);
                    acc[t][2 * u + 1] = fmaf(pj, vf[u].y, acc[t][2 * u + 1]);
                }
            }
        }
        __syncthreads(); // the tile is overwritten next
    }

#pragma unroll
    for (int t = 0; t < slots_per_warp; ++t) {
        if (t >= n_mine) continue;
        const int s = my_slot[t];
        const int row = r0 + s / a.heads_per_block, hh = hh0 + s % a.heads_per_block;
        if (row >= a.n || hh >= a.group) continue;
        const size_t slot = (size_t)row * a.n_head + (size_t)(g * a.group + hh);
        if (a.n_splits == 1) {
            const float inv = l[t] > 0.0f ? 1.0f / l[t] : 0.0f; // l = 0 only for a rejected position
            float* o = a.out + slot * hd; // [head_dim]
#pragma unroll
            for (int u = 0; u < P; ++u) {
                const int d = 2 * (lane + 32 * u);
                if (d < hd) {
                    o[d] = acc[t][2 * u] * inv;
                    o[d + 1] = acc[t][2 * u + 1] * inv;
                }
            }
        } else {
            const size_t ps = (size_t)blockIdx.z * a.n * a.n_head + slot;
            float* o = a.part_acc + ps * hd; // [head_dim]
#pragma unroll
            for (int u = 0; u < P; ++u) {
                const int d = 2 * (lane + 32 * u);
                if (d < hd) {
                    o[d] = acc[t][2 * u];
                    o[d + 1] = acc[t][2 * u + 1];
                }
            }
            if (lane == 0) {
                a.part_ml[2 * ps] = m[t];
                a.part_ml[2 * ps + 1] = l[t];
            }
        }
    }
}

// Merges the splits' partials of one (row, head) per block: out = sum_s acc_s w_s / sum_s l_s w_s,
// w_s = e^{m_s - M}. A split that saw no key has m = -inf, l = 0, acc = 0 and weighs nothing.
__global__ void attention_combine_kernel(const float* part_acc, const float* part_ml, float* out, int n_slots_total,
                                         int n_splits, int hd) {
    const size_t slot = blockIdx.x;
    float mx = -INFINITY;
    for (int s = 0; s < n_splits; ++s) mx = fmaxf(mx, part_ml[2 * ((size_t)s * n_slots_total + slot)]);
    float* o = out + slot * hd; // [head_dim]
    if (mx == -INFINITY) { // rejected position: zero row, as the single-split path
        for (int d = threadIdx.x; d < hd; d += blockDim.x) o[d] = 0.0f;
        return;
    }
    float sum = 0.0f;
    for (int s = 0; s < n_splits; ++s) {
        const float ms = part_ml[2 * ((size_t)s * n_slots_total + slot)];
        if (ms != -INFINITY) sum += part_ml[2 * ((size_t)s * n_slots_total + slot) + 1] * __expf(ms - mx);
    }
    const float inv = 1.0f / sum;
    for (int d = threadIdx.x; d < hd; d += blockDim.x) {
        float v = 0.0f;
        for (int s = 0; s < n_splits; ++s) {
            const float ms = part_ml[2 * ((size_t)s * n_slots_total + slot)];
            if (ms != -INFINITY) v += part_acc[((size_t)s * n_slots_total + slot) * hd + d] * __expf(ms - mx);
        }
        o[d] = v * inv;
    }
}

int keys_per_split(int n_kv, const attention_kernel_params& p, int n_splits) {
    const int range = n_kv - p.kv_first;
    const int tiles = (range + tile_keys - 1) / tile_keys;
    return ((tiles + n_splits - 1) / n_splits) * tile_keys;
}

template <int P> cudaError_t launch_p(const attention_args& args, const attention_plan& plan, cudaStream_t stream) {
    if (plan.smem > 48 * 1024) {
        // Above the default 48 KiB a kernel must opt in (head_dim 256 needs ~49 KiB).
        const cudaError_t e =
            cudaFuncSetAttribute(attention_kernel<P>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)plan.smem);
        if (e != cudaSuccess) return e;
    }
    return launch_kernel(attention_kernel<P>, plan.grid, plan.warps * 32, plan.smem, stream, args);
}

} // namespace

bool attention_head_dim_supported(int head_dim) { return head_dim >= 2 && head_dim <= 256 && head_dim % 2 == 0; }

int attention_splits(int n, int n_kv, const attention_kernel_params& p, int sm_count) {
    if (n <= 0 || p.n_head_kv <= 0 || n_kv <= p.kv_first) return 1;
    const attention_plan plan = make_plan(n, p);
    const long blocks = (long)plan.grid.x * plan.grid.y;
    const int tiles = (n_kv - p.kv_first + tile_keys - 1) / tile_keys;
    if (blocks >= sm_count || tiles < 8) return 1;
    // About two blocks per multiprocessor, each split at least 4 tiles (128 keys), at most 64 splits.
    long splits = (2L * sm_count + blocks - 1) / blocks;
    splits = splits < tiles / 4 ? splits : tiles / 4;
    splits = splits < 64 ? splits : 64;
    if (splits < 2) return 1;
    // Round so that no split is empty by construction.
    const int kps = keys_per_split(n_kv, p, (int)splits);
    return (n_kv - p.kv_first + kps - 1) / kps;
}

size_t attention_workspace_bytes(int n, const attention_kernel_params& p, int n_splits) {
    if (n_splits <= 1) return 0;
    const size_t slots = (size_t)n_splits * n * p.n_head;
    return sizeof(float) * slots * ((size_t)p.head_dim + 2);
}

cudaError_t launch_attention(const float* q, const int32_t* pos, int n, const uint16_t* k, const uint16_t* v, int n_kv,
                             float* out, const attention_kernel_params& p, int n_splits, void* workspace,
                             kernel_status* status, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    if (!attention_head_dim_supported(p.head_dim) || p.n_head_kv <= 0 || p.n_head % p.n_head_kv != 0 || n_splits < 1 ||
        (n_splits > 1 && !workspace))
        return cudaErrorInvalidValue;
    const attention_plan plan = make_plan(n, p);
    attention_args a{};
    a.q = q;
    a.pos = pos;
    a.k = reinterpret_cast<const __half2*>(k);
    a.v = reinterpret_cast<const __half2*>(v);
    a.out = out;
    a.status = status;
    a.n = n;
    a.n_kv = n_kv;
    a.n_head = p.n_head;
    a.n_head_kv = p.n_head_kv;
    a.head_dim = p.head_dim;
    a.group = plan.group;
    a.heads_per_block = plan.heads_per_block;
    a.head_chunks = plan.head_chunks;
    a.rows_per_block = plan.rows_per_block;
    a.kstride2 = plan.kstride2;
    a.kv_first = p.kv_first;
    a.window = p.window;
    a.scale = p.scale;
    a.n_splits = n_splits;
    // One split covers every key (n_kv - kv_first may be <= 0 when every position is rejected).
    a.keys_per_split = n_splits == 1 ? INT_MAX / 2 : keys_per_split(n_kv, p, n_splits);
    if (n_splits > 1) {
        a.part_acc = static_cast<float*>(workspace);
        a.part_ml = a.part_acc + (size_t)n_splits * n * p.n_head * p.head_dim;
    }
    dim3 grid = plan.grid;
    grid.z = (unsigned)n_splits;
    attention_plan pl = plan;
    pl.grid = grid;
    cudaError_t e;
    if (p.head_dim <= 64) e = launch_p<1>(a, pl, stream);
    else if (p.head_dim <= 128) e = launch_p<2>(a, pl, stream);
    else e = launch_p<4>(a, pl, stream);
    if (e != cudaSuccess || n_splits == 1) return e;
    const int threads = p.head_dim >= 128 ? 128 : 64;
    return launch_kernel(attention_combine_kernel, (unsigned)(n * p.n_head), threads, 0, stream, a.part_acc, a.part_ml, out,
                         n * p.n_head, n_splits, p.head_dim);
}

} // namespace epic
