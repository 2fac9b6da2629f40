#pragma once
// Linking: lay a system segment, cached chunks and the question end to end at global positions
// 0..N-1, recompute only the rows the policy's rules choose (pic/link_rules.h: recompute_rows and
// the rest), and leave the full mixed KV ready for decoding.
#include "forward/transformer.h"
#include "pic/chunk_cache.h"
#include "pic/link_layout.h"
#include "pic/link_policy.h"
#include "pic/link_rules.h"

#include <cstdint>

#include <memory>
#include <vector>

namespace epic {

struct link_input {
    const chunk_cache* system = nullptr;   // exact prefix (compiled at position 0), or null
    std::vector<int32_t> system_tokens;    // used when `system` is null: computed fresh (include BOS if wanted)
    std::vector<const chunk_cache*> chunks;
    std::vector<int32_t> question;         // question and chat-turn tokens, never cached
    // Chunks (indices into `chunks`) whose every row is recomputed on top of the policy's set: a
    // diagnostic (bench qa --oracle) telling which chunks' cached rows cost a link its accuracy.
    std::vector<int> recompute_whole;
};

struct link_stats {
    int n_rows = 0;                        // N
    std::vector<int> recomputed_per_layer; // |R| at each layer
    double seconds_place = 0.0;            // copying cached K/V in and rotating K to global positions (staging,
                                           // waiting for transfers and the rotation; the copies overlap compute)
    double seconds_wait_copy = 0.0;        // part of seconds_place: compute waiting for cached K/V transfers
    double seconds_recompute = 0.0;        // norms, QKV, output projection and FFN of the rows R
    double seconds_attention = 0.0;
    double seconds_select = 0.0;           // CacheBlend's row choice; query-aware scoring
    double seconds_logits = 0.0;
    double seconds_total = 0.0;
    uint64_t bytes_copied_host = 0;        // cached K/V transferred from host memory (through pinned staging)
    uint64_t bytes_copied_device = 0;      // cached K/V copied within the device from hot-tier entries
    int chunks_resident = 0;               // cached segments found in the hot tier
    int chunks_staged = 0;                 // cached segments staged from host memory
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

struct kv_staging_area;
class kv_hot_tier;

class linker {
public:
    // `tier` (optional, on tf's backend, outliving the linker or replaced first): resident chunk
    // caches that links read device to device and fill with the caches they stage from the host.
    explicit linker(transformer& tf, kv_hot_tier* tier = nullptr);
    ~linker();
    linker(const linker&) = delete;
    linker& operator=(const linker&) = delete;

    void set_hot_tier(kv_hot_tier* tier) { tier_ = tier; }
    kv_hot_tier* hot_tier() const { return tier_; }
    // Pinned host memory for staging cached K/V (default 256 MiB): when a link's layers need more,
    // the staging is reused layer after layer instead of holding every layer at once.
    void set_staging_budget(size_t bytes);

    link_result link(const link_input& in, const link_policy& policy, int extra_capacity = 0);

private:
    transformer& tf_;
    kv_hot_tier* tier_ = nullptr;
    std::unique_ptr<kv_staging_area> staging_; // reused by every link
    forward_state state_;
};

} // namespace epic
