#include "gguf/gguf_read_value.h"

#include <string>

namespace epic::gguf_detail {
namespace {

// The fewest bytes one element of this type can occupy in a file. An array count is checked against
// remaining / this before anything is reserved, so a hostile count cannot trigger a huge allocation.
size_t min_encoded_size(gguf_type t) {
    switch (t) {
    case gguf_type::u8:
    case gguf_type::i8:
    case gguf_type::boolean: return 1;
    case gguf_type::u16:
    case gguf_type::i16: return 2;
    case gguf_type::u32:
    case gguf_type::i32:
    case gguf_type::f32: return 4;
    case gguf_type::u64:
    case gguf_type::i64:
    case gguf_type::f64: return 8;
    case gguf_type::string: return 8;  // u64 length, possibly no bytes
    case gguf_type::array: return 12;  // u32 element type + u64 count
    }
    return 1;
}

} // namespace

gguf_value read_value(cursor& c, gguf_type type, int depth, uint64_t& budget) {
    if (budget == 0)
        c.fail_here("metadata holds more than " + std::to_string(max_metadata_values) + " values (hostile file?)");
    --budget;
    gguf_value v;
    v.type = type;
    switch (type) {
    case gguf_type::u8: v.u = c.read<uint8_t>("u8 value"); break;
    case gguf_type::i8: v.i = c.read<int8_t>("i8 value"); break;
    case gguf_type::u16: v.u = c.read<uint16_t>("u16 value"); break;
    case gguf_type::i16: v.i = c.read<int16_t>("i16 value"); break;
    case gguf_type::u32: v.u = c.read<uint32_t>("u32 value"); break;
    case gguf_type::i32: v.i = c.read<int32_t>("i32 value"); break;
    case gguf_type::u64: v.u = c.read<uint64_t>("u64 value"); break;
    case gguf_type::i64: v.i = c.read<int64_t>("i64 value"); break;
    case gguf_type::f32: v.f = c.read<float>("f32 value"); break;
    case gguf_type::f64: v.f = c.read<double>("f64 value"); break;
    case gguf_type::boolean: v.b = c.read<uint8_t>("bool value") != 0; break;
    case gguf_type::string: v.str = c.read_string("string"); break;
    case gguf_type::array: {
        if (depth >= max_array_depth)
            c.fail_here("arrays nested deeper than " + std::to_string(max_array_depth) + " levels");
        const uint32_t elem_id = c.read<uint32_t>("array element type");
        if (!is_valid_gguf_type(elem_id))
            c.fail_here("unknown array element type " + std::to_string(elem_id) + " at offset " +
                        std::to_string(c.pos() - 4));
        v.elem_type = (gguf_type)elem_id;
        const size_t count_pos = c.pos();
        const uint64_t count = c.read<uint64_t>("array count");
        const size_t min_size = min_encoded_size(v.elem_type);
        if (count > c.remaining() / min_size)
            c.fail("truncated: " + (c.context().empty() ? std::string() : c.context() + " ") + "array of " +
                   std::to_string(count) + " " + gguf_type_name(v.elem_type) + " at offset " +
                   std::to_string(count_pos) + " needs " + std::string(count > UINT64_MAX / min_size ? "" : "at least ") +
                   (count > UINT64_MAX / min_size ? std::string("more than 2^64") : std::to_string(count * min_size)) +
                   " bytes, only " + std::to_string(c.remaining()) + " remain (array count too large)");
        if (count > budget)
            c.fail_here("array of " + std::to_string(count) + " values exceeds the limit of " +
                        std::to_string(max_metadata_values) + " metadata values (hostile file?)");
        v.items.reserve((size_t)count);
        for (uint64_t k = 0; k < count; ++k) v.items.push_back(read_value(c, v.elem_type, depth + 1, budget));
        break;
    }
    default: c.fail_here("unknown value type " + std::to_string((uint32_t)type));
    }
    return v;
}

} // namespace epic::gguf_detail
