#pragma once
// GGUF metadata values (all GGUF value types, arrays possibly nested).
#include <cstdint>
#include <string>
#include <vector>

namespace epic {

// Value type ids as stored in a GGUF file.
enum class gguf_type : uint32_t {
    u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
    string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12,
};

const char* gguf_type_name(gguf_type t);
// Whether a raw id read from a file names a GGUF value type (0..12).
bool is_valid_gguf_type(uint32_t id);

// One metadata value. Exactly one of the payload fields is meaningful, chosen by `type`:
// unsigned ints in `u`, signed ints in `i`, floats in `f`, bools in `b`, strings in `str`,
// arrays in `items` (all of type `elem_type`; an array of arrays nests).
struct gguf_value {
    gguf_type type = gguf_type::u32;
    uint64_t u = 0;
    int64_t i = 0;
    double f = 0.0;
    bool b = false;
    std::string str;
    gguf_type elem_type = gguf_type::u8; // arrays only
    std::vector<gguf_value> items;       // arrays only

    static gguf_value make_u32(uint32_t v);
    static gguf_value make_i32(int32_t v);
    static gguf_value make_u64(uint64_t v);
    static gguf_value make_f32(float v);
    static gguf_value make_bool(bool v);
    static gguf_value make_string(std::string v);
    static gguf_value make_array(gguf_type elem_type, std::vector<gguf_value> items);
    // The remaining widths, so every GGUF value type can be written.
    static gguf_value make_u8(uint8_t v);
    static gguf_value make_i8(int8_t v);
    static gguf_value make_u16(uint16_t v);
    static gguf_value make_i16(int16_t v);
    static gguf_value make_i64(int64_t v);
    static gguf_value make_f64(double v);
    // Any of the given typed scalars of any width (u8..u64, i8..i64, f32, f64, bool) of the right kind.
    bool is_integer() const;  // u8..u64, i8..i64
    bool is_float() const;    // f32, f64
    int64_t as_int() const;   // integer value (throws epic::error when not an integer or out of range)
    double as_double() const; // integer or float value
    std::string type_string() const; // "u32", "array of string", "array of array of i8" (for messages)
};

} // namespace epic
