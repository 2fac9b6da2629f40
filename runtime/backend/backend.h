#pragma once
// The compute backend interface. The forward pass and the link algorithms are written once against
// it; the CPU backend (reference and fast path) and the CUDA backend implement it.
//
// Every pointer an op takes lives in the backend's own memory (host memory for the CPU, device
// memory for CUDA): allocate with alloc(), move data with upload()/download(). Activations are f32
// row-major matrices; the KV cache is f16 ([rows, n_head_kv, head_dim] per layer).
#include "core/tensor_type.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace epic {

struct model_config;
struct weight_view;

class device_buffer {
public:
    virtual ~device_buffer() = default;
    virtual void* data() = 0;
    virtual size_t size() const = 0;
    template <class T> T* as() { return static_cast<T*>(data()); }
};

// A point in a backend's transfer queue (see backend::upload_async): it completes when every
// transfer enqueued before it was recorded has completed. Only the backend that made it can use it.
class transfer_fence {
public:
    virtual ~transfer_fence() = default;
};

// Memory of the backend's device in bytes; both 0 when unknown or not separate from the host (the CPU).
struct device_memory_info {
    size_t free_bytes = 0;
    size_t total_bytes = 0;
};

// A weight matrix resident in a backend: `rows` rows of `cols` elements of `type`, row_stride bytes apart.
struct device_weight {
    ggml_type type = ggml_type::f32;
    int64_t rows = 0;
    int64_t cols = 0;
    size_t row_stride = 0;
    const void* data = nullptr;
    std::unique_ptr<device_buffer> storage; // owns `data` when the backend copied it; null for zero-copy views
};

struct rope_params {
    int n_rot = 0;                        // rotated dims per head
    float freq_base = 10000.0f;
    float freq_scale = 1.0f;              // linear position scaling: angle = pos * freq_scale * inv_freq
    const float* freq_factors = nullptr;  // [n_rot/2] host memory, or null (Llama-3 rope_freqs)
    bool neox = false;                    // pairs (i, i + n_rot/2) (Gemma, HF layout) instead of (2i, 2i+1) (llama GGUF)
};

// Attention temperature over linked chunks (APE, arXiv 2502.05431; link_policy "+ape"): a query at a
// position >= end sees the keys of rows [begin, end) with its logits divided by temperature (T), and
// that part's log-sum-exp multiplied by scale x T (S x T) before it competes with the other keys; that
// is, each such logit s becomes s / T + (S T - 1) · LSE_j(s_j / T). T = S = 1 is plain attention.
struct context_attention {
    int begin = 0, end = 0;
    float temperature = 1.0f, scale = 1.0f;
    bool adjusted() const { return end > begin && (temperature != 1.0f || scale != 1.0f); }
};

struct attention_params {
    int n_head = 0;
    int n_head_kv = 0;
    int head_dim = 0;
    float scale = 1.0f; // 1/sqrt(head_dim)
    int kv_first = 0;   // keys of rows < kv_first are not visible (a segment computed on its own)
    int window = 0;     // sliding window: row at position p sees keys p-window+1..p; 0 = unlimited
    context_attention context; // APE over a link's chunks; default: plain attention
};

class backend {
public:
    virtual ~backend() = default;
    virtual std::string name() const = 0;

    // Throws epic::error "model needs X GiB of GPU memory, Y GiB free ..." when a model with this
    // configuration, a KV cache of n_ctx rows and forwards of up to n_batch rows would not fit in the
    // backend's free memory. Called before any weight is prepared (transformer's constructor), so an
    // oversized model fails at once instead of half-way through the upload. Default: nothing to check
    // (the CPU backend reads weights from the mapped file and has the host's memory).
    virtual void check_fits(const model_config& c, int n_ctx, int n_batch) const;

    virtual std::unique_ptr<device_buffer> alloc(size_t bytes) = 0;
    virtual void upload(void* dst, const void* src_host, size_t bytes) = 0;
    virtual void download(void* dst_host, const void* src, size_t bytes) = 0;
    virtual void copy(void* dst, const void* src, size_t bytes) = 0; // within the backend
    virtual void synchronize() = 0;

    // --- Asynchronous transfers ------------------------------------------------------------------------
    // A second queue for copies that overlap compute (CUDA: a separate stream). Transfers run in the
    // order enqueued; compute sees their results only after wait_transfer_fence() on a fence recorded
    // after them, and the host only after synchronize_transfer_fence(). The transfer queue does not
    // wait for compute unless told to (transfers_after_compute). The defaults are synchronous: every
    // transfer is complete when the call returns and fences are trivial, which suits a backend whose
    // upload() and copy() are complete when they return (the CPU).
    //
    // Host memory the backend transfers from fastest: page-locked on CUDA, plain memory by default.
    // The buffer is host memory (data() is a host pointer), usable as upload_async's source.
    virtual std::unique_ptr<device_buffer> alloc_host_staging(size_t bytes);
    // Enqueues dst (backend memory) <- src_host. src_host must stay unchanged until a fence recorded
    // after this call has completed (synchronize_transfer_fence).
    virtual void upload_async(void* dst, const void* src_host, size_t bytes);
    // Enqueues dst <- src, both backend memory.
    virtual void copy_async(void* dst, const void* src, size_t bytes);
    // Transfers enqueued from now on start after the compute enqueued so far (so they may overwrite
    // memory that compute was still using).
    virtual void transfers_after_compute() {}
    // A fence after every transfer enqueued so far.
    virtual std::unique_ptr<transfer_fence> record_transfer_fence();
    // Compute enqueued from now on runs after the fence's transfers; the host does not wait.
    virtual void wait_transfer_fence(const transfer_fence&) {}
    // The host waits until the fence's transfers are complete.
    virtual void synchronize_transfer_fence(const transfer_fence&) {}

    // Free and total memory of the device now (budgets such as the GPU hot tier of chunk caches).
    virtual device_memory_info memory_info() const { return {}; }

    // Makes a weight of the mapped file usable by this backend (zero-copy on the CPU).
    virtual device_weight prepare_weight(const weight_view& w) = 0;

    // out[n, table.cols] = rows ids[n] of the table, dequantized.
    virtual void get_rows(const device_weight& table, const int32_t* ids, int n, float* out) = 0;
    // y[n, dim] = x[n, dim] / rms(x) * w[dim]
    virtual void rms_norm(const float* x, const float* w, float* y, int n, int dim, float eps) = 0;
    // y[n, w.rows] = x[n, w.cols] · w^T
    virtual void matmul(const device_weight& w, const float* x, int n, float* y) = 0;
    // x[n, n_head, head_dim] rotated in place, row i at position pos[i].
    virtual void rope(float* x, const int32_t* pos, int n, int n_head, int head_dim, const rope_params& p) = 0;
    // Same rotation on f16 keys in place: turns cached pre-RoPE keys into keys at positions pos[i].
    virtual void rope_f16(uint16_t* k, const int32_t* pos, int n, int n_head, int head_dim, const rope_params& p) = 0;
    // dst[rows[i], 0..width) = f16(src[i, 0..width)); dst is [*, width] f16.
    virtual void scatter_f16(const float* src, const int32_t* rows, int n, int width, uint16_t* dst) = 0;
    // out[n, n_head, head_dim]: query row i, at position pos[i], attends over keys/values of rows
    // max(kv_first, pos[i]-window+1)..pos[i] of k/v ([n_kv, n_head_kv, head_dim] f16), exact causal
    // rule, grouped-query heads. Bidirectional attention (an encoder such as BERT) is the case where
    // every query is given position n_kv - 1 (window 0, kv_first 0): each then sees all n_kv keys.
    virtual void attention(const float* q, const int32_t* pos, int n, const uint16_t* k, const uint16_t* v, int n_kv,
                           float* out, const attention_params& p) = 0;
    // out[i] = silu(gate[i]) * up[i]
    virtual void swiglu(const float* gate, const float* up, float* out, size_t n) = 0;
    // y[i] += x[i]
    virtual void add(float* y, const float* x, size_t n) = 0;
    // y[i, j] += b[j] for rows i < n, columns j < width (Qwen2's q/k/v biases). b is backend memory.
    virtual void add_bias(float* y, const float* b, int n, int width) = 0;
    // x[i] *= s (Gemma's embedding scale).
    virtual void scale(float* x, size_t n, float s) = 0;
    // out[i] = gelu_tanh(gate[i]) * up[i] (Gemma's FFN).
    virtual void geglu(const float* gate, const float* up, float* out, size_t n) = 0;
    // y[n, dim] = (x[n, dim] - mean) / sqrt(var + eps) * w[dim] + b[dim], mean and biased variance
    // over each row: LayerNorm with bias (BERT's post-norm blocks). w and b are backend memory; y may
    // be x.
    virtual void layer_norm(const float* x, const float* w, const float* b, float* y, int n, int dim, float eps) = 0;
    // out[i] = 0.5 x[i] (1 + erf(x[i] / sqrt(2))), i < n: the exact GELU (BERT's hidden_act "gelu"; geglu
    // uses the tanh approximation). out may be x.
    virtual void gelu(const float* x, float* out, size_t n) = 0;
    // dst[i, :] = src[rows[i], :], width floats per row (select rows of an activation matrix).
    virtual void gather_rows(const float* src, const int32_t* rows, int n, int width, float* dst) = 0;
};

struct backend_params {
    std::string device = "auto"; // auto | cpu | cuda
    int n_threads = 0;           // CPU threads; 0 = all cores
};

backend_params backend_default_params();
// Creates the backend the params ask for ("auto" picks CUDA when built and usable, else the CPU).
// EPIC_DEVICE=cpu in the environment forces the CPU (read by the caller into params.device).
std::unique_ptr<backend> create_backend(const backend_params& params);

} // namespace epic
