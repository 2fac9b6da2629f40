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

// Where a cut may go at or after `at`: the next code point boundary (at most 3 bytes on), or `end`.
std::size_t boundary_at(std::string_view text, std::size_t at, std::size_t end) {
    while (at < end && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) ++at;
    return std::min(at, end);
}

constexpr std::size_t max_bytes_per_token = 1024;

class splitter {
public:
    splitter(std::string_view text, const token_counter& count, int target) : text_(text), count_(count), target_(target) {}

    int tokens(range r) const { return count_(text_.substr(r.begin, r.end - r.begin)); }

    // Adds r as one piece if it fits, else splits it one level finer.
    void add(range r, int level) {
        r = trim(text_, r);
        if (r.begin >= r.end) return;
        // No tokenizer averages a kilobyte per token: a longer range is split without counting it,
        // which spares the tokenizer whole multi-megabyte paragraphs and words.
        if (r.end - r.begin <= static_cast<std::size_t>(target_) * max_bytes_per_token) {
            const int t = tokens(r);
            if (t <= target_) {
                pieces.push_back({r.begin, r.end, t});
                return;
            }
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
    // One "word" over budget (a 10 MB line without spaces, CJK without punctuation): cut into
    // pieces that fit, at least one code point each. Each cut only counts prefixes of about one
    // piece's length, so the whole costs a few counts per byte; counting prefixes of the whole rest
    // of the word at every cut made such a document take hours.
    void hard_split(range r) {
        for (std::size_t b = r.begin; b < r.end;) {
            const piece p = fitting_prefix(b, r.end);
            pieces.push_back(p);
            b = p.end;
        }
    }

    // A prefix [b, e) of [b, end) ending on a code point boundary whose count fits: the longest
    // one (assuming counts grow with length, as the old binary search did), or one within
    // target/64 tokens of the budget, which is full enough and usually found by the first probe;
    // the first code point alone when nothing fits. Probes are aimed by bytes per token (learnt
    // from the previous cut) and fall back to bisection whenever aiming does not halve the
    // bracket, so a tokenizer with uneven token lengths still costs O(log) probes per cut.
    piece fitting_prefix(std::size_t b, std::size_t end) {
        // [b, lo) fits with lo_tokens (lo starts one code point in, accepted whatever its count:
        // lo_tokens < 0 until measured); [b, hi) does not fit with hi_tokens; hi == npos: unknown.
        std::size_t lo = next_code_point(text_, b, end), hi = std::string_view::npos;
        int lo_tokens = -1, hi_tokens = 0;
        const int slack = target_ / 64;
        const double aim = target_ + 0.5 - slack / 2.0;  // in the middle of what is accepted
        std::size_t want = b + static_cast<std::size_t>(aim * bytes_per_token_);
        std::size_t min_growth = 1;  // while nothing is known not to fit: doubles with each probe
        bool bisect = false;
        while (lo < end && !(slack > 0 && lo_tokens >= target_ - slack)) {
            std::size_t e;
            if (hi == std::string_view::npos) {
                // Growing: aim from the last measure, but by at least the doubling minimum so a
                // counter that keeps undershooting its aim is still bracketed in O(log) probes.
                e = boundary_at(text_, std::min(std::max(want, lo + min_growth), end), end);
                min_growth *= 2;
            } else {
                if (hi - lo < 2) break;  // neighbouring code point boundaries: lo is the answer
                if (bisect) {
                    e = lo + (hi - lo) / 2;
                } else {  // interpolate between (lo, lo_tokens) and (hi, hi_tokens); (b, 0) for an unmeasured lo
                    const double l_pos = lo_tokens < 0 ? double(b) : double(lo), l_tok = std::max(lo_tokens, 0);
                    e = static_cast<std::size_t>(l_pos + (double(hi) - l_pos) * (aim - l_tok) / (hi_tokens - l_tok));
                }
                e = std::clamp(e, lo + 1, hi - 1);
                std::size_t aligned = boundary_at(text_, e, hi);
                if (aligned >= hi) {  // no boundary after e: look before it
                    aligned = e;
                    while (aligned > lo && (static_cast<unsigned char>(text_[aligned]) & 0xC0) == 0x80) --aligned;
                }
                if (aligned <= lo) break;  // lo and hi are neighbouring code point boundaries
                e = aligned;
            }
            const std::size_t width = hi == std::string_view::npos ? 0 : hi - lo;
            const int t = tokens({b, e});
            if (t <= target_) {
                lo = e;
                lo_tokens = t;
                want = b + static_cast<std::size_t>(double(e - b) * aim / std::max(t, 1));
            } else {
                hi = e;
                hi_tokens = t;
            }
            // Aiming and halving alternate while aiming fails to halve the bracket.
            if (width) bisect = !bisect && (hi - lo) * 2 > width;
        }
        if (lo_tokens < 0) lo_tokens = tokens({b, lo});
        bytes_per_token_ = std::max(1.0, double(lo - b) / std::max(lo_tokens, 1));
        return {b, lo, lo_tokens};
    }

    std::string_view text_;
    const token_counter& count_;
    int target_;
    double bytes_per_token_ = 4;  // first guess; then what the previous cut measured
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
        const auto count_span = [&](std::size_t last) {
            // One piece was counted on exactly this text already (most of a long word's chunks).
            if (last == i + 1) return pieces[i].tokens;
            return count_tokens(text.substr(pieces[i].begin, pieces[last - 1].end - pieces[i].begin));
        };
        int count = count_span(j);
        if (count > target && j > i + 1) {
            // Over: the longest run of pieces that fits, by bisection (backing off one piece at a
            // time would recount the chunk once per piece). One piece alone is always taken.
            std::size_t fits = i + 1, over = j;
            int fits_count = -1;
            while (over - fits > 1) {
                const std::size_t mid = fits + (over - fits) / 2;
                const int t = count_span(mid);
                if (t <= target) {
                    fits = mid;
                    fits_count = t;
                } else {
                    over = mid;
                }
            }
            j = fits;
            count = fits_count >= 0 ? fits_count : count_span(j);
        }
        text_chunk c;
        c.char_begin = pieces[i].begin;
        c.char_end = pieces[j - 1].end;
        c.token_count = count;
        c.page_begin = page_at(page_starts, c.char_begin);
        c.page_end = page_at(page_starts, c.char_end - 1);
        out.push_back(c);
        i = j;
    }
    return out;
}

} // namespace epic::storage
