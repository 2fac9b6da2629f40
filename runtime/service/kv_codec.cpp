#include "service/kv_codec.h"

#include "core/error.h"

#include <cstring>
#include <sstream>

namespace epic {
namespace {

std::string metadata_of(const chunk_cache& c) {
    std::ostringstream o;
    o << "fingerprint=" << c.model_fingerprint << ";options=" << c.options.to_string() << ";n_layer=" << c.n_layer
      << ";n_head_kv=" << c.n_head_kv << ";head_dim=" << c.head_dim;
    return o.str();
}

std::string field(const std::string& meta, const std::string& name, const std::string& what) {
    const std::string key = name + "=";
    size_t p = 0;
    while ((p = meta.find(key, p)) != std::string::npos) {
        if (p == 0 || meta[p - 1] == ';') {
            const size_t b = p + key.size(), e = meta.find(';', b);
            return meta.substr(b, e == std::string::npos ? std::string::npos : e - b);
        }
        p += key.size();
    }
    throw error(what + ": chunk cache metadata lacks " + name);
}

int to_int(const std::string& s, const std::string& what) {
    try {
        size_t used = 0;
        const int v = std::stoi(s, &used);
        if (used != s.size()) throw std::invalid_argument(s);
        return v;
    } catch (const std::exception&) {
        throw error(what + ": bad number '" + s + "' in chunk cache metadata");
    }
}

} // namespace

storage::kv_blob chunk_cache_to_blob(const chunk_cache& c, const std::string& key) {
    storage::kv_blob b;
    b.key = key;
    b.metadata = metadata_of(c);
    const uint64_t rows = (uint64_t)c.n_rows();
    b.add_tensor("tokens", storage::kv_dtype::i32, {rows},
                 std::as_bytes(std::span<const int32_t>(c.tokens.data(), c.tokens.size())));
    const std::vector<uint64_t> shape = {rows, (uint64_t)c.n_head_kv, (uint64_t)c.head_dim};
    for (int il = 0; il < c.n_layer; ++il) {
        b.add_tensor("k." + std::to_string(il), storage::kv_dtype::f16, shape, std::as_bytes(std::span(c.k[(size_t)il])));
        b.add_tensor("v." + std::to_string(il), storage::kv_dtype::f16, shape, std::as_bytes(std::span(c.v[(size_t)il])));
    }
    return b;
}

chunk_cache chunk_cache_from_blob(const storage::kv_blob& b, const std::string& what) {
    chunk_cache c;
    c.model_fingerprint = field(b.metadata, "fingerprint", what);
    c.options = compile_options::parse(field(b.metadata, "options", what), what);
    c.n_layer = to_int(field(b.metadata, "n_layer", what), what);
    c.n_head_kv = to_int(field(b.metadata, "n_head_kv", what), what);
    c.head_dim = to_int(field(b.metadata, "head_dim", what), what);
    if (c.n_layer <= 0 || c.n_head_kv <= 0 || c.head_dim <= 0 || b.tensors.size() != 1 + 2 * (size_t)c.n_layer)
        throw error(what + ": chunk cache blob has " + std::to_string(b.tensors.size()) + " tensors for " +
                    std::to_string(c.n_layer) + " layers");
    const auto& t0 = b.tensors[0];
    if (t0.name != "tokens" || t0.type != storage::kv_dtype::i32 || t0.shape.size() != 1 || t0.shape[0] == 0)
        throw error(what + ": chunk cache blob lacks its token list");
    const size_t rows = (size_t)t0.shape[0];
    c.tokens.resize(rows);
    std::memcpy(c.tokens.data(), b.tensor_data(0).data(), rows * sizeof(int32_t));
    const size_t elems = rows * (size_t)c.n_head_kv * (size_t)c.head_dim;
    c.k.resize((size_t)c.n_layer);
    c.v.resize((size_t)c.n_layer);
    for (int il = 0; il < c.n_layer; ++il) {
        for (int kv = 0; kv < 2; ++kv) {
            const size_t idx = 1 + 2 * (size_t)il + (size_t)kv;
            const auto& t = b.tensors[idx];
            const std::string name = (kv ? "v." : "k.") + std::to_string(il);
            if (t.name != name || t.type != storage::kv_dtype::f16 || t.bytes != elems * 2)
                throw error(what + ": chunk cache tensor " + std::to_string(idx) + " is not " + name + " of the right size");
            auto& dst = kv ? c.v[(size_t)il] : c.k[(size_t)il];
            dst.resize(elems);
            std::memcpy(dst.data(), b.tensor_data(idx).data(), elems * 2);
        }
    }
    return c;
}

} // namespace epic
