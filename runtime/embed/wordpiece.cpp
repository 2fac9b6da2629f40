// wordpiece_tokenizer: reading a Hugging Face tokenizer.json and BERT's normalizer, pre-tokenizer and
// WordPiece as HF tokenizers runs them (see wordpiece.h).
#include "embed/wordpiece.h"

#include "common/error.h"
#include "core/json.h"
#include "common/utf8.h"

#include <utf8proc.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>
#include <stdexcept>

namespace epic {
namespace {

// Where HF's BERT steps and utf8proc (2.8, Unicode 15.0) classify a code point differently.
// HF takes categories from the crate unicode_categories (Unicode 8.0 tables) and NFD from
// unicode-normalization-alignments (tables of a similar age): a character assigned since is
// "unassigned" (Cn) to them, so it is kept as it is -- not dropped as a control or mark, not
// decomposed, not split off as punctuation (kind other); U+1734 was still Mn then (mark), U+166D and U+111C9 Po (punct). Its lowercasing is Rust's
// char::to_lowercase, which already knows Unicode 16's new capitals that utf8proc 2.8 does not
// (lower: add delta). Found by running every code point through both; the code point sweep in
// tests/data/embed/wordpiece_expectations.json keeps checking it, so a newer utf8proc that changes
// the picture fails embed_wordpiece_test at the code points concerned.
enum class hf_kind : uint8_t { other, mark, punct, lower };
struct hf_exception {
    char32_t first, last; // inclusive
    hf_kind kind;
    int32_t lower_delta;  // kind lower: the lowercase is the code point + delta
};
constexpr hf_exception hf_exceptions[] = {
    {0x0061D, 0x0061D, hf_kind::other, 0}, {0x007FD, 0x007FD, hf_kind::other, 0},
    {0x00890, 0x00891, hf_kind::other, 0}, {0x00898, 0x0089F, hf_kind::other, 0},
    {0x008CA, 0x008E2, hf_kind::other, 0}, {0x009FD, 0x009FE, hf_kind::other, 0},
    {0x00A76, 0x00A76, hf_kind::other, 0}, {0x00AFA, 0x00AFF, hf_kind::other, 0},
    {0x00B55, 0x00B55, hf_kind::other, 0}, {0x00C04, 0x00C04, hf_kind::other, 0},
    {0x00C3C, 0x00C3C, hf_kind::other, 0}, {0x00C77, 0x00C77, hf_kind::other, 0},
    {0x00C84, 0x00C84, hf_kind::other, 0}, {0x00D00, 0x00D00, hf_kind::other, 0},
    {0x00D3B, 0x00D3C, hf_kind::other, 0}, {0x00D81, 0x00D81, hf_kind::other, 0},
    {0x00EBA, 0x00EBA, hf_kind::other, 0}, {0x00ECE, 0x00ECE, hf_kind::other, 0},
    {0x0166D, 0x0166D, hf_kind::punct, 0}, {0x01734, 0x01734, hf_kind::mark, 0},
    {0x0180F, 0x0180F, hf_kind::other, 0}, {0x01885, 0x01886, hf_kind::other, 0},
    {0x01ABF, 0x01ACE, hf_kind::other, 0}, {0x01B7D, 0x01B7E, hf_kind::other, 0},
    {0x01C89, 0x01C89, hf_kind::lower, 1}, {0x01DF6, 0x01DFB, hf_kind::other, 0},
    {0x02E43, 0x02E4F, hf_kind::other, 0}, {0x02E52, 0x02E5D, hf_kind::other, 0},
    {0x0A7CB, 0x0A7CB, hf_kind::lower, -42343}, {0x0A7CC, 0x0A7CC, hf_kind::lower, 1},
    {0x0A7CE, 0x0A7CE, hf_kind::lower, 1}, {0x0A7D2, 0x0A7D2, hf_kind::lower, 1},
    {0x0A7D4, 0x0A7D4, hf_kind::lower, 1}, {0x0A7DA, 0x0A7DA, hf_kind::lower, 1},
    {0x0A7DC, 0x0A7DC, hf_kind::lower, -42561}, {0x0A82C, 0x0A82C, hf_kind::other, 0},
    {0x0A8C5, 0x0A8C5, hf_kind::other, 0}, {0x0A8FF, 0x0A8FF, hf_kind::other, 0},
    {0x0A9BD, 0x0A9BD, hf_kind::other, 0}, {0x10D24, 0x10D27, hf_kind::other, 0},
    {0x10D50, 0x10D65, hf_kind::lower, 32}, {0x10EAB, 0x10EAD, hf_kind::other, 0},
    {0x10EFD, 0x10EFF, hf_kind::other, 0}, {0x10F46, 0x10F50, hf_kind::other, 0},
    {0x10F55, 0x10F59, hf_kind::other, 0}, {0x10F82, 0x10F89, hf_kind::other, 0},
    {0x11070, 0x11070, hf_kind::other, 0}, {0x11073, 0x11074, hf_kind::other, 0},
    {0x110C2, 0x110C2, hf_kind::other, 0}, {0x110CD, 0x110CD, hf_kind::other, 0},
    {0x111C9, 0x111C9, hf_kind::punct, 0}, {0x111CF, 0x111CF, hf_kind::other, 0},
    {0x1123E, 0x1123E, hf_kind::other, 0}, {0x11241, 0x11241, hf_kind::other, 0},
    {0x1133B, 0x1133B, hf_kind::other, 0}, {0x11438, 0x1143F, hf_kind::other, 0},
    {0x11442, 0x11444, hf_kind::other, 0}, {0x11446, 0x11446, hf_kind::other, 0},
    {0x1144B, 0x1144F, hf_kind::other, 0}, {0x1145A, 0x1145B, hf_kind::other, 0},
    {0x1145D, 0x1145E, hf_kind::other, 0}, {0x11660, 0x1166C, hf_kind::other, 0},
    {0x116B9, 0x116B9, hf_kind::other, 0}, {0x1182F, 0x11837, hf_kind::other, 0},
    {0x11839, 0x1183B, hf_kind::other, 0}, {0x11938, 0x11938, hf_kind::other, 0},
    {0x1193B, 0x1193C, hf_kind::other, 0}, {0x1193E, 0x1193E, hf_kind::other, 0},
    {0x11943, 0x11946, hf_kind::other, 0}, {0x119D4, 0x119D7, hf_kind::other, 0},
    {0x119DA, 0x119DB, hf_kind::other, 0}, {0x119E0, 0x119E0, hf_kind::other, 0},
    {0x119E2, 0x119E2, hf_kind::other, 0}, {0x11A01, 0x11A0A, hf_kind::other, 0},
    {0x11A33, 0x11A38, hf_kind::other, 0}, {0x11A3B, 0x11A47, hf_kind::other, 0},
    {0x11A51, 0x11A56, hf_kind::other, 0}, {0x11A59, 0x11A5B, hf_kind::other, 0},
    {0x11A8A, 0x11A96, hf_kind::other, 0}, {0x11A98, 0x11A9C, hf_kind::other, 0},
    {0x11A9E, 0x11AA2, hf_kind::other, 0}, {0x11B00, 0x11B09, hf_kind::other, 0},
    {0x11C30, 0x11C36, hf_kind::other, 0}, {0x11C38, 0x11C3D, hf_kind::other, 0},
    {0x11C3F, 0x11C3F, hf_kind::other, 0}, {0x11C41, 0x11C45, hf_kind::other, 0},
    {0x11C70, 0x11C71, hf_kind::other, 0}, {0x11C92, 0x11CA7, hf_kind::other, 0},
    {0x11CAA, 0x11CB0, hf_kind::other, 0}, {0x11CB2, 0x11CB3, hf_kind::other, 0},
    {0x11CB5, 0x11CB6, hf_kind::other, 0}, {0x11D31, 0x11D36, hf_kind::other, 0},
    {0x11D3A, 0x11D3A, hf_kind::other, 0}, {0x11D3C, 0x11D3D, hf_kind::other, 0},
    {0x11D3F, 0x11D45, hf_kind::other, 0}, {0x11D47, 0x11D47, hf_kind::other, 0},
    {0x11D90, 0x11D91, hf_kind::other, 0}, {0x11D95, 0x11D95, hf_kind::other, 0},
    {0x11D97, 0x11D97, hf_kind::other, 0}, {0x11EF3, 0x11EF4, hf_kind::other, 0},
    {0x11EF7, 0x11EF8, hf_kind::other, 0}, {0x11F00, 0x11F01, hf_kind::other, 0},
    {0x11F36, 0x11F3A, hf_kind::other, 0}, {0x11F40, 0x11F40, hf_kind::other, 0},
    {0x11F42, 0x11F4F, hf_kind::other, 0}, {0x11FFF, 0x11FFF, hf_kind::other, 0},
    {0x12FF1, 0x12FF2, hf_kind::other, 0}, {0x13430, 0x13440, hf_kind::other, 0},
    {0x13447, 0x13455, hf_kind::other, 0}, {0x16E97, 0x16E9A, hf_kind::other, 0},
    {0x16EA0, 0x16EB8, hf_kind::lower, 27}, {0x16F4F, 0x16F4F, hf_kind::other, 0},
    {0x16FE2, 0x16FE2, hf_kind::other, 0}, {0x16FE4, 0x16FE4, hf_kind::other, 0},
    {0x1CF00, 0x1CF2D, hf_kind::other, 0}, {0x1CF30, 0x1CF46, hf_kind::other, 0},
    {0x1E000, 0x1E006, hf_kind::other, 0}, {0x1E008, 0x1E018, hf_kind::other, 0},
    {0x1E01B, 0x1E021, hf_kind::other, 0}, {0x1E023, 0x1E024, hf_kind::other, 0},
    {0x1E026, 0x1E02A, hf_kind::other, 0}, {0x1E08F, 0x1E08F, hf_kind::other, 0},
    {0x1E130, 0x1E136, hf_kind::other, 0}, {0x1E2AE, 0x1E2AE, hf_kind::other, 0},
    {0x1E2EC, 0x1E2EF, hf_kind::other, 0}, {0x1E4EC, 0x1E4EF, hf_kind::other, 0},
    {0x1E944, 0x1E94A, hf_kind::other, 0}, {0x1E95E, 0x1E95F, hf_kind::other, 0},
};

constexpr bool sorted_and_disjoint() {
    for (size_t i = 0; i < std::size(hf_exceptions); ++i) {
        if (hf_exceptions[i].first > hf_exceptions[i].last) return false;
        if (i > 0 && hf_exceptions[i - 1].last >= hf_exceptions[i].first) return false;
    }
    return true;
}
static_assert(sorted_and_disjoint(), "hf_exceptions must be sorted by code point, ranges disjoint");

const hf_exception* find_exception(char32_t cp) {
    if (cp < hf_exceptions[0].first) return nullptr; // everything below U+061D: no lookup
    const auto* it = std::upper_bound(std::begin(hf_exceptions), std::end(hf_exceptions), cp,
                                      [](char32_t c, const hf_exception& e) { return c < e.first; });
    --it;
    return cp <= it->last ? it : nullptr;
}

utf8proc_category_t category(char32_t cp) { return utf8proc_category(static_cast<utf8proc_int32_t>(cp)); }

// HF's is_control for clean text: unicode_categories' is_other() -- Cc, Cf, Cs, Co, but not Cn, so
// unassigned code points stay -- except \t \n \r, which are whitespace.
bool is_control(char32_t cp) {
    if (cp == '\t' || cp == '\n' || cp == '\r') return false;
    if (cp >= 0x20 && cp < 0x7F) return false;
    if (find_exception(cp)) return false; // none of them is a control to HF
    switch (category(cp)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO: return true;
    default: return false;
    }
}

// Rust's char::is_whitespace (the White_Space property, current Unicode): \t..\r, space, U+0085,
// and the categories Zs, Zl, Zp. Both clean text and the pre-tokenizer use it.
bool is_whitespace(char32_t cp) {
    if (cp == ' ' || (cp >= '\t' && cp <= '\r')) return true;
    if (cp < 0x80) return false;
    if (cp == 0x85) return true;
    const utf8proc_category_t c = category(cp);
    return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

// HF's is_chinese_char. The Extension C..E range starts at U+2B920 there, not U+2B820 as in Google's
// original BERT (U+2B820..U+2B91F get no spaces from HF, so none here).
bool is_chinese(char32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
           (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// A non-spacing mark (Mn), which accent stripping drops.
bool is_mark(char32_t cp) {
    if (cp < 0x300) return false;
    if (const hf_exception* e = find_exception(cp)) return e->kind == hf_kind::mark;
    return category(cp) == UTF8PROC_CATEGORY_MN;
}

// HF's is_bert_punc: ASCII punctuation (which takes in $ + < = > ^ ` | ~, symbols to Unicode) or a
// P* category.
bool is_punctuation(char32_t cp) {
    if (cp < 0x80)
        return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
    if (const hf_exception* e = find_exception(cp)) return e->kind == hf_kind::punct;
    const utf8proc_category_t c = category(cp);
    return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

int combining_class(char32_t cp) {
    if (cp < 0x300 || find_exception(cp)) return 0; // unassigned to HF: class 0
    return utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->combining_class;
}

// Appends the lowercase of cp as char::to_lowercase gives it.
void append_lower(std::u32string& out, char32_t cp) {
    if (cp < 0x80) {
        out.push_back(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
    } else if (cp == 0x130) { // the one unconditional multi-character lowercase: İ -> i + COMBINING DOT ABOVE
        out.push_back(U'i');
        out.push_back(0x307);
    } else if (const hf_exception* e = find_exception(cp); e && e->kind == hf_kind::lower) {
        out.push_back(static_cast<char32_t>(static_cast<int32_t>(cp) + e->lower_delta));
    } else {
        out.push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
    }
}

// UTF-8 to code points, each byte that does not start a well-formed sequence read as U+FFFD
// (utf8proc_iterate refuses overlong forms, surrogates, values past U+10FFFF and truncations).
std::u32string decode(std::string_view s) {
    std::u32string out;
    out.reserve(s.size());
    const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
    for (size_t i = 0; i < s.size();) {
        if (p[i] < 0x80) {
            out.push_back(p[i++]);
            continue;
        }
        utf8proc_int32_t cp = 0;
        const utf8proc_ssize_t n = utf8proc_iterate(p + i, static_cast<utf8proc_ssize_t>(s.size() - i), &cp);
        if (n > 0) {
            out.push_back(static_cast<char32_t>(cp));
            i += static_cast<size_t>(n);
        } else {
            out.push_back(0xFFFD);
            ++i;
        }
    }
    return out;
}

std::string to_utf8(const char32_t* begin, const char32_t* end) {
    std::string out;
    out.reserve(static_cast<size_t>(end - begin));
    for (const char32_t* p = begin; p != end; ++p) append_utf8(out, *p);
    return out;
}

// NFD with the non-spacing marks dropped: HF's strip_accents.
std::u32string strip_accents(const std::u32string& in) {
    std::u32string out;
    out.reserve(in.size());
    std::vector<utf8proc_int32_t> buf(4); // canonical decompositions are short; grown if utf8proc asks
    bool reorder = false;
    for (const char32_t cp : in) {
        if (cp < 0xC0 || find_exception(cp)) { // nothing below U+00C0 decomposes; HF cannot decompose these
            if (!is_mark(cp)) out.push_back(cp);
            continue;
        }
        int boundclass = 0;
        const auto decompose = [&] {
            return utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buf.data(),
                                           static_cast<utf8proc_ssize_t>(buf.size()), UTF8PROC_DECOMPOSE, &boundclass);
        };
        utf8proc_ssize_t n = decompose();
        if (n > static_cast<utf8proc_ssize_t>(buf.size())) {
            buf.resize(static_cast<size_t>(n));
            n = decompose();
        }
        if (n <= 0) { // not expected for a Unicode scalar value; keep the character
            if (!is_mark(cp)) out.push_back(cp);
            continue;
        }
        for (utf8proc_ssize_t k = 0; k < n; ++k) {
            const auto d = static_cast<char32_t>(buf[static_cast<size_t>(k)]);
            if (is_mark(d)) continue;
            reorder = reorder || combining_class(d) != 0;
            out.push_back(d);
        }
    }
    // NFD's canonical ordering: each run of characters with a non-zero combining class sorted by
    // class, stably. A few such characters are not Mn (U+1D165 MUSICAL SYMBOL COMBINING STEM is Mc,
    // class 216) and survive. Sorting the survivors alone gives the order sorting before the drop
    // would, since a stable sort keeps any subset in its relative order.
    if (reorder) {
        for (size_t i = 0; i < out.size();) {
            if (combining_class(out[i]) == 0) {
                ++i;
                continue;
            }
            size_t j = i;
            while (j < out.size() && combining_class(out[j]) != 0) ++j;
            std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(i), out.begin() + static_cast<std::ptrdiff_t>(j),
                             [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
            i = j;
        }
    }
    return out;
}

[[noreturn]] void fail(const std::string& name, const std::string& what) { throw error(name + ": " + what); }

// obj[key] as a string, "" when the key is absent or null; fails for another type.
std::string optional_string(const json& obj, const std::string& key, const std::string& name, const std::string& where) {
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return {};
    if (!it->is_string()) fail(name, where + "." + key + " is not a string");
    return it->get<std::string>();
}

// obj[key] as a boolean, `absent` when the key is absent; null gives `null_value`.
bool optional_bool(const json& obj, const std::string& key, bool absent, bool null_value, const std::string& name,
                   const std::string& where) {
    const auto it = obj.find(key);
    if (it == obj.end()) return absent;
    if (it->is_null()) return null_value;
    if (!it->is_boolean()) fail(name, where + "." + key + " is not true, false or null");
    return it->get<bool>();
}

const json& member(const json& obj, const std::string& key, json::value_t type, const char* type_name,
                   const std::string& name, const std::string& where) {
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) fail(name, where + "." + key + " is missing");
    if (it->type() != type) fail(name, where + "." + key + " is not " + type_name);
    return *it;
}

// A JSON number that is a whole number in [0, limit), or -1: the test on the double also refuses
// 3.5, negatives and integers too large for any vocabulary (which round, but stay >= limit).
int64_t whole_below(const json& v, double limit) {
    const double d = v.is_number() ? v.get<double>() : -1.0;
    return d >= 0 && d < limit && d == std::floor(d) ? static_cast<int64_t>(d) : -1;
}

} // namespace

wordpiece_tokenizer::wordpiece_tokenizer(std::vector<std::string> pieces, wordpiece_options options, std::string name)
    : name_(std::move(name)), options_(std::move(options)), pieces_(std::move(pieces)) {
    if (pieces_.empty()) fail(name_, "the vocabulary is empty");
    if (pieces_.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) fail(name_, "the vocabulary is too large");
    ids_.reserve(pieces_.size());
    for (size_t id = 0; id < pieces_.size(); ++id) {
        if (pieces_[id].empty()) fail(name_, "token " + std::to_string(id) + " is empty");
        const auto [it, fresh] = ids_.emplace(pieces_[id], static_cast<int32_t>(id));
        if (!fresh)
            fail(name_, "token \"" + pieces_[id] + "\" appears twice (ids " + std::to_string(it->second) + " and " +
                            std::to_string(id) + ")");
    }
    const auto special = [&](const std::string& text, const char* role) {
        const int32_t id = find_piece(text);
        if (id < 0) fail(name_, std::string(role) + " \"" + text + "\" is not in the vocabulary");
        return id;
    };
    unk_ = special(options_.unk_token, "the unknown token");
    cls_ = special(options_.cls_token, "the classifier token");
    sep_ = special(options_.sep_token, "the separator token");
    pad_ = special(options_.pad_token, "the padding token");
}

wordpiece_tokenizer wordpiece_tokenizer::from_file(const std::filesystem::path& tokenizer_json) {
    const std::string name = tokenizer_json.string();
    const json root = parse_json_file(name); // its errors name the file and say "not valid JSON"
    if (!root.is_object()) fail(name, "not a JSON object");

    const json& model = member(root, "model", json::value_t::object, "an object", name, "tokenizer");
    const std::string type = optional_string(model, "type", name, "model");
    if (type != "WordPiece")
        fail(name, "model.type is \"" + type + "\", not \"WordPiece\" (this reader handles BERT WordPiece tokenizers only)");

    wordpiece_options options;
    options.unk_token = optional_string(model, "unk_token", name, "model");
    if (options.unk_token.empty()) fail(name, "model.unk_token is missing");
    if (model.contains("continuing_subword_prefix"))
        options.continuing_subword_prefix = optional_string(model, "continuing_subword_prefix", name, "model");
    if (const auto it = model.find("max_input_chars_per_word"); it != model.end() && !it->is_null()) {
        const int64_t v = whole_below(*it, 0x1p53); // any count a double holds exactly
        if (v < 0) fail(name, "model.max_input_chars_per_word is not a count");
        options.max_input_chars_per_word = static_cast<size_t>(v);
    }

    // The normalizer and pre-tokenizer decide the words; another pipeline would silently give other ids.
    const json& norm = member(root, "normalizer", json::value_t::object, "an object", name, "tokenizer");
    if (optional_string(norm, "type", name, "normalizer") != "BertNormalizer")
        fail(name, "normalizer.type is \"" + optional_string(norm, "type", name, "normalizer") +
                       "\", not \"BertNormalizer\"");
    options.clean_text = optional_bool(norm, "clean_text", true, true, name, "normalizer");
    options.handle_chinese_chars = optional_bool(norm, "handle_chinese_chars", true, true, name, "normalizer");
    options.lowercase = optional_bool(norm, "lowercase", true, true, name, "normalizer");
    options.strip_accents = optional_bool(norm, "strip_accents", options.lowercase, options.lowercase, name, "normalizer");
    const json& pre = member(root, "pre_tokenizer", json::value_t::object, "an object", name, "tokenizer");
    if (optional_string(pre, "type", name, "pre_tokenizer") != "BertPreTokenizer")
        fail(name, "pre_tokenizer.type is \"" + optional_string(pre, "type", name, "pre_tokenizer") +
                       "\", not \"BertPreTokenizer\"");

    // The post-processor names the tokens around a single text; padding names the pad token.
    if (const auto it = root.find("post_processor"); it != root.end() && it->is_object()) {
        const json& post = *it;
        const std::string post_type = optional_string(post, "type", name, "post_processor");
        if (post_type == "TemplateProcessing") {
            // "single": [{"SpecialToken": {"id": "[CLS]"}}, {"Sequence": {"id": "A"}}, {"SpecialToken": {"id": "[SEP]"}}]
            const json& single = member(post, "single", json::value_t::array, "an array", name, "post_processor");
            const auto special_at = [&](size_t i) -> const std::string* {
                if (i >= single.size()) return nullptr;
                const auto s = single[i].find("SpecialToken"); // find: end() on a non-object
                if (s == single[i].end()) return nullptr;
                const auto id = s->find("id");
                return id != s->end() && id->is_string() ? id->get_ptr<const std::string*>() : nullptr;
            };
            const std::string* cls = special_at(0);
            const std::string* sep = special_at(2);
            if (single.size() != 3 || !cls || !sep || !single[1].contains("Sequence"))
                fail(name, "post_processor.single is not [CLS] $A [SEP] (a special token, the text, a special token)");
            options.cls_token = *cls;
            options.sep_token = *sep;
        } else if (post_type == "BertProcessing") {
            for (const auto& [key, target] : {std::pair{"cls", &options.cls_token}, std::pair{"sep", &options.sep_token}}) {
                const json& pair = member(post, key, json::value_t::array, "an array", name, "post_processor");
                if (pair.empty() || !pair[0].is_string())
                    fail(name, std::string("post_processor.") + key + " does not start with the token text");
                *target = pair[0].get<std::string>();
            }
        }
    }
    if (const auto it = root.find("padding"); it != root.end() && it->is_object()) {
        const std::string pad = optional_string(*it, "pad_token", name, "padding");
        if (!pad.empty()) options.pad_token = pad;
    }

    // model.vocab: {"piece": id, ...}, ids 0..n-1 each exactly once.
    const json& vocab = member(model, "vocab", json::value_t::object, "an object", name, "model");
    if (vocab.empty()) fail(name, "model.vocab is empty");
    std::vector<std::string> pieces(vocab.size());
    std::vector<bool> seen(vocab.size(), false);
    for (const auto& [text, id_value] : vocab.items()) {
        const int64_t v = whole_below(id_value, static_cast<double>(pieces.size()));
        if (v < 0)
            fail(name, "model.vocab[\"" + text + "\"] is not an id in 0.." + std::to_string(pieces.size() - 1) +
                           " (the vocabulary's " + std::to_string(pieces.size()) + " ids must be 0..n-1, each once)");
        const auto id = static_cast<size_t>(v);
        if (seen[id]) fail(name, "model.vocab gives id " + std::to_string(id) + " to \"" + pieces[id] + "\" and \"" + text + "\"");
        seen[id] = true;
        pieces[id] = text;
    }
    return wordpiece_tokenizer(std::move(pieces), std::move(options), name);
}

int32_t wordpiece_tokenizer::find_piece(std::string_view text) const {
    const auto it = ids_.find(text);
    return it == ids_.end() ? -1 : it->second;
}

std::u32string wordpiece_tokenizer::normalize_code_points(std::string_view utf8) const {
    const std::u32string input = decode(utf8);
    std::u32string text;
    text.reserve(input.size());
    for (const char32_t cp : input) {
        if (options_.clean_text) {
            if (cp == 0 || cp == 0xFFFD || is_control(cp)) continue;
            if (is_whitespace(cp)) {
                text.push_back(U' ');
                continue;
            }
        }
        if (options_.handle_chinese_chars && cp >= 0x3400 && is_chinese(cp)) {
            text.push_back(U' ');
            text.push_back(cp);
            text.push_back(U' ');
            continue;
        }
        text.push_back(cp);
    }
    // HF strips accents before lowercasing: 'İ' decomposes to I + U+0307 and loses the dot first.
    if (options_.strip_accents) text = strip_accents(text);
    if (options_.lowercase) {
        std::u32string lower;
        lower.reserve(text.size());
        for (const char32_t cp : text) append_lower(lower, cp);
        text = std::move(lower);
    }
    return text;
}

template <class F> void wordpiece_tokenizer::for_each_word(const std::u32string& text, F&& word) const {
    const char32_t* const base = text.data();
    size_t start = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        const char32_t cp = text[i];
        const bool space = is_whitespace(cp);
        if (!space && !is_punctuation(cp)) continue;
        if (i > start && !word(base + start, base + i)) return;
        if (!space && !word(base + i, base + i + 1)) return; // punctuation: a word of its own
        start = i + 1;
    }
    if (start < text.size()) word(base + start, base + text.size());
}

// Buffers encode_word reuses from one word to the next.
struct wordpiece_tokenizer::word_scratch {
    std::string bytes;          // the continuation prefix, then the word's UTF-8
    std::vector<size_t> offset; // [n + 1] where character k of the word starts in bytes; [n] = bytes.size()
};

void wordpiece_tokenizer::encode_word(const char32_t* begin, const char32_t* end, word_scratch& scratch,
                                      std::vector<int32_t>& out) const {
    const auto n = static_cast<size_t>(end - begin);
    if (n > options_.max_input_chars_per_word) {
        out.push_back(unk_);
        return;
    }
    const std::string& prefix = options_.continuing_subword_prefix;
    std::string& bytes = scratch.bytes;
    std::vector<size_t>& offset = scratch.offset;
    bytes.assign(prefix);
    offset.resize(n + 1);
    for (size_t k = 0; k < n; ++k) {
        offset[k] = bytes.size();
        append_utf8(bytes, begin[k]);
    }
    offset[n] = bytes.size();

    // Greedy longest match from the left. A continuation piece is looked up as prefix + text: the
    // prefix is copied in front of the remaining text, over bytes already consumed (the prefix at the
    // start of `bytes` guarantees the room), so no lookup builds a string.
    const size_t first_id = out.size();
    for (size_t start = 0; start < n;) {
        size_t from = offset[start];
        if (start > 0) {
            from -= prefix.size();
            std::memcpy(bytes.data() + from, prefix.data(), prefix.size());
        }
        const std::string_view rest = std::string_view(bytes).substr(from);
        int32_t id = -1;
        size_t stop = n;
        for (; stop > start; --stop) {
            id = find_piece(rest.substr(0, offset[stop] - from));
            if (id >= 0) break;
        }
        if (id < 0) { // some stretch matches no piece: the whole word is unknown
            out.resize(first_id);
            out.push_back(unk_);
            return;
        }
        out.push_back(id);
        start = stop;
    }
}

std::vector<int32_t> wordpiece_tokenizer::encode_limited(std::string_view utf8, size_t limit) const {
    std::vector<int32_t> out;
    if (limit == 0) return out;
    const std::u32string text = normalize_code_points(utf8);
    word_scratch scratch;
    for_each_word(text, [&](const char32_t* b, const char32_t* e) {
        encode_word(b, e, scratch, out);
        return out.size() < limit;
    });
    if (out.size() > limit) out.resize(limit);
    return out;
}

std::vector<int32_t> wordpiece_tokenizer::encode(std::string_view utf8) const {
    return encode_limited(utf8, std::numeric_limits<size_t>::max());
}

std::vector<int32_t> wordpiece_tokenizer::encode_for_model(std::string_view utf8, int max_tokens) const {
    if (max_tokens < 2)
        throw std::invalid_argument("encode_for_model: max_tokens " + std::to_string(max_tokens) +
                                    " leaves no room for [CLS] and [SEP]");
    std::vector<int32_t> ids = encode_limited(utf8, static_cast<size_t>(max_tokens) - 2);
    ids.insert(ids.begin(), cls_);
    ids.push_back(sep_);
    return ids;
}

std::string wordpiece_tokenizer::normalize(std::string_view utf8) const {
    const std::u32string text = normalize_code_points(utf8);
    return to_utf8(text.data(), text.data() + text.size());
}

std::vector<std::string> wordpiece_tokenizer::pre_tokenize(std::string_view utf8) const {
    const std::u32string text = normalize_code_points(utf8);
    std::vector<std::string> words;
    for_each_word(text, [&](const char32_t* b, const char32_t* e) {
        words.push_back(to_utf8(b, e));
        return true;
    });
    return words;
}

} // namespace epic
