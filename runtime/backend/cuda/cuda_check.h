#pragma once
// Every CUDA runtime and cuBLAS call of the backend goes through these: a failure becomes an
// epic::error naming the call and CUDA's own message (never an abort), so the service can report it.
#include "common/error.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <string>

namespace epic {

inline void cuda_check(cudaError_t e, const char* what) {
    if (e != cudaSuccess)
        throw error(std::string("CUDA error in ") + what + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

inline const char* cublas_status_text(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "cuBLAS not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED: return "cuBLAS allocation failed (out of GPU memory?)";
    case CUBLAS_STATUS_INVALID_VALUE: return "invalid value";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "architecture mismatch";
    case CUBLAS_STATUS_MAPPING_ERROR: return "mapping error";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "execution failed";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "internal error";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "not supported";
    case CUBLAS_STATUS_LICENSE_ERROR: return "license error";
    default: return "unknown cuBLAS status";
    }
}

inline void cublas_check(cublasStatus_t s, const char* what) {
    if (s != CUBLAS_STATUS_SUCCESS)
        throw error(std::string("cuBLAS error in ") + what + ": " + cublas_status_text(s) + " (status " +
                    std::to_string((int)s) + ")");
}

} // namespace epic

// The expression's text names the call in the message.
#define EPIC_CUDA_CHECK(expr) ::epic::cuda_check((expr), #expr)
#define EPIC_CUBLAS_CHECK(expr) ::epic::cublas_check((expr), #expr)
