#include "ingest/chunker.h"

#include "ingest/extract.h"

#include <algorithm>

namespace epic::storage {
namespace {

struct range {
    std::size_t begin, end;
};

struct piece {
    std::size_t begin, end;
    int tokens;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

range trim(std::string_view text, range r) {
    while (r.begin < r.end && is_space(text[r.begin])) ++r.begin;
    while (r.end > r.begin && is_space(text[r.end - 1])) --r.end;
    return r;
}

// Paragraphs: separated by a line that is empty or only blanks.
std::vector<range> paragraphs(std::string_view text) {
    std::vector<range> out;
    std::size_t start = 0, i = 0;
    while (i < text.size()) {
        if (text[i] == '\n') {
            std::size_t j = i + 1;
            while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r')) ++j;
            if (j < text.size() && text[j] == '\n') {
                out.push_back({start, i});
                while (j < text.size() && is_space(text[j])) ++j;
                start = i = j;
                continue;
            }
        }
        ++i;
    }
    out.push_back({start, text.size()});
    return out;
}

// Sentences (and lines) inside a paragraph: after . ! ? (plus closing quotes/brackets) followed by
// whitespace, after CJK full stops, and at line ends.
std::vector<range> sentences(std::string_view text, range para) {
    std::vector<range> out;
    std::size_t start = para.begin;
    for (std::size_t i = para.begin; i < para.end; ++i) {
        std::size_t cut = 0;
        const char c = text[i];
        if (c == '\n') {
            cut = i;
        } else if (c == '.' || c == '!' || c == '?') {
            std::size_t j = i + 1;
            while (j < para.end && (text[j] == '"' || text[j] == '\'' || text[j] == ')' || text[j] == ']')) ++j;
            if (j == para.end || is_space(text[j])) cut = j;
        } else if (i + 2 < para.end &&
                   (text.substr(i, 3) == "\xE3\x80\x82" || text.substr(i, 3) == "\xEF\xBC\x81" ||
                    text.substr(i, 3) == "\xEF\xBC\x9F")) {
            cut = i + 3;
        }
        if (cut) {
            out.push_back({start, cut});
            start = cut;
            i = std::max(i, cut > 0 ? cut - 1 : 0);
        }
    }
    out.push_back({start, para.end});
    return out;
}

std::vector<range> words(std::string_view text, range r) {
    std::vector<range> out;
    std::size_t i = r.begin;
    while (i < r.end) {
        while (i < r.end && is_space(text[i])) ++i;
        const std::size_t b = i;
        while (i < r.end && !is_space(text[i])) ++i;
        if (i > b) out.push_back({b, i});
    }
    return out;
}

std::size_t next_code_point(std::string_view text, std::size_t i, std::size_t end) {
    ++i;
    while (i < end && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
    return i;
}

class splitter {
public:
    splitter(std::string_view text, const token_counter& count, int target) : text_(text), count_(count), target_(target) {}

    int tokens(range r) const { return count_(text_.substr(r.begin, r.end - r.begin)); }

    // Adds r as one piece if it fits, else splits it one level finer.
    void add(range r, int level) {
        r = trim(text_, r);
        if (r.begin >= r.end) return;
        const int t = tokens(r);
        if (t <= target_) {
            pieces.push_back({r.begin, r.end, t});
            return;
        }
        if (level == 0) {
            const auto parts = sentences(text_, r);
            if (parts.size() > 1) {
                for (const auto& s : parts) add(s, 1);
                return;
            }
            level = 1;
        }
        if (level == 1) {
            const auto parts = words(text_, r);
            if (parts.size() > 1) {
                for (const auto& w : parts) add(w, 2);
                return;
            }
        }
        hard_split(r);
    }

    std::vector<piece> pieces;

private:
    // One "word" over budget: greedily take the longest code-point prefix that fits (binary search
    // over code point boundaries), at least one code point per piece.
    void hard_split(range r) {
        std::size_t b = r.begin;
        while (b < r.end) {
            std::vector<std::size_t> cuts;
            for (std::size_t i = b; i < r.end;) cuts.push_back(i = next_code_point(text_, i, r.end));
            std::size_t lo = 0, hi = cuts.size() - 1;  // cuts[lo] always accepted
            while (lo < hi) {
                const std::size_t mid = (lo + hi + 1) / 2;
                if (tokens({b, cuts[mid]}) <= target_) lo = mid;
                else hi = mid - 1;
            }
            const range part{b, cuts[lo]};
            pieces.push_back({part.begin, part.end, tokens(part)});
            b = cuts[lo];
        }
    }

    std::string_view text_;
    const token_counter& count_;
    int target_;
};

} // namespace

int count_words(std::string_view text) {
    int n = 0;
    bool in_word = false;
    for (char c : text) {
        const bool space = is_space(c);
        if (!space && !in_word) ++n;
        in_word = !space;
    }
    return n;
}

std::vector<text_chunk> chunk_text(std::string_view text, const std::vector<std::size_t>& page_starts,
                                   const token_counter& count_tokens, const chunker_options& options) {
    const int target = std::max(1, options.target_tokens);
    splitter split(text, count_tokens, target);
    for (const auto& p : paragraphs(text)) split.add(p, 0);
    const auto& pieces = split.pieces;

    std::vector<text_chunk> out;
    std::size_t i = 0;
    while (i < pieces.size()) {
        // Greedy by the sum of piece counts, then confirmed with a real count of the joined text:
        // tokenizers are not exactly additive across boundaries, so back off a piece when needed.
        std::size_t j = i;
        long long sum = 0;
        while (j < pieces.size() && (j == i || sum + pieces[j].tokens <= target)) sum += pieces[j++].tokens;
        text_chunk c;
        for (;;) {
            c.char_begin = pieces[i].begin;
            c.char_end = pieces[j - 1].end;
            c.token_count = count_tokens(text.substr(c.char_begin, c.char_end - c.char_begin));
            if (c.token_count <= target || j == i + 1) break;
            --j;
        }
        c.page_begin = page_at(page_starts, c.char_begin);
        c.page_end = page_at(page_starts, c.char_end - 1);
        out.push_back(c);
        i = j;
    }
    return out;
}

} // namespace epic::storage
