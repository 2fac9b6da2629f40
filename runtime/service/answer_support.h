#pragma once
// Which retrieved chunks an answer drew on. Every chunk the link saw is a source, but an answer
// usually comes from one or two of them; the sources list marks those so a reader checks the right
// passage first (issue 17).
//
// The evidence is the answer's own words: a word that the question did not already contain and
// that some retrieved chunks hold but not all of them (a word every chunk holds tells none apart,
// as IDF would say) counts for each chunk holding it. The chunks with the most such words, and any
// within half of that count, are marked; an answer without such a word marks none. Words are those
// of BM25's queries (storage::fts_query_words: ASCII-lowercased runs of letters and digits).
#include <string_view>
#include <vector>

namespace epic {

struct answer_support {
    int words = 0;     // the answer's telling words this chunk holds
    bool used = false; // among the chunks the answer drew on
};

// One entry per chunk text, in the same order.
std::vector<answer_support> answer_support_of(std::string_view question, std::string_view answer,
                                              const std::vector<std::string_view>& chunk_texts);

} // namespace epic
