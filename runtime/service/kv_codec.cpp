#include "service/kv_codec.h"

#include "common/error.h"
#include "pic/kv_quant.h"

#include <cstring>
#include <sstream>

namespace epic {
namespace {

std::string metadata_of(const chunk_cache& c, int group, kv_quant_axis v_axis) {
    std::ostringstream o;
    o << "fingerprint=" << c.model_fingerprint << ";options=" << c.options.to_string() << ";n_layer=" << c.n_layer
      << ";n_head_kv=" << c.n_head_kv << ";head_dim=" << c.head_dim << ";kv_format=" << kv_format_name(c.options.format);
    if (c.options.format != kv_format::f16) o << ";kv_group=" << group << ";kv_v_axis=" << kv_quant_axis_name(v_axis);
    return o.str();
}

// The value of `name=` in the metadata, or nullptr-like empty optional when absent.
bool find_field(const std::string& meta, const std::string& name, std::string& out) {
    const std::string key = name + "=";
    size_t p = 0;
    while ((p = meta.find(key, p)) != std::string::npos) {
        if (p == 0 || meta[p - 1] == ';') {
            const size_t b = p + key.size(), e = meta.find(';', b);
            out = meta.substr(b, e == std::string::npos ? std::string::npos : e - b);
            return true;
        }
        p += key.size();
    }
    return false;
}

std::string field(const std::string& meta, const std::string& name, const std::string& what) {
    std::string v;
    if (!find_field(meta, name, v)) throw error(what + ": chunk cache metadata lacks " + name);
    return v;
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

std::string shape_text(const std::vector<uint64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

// Tensor `idx` must be `name`, of `type` and exactly `shape` (its byte count follows: kv_blob checks it).
const storage::kv_tensor_info& expect_tensor(const storage::kv_blob& b, size_t idx, const std::string& name,
                                             storage::kv_dtype type, const std::vector<uint64_t>& shape,
                                             const std::string& what) {
    const auto& t = b.tensors[idx];
    uint64_t elems = 1;
    for (uint64_t d : shape) elems *= d; // shapes built here from checked sizes: no overflow
    if (t.name != name || t.type != type || t.shape != shape || t.bytes != elems * storage::dtype_size(type) ||
        b.tensor_data(idx).size() != t.bytes)
        throw error(what + ": chunk cache tensor " + std::to_string(idx) + " ('" + t.name + "' " +
                    std::string(storage::dtype_name(t.type)) + " " + shape_text(t.shape) + ") is not " + name + " " +
                    std::string(storage::dtype_name(type)) + " " + shape_text(shape));
    return t;
}

kv_quant_layout layout_for(const chunk_cache& c, size_t rows, int bits, int group, kv_quant_axis axis) {
    kv_quant_layout l;
    l.n_rows = (int64_t)rows;
    l.width = c.row_width();
    l.bits = bits;
    l.group = group;
    l.axis = axis;
    return l;
}

} // namespace

storage::kv_blob chunk_cache_to_blob(const chunk_cache& c, const std::string& key, int group, kv_quant_axis v_axis) {
    storage::kv_blob b;
    b.key = key;
    b.metadata = metadata_of(c, group, v_axis);
    const uint64_t rows = (uint64_t)c.n_rows();
    b.add_tensor("tokens", storage::kv_dtype::i32, {rows},
                 std::as_bytes(std::span<const int32_t>(c.tokens.data(), c.tokens.size())));
    if (c.options.format == kv_format::f16) {
        const std::vector<uint64_t> shape = {rows, (uint64_t)c.n_head_kv, (uint64_t)c.head_dim};
        for (int il = 0; il < c.n_layer; ++il) {
            b.add_tensor("k." + std::to_string(il), storage::kv_dtype::f16, shape, std::as_bytes(std::span(c.k[(size_t)il])));
            b.add_tensor("v." + std::to_string(il), storage::kv_dtype::f16, shape, std::as_bytes(std::span(c.v[(size_t)il])));
        }
        return b;
    }
    std::vector<uint8_t> codes;
    std::vector<uint16_t> scales, mins;
    for (int il = 0; il < c.n_layer; ++il) {
        for (int kv = 0; kv < 2; ++kv) {
            const kv_quant_layout l = layout_for(c, rows, kv_format_bits(c.options.format, kv), group, kv ? v_axis : kv_quant_axis::tokens);
            const std::vector<uint16_t>& x = kv ? c.v[(size_t)il] : c.k[(size_t)il]; // [n_rows, width] f16
            if (x.size() != rows * (size_t)l.width) throw error("chunk cache to blob: layer " + std::to_string(il) + " has the wrong size");
            codes.resize(l.code_bytes());
            scales.resize(l.scale_count());
            mins.resize(l.scale_count());
            l.check();
            kv_quantize(l, x.data(), codes.data(), scales.data(), mins.data());
            const std::string name = (kv ? "v." : "k.") + std::to_string(il);
            const std::vector<uint64_t> sshape = {(uint64_t)l.scale_rows(), (uint64_t)l.scale_cols()};
            b.add_tensor(name + ".q", storage::kv_dtype::u8, {(uint64_t)l.code_rows(), (uint64_t)l.width}, std::as_bytes(std::span(codes)));
            b.add_tensor(name + ".s", storage::kv_dtype::f16, sshape, std::as_bytes(std::span(scales)));
            b.add_tensor(name + ".m", storage::kv_dtype::f16, sshape, std::as_bytes(std::span(mins)));
        }
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
    if (c.n_layer <= 0 || c.n_layer > 4096 || c.n_head_kv <= 0 || c.n_head_kv > 65536 || c.head_dim <= 0 || c.head_dim > 65536)
        throw error(what + ": chunk cache metadata has implausible sizes");
    // The format: recorded as kv_format (absent in blobs older than formats: f16) and in the options.
    kv_format format = kv_format::f16;
    if (std::string name; find_field(b.metadata, "kv_format", name)) {
        try {
            format = parse_kv_format(name);
        } catch (const error& e) {
            throw error(what + ": " + e.what());
        }
    }
    if (format != c.options.format)
        throw error(what + ": chunk cache blob says format " + std::string(kv_format_name(format)) + " but its options say " +
                    std::string(kv_format_name(c.options.format)));
    const bool quantized = format != kv_format::f16;
    int group = 0;
    kv_quant_axis v_axis = kv_quant_v_axis;
    if (quantized) {
        group = to_int(field(b.metadata, "kv_group", what), what);
        if (group < 2 || group > 4096 || group % 2) throw error(what + ": chunk cache blob has a bad group size " + std::to_string(group));
        const std::string axis = field(b.metadata, "kv_v_axis", what);
        try {
            v_axis = parse_kv_quant_axis(axis);
        } catch (const error& e) {
            throw error(what + ": " + e.what());
        }
    }
    const size_t per_layer = quantized ? 6 : 2;
    if (b.tensors.size() != 1 + per_layer * (size_t)c.n_layer)
        throw error(what + ": chunk cache blob has " + std::to_string(b.tensors.size()) + " tensors for " +
                    std::to_string(c.n_layer) + " layers of format " + std::string(kv_format_name(format)));
    const auto& t0 = b.tensors[0];
    if (t0.name != "tokens" || t0.type != storage::kv_dtype::i32 || t0.shape.size() != 1 || t0.shape[0] == 0 ||
        t0.shape[0] > (1u << 24) || b.tensor_data(0).size() != t0.shape[0] * sizeof(int32_t))
        throw error(what + ": chunk cache blob lacks its token list");
    const size_t rows = (size_t)t0.shape[0];
    const size_t width = (size_t)c.n_head_kv * (size_t)c.head_dim;
    // Every tensor's name, type and shape first: nothing is allocated for a blob that is not sound.
    for (int il = 0; il < c.n_layer; ++il) {
        for (int kv = 0; kv < 2; ++kv) {
            const std::string name = (kv ? "v." : "k.") + std::to_string(il);
            if (!quantized) {
                expect_tensor(b, 1 + 2 * (size_t)il + (size_t)kv, name, storage::kv_dtype::f16,
                              {(uint64_t)rows, (uint64_t)c.n_head_kv, (uint64_t)c.head_dim}, what);
                continue;
            }
            const kv_quant_layout l = layout_for(c, rows, kv_format_bits(format, kv), group, kv ? v_axis : kv_quant_axis::tokens);
            try {
                l.check();
            } catch (const error& e) {
                throw error(what + ": " + e.what());
            }
            const size_t i0 = 1 + 6 * (size_t)il + 3 * (size_t)kv;
            const std::vector<uint64_t> sshape = {(uint64_t)l.scale_rows(), (uint64_t)l.scale_cols()};
            expect_tensor(b, i0, name + ".q", storage::kv_dtype::u8, {(uint64_t)l.code_rows(), (uint64_t)l.width}, what);
            expect_tensor(b, i0 + 1, name + ".s", storage::kv_dtype::f16, sshape, what);
            expect_tensor(b, i0 + 2, name + ".m", storage::kv_dtype::f16, sshape, what);
        }
    }
    c.tokens.resize(rows);
    std::memcpy(c.tokens.data(), b.tensor_data(0).data(), rows * sizeof(int32_t));
    if (c.options.n_sink < 0 || c.options.n_sink > (int)rows) throw error(what + ": chunk cache has more sinks than rows");
    c.k.resize((size_t)c.n_layer);
    c.v.resize((size_t)c.n_layer);
    for (int il = 0; il < c.n_layer; ++il) {
        for (int kv = 0; kv < 2; ++kv) {
            auto& dst = kv ? c.v[(size_t)il] : c.k[(size_t)il]; // [n_rows, n_head_kv, head_dim] f16
            dst.resize(rows * width);
            if (!quantized) {
                std::memcpy(dst.data(), b.tensor_data(1 + 2 * (size_t)il + (size_t)kv).data(), dst.size() * 2);
                continue;
            }
            const kv_quant_layout l = layout_for(c, rows, kv_format_bits(format, kv), group, kv ? v_axis : kv_quant_axis::tokens);
            const size_t i0 = 1 + 6 * (size_t)il + 3 * (size_t)kv;
            // The blob payload is a byte vector: f16 tensors may sit at odd offsets, so read them
            // through memcpy-safe pointers only when aligned, else copy.
            const auto q = b.tensor_data(i0), s = b.tensor_data(i0 + 1), m = b.tensor_data(i0 + 2);
            const auto* qp = reinterpret_cast<const uint8_t*>(q.data());
            if (reinterpret_cast<uintptr_t>(s.data()) % 2 == 0 && reinterpret_cast<uintptr_t>(m.data()) % 2 == 0) {
                kv_dequantize(l, qp, reinterpret_cast<const uint16_t*>(s.data()), reinterpret_cast<const uint16_t*>(m.data()), dst.data());
            } else {
                std::vector<uint16_t> sa(l.scale_count()), ma(l.scale_count());
                std::memcpy(sa.data(), s.data(), s.size());
                std::memcpy(ma.data(), m.data(), m.size());
                kv_dequantize(l, qp, sa.data(), ma.data(), dst.data());
            }
        }
    }
    return c;
}

chunk_cache kv_format_round_trip(const chunk_cache& c) {
    if (c.options.format == kv_format::f16) return c;
    return chunk_cache_from_blob(chunk_cache_to_blob(c, "round trip"), "KV format round trip");
}

} // namespace epic
