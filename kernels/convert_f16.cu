#include "convert_f16.cuh"
#include "kernel_common.cuh"

namespace epic {
namespace {

// Two elements per thread and iteration (float2 -> half2) when both pointers allow it.
__global__ void f32_to_f16_kernel(const float* src, __half* dst, size_t n) {
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    const size_t pairs = n / 2;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < pairs; i += stride) {
        const float2 v = reinterpret_cast<const float2*>(src)[i];
        reinterpret_cast<__half2*>(dst)[i] = __floats2half2_rn(v.x, v.y);
    }
    if (n % 2 && blockIdx.x == 0 && threadIdx.x == 0) dst[n - 1] = __float2half_rn(src[n - 1]);
}

__global__ void f32_to_f16_scalar_kernel(const float* src, __half* dst, size_t n) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        dst[i] = __float2half_rn(src[i]);
}

} // namespace

cudaError_t launch_f32_to_f16(const float* src, uint16_t* dst, size_t n, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    constexpr int threads = 256;
    auto* d = reinterpret_cast<__half*>(dst);
    if ((reinterpret_cast<uintptr_t>(src) % 8) == 0 && (reinterpret_cast<uintptr_t>(dst) % 4) == 0)
        return launch_kernel(f32_to_f16_kernel, grid_for(n / 2 + 1, threads), threads, 0, stream, src, d, n);
    else
        return launch_kernel(f32_to_f16_scalar_kernel, grid_for(n, threads), threads, 0, stream, src, d, n);
}

} // namespace epic
