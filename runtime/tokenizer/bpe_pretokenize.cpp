// bpe_pretokenizer: llama.cpp's pre-tokenizer expressions (src/llama-vocab.cpp, llm_tokenizer_bpe)
// run through PCRE2.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/bpe_pretokenize.h"

#include "common/error.h"
#include "tokenizer/bpe_unicode.h"

#include <pcre2.h>

#include <stdexcept>
#include <string_view>

namespace epic {
namespace {

// GPT-2's expression, also the core of several others.
constexpr const char* gpt2_expr = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";

// Llama 3's expression (its case-insensitive contractions written out, as llama.cpp does).
constexpr const char* llama3_expr =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Qwen2: Llama 3's with single digits.
constexpr const char* qwen2_expr =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Tekken (Mistral Nemo, Pixtral 12B) as llama.cpp adapts it: tokenizer.json's
//   [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|...
// with "upper-ish" written as a letter that is not a-z and "lower-ish" as a letter that is not A-Z,
// so "camelCase" is "camel" + "Case" and "HELLO" one word; single digits; a run of punctuation takes
// trailing newlines and slashes.
constexpr const char* tekken_expr =
    R"([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Bloom, Poro, GPT-3 Finnish: words with an optional leading space, cut at spaces and sentence
// punctuation (the parentheses and bar are part of the class, as llama.cpp has it).
constexpr const char* bloom_expr = R"( ?[^(\s|.,!?…。，、।۔،)]+)";

// DeepSeek LLM's letter class: the cased letters (Latin, Greek, Cyrillic, Armenian, Georgian,
// Cherokee, Glagolitic, Coptic, Deseret, Osage, Old Hungarian, Warang Citi, Adlam, fullwidth Latin).
// Written as code points because several of them (U+1F7D, U+1FBE, U+1FD3, U+1FDB, U+2126 Ohm,
// U+212A Kelvin) have canonical singleton decompositions and an editor's NFC pass would silently
// turn them into other characters.
constexpr const char* deepseek_letters =
    R"(\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293}\x{295}-\x{2AF})"
    R"(\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A}\x{38C}\x{38E}-\x{3A1})"
    R"(\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556}\x{10A0}-\x{10C5}\x{13A0}-\x{13F5})"
    R"(\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF}\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A})"
    R"(\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D}\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B})"
    R"(\x{1F5D}\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6}-\x{1FCC})"
    R"(\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4}\x{1FF6}-\x{1FFC}\x{2102}\x{2107})"
    R"(\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124}\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134})"
    R"(\x{2139}\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4})"
    R"(\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F}\x{A771}-\x{A787})"
    R"(\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A})"
    R"(\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2})"
    R"(\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}]+)";
// CJK unified ideographs, U+0800..U+4E00 (most non-Latin scripts, kana, CJK symbols), Hangul.
// llama.cpp runs the expressions without \p{..} on a copy of the text in which every non-ASCII
// space is U+000B, so an explicit range never matches one: the spaces inside U+0800..U+4E00
// (U+1680, U+2000-200A, U+2028, U+2029, U+202F, U+205F, U+3000) are cut out of it here.
constexpr const char* deepseek_cjk =
    R"([\x{4E00}-\x{9FA5}\x{800}-\x{167F}\x{1681}-\x{1FFF}\x{200B}-\x{2027}\x{202A}-\x{202E}\x{2030}-\x{205E})"
    R"(\x{2060}-\x{2FFF}\x{3001}-\x{4E00}\x{AC00}-\x{D7FF}]+)";

struct pre_family {
    std::vector<std::string_view> names;
    std::vector<const char*> exprs;
};

const std::vector<pre_family>& families() {
    static const std::vector<pre_family> f = {
        {{"default"}, {R"([\p{P}\$\+<=>\^~\|]+)", gpt2_expr, R"(\p{N}+)", "[0-9][0-9][0-9]"}},
        {{"gpt-2", "phi-2", "mpt", "olmo", "jais", "jina-es", "jina-de", "jina-v1-en", "jina-v2-es", "jina-v2-de",
          "jina-v2-code", "roberta-bpe", "gigachat"},
         {gpt2_expr}},
        {{"llama3", "llama-v3", "llama-bpe", "falcon3", "dbrx", "smaug-bpe", "chatglm-bpe", "glm4", "pixtral"},
         {llama3_expr}},
        {{"qwen2", "deepseek-r1-qwen", "stablelm2", "megrez"}, {qwen2_expr}},
        {{"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b"},
         {R"(\p{N})", gpt2_expr}},
        // (U+3000 is left out of the punctuation range for the reason given at deepseek_cjk.)
        {{"deepseek-llm"},
         {R"([\r\n])", deepseek_letters, R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3001}-\x{3002}]+)",
          R"(\s+$)", deepseek_cjk, R"(\p{N}+)"}},
        {{"deepseek-coder"}, {R"([\r\n])", R"(\s?\p{L}+)", R"(\s?\p{P}+)", deepseek_cjk, R"(\p{N})"}},
        {{"falcon"}, {R"([\p{P}\$\+<=>\^~\|`]+)", gpt2_expr, "[0-9][0-9][0-9]"}},
        {{"tekken"}, {tekken_expr}},
        {{"deepseek-v3"},
         {R"(\p{N}{1,3})", R"([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)",
          R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}},
        {{"poro-chat", "bloom", "gpt3-finnish"}, {bloom_expr}},
        {{"viking"}, {bloom_expr, R"(\p{N})"}},
    };
    return f;
}

// Of these names llama.cpp also sets ignore_merges and add_bos for the Llama 3 ones and tekken;
// that is the tokenizer's business (tokenizer_bpe.cpp), not the pre-tokenizer's. Qwen3 GGUFs name
// "qwen2" (llama.cpp has no separate qwen3 pre-tokenizer). Chameleon (image tokens) is not here.

} // namespace

struct bpe_pretokenizer::compiled {
    pcre2_code* code = nullptr;
    bool jit = false;
    ~compiled() { pcre2_code_free(code); }
};

bpe_pretokenizer::bpe_pretokenizer(const std::string& pre, const std::string& name) : name_(name) {
    const pre_family* family = nullptr;
    for (const auto& f : families())
        for (const auto n : f.names)
            if (n == pre) family = &f;
    if (!family) {
        std::string known;
        for (const auto& n : known_names()) known += (known.empty() ? "" : ", ") + n;
        throw error(name + ": tokenizer.ggml.pre = \"" + pre + "\" is a pre-tokenizer this runtime does not know (" +
                    known + ")");
    }
    for (const char* written : family->exprs) {
        int err = 0;
        PCRE2_SIZE err_offset = 0;
        auto c = std::make_unique<compiled>();
        std::string expr;
        try {
            expr = bpe::llama_unicode_classes(written);
        } catch (const std::invalid_argument& e) {
            throw error(name + ": pre-tokenizer \"" + pre + "\": " + e.what() + " has no llama.cpp table here");
        }
        // DOLLAR_ENDONLY: '$' is the end of the piece, as in std::regex, not also before a final '\n'.
        c->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(expr.c_str()), expr.size(),
                                PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &err, &err_offset, nullptr);
        if (!c->code) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(err, msg, sizeof msg);
            throw error(name + ": pre-tokenizer \"" + pre + "\": PCRE2 rejects expression at offset " +
                        std::to_string(err_offset) + ": " + reinterpret_cast<const char*>(msg));
        }
        // JIT is several times faster; builds without it fall back to the interpreter.
        c->jit = pcre2_jit_compile(c->code, PCRE2_JIT_COMPLETE) == 0;
        exprs_.push_back(std::move(c));
    }
}

bpe_pretokenizer::~bpe_pretokenizer() = default;

std::vector<std::string> bpe_pretokenizer::known_names() {
    std::vector<std::string> out;
    for (const auto& f : families())
        for (const auto n : f.names) out.emplace_back(n);
    return out;
}

void bpe_pretokenizer::split(std::string_view text, std::vector<std::string_view>& words) const {
    if (text.empty()) return;
    struct span {
        size_t off, len;
    };
    std::vector<span> pieces{{0, text.size()}}, next;
    pcre2_match_data* md = pcre2_match_data_create(4, nullptr);
    if (!md) throw error(name_ + ": out of memory for the pre-tokenizer's match data");
    try {
        for (const auto& expr : exprs_) {
            next.clear();
            for (const span p : pieces) {
                const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data() + p.off);
                size_t pos = 0, gap = 0; // gap: start of the text not yet emitted
                while (pos < p.len) {
                    int rc = pcre2_match(expr->code, subject, p.len, pos, PCRE2_NO_UTF_CHECK, md, nullptr);
                    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) // a very long word: the interpreter uses the heap
                        rc = pcre2_match(expr->code, subject, p.len, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, nullptr);
                    if (rc == PCRE2_ERROR_NOMATCH) break;
                    if (rc < 0) {
                        PCRE2_UCHAR msg[256];
                        pcre2_get_error_message(rc, msg, sizeof msg);
                        throw error(name_ + ": pre-tokenizer match failed: " + reinterpret_cast<const char*>(msg));
                    }
                    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
                    const size_t s = ov[0], e = ov[1];
                    if (e == s) { // an empty match gives no word; step over one character
                        const size_t n = bpe::utf8_valid_length(text, p.off + s);
                        pos = s + (n ? n : 1);
                        continue;
                    }
                    if (s > gap) next.push_back({p.off + gap, s - gap});
                    next.push_back({p.off + s, e - s});
                    gap = pos = e;
                }
                if (gap < p.len) next.push_back({p.off + gap, p.len - gap});
            }
            pieces.swap(next);
        }
    } catch (...) {
        pcre2_match_data_free(md);
        throw;
    }
    pcre2_match_data_free(md);
    for (const span p : pieces) words.push_back(text.substr(p.off, p.len));
}

} // namespace epic
