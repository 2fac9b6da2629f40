#include "gelu.cuh"
#include "kernel_common.cuh"

namespace epic {
namespace {

__global__ void gelu_kernel(const float* x, float* out, size_t n) {
    constexpr float inv_sqrt2 = 0.70710678118654752f;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        const float v = x[i];
        out[i] = 0.5f * v * (1.0f + erff(v * inv_sqrt2));
    }
}

} // namespace

cudaError_t launch_gelu(const float* x, float* out, size_t n, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    return launch_kernel(gelu_kernel, grid_for(n, 256), 256, 0, stream, x, out, n);
}

} // namespace epic
