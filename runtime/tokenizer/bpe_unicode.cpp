// GPT-2's byte <-> code point mapping and strict UTF-8 scanning.
#include "tokenizer/bpe_unicode.h"

#include "common/utf8.h"

#include <array>
#include <stdexcept>

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

namespace {

// What llama.cpp's Unicode 15.1 tables add to PCRE2 10.42's Unicode 14 categories (found by
// comparing the two over every code point: additions only). With a newer PCRE2 they are already
// in \p{..}, and repeating them in a class changes nothing.
struct category_delta {
    const char* name;  // as written in the expressions
    const char* added; // class members, no brackets
};
constexpr category_delta deltas[] = {
    {"\\p{L}", R"(\x{1123F}-\x{11240}\x{11F02}\x{11F04}-\x{11F10}\x{11F12}-\x{11F33}\x{1342F}\x{13441}-\x{13446})"
               R"(\x{1B132}\x{1B155}\x{1DF25}-\x{1DF2A}\x{1E030}-\x{1E06D}\x{1E4D0}-\x{1E4EB}\x{2B739}\x{2EBF0}-\x{2EE5D})"
               R"(\x{31350}-\x{323AF})"},
    {"\\p{N}", R"(\x{11F50}-\x{11F59}\x{1D2C0}-\x{1D2D3}\x{1E4F0}-\x{1E4F9})"},
    {"\\p{P}", R"(\x{11B00}-\x{11B09}\x{11F43}-\x{11F4F})"},
    {"\\p{S}", R"(\x{2FFC}-\x{2FFF}\x{31EF}\x{1F6DC}\x{1F774}-\x{1F776}\x{1F77B}-\x{1F77F}\x{1F7D9}\x{1FA75}-\x{1FA77})"
               R"(\x{1FA87}-\x{1FA88}\x{1FAAD}-\x{1FAAF}\x{1FABB}-\x{1FABD}\x{1FABF}\x{1FACE}-\x{1FACF}\x{1FADA}-\x{1FADB})"
               R"(\x{1FAE8}\x{1FAF7}-\x{1FAF8})"},
    {"\\p{M}", R"(\x{0CF3}\x{0ECE}\x{10EFD}-\x{10EFF}\x{11241}\x{11F00}-\x{11F01}\x{11F03}\x{11F34}-\x{11F3A})"
               R"(\x{11F3E}-\x{11F42}\x{13440}\x{13447}-\x{13455}\x{1E08F}\x{1E4EC}-\x{1E4EF})"},
};
// llama.cpp's whitespace (unicode_set_whitespace): Unicode White_Space, without U+180E.
constexpr const char* whitespace = R"(\t\n\x{0B}\f\r\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";

} // namespace

std::string llama_unicode_classes(std::string_view expr) {
    // llama.cpp matches expressions with \p{..} on text whose ASCII characters stand for themselves
    // and its table of ASCII symbols ($+<=>^`|) lacks '~': there '~' is not \p{S}. A class holding
    // \p{S} is wrapped so that '~' gets llama.cpp's answer: (?:(?!~)[..]) or, negated, (?:~|[^..]).
    std::string out;
    bool in_class = false, negated = false, has_symbol = false;
    size_t class_start = 0;
    for (size_t i = 0; i < expr.size();) {
        const char c = expr[i];
        if (c != '\\' || i + 1 >= expr.size()) {
            if (c == '[' && !in_class) {
                in_class = true;
                negated = i + 1 < expr.size() && expr[i + 1] == '^';
                has_symbol = false;
                class_start = out.size();
                out += c;
            } else if (c == ']' && in_class) {
                in_class = false;
                out += c;
                if (has_symbol) {
                    out.insert(class_start, negated ? "(?:~|" : "(?:(?!~)");
                    out += ')';
                }
            } else {
                out += c;
            }
            ++i;
            continue;
        }
        const char e = expr[i + 1];
        if (e == 's' || e == 'S') {
            if (e == 'S' && in_class) throw std::invalid_argument("\\S inside a character class");
            out += in_class ? std::string(whitespace) : std::string(e == 's' ? "[" : "[^") + whitespace + "]";
            i += 2;
            continue;
        }
        if (e == 'p' || e == 'P') {
            const size_t close = expr.find('}', i);
            const std::string_view name = expr.substr(i, close == std::string_view::npos ? 2 : close + 1 - i);
            const category_delta* d = nullptr;
            for (const auto& x : deltas)
                if (name == x.name) d = &x;
            if (!d) throw std::invalid_argument("Unicode class " + std::string(name));
            const bool symbol = name == "\\p{S}";
            if (in_class) {
                out += std::string(d->name) + d->added;
                has_symbol = has_symbol || symbol;
            } else {
                out += std::string(symbol ? "(?:(?!~)[" : "[") + d->name + d->added + (symbol ? "])" : "]");
            }
            i += name.size();
            continue;
        }
        out.append(expr.substr(i, 2)); // any other escape, kept as written (\r, \x{..}, \[, \\ ...)
        i += 2;
    }
    return out;
}

} // namespace epic::bpe
