// cuBLAS's GemmEx on the CPU: column-major C = alpha op(A) op(B) + beta C with f32 accumulation, the
// operands converted to f32 first (exact for f16/bf16), the argument checks cuBLAS documents.
#include "emu_state.h"

#include "cublas_v2.h"
#include "cuda_fp16.h"

#include <cstring>
#include <vector>

struct cublasContext {
    cudaStream_t stream = nullptr;
};

using namespace epic::cuda_emu;

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!handle) return CUBLAS_STATUS_INVALID_VALUE;
    *handle = new cublasContext{};
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t handle) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    delete handle;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!stream_is_valid(stream)) return CUBLAS_STATUS_INVALID_VALUE;
    handle->stream = stream;
    return CUBLAS_STATUS_SUCCESS;
}

namespace {

size_t element_bytes(cudaDataType t) {
    switch (t) {
    case CUDA_R_32F: return 4;
    case CUDA_R_16F:
    case CUDA_R_16BF: return 2;
    }
    return 0;
}

float load(const void* base, size_t i, cudaDataType t) {
    switch (t) {
    case CUDA_R_32F: {
        float f;
        std::memcpy(&f, static_cast<const char*>(base) + 4 * i, 4);
        return f;
    }
    case CUDA_R_16F: {
        uint16_t h;
        std::memcpy(&h, static_cast<const char*>(base) + 2 * i, 2);
        return f16_bits_to_f32(h);
    }
    case CUDA_R_16BF: {
        uint16_t h;
        std::memcpy(&h, static_cast<const char*>(base) + 2 * i, 2);
        return bits_float((uint32_t)h << 16);
    }
    }
    return 0.0f;
}

void store(void* base, size_t i, cudaDataType t, float v) {
    switch (t) {
    case CUDA_R_32F: std::memcpy(static_cast<char*>(base) + 4 * i, &v, 4); return;
    case CUDA_R_16F: {
        const uint16_t h = f32_to_f16_bits(v);
        std::memcpy(static_cast<char*>(base) + 2 * i, &h, 2);
        return;
    }
    case CUDA_R_16BF: {
        uint32_t u = float_bits(v);
        u += 0x7fffu + ((u >> 16) & 1u);
        const uint16_t h = (uint16_t)(u >> 16);
        std::memcpy(static_cast<char*>(base) + 2 * i, &h, 2);
        return;
    }
    }
}

// op(X) is rows x cols; X itself is stored column-major with leading dimension ld. Returns op(X)
// transposed into a dense row-major [cols, rows]... i.e. column j of op(X) as a contiguous vector.
std::vector<float> columns_of(const void* x, cudaDataType t, cublasOperation_t op, int rows, int cols, int ld) {
    std::vector<float> out((size_t)rows * cols); // [cols][rows]: column j of op(X) at out[j * rows]
    for (int j = 0; j < cols; ++j)
        for (int i = 0; i < rows; ++i) {
            // op(X)[i, j] = X[i, j] (N) or X[j, i] (T); column-major X[r, c] = x[r + c * ld].
            const size_t idx = op == CUBLAS_OP_N ? (size_t)i + (size_t)j * ld : (size_t)j + (size_t)i * ld;
            out[(size_t)j * rows + i] = load(x, idx, t);
        }
    return out;
}

} // namespace

cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
                            const void* alpha, const void* A, cudaDataType Atype, int lda, const void* B, cudaDataType Btype,
                            int ldb, const void* beta, void* C, cudaDataType Ctype, int ldc, cublasComputeType_t computeType,
                            cublasGemmAlgo_t) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (m < 0 || n < 0 || k < 0 || !alpha || !beta) return CUBLAS_STATUS_INVALID_VALUE;
    if (transa == CUBLAS_OP_C || transb == CUBLAS_OP_C) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (!element_bytes(Atype) || !element_bytes(Btype) || !element_bytes(Ctype)) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (computeType != CUBLAS_COMPUTE_32F && computeType != CUBLAS_COMPUTE_32F_FAST_16F &&
        computeType != CUBLAS_COMPUTE_32F_FAST_16BF)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    // Leading dimensions: at least the stored rows of each matrix.
    const int a_rows = transa == CUBLAS_OP_N ? m : k, a_cols = transa == CUBLAS_OP_N ? k : m;
    const int b_rows = transb == CUBLAS_OP_N ? k : n, b_cols = transb == CUBLAS_OP_N ? n : k;
    if (lda < std::max(1, a_rows) || ldb < std::max(1, b_rows) || ldc < std::max(1, m)) return CUBLAS_STATUS_INVALID_VALUE;
    if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
    // Every operand must lie in device memory, whole (as its extent says).
    auto extent = [](int rows, int cols, int ld, cudaDataType t) {
        return ((size_t)(cols - 1) * ld + rows) * element_bytes(t);
    };
    if ((k > 0 && (memory_kind_of(A, extent(a_rows, a_cols, lda, Atype)) != memory_kind::device ||
                   memory_kind_of(B, extent(b_rows, b_cols, ldb, Btype)) != memory_kind::device)) ||
        memory_kind_of(C, extent(m, n, ldc, Ctype)) != memory_kind::device) {
        fail(cudaErrorInvalidValue, "cublasGemmEx: an operand is not (wholly) in device memory");
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    const float al = *static_cast<const float*>(alpha), be = *static_cast<const float*>(beta);
    // Rows of op(A) as contiguous vectors: op(A)^T's columns. op(A)[i, l] for l = 0..k-1 at a_t[i * k + l].
    const cublasOperation_t ta = transa == CUBLAS_OP_N ? CUBLAS_OP_T : CUBLAS_OP_N;
    const std::vector<float> a_t = columns_of(A, Atype, ta, k, m, lda); // column i of op(A)^T = row i of op(A)
    const std::vector<float> b_c = columns_of(B, Btype, transb, k, n, ldb);
    for (int j = 0; j < n; ++j)
        for (int i = 0; i < m; ++i) {
            float acc = 0.0f;
            const float* ar = &a_t[(size_t)i * k];
            const float* bc = &b_c[(size_t)j * k];
            for (int l = 0; l < k; ++l) acc += ar[l] * bc[l];
            const size_t ci = (size_t)i + (size_t)j * ldc;
            const float prev = be != 0.0f ? load(C, ci, Ctype) : 0.0f;
            store(C, ci, Ctype, al * acc + be * prev);
        }
    return CUBLAS_STATUS_SUCCESS;
}
