#include "pic/link_policy.h"

#include "core/error.h"

#include <cstdlib>
#include <sstream>

namespace epic {
namespace {

bool parse_number(const std::string& s, double& out) {
    if (s.empty()) return false;
    char* end = nullptr;
    out = std::strtod(s.c_str(), &end);
    return end && *end == '\0';
}

} // namespace

link_policy link_policy::parse(const std::string& s) {
    link_policy p;
    const std::string bad = "unknown link algorithm '" + s +
                            "' (expected full, naive, legolink-K with K >= 0, or cacheblend-R with 0 < R <= 1)";
    if (s == "full" || s == "fr") { p.algo = algorithm::full; return p; }
    if (s == "naive") { p.algo = algorithm::naive; return p; }
    auto param = [&](const std::string& prefix, double& v) -> bool {
        if (s == prefix) return true;
        if (s.rfind(prefix + "-", 0) != 0) return false;
        if (!parse_number(s.substr(prefix.size() + 1), v)) throw error(bad);
        return true;
    };
    double v = 16;
    if (param("legolink", v)) {
        if (v < 0 || v != (int)v || v > 1 << 20) throw error(bad);
        p.algo = algorithm::legolink;
        p.k = (int)v;
        return p;
    }
    v = 0.15;
    if (param("cacheblend", v)) {
        if (!(v > 0 && v <= 1)) throw error(bad);
        p.algo = algorithm::cacheblend;
        p.r = v;
        return p;
    }
    throw error(bad);
}

std::string link_policy::name() const {
    switch (algo) {
    case algorithm::full: return "full";
    case algorithm::naive: return "naive";
    case algorithm::legolink: return "legolink-" + std::to_string(k);
    case algorithm::cacheblend: {
        std::ostringstream o;
        o << "cacheblend-" << r;
        return o.str();
    }
    }
    return "?";
}

} // namespace epic
