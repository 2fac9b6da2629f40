// A transformer asks its backend whether the model fits before it uploads any weight, and a refusal
// names the model file. The backend here is a stand-in for a small GPU: it applies the CUDA budget
// (backend/memory_budget.h) to a device size the test chooses and records what the transformer did,
// so the order of check and upload is seen without a GPU.
#include "backend/memory_budget.h"
#include "common/error.h"
#include "forward/transformer.h"
#include "model/model.h"
#include "model/random_model.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace epic {
namespace {

class host_buffer final : public device_buffer {
public:
    explicit host_buffer(size_t n) : bytes_(n ? n : 1) {}
    void* data() override { return bytes_.data(); }
    size_t size() const override { return bytes_.size(); }

private:
    std::vector<unsigned char> bytes_;
};

// Budget arithmetic over a device of free_bytes/total_bytes; every call logged in order. Only what
// the transformer's constructor uses is implemented; the ops are never reached.
class small_device final : public backend {
public:
    small_device(size_t free_bytes, size_t total_bytes) : free_(free_bytes), total_(total_bytes) {}
    std::vector<std::string> log;
    int checked_ctx = 0, checked_batch = 0;

    std::string name() const override { return "small device"; }
    void check_fits(const model_config& c, int n_ctx, int n_batch) const override {
        auto* self = const_cast<small_device*>(this);
        self->log.push_back("check");
        self->checked_ctx = n_ctx;
        self->checked_batch = n_batch;
        check_cuda_memory(estimate_cuda_memory(c, cuda_weight_params(c), n_ctx, n_batch), free_, total_);
    }
    std::unique_ptr<device_buffer> alloc(size_t bytes) override {
        log.push_back("alloc");
        return std::make_unique<host_buffer>(bytes);
    }
    void upload(void* dst, const void* src, size_t bytes) override {
        log.push_back("upload");
        std::memcpy(dst, src, bytes);
    }
    void download(void*, const void*, size_t) override { unused(); }
    void copy(void*, const void*, size_t) override { unused(); }
    void synchronize() override {}
    device_weight prepare_weight(const weight_view&) override {
        log.push_back("prepare_weight");
        return device_weight{};
    }
    void get_rows(const device_weight&, const int32_t*, int, float*) override { unused(); }
    void rms_norm(const float*, const float*, float*, int, int, float) override { unused(); }
    void matmul(const device_weight&, const float*, int, float*) override { unused(); }
    void rope(float*, const int32_t*, int, int, int, const rope_params&) override { unused(); }
    void rope_f16(uint16_t*, const int32_t*, int, int, int, const rope_params&) override { unused(); }
    void scatter_f16(const float*, const int32_t*, int, int, uint16_t*) override { unused(); }
    void attention(const float*, const int32_t*, int, const uint16_t*, const uint16_t*, int, float*,
                   const attention_params&) override {
        unused();
    }
    void swiglu(const float*, const float*, float*, size_t) override { unused(); }
    void add(float*, const float*, size_t) override { unused(); }
    void gather_rows(const float*, const int32_t*, int, int, float*) override { unused(); }
    void add_bias(float*, const float*, int, int) override { unused(); }
    void scale(float*, size_t, float) override { unused(); }
    void geglu(const float*, const float*, float*, size_t) override { unused(); }
    void layer_norm(const float*, const float*, const float*, float*, int, int, float) override { unused(); }
    void gelu(const float*, float*, size_t) override { unused(); }

private:
    [[noreturn]] static void unused() { throw error("small_device: op not expected in this test"); }
    size_t free_, total_;
};

struct fixture {
    test::scratch_dir dir;
    std::string path;
    std::unique_ptr<model> mdl;
};

std::unique_ptr<fixture> tiny_model() {
    auto f = std::make_unique<fixture>();
    f->path = (f->dir / "tiny-model.gguf").string();
    random_model_params p = random_model_default_params();
    p.n_ctx = 8192;
    write_random_model(f->path, p);
    f->mdl = model::load(f->path);
    return f;
}

constexpr size_t mib = size_t(1) << 20;

TEST(forward_memory_check, a_model_that_does_not_fit_is_refused_before_any_upload_naming_the_file) {
    const auto f = tiny_model();
    small_device dev(64 * mib, 80 * mib); // less than the fixed workspaces alone
    try {
        transformer tf(*f->mdl, dev);
        FAIL() << "expected a refusal";
    } catch (const error& e) {
        const std::string m = e.what();
        EXPECT_EQ(m.rfind(f->path + ": model needs ", 0), 0u) << m;
        EXPECT_NE(m.find("GiB of GPU memory, 0.06 GiB free of 0.08 GiB"), std::string::npos) << m;
        std::printf("refusal: %s\n", m.c_str());
    }
    EXPECT_EQ(dev.log, std::vector<std::string>{"check"}) << "nothing may be allocated or uploaded after a refusal";
}

TEST(forward_memory_check, a_model_that_fits_is_checked_first_then_uploaded) {
    const auto f = tiny_model();
    small_device dev(8 * (mib << 10), 8 * (mib << 10));
    transformer tf(*f->mdl, dev);
    ASSERT_GT(dev.log.size(), 2u);
    EXPECT_EQ(dev.log.front(), "check");
    EXPECT_EQ(std::count(dev.log.begin(), dev.log.end(), "check"), 1);
    EXPECT_NE(std::find(dev.log.begin(), dev.log.end(), "prepare_weight"), dev.log.end());
    // The default working set: the training context capped at 4096 rows, 512-row forwards.
    EXPECT_EQ(dev.checked_ctx, 4096);
    EXPECT_EQ(dev.checked_batch, 512);
}

TEST(forward_memory_check, the_caller_s_working_set_is_what_is_checked) {
    const auto f = tiny_model();
    small_device dev(8 * (mib << 10), 8 * (mib << 10));
    transformer tf(*f->mdl, dev, working_set{1000, 64});
    EXPECT_EQ(dev.checked_ctx, 1000);
    EXPECT_EQ(dev.checked_batch, 64);
    const model_config& c = f->mdl->config();
    EXPECT_EQ(resolve_working_set(c, {}).n_ctx, 4096);
    model_config short_ctx = c;
    short_ctx.n_ctx_train = 2048;
    EXPECT_EQ(resolve_working_set(short_ctx, {}).n_ctx, 2048);
    EXPECT_EQ(resolve_working_set(short_ctx, {0, 7}).n_batch, 7);
}

} // namespace
} // namespace epic
