// Dequantization to f16, one thread per element. It runs once per weight at load, so simplicity
// wins over speed: every thread re-derives its block's scales.
//
// Bit-exactness with quant/dequantize.cpp: the CPU reference rounds every product on its own
// (no FMA contraction); here __fmul_rn / __fsub_rn forbid nvcc from fusing them (it would under
// --use_fast_math), so the f32 values match the CPU bit for bit and the final __float2half_rn is the
// same round-to-nearest-even as core/fp16.h's fp32_to_fp16.
#include "dequantize.cuh"
#include "kernel_common.cuh"

namespace epic {
namespace {

enum : uint32_t { t_f32 = 0, t_f16 = 1, t_q4_0 = 2, t_q4_1 = 3, t_q5_0 = 6, t_q5_1 = 7, t_q8_0 = 8, t_q4_k = 12, t_q5_k = 13, t_q6_k = 14, t_bf16 = 30 };

// Byte sizes of the blocks (runtime/quant/blocks.h asserts the same numbers).
constexpr int q8_0_bytes = 34, q4_0_bytes = 18, q4_1_bytes = 20, q5_0_bytes = 22, q5_1_bytes = 24, q4_k_bytes = 144, q5_k_bytes = 176, q6_k_bytes = 210;

// Blocks are 2-byte aligned at best (34-byte q8_0 blocks): read f16 fields byte by byte.
__device__ inline float load_f16(const uint8_t* p) { return __half2float(__ushort_as_half((uint16_t)(p[0] | (p[1] << 8)))); }

// The 6-bit scale and min of sub-block j of a q4_K/q5_K block (ggml's get_scale_min_k4).
__device__ inline void scale_min_k4(int j, const uint8_t* q, float& sc, float& m) {
    if (j < 4) {
        sc = (float)(q[j] & 63);
        m = (float)(q[j + 4] & 63);
    } else {
        sc = (float)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        m = (float)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

// Element c of a row (row: the row's first byte).
template <uint32_t T> __device__ float element(const uint8_t* row, int64_t c);

template <> __device__ inline float element<t_f32>(const uint8_t* row, int64_t c) {
    return reinterpret_cast<const float*>(row)[c]; // f32 rows are 4-byte aligned (row_stride = 4 * cols)
}

template <> __device__ inline float element<t_bf16>(const uint8_t* row, int64_t c) {
    return __uint_as_float((uint32_t)reinterpret_cast<const uint16_t*>(row)[c] << 16);
}

template <> __device__ inline float element<t_q8_0>(const uint8_t* row, int64_t c) {
    const uint8_t* b = row + (c / 32) * q8_0_bytes; // {f16 d, int8 qs[32]}
    return __fmul_rn((float)(int8_t)b[2 + c % 32], load_f16(b));
}

template <> __device__ inline float element<t_q4_0>(const uint8_t* row, int64_t c) {
    const uint8_t* b = row + (c / 32) * q4_0_bytes; // {f16 d, uint8 qs[16]}: byte j = elements j (low), j+16 (high)
    const int i = (int)(c % 32);
    const int q = i < 16 ? (b[2 + i] & 0xF) : (b[2 + i - 16] >> 4);
    return __fmul_rn((float)(q - 8), load_f16(b));
}

// q4_1: {f16 d, f16 m, uint8 qs[16]}, nibbles as q4_0; x = d*q + m (product rounded, then the add).
template <> __device__ inline float element<t_q4_1>(const uint8_t* row, int64_t c) {
    const uint8_t* b = row + (c / 32) * q4_1_bytes;
    const int i = (int)(c % 32);
    const int q = i < 16 ? (b[4 + i] & 0xF) : (b[4 + i - 16] >> 4);
    return __fadd_rn(__fmul_rn((float)q, load_f16(b)), load_f16(b + 2));
}

// The fifth bit of element i of a q5_0/q5_1 block: bit i of the little-endian word qh.
__device__ inline int fifth_bit(const uint8_t* qh, int i) { return (qh[i / 8] >> (i % 8)) & 1; }

// q5_0: {f16 d, uint8 qh[4], uint8 qs[16]}; x = (q - 16) * d.
template <> __device__ inline float element<t_q5_0>(const uint8_t* row, int64_t c) {
    const uint8_t* b = row + (c / 32) * q5_0_bytes;
    const int i = (int)(c % 32);
    const int low = i < 16 ? (b[6 + i] & 0xF) : (b[6 + i - 16] >> 4);
    const int q = low | (fifth_bit(b + 2, i) << 4);
    return __fmul_rn((float)(q - 16), load_f16(b));
}

// q5_1: {f16 d, f16 m, uint8 qh[4], uint8 qs[16]}; x = d*q + m.
template <> __device__ inline float element<t_q5_1>(const uint8_t* row, int64_t c) {
    const uint8_t* b = row + (c / 32) * q5_1_bytes;
    const int i = (int)(c % 32);
    const int low = i < 16 ? (b[8 + i] & 0xF) : (b[8 + i - 16] >> 4);
    const int q = low | (fifth_bit(b + 4, i) << 4);
    return __fadd_rn(__fmul_rn((float)q, load_f16(b)), load_f16(b + 2));
}

// q4_K: {f16 d, f16 dmin, scales[12], qs[128]}; chunk k (64 elements) = bytes qs[32k..32k+32),
// low nibbles first (sub-block 2k), then high nibbles (sub-block 2k+1). x = (d*sc)*q - dmin*m.
template <> __device__ inline float element<t_q4_k>(const uint8_t* row, int64_t c) {
    const uint8_t* b = row + (c / 256) * q4_k_bytes;
    const int i = (int)(c % 256), chunk = i / 64, within = i % 64, l = within % 32;
    const bool high = within >= 32;
    float sc, m;
    scale_min_k4(2 * chunk + (high ? 1 : 0), b + 4, sc, m);
    const uint8_t byte = b[16 + 32 * chunk + l];
    const float q = (float)(high ? (byte >> 4) : (byte & 0xF));
    const float d = __fmul_rn(load_f16(b), sc), mn = __fmul_rn(load_f16(b + 2), m);
    return __fsub_rn(__fmul_rn(d, q), mn);
}

// q5_K: {f16 d, f16 dmin, scales[12], qh[32], qs[128]}: q4_K plus a fifth bit, bit 2k (low half of
// chunk k) or 2k+1 (high half) of qh[l].
template <> __device__ inline float element<t_q5_k>(const uint8_t* row, int64_t c) {
    const uint8_t* b = row + (c / 256) * q5_k_bytes;
    const int i = (int)(c % 256), chunk = i / 64, within = i % 64, l = within % 32;
    const bool high = within >= 32;
    float sc, m;
    scale_min_k4(2 * chunk + (high ? 1 : 0), b + 4, sc, m);
    const uint8_t byte = b[48 + 32 * chunk + l];
    const int bit = 2 * chunk + (high ? 1 : 0);
    const int q = (high ? (byte >> 4) : (byte & 0xF)) + (((b[16 + l] >> bit) & 1) ? 16 : 0);
    const float d = __fmul_rn(load_f16(b), sc), mn = __fmul_rn(load_f16(b + 2), m);
    return __fsub_rn(__fmul_rn(d, (float)q), mn);
}

// q6_K: {ql[128], qh[64], int8 scales[16], f16 d}; per half h of 128 elements, quarter k (32
// elements, index l): low 4 bits from ql[64h + l] (k 0, 2) or ql[64h + 32 + l] (k 1, 3), low or high
// nibble for k < 2 or k >= 2; top 2 bits are bits 2k..2k+1 of qh[32h + l]; scale scales[8h + l/16 + 2k].
// x = (d * sc) * (q - 32), left to right as ggml.
template <> __device__ inline float element<t_q6_k>(const uint8_t* row, int64_t c) {
    const uint8_t* b = row + (c / 256) * q6_k_bytes;
    const int i = (int)(c % 256), h = i / 128, j = i % 128, k = j / 32, l = j % 32;
    const uint8_t* ql = b + 64 * h;
    const uint8_t* qh = b + 128 + 32 * h;
    const int8_t* scales = reinterpret_cast<const int8_t*>(b + 192) + 8 * h;
    const uint8_t low_byte = ql[(k & 1) ? l + 32 : l];
    const int low = k < 2 ? (low_byte & 0xF) : (low_byte >> 4);
    const int q = (low | (((qh[l] >> (2 * k)) & 3) << 4)) - 32;
    const float d = load_f16(b + 208);
    return __fmul_rn(__fmul_rn(d, (float)scales[l / 16 + 2 * k]), (float)q);
}

template <uint32_t T>
__global__ void dequantize_kernel(const uint8_t* src, size_t row_stride, int64_t rows, int64_t cols, __half* dst) {
    const int64_t total = rows * cols;
    for (int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += (int64_t)gridDim.x * blockDim.x) {
        const int64_t r = idx / cols, c = idx % cols;
        dst[idx] = __float2half_rn(element<T>(src + (size_t)r * row_stride, c));
    }
}

__global__ void copy_f16_rows_kernel(const uint8_t* src, size_t row_stride, int64_t rows, int64_t cols, uint16_t* dst) {
    const int64_t total = rows * cols;
    for (int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += (int64_t)gridDim.x * blockDim.x) {
        const int64_t r = idx / cols, c = idx % cols;
        dst[idx] = reinterpret_cast<const uint16_t*>(src + (size_t)r * row_stride)[c];
    }
}

template <uint32_t T>
cudaError_t launch(const void* src, size_t stride, int64_t rows, int64_t cols, uint16_t* dst, cudaStream_t s) {
    constexpr int threads = 256;
    return launch_kernel(dequantize_kernel<T>, grid_for((size_t)(rows * cols), threads), threads, 0, s,
                         static_cast<const uint8_t*>(src), stride, rows, cols, reinterpret_cast<__half*>(dst));
}

} // namespace

bool dequantize_f16_supported(uint32_t t) {
    switch (t) {
    case t_f32: case t_f16: case t_bf16: case t_q8_0: case t_q4_0: case t_q4_1: case t_q5_0: case t_q5_1: case t_q4_k: case t_q5_k: case t_q6_k: return true;
    default: return false;
    }
}

cudaError_t launch_dequantize_f16(uint32_t t, const void* src, size_t row_stride, int64_t rows, int64_t cols, uint16_t* dst,
                                  cudaStream_t s) {
    if (rows <= 0 || cols <= 0) return cudaSuccess;
    switch (t) {
    case t_f32: return launch<t_f32>(src, row_stride, rows, cols, dst, s);
    case t_f16:
        return launch_kernel(copy_f16_rows_kernel, grid_for((size_t)(rows * cols), 256), 256, 0, s,
                             static_cast<const uint8_t*>(src), row_stride, rows, cols, dst);
    case t_bf16: return launch<t_bf16>(src, row_stride, rows, cols, dst, s);
    case t_q8_0: return launch<t_q8_0>(src, row_stride, rows, cols, dst, s);
    case t_q4_0: return launch<t_q4_0>(src, row_stride, rows, cols, dst, s);
    case t_q4_1: return launch<t_q4_1>(src, row_stride, rows, cols, dst, s);
    case t_q5_0: return launch<t_q5_0>(src, row_stride, rows, cols, dst, s);
    case t_q5_1: return launch<t_q5_1>(src, row_stride, rows, cols, dst, s);
    case t_q4_k: return launch<t_q4_k>(src, row_stride, rows, cols, dst, s);
    case t_q5_k: return launch<t_q5_k>(src, row_stride, rows, cols, dst, s);
    case t_q6_k: return launch<t_q6_k>(src, row_stride, rows, cols, dst, s);
    default: return cudaErrorInvalidValue;
    }
}

} // namespace epic
