#include "backend/backend.h"

#include "backend/cpu/cpu_backend.h"
#include "common/error.h"
#if defined(EPIC_HAVE_CUDA)
#include "backend/cuda/cuda_backend.h"
#endif

#include <algorithm>
#include <thread>
#include <vector>

namespace epic {
namespace {

// The default staging memory: plain host memory (the synchronous default transfers need no more).
class host_staging_buffer final : public device_buffer {
public:
    explicit host_staging_buffer(size_t bytes) : bytes_(std::max<size_t>(bytes, 1)) {}
    void* data() override { return bytes_.data(); }
    size_t size() const override { return bytes_.size(); }

private:
    std::vector<std::byte> bytes_;
};

// The default fence: the default transfers are complete when enqueued, so there is nothing to track.
class completed_fence final : public transfer_fence {};

} // namespace

backend_params backend_default_params() { return backend_params{}; }

void backend::check_fits(const model_config&, int, int) const {}

std::unique_ptr<device_buffer> backend::alloc_host_staging(size_t bytes) {
    return std::make_unique<host_staging_buffer>(bytes);
}

void backend::upload_async(void* dst, const void* src_host, size_t bytes) { upload(dst, src_host, bytes); }

void backend::copy_async(void* dst, const void* src, size_t bytes) { copy(dst, src, bytes); }

std::unique_ptr<transfer_fence> backend::record_transfer_fence() { return std::make_unique<completed_fence>(); }

namespace {

// Where a "cuda" request comes from, so the message says what to change.
const char* const cuda_requested = "device 'cuda' was asked for (EPIC_DEVICE, --device or the app's Settings); choose "
                                   "'auto' or 'cpu' to run on the CPU";

} // namespace

std::unique_ptr<backend> create_backend(const backend_params& params) {
    const int n_threads = params.n_threads > 0 ? params.n_threads : (int)std::max(1u, std::thread::hardware_concurrency());
    if (params.device != "auto" && params.device != "cpu" && params.device != "cuda")
        throw error("unknown device '" + params.device + "' (expected auto, cpu or cuda)");
#if defined(EPIC_HAVE_CUDA)
    // "cuda" reports why no device is usable; "auto" falls back to the CPU silently.
    if (params.device == "cuda") {
        try {
            return create_cuda_backend(0);
        } catch (const error& e) {
            throw error(std::string(e.what()) + "; " + cuda_requested);
        }
    }
    if (params.device == "auto") {
        try {
            return create_cuda_backend(0);
        } catch (const error&) {
        }
    }
#else
    if (params.device == "cuda")
        throw error(std::string("the CUDA backend is not built into this version; ") + cuda_requested);
#endif
    return std::make_unique<cpu_backend>(n_threads);
}

} // namespace epic
