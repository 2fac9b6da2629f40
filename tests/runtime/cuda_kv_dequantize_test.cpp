// The CUDA KV dequantization kernel (kernels/kv_dequantize.cu) against the CPU decoder
// (pic/kv_quant.h): bit for bit, on codes the CPU quantizer made from K- and V-like tensors and on
// random bytes, both formats, both grouping axes, tail groups and odd sizes. Runs on the emulator in an
// EPIC_CUDA=EMU build (fresh device memory reads as NaN there, so an element left unwritten fails) and
// on a GPU where there is one; skips without a device.
#include "kv_dequantize.cuh"
#include "pic/kv_quant.h"

#include "core/fp16.h"

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace epic {
namespace {

#define CUDA_OK(call) ASSERT_EQ((call), cudaSuccess) << #call

class cuda_kv_dequantize : public ::testing::Test {
protected:
    void SetUp() override {
        int n = 0;
        if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) GTEST_SKIP() << "no CUDA device";
        seed_ = std::random_device{}();
        rng_.seed(seed_);
    }
    // Device copy of a host vector (freed in TearDown).
    template <class T> T* to_device(const std::vector<T>& v) {
        void* p = nullptr;
        EXPECT_EQ(cudaMalloc(&p, std::max<size_t>(1, v.size() * sizeof(T))), cudaSuccess);
        if (!v.empty()) EXPECT_EQ(cudaMemcpy(p, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
        buffers_.push_back(p);
        return static_cast<T*>(p);
    }
    void TearDown() override {
        for (void* p : buffers_) EXPECT_EQ(cudaFree(p), cudaSuccess);
    }
    // The kernel's output for these codes, scales and minima, next to the CPU decoder's.
    void expect_same(const kv_quant_layout& l, const std::vector<uint8_t>& codes, const std::vector<uint16_t>& s,
                     const std::vector<uint16_t>& m, const std::string& what) {
        SCOPED_TRACE(what + ", seed " + std::to_string(seed_));
        std::vector<uint16_t> want((size_t)(l.n_rows * l.width)), got(want.size());
        kv_dequantize(l, codes.data(), s.data(), m.data(), want.data());
        uint16_t* out = to_device(std::vector<uint16_t>(want.size(), 0x7e00)); // NaN until written
        CUDA_OK(launch_kv_dequantize_f16(to_device(codes), to_device(s), to_device(m), l.n_rows, l.width, l.bits, l.group,
                                         l.axis == kv_quant_axis::tokens, out, nullptr));
        CUDA_OK(cudaDeviceSynchronize());
        CUDA_OK(cudaGetLastError());
        CUDA_OK(cudaMemcpy(got.data(), out, got.size() * 2, cudaMemcpyDeviceToHost));
        size_t differ = 0;
        for (size_t i = 0; i < got.size(); ++i) differ += got[i] != want[i];
        EXPECT_EQ(differ, 0u) << "of " << got.size() << " values";
    }

    uint32_t seed_ = 0;
    std::mt19937 rng_;
    std::vector<void*> buffers_;
};

kv_quant_layout layout(int64_t rows, int64_t w, int bits, int group, kv_quant_axis axis) {
    kv_quant_layout l;
    l.n_rows = rows;
    l.width = w;
    l.bits = bits;
    l.group = group;
    l.axis = axis;
    return l;
}

TEST_F(cuda_kv_dequantize, equals_the_cpu_decoder_on_quantized_tensors) {
    std::normal_distribution<float> n01(0.f, 1.f);
    for (int bits : {8, 4})
        for (auto axis : {kv_quant_axis::tokens, kv_quant_axis::channels})
            for (auto [rows, w, g] : {std::tuple<int64_t, int64_t, int>{300, 192, kv_quant_group}, {77, 128, 32}, {1, 6, 2}, {33, 70, 8}}) {
                const kv_quant_layout l = layout(rows, w, bits, g, axis);
                std::vector<uint16_t> x((size_t)(rows * w)); // [rows, w] channel offsets as in K
                for (size_t i = 0; i < x.size(); ++i) x[i] = fp32_to_fp16((float)(i % (size_t)w % 7) - 3.f + n01(rng_));
                std::vector<uint8_t> codes(l.code_bytes());
                std::vector<uint16_t> s(l.scale_count()), m(l.scale_count());
                kv_quantize(l, x.data(), codes.data(), s.data(), m.data());
                expect_same(l, codes, s, m,
                            std::to_string(bits) + " bits along " + kv_quant_axis_name(axis) + ", " + std::to_string(rows) + " x " +
                                std::to_string(w) + ", groups of " + std::to_string(g));
            }
}

TEST_F(cuda_kv_dequantize, equals_the_cpu_decoder_on_random_bytes) {
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_real_distribution<float> sc(1e-4f, 8.f), mn(-50.f, 50.f);
    for (int bits : {8, 4})
        for (auto axis : {kv_quant_axis::tokens, kv_quant_axis::channels}) {
            const kv_quant_layout l = layout(129, 37, bits, 6, axis);
            std::vector<uint8_t> codes(l.code_bytes());
            for (auto& c : codes) c = (uint8_t)byte(rng_);
            std::vector<uint16_t> s(l.scale_count()), m(l.scale_count());
            for (auto& v : s) v = fp32_to_fp16(sc(rng_));
            for (auto& v : m) v = fp32_to_fp16(mn(rng_));
            expect_same(l, codes, s, m, std::to_string(bits) + " bits along " + kv_quant_axis_name(axis));
        }
}

TEST_F(cuda_kv_dequantize, impossible_arguments_launch_nothing) {
    uint8_t* codes = to_device(std::vector<uint8_t>(64, 0));
    uint16_t* s = to_device(std::vector<uint16_t>(64, 0));
    uint16_t* out = to_device(std::vector<uint16_t>(64, 0));
    EXPECT_EQ(launch_kv_dequantize_f16(codes, s, s, 8, 8, 3, 32, true, out, nullptr), cudaErrorInvalidValue);
    EXPECT_EQ(launch_kv_dequantize_f16(codes, s, s, 8, 8, 8, 31, true, out, nullptr), cudaErrorInvalidValue);
    EXPECT_EQ(launch_kv_dequantize_f16(codes, s, s, -1, 8, 8, 32, true, out, nullptr), cudaErrorInvalidValue);
    EXPECT_EQ(launch_kv_dequantize_f16(codes, s, s, 0, 8, 8, 32, true, out, nullptr), cudaSuccess);
    CUDA_OK(cudaDeviceSynchronize());
}

} // namespace
} // namespace epic
