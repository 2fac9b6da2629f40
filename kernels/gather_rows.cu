#include "gather_rows.cuh"
#include "kernel_common.cuh"

namespace epic {
namespace {

__global__ void gather_rows_kernel(const float* src, const int32_t* rows, int width, float* dst) {
    const float* s = src + (size_t)rows[blockIdx.x] * width; // [width]
    float* d = dst + (size_t)blockIdx.x * width;             // [width]
    for (int j = threadIdx.x; j < width; j += blockDim.x) d[j] = s[j];
}

} // namespace

cudaError_t launch_gather_rows(const float* src, const int32_t* rows, int n, int width, float* dst, cudaStream_t stream) {
    if (n <= 0 || width <= 0) return cudaSuccess;
    return launch_kernel(gather_rows_kernel, n, 256, 0, stream, src, rows, width, dst);
}

} // namespace epic
