#pragma once
// The hot tier: chunk caches kept resident in backend memory (on CUDA, the GPU), so that linking a
// chunk again copies its K/V device to device instead of staging it from the host across PCIe.
//
// Entries are keyed by the chunk's cache key (chunk_cache_key) and hold K (before RoPE) and V of
// every layer. The tier never holds more than its byte budget: inserting evicts least recently used
// entries, except pinned ones (a link pins the entries it reads until it is done). It works with any
// backend; on the CPU it is plain memory.
#include "backend/backend.h"

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace epic {

struct chunk_cache;

// One chunk's K and V in backend memory.
struct resident_chunk {
    std::string key;
    int n_layer = 0;
    int n_rows = 0;
    int row_width = 0;                       // n_head_kv * head_dim
    std::unique_ptr<device_buffer> storage;  // [n_layer][2][n_rows, n_head_kv, head_dim] f16: layer il's pre-RoPE K, then its V
    int pins = 0;                            // > 0: in use by a link, never evicted

    size_t layer_bytes() const { return (size_t)n_rows * (size_t)row_width * sizeof(uint16_t); } // K or V of one layer
    size_t bytes() const { return 2 * (size_t)n_layer * layer_bytes(); }
    uint16_t* k(int il) { return storage->as<uint16_t>() + (size_t)il * 2 * (layer_bytes() / sizeof(uint16_t)); }
    uint16_t* v(int il) { return k(il) + layer_bytes() / sizeof(uint16_t); }
    bool same_shape(const chunk_cache& c) const;
};

struct kv_hot_tier_stats {
    uint64_t hits = 0;       // find() found the entry
    uint64_t misses = 0;     // find() did not
    uint64_t insertions = 0;
    uint64_t evictions = 0;  // entries dropped to make room or to meet a smaller budget
    uint64_t rejected = 0;   // insertions refused: larger than the budget, no room left by pinned entries, or out of memory
};

class kv_hot_tier {
public:
    kv_hot_tier(backend& be, size_t budget_bytes) : be_(be), budget_(budget_bytes) {}
    kv_hot_tier(const kv_hot_tier&) = delete;
    kv_hot_tier& operator=(const kv_hot_tier&) = delete;

    backend& get_backend() { return be_; }
    size_t budget() const { return budget_; }
    size_t bytes_used() const { return used_; }
    size_t size() const { return entries_.size(); }
    const kv_hot_tier_stats& stats() const { return stats_; }

    // Sets the budget, evicting least recently used unpinned entries until within it (pinned entries
    // stay, so bytes_used may exceed a budget lowered under them until they are unpinned and evicted).
    void set_budget(size_t bytes);

    // The resident copy of `key`, made most recently used (a hit), or null (a miss).
    resident_chunk* find(const std::string& key);
    // Whether `key` is resident, without counting or reordering.
    bool contains(const std::string& key) const { return index_.count(key) != 0; }

    // A new entry for `key` shaped like `c` (all its rows), most recently used, after evicting least
    // recently used unpinned entries to make room. Its contents are the caller's to fill (with the
    // backend's transfers). Null when it cannot fit: larger than the budget, not enough room left by
    // pinned entries, or the backend is out of memory. `key` must not be resident already.
    resident_chunk* insert(const std::string& key, const chunk_cache& c);

    // Pins protect entries from eviction (counted: every pin needs its unpin).
    void pin(resident_chunk& e) { ++e.pins; }
    void unpin(resident_chunk& e);

    // Drops `key` if resident, pinned or not (an entry whose filling failed). Returns whether it was.
    bool erase(const std::string& key);
    // Drops every unpinned entry.
    void clear();

    // Resident keys, most recently used first.
    std::vector<std::string> keys() const;

private:
    // Evicts least recently used unpinned entries until `bytes` more fit in the budget; false when
    // the pinned entries leave too little room (nothing is evicted then).
    bool make_room(size_t bytes);
    void drop(std::list<resident_chunk>::iterator it);

    backend& be_;
    size_t budget_ = 0;
    size_t used_ = 0;
    std::list<resident_chunk> entries_; // front: most recently used
    std::unordered_map<std::string, std::list<resident_chunk>::iterator> index_;
    kv_hot_tier_stats stats_;
};

} // namespace epic
