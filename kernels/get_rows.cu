#include "get_rows.cuh"
#include "kernel_common.cuh"

namespace epic {
namespace {

// One block per output row; threads stride over the columns (coalesced on both sides).
__global__ void get_rows_kernel(const __half* table, int64_t rows, int64_t cols, const int32_t* ids, float* out,
                                kernel_status* status) {
    const int i = blockIdx.x;
    const int32_t id = ids[i];
    float* o = out + (size_t)i * cols; // [cols]
    if (id < 0 || id >= rows) {
        if (threadIdx.x == 0) report_status(status, kernel_token_out_of_range, id, 0, (int32_t)rows);
        for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) o[c] = 0.0f;
        return;
    }
    const __half* t = table + (size_t)id * cols; // [cols]
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) o[c] = __half2float(t[c]);
}

} // namespace

cudaError_t launch_get_rows_f16(const uint16_t* table, int64_t rows, int64_t cols, const int32_t* ids, int n, float* out,
                                kernel_status* status, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    return launch_kernel(get_rows_kernel, n, 256, 0, stream, reinterpret_cast<const __half*>(table), rows, cols, ids, out, status);
}

} // namespace epic
