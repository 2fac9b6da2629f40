#pragma once
// Device helpers shared by the kernels (included by .cu files only).
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace epic {

inline constexpr unsigned full_warp = 0xffffffffu;

__device__ inline float warp_sum(float x) {
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(full_warp, x, o);
    return x;
}

__device__ inline float warp_max(float x) {
    for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(full_warp, x, o));
    return x;
}

// Sum over a block whose size is a multiple of 32 (at most 1024); every thread gets the result.
// `scratch` holds 32 floats of shared memory.
__device__ inline float block_sum(float x, float* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, n_warps = blockDim.x >> 5;
    x = warp_sum(x);
    __syncthreads(); // scratch may still be read by a previous call
    if (lane == 0) scratch[warp] = x;
    __syncthreads();
    x = lane < n_warps ? scratch[lane] : 0.0f;
    return warp_sum(x);
}

// kernel<<<grid, block, smem, stream>>>(args...), returning the launch's error (and clearing it, as
// cudaGetLastError does). Kernels are launched through this one spelling so that the same .cu files
// also build for the CPU emulator (kernels/emu), which has no <<< >>> syntax.
#if defined(EPIC_CUDA_EMU)
using cuda_emu::launch_kernel;
#else
template <class... Params, class... Args>
inline cudaError_t launch_kernel(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                                 Args... args) {
    kernel<<<grid, block, smem, stream>>>(args...);
    return cudaGetLastError();
}
#endif

// The block's dynamic shared memory (the launch's smem bytes), 16-byte aligned.
template <class T> __device__ inline T* dynamic_shared_memory() {
#if defined(EPIC_CUDA_EMU)
    return static_cast<T*>(::epic::cuda_emu::current_thread().dynamic_smem);
#else
    extern __shared__ float4 epic_dynamic_smem[];
    return reinterpret_cast<T*>(epic_dynamic_smem);
#endif
}

// Grid size for a grid-stride loop over n items with `threads` per block (capped: the loop covers the rest).
inline unsigned grid_for(size_t n, int threads) {
    const size_t blocks = (n + (size_t)threads - 1) / (size_t)threads;
    return (unsigned)(blocks < 65535u * 4u ? (blocks ? blocks : 1) : 65535u * 4u);
}

} // namespace epic
