#pragma once
// Turns arbitrary user text into a safe FTS5 MATCH expression: "w1" OR "w2" OR ...
// Words are runs of ASCII letters/digits/underscore or non-ASCII bytes (the FTS tokenizer splits
// those further); every word is quoted as an FTS5 string with inner quotes doubled, so AND/OR/NOT/
// NEAR, parentheses, *, ^, :, + and quotes in the question can never become query syntax.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace epic::storage {

// Empty when the question has no words. At most max_terms distinct words (first occurrences).
std::string build_fts_query(std::string_view question, std::size_t max_terms = 32);

// The same in two steps: the question's distinct words (ASCII-lowercased, at most max_terms), and
// words joined into the quoted OR expression.
std::vector<std::string> fts_query_words(std::string_view question, std::size_t max_terms = 32);
std::string fts_or_query(const std::vector<std::string>& words);

} // namespace epic::storage
