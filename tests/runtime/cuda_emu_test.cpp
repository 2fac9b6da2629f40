// The CUDA emulator (kernels/emu) itself: it must run kernels with CUDA's semantics (barriers, warp
// shuffles, dynamic shared memory) and catch the mistakes a GPU reports badly or not at all. Only
// meaningful in an EPIC_CUDA=EMU build; elsewhere the tests skip.
#include <gtest/gtest.h>

#if defined(EPIC_CUDA_EMU)
#include "emu_device.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cmath>
#include <random>
#include <vector>

namespace {

using epic::cuda_emu::launch_kernel;

// out[b] = sum over the block of in[b * n + t], through warp shuffles and shared memory.
__global__ void block_sum_kernel(const float* in, float* out) {
    __shared__ float partial[32];
    const int t = threadIdx.x, lane = t & 31, warp = t >> 5;
    float x = in[blockIdx.x * blockDim.x + t];
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
    if (lane == 0) partial[warp] = x;
    __syncthreads();
    if (warp == 0) {
        x = lane < (int)(blockDim.x >> 5) ? partial[lane] : 0.0f;
        for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
        if (lane == 0) out[blockIdx.x] = x;
    }
}

// Rotates a block's values by one through dynamic shared memory: needs the barrier to be correct.
__global__ void rotate_kernel(const float* in, float* out, bool with_barrier) {
    float* s = static_cast<float*>(epic::cuda_emu::current_thread().dynamic_smem);
    const int t = threadIdx.x, n = blockDim.x;
    s[t] = in[blockIdx.x * n + t];
    if (with_barrier) __syncthreads();
    out[blockIdx.x * n + t] = s[(t + 1) % n];
}

// Lane 0 waits at the block barrier while the other lanes of its warp shuffle: never completes.
__global__ void deadlock_kernel(float* out) {
    float x = (float)threadIdx.x;
    if (threadIdx.x == 0) __syncthreads();
    else x += __shfl_xor_sync(0xffffffffu, x, 1);
    out[threadIdx.x] = x;
}

// Lanes >= 16 return before a full-mask shuffle.
__global__ void exited_lane_kernel(float* out) {
    if (threadIdx.x >= 16) return;
    out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1.0f, 1);
}

__global__ void write_kernel(float* out) { out[threadIdx.x] = 1.0f; }

struct device_floats {
    explicit device_floats(size_t n) : n(n) { EXPECT_EQ(cudaMalloc(&p, n * sizeof(float)), cudaSuccess); }
    ~device_floats() { cudaFree(p); }
    void put(const std::vector<float>& v) { ASSERT_EQ(cudaMemcpy(p, v.data(), v.size() * 4, cudaMemcpyHostToDevice), cudaSuccess); }
    std::vector<float> get() const {
        std::vector<float> v(n);
        EXPECT_EQ(cudaMemcpy(v.data(), p, n * 4, cudaMemcpyDeviceToHost), cudaSuccess);
        return v;
    }
    float* p = nullptr;
    size_t n;
};

std::vector<float> random_floats(size_t n, std::mt19937& rng) {
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> v(n);
    for (auto& x : v) x = nd(rng);
    return v;
}

TEST(cuda_emu, shuffles_and_barriers_reduce_like_the_cpu) {
    std::mt19937 rng(std::random_device{}());
    const int blocks = 7, threads = 256;
    const auto in = random_floats((size_t)blocks * threads, rng);
    device_floats din(in.size()), dout(blocks);
    din.put(in);
    ASSERT_EQ(launch_kernel(block_sum_kernel, blocks, threads, 0, nullptr, (const float*)din.p, dout.p), cudaSuccess);
    const auto got = dout.get();
    for (int b = 0; b < blocks; ++b) {
        double want = 0.0;
        for (int t = 0; t < threads; ++t) want += in[(size_t)b * threads + t];
        EXPECT_NEAR(got[(size_t)b], want, 1e-4 * (1.0 + std::fabs(want))) << "block " << b;
    }
}

TEST(cuda_emu, a_missing_barrier_changes_the_result) {
    std::mt19937 rng(std::random_device{}());
    const int blocks = 2, threads = 64;
    const auto in = random_floats((size_t)blocks * threads, rng);
    device_floats din(in.size()), dout(in.size());
    din.put(in);
    auto expect_rotated = [&](bool must_match) {
        const auto got = dout.get();
        int wrong = 0;
        for (int b = 0; b < blocks; ++b)
            for (int t = 0; t < threads; ++t)
                wrong += got[(size_t)b * threads + t] != in[(size_t)b * threads + (t + 1) % threads];
        if (must_match) EXPECT_EQ(wrong, 0);
        else EXPECT_GT(wrong, 0) << "a race the emulator should expose";
    };
    ASSERT_EQ(launch_kernel(rotate_kernel, blocks, threads, threads * sizeof(float), nullptr, (const float*)din.p, dout.p, true),
              cudaSuccess);
    expect_rotated(true);
    ASSERT_EQ(launch_kernel(rotate_kernel, blocks, threads, threads * sizeof(float), nullptr, (const float*)din.p, dout.p, false),
              cudaSuccess);
    expect_rotated(false);
}

TEST(cuda_emu, a_host_pointer_kernel_argument_fails_the_launch) {
    std::vector<float> host(32);
    EXPECT_EQ(launch_kernel(write_kernel, 1, 32, 0, nullptr, host.data()), cudaErrorInvalidDevicePointer);
    EXPECT_NE(epic::cuda_emu::last_diagnostic().find("argument 1"), std::string::npos) << epic::cuda_emu::last_diagnostic();
    EXPECT_EQ(cudaGetLastError(), cudaSuccess) << "the launch's error is returned once, then cleared";
}

TEST(cuda_emu, deadlock_and_exited_lanes_are_reported) {
    device_floats d(32);
    EXPECT_EQ(launch_kernel(deadlock_kernel, 1, 32, 0, nullptr, d.p), cudaErrorLaunchFailure);
    EXPECT_NE(epic::cuda_emu::last_diagnostic().find("deadlock"), std::string::npos) << epic::cuda_emu::last_diagnostic();
    EXPECT_EQ(launch_kernel(exited_lane_kernel, 1, 32, 0, nullptr, d.p), cudaErrorLaunchFailure);
    EXPECT_NE(epic::cuda_emu::last_diagnostic().find("exited"), std::string::npos) << epic::cuda_emu::last_diagnostic();
}

TEST(cuda_emu, launch_limits_and_the_shared_memory_opt_in) {
    device_floats d(2048);
    EXPECT_EQ(launch_kernel(write_kernel, 1, 2048, 0, nullptr, d.p), cudaErrorInvalidConfiguration);
    EXPECT_EQ(launch_kernel(write_kernel, 0, 32, 0, nullptr, d.p), cudaErrorInvalidConfiguration);
    const size_t big = 64u << 10;
    EXPECT_EQ(launch_kernel(write_kernel, 1, 32, big, nullptr, d.p), cudaErrorInvalidValue);
    ASSERT_EQ(cudaFuncSetAttribute(write_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)big), cudaSuccess);
    EXPECT_EQ(launch_kernel(write_kernel, 1, 32, big, nullptr, d.p), cudaSuccess);
}

TEST(cuda_emu, copies_are_checked_against_allocations_and_direction) {
    device_floats d(16);
    std::vector<float> host(32, 1.0f);
    EXPECT_EQ(cudaMemcpy(d.p, host.data(), 16 * 4, cudaMemcpyHostToDevice), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(d.p, host.data(), 32 * 4, cudaMemcpyHostToDevice), cudaErrorInvalidValue) << "past the end";
    EXPECT_EQ(cudaMemcpy(host.data(), d.p, 16 * 4, cudaMemcpyHostToDevice), cudaErrorInvalidValue) << "wrong direction";
    EXPECT_EQ(cudaMemsetAsync(d.p + 8, 0, 16 * 4, nullptr), cudaErrorInvalidValue);
    (void)cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    ASSERT_EQ(cudaMemGetInfo(&free_b, &total_b), cudaSuccess);
    void* huge = nullptr;
    EXPECT_EQ(cudaMalloc(&huge, total_b + 1), cudaErrorMemoryAllocation);
    EXPECT_EQ(cudaGetLastError(), cudaErrorMemoryAllocation);
    EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

TEST(cuda_emu, fresh_device_memory_reads_as_nan) {
    device_floats d(64);
    for (float x : d.get()) EXPECT_TRUE(std::isnan(x));
}

// cublasGemmEx against a float64 reference for every transpose combination, ld > rows.
TEST(cuda_emu, gemm_ex_matches_float64_for_every_transpose) {
    std::mt19937 rng(std::random_device{}());
    cublasHandle_t h = nullptr;
    ASSERT_EQ(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
    const int m = 13, n = 7, k = 29, pad = 3;
    for (cublasOperation_t ta : {CUBLAS_OP_N, CUBLAS_OP_T})
        for (cublasOperation_t tb : {CUBLAS_OP_N, CUBLAS_OP_T}) {
            const int a_rows = ta == CUBLAS_OP_N ? m : k, a_cols = ta == CUBLAS_OP_N ? k : m;
            const int b_rows = tb == CUBLAS_OP_N ? k : n, b_cols = tb == CUBLAS_OP_N ? n : k;
            const int lda = a_rows + pad, ldb = b_rows + pad, ldc = m + pad;
            const auto a = random_floats((size_t)lda * a_cols, rng), b = random_floats((size_t)ldb * b_cols, rng);
            const auto c0 = random_floats((size_t)ldc * n, rng);
            device_floats da(a.size()), db(b.size()), dc(c0.size());
            da.put(a);
            db.put(b);
            dc.put(c0);
            const float alpha = 0.75f, beta = -0.5f;
            ASSERT_EQ(cublasGemmEx(h, ta, tb, m, n, k, &alpha, da.p, CUDA_R_32F, lda, db.p, CUDA_R_32F, ldb, &beta, dc.p,
                                   CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                      CUBLAS_STATUS_SUCCESS);
            const auto c = dc.get();
            for (int j = 0; j < n; ++j)
                for (int i = 0; i < m; ++i) {
                    double want = 0.0;
                    for (int l = 0; l < k; ++l) {
                        const double av = ta == CUBLAS_OP_N ? a[(size_t)i + (size_t)l * lda] : a[(size_t)l + (size_t)i * lda];
                        const double bv = tb == CUBLAS_OP_N ? b[(size_t)l + (size_t)j * ldb] : b[(size_t)j + (size_t)l * ldb];
                        want += av * bv;
                    }
                    want = alpha * want + beta * c0[(size_t)i + (size_t)j * ldc];
                    EXPECT_NEAR(c[(size_t)i + (size_t)j * ldc], want, 1e-4 * (1.0 + std::fabs(want)))
                        << "op " << ta << tb << " at " << i << "," << j;
                }
            // Padding rows of C are untouched.
            for (int j = 0; j < n; ++j) EXPECT_EQ(c[(size_t)m + (size_t)j * ldc], c0[(size_t)m + (size_t)j * ldc]);
        }
    float one = 1.0f;
    EXPECT_EQ(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, &one, CUDA_R_32F, 4, &one, CUDA_R_32F, 4, &one, &one,
                           CUDA_R_32F, 4, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
              CUBLAS_STATUS_INVALID_VALUE)
        << "host operands";
    cublasDestroy(h);
}

} // namespace

#else

TEST(cuda_emu, only_in_emulator_builds) { GTEST_SKIP() << "built without EPIC_CUDA=EMU"; }

#endif
