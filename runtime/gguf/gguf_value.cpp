#include "gguf/gguf_value.h"

#include "common/error.h"

#include <limits>

namespace epic {

const char* gguf_type_name(gguf_type t) {
    switch (t) {
    case gguf_type::u8: return "u8";
    case gguf_type::i8: return "i8";
    case gguf_type::u16: return "u16";
    case gguf_type::i16: return "i16";
    case gguf_type::u32: return "u32";
    case gguf_type::i32: return "i32";
    case gguf_type::f32: return "f32";
    case gguf_type::boolean: return "bool";
    case gguf_type::string: return "string";
    case gguf_type::array: return "array";
    case gguf_type::u64: return "u64";
    case gguf_type::i64: return "i64";
    case gguf_type::f64: return "f64";
    }
    return "unknown";
}

bool is_valid_gguf_type(uint32_t id) { return id <= (uint32_t)gguf_type::f64; }

gguf_value gguf_value::make_u8(uint8_t v) {
    gguf_value r;
    r.type = gguf_type::u8;
    r.u = v;
    return r;
}

gguf_value gguf_value::make_u16(uint16_t v) {
    gguf_value r;
    r.type = gguf_type::u16;
    r.u = v;
    return r;
}

gguf_value gguf_value::make_u32(uint32_t v) {
    gguf_value r;
    r.type = gguf_type::u32;
    r.u = v;
    return r;
}

gguf_value gguf_value::make_u64(uint64_t v) {
    gguf_value r;
    r.type = gguf_type::u64;
    r.u = v;
    return r;
}

gguf_value gguf_value::make_i8(int8_t v) {
    gguf_value r;
    r.type = gguf_type::i8;
    r.i = v;
    return r;
}

gguf_value gguf_value::make_i16(int16_t v) {
    gguf_value r;
    r.type = gguf_type::i16;
    r.i = v;
    return r;
}

gguf_value gguf_value::make_i32(int32_t v) {
    gguf_value r;
    r.type = gguf_type::i32;
    r.i = v;
    return r;
}

gguf_value gguf_value::make_i64(int64_t v) {
    gguf_value r;
    r.type = gguf_type::i64;
    r.i = v;
    return r;
}

gguf_value gguf_value::make_f32(float v) {
    gguf_value r;
    r.type = gguf_type::f32;
    r.f = v;
    return r;
}

gguf_value gguf_value::make_f64(double v) {
    gguf_value r;
    r.type = gguf_type::f64;
    r.f = v;
    return r;
}

gguf_value gguf_value::make_bool(bool v) {
    gguf_value r;
    r.type = gguf_type::boolean;
    r.b = v;
    return r;
}

gguf_value gguf_value::make_string(std::string v) {
    gguf_value r;
    r.type = gguf_type::string;
    r.str = std::move(v);
    return r;
}

gguf_value gguf_value::make_array(gguf_type elem_type, std::vector<gguf_value> items) {
    // A GGUF array stores one element type for all items, so a mixed list cannot be written.
    for (size_t k = 0; k < items.size(); ++k)
        if (items[k].type != elem_type)
            throw error(std::string("gguf array of ") + gguf_type_name(elem_type) + ": item " + std::to_string(k) +
                        " has type " + gguf_type_name(items[k].type));
    gguf_value r;
    r.type = gguf_type::array;
    r.elem_type = elem_type;
    r.items = std::move(items);
    return r;
}

bool gguf_value::is_integer() const {
    switch (type) {
    case gguf_type::u8:
    case gguf_type::i8:
    case gguf_type::u16:
    case gguf_type::i16:
    case gguf_type::u32:
    case gguf_type::i32:
    case gguf_type::u64:
    case gguf_type::i64: return true;
    default: return false;
    }
}

bool gguf_value::is_float() const { return type == gguf_type::f32 || type == gguf_type::f64; }

static bool is_unsigned(gguf_type t) {
    return t == gguf_type::u8 || t == gguf_type::u16 || t == gguf_type::u32 || t == gguf_type::u64;
}

int64_t gguf_value::as_int() const {
    if (!is_integer()) throw error(std::string("gguf value of type ") + type_string() + " is not an integer");
    if (is_unsigned(type)) {
        if (u > (uint64_t)std::numeric_limits<int64_t>::max())
            throw error("gguf u64 value " + std::to_string(u) + " does not fit a signed 64-bit integer");
        return (int64_t)u;
    }
    return i;
}

double gguf_value::as_double() const {
    if (is_float()) return f;
    if (!is_integer()) throw error(std::string("gguf value of type ") + type_string() + " is not a number");
    return is_unsigned(type) ? (double)u : (double)i;
}

std::string gguf_value::type_string() const {
    if (type != gguf_type::array) return gguf_type_name(type);
    // Nested arrays name the inner element type when there is an item to look at.
    if (elem_type == gguf_type::array && !items.empty()) return "array of " + items.front().type_string();
    return std::string("array of ") + gguf_type_name(elem_type);
}

} // namespace epic
