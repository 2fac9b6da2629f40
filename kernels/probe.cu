#include "kernel_common.cuh"
#include "probe.cuh"

namespace epic {
namespace {

__global__ void probe_kernel(int* out) { *out = 1; }

} // namespace

cudaError_t probe_kernel_image(cudaStream_t stream) {
    cudaFuncAttributes attr{};
    cudaError_t e = cudaFuncGetAttributes(&attr, probe_kernel);
    if (e != cudaSuccess) return e;
    int* d = nullptr;
    if ((e = cudaMalloc(&d, sizeof(int))) != cudaSuccess) return e;
    e = launch_kernel(probe_kernel, 1, 1, 0, stream, d);
    if (e == cudaSuccess) e = cudaStreamSynchronize(stream);
    const cudaError_t f = cudaFree(d);
    return e != cudaSuccess ? e : f;
}

} // namespace epic
