#pragma once
// How much GPU memory a model needs on the CUDA backend, checked against what is free before any
// weight is uploaded, so an oversized model is one clear message instead of an allocation failure
// half-way through loading. Plain arithmetic with no CUDA calls: it builds (and is tested) everywhere;
// the CUDA backend feeds it cudaMemGetInfo in its check_fits override.
#include <cstddef>
#include <cstdint>
#include <string>

namespace epic {

struct model_config;

// "13.48 GiB" (two decimals).
std::string format_gib(size_t bytes);

struct cuda_memory_estimate {
    size_t weights = 0;     // every 2-D weight as f16 (the backend dequantizes at load) + f32 norm vectors
    size_t kv = 0;          // K and V (and pre-RoPE K when kept) for n_ctx rows, f16
    size_t activations = 0; // a forward_state for n_batch rows, logits of every row
    size_t workspace = 0;   // f16 matmul input, weight staging, attention partials, cuBLAS's own
    size_t total() const { return weights + kv + activations + workspace; }
    std::string describe() const; // "weights 2.05 GiB as f16 + KV cache 0.34 GiB + ..."
};

// Parameters of the 2-D weights the CUDA backend keeps: matmul weights, the token embedding, and the
// output projection unless it is tied to the embedding.
int64_t cuda_weight_params(const model_config& c);

// The estimate for a model with n_weight_params 2-D weight parameters (cuda_weight_params), a KV
// cache of n_ctx rows and forwards of up to n_batch rows.
cuda_memory_estimate estimate_cuda_memory(const model_config& c, int64_t n_weight_params, int n_ctx, int n_batch,
                                          bool keep_prerope_k = false);

// Memory kept back from the device's free memory for fragmentation and the runtime's own
// allocations: 5% of the device's total.
size_t cuda_memory_reserve(size_t total_bytes);

// Throws epic::error "model needs X GiB of GPU memory, Y GiB free (weights ..., KV ...)" when the
// estimate does not fit in free_bytes less cuda_memory_reserve(total_bytes).
void check_cuda_memory(const cuda_memory_estimate& need, size_t free_bytes, size_t total_bytes);

} // namespace epic
