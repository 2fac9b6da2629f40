#include "pic/chunk_cache.h"

#include "core/error.h"
#include "common/xxhash64.h"

#include <algorithm>
#include <vector>
#include <cstdio>
#include <cstring>

namespace epic {
namespace {

constexpr uint32_t magic = 0x4b435045; // "EPCK"
constexpr uint32_t format_version = 2; // 2: compile options as their string (context-compiled chunks)

class writer {
public:
    template <class T> void put(const T& v) {
        const auto* p = reinterpret_cast<const uint8_t*>(&v);
        out.insert(out.end(), p, p + sizeof(T));
    }
    void put_bytes(const void* p, size_t n) {
        const auto* b = static_cast<const uint8_t*>(p);
        out.insert(out.end(), b, b + n);
    }
    void put_string(const std::string& s) {
        put<uint32_t>((uint32_t)s.size());
        put_bytes(s.data(), s.size());
    }
    std::vector<uint8_t> out;
};

class reader {
public:
    reader(std::span<const uint8_t> b, const std::string& what) : b_(b), what_(what) {}
    template <class T> T get() {
        T v;
        std::memcpy(&v, need(sizeof(T)), sizeof(T));
        return v;
    }
    const uint8_t* need(size_t n) {
        if (n > b_.size() - pos_) throw error(what_ + ": chunk cache truncated at byte " + std::to_string(pos_));
        const uint8_t* p = b_.data() + pos_;
        pos_ += n;
        return p;
    }
    std::string get_string() {
        const uint32_t n = get<uint32_t>();
        const auto* p = need(n);
        return std::string(reinterpret_cast<const char*>(p), n);
    }
    bool at_end() const { return pos_ == b_.size(); }

private:
    std::span<const uint8_t> b_;
    std::string what_;
    size_t pos_ = 0;
};

} // namespace

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

std::vector<uint8_t> chunk_cache::serialize() const {
    writer w;
    w.put(magic);
    w.put(format_version);
    w.put_string(model_fingerprint);
    w.put_string(options.to_string());
    w.put<int32_t>(n_layer);
    w.put<int32_t>(n_head_kv);
    w.put<int32_t>(head_dim);
    w.put<int32_t>(n_rows());
    w.put_bytes(tokens.data(), tokens.size() * sizeof(int32_t));
    for (int il = 0; il < n_layer; ++il) {
        w.put_bytes(k[(size_t)il].data(), k[(size_t)il].size() * 2);
        w.put_bytes(v[(size_t)il].data(), v[(size_t)il].size() * 2);
    }
    return std::move(w.out);
}

chunk_cache chunk_cache::deserialize(std::span<const uint8_t> bytes, const std::string& what) {
    reader r(bytes, what);
    if (r.get<uint32_t>() != magic) throw error(what + ": not a chunk cache (bad magic)");
    const uint32_t version = r.get<uint32_t>();
    if (version != format_version) throw error(what + ": chunk cache format " + std::to_string(version) + " is not supported");
    chunk_cache c;
    c.model_fingerprint = r.get_string();
    c.options = compile_options::parse(r.get_string(), what);
    c.n_layer = r.get<int32_t>();
    c.n_head_kv = r.get<int32_t>();
    c.head_dim = r.get<int32_t>();
    const int32_t n_rows = r.get<int32_t>();
    if (c.n_layer <= 0 || c.n_layer > 1024 || c.n_head_kv <= 0 || c.n_head_kv > 1024 || c.head_dim <= 0 ||
        c.head_dim > 4096 || n_rows <= 0 || c.options.n_sink < 0 || c.options.n_sink > n_rows)
        throw error(what + ": chunk cache header has implausible sizes");
    const size_t per_layer = (size_t)n_rows * (size_t)c.row_width();
    const size_t expect = (size_t)n_rows * 4 + 2 * 2 * per_layer * (size_t)c.n_layer;
    (void)r.need(0);
    if (bytes.size() < expect) throw error(what + ": chunk cache truncated (" + std::to_string(bytes.size()) + " bytes)");
    c.tokens.resize((size_t)n_rows);
    std::memcpy(c.tokens.data(), r.need(c.tokens.size() * 4), c.tokens.size() * 4);
    c.k.resize((size_t)c.n_layer);
    c.v.resize((size_t)c.n_layer);
    for (int il = 0; il < c.n_layer; ++il) {
        c.k[(size_t)il].resize(per_layer);
        std::memcpy(c.k[(size_t)il].data(), r.need(per_layer * 2), per_layer * 2);
        c.v[(size_t)il].resize(per_layer);
        std::memcpy(c.v[(size_t)il].data(), r.need(per_layer * 2), per_layer * 2);
    }
    if (!r.at_end()) throw error(what + ": chunk cache has trailing bytes");
    return c;
}

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
