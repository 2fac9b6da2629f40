#pragma once
// The two lookup tables behind the byte-level BPE tokenizer, as flat open-addressing arrays.
//
// Why not std::unordered_map: Qwen2.5's vocabulary has 151,936 tokens and 151,387 merges, and
// loading it does ~450k text lookups (three per merge). A node-based map allocates a node per entry
// and chases a pointer per probe; on a 2-core machine that was ~0.4 s of every model load. These
// tables hold ids and packed keys in contiguous arrays (linear probing, power-of-two capacity, load
// factor <= 1/2), allocate once, and make the per-pair lookup in encode's merge loop cheaper too.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace epic::bpe {

// Token text -> id. Keeps no copy of the texts: lookups compare against the vocabulary passed in,
// which must be the one the table was built from.
class piece_index {
public:
    // Indexes every non-empty piece; the first id wins when a text appears twice (as llama.cpp does).
    void build(const std::vector<std::string>& pieces);
    // The id of `text`, or -1.
    int32_t find(std::string_view text, const std::vector<std::string>& pieces) const;

private:
    struct slot {
        uint32_t hash = 0;
        int32_t id = -1; // -1: empty
    };
    std::vector<slot> slots_; // [capacity], capacity a power of two >= 2 * entries
};

// (left id, right id) -> the merge's rank and resulting token.
class merge_table {
public:
    struct merge {
        int32_t rank;
        int32_t result;
    };
    void reserve(size_t n);
    // Adds a pair; a pair already present keeps its first (lowest) rank.
    void insert(int32_t left, int32_t right, merge m);
    // The merge of a pair, or nullptr.
    const merge* find(int32_t left, int32_t right) const;
    size_t size() const { return size_; }

private:
    struct slot {
        uint64_t key = empty;
        merge value{};
    };
    static constexpr uint64_t empty = ~uint64_t{0}; // never a key: ids are non-negative
    void grow();
    std::vector<slot> slots_; // [capacity], capacity a power of two >= 2 * size_
    size_t size_ = 0;
};

} // namespace epic::bpe
