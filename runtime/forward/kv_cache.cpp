#include "forward/kv_cache.h"

#include "common/error.h"

namespace epic {

kv_cache::kv_cache(backend& be, const model_config& cfg, int n_ctx, bool keep_prerope_k)
    : n_ctx_(n_ctx), row_width_(cfg.kv_width()) {
    if (n_ctx <= 0) throw error("KV cache size must be positive, got " + std::to_string(n_ctx));
    const size_t layer_bytes = (size_t)n_ctx * (size_t)row_width_ * sizeof(uint16_t);
    for (int il = 0; il < cfg.n_layer; ++il) {
        k_.push_back(be.alloc(layer_bytes));
        v_.push_back(be.alloc(layer_bytes));
        if (keep_prerope_k) k_raw_.push_back(be.alloc(layer_bytes));
    }
}

size_t kv_cache::bytes() const {
    size_t total = 0;
    for (const auto& b : k_) total += b->size();
    for (const auto& b : v_) total += b->size();
    for (const auto& b : k_raw_) total += b->size();
    return total;
}

} // namespace epic
