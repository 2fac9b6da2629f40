// Compares this runtime's tokenizer with llama.cpp's (libllama, vocab only) on random text for one GGUF
// vocabulary: compare_tokens M.gguf [n] [plain|special] [seed]. Build: see README.md.
#include "llama.h"
#include "gguf/gguf_file.h"
#include "tokenizer/tokenizer.h"
#include <cstdio>
#include <random>
#include <string>
#include <vector>
static void append_utf8(std::string& s, uint32_t cp) {
    if (cp < 0x80) s += char(cp);
    else if (cp < 0x800) { s += char(0xC0 | cp >> 6); s += char(0x80 | (cp & 63)); }
    else if (cp < 0x10000) { s += char(0xE0 | cp >> 12); s += char(0x80 | ((cp >> 6) & 63)); s += char(0x80 | (cp & 63)); }
    else { s += char(0xF0 | cp >> 18); s += char(0x80 | ((cp >> 12) & 63)); s += char(0x80 | ((cp >> 6) & 63)); s += char(0x80 | (cp & 63)); }
}
int main(int argc, char** argv) {
    llama_log_set([](ggml_log_level, const char*, void*) {}, nullptr);
    llama_backend_init();
    auto mp = llama_model_default_params();
    mp.vocab_only = true;
    llama_model* model = llama_model_load_from_file(argv[1], mp);
    if (!model) { std::printf("llama.cpp cannot load\n"); return 1; }
    const llama_vocab* vocab = llama_model_get_vocab(model);
    auto f = epic::gguf_file::open(argv[1]);
    auto tok = epic::tokenizer::from_gguf(*f);
    const int n = argc > 2 ? std::atoi(argv[2]) : 20000;
    const bool specials = argc > 3 && std::string(argv[3]) == "special";
    std::mt19937 rng(argc > 4 ? std::atoi(argv[4]) : 1234);
    const std::vector<std::string> words = {"the", " cat", "Hello", "WORLD", "it's", "IT'S", "we'll", "'ve", "don't", "3.14159",
        "1234567", "  ", "\n", "\r\n", "\t", "\n\n\n", " \n ", "中文", "日本語", "한국어", "😀", "👩‍💻", "👍🏽", "Привет", "مرحبا",
        "e\xCC\x81", "naïve", "ﬁ", "Ⅻ", "²", "①", "\xC2\xA0", "\xE3\x80\x80", "\xE2\x80\xA8", "\xC2\x85", "...", "!!!", "-->", "::", "/*", "*/",
        "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<tool_call>", "[PAD151700]", "<s>", "</s>", "$x", "@@", "```", "def f(x):", "    return"};
    int bad = 0, total = 0;
    for (int i = 0; i < n; ++i) {
        std::string s;
        const int k = rng() % 20;
        for (int j = 0; j < k; ++j) {
            switch (rng() % 6) {
            case 0: { uint32_t cp = rng() % 0x110000; if (cp >= 0xD800 && cp < 0xE000) cp = 0x41; append_utf8(s, cp); break; }
            case 1: append_utf8(s, rng() % 0x3000); break;
            case 2: append_utf8(s, rng() % 0x80); break;
            default: s += words[rng() % words.size()]; if (rng() % 2) s += ' ';
            }
        }
        std::vector<llama_token> ref(s.size() * 4 + 16);
        const int m = llama_tokenize(vocab, s.data(), (int)s.size(), ref.data(), (int)ref.size(), false, specials);
        if (m < 0) { std::printf("llama.cpp failed\n"); continue; }
        ref.resize(m);
        const auto ours = specials ? tok->encode_with_specials(s, false) : tok->encode(s, false);
        ++total;
        if (std::vector<int32_t>(ref.begin(), ref.end()) != ours) {
            if (bad++ < 8) {
                std::printf("MISMATCH for \"");
                for (unsigned char c : s) (c >= 32 && c < 127 && c != '\\') ? std::printf("%c", c) : std::printf("\\x%02X", c);
                std::printf("\"\n  llama:");
                for (int t : ref) std::printf(" %d", t);
                std::printf("\n  ours: ");
                for (int t : ours) std::printf(" %d", t);
                std::printf("\n");
            }
        }
    }
    std::printf("%s: %d/%d strings differ (parse_special=%d)\n", argv[1], bad, total, specials);
}
