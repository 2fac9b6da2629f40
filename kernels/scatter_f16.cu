#include "kernel_common.cuh"
#include "scatter_f16.cuh"

namespace epic {
namespace {

__global__ void scatter_f16_kernel(const float* src, const int32_t* rows, int width, __half* dst) {
    const int i = blockIdx.x;
    const float* s = src + (size_t)i * width;    // [width]
    __half* d = dst + (size_t)rows[i] * width;   // [width]
    for (int j = threadIdx.x; j < width; j += blockDim.x) d[j] = __float2half_rn(s[j]);
}

} // namespace

cudaError_t launch_scatter_f16(const float* src, const int32_t* rows, int n, int width, uint16_t* dst, cudaStream_t stream) {
    if (n <= 0 || width <= 0) return cudaSuccess;
    return launch_kernel(scatter_f16_kernel, n, 256, 0, stream, src, rows, width, reinterpret_cast<__half*>(dst));
}

} // namespace epic
