#include "geglu.cuh"
#include "kernel_common.cuh"

namespace epic {
namespace {

__global__ void geglu_kernel(const float* gate, const float* up, float* out, size_t n) {
    constexpr float sqrt_2_over_pi = 0.7978845608028654f;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        const float g = gate[i];
        out[i] = 0.5f * g * (1.0f + tanhf(sqrt_2_over_pi * (g + 0.044715f * g * g * g))) * up[i];
    }
}

} // namespace

cudaError_t launch_geglu(const float* gate, const float* up, float* out, size_t n, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    return launch_kernel(geglu_kernel, grid_for(n, 256), 256, 0, stream, gate, up, out, n);
}

} // namespace epic
