// KV cache dequantization, one thread per output element in a grid-stride loop: the decode is a load,
// a shift and one fma per value, so it runs at memory speed without tiling. fmaf is an explicit fused
// multiply-add (correctly rounded under --use_fast_math too) and __float2half_rn rounds to nearest
// even, as the CPU decoders (std::fma / _mm512_fmadd_ps, then fp32_to_fp16 / vcvtps2ph) do.
#include "kernel_common.cuh"
#include "kv_dequantize.cuh"

namespace epic {
namespace {

template <int BITS, bool ALONG_ROWS>
__global__ void kv_dequantize_kernel(const uint8_t* codes, const __half* scales, const __half* mins, int64_t n_rows,
                                     int64_t width, int group, int64_t scale_cols, __half* out) {
    const int64_t n = n_rows * width;
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const int64_t r = i / width, c = i - r * width; // out [n_rows, width]
        unsigned code;
        if (BITS == 8) code = codes[i];                                            // [n_rows, width]
        else code = (unsigned)(codes[(r >> 1) * width + c] >> ((r & 1) * 4)) & 15u; // [ceil(n_rows / 2), width]
        const int64_t g = ALONG_ROWS ? (r / group) * width + c : r * scale_cols + c / group;
        out[i] = __float2half_rn(fmaf((float)code, __half2float(scales[g]), __half2float(mins[g])));
    }
}

} // namespace

cudaError_t launch_kv_dequantize_f16(const uint8_t* codes, const uint16_t* scales, const uint16_t* mins, int64_t n_rows,
                                     int64_t width, int bits, int group, bool groups_along_rows, uint16_t* out,
                                     cudaStream_t stream) {
    if ((bits != 4 && bits != 8) || group < 2 || group % 2 || n_rows < 0 || width < 0) return cudaErrorInvalidValue;
    if (n_rows == 0 || width == 0) return cudaSuccess;
    constexpr int threads = 256;
    const unsigned blocks = grid_for((size_t)(n_rows * width), threads);
    const auto* s = reinterpret_cast<const __half*>(scales);
    const auto* m = reinterpret_cast<const __half*>(mins);
    auto* o = reinterpret_cast<__half*>(out);
    const int64_t scale_cols = groups_along_rows ? width : (width + group - 1) / group;
    if (bits == 8)
        return groups_along_rows
                   ? launch_kernel(kv_dequantize_kernel<8, true>, blocks, threads, 0, stream, codes, s, m, n_rows, width, group, scale_cols, o)
                   : launch_kernel(kv_dequantize_kernel<8, false>, blocks, threads, 0, stream, codes, s, m, n_rows, width, group, scale_cols, o);
    return groups_along_rows
               ? launch_kernel(kv_dequantize_kernel<4, true>, blocks, threads, 0, stream, codes, s, m, n_rows, width, group, scale_cols, o)
               : launch_kernel(kv_dequantize_kernel<4, false>, blocks, threads, 0, stream, codes, s, m, n_rows, width, group, scale_cols, o);
}

} // namespace epic
