#pragma once
// Linking: lay a system segment, cached chunks and the question end to end at global positions
// 0..N-1, recompute only the rows the policy chooses, and leave the full mixed KV ready for decoding.
#include "forward/transformer.h"
#include "pic/chunk_cache.h"
#include "pic/link_policy.h"

#include <memory>
#include <vector>

namespace epic {

struct link_input {
    const chunk_cache* system = nullptr;   // exact prefix (compiled at position 0), or null
    std::vector<int32_t> system_tokens;    // used when `system` is null: computed fresh (include BOS if wanted)
    std::vector<const chunk_cache*> chunks;
    std::vector<int32_t> question;         // question and chat-turn tokens, never cached
};

// Where each segment landed.
struct link_segment {
    enum class kind { system, chunk, question } type;
    int begin = 0;                  // first global row
    int length = 0;
    const chunk_cache* cache = nullptr; // null: computed fresh
    int cache_first_row = 0;        // rows of the cache skipped (LegoLink-0's sinks)
};

struct link_layout {
    std::vector<int32_t> tokens;    // [N] the linked token sequence
    std::vector<link_segment> segments;
    int n_rows() const { return (int)tokens.size(); }
};

struct link_stats {
    int n_rows = 0;                        // N
    std::vector<int> recomputed_per_layer; // |R| at each layer
    double seconds_place = 0.0;            // copying cached K/V in and rotating K to global positions
    double seconds_recompute = 0.0;        // norms, QKV, output projection and FFN of the rows R
    double seconds_attention = 0.0;
    double seconds_select = 0.0;           // CacheBlend's row choice
    double seconds_logits = 0.0;
    double seconds_total = 0.0;
    int recomputed_rows() const;           // at the last layer
    double mean_recomputed() const;        // averaged over layers
};

struct link_result {
    std::unique_ptr<kv_cache> kv;     // rows 0..N-1 filled; capacity N + extra_capacity
    std::vector<float> logits;        // [n_vocab] of the last row
    link_layout layout;
    std::vector<int32_t> recompute_rows; // R of the last layer (global rows, ascending)
    link_stats stats;
};

// Lays out the segments (validating every cache against the model and the policy's sink count).
link_layout make_layout(const link_input& in, const link_policy& policy, const model& m);

// The recompute set of a policy for a layout (for CacheBlend: its layer-0 set, every row). Sorted,
// always containing the last row and every row that has no cache.
std::vector<int32_t> recompute_rows(const link_layout& layout, const link_policy& policy);

class linker {
public:
    explicit linker(transformer& tf) : tf_(tf) {}
    link_result link(const link_input& in, const link_policy& policy, int extra_capacity = 0);

private:
    void place_cached_rows(const link_layout& layout, kv_cache& kv, link_stats& st);
    transformer& tf_;
    forward_state state_;
};

} // namespace epic
