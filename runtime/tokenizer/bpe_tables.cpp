// Flat hash tables of the byte-level BPE tokenizer (see bpe_tables.h).
#include "tokenizer/bpe_tables.h"

#include "common/xxhash64.h"
#include <algorithm>
#include <bit>

namespace epic::bpe {
namespace {

// XXH64 over the bytes, folded to 32 bits; token texts are short (a few bytes on average).
uint32_t hash_text(std::string_view s) {
    const uint64_t h = storage::xxh64(s);
    return static_cast<uint32_t>(h ^ (h >> 32));
}

// splitmix64's finalizer: the low bits of a pair of small ids become well spread.
uint64_t hash_key(uint64_t k) {
    k ^= k >> 30;
    k *= 0xbf58476d1ce4e5b9ull;
    k ^= k >> 27;
    k *= 0x94d049bb133111ebull;
    return k ^ (k >> 31);
}

size_t capacity_for(size_t n) { return std::bit_ceil(std::max<size_t>(16, 2 * n)); }

uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

} // namespace

void piece_index::build(const std::vector<std::string>& pieces) {
    slots_.assign(capacity_for(pieces.size()), slot{});
    const size_t mask = slots_.size() - 1;
    for (size_t id = 0; id < pieces.size(); ++id) {
        const std::string& p = pieces[id];
        if (p.empty()) continue;
        const uint32_t h = hash_text(p);
        for (size_t i = h & mask;; i = (i + 1) & mask) {
            slot& s = slots_[i];
            if (s.id < 0) {
                s = {h, static_cast<int32_t>(id)};
                break;
            }
            if (s.hash == h && pieces[static_cast<size_t>(s.id)] == p) break; // duplicate: first id stays
        }
    }
}

int32_t piece_index::find(std::string_view text, const std::vector<std::string>& pieces) const {
    if (slots_.empty() || text.empty()) return -1;
    const size_t mask = slots_.size() - 1;
    const uint32_t h = hash_text(text);
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const slot& s = slots_[i];
        if (s.id < 0) return -1;
        if (s.hash == h && pieces[static_cast<size_t>(s.id)] == text) return s.id;
    }
}

void merge_table::reserve(size_t n) {
    if (capacity_for(n) > slots_.size()) {
        std::vector<slot> old = std::move(slots_);
        slots_.assign(capacity_for(n), slot{});
        size_ = 0;
        for (const slot& s : old)
            if (s.key != empty) insert(static_cast<int32_t>(s.key >> 32), static_cast<int32_t>(s.key & 0xffffffffu), s.value);
    }
}

void merge_table::grow() { reserve(slots_.empty() ? 16 : slots_.size()); }

void merge_table::insert(int32_t left, int32_t right, merge m) {
    if (2 * (size_ + 1) > slots_.size()) grow();
    const uint64_t key = pair_key(left, right);
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash_key(key) & mask;; i = (i + 1) & mask) {
        slot& s = slots_[i];
        if (s.key == key) return; // the first (lowest-ranked) merge of a pair wins
        if (s.key == empty) {
            s = {key, m};
            ++size_;
            return;
        }
    }
}

const merge_table::merge* merge_table::find(int32_t left, int32_t right) const {
    if (slots_.empty()) return nullptr;
    const uint64_t key = pair_key(left, right);
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash_key(key) & mask;; i = (i + 1) & mask) {
        const slot& s = slots_[i];
        if (s.key == key) return &s.value;
        if (s.key == empty) return nullptr;
    }
}

} // namespace epic::bpe
