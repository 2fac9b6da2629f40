// GPT-2's byte <-> code point mapping and strict UTF-8 scanning.
#include "tokenizer/bpe_unicode.h"

#include "core/utf8.h"

#include <array>

namespace epic::bpe {
namespace {

// Bytes that stand for themselves: '!'..'~', '¡'..'¬', '®'..'ÿ'. The rest are renumbered from 256
// in byte order, so every byte gets a printable, non-space code point.
constexpr bool is_self_mapped(int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE); }

constexpr std::array<uint32_t, 256> make_byte_table() {
    std::array<uint32_t, 256> t{};
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) t[(size_t)b] = is_self_mapped(b) ? (uint32_t)b : next++;
    return t;
}

constexpr std::array<uint32_t, 256> byte_table = make_byte_table();
static_assert(byte_table[' '] == 0x120 && byte_table['\n'] == 0x10A && byte_table[0xAD] == 0x143,
              "GPT-2 maps space to U+0120 'Ġ', newline to U+010A 'Ċ', and the last byte (0xAD) to U+0143");

} // namespace

uint32_t byte_to_codepoint(uint8_t b) { return byte_table[b]; }

int codepoint_to_byte(uint32_t cp) {
    if (cp < 256) return is_self_mapped((int)cp) ? (int)cp : -1;
    if (cp > 0x143) return -1;
    // U+0100.. are the non-self-mapped bytes in order: find the (cp - 256)-th of them.
    for (int b = 0; b < 256; ++b)
        if (byte_table[(size_t)b] == cp) return b;
    return -1;
}

std::string codepoint_to_utf8(uint32_t cp) {
    std::string s;
    append_utf8(s, cp);
    return s;
}

std::string bytes_to_mapped(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes) out += codepoint_to_utf8(byte_table[(uint8_t)c]);
    return out;
}

std::string mapped_to_bytes(std::string_view mapped) {
    std::string out;
    out.reserve(mapped.size());
    for (size_t i = 0; i < mapped.size();) {
        const size_t n = utf8_valid_length(mapped, i);
        if (n == 0) {
            out.push_back(mapped[i++]);
            continue;
        }
        const int b = codepoint_to_byte(utf8_decode(mapped, i, n));
        if (b >= 0) out.push_back((char)b);
        else out.append(mapped.substr(i, n));
        i += n;
    }
    return out;
}

size_t utf8_valid_length(std::string_view s, size_t i) {
    const auto at = [&](size_t k) { return (uint8_t)s[k]; };
    const auto cont = [&](size_t k) { return k < s.size() && (at(k) & 0xC0) == 0x80; };
    const uint8_t c = at(i);
    if (c < 0x80) return 1;
    if (c < 0xC2) return 0; // continuation byte, or an overlong 2-byte lead (C0, C1)
    if (c < 0xE0) return cont(i + 1) ? 2 : 0;
    if (c < 0xF0) {
        if (!cont(i + 1) || !cont(i + 2)) return 0;
        const uint8_t c1 = at(i + 1);
        if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
        if (c == 0xED && c1 >= 0xA0) return 0; // UTF-16 surrogates D800..DFFF
        return 3;
    }
    if (c < 0xF5) {
        if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
        const uint8_t c1 = at(i + 1);
        if (c == 0xF0 && c1 < 0x90) return 0;  // overlong
        if (c == 0xF4 && c1 >= 0x90) return 0; // beyond U+10FFFF
        return 4;
    }
    return 0;
}

uint32_t utf8_decode(std::string_view s, size_t i, size_t n) {
    const auto b = [&](size_t k) { return (uint32_t)(uint8_t)s[i + k]; };
    switch (n) {
    case 1: return b(0);
    case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
    }
}

} // namespace epic::bpe
