// Typed metadata getters of gguf_file: absent -> nullopt, present with the wrong type -> epic::error
// naming the file, the key, the type found and the type wanted.
#include "gguf/gguf_file.h"

#include "common/error.h"

#include <limits>

namespace epic {
namespace {

[[noreturn]] void wrong_type(const std::string& path, std::string_view key, const gguf_value& v, const char* wanted) {
    throw error(path + ": key '" + std::string(key) + "' has type " + v.type_string() + ", expected " + wanted);
}

int64_t checked_int(const std::string& path, std::string_view key, const gguf_value& v) {
    if (v.type == gguf_type::u64 && v.u > (uint64_t)std::numeric_limits<int64_t>::max())
        throw error(path + ": key '" + std::string(key) + "' value " + std::to_string(v.u) +
                    " does not fit a signed 64-bit integer");
    return v.as_int();
}

const gguf_value* array_of(const std::string& path, std::string_view key, const gguf_value* v, const char* wanted,
                           bool (*elem_ok)(const gguf_value&)) {
    if (!v) return nullptr;
    if (v->type != gguf_type::array) wrong_type(path, key, *v, wanted);
    gguf_value probe;
    probe.type = v->elem_type;
    if (!elem_ok(probe)) wrong_type(path, key, *v, wanted);
    return v;
}

} // namespace

std::optional<int64_t> gguf_file::get_int(std::string_view key) const {
    const gguf_value* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_integer()) wrong_type(path_, key, *v, "an integer");
    return checked_int(path_, key, *v);
}

std::optional<double> gguf_file::get_float(std::string_view key) const {
    const gguf_value* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_integer() && !v->is_float()) wrong_type(path_, key, *v, "a number");
    return v->as_double();
}

std::optional<bool> gguf_file::get_bool(std::string_view key) const {
    const gguf_value* v = find(key);
    if (!v) return std::nullopt;
    if (v->type != gguf_type::boolean) wrong_type(path_, key, *v, "bool");
    return v->b;
}

std::optional<std::string> gguf_file::get_string(std::string_view key) const {
    const gguf_value* v = find(key);
    if (!v) return std::nullopt;
    if (v->type != gguf_type::string) wrong_type(path_, key, *v, "string");
    return v->str;
}

std::optional<std::vector<std::string>> gguf_file::get_string_array(std::string_view key) const {
    const gguf_value* v = array_of(path_, key, find(key), "array of string",
                                   [](const gguf_value& e) { return e.type == gguf_type::string; });
    if (!v) return std::nullopt;
    std::vector<std::string> out;
    out.reserve(v->items.size());
    for (const auto& e : v->items) out.push_back(e.str);
    return out;
}

std::optional<std::vector<float>> gguf_file::get_float_array(std::string_view key) const {
    const gguf_value* v = array_of(path_, key, find(key), "array of numbers",
                                   [](const gguf_value& e) { return e.is_integer() || e.is_float(); });
    if (!v) return std::nullopt;
    std::vector<float> out;
    out.reserve(v->items.size());
    for (const auto& e : v->items) out.push_back((float)e.as_double());
    return out;
}

std::optional<std::vector<int64_t>> gguf_file::get_int_array(std::string_view key) const {
    const gguf_value* v = array_of(path_, key, find(key), "array of integers",
                                   [](const gguf_value& e) { return e.is_integer(); });
    if (!v) return std::nullopt;
    std::vector<int64_t> out;
    out.reserve(v->items.size());
    for (const auto& e : v->items) out.push_back(checked_int(path_, key, e));
    return out;
}

} // namespace epic
