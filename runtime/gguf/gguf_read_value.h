#pragma once
// Internal to runtime/gguf: reads one metadata value of a given type from untrusted bytes.
#include "gguf/gguf_cursor.h"
#include "gguf/gguf_value.h"

#include <cstdint>

namespace epic::gguf_detail {

// Arrays may nest (arrays of arrays); deeper than this is treated as a hostile file, which also
// bounds the parser's recursion.
inline constexpr int max_array_depth = 8;

// Every parsed value costs sizeof(gguf_value) (104 bytes) of memory, far more than its 1..8 bytes in
// the file, so the total number of metadata values is capped as well (worst case ~440 MB). Real files
// hold well under a million (Gemma 3's 262k tokens, scores and types: ~790k; Llama 3 with merges:
// ~540k); the cap leaves a 5x margin.
inline constexpr uint64_t max_metadata_values = uint64_t(1) << 22;

// Reads a value of `type` at the cursor. `budget` is the number of values still allowed; it is
// decremented for every value read (array items included). Throws epic::error on any malformation.
gguf_value read_value(cursor& c, gguf_type type, int depth, uint64_t& budget);

} // namespace epic::gguf_detail
