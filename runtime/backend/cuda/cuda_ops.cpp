// The CUDA backend's ops: argument checks on the host, then one kernel (or cuBLAS call) enqueued on
// the backend's stream, its launch checked.
#include "backend/cuda/cuda_backend.h"

#include "backend/cuda/cuda_check.h"
#include "backend/rope_angles.h"
#include "common/error.h"

#include "add.cuh"
#include "add_bias.cuh"
#include "argmax.cuh"
#include "attention.cuh"
#include "convert_f16.cuh"
#include "gather_rows.cuh"
#include "geglu.cuh"
#include "gelu.cuh"
#include "get_rows.cuh"
#include "kernel_status.cuh"
#include "layer_norm.cuh"
#include "rms_norm.cuh"
#include "rope.cuh"
#include "scale.cuh"
#include "scatter_f16.cuh"
#include "swiglu.cuh"

#include <algorithm>

namespace epic {
namespace {

void require_f16_weight(const device_weight& w, const char* op) {
    if (w.type != ggml_type::f16 || w.row_stride != (size_t)w.cols * sizeof(uint16_t))
        throw error(std::string("cuda ") + op + ": the weight was not prepared by the CUDA backend (type " +
                    type_name(w.type) + ")");
}

} // namespace

void cuda_backend::get_rows(const device_weight& table, const int32_t* ids, int n, float* out) {
    require_f16_weight(table, "get_rows");
    // Ids live on the device: a bad one is recorded by the kernel and raised at the next sync.
    launched(launch_get_rows_f16(static_cast<const uint16_t*>(table.data), table.rows, table.cols, ids, n, out,
                                 status_->as<kernel_status>(), stream_),
             "get_rows");
}

void cuda_backend::rms_norm(const float* x, const float* w, float* y, int n, int dim, float eps) {
    launched(launch_rms_norm(x, w, y, n, dim, eps, stream_), "rms_norm");
}

// y[n, rows] = x[n, cols] · W^T, W [rows, cols] row-major f16, through cuBLAS (column-major):
//   a row-major [r, c] matrix is, read column-major, its transpose [c, r] with ld = c. So
//   - W (row-major [rows, cols]) is column-major W^T [cols, rows], ld = cols;  op T gives W [rows, cols];
//   - X (row-major [n, cols])   is column-major X^T [cols, n],    ld = cols;  op N keeps X^T;
//   - Y (row-major [n, rows])   is column-major Y^T [rows, n],    ld = rows;
//   and Y^T = W · X^T, i.e. gemm(transa = T, transb = N, m = rows, n = n, k = cols, A = W, lda = cols,
//   B = X_f16, ldb = cols, C = Y, ldc = rows). "TN" is also cuBLAS's fastest layout for tensor cores.
void cuda_backend::matmul(const device_weight& w, const float* x, int n, float* y) {
    if (n <= 0) return;
    require_f16_weight(w, "matmul");
    const size_t elems = (size_t)n * (size_t)w.cols;
    auto* xh = static_cast<uint16_t*>(act_f16_.get(elems * sizeof(uint16_t))); // [n, cols] f16
    launched(launch_f32_to_f16(x, xh, elems, stream_), "f32_to_f16");
    const float alpha = 1.0f, beta = 0.0f;
    EPIC_CUBLAS_CHECK(cublasGemmEx(cublas_, CUBLAS_OP_T, CUBLAS_OP_N, (int)w.rows, n, (int)w.cols, &alpha, w.data, CUDA_R_16F,
                                   (int)w.cols, xh, CUDA_R_16F, (int)w.cols, &beta, y, CUDA_R_32F, (int)w.rows,
                                   CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

const double* cuda_backend::device_inv_freq(const rope_params& p) {
    // The table depends only on the model's RoPE settings: upload it when they change. The copy is
    // stream-ordered, so rope kernels already enqueued still read the old table.
    std::vector<double> f = rope_inv_freq(p);
    if (!inv_freq_ || f != inv_freq_host_) {
        if (!inv_freq_ || inv_freq_->size() < f.size() * sizeof(double))
            inv_freq_ = std::make_unique<cuda_buffer>(std::max<size_t>(f.size(), 1) * sizeof(double), "RoPE frequencies");
        inv_freq_host_ = std::move(f);
        upload(inv_freq_->data(), inv_freq_host_.data(), inv_freq_host_.size() * sizeof(double));
    }
    return static_cast<const double*>(inv_freq_->data());
}

namespace {

rope_kernel_params rope_args(int n_head, int head_dim, const rope_params& p, const double* inv_freq) {
    if (p.n_rot <= 0 || p.n_rot % 2 != 0 || p.n_rot > head_dim)
        throw error("rope: n_rot " + std::to_string(p.n_rot) + " must be even and within head_dim " + std::to_string(head_dim));
    rope_kernel_params k;
    k.n_head = n_head;
    k.head_dim = head_dim;
    k.n_rot = p.n_rot;
    k.neox = p.neox;
    k.inv_freq = inv_freq;
    return k;
}

} // namespace

void cuda_backend::rope(float* x, const int32_t* pos, int n, int n_head, int head_dim, const rope_params& p) {
    if (n <= 0) return;
    launched(launch_rope_f32(x, pos, n, rope_args(n_head, head_dim, p, device_inv_freq(p)), stream_), "rope_f32");
}

void cuda_backend::rope_f16(uint16_t* k, const int32_t* pos, int n, int n_head, int head_dim, const rope_params& p) {
    if (n <= 0) return;
    launched(launch_rope_f16(k, pos, n, rope_args(n_head, head_dim, p, device_inv_freq(p)), stream_), "rope_f16");
}

void cuda_backend::scatter_f16(const float* src, const int32_t* rows, int n, int width, uint16_t* dst) {
    launched(launch_scatter_f16(src, rows, n, width, dst, stream_), "scatter_f16");
}

void cuda_backend::attention(const float* q, const int32_t* pos, int n, const uint16_t* k, const uint16_t* v, int n_kv,
                             float* out, const attention_params& p) {
    if (n <= 0) return;
    if (p.n_head <= 0 || p.n_head_kv <= 0 || p.n_head % p.n_head_kv != 0)
        throw error("attention: " + std::to_string(p.n_head) + " query heads cannot be grouped over " +
                    std::to_string(p.n_head_kv) + " KV heads");
    if (p.context.adjusted())
        throw error("attention: the attention temperature over linked chunks (+ape) runs on the CPU backend only "
                    "(EPIC_DEVICE=cpu)");
    if (!attention_head_dim_supported(p.head_dim))
        throw error("attention: head_dim " + std::to_string(p.head_dim) + " is not supported by the CUDA kernel (even, <= 256)");
    attention_kernel_params a;
    a.n_head = p.n_head;
    a.n_head_kv = p.n_head_kv;
    a.head_dim = p.head_dim;
    a.scale = p.scale;
    a.kv_first = p.kv_first;
    a.window = p.window;
    // Positions are on the device: a query outside [kv_first, n_kv) is recorded by the kernel and
    // raised at the next synchronize/download (the CPU backend throws at once).
    const int splits = attention_splits(n, n_kv, a, sm_count_);
    const size_t ws_bytes = attention_workspace_bytes(n, a, splits);
    void* ws = ws_bytes ? attention_ws_.get(ws_bytes) : nullptr;
    launched(launch_attention(q, pos, n, k, v, n_kv, out, a, splits, ws, status_->as<kernel_status>(), stream_), "attention");
}

void cuda_backend::swiglu(const float* gate, const float* up, float* out, size_t n) {
    launched(launch_swiglu(gate, up, out, n, stream_), "swiglu");
}

void cuda_backend::add(float* y, const float* x, size_t n) { launched(launch_add(y, x, n, stream_), "add"); }

void cuda_backend::add_bias(float* y, const float* b, int n, int width) {
    launched(launch_add_bias(y, b, n, width, stream_), "add_bias");
}

void cuda_backend::scale(float* x, size_t n, float s) { launched(launch_scale(x, n, s, stream_), "scale"); }

void cuda_backend::geglu(const float* gate, const float* up, float* out, size_t n) {
    launched(launch_geglu(gate, up, out, n, stream_), "geglu");
}

void cuda_backend::layer_norm(const float* x, const float* w, const float* b, float* y, int n, int dim, float eps) {
    launched(launch_layer_norm(x, w, b, y, n, dim, eps, stream_), "layer_norm");
}

void cuda_backend::gelu(const float* x, float* out, size_t n) { launched(launch_gelu(x, out, n, stream_), "gelu"); }

void cuda_backend::gather_rows(const float* src, const int32_t* rows, int n, int width, float* dst) {
    launched(launch_gather_rows(src, rows, n, width, dst, stream_), "gather_rows");
}

void cuda_backend::argmax_rows(const float* x, int rows, int n, int32_t* out) {
    if (n <= 0) throw error("argmax of an empty row");
    launched(launch_argmax(x, rows, n, out, stream_), "argmax");
}

int32_t cuda_backend::argmax(const float* x, int n) {
    argmax_rows(x, 1, n, argmax_out_->as<int32_t>());
    EPIC_CUDA_CHECK(cudaMemcpyAsync(argmax_host_->data(), argmax_out_->data(), sizeof(int32_t), cudaMemcpyDeviceToHost, stream_));
    sync_and_check();
    return *argmax_host_->as<int32_t>();
}

} // namespace epic
