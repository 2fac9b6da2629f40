#pragma once
// A link's layout: the system segment, the cached chunks and the question laid end to end at global
// rows 0..N-1 (built by make_layout in pic/linker.h; the rules of pic/link_rules.h read it).
#include "pic/chunk_cache.h"

#include <cstdint>
#include <vector>

namespace epic {

// Where each segment landed.
struct link_segment {
    enum class kind { system, chunk, question } type;
    int begin = 0;                  // first global row
    int length = 0;
    const chunk_cache* cache = nullptr; // null: computed fresh
    int cache_first_row = 0;        // rows of the cache skipped (LegoLink-0's sinks)
    bool recompute_whole = false;   // every row recomputed (link_input::recompute_whole)
};

struct link_layout {
    std::vector<int32_t> tokens;    // [N] the linked token sequence
    std::vector<link_segment> segments;
    int n_rows() const { return (int)tokens.size(); }
};

} // namespace epic
