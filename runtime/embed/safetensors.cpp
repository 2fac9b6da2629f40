#include "embed/safetensors.h"

#include "common/error.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace epic {
namespace {

// The reference implementation's limit: a header is a table of contents, never this large.
constexpr uint64_t max_header_bytes = 100'000'000;
// The header nests three deep (object -> tensor entry -> shape); room for unknown fields that nest a
// little, none for a recursion bomb.
constexpr int max_header_depth = 8;
// The largest integer a double holds exactly (2^53); no tensor comes near.
constexpr uint64_t max_exact_integer = uint64_t(1) << 53;

std::string in_quotes(const std::string& s) { return "'" + s + "'"; }

std::string shape_text(std::span<const int64_t> shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

// Bytes per element of a safetensors dtype, 0 when unknown.
size_t dtype_bytes(const std::string& d) {
    static const std::pair<const char*, size_t> table[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
        {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1},  {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1},
    };
    for (const auto& [name, bytes] : table)
        if (d == name) return bytes;
    return 0;
}

} // namespace

json parse_json_bounded(const std::string& text, const std::string& file, const std::string& what, int max_depth) {
    // Nesting outside strings, counted before the parser sees the text.
    int depth = 0;
    bool in_string = false, escaped = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
            continue;
        }
        if (c == '"') in_string = true;
        else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                throw error(file + ": " + what + ": JSON nested more than " + std::to_string(max_depth) +
                            " levels deep at offset " + std::to_string(i));
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return parse_json(text, file, what);
}

std::unique_ptr<safetensors_file> safetensors_file::open(const std::string& path) {
    std::unique_ptr<safetensors_file> f(new safetensors_file());
    f->path_ = path;
    f->mapping_ = mapped_file::open(path);
    const size_t size = f->mapping_.size();
    if (size < 8)
        throw error(path + ": truncated: " + std::to_string(size) +
                    " bytes, but a safetensors file starts with an 8-byte header length");
    f->base_ = f->mapping_.data();
    f->size_ = size;
    f->parse(); // on throw, the unique_ptr unmaps
    return f;
}

void safetensors_file::parse() {
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = header_len << 8 | base_[i]; // little-endian on any host
    if (header_len > size_ - 8)
        throw error(path_ + ": header length " + std::to_string(header_len) + " runs past the end of the file (" +
                    std::to_string(size_) + " bytes): truncated or not a safetensors file");
    if (header_len > max_header_bytes)
        throw error(path_ + ": header length " + std::to_string(header_len) + " exceeds the limit of " +
                    std::to_string(max_header_bytes) + " bytes");
    const std::string text(reinterpret_cast<const char*>(base_ + 8), (size_t)header_len);
    if (text.empty() || text[0] != '{')
        throw error(path_ + ": the header does not start with '{': not a safetensors file");
    const json header = parse_json_bounded(text, path_, "header", max_header_depth);
    if (!header.is_object()) throw error(path_ + ": the header is not a JSON object");

    const size_t data_start = 8 + (size_t)header_len;
    const size_t data_size = size_ - data_start;
    for (const auto& [name, entry] : header.items()) {
        if (name == "__metadata__") {
            if (!entry.is_object()) throw error(path_ + ": __metadata__ is not a JSON object");
            for (const auto& [k, v] : entry.items()) {
                if (!v.is_string()) throw error(path_ + ": __metadata__ value " + in_quotes(k) + " is not a string");
                metadata_[k] = v.get<std::string>();
            }
            continue;
        }
        const std::string where = path_ + ": tensor " + in_quotes(name) + ": ";
        if (!entry.is_object()) throw error(where + "its header entry is not a JSON object");
        auto field = [&](const char* key, json::value_t kind, const char* kind_name) -> const json& {
            auto it = entry.find(key);
            if (it == entry.end()) throw error(where + "no \"" + key + "\" in its header entry");
            if (it->type() != kind) throw error(where + "\"" + key + "\" is not " + kind_name);
            return *it;
        };
        // An integer literal is exact (nlohmann keeps it as uint64); a float counts when whole, as
        // 4.0. Either way at most 2^53, where floats stop being exact: far beyond any real tensor.
        auto integer = [&](const json& v, const char* what) -> uint64_t {
            if (v.is_number_unsigned() && v.get<uint64_t>() <= max_exact_integer) return v.get<uint64_t>();
            const double d = v.is_number_float() ? v.get<double>() : -1.0; // parsed floats are finite
            if (d < 0 || d != std::floor(d) || d > (double)max_exact_integer)
                throw error(where + what + " is not a non-negative integer");
            return (uint64_t)d;
        };

        safetensors_tensor t;
        t.name = name;
        t.dtype = field("dtype", json::value_t::string, "a string").get<std::string>();
        t.element_bytes = dtype_bytes(t.dtype);
        if (t.element_bytes == 0) throw error(where + "unknown dtype " + in_quotes(t.dtype));

        const json& shape = field("shape", json::value_t::array, "an array");
        uint64_t elements = 1;
        for (const json& d : shape) {
            const uint64_t dim = integer(d, "a shape dimension");
            t.shape.push_back((int64_t)dim); // < 2^53 by integer()
            if (__builtin_mul_overflow(elements, dim, &elements))
                throw error(where + "shape " + shape_text(t.shape) + "... has more elements than 64 bits count");
        }
        uint64_t nbytes = 0;
        if (__builtin_mul_overflow(elements, (uint64_t)t.element_bytes, &nbytes) || nbytes > data_size)
            throw error(where + "shape " + shape_text(t.shape) + " of " + t.dtype + " needs more bytes than the " +
                        std::to_string(data_size) + "-byte data section holds");
        t.n_elements = (int64_t)elements;
        t.nbytes = (size_t)nbytes;

        const json& offsets = field("data_offsets", json::value_t::array, "an array");
        if (offsets.size() != 2) throw error(where + "\"data_offsets\" does not hold exactly [begin, end]");
        const uint64_t begin = integer(offsets[0], "data_offsets[0]");
        const uint64_t end = integer(offsets[1], "data_offsets[1]");
        if (begin > end || end > data_size)
            throw error(where + "data offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                        ") lie outside the " + std::to_string(data_size) + "-byte data section");
        if (end - begin != nbytes)
            throw error(where + "data offsets [" + std::to_string(begin) + ", " + std::to_string(end) + ") hold " +
                        std::to_string(end - begin) + " bytes, but shape " + shape_text(t.shape) + " of " + t.dtype +
                        " needs " + std::to_string(nbytes));
        // The mapping is page-aligned, so this is the data's alignment in memory: reading an F32
        // tensor as floats in place needs 4. Writers align every tensor (the header is padded to 8
        // and tensors are laid out largest element first), so only a crafted file fails here.
        if ((data_start + begin) % t.element_bytes != 0)
            throw error(where + "data at file offset " + std::to_string(data_start + begin) +
                        " is not aligned to its " + std::to_string(t.element_bytes) + "-byte elements");
        t.offset = (size_t)begin;
        t.data = base_ + data_start + begin;
        tensors_.push_back(std::move(t));
    }

    // The data section must be covered exactly once: no overlaps (two tensors sharing bytes) and no
    // holes (bytes no tensor owns), as the reference implementation requires.
    std::sort(tensors_.begin(), tensors_.end(), [](const safetensors_tensor& a, const safetensors_tensor& b) {
        return a.offset != b.offset ? a.offset < b.offset : a.nbytes < b.nbytes;
    });
    size_t covered = 0;
    const safetensors_tensor* prev = nullptr;
    for (const safetensors_tensor& t : tensors_) {
        if (t.offset < covered)
            throw error(path_ + ": tensor " + in_quotes(t.name) + " (bytes " + std::to_string(t.offset) + ".." +
                        std::to_string(t.offset + t.nbytes) + ") overlaps tensor " + in_quotes(prev->name) + " (bytes " +
                        std::to_string(prev->offset) + ".." + std::to_string(prev->offset + prev->nbytes) + ")");
        if (t.offset > covered)
            throw error(path_ + ": bytes " + std::to_string(covered) + ".." + std::to_string(t.offset) +
                        " of the data section belong to no tensor (a hole before tensor " + in_quotes(t.name) + ")");
        covered = t.offset + t.nbytes;
        prev = &t;
    }
    if (covered != data_size)
        throw error(path_ + ": the last " + std::to_string(data_size - covered) +
                    " bytes of the data section belong to no tensor (trailing data or a wrong header length)");
    for (size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name, i);
}

const safetensors_tensor* safetensors_file::find(std::string_view name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const float> safetensors_file::f32(const std::string& name, std::span<const int64_t> shape) const {
    const safetensors_tensor* t = find(name);
    const std::string where = path_ + ": tensor " + in_quotes(name);
    if (!t) throw error(where + " is missing");
    if (t->dtype == "F16" || t->dtype == "BF16")
        throw error(where + " is " + t->dtype + "; only F32 weights are supported (save the model in float32)");
    if (t->dtype != "F32") throw error(where + " is " + t->dtype + ", expected F32");
    if (!std::equal(t->shape.begin(), t->shape.end(), shape.begin(), shape.end()))
        throw error(where + " has shape " + shape_text(t->shape) + ", expected " + shape_text(shape));
    // Aligned to 4 bytes (checked at open), so the floats can be read in place.
    return {reinterpret_cast<const float*>(t->data), (size_t)t->n_elements};
}

} // namespace epic
