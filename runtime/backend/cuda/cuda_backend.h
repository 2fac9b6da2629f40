#pragma once
// The CUDA backend: one device, a compute stream, a copy stream, one cuBLAS handle, all owned by the object.
//
// Weights are dequantized to f16 on the device at load (prepare_weight) and every matmul is a cuBLAS
// f16 x f16 GEMM with f32 accumulation and f32 output; norms, RoPE, attention, KV writes and the
// elementwise ops are this project's kernels (kernels/). Every op is enqueued on the backend's stream
// and returns at once; download() and synchronize() wait, and that is also where errors the kernels
// detect on device-resident inputs (a token id outside the vocabulary, an attention position outside
// the sequence) surface as epic::error.
//
// The copy stream carries the asynchronous transfers (upload_async, copy_async): host-to-device copies
// from pinned staging memory and device-to-device copies that overlap the compute stream's kernels.
// Fences are CUDA events recorded on the copy stream; the compute stream waits on them with
// cudaStreamWaitEvent, so the host never blocks unless it asks to (synchronize_transfer_fence).
#include "backend/backend.h"
#include "backend/cuda/cuda_memory.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace epic {

struct kernel_status;
struct model_config;

class cuda_backend final : public backend {
public:
    // Uses device `device` (throws epic::error when there is none or it cannot be initialised).
    explicit cuda_backend(int device = 0);
    ~cuda_backend() override;
    cuda_backend(const cuda_backend&) = delete;
    cuda_backend& operator=(const cuda_backend&) = delete;

    std::string name() const override;
    // Estimate (backend/memory_budget.h) against cudaMemGetInfo.
    void check_fits(const model_config& c, int n_ctx, int n_batch) const override;

    std::unique_ptr<device_buffer> alloc(size_t bytes) override;
    void upload(void* dst, const void* src_host, size_t bytes) override;
    void download(void* dst_host, const void* src, size_t bytes) override;
    void copy(void* dst, const void* src, size_t bytes) override;
    void synchronize() override;

    std::unique_ptr<device_buffer> alloc_host_staging(size_t bytes) override; // pinned (cudaMallocHost)
    void upload_async(void* dst, const void* src_host, size_t bytes) override;
    void copy_async(void* dst, const void* src, size_t bytes) override;
    void transfers_after_compute() override;
    std::unique_ptr<transfer_fence> record_transfer_fence() override;
    void wait_transfer_fence(const transfer_fence& f) override;
    void synchronize_transfer_fence(const transfer_fence& f) override;
    device_memory_info memory_info() const override;

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

    // --- beyond the interface ------------------------------------------------------------------------
    // Greedy sampling on the device: index of the largest of x[0..n) (device memory), ties to the
    // lowest index. Downloads 4 bytes instead of the logits row; waits for the stream.
    int32_t argmax(const float* x, int n);
    // out[r] = argmax of row r of x [rows, n] into device memory, without waiting.
    void argmax_rows(const float* x, int rows, int n, int32_t* out);

    int device() const { return device_; }
    int sm_count() const { return sm_count_; }
    cudaStream_t stream() const { return stream_; }
    cudaStream_t copy_stream() const { return copy_stream_; }
    // Free and total device memory now (cudaMemGetInfo).
    void memory_info(size_t& free_bytes, size_t& total_bytes) const;

private:
    // Throws if an async kernel recorded a status (call after the stream was synchronized, with the
    // status already copied to status_host_).
    void raise_kernel_status();
    // Enqueues the status copy, waits for the stream, then raises any recorded error.
    void sync_and_check();
    void launched(cudaError_t e, const char* kernel); // checks a launcher's result
    const double* device_inv_freq(const rope_params& p);

    int device_ = 0;
    int sm_count_ = 0;
    std::string device_name_;
    cudaStream_t stream_ = nullptr;
    cudaStream_t copy_stream_ = nullptr;  // asynchronous transfers (non-blocking, like stream_)
    cudaEvent_t compute_mark_ = nullptr;  // recorded on stream_ by transfers_after_compute
    cublasHandle_t cublas_ = nullptr;

    std::unique_ptr<cuda_buffer> status_;     // kernel_status on the device
    std::unique_ptr<pinned_buffer> status_host_; // its host copy (kernel_status)
    std::unique_ptr<cuda_buffer> argmax_out_;  // [1] int32
    std::unique_ptr<pinned_buffer> argmax_host_;
    cuda_workspace act_f16_{"f16 activations"};     // [n, cols] f16 matmul input
    cuda_workspace staging_{"weight staging"};      // raw quantized rows on their way to f16
    cuda_workspace attention_ws_{"attention partials"}; // split-key partial results
    // Device copies of prepared weights by mapped address (weak: the device_weights own them).
    struct prepared_weight {
        ggml_type type;
        int64_t rows, cols;
        std::weak_ptr<cuda_buffer> buffer;
    };
    std::unordered_map<const void*, prepared_weight> weights_;
    std::vector<double> inv_freq_host_;              // [n_rot/2] the table currently on the device
    std::unique_ptr<cuda_buffer> inv_freq_;          // [n_rot/2] double
};

// The backend on `device`, or epic::error "no usable CUDA device: <reason>" when there is no device,
// no driver, or the device cannot be initialised.
std::unique_ptr<cuda_backend> create_cuda_backend(int device = 0);

} // namespace epic
