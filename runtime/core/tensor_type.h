#pragma once
// Tensor element types, numbered exactly as ggml/GGUF number them (a GGUF file stores these ids).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace epic {

enum class ggml_type : uint32_t {
    f32 = 0,
    f16 = 1,
    q4_0 = 2,
    q4_1 = 3,
    q5_0 = 6,
    q5_1 = 7,
    q8_0 = 8,
    q8_1 = 9,
    q2_k = 10,
    q3_k = 11,
    q4_k = 12,
    q5_k = 13,
    q6_k = 14,
    q8_k = 15,
    i8 = 24,
    i16 = 25,
    i32 = 26,
    i64 = 27,
    f64 = 28,
    bf16 = 30,
};

struct type_traits {
    const char* name;     // "q4_K", as ggml prints it
    int64_t block_size;   // elements per block (1 for plain types)
    size_t block_bytes;   // bytes per block
    bool supported;       // whether this runtime can compute with it
};

// Traits of a known type id, or nullopt for an id this runtime does not know.
std::optional<type_traits> find_type_traits(uint32_t id);
// Traits of a type (throws epic::error for an unknown one).
const type_traits& traits(ggml_type t);
const char* type_name(ggml_type t);
// Bytes of a row of n elements; n must be a multiple of the block size (throws otherwise).
size_t row_bytes(ggml_type t, int64_t n);
// Parse "f16", "q4_K", "Q8_0"... (case-insensitive); nullopt when unknown.
std::optional<ggml_type> parse_type_name(const std::string& s);

} // namespace epic
