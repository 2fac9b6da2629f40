#include "backend/backend.h"

#include "backend/cpu/cpu_backend.h"
#include "core/error.h"

#include <thread>

namespace epic {

backend_params backend_default_params() { return backend_params{}; }

void backend::scale(float*, size_t, float) { throw error("the " + name() + " backend cannot scale activations yet"); }

void backend::geglu(const float*, const float*, float*, size_t) {
    throw error("the " + name() + " backend has no GELU-gated FFN yet");
}

std::unique_ptr<backend> create_backend(const backend_params& params) {
    const int n_threads = params.n_threads > 0 ? params.n_threads : (int)std::max(1u, std::thread::hardware_concurrency());
    if (params.device == "cuda")
        throw error("the CUDA backend is not built into this version (device 'cuda' requested); use 'cpu' or 'auto'");
    if (params.device != "auto" && params.device != "cpu")
        throw error("unknown device '" + params.device + "' (expected auto, cpu or cuda)");
    return std::make_unique<cpu_backend>(n_threads);
}

} // namespace epic
