#pragma once
// The llama forward pass, written once against the backend interface.
//
// A call computes a set of rows: tokens at arbitrary global positions. Each row's K (after RoPE) and
// V are written into the KV cache at row = position, and each row attends over KV rows 0..position,
// whoever computed them. That is all linking needs: cached rows are placed into the KV cache first,
// then only the recompute set runs through the layers. The layer is also exposed in pieces so a link
// algorithm can change the row set between layers (CacheBlend).
#include "backend/backend.h"
#include "forward/kv_cache.h"
#include "model/model.h"

#include <memory>
#include <span>
#include <vector>

namespace epic {

// Activations of the rows one forward computes, in backend memory; reused across calls.
struct forward_state {
    int n = 0;                                   // rows being computed
    int attend_from = 0;                         // first KV row the rows may see (0: the whole sequence)
    std::vector<int32_t> positions;              // [n] host copy of the rows' positions
    std::unique_ptr<device_buffer> ids_d;        // [n] int32 token ids
    std::unique_ptr<device_buffer> pos_d;        // [n] int32 positions
    std::unique_ptr<device_buffer> rows_d;       // [n] int32 scratch (gather/scatter indices)
    std::unique_ptr<device_buffer> x;            // [n, n_embd] residual stream
    std::unique_ptr<device_buffer> xn;           // [n, n_embd] normalized
    std::unique_ptr<device_buffer> q;            // [n, n_head, head_dim]
    std::unique_ptr<device_buffer> k;            // [n, n_head_kv, head_dim] (after RoPE once qkv ran)
    std::unique_ptr<device_buffer> k_raw;        // [n, n_head_kv, head_dim] before RoPE
    std::unique_ptr<device_buffer> v;            // [n, n_head_kv, head_dim]
    std::unique_ptr<device_buffer> att;          // [n, n_head, head_dim]
    std::unique_ptr<device_buffer> gate;         // [n, n_ff]
    std::unique_ptr<device_buffer> up;           // [n, n_ff]
    std::unique_ptr<device_buffer> tmp;          // [n, max(n_embd, n_ff)] scratch for row selection
    std::unique_ptr<device_buffer> logits;       // [n_out, n_vocab]
    int capacity = 0;
};

// What a transformer will hold at once besides its weights: the KV rows of the longest sequence and
// the rows of the largest single forward. The constructor asks the backend whether the weights plus
// this fit (backend::check_fits) before it uploads anything.
struct working_set {
    int n_ctx = 0;   // 0: the default (resolve_working_set)
    int n_batch = 0; // 0: the default
};
// Zeros replaced by the defaults: n_ctx min(the model's training context, 4096), n_batch 512.
working_set resolve_working_set(const model_config& c, working_set ws);

class transformer {
public:
    // Throws epic::error "<model file>: model needs X GiB of GPU memory, ..." when the model and the
    // working set do not fit in the backend's free memory (before any weight is uploaded).
    transformer(const model& m, backend& be, working_set ws = {});

    const model& get_model() const { return model_; }
    const model_config& config() const { return model_.config(); }
    backend& get_backend() { return be_; }
    // RoPE of a layer (Gemma's sliding-window layers have their own base).
    rope_params rope(int il) const;

    std::unique_ptr<kv_cache> new_kv_cache(int n_ctx, bool keep_prerope_k = false) const;

    // Whole forward of rows (tokens[i] at positions[i]); afterwards logits holds the rows asked for:
    // only the last row when all_logits is false ([n_vocab]), else every row ([n, n_vocab]).
    void forward(kv_cache& kv, std::span<const int32_t> tokens, std::span<const int32_t> positions, bool all_logits,
                 std::vector<float>& logits);

    // --- pieces, for link algorithms ---------------------------------------------------------------
    void begin(forward_state& s, std::span<const int32_t> tokens, std::span<const int32_t> positions);
    void layer(int il, forward_state& s, kv_cache& kv); // qkv + store_kv + attend_and_ffn
    void qkv(int il, forward_state& s);                  // s.q, s.k (RoPE'd), s.k_raw, s.v of the rows
    void store_kv(int il, forward_state& s, kv_cache& kv); // rows' k/v (and k_raw when kept) into kv
    void attend_and_ffn(int il, forward_state& s, kv_cache& kv); // attend + project_and_ffn
    void attend(int il, forward_state& s, kv_cache& kv);         // s.att of the rows over kv
    void project_and_ffn(int il, forward_state& s);             // Wo, residual, FFN, residual
    // Keeps only rows `keep` (indices into the current rows, ascending) of every per-row activation.
    void select_rows(forward_state& s, std::span<const int32_t> keep);
    // Logits of rows [first, first + count) of the state into out ([count, n_vocab]).
    void logits(forward_state& s, int first, int count, std::vector<float>& out);

private:
    void reserve(forward_state& s, int n);
    void upload_rows(forward_state& s, std::span<const int32_t> positions);

    const model& model_;
    backend& be_;
    device_weight token_embd_;
    device_weight output_;
    std::unique_ptr<device_buffer> output_norm_;
    struct layer_device {
        std::unique_ptr<device_buffer> attn_norm, ffn_norm; // [n_embd]
        std::unique_ptr<device_buffer> q_norm, k_norm;      // [head_dim] (qk_norm models)
        std::unique_ptr<device_buffer> bq, bk, bv;          // [q_width], [kv_width] x2 (biased models)
        std::unique_ptr<device_buffer> attn_post_norm, ffn_post_norm; // [n_embd] (post_norms models)
        device_weight wq, wk, wv, wo, w_gate, w_up, w_down;
    };
    std::vector<layer_device> layers_;
    forward_state state_; // used by forward()
};

} // namespace epic
