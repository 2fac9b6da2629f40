#include "core/tensor_type.h"

#include "common/error.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace epic {
namespace {

struct type_entry {
    ggml_type type;
    type_traits tr;
};

// Block layouts follow ggml: see quant/blocks.h for the structs behind these sizes.
const std::vector<type_entry>& table() {
    static const std::vector<type_entry> t = {
        {ggml_type::f32, {"f32", 1, 4, true}},
        {ggml_type::f16, {"f16", 1, 2, true}},
        {ggml_type::q4_0, {"q4_0", 32, 18, true}},
        {ggml_type::q4_1, {"q4_1", 32, 20, true}},
        {ggml_type::q5_0, {"q5_0", 32, 22, true}},
        {ggml_type::q5_1, {"q5_1", 32, 24, true}},
        {ggml_type::q8_0, {"q8_0", 32, 34, true}},
        {ggml_type::q8_1, {"q8_1", 32, 36, false}},
        {ggml_type::q2_k, {"q2_K", 256, 84, false}},
        {ggml_type::q3_k, {"q3_K", 256, 110, false}},
        {ggml_type::q4_k, {"q4_K", 256, 144, true}},
        {ggml_type::q5_k, {"q5_K", 256, 176, true}},
        {ggml_type::q6_k, {"q6_K", 256, 210, true}},
        {ggml_type::q8_k, {"q8_K", 256, 292, true}},
        {ggml_type::i8, {"i8", 1, 1, false}},
        {ggml_type::i16, {"i16", 1, 2, false}},
        {ggml_type::i32, {"i32", 1, 4, false}},
        {ggml_type::i64, {"i64", 1, 8, false}},
        {ggml_type::f64, {"f64", 1, 8, false}},
        {ggml_type::bf16, {"bf16", 1, 2, true}},
    };
    return t;
}

} // namespace

std::optional<type_traits> find_type_traits(uint32_t id) {
    for (const auto& e : table())
        if ((uint32_t)e.type == id) return e.tr;
    return std::nullopt;
}

const type_traits& traits(ggml_type t) {
    for (const auto& e : table())
        if (e.type == t) return e.tr;
    throw error("unknown tensor type id " + std::to_string((uint32_t)t));
}

const char* type_name(ggml_type t) { return traits(t).name; }

size_t row_bytes(ggml_type t, int64_t n) {
    const auto& tr = traits(t);
    if (n < 0 || n % tr.block_size != 0)
        throw error(std::string("row of ") + std::to_string(n) + " elements is not a whole number of " +
                    tr.name + " blocks (" + std::to_string(tr.block_size) + ")");
    return (size_t)(n / tr.block_size) * tr.block_bytes;
}

std::optional<ggml_type> parse_type_name(const std::string& s) {
    std::string lower = s;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return (char)std::tolower(c); });
    for (const auto& e : table()) {
        std::string n = e.tr.name;
        std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return (char)std::tolower(c); });
        if (n == lower) return e.type;
    }
    return std::nullopt;
}

} // namespace epic
