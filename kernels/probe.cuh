#pragma once
// Whether this build's kernels can run on the current device: a GPU older than every architecture
// compiled in has no kernel image, which must be found at backend creation ("auto" then falls back
// to the CPU) rather than at the first launch.
#include <cuda_runtime_api.h>

namespace epic {

// cudaSuccess when a kernel image exists for the current device, else the error (typically
// cudaErrorNoKernelImageForDevice). Runs a 1-thread kernel and waits for it.
cudaError_t probe_kernel_image(cudaStream_t stream);

} // namespace epic
