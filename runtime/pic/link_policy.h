#pragma once
// Which rows a link recomputes (DESIGN.md, "Compile and link").
#include <string>

namespace epic {

struct link_policy {
    enum class algorithm { full, naive, legolink, cacheblend };
    algorithm algo = algorithm::legolink;
    int k = 16;       // legolink: first k rows of every chunk (its BOS counted); 0 = sink variant
    double r = 0.15;  // cacheblend: fraction of cached rows recomputed from layer 1 on

    // "full", "naive", "legolink" (k=16), "legolink-8", "legolink-0", "cacheblend" (r=0.15),
    // "cacheblend-0.05". Throws epic::error for anything else.
    static link_policy parse(const std::string& s);
    std::string name() const;
    // Compile options the chunks need under this policy (LegoLink-0 compiles 4 sink tokens).
    int sink_tokens() const { return algo == algorithm::legolink && k == 0 ? 4 : 1; }
};

} // namespace epic
