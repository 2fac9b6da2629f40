#pragma once
// Placing the cached rows of a link into its KV, layer by layer, overlapping the link's compute.
//
// Every cached segment's K (pre-RoPE) and V come either from a hot-tier entry (device to device) or
// from host memory through pinned staging (into a new hot-tier entry when the tier takes it, then
// device to device; otherwise straight into the KV). The transfers of each layer go on the backend's
// transfer queue with one fence per layer, enqueued ahead of the compute: place(il) makes compute wait
// for layer il's fence only, so later layers' copies overlap earlier layers' compute. On the CPU the
// transfers are plain copies done at once, and the result is bit for bit the same.
#include "pic/kv_hot_tier.h"
#include "pic/linker.h"

#include <cstddef>
#include <memory>
#include <vector>

namespace epic {

// Pinned host memory reused by successive links (grows on demand).
struct kv_staging_area {
    std::unique_ptr<device_buffer> buffer;       // [slots][bytes_per_layer] host staging memory
    std::unique_ptr<transfer_fence> last_use;    // after the last transfer that read `buffer`
    size_t budget_bytes = size_t{256} << 20;     // staging for more layers than this holds is reused in turn
};

class kv_placement {
public:
    // Plans where every cached segment of `layout` comes from (looking caches up in `tier`, which may
    // be null, and pinning what this link uses). Enqueues nothing yet.
    kv_placement(transformer& tf, const link_layout& layout, kv_cache& kv, kv_hot_tier* tier, kv_staging_area& staging,
                 link_stats& st);
    // A link that did not reach finish(): waits for the transfers in flight, drops tier entries this
    // link had not finished filling and unpins the rest. Never throws.
    ~kv_placement();
    kv_placement(const kv_placement&) = delete;
    kv_placement& operator=(const kv_placement&) = delete;

    // Enqueues the first layers' transfers: all of them when their staging fits the budget.
    void start();
    // Before layer il's compute: compute waits for layer il's transfers, the staging slot they used
    // takes a later layer's, and the layer's cached K is rotated to its global positions.
    void place(int il);
    // After the last layer: the tier entries this link filled are complete; unpins them.
    void finish();

private:
    struct source {
        const link_segment* segment = nullptr;
        resident_chunk* entry = nullptr; // the tier's copy (found, or inserted by this link), or null: host
        bool fill_entry = false;         // inserted by this link: every layer is uploaded into it first
        size_t staging_offset = 0;       // within a layer's staging slot (host sources)
    };
    void stage_layer(int il);
    void release_pins();
    void drop_unfilled_entries(); // a link that failed: its new tier entries are incomplete

    transformer& tf_;
    backend& be_;
    const link_layout& layout_;
    kv_cache& kv_;
    kv_hot_tier* tier_;
    kv_staging_area& staging_;
    link_stats& st_;
    std::vector<source> sources_;
    size_t slot_bytes_ = 0;  // staging bytes of one layer
    int n_slots_ = 0;        // layers whose staging is in flight at once
    int n_staged_ = 0;       // layers enqueued so far
    std::vector<std::unique_ptr<transfer_fence>> fences_; // [n_layer] after each layer's transfers
    std::unique_ptr<device_buffer> positions_;           // [N] int32 global positions 0..N-1
    bool finished_ = false;
};

} // namespace epic
