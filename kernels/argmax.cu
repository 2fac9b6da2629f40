#include "argmax.cuh"
#include "kernel_common.cuh"

namespace epic {
namespace {

// (value, index) order: larger value wins, equal values go to the lower index; NaN never wins
// (any comparison with NaN is false, so a NaN candidate is never taken over a number).
__device__ inline bool better(float v, int i, float bv, int bi) {
    return v > bv || (v == bv && i < bi) || (bi < 0 && !isnan(v));
}

constexpr int threads = 1024;

// One block per row: a strided scan per thread, then warp shuffles and a shared-memory round.
__global__ void argmax_kernel(const float* x, int n, int32_t* out) {
    __shared__ float sv[32];
    __shared__ int si[32];
    const float* row = x + (size_t)blockIdx.x * n; // [n]
    float bv = -INFINITY;
    int bi = -1;
    for (int i = threadIdx.x; i < n; i += blockDim.x)
        if (better(row[i], i, bv, bi)) bv = row[i], bi = i;
    for (int o = 16; o > 0; o >>= 1) {
        const float v = __shfl_xor_sync(full_warp, bv, o);
        const int i = __shfl_xor_sync(full_warp, bi, o);
        if (i >= 0 && better(v, i, bv, bi)) bv = v, bi = i;
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) sv[warp] = bv, si[warp] = bi;
    __syncthreads();
    if (warp == 0) {
        bv = lane < (int)(blockDim.x >> 5) ? sv[lane] : -INFINITY;
        bi = lane < (int)(blockDim.x >> 5) ? si[lane] : -1;
        for (int o = 16; o > 0; o >>= 1) {
            const float v = __shfl_xor_sync(full_warp, bv, o);
            const int i = __shfl_xor_sync(full_warp, bi, o);
            if (i >= 0 && better(v, i, bv, bi)) bv = v, bi = i;
        }
        if (lane == 0) out[blockIdx.x] = bi < 0 ? 0 : bi; // an all-NaN row: 0, as the CPU's argmax
    }
}

} // namespace

cudaError_t launch_argmax(const float* x, int rows, int n, int32_t* out, cudaStream_t stream) {
    if (rows <= 0) return cudaSuccess;
    return launch_kernel(argmax_kernel, rows, threads, 0, stream, x, n, out);
}

} // namespace epic
