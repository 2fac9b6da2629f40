#include "pic/kv_hot_tier.h"

#include "common/error.h"
#include "pic/chunk_cache.h"

namespace epic {

bool resident_chunk::same_shape(const chunk_cache& c) const {
    return n_layer == c.n_layer && n_rows == c.n_rows() && row_width == c.row_width();
}

void kv_hot_tier::set_budget(size_t bytes) {
    budget_ = bytes;
    // From the least recently used end, skipping pinned entries.
    for (auto it = entries_.end(); it != entries_.begin() && used_ > budget_;) {
        --it;
        if (it->pins > 0) continue;
        auto victim = it++;
        drop(victim);
        ++stats_.evictions;
    }
}

resident_chunk* kv_hot_tier::find(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) {
        ++stats_.misses;
        return nullptr;
    }
    ++stats_.hits;
    entries_.splice(entries_.begin(), entries_, it->second); // iterators stay valid
    return &*it->second;
}

bool kv_hot_tier::make_room(size_t bytes) {
    if (bytes > budget_) return false;
    size_t evictable = 0;
    for (const resident_chunk& e : entries_)
        if (e.pins == 0) evictable += e.bytes();
    if (used_ - evictable + bytes > budget_) return false; // even evicting every unpinned entry would not do
    for (auto it = entries_.end(); it != entries_.begin() && used_ + bytes > budget_;) {
        --it;
        if (it->pins > 0) continue;
        auto victim = it++;
        drop(victim);
        ++stats_.evictions;
    }
    return true;
}

resident_chunk* kv_hot_tier::insert(const std::string& key, const chunk_cache& c) {
    if (index_.count(key)) throw error("hot tier: chunk cache " + key + " is already resident");
    resident_chunk e;
    e.key = key;
    e.n_layer = c.n_layer;
    e.n_rows = c.n_rows();
    e.row_width = c.row_width();
    const size_t bytes = e.bytes();
    if (bytes == 0 || !make_room(bytes)) {
        ++stats_.rejected;
        return nullptr;
    }
    try {
        e.storage = be_.alloc(bytes);
    } catch (const error&) {
        // Out of device memory: the budget was larger than what is free now; the link stages from
        // the host instead, which needs no memory beyond the linked KV.
        ++stats_.rejected;
        return nullptr;
    }
    entries_.push_front(std::move(e));
    index_[key] = entries_.begin();
    used_ += bytes;
    ++stats_.insertions;
    return &entries_.front();
}

void kv_hot_tier::unpin(resident_chunk& e) {
    if (e.pins <= 0) throw error("hot tier: unpinning chunk cache " + e.key + " that is not pinned");
    --e.pins;
}

bool kv_hot_tier::erase(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return false;
    drop(it->second);
    return true;
}

void kv_hot_tier::clear() {
    for (auto it = entries_.begin(); it != entries_.end();) {
        if (it->pins > 0) { ++it; continue; }
        auto victim = it++;
        drop(victim);
    }
}

std::vector<std::string> kv_hot_tier::keys() const {
    std::vector<std::string> out;
    out.reserve(entries_.size());
    for (const resident_chunk& e : entries_) out.push_back(e.key);
    return out;
}

void kv_hot_tier::drop(std::list<resident_chunk>::iterator it) {
    used_ -= it->bytes();
    index_.erase(it->key);
    entries_.erase(it);
}

} // namespace epic
