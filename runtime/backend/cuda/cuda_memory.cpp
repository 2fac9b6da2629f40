#include "backend/cuda/cuda_memory.h"

#include "backend/cuda/cuda_check.h"

#include <cstdio>

namespace epic {

std::string format_mib(size_t bytes) {
    char s[32];
    std::snprintf(s, sizeof s, "%.1f MiB", (double)bytes / (1024.0 * 1024.0));
    return s;
}

cuda_buffer::cuda_buffer(size_t bytes, const std::string& what) : bytes_(bytes) {
    // A zero-byte request still gets a distinct valid pointer, as the CPU backend's buffers do.
    const cudaError_t e = cudaMalloc(&data_, bytes ? bytes : 256);
    if (e == cudaSuccess) return;
    data_ = nullptr;
    (void)cudaGetLastError(); // an allocation failure is not sticky: clear it
    size_t free_b = 0, total_b = 0;
    std::string free_text = "unknown";
    if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) free_text = format_mib(free_b) + " free of " + format_mib(total_b);
    else (void)cudaGetLastError();
    throw error("out of GPU memory allocating " + what + " (" + format_mib(bytes) + ", " + free_text +
                "): " + cudaGetErrorString(e));
}

cuda_buffer::~cuda_buffer() {
    // Destructors must not throw; cudaFree waits for work still using the memory.
    if (data_) (void)cudaFree(data_);
}

pinned_buffer::pinned_buffer(size_t bytes) : bytes_(bytes) { EPIC_CUDA_CHECK(cudaMallocHost(&data_, bytes ? bytes : 64)); }

pinned_buffer::~pinned_buffer() {
    if (data_) (void)cudaFreeHost(data_);
}

void* cuda_workspace::get(size_t bytes) {
    if (!buf_ || buf_->size() < bytes) {
        buf_.reset(); // free first: the old and new sizes need not fit together
        // Grow by half again so a slowly increasing batch does not reallocate every call.
        const size_t want = bytes + bytes / 2;
        buf_ = std::make_unique<cuda_buffer>(want, what_);
    }
    return buf_->data();
}

} // namespace epic
