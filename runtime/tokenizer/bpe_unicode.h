#pragma once
// UTF-8 and GPT-2 byte-level helpers for the byte-level BPE tokenizer.
//
// Byte-level BPE vocabularies (GPT-2, Llama 3, Qwen, DeepSeek, SmolLM) never store raw bytes: every
// byte is first replaced by a printable code point (GPT-2's bytes_to_unicode: the printable Latin-1
// bytes stand for themselves, the other 68 bytes -- controls, space, DEL, NBSP, soft hyphen -- map
// in byte order to U+0100..U+0143), and tokens and merges are written in that alphabet. So 'Ġ'
// (U+0120) in a token is a space, 'Ċ' (U+010A) a newline.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace epic::bpe {

// The code point GPT-2's mapping gives byte b.
uint32_t byte_to_codepoint(uint8_t b);
// The byte a code point stands for, or -1 when the code point is not in the mapping.
int codepoint_to_byte(uint32_t cp);
// UTF-8 encoding of one code point (cp <= 0x10FFFF).
std::string codepoint_to_utf8(uint32_t cp);
// The mapped text of raw bytes: each byte becomes the UTF-8 of byte_to_codepoint(byte).
std::string bytes_to_mapped(std::string_view bytes);
// The raw bytes behind mapped text; code points outside the mapping are kept as their UTF-8 (the
// text of user-defined tokens, or a malformed vocabulary) and invalid UTF-8 is copied as is.
std::string mapped_to_bytes(std::string_view mapped);

// A pre-tokenizer expression with its Unicode classes made llama.cpp's: \p{L}, \p{N}, \p{P}, \p{S},
// \p{M}, \s and \S are rewritten as classes that match exactly what llama.cpp's tables
// (src/unicode-data.cpp, Unicode 15.1) put in those categories, whatever Unicode version the system
// PCRE2 was built with (10.42: Unicode 14, which lacks CJK Extension H, Kawi, new symbols...; and
// its \s also takes U+180E, which Unicode no longer calls a space), and '~' is no \p{S} (a gap in
// llama.cpp's ASCII table that DeepSeek V3's expression meets). Throws std::invalid_argument
// for a class this rewriting does not know (\p{..} other than those five, \S inside brackets).
std::string llama_unicode_classes(std::string_view expr);

// Length (1-4) of the well-formed UTF-8 sequence starting at s[i], or 0 when the byte there does
// not start one (stray continuation byte, overlong form, surrogate, beyond U+10FFFF, truncated).
// "Well-formed" is exactly what PCRE2's UTF mode accepts.
size_t utf8_valid_length(std::string_view s, size_t i);
// Decodes the well-formed sequence of length n at s[i].
uint32_t utf8_decode(std::string_view s, size_t i, size_t n);

} // namespace epic::bpe
