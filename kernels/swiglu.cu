#include "kernel_common.cuh"
#include "swiglu.cuh"

namespace epic {
namespace {

__global__ void swiglu_kernel(const float* gate, const float* up, float* out, size_t n) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        const float g = gate[i];
        // Large negative g: expf(-g) = inf and g / inf = -0, the limit; no NaN.
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

} // namespace

cudaError_t launch_swiglu(const float* gate, const float* up, float* out, size_t n, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    return launch_kernel(swiglu_kernel, grid_for(n, 256), 256, 0, stream, gate, up, out, n);
}

} // namespace epic
