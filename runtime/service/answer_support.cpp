// Which retrieved chunks an answer drew on (answer_support.h).
#include "service/answer_support.h"

#include "library/fts_query.h"

#include <algorithm>
#include <set>
#include <string>

namespace epic {

std::vector<answer_support> answer_support_of(std::string_view question, std::string_view answer,
                                              const std::vector<std::string_view>& chunk_texts) {
    constexpr std::size_t max_words = 4096; // an answer's distinct words; answers are far shorter
    std::vector<answer_support> out(chunk_texts.size());
    if (chunk_texts.empty()) return out;
    const auto asked = storage::fts_query_words(question, max_words);
    const std::set<std::string> asked_set(asked.begin(), asked.end());
    std::vector<std::set<std::string>> held; // [chunk] its words
    for (std::string_view t : chunk_texts) {
        const auto w = storage::fts_query_words(t, SIZE_MAX);
        held.emplace_back(w.begin(), w.end());
    }
    for (const std::string& w : storage::fts_query_words(answer, max_words)) {
        if (asked_set.count(w)) continue;
        std::vector<std::size_t> holders;
        for (std::size_t i = 0; i < held.size(); ++i)
            if (held[i].count(w)) holders.push_back(i);
        if (holders.empty() || (holders.size() == held.size() && held.size() > 1)) continue;
        for (std::size_t i : holders) ++out[i].words;
    }
    int best = 0;
    for (const auto& s : out) best = std::max(best, s.words);
    if (best == 0) return out;
    for (auto& s : out) s.used = 2 * s.words >= best;
    return out;
}

} // namespace epic
