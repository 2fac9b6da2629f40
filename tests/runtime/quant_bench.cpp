// Throughput of gemm_tile on one core: a [rows x n] weight against `cols` activation columns, per
// weight type. Not a test (CMake ignores it); build by hand against build-quant's libraries:
//   g++ -O3 -march=native -std=c++20 -Iruntime tests/runtime/quant_bench.cpp \
//       build-quant/runtime/libepic_quant.a build-quant/runtime/libepic_core.a -o /tmp/quant_bench
//   /tmp/quant_bench [rows=2048] [n=2048] [cols=64] [scalar=1] (scalar=0 skips the slow scalar timing)
#include "quant/quant.h"
#include "quant/quant_internal.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

using namespace epic;

int main(int argc, char** argv) {
    const int rows = argc > 1 ? std::atoi(argv[1]) : 2048;
    const int64_t n = argc > 2 ? std::atoll(argv[2]) : 2048;
    const int cols = argc > 3 ? std::atoi(argv[3]) : 64;
    const bool time_scalar = argc > 4 ? std::atoi(argv[4]) != 0 : true;
    std::mt19937 rng(7);
    std::normal_distribution<float> g(0.f, 1.f);
    std::vector<float> x(n);
    const ggml_type types[] = {ggml_type::f32,  ggml_type::f16,  ggml_type::bf16, ggml_type::q8_0,
                               ggml_type::q4_0, ggml_type::q4_1, ggml_type::q5_0, ggml_type::q5_1,
                               ggml_type::q4_k, ggml_type::q5_k, ggml_type::q6_k};
    std::printf("gemm_tile [%d x %lld] x %d columns, one thread\n", rows, (long long)n, cols);
    for (ggml_type t : types) {
        const ggml_type at = vec_dot_type(t);
        const size_t ws = row_bytes(t, n), as = row_bytes(at, n);
        std::vector<uint8_t> w(ws * rows), a(as * cols);
        for (int r = 0; r < rows; ++r) {
            for (auto& v : x) v = g(rng);
            quantize_row(t, x.data(), w.data() + r * ws, n);
        }
        for (int c = 0; c < cols; ++c) {
            for (auto& v : x) v = g(rng);
            quantize_row(at, x.data(), a.data() + c * as, n);
        }
        std::vector<float> out((size_t)rows * cols);
        auto run = [&](bool scalar) {
            if (scalar)
                quant_detail::gemm_tile_scalar(t, n, w.data(), ws, rows, a.data(), as, cols, out.data(), rows);
            else
                gemm_tile(t, n, w.data(), ws, rows, a.data(), as, cols, out.data(), rows);
        };
        const double flop = 2.0 * rows * n * cols;
        double best[2] = {1e30, 1e30};
        for (int scalar = 0; scalar < (time_scalar ? 2 : 1); ++scalar) {
            const int reps = scalar ? 1 : 5;
            for (int i = 0; i < reps; ++i) {
                const auto t0 = std::chrono::steady_clock::now();
                run(scalar);
                const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                if (s < best[scalar]) best[scalar] = s;
            }
        }
        std::printf("%-5s simd %7.1f GFLOP/s (%6.2f ms)   scalar %6.1f GFLOP/s\n", type_name(t),
                    flop / best[0] * 1e-9, best[0] * 1e3, flop / best[1] * 1e-9);
    }
}
