#include "pic/link_policy.h"

#include "common/error.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace epic {
namespace {

bool parse_number(const std::string& s, double& out) {
    if (s.empty()) return false;
    char* end = nullptr;
    out = std::strtod(s.c_str(), &end);
    return end && *end == '\0';
}

std::vector<std::string> split_plus(const std::string& s) {
    std::vector<std::string> parts;
    size_t b = 0;
    for (size_t e; (e = s.find('+', b)) != std::string::npos; b = e + 1) parts.push_back(s.substr(b, e - b));
    parts.push_back(s.substr(b));
    return parts;
}

std::string number(double v) {
    std::ostringstream o;
    o << v;
    return o.str();
}

} // namespace

link_policy link_policy::parse(const std::string& s) {
    if (s == "default") return app_default();
    link_policy p;
    const std::string bad = "unknown link algorithm '" + s +
                            "' (expected full, naive, legolink-K with K >= 0, or cacheblend-R with 0 < R <= 1, "
                            "optionally followed by +ctx, +hdr, +tail-J, +last-N, +q-F, +qc-F (each +q may end in @L), +ape-T[:S], +kv-q8, +kv-k8v4 or +kv-q4; or default)";
    const auto parts = split_plus(s);
    const std::string& base = parts[0];
    // `prefix` alone, or `prefix-<number>` into v.
    auto param = [&](const std::string& text, const std::string& prefix, double& v) -> bool {
        if (text == prefix) return true;
        if (text.rfind(prefix + "-", 0) != 0) return false;
        if (!parse_number(text.substr(prefix.size() + 1), v)) throw error(bad);
        return true;
    };
    double v = 16;
    if (base == "full" || base == "fr") p.algo = algorithm::full;
    else if (base == "naive") p.algo = algorithm::naive;
    else if (param(base, "legolink", v)) {
        if (v < 0 || v != (int)v || v > 1 << 20) throw error(bad);
        p.algo = algorithm::legolink;
        p.k = (int)v;
    } else if (v = 0.15; param(base, "cacheblend", v)) {
        if (!(v > 0 && v <= 1)) throw error(bad);
        p.algo = algorithm::cacheblend;
        p.r = v;
    } else {
        throw error(bad);
    }
    for (size_t i = 1; i < parts.size(); ++i) {
        const std::string& m = parts[i];
        if (m == "ctx") { p.context_compiled = true; continue; }
        if (m == "hdr") { p.header_framing = true; continue; }
        if (m.rfind("kv-", 0) == 0 && m != "kv-f16") {
            try {
                p.kv = parse_kv_format(m.substr(3));
            } catch (const error&) {
                throw error(bad);
            }
            continue;
        }
        if (m.rfind("last-", 0) == 0) {
            if (!parse_number(m.substr(5), v) || v < 1 || v != (int)v || v > 1 << 20) throw error(bad);
            p.last = (int)v;
            continue;
        }
        if (m.rfind("tail-", 0) == 0) {
            if (!parse_number(m.substr(5), v) || v < 1 || v != (int)v || v > 1 << 20) throw error(bad);
            p.tail = (int)v;
            continue;
        }
        if (m.rfind("ape-", 0) == 0) {
            const size_t colon = m.find(':');
            if (!parse_number(m.substr(4, colon == std::string::npos ? std::string::npos : colon - 4), v) || !(v >= 0.05 && v <= 20))
                throw error(bad);
            p.ape_temperature = p.ape_scale = v;
            if (colon != std::string::npos && (!parse_number(m.substr(colon + 1), v) || !(v >= 0.05 && v <= 20))) throw error(bad);
            p.ape_scale = v;
            continue;
        }
        if (m.rfind("q-", 0) == 0 || m.rfind("qc-", 0) == 0) {
            p.query_prefix = m[1] == 'c';
            const size_t from = p.query_prefix ? 3 : 2, at = m.find('@');
            if (!parse_number(m.substr(from, at == std::string::npos ? std::string::npos : at - from), v) || !(v > 0 && v <= 1))
                throw error(bad);
            p.query = v;
            if (at != std::string::npos) {
                if (!parse_number(m.substr(at + 1), v) || v < 0 || v != (int)v || v > 1024) throw error(bad);
                p.query_layer = (int)v;
            }
            continue;
        }
        throw error(bad);
    }
    return p;
}

std::string link_policy::name() const {
    std::string n;
    switch (algo) {
    case algorithm::full: n = "full"; break;
    case algorithm::naive: n = "naive"; break;
    case algorithm::legolink: n = "legolink-" + std::to_string(k); break;
    case algorithm::cacheblend: n = "cacheblend-" + number(r); break;
    }
    if (context_compiled) n += "+ctx";
    if (header_framing) n += "+hdr";
    if (tail > 0) n += "+tail-" + std::to_string(tail);
    if (last > 0) n += "+last-" + std::to_string(last);
    if (query > 0) n += (query_prefix ? "+qc-" : "+q-") + number(query) + (query_layer >= 0 ? "@" + std::to_string(query_layer) : "");
    if (ape()) n += "+ape-" + number(ape_temperature) + (ape_scale != ape_temperature ? ":" + number(ape_scale) : "");
    if (kv != kv_format::f16) {
        n += "+kv-";
        n += kv_format_name(kv);
    }
    return n;
}

std::string link_policy::chunk_text(const std::string& title, const std::string& text) const {
    if (!header_framing) return text;
    std::string out = "Document: " + title + "\n" + text;
    if (out.back() != '\n') out += '\n';
    return out;
}

int link_policy::query_layer_for(int n_layer) const {
    if (query_layer >= 0) return std::min(query_layer, n_layer - 1);
    return std::max(1, n_layer / 4); // early enough to be cheap, late enough that attention means something
}

} // namespace epic
