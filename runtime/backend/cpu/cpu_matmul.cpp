// Matrix multiplication on the CPU: y[n, rows] = x[n, cols] · W^T.
// Activations are first converted to the weight type's dot partner (q8_0 / q8_K / f16 / bf16 / f32,
// as llama.cpp does), then output tiles of (row block x token block) are shared out over the threads;
// quant/gemm_tile does the register-tiled dot products inside a tile.
#include "backend/cpu/cpu_backend.h"
#include "common/error.h"
#include "quant/quant.h"

#include <algorithm>

namespace epic {

void cpu_backend::matmul(const device_weight& w, const float* x, int n, float* y) {
    if (n <= 0) return;
    const ggml_type act_type = vec_dot_type(w.type);
    const size_t a_stride = row_bytes(act_type, w.cols);
    const void* act = x;
    if (act_type != ggml_type::f32) {
        if (act_workspace_.size() < a_stride * (size_t)n) act_workspace_.resize(a_stride * (size_t)n);
        uint8_t* ws = act_workspace_.data(); // [n, a_stride bytes]
        parallel_range((size_t)n, 1, [&](size_t b, size_t e) {
            for (size_t i = b; i < e; ++i) quantize_row(act_type, x + i * (size_t)w.cols, ws + i * a_stride, w.cols);
        });
        act = ws;
    }
    // Tiles: a weight block stays in L2 while every token block of the batch passes over it. The
    // column block is the kernel's preference (wide for AMX, which unpacks weights once per call).
    // It depends only on n and the type, never on the thread count, so every output element is
    // computed by the same kernel and in the same order however the tiles are shared out.
    const int64_t row_block = n == 1 ? 16 : 64;
    const int64_t col_block = gemm_col_block(w.type);
    const int64_t n_row_blocks = (w.rows + row_block - 1) / row_block;
    const int64_t n_col_blocks = ((int64_t)n + col_block - 1) / col_block;
    const auto* wdata = static_cast<const uint8_t*>(w.data);
    const auto* adata = static_cast<const uint8_t*>(act);
    pool_.parallel_for(n_row_blocks * n_col_blocks, [&](int64_t task, int) {
        const int64_t rb = task % n_row_blocks, cb = task / n_row_blocks;
        const int64_t r0 = rb * row_block, c0 = cb * col_block;
        const int nr = (int)std::min(row_block, w.rows - r0);
        const int nc = (int)std::min(col_block, (int64_t)n - c0);
        gemm_tile(w.type, w.cols, wdata + (size_t)r0 * w.row_stride, w.row_stride, nr, adata + (size_t)c0 * a_stride,
                  a_stride, nc, y + (size_t)c0 * w.rows + r0, (size_t)w.rows);
    });
}

} // namespace epic
