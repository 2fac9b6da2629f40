#pragma once
// CPU emulation of cuda_runtime.h for kernel code: the execution-space keywords, the built-in
// variables (threadIdx, blockIdx, ...), barriers, warp shuffles, atomics and the math intrinsics the
// kernels use, and launch_kernel(), which runs a kernel's grid on the CPU (kernels/emu/emu_device.h).
#include "cuda_fp16.h"
#include "cuda_runtime_api.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <tuple>
#include <type_traits>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)
// A block's threads run as fibers of one OS thread, so a function-local static per OS thread is
// exactly one block's shared memory.
#define __shared__ static thread_local

struct uint3 {
    unsigned x, y, z;
};

namespace epic::cuda_emu {

struct thread_context {
    uint3 thread_idx;
    uint3 block_idx;
    dim3 block_dim;
    dim3 grid_dim;
    void* dynamic_smem;
};
thread_context& current_thread(); // the emulated thread running now (only inside a kernel)

void sync_block();                  // __syncthreads
void sync_warp(unsigned mask);      // __syncwarp
// Warp exchange: every lane of `mask` publishes `value` (size <= 8 bytes) and receives the value
// lane `src_lane` published in the same call.
void exchange(unsigned mask, const void* value, int src_lane, void* out, size_t size);
int lane_id();

// Whether [p, p + bytes) lies in memory a kernel may touch (device or page-locked host memory).
bool device_accessible(const void* p, size_t bytes = 1);
// Reports a bad launch argument and returns the error the launch returns.
cudaError_t bad_kernel_argument(int index, const void* p);
// Runs `body` for every thread of the grid (blocks on a few OS threads, a block's threads as fibers).
cudaError_t run_grid(const void* kernel, dim3 grid, dim3 block, size_t dynamic_smem, cudaStream_t stream,
                     const std::function<void()>& body);

template <class Tuple, size_t... I> cudaError_t check_pointer_args(const Tuple& t, std::index_sequence<I...>) {
    cudaError_t e = cudaSuccess;
    auto check = [&](int index, const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_pointer_v<T>) {
            if (e == cudaSuccess && v != nullptr && !device_accessible(static_cast<const void*>(v)))
                e = bad_kernel_argument(index, static_cast<const void*>(v));
        }
    };
    (check((int)I, std::get<I>(t)), ...);
    return e;
}

// kernel<<<grid, block, smem, stream>>>(args...): arguments are converted to the kernel's parameter
// types once, as a launch copies them; a pointer argument outside device memory fails the launch
// (on a GPU it would fault later, far from its cause).
template <class... Params, class... Args>
cudaError_t launch_kernel(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream, Args... args) {
    static_assert(sizeof...(Params) == sizeof...(Args), "kernel argument count");
    std::tuple<std::decay_t<Params>...> params(args...);
    cudaError_t e = check_pointer_args(params, std::index_sequence_for<Params...>{});
    if (e == cudaSuccess)
        e = run_grid(reinterpret_cast<const void*>(kernel), grid, block, smem, stream, [&] { std::apply(kernel, params); });
    if (e != cudaSuccess) (void)cudaGetLastError(); // returned here, as `kernel<<<...>>>; return cudaGetLastError();` does
    return e;
}

} // namespace epic::cuda_emu

#define threadIdx (::epic::cuda_emu::current_thread().thread_idx)
#define blockIdx (::epic::cuda_emu::current_thread().block_idx)
#define blockDim (::epic::cuda_emu::current_thread().block_dim)
#define gridDim (::epic::cuda_emu::current_thread().grid_dim)
inline constexpr int warpSize = 32;

inline void __syncthreads() { epic::cuda_emu::sync_block(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { epic::cuda_emu::sync_warp(mask); }

template <class T> T __shfl_sync(unsigned mask, T v, int src_lane, int width = 32) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>);
    const int lane = epic::cuda_emu::lane_id();
    const int src = (lane & ~(width - 1)) + (src_lane & (width - 1));
    T out;
    epic::cuda_emu::exchange(mask, &v, src, &out, sizeof(T));
    return out;
}
template <class T> T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
    const int lane = epic::cuda_emu::lane_id();
    int src = lane ^ lane_mask;
    if ((src & ~(width - 1)) != (lane & ~(width - 1))) src = lane; // outside the segment: own value
    T out;
    epic::cuda_emu::exchange(mask, &v, src, &out, sizeof(T));
    return out;
}
template <class T> T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    const int lane = epic::cuda_emu::lane_id();
    int src = lane + (int)delta;
    if ((src & ~(width - 1)) != (lane & ~(width - 1))) src = lane;
    T out;
    epic::cuda_emu::exchange(mask, &v, src, &out, sizeof(T));
    return out;
}
template <class T> T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    const int lane = epic::cuda_emu::lane_id();
    int src = lane - (int)delta;
    if (src < (lane & ~(width - 1))) src = lane;
    T out;
    epic::cuda_emu::exchange(mask, &v, src, &out, sizeof(T));
    return out;
}

// Atomics: blocks run on several OS threads at once, so these are real atomics.
inline int atomicCAS(int* p, int compare, int value) {
    __atomic_compare_exchange_n(p, &compare, value, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return compare;
}
inline unsigned atomicCAS(unsigned* p, unsigned compare, unsigned value) {
    __atomic_compare_exchange_n(p, &compare, value, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return compare;
}
inline int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline unsigned atomicAdd(unsigned* p, unsigned v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline float atomicAdd(float* p, float v) {
    float old, desired;
    __atomic_load(p, &old, __ATOMIC_SEQ_CST);
    do {
        desired = old + v;
    } while (!__atomic_compare_exchange(p, &old, &desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
    return old;
}
inline int atomicMax(int* p, int v) {
    int old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
    while (old < v && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    }
    return old;
}

// Device math: min/max overloads as CUDA provides them for integers; the rounded-op intrinsics are
// plain IEEE operations here (the emulator builds with -ffp-contract=off, so nothing is fused).
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline long min(long a, long b) { return a < b ? a : b; }
inline long max(long a, long b) { return a > b ? a : b; }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __frcp_rn(float a) { return 1.0f / a; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __uint_as_float(unsigned u) { return epic::cuda_emu::bits_float(u); }
inline unsigned __float_as_uint(float f) { return epic::cuda_emu::float_bits(f); }
inline float __int_as_float(int i) { return epic::cuda_emu::bits_float((unsigned)i); }
inline int __float_as_int(float f) { return (int)epic::cuda_emu::float_bits(f); }
template <class T> T __ldg(const T* p) { return *p; }
using std::isnan;
using std::isinf;
