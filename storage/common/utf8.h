#pragma once
// UTF-8: encoding one code point (every layer's single copy: HTML entities, the tokenizers, JSON),
// validation and repair. Extracted text and user questions go into SQLite and FTS5, which expect
// valid UTF-8; bad input is repaired, never fatal.
#include <cstdint>
#include <string>
#include <string_view>

namespace epic {

// Appends the UTF-8 bytes of code point cp. A surrogate or a value above U+10FFFF, which UTF-8
// cannot carry, becomes U+FFFD.
void append_utf8(std::string& out, std::uint32_t cp);

} // namespace epic

namespace epic::storage {

bool is_valid_utf8(std::string_view text);

// Replaces every ill-formed sequence (bad lead byte, truncated or overlong sequence, surrogate,
// code point above U+10FFFF) by U+FFFD, one per maximal ill-formed subpart (as the Unicode standard
// recommends), and drops NUL bytes. Valid input is returned unchanged.
std::string repair_utf8(std::string_view text);

} // namespace epic::storage
