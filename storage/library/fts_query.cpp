#include "library/fts_query.h"

#include "common/utf8.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace epic::storage {
namespace {

bool is_word_byte(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

} // namespace

std::string build_fts_query(std::string_view raw_question, std::size_t max_terms) {
    return fts_or_query(fts_query_words(raw_question, max_terms));
}

std::vector<std::string> fts_query_words(std::string_view raw_question, std::size_t max_terms) {
    // Invalid UTF-8 would reach the tokenizer as is; repair it so every query is well-formed text.
    const std::string repaired = repair_utf8(raw_question);
    const std::string_view question = repaired;
    std::vector<std::string> words;
    std::size_t i = 0;
    while (i < question.size() && words.size() < max_terms) {
        while (i < question.size() && !is_word_byte(static_cast<unsigned char>(question[i]))) ++i;
        const std::size_t start = i;
        while (i < question.size() && is_word_byte(static_cast<unsigned char>(question[i]))) ++i;
        if (i == start) break;
        std::string word(question.substr(start, i - start));
        // ASCII lowercase only to deduplicate; the FTS tokenizer folds case itself.
        std::string folded = word;
        std::transform(folded.begin(), folded.end(), folded.begin(),
                       [](unsigned char c) { return c < 0x80 ? static_cast<char>(std::tolower(c)) : static_cast<char>(c); });
        if (std::find(words.begin(), words.end(), folded) == words.end()) words.push_back(std::move(folded));
    }
    return words;
}

std::string fts_or_query(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) {
        if (!out.empty()) out += " OR ";
        out += '"';
        for (char c : w) {
            if (c == '"') out += '"';  // defensive: word bytes never include '"', but quoting must be total
            out += c;
        }
        out += '"';
    }
    return out;
}

} // namespace epic::storage
