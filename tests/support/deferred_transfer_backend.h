#pragma once
// A CPU backend whose asynchronous transfers really are deferred: upload_async/copy_async only queue
// the copy, which happens (reading its source then) when compute or the host waits on a fence
// recorded after it. Every allocation starts as f16 NaNs. So code that reads transferred data
// without waiting for its fence, or reuses a staging buffer before the transfer from it completed,
// gets different (NaN) results here, while correct code matches the plain CPU backend bit for bit.
#include "backend/cpu/cpu_backend.h"
#include "common/error.h"

#include <cstring>
#include <deque>
#include <memory>

namespace epic::test {

class deferred_transfer_backend final : public backend {
public:
    explicit deferred_transfer_backend(int n_threads) : cpu_(n_threads) {}

    int transfers_waited = 0; // copies made because a fence was waited on
    int fences_waited = 0;    // wait_transfer_fence calls
    size_t pending() const { return queue_.size(); }

    std::string name() const override { return "deferred-transfer cpu"; }
    std::unique_ptr<device_buffer> alloc(size_t bytes) override {
        auto b = cpu_.alloc(bytes);
        std::memset(b->data(), 0xff, bytes); // 0xffff is an f16 NaN, 0xffffffff an f32 NaN
        return b;
    }
    void upload(void* dst, const void* src_host, size_t bytes) override { cpu_.upload(dst, src_host, bytes); }
    void download(void* dst_host, const void* src, size_t bytes) override { cpu_.download(dst_host, src, bytes); }
    void copy(void* dst, const void* src, size_t bytes) override { cpu_.copy(dst, src, bytes); }
    void synchronize() override {}

    std::unique_ptr<device_buffer> alloc_host_staging(size_t bytes) override { return alloc(bytes); }
    void upload_async(void* dst, const void* src_host, size_t bytes) override { queue_.push_back({dst, src_host, bytes}); }
    void copy_async(void* dst, const void* src, size_t bytes) override { queue_.push_back({dst, src, bytes}); }
    std::unique_ptr<transfer_fence> record_transfer_fence() override {
        return std::make_unique<fence>(this, done_ + queue_.size());
    }
    void wait_transfer_fence(const transfer_fence& f) override {
        ++fences_waited;
        run_until(f);
    }
    void synchronize_transfer_fence(const transfer_fence& f) override { run_until(f); }

    device_weight prepare_weight(const weight_view& w) override { return cpu_.prepare_weight(w); }
    void get_rows(const device_weight& t, const int32_t* ids, int n, float* out) override { cpu_.get_rows(t, ids, n, out); }
    void rms_norm(const float* x, const float* w, float* y, int n, int dim, float eps) override {
        cpu_.rms_norm(x, w, y, n, dim, eps);
    }
    void matmul(const device_weight& w, const float* x, int n, float* y) override { cpu_.matmul(w, x, n, y); }
    void rope(float* x, const int32_t* pos, int n, int n_head, int head_dim, const rope_params& p) override {
        cpu_.rope(x, pos, n, n_head, head_dim, p);
    }
    void rope_f16(uint16_t* k, const int32_t* pos, int n, int n_head, int head_dim, const rope_params& p) override {
        cpu_.rope_f16(k, pos, n, n_head, head_dim, p);
    }
    void scatter_f16(const float* src, const int32_t* rows, int n, int width, uint16_t* dst) override {
        cpu_.scatter_f16(src, rows, n, width, dst);
    }
    void attention(const float* q, const int32_t* pos, int n, const uint16_t* k, const uint16_t* v, int n_kv, float* out,
                   const attention_params& p) override {
        cpu_.attention(q, pos, n, k, v, n_kv, out, p);
    }
    void swiglu(const float* gate, const float* up, float* out, size_t n) override { cpu_.swiglu(gate, up, out, n); }
    void add(float* y, const float* x, size_t n) override { cpu_.add(y, x, n); }
    void add_bias(float* y, const float* b, int n, int width) override { cpu_.add_bias(y, b, n, width); }
    void scale(float* x, size_t n, float s) override { cpu_.scale(x, n, s); }
    void geglu(const float* gate, const float* up, float* out, size_t n) override { cpu_.geglu(gate, up, out, n); }
    void layer_norm(const float* x, const float* w, const float* b, float* y, int n, int dim, float eps) override {
        cpu_.layer_norm(x, w, b, y, n, dim, eps);
    }
    void gelu(const float* x, float* out, size_t n) override { cpu_.gelu(x, out, n); }
    void gather_rows(const float* src, const int32_t* rows, int n, int width, float* dst) override {
        cpu_.gather_rows(src, rows, n, width, dst);
    }

private:
    struct transfer {
        void* dst;
        const void* src;
        size_t bytes;
    };
    struct fence final : transfer_fence {
        fence(const deferred_transfer_backend* o, size_t s) : owner(o), seq(s) {}
        const deferred_transfer_backend* owner;
        size_t seq; // transfers enqueued before it, counted from the first
    };
    void run_until(const transfer_fence& f) {
        const auto* ff = dynamic_cast<const fence*>(&f);
        if (!ff || ff->owner != this) throw error("transfer fence from another backend");
        while (done_ < ff->seq && !queue_.empty()) {
            const transfer t = queue_.front();
            queue_.pop_front();
            std::memcpy(t.dst, t.src, t.bytes);
            ++done_;
            ++transfers_waited;
        }
    }

    cpu_backend cpu_;
    std::deque<transfer> queue_;
    size_t done_ = 0;
};

} // namespace epic::test
