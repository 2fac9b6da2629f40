// Compares this runtime's pre-tokenizer splits with llama.cpp's unicode_regex_split (exported by libllama)
// on random text, for every family whose expressions are listed below. Build: see README.md.
#include "tokenizer/bpe_pretokenize.h"
#include "tokenizer/bpe_unicode.h"
#include <cstdio>
#include <random>
#include <string>
#include <vector>
std::vector<std::string> unicode_regex_split(const std::string& text, const std::vector<std::string>& regex_exprs);
static void append_utf8(std::string& s, uint32_t cp) {
    if (cp < 0x80) s += char(cp);
    else if (cp < 0x800) { s += char(0xC0 | cp >> 6); s += char(0x80 | (cp & 63)); }
    else if (cp < 0x10000) { s += char(0xE0 | cp >> 12); s += char(0x80 | ((cp >> 6) & 63)); s += char(0x80 | (cp & 63)); }
    else { s += char(0xF0 | cp >> 18); s += char(0x80 | ((cp >> 12) & 63)); s += char(0x80 | ((cp >> 6) & 63)); s += char(0x80 | (cp & 63)); }
}
int main() {
    struct fam { const char* pre; std::vector<std::string> exprs; };
    std::vector<fam> fams = {
        {"llama-bpe", {"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}},
        {"qwen2", {"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}},
        {"tekken", {"[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}},
        {"deepseek-v3", {"\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+", "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"}},
        {"bloom", {" ?[^(\\s|.,!?…。，、।۔،)]+"}},
        {"viking", {" ?[^(\\s|.,!?…。，、।۔،)]+", "\\p{N}"}},
        {"gpt-2", {"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"}},
        {"smollm", {"\\p{N}", "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"}},
        {"falcon", {"[\\p{P}\\$\\+<=>\\^~\\|`]+", "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)", "[0-9][0-9][0-9]"}},
        {"default", {"[\\p{P}\\$\\+<=>\\^~\\|]+", "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)", "\\p{N}+", "[0-9][0-9][0-9]"}},
        {"deepseek-coder", {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}"}},
    };
    const std::vector<std::string> words = {"the", " cat", "Hello", "WORLD", "camelCase", "HTTPServer", "iPhone", "it's", "IT'S", "we'll", "3.14159",
        "1234567", "  ", "\n", "\r\n", "\t", "\n\n\n", " \n ", "中文", "日本語", "ひらがな", "カタカナ", "한국어", "😀", "👩‍💻", "Привет", "مرحبا",
        "e\xCC\x81", "naïve", "Élan", "ﬁ", "Ⅻ", "²", "\xC2\xA0", "\xE3\x80\x80", "\xE2\x80\xA8", "...", "!!!", "-->", "a//b", ".\n/", "$x", ".Net", "(ok)", "，", "。", "who?", "x!y"};
    for (const auto& f : fams) {
        epic::bpe_pretokenizer pre(f.pre, "x");
        std::mt19937 rng(42);
        int bad = 0;
        for (int i = 0; i < 20000; ++i) {
            std::string s;
            const int k = rng() % 16;
            for (int j = 0; j < k; ++j) {
                switch (rng() % 6) {
                case 0: { uint32_t cp = rng() % 0x110000; if (cp >= 0xD800 && cp < 0xE000) cp = 0x41; append_utf8(s, cp); break; }
                case 1: append_utf8(s, rng() % 0x3100); break;
                case 2: append_utf8(s, 0x20 + rng() % 0x60); break;
                default: s += words[rng() % words.size()]; if (rng() % 2) s += ' ';
                }
            }
            const auto ref = unicode_regex_split(s, f.exprs);
            std::vector<std::string_view> w;
            pre.split(s, w);
            std::vector<std::string> ours;
            for (auto x : w) ours.push_back(epic::bpe::bytes_to_mapped(x));
            if (ref != ours && bad++ < 3) {
                std::printf("%s MISMATCH \"", f.pre);
                for (unsigned char c : s) (c >= 32 && c < 127) ? std::printf("%c", c) : std::printf("\\x%02X", c);
                std::printf("\"\n  llama:");
                for (auto& x : ref) { std::printf(" ["); for (unsigned char c : epic::bpe::mapped_to_bytes(x)) (c >= 32 && c < 127) ? std::printf("%c", c) : std::printf("\\x%02X", c); std::printf("]"); }
                std::printf("\n  ours: ");
                for (auto& x : ours) { std::printf(" ["); for (unsigned char c : epic::bpe::mapped_to_bytes(x)) (c >= 32 && c < 127) ? std::printf("%c", c) : std::printf("\\x%02X", c); std::printf("]"); }
                std::printf("\n");
            }
        }
        std::printf("%s: %d/20000 differ\n", f.pre, bad);
    }
}
