#include "backend/memory_budget.h"

#include "common/error.h"
#include "model/model_config.h"

#include <algorithm>
#include <cstdio>

namespace epic {

std::string format_gib(size_t bytes) {
    char s[32];
    std::snprintf(s, sizeof s, "%.2f GiB", (double)bytes / (1024.0 * 1024.0 * 1024.0));
    return s;
}

std::string cuda_memory_estimate::describe() const {
    return "weights " + format_gib(weights) + " as f16 + KV cache " + format_gib(kv) + " + activations " +
           format_gib(activations) + " + workspace " + format_gib(workspace);
}

int64_t cuda_weight_params(const model_config& c) {
    // matmul_params counts the output projection but not the embedding lookup table.
    const int64_t embd = (int64_t)c.n_vocab * c.n_embd;
    return c.matmul_params() + (c.tied_output ? 0 : embd);
}

cuda_memory_estimate estimate_cuda_memory(const model_config& c, int64_t n_weight_params, int n_ctx, int n_batch,
                                          bool keep_prerope_k) {
    const size_t f = sizeof(float), h = sizeof(uint16_t);
    const size_t batch = (size_t)std::max(1, n_batch);
    cuda_memory_estimate e;
    e.weights = (size_t)n_weight_params * h + ((size_t)c.n_layer * 2 + 1) * (size_t)c.n_embd * f;
    e.kv = (size_t)c.n_layer * (keep_prerope_k ? 3 : 2) * (size_t)std::max(0, n_ctx) * (size_t)c.kv_width() * h;
    // forward_state (forward/transformer.cpp reserve): x, xn, q, att, k, k_raw, v, gate, up, tmp; logits of every row.
    const size_t widest = (size_t)std::max({c.n_embd, c.n_ff, c.q_width()});
    const size_t per_row = f * (2 * (size_t)c.n_embd + 2 * (size_t)c.q_width() + 3 * (size_t)c.kv_width() +
                                2 * (size_t)c.n_ff + widest + (size_t)c.n_vocab) +
                           3 * sizeof(int32_t);
    e.activations = per_row * batch;
    // f16 matmul input (grown by half again), 64 MiB weight staging slices, attention partials
    // (at most 64 splits, only for small batches), cuBLAS's default workspace pool.
    const size_t attention_partials = (size_t)64 * std::min<size_t>(batch, 16) * (size_t)c.n_head * ((size_t)c.head_dim + 2) * f;
    e.workspace = batch * widest * h * 3 / 2 + (64u << 20) + attention_partials + (32u << 20);
    return e;
}

size_t cuda_memory_reserve(size_t total_bytes) { return total_bytes / 20; }

void check_cuda_memory(const cuda_memory_estimate& need, size_t free_bytes, size_t total_bytes) {
    const size_t reserve = cuda_memory_reserve(total_bytes);
    const size_t usable = free_bytes > reserve ? free_bytes - reserve : 0;
    if (need.total() > usable)
        throw error("model needs " + format_gib(need.total()) + " of GPU memory, " + format_gib(free_bytes) + " free of " +
                    format_gib(total_bytes) + " with " + format_gib(reserve) + " kept in reserve (" + need.describe() +
                    "); use a smaller context, a smaller model, or device 'cpu'");
}

} // namespace epic
