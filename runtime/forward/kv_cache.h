#pragma once
// The KV cache of one sequence, in backend memory: per layer K and V as [n_ctx, n_head_kv, head_dim]
// f16. Row r holds the keys/values of the token at global position r; K is stored after RoPE.
// Optionally it also keeps every written row's K *before* RoPE (what a compiled chunk stores).
#include "backend/backend.h"
#include "model/model_config.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace epic {

class kv_cache {
public:
    kv_cache(backend& be, const model_config& cfg, int n_ctx, bool keep_prerope_k = false);

    int n_ctx() const { return n_ctx_; }
    int n_layer() const { return (int)k_.size(); }
    int row_width() const { return row_width_; } // n_head_kv * head_dim
    bool keeps_prerope_k() const { return !k_raw_.empty(); }

    uint16_t* k(int layer) { return k_[(size_t)layer]->as<uint16_t>(); }     // [n_ctx, n_head_kv, head_dim]
    uint16_t* v(int layer) { return v_[(size_t)layer]->as<uint16_t>(); }     // [n_ctx, n_head_kv, head_dim]
    uint16_t* k_raw(int layer) { return k_raw_[(size_t)layer]->as<uint16_t>(); } // pre-RoPE, when kept

    // Number of rows (from 0) holding valid data: the sequence length so far.
    int n_rows = 0;
    // How rows after a link's chunks attend to them: set by the linker under "+ape", kept for every
    // row decoded after it. Default: plain attention.
    context_attention context;
    size_t bytes() const;

private:
    int n_ctx_;
    int row_width_;
    std::vector<std::unique_ptr<device_buffer>> k_, v_, k_raw_;
};

} // namespace epic
