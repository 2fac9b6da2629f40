#include "pic/chunk_cache.h"

#include "common/error.h"
#include "common/xxhash64.h"

#include <algorithm>
#include <vector>
#include <cstdio>
#include <cstring>

namespace epic {

compile_options compile_options::standalone(int n_sink) {
    compile_options o;
    o.n_sink = n_sink;
    return o;
}

std::string compile_options::to_string() const {
    std::string s = "sink=" + std::to_string(n_sink);
    if (!context.empty()) s += ",ctx=" + context + "/" + std::to_string(context_rows);
    if (format != kv_format::f16) s += ",kv=" + std::string(kv_format_name(format));
    return s;
}

compile_options compile_options::parse(const std::string& s, const std::string& what) {
    const std::string bad = what + ": unknown compile options '" + s + "'";
    auto to_int = [&](const std::string& t) {
        if (t.empty() || t.size() > 9 || t.find_first_not_of("0123456789") != std::string::npos) throw error(bad);
        return std::stoi(t);
    };
    // Fields in the order to_string writes them: sink=N[,ctx=<hex>/<rows>][,kv=<format>].
    std::vector<std::string> fields;
    for (size_t start = 0;;) {
        const size_t comma = s.find(',', start);
        fields.push_back(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    if (fields[0].rfind("sink=", 0) != 0) throw error(bad);
    compile_options o;
    o.n_sink = to_int(fields[0].substr(5));
    size_t i = 1;
    if (i < fields.size() && fields[i].rfind("ctx=", 0) == 0) {
        const std::string& f = fields[i++];
        const size_t slash = f.find('/');
        if (slash != 4 + 16) throw error(bad);
        o.context = f.substr(4, 16);
        if (o.context.find_first_not_of("0123456789abcdef") != std::string::npos) throw error(bad);
        o.context_rows = to_int(f.substr(slash + 1));
        if (o.context_rows <= 0) throw error(bad);
    }
    if (i < fields.size() && fields[i].rfind("kv=", 0) == 0) {
        try {
            o.format = parse_kv_format(fields[i++].substr(3));
        } catch (const error&) {
            throw error(bad);
        }
        if (o.format == kv_format::f16) throw error(bad);  // f16 is written as nothing: one spelling per key
    }
    if (i != fields.size()) throw error(bad);
    return o;
}

std::string context_fingerprint(std::span<const int32_t> prefix_tokens) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)storage::xxh64(prefix_tokens.data(), prefix_tokens.size_bytes()));
    return buf;
}

size_t chunk_cache::kv_bytes() const { return 2 * (size_t)n_layer * (size_t)n_rows() * (size_t)row_width() * 2; }

std::string chunk_cache_key(const std::string& model_fingerprint, std::span<const int32_t> chunk_tokens,
                            const compile_options& options) {
    // Fields end with a NUL so that they cannot run together.
    const std::string o = options.to_string();
    storage::xxh64_stream hs;
    hs.add(model_fingerprint).add("", 1).add(chunk_tokens.data(), chunk_tokens.size_bytes()).add(o);
    const uint64_t h = hs.digest();
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)h);
    return model_fingerprint + "-" + buf + "-" + std::to_string(chunk_tokens.size());
}

std::string chunk_cache_key(const chunk_cache& c) {
    const size_t sinks = (size_t)std::clamp(c.options.n_sink, 0, c.n_rows());
    return chunk_cache_key(c.model_fingerprint, std::span(c.tokens).subspan(sinks), c.options);
}

} // namespace epic
