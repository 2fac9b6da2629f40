#pragma once
// The CPU backend: the reference every other backend is compared with, and a fast path in its own
// right (threads from its own pool, SIMD dot products from quant/, quantized activations like
// llama.cpp so integer dot products do the work).
#include "backend/backend.h"
#include "backend/cpu/thread_pool.h"

#include <vector>

namespace epic {

class cpu_backend final : public backend {
public:
    explicit cpu_backend(int n_threads);
    std::string name() const override;
    int n_threads() const { return pool_.size(); }

    std::unique_ptr<device_buffer> alloc(size_t bytes) override;
    void upload(void* dst, const void* src_host, size_t bytes) override;
    void download(void* dst_host, const void* src, size_t bytes) override;
    void copy(void* dst, const void* src, size_t bytes) override;
    void synchronize() override {}
    device_weight prepare_weight(const weight_view& w) override;

    void get_rows(const device_weight& table, const int32_t* ids, int n, float* out) override;
    void rms_norm(const float* x, const float* w, float* y, int n, int dim, float eps) override;
    void matmul(const device_weight& w, const float* x, int n, float* y) override;
    void rope(float* x, const int32_t* pos, int n, int n_head, int head_dim, const rope_params& p) override;
    void rope_f16(uint16_t* k, const int32_t* pos, int n, int n_head, int head_dim, const rope_params& p) override;
    void scatter_f16(const float* src, const int32_t* rows, int n, int width, uint16_t* dst) override;
    void attention(const float* q, const int32_t* pos, int n, const uint16_t* k, const uint16_t* v, int n_kv, float* out,
                   const attention_params& p) override;
    void swiglu(const float* gate, const float* up, float* out, size_t n) override;
    void add(float* y, const float* x, size_t n) override;
    void add_bias(float* y, const float* b, int n, int width) override;
    void scale(float* x, size_t n, float s) override;
    void geglu(const float* gate, const float* up, float* out, size_t n) override;
    void layer_norm(const float* x, const float* w, const float* b, float* y, int n, int dim, float eps) override;
    void gelu(const float* x, float* out, size_t n) override;
    void gather_rows(const float* src, const int32_t* rows, int n, int width, float* dst) override;

private:
    // Splits [0, n) into about 4 tasks per thread of at least `min_chunk` items each.
    void parallel_range(size_t n, size_t min_chunk, const std::function<void(size_t, size_t)>& fn);

    thread_pool pool_;
    std::vector<uint8_t> act_workspace_;       // activations converted to the weights' dot type
    std::vector<std::vector<float>> scratch_;  // per-thread attention scores
};

} // namespace epic
