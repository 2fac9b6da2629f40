// Pre-tokenizer splits worked out by hand from llama.cpp's expressions (src/llama-vocab.cpp) on
// strings where the families differ: Llama 3 vs Qwen2 (digit groups), Tekken (case changes, slashes
// after newlines), DeepSeek V3 (digit groups first, CJK runs, punctuation glued to a word), Bloom.
// Llama 3 and Tekken vocabularies are not in the shared data, so their splits are what can be
// checked; the tokenizer-level flags (whole words, default BOS) are checked in tokenizer_bpe_test.
// Unicode classes follow llama.cpp's tables whatever the PCRE2 version.
#include "tokenizer/bpe_pretokenize.h"
#include "tokenizer/bpe_unicode.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

namespace epic {
namespace {

using words = std::vector<std::string_view>;

words split(const std::string& pre, const std::string& text) {
    bpe_pretokenizer p(pre, "test");
    words w;
    p.split(text, w);
    return w;
}

TEST(tokenizer_pretokenize, llama3_and_qwen2_differ_only_in_digit_groups) {
    const std::string a = "Hello world, it's 2024!  \n";
    EXPECT_EQ(split("llama-bpe", a), (words{"Hello", " world", ",", " it", "'s", " ", "202", "4", "!", "  \n"}));
    EXPECT_EQ(split("qwen2", a), (words{"Hello", " world", ",", " it", "'s", " ", "2", "0", "2", "4", "!", "  \n"}));
    // A punctuation mark leads a word ("(x"); contractions ignore case; newlines gather; a run of
    // spaces leaves its last space to the next word.
    const std::string b = "(x) DON'T 12345\n\n\nfoo  bar";
    EXPECT_EQ(split("llama-bpe", b), (words{"(x", ")", " DON", "'T", " ", "123", "45", "\n\n\n", "foo", " ", " bar"}));
    EXPECT_EQ(split("qwen2", b),
              (words{"(x", ")", " DON", "'T", " ", "1", "2", "3", "4", "5", "\n\n\n", "foo", " ", " bar"}));
    // Punctuation takes the newlines after it; a CR LF pair is one word.
    EXPECT_EQ(split("llama-bpe", "end.\n/x\r\ny"), (words{"end", ".\n", "/x", "\r\n", "y"}));
    // The names llama.cpp maps to the same expressions split the same.
    for (const char* alias : {"llama3", "llama-v3", "falcon3", "dbrx", "smaug-bpe"}) EXPECT_EQ(split(alias, b), split("llama-bpe", b)) << alias;
    for (const char* alias : {"deepseek-r1-qwen", "stablelm2", "megrez"}) EXPECT_EQ(split(alias, b), split("qwen2", b)) << alias;
}

TEST(tokenizer_pretokenize, tekken_cuts_at_case_changes) {
    EXPECT_EQ(split("tekken", "camelCase HTTPServer iPhone 2024/05\n/x"),
              (words{"camel", "Case", " HTTPServer", " i", "Phone", " ", "2", "0", "2", "4", "/", "0", "5", "\n", "/x"}));
    // A slash after a newline stays with the punctuation before it (Llama 3 gives ".\n" + "/x").
    EXPECT_EQ(split("tekken", "end.\n/x"), (words{"end", ".\n/", "x"}));
    // Letters outside a-z/A-Z count as both cases: an accented or CJK word stays whole.
    EXPECT_EQ(split("tekken", "Élan naïve 日本語 HELLO"), (words{"Élan", " naïve", " 日本語", " HELLO"}));
}

TEST(tokenizer_pretokenize, deepseek_v3_takes_digit_groups_and_cjk_first) {
    EXPECT_EQ(split("deepseek-v3", "Hello, 12345 世界abc x.Net"),
              (words{"Hello", ",", " ", "123", "45", " ", "世界", "abc", " x", ".Net"}));
}

TEST(tokenizer_pretokenize, bloom_cuts_at_spaces_and_sentence_punctuation) {
    EXPECT_EQ(split("bloom", "Hello, world! (ok)"), (words{"Hello", ",", " world", "! (", "ok", ")"}));
    EXPECT_EQ(split("viking", "Hello 2024"), (words{"Hello", " ", "2", "0", "2", "4"}));
}

// The classes follow llama.cpp's Unicode tables, not the system PCRE2's: U+31350 (CJK Extension H,
// Unicode 15) is a letter, so "$x" after it is a word of its own; U+180E (Mongolian vowel
// separator) is no space since Unicode 6.3, so two of them are one run of symbols.
TEST(tokenizer_pretokenize, unicode_classes_are_llama_cpps) {
    EXPECT_EQ(split("qwen2", "\U00031350$x"), (words{"\U00031350", "$x"}));
    EXPECT_EQ(split("gpt-2", "it\U00031350've"), (words{"it\U00031350", "'ve"}));
    EXPECT_EQ(split("qwen2", "a\u180E\u180Eb"), (words{"a", "\u180E\u180E", "b"}));
    // Unicode 15 digits (Kawi) are digits: split one by one like ASCII ones.
    EXPECT_EQ(split("qwen2", "\U00011F50\U00011F51"), (words{"\U00011F50", "\U00011F51"}));
    // Other spaces are spaces: an ideographic space run before a word keeps its last one.
    EXPECT_EQ(split("llama-bpe", "\u3000\u3000x"), (words{"\u3000", "\u3000x"}));
    // llama.cpp runs the expressions without \p{..} on text whose non-ASCII spaces are U+000B, so
    // DeepSeek's CJK range (U+0800..) does not take U+3000: it stays with the word it leads.
    EXPECT_EQ(split("deepseek-coder", "\u3000JcamelCase "), (words{"\u3000JcamelCase", " "}));
    EXPECT_EQ(split("deepseek-llm", "\u3000\u4E2D"), (words{"\u3000", "\u4E2D"}));
    // ... and its ASCII table has no '~' among the symbols: DeepSeek V3 leaves it alone.
    EXPECT_EQ(split("deepseek-v3", "a ~"), (words{"a", " ", "~"}));
    EXPECT_EQ(split("deepseek-v3", "a ~!"), (words{"a", " ", "~", "!"}));
    EXPECT_EQ(bpe::llama_unicode_classes(R"(a\r\x{41}\[)"), R"(a\r\x{41}\[)") << "other escapes stay as written";
    EXPECT_THROW(bpe::llama_unicode_classes(R"(\p{Lu})"), std::invalid_argument);
}

TEST(tokenizer_pretokenize, every_llama_cpp_name_is_known) {
    // The names llama.cpp's llama_vocab::load accepts for BPE vocabularies (chameleon aside: an
    // image model). A GGUF naming one of these must load, not be refused.
    const auto known = bpe_pretokenizer::known_names();
    for (const char* name : {"default", "llama3", "llama-v3", "llama-bpe", "falcon3", "deepseek-llm", "deepseek-coder",
                             "deepseek-v3", "falcon", "mpt", "starcoder", "gpt-2", "phi-2", "jina-es", "jina-de",
                             "gigachat", "jina-v1-en", "jina-v2-es", "jina-v2-de", "jina-v2-code", "roberta-bpe", "refact",
                             "command-r", "qwen2", "deepseek-r1-qwen", "stablelm2", "olmo", "dbrx", "smaug-bpe",
                             "poro-chat", "chatglm-bpe", "viking", "jais", "tekken", "smollm", "codeshell", "bloom",
                             "gpt3-finnish", "exaone", "minerva-7b", "megrez"})
        EXPECT_NE(std::find(known.begin(), known.end(), name), known.end()) << name;
}

} // namespace
} // namespace epic
