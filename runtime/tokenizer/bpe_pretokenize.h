#pragma once
// The pre-tokenizer of byte-level BPE vocabularies: the regular expressions (chosen by the GGUF key
// tokenizer.ggml.pre) that cut text into words before BPE merges run inside each word.
//
// Semantics follow llama.cpp's unicode_regex_split: the expressions apply in order, each one
// re-splitting every piece the previous ones produced; inside a piece every match becomes a word and
// so does every stretch between matches (text no expression matches is never lost). Each piece is
// matched on its own, so look-arounds and '$' see only that piece. The expressions are llama.cpp's,
// compiled with PCRE2 in UTF mode with Unicode properties, their classes (\p{L}, \p{N}, \p{P},
// \p{S}, \p{M}, \s) rewritten to match llama.cpp's own Unicode tables (bpe::llama_unicode_classes).
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace epic {

class bpe_pretokenizer {
public:
    // `pre` is tokenizer.ggml.pre ("gpt-2", "llama-bpe", "qwen2", "smollm", "deepseek-llm", ...; an
    // absent key is "default"). `name` (the file) appears in errors. Throws epic::error for a name
    // this runtime has no expressions for, rather than silently tokenizing differently from the model.
    bpe_pretokenizer(const std::string& pre, const std::string& name);
    ~bpe_pretokenizer();
    bpe_pretokenizer(const bpe_pretokenizer&) = delete;
    bpe_pretokenizer& operator=(const bpe_pretokenizer&) = delete;

    // Appends the words of `text` (well-formed UTF-8: callers cut invalid bytes out first) to
    // `words`, as views into `text`, in order; together they cover `text` exactly. Thread-safe.
    void split(std::string_view text, std::vector<std::string_view>& words) const;

    // The names accepted by the constructor, for messages and tests.
    static std::vector<std::string> known_names();

private:
    struct compiled; // a PCRE2 pattern (pcre2.h stays out of this header)
    std::vector<std::unique_ptr<compiled>> exprs_;
    std::string name_;
};

} // namespace epic
