#include "add_bias.cuh"
#include "kernel_common.cuh"

namespace epic {
namespace {

// One grid-stride loop over all n * width elements; the bias row is small and stays in cache.
__global__ void add_bias_kernel(float* y, const float* b, size_t total, int width) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x)
        y[i] += b[i % (size_t)width];
}

} // namespace

cudaError_t launch_add_bias(float* y, const float* b, int n, int width, cudaStream_t stream) {
    if (n <= 0 || width <= 0) return cudaSuccess;
    const size_t total = (size_t)n * (size_t)width;
    return launch_kernel(add_bias_kernel, grid_for(total, 256), 256, 0, stream, y, b, total, width);
}

} // namespace epic
