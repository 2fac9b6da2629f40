// The CUDA backend's lifecycle, memory and weights. The ops are in cuda_ops.cpp.
#include "backend/cuda/cuda_backend.h"

#include "backend/cuda/cuda_check.h"
#include "common/error.h"
#include "model/model.h"

#include "dequantize.cuh"
#include "kernel_status.cuh"
#include "probe.cuh"

#include <algorithm>
#include <cstring>

namespace epic {
namespace {

// Raw weight bytes are uploaded and dequantized in slices of about this size, so the staging
// buffer stays small however large a tensor (a 128k-vocabulary f32 embedding is 2 GiB).
constexpr size_t staging_slice_bytes = 64u << 20;

[[noreturn]] void no_device(const std::string& why) { throw error("no usable CUDA device: " + why); }

// A device_weight's storage when one device copy serves several weights (a tied output projection
// is the token embedding: the transformer prepares the same mapped tensor twice).
class shared_weight_buffer final : public device_buffer {
public:
    explicit shared_weight_buffer(std::shared_ptr<cuda_buffer> b) : b_(std::move(b)) {}
    void* data() override { return b_->data(); }
    size_t size() const override { return b_->size(); }

private:
    std::shared_ptr<cuda_buffer> b_;
};

// A fence of the copy stream: an event recorded there (timing off: cheaper, and only order matters).
class cuda_transfer_fence final : public transfer_fence {
public:
    explicit cuda_transfer_fence(const cuda_backend* owner) : owner(owner) {
        EPIC_CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
    }
    ~cuda_transfer_fence() override {
        if (event) (void)cudaEventDestroy(event); // no throwing from a destructor
    }
    cuda_transfer_fence(const cuda_transfer_fence&) = delete;
    cuda_transfer_fence& operator=(const cuda_transfer_fence&) = delete;

    const cuda_backend* owner;
    cudaEvent_t event = nullptr;
};

const cuda_transfer_fence& own_fence(const transfer_fence& f, const cuda_backend* be) {
    const auto* cf = dynamic_cast<const cuda_transfer_fence*>(&f);
    if (!cf || cf->owner != be) throw error("transfer fence used with a backend that did not record it");
    return *cf;
}

} // namespace

cuda_backend::cuda_backend(int device) : device_(device) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        no_device(cudaGetErrorString(e));
    }
    if (count == 0) no_device("no CUDA-capable device is detected");
    if (device < 0 || device >= count)
        no_device("device " + std::to_string(device) + " requested, " + std::to_string(count) + " present");
    if ((e = cudaSetDevice(device)) != cudaSuccess) no_device(cudaGetErrorString(e));
    cudaDeviceProp prop{};
    if ((e = cudaGetDeviceProperties(&prop, device)) != cudaSuccess) no_device(cudaGetErrorString(e));
    device_name_ = prop.name;
    sm_count_ = prop.multiProcessorCount;
    // The first runtime call that needs a context creates it: a broken driver fails here.
    if ((e = cudaFree(nullptr)) != cudaSuccess) no_device(cudaGetErrorString(e));
    // A non-blocking stream: no implicit synchronisation with other libraries' legacy default stream.
    if ((e = cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)) != cudaSuccess) no_device(cudaGetErrorString(e));
    if ((e = probe_kernel_image(stream_)) != cudaSuccess) {
        (void)cudaGetLastError();
        cudaStreamDestroy(stream_);
        stream_ = nullptr;
        no_device(device_name_ + " (compute capability " + std::to_string(prop.major) + "." + std::to_string(prop.minor) +
                  ") cannot run this build's kernels: " + cudaGetErrorString(e));
    }
    try {
        EPIC_CUBLAS_CHECK(cublasCreate(&cublas_));
        EPIC_CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
        EPIC_CUDA_CHECK(cudaStreamCreateWithFlags(&copy_stream_, cudaStreamNonBlocking));
        EPIC_CUDA_CHECK(cudaEventCreateWithFlags(&compute_mark_, cudaEventDisableTiming));
        status_ = std::make_unique<cuda_buffer>(sizeof(kernel_status), "kernel status");
        status_host_ = std::make_unique<pinned_buffer>(sizeof(kernel_status));
        argmax_out_ = std::make_unique<cuda_buffer>(sizeof(int32_t), "argmax result");
        argmax_host_ = std::make_unique<pinned_buffer>(sizeof(int32_t));
        EPIC_CUDA_CHECK(cudaMemsetAsync(status_->data(), 0, sizeof(kernel_status), stream_));
        EPIC_CUDA_CHECK(cudaStreamSynchronize(stream_));
    } catch (const error& ex) {
        if (cublas_) cublasDestroy(cublas_);
        if (compute_mark_) cudaEventDestroy(compute_mark_);
        if (copy_stream_) cudaStreamDestroy(copy_stream_);
        cudaStreamDestroy(stream_);
        no_device(ex.what());
    }
}

cuda_backend::~cuda_backend() {
    // No throwing here: errors at teardown have nobody to report to.
    // Transfers still in flight read staging memory their owners are about to free: wait for them too.
    if (copy_stream_) (void)cudaStreamSynchronize(copy_stream_);
    if (stream_) (void)cudaStreamSynchronize(stream_);
    if (cublas_) (void)cublasDestroy(cublas_);
    if (compute_mark_) (void)cudaEventDestroy(compute_mark_);
    if (copy_stream_) (void)cudaStreamDestroy(copy_stream_);
    if (stream_) (void)cudaStreamDestroy(stream_);
}

std::unique_ptr<cuda_backend> create_cuda_backend(int device) { return std::make_unique<cuda_backend>(device); }

std::string cuda_backend::name() const {
    size_t free_b = 0, total_b = 0;
    std::string mem;
    if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) mem = ", " + format_gib(total_b);
    else (void)cudaGetLastError();
    return "cuda (" + device_name_ + mem + ")";
}

void cuda_backend::check_fits(const model_config& c, int n_ctx, int n_batch) const {
    size_t free_b = 0, total_b = 0;
    memory_info(free_b, total_b);
    check_cuda_memory(estimate_cuda_memory(c, cuda_weight_params(c), n_ctx, n_batch), free_b, total_b);
}

void cuda_backend::memory_info(size_t& free_bytes, size_t& total_bytes) const {
    if (device_ != 0) EPIC_CUDA_CHECK(cudaSetDevice(device_));
    EPIC_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
}

std::unique_ptr<device_buffer> cuda_backend::alloc(size_t bytes) {
    if (device_ != 0) EPIC_CUDA_CHECK(cudaSetDevice(device_));
    return std::make_unique<cuda_buffer>(bytes);
}

void cuda_backend::upload(void* dst, const void* src_host, size_t bytes) {
    if (bytes == 0) return;
    // From pageable memory the call returns once the source has been staged, so the caller may
    // reuse or free it at once (transformer::begin uploads from temporary spans).
    EPIC_CUDA_CHECK(cudaMemcpyAsync(dst, src_host, bytes, cudaMemcpyHostToDevice, stream_));
}

void cuda_backend::download(void* dst_host, const void* src, size_t bytes) {
    if (bytes) EPIC_CUDA_CHECK(cudaMemcpyAsync(dst_host, src, bytes, cudaMemcpyDeviceToHost, stream_));
    sync_and_check();
}

void cuda_backend::copy(void* dst, const void* src, size_t bytes) {
    if (bytes == 0 || dst == src) return;
    EPIC_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
}

void cuda_backend::synchronize() { sync_and_check(); }

std::unique_ptr<device_buffer> cuda_backend::alloc_host_staging(size_t bytes) { return std::make_unique<pinned_buffer>(bytes); }

void cuda_backend::upload_async(void* dst, const void* src_host, size_t bytes) {
    if (bytes == 0) return;
    // Truly asynchronous only from pinned memory; from pageable memory CUDA stages it first.
    EPIC_CUDA_CHECK(cudaMemcpyAsync(dst, src_host, bytes, cudaMemcpyHostToDevice, copy_stream_));
}

void cuda_backend::copy_async(void* dst, const void* src, size_t bytes) {
    if (bytes == 0 || dst == src) return;
    EPIC_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, copy_stream_));
}

void cuda_backend::transfers_after_compute() {
    // Re-recording the one event is safe: cudaStreamWaitEvent captures its state at the call.
    EPIC_CUDA_CHECK(cudaEventRecord(compute_mark_, stream_));
    EPIC_CUDA_CHECK(cudaStreamWaitEvent(copy_stream_, compute_mark_, 0));
}

std::unique_ptr<transfer_fence> cuda_backend::record_transfer_fence() {
    auto f = std::make_unique<cuda_transfer_fence>(this);
    EPIC_CUDA_CHECK(cudaEventRecord(f->event, copy_stream_));
    return f;
}

void cuda_backend::wait_transfer_fence(const transfer_fence& f) {
    EPIC_CUDA_CHECK(cudaStreamWaitEvent(stream_, own_fence(f, this).event, 0));
}

void cuda_backend::synchronize_transfer_fence(const transfer_fence& f) {
    EPIC_CUDA_CHECK(cudaEventSynchronize(own_fence(f, this).event));
}

device_memory_info cuda_backend::memory_info() const {
    device_memory_info m;
    memory_info(m.free_bytes, m.total_bytes);
    return m;
}

void cuda_backend::sync_and_check() {
    EPIC_CUDA_CHECK(cudaMemcpyAsync(status_host_->data(), status_->data(), sizeof(kernel_status), cudaMemcpyDeviceToHost,
                                    stream_));
    EPIC_CUDA_CHECK(cudaStreamSynchronize(stream_));
    raise_kernel_status();
}

void cuda_backend::raise_kernel_status() {
    const kernel_status st = *status_host_->as<kernel_status>();
    if (st.code == kernel_ok) return;
    // Clear it so the backend stays usable after the error is reported.
    EPIC_CUDA_CHECK(cudaMemsetAsync(status_->data(), 0, sizeof(kernel_status), stream_));
    EPIC_CUDA_CHECK(cudaStreamSynchronize(stream_));
    switch (st.code) {
    case kernel_token_out_of_range:
        throw error("token id " + std::to_string(st.value) + " is outside the vocabulary of " + std::to_string(st.limit));
    case kernel_position_out_of_range:
        throw error("attention: query position " + std::to_string(st.value) + " outside the KV sequence of " +
                    std::to_string(st.limit) + " rows (visible from row " + std::to_string(st.lower) + ")");
    default: throw error("CUDA kernel reported error code " + std::to_string(st.code));
    }
}

void cuda_backend::launched(cudaError_t e, const char* kernel) { cuda_check(e, kernel); }

device_weight cuda_backend::prepare_weight(const weight_view& w) {
    if (device_ != 0) EPIC_CUDA_CHECK(cudaSetDevice(device_));
    const std::string what = "weight '" + w.name + "'";
    if (!dequantize_f16_supported((uint32_t)w.type))
        throw error(what + ": tensor type " + type_name(w.type) + " is not supported by the CUDA backend");
    if (w.rows <= 0 || w.cols <= 0 || !w.data) throw error(what + ": empty weight");
    if (w.cols % traits(w.type).block_size != 0 || w.row_stride < row_bytes(w.type, w.cols))
        throw error(what + ": row of " + std::to_string(w.cols) + " elements does not fit its " + type_name(w.type) +
                    " blocks / stride");

    // The same mapped tensor prepared again (tied output): share the device copy. The key is the
    // mapping address plus shape; a transformer never outlives its model, so while the copy is alive
    // the address cannot have been reused by another file.
    const auto key = static_cast<const void*>(w.data);
    if (auto it = weights_.find(key); it != weights_.end()) {
        if (auto shared = it->second.buffer.lock();
            shared && it->second.type == w.type && it->second.rows == w.rows && it->second.cols == w.cols) {
            device_weight d;
            d.type = ggml_type::f16;
            d.rows = w.rows;
            d.cols = w.cols;
            d.row_stride = (size_t)w.cols * sizeof(uint16_t);
            d.data = shared->data();
            d.storage = std::make_unique<shared_weight_buffer>(std::move(shared));
            return d;
        }
        weights_.erase(it);
    }

    // Every weight becomes f16 [rows, cols] (dense): cuBLAS tensor-core GEMMs read it directly.
    auto out = std::make_shared<cuda_buffer>((size_t)w.rows * (size_t)w.cols * sizeof(uint16_t), what + " as f16");
    auto* dst = static_cast<uint16_t*>(out->data()); // [rows, cols] f16
    const auto* src = w.data;                         // [rows, row_stride bytes] host (mapped file)
    if (w.type == ggml_type::f16 && w.row_stride == (size_t)w.cols * sizeof(uint16_t)) {
        upload(dst, src, (size_t)w.rows * w.row_stride);
    } else {
        const int64_t rows_per_slice = std::max<int64_t>(1, (int64_t)(staging_slice_bytes / w.row_stride));
        for (int64_t r0 = 0; r0 < w.rows; r0 += rows_per_slice) {
            const int64_t nr = std::min(rows_per_slice, w.rows - r0);
            // Stream order makes reusing the staging buffer safe: the next slice's copy runs after
            // this slice's dequantization.
            void* st = staging_.get((size_t)nr * w.row_stride);
            upload(st, src + (size_t)r0 * w.row_stride, (size_t)nr * w.row_stride);
            launched(launch_dequantize_f16((uint32_t)w.type, st, w.row_stride, nr, w.cols, dst + (size_t)r0 * w.cols, stream_),
                     "dequantize_f16");
        }
    }
    device_weight d;
    d.type = ggml_type::f16;
    d.rows = w.rows;
    d.cols = w.cols;
    d.row_stride = (size_t)w.cols * sizeof(uint16_t);
    d.data = out->data();
    std::erase_if(weights_, [](const auto& kv) { return kv.second.buffer.expired(); }); // models unloaded since
    weights_[key] = prepared_weight{w.type, w.rows, w.cols, out};
    d.storage = std::make_unique<shared_weight_buffer>(std::move(out));
    return d;
}

} // namespace epic
