// RoPE: one block per row. Each thread owns rotation pairs; the angle of a pair is computed once per
// row in double (pos * inv_freq can reach 1e5 rad at long contexts: in f32 the angle alone would be
// off by ~1e-2 rad, while the CPU reference computes it in double) and reused by every head.
#include "kernel_common.cuh"
#include "rope.cuh"

namespace epic {
namespace {

__device__ inline float to_f32(float v) { return v; }
__device__ inline float to_f32(__half v) { return __half2float(v); }
template <class T> __device__ inline T from_f32(float v);
template <> __device__ inline float from_f32<float>(float v) { return v; }
template <> __device__ inline __half from_f32<__half>(float v) { return __float2half_rn(v); }

template <class T>
__global__ void rope_kernel(T* x, const int32_t* pos, int n_head, int head_dim, int n_rot, bool neox, const double* inv_freq) {
    const int r = blockIdx.x;
    T* row = x + (size_t)r * n_head * head_dim; // [n_head, head_dim]
    const double p = (double)pos[r];
    const int half_rot = n_rot / 2;
    for (int i = threadIdx.x; i < half_rot; i += blockDim.x) {
        double s, c;
        sincos(p * inv_freq[i], &s, &c);
        const float cf = (float)c, sf = (float)s;
        const int a = neox ? i : 2 * i, b = neox ? i + half_rot : 2 * i + 1;
        for (int h = 0; h < n_head; ++h) {
            T* xh = row + (size_t)h * head_dim; // [head_dim]
            const float x0 = to_f32(xh[a]), x1 = to_f32(xh[b]);
            // Rounded products (__fmul_rn: no FMA contraction under --use_fast_math) follow the reference formula.
            xh[a] = from_f32<T>(__fsub_rn(__fmul_rn(x0, cf), __fmul_rn(x1, sf)));
            xh[b] = from_f32<T>(__fadd_rn(__fmul_rn(x0, sf), __fmul_rn(x1, cf)));
        }
    }
}

template <class T> cudaError_t launch(T* x, const int32_t* pos, int n, const rope_kernel_params& p, cudaStream_t stream) {
    if (n <= 0 || p.n_rot <= 0) return cudaSuccess;
    const int half_rot = p.n_rot / 2;
    const int threads = half_rot >= 128 ? 128 : (half_rot >= 64 ? 64 : 32);
    return launch_kernel(rope_kernel<T>, n, threads, 0, stream, x, pos, p.n_head, p.head_dim, p.n_rot, p.neox, p.inv_freq);
}

} // namespace

cudaError_t launch_rope_f32(float* x, const int32_t* pos, int n, const rope_kernel_params& p, cudaStream_t stream) {
    return launch(x, pos, n, p, stream);
}

cudaError_t launch_rope_f16(uint16_t* k, const int32_t* pos, int n, const rope_kernel_params& p, cudaStream_t stream) {
    return launch(reinterpret_cast<__half*>(k), pos, n, p, stream);
}

} // namespace epic
