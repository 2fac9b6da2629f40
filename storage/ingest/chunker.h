#pragma once
// Cuts extracted text into retrieval/compile units of at most target_tokens tokens, preferring
// paragraph boundaries, then sentence (and line) boundaries, then word boundaries; a single word
// longer than the budget is cut between code points, into pieces within target/64 tokens of the
// budget. Storage has no tokenizer: the caller passes count_tokens (the runtime's tokenizer, or
// count_words for tests and tools). Linear in the text: count_tokens reads each byte a few times
// whatever the text (a 10 MB word included), assuming it is itself linear.
#include <cstddef>
#include <functional>
#include <string_view>
#include <vector>

namespace epic::storage {

using token_counter = std::function<int(std::string_view)>;

struct chunker_options {
    int target_tokens = 512;
};

struct text_chunk {
    std::size_t char_begin = 0;  // UTF-8 byte offsets into the text; the chunk is text[begin, end)
    std::size_t char_end = 0;    // (leading/trailing whitespace excluded)
    int page_begin = 0;          // pages of its first and last byte; 0 when there are no pages
    int page_end = 0;
    int token_count = 0;         // count_tokens of exactly this text; <= target_tokens
};

std::vector<text_chunk> chunk_text(std::string_view text, const std::vector<std::size_t>& page_starts,
                                   const token_counter& count_tokens, const chunker_options& options = {});

// Whitespace-separated words: a stand-in token counter when no model is loaded.
int count_words(std::string_view text);

} // namespace epic::storage
