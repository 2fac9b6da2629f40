// bpe_tokenizer: loading a GGUF "gpt2" vocabulary and encoding/decoding with it (see tokenizer_bpe.h).
#include "tokenizer/tokenizer_bpe.h"

#include "common/error.h"
#include "gguf/gguf_file.h"
#include "tokenizer/bpe_unicode.h"

#include <algorithm>
#include <optional>
#include <queue>

namespace epic {
namespace {

// llama.cpp's token types (tokenizer.ggml.token_type).
enum : uint8_t { t_undefined = 0, t_normal = 1, t_unknown = 2, t_control = 3, t_user_defined = 4, t_unused = 5, t_byte = 6 };

// The pre-tokenizers llama.cpp gives ignore_merges and a default BOS: Llama 3 and its relatives, and
// Tekken (Mistral Nemo), whose vocabularies hold whole words the merges cannot always rebuild.
bool takes_whole_words(const std::string& pre) {
    return pre == "llama3" || pre == "llama-v3" || pre == "llama-bpe" || pre == "falcon3" || pre == "pixtral" ||
           pre == "tekken";
}

int32_t special_id(const gguf_file& file, const char* key, size_t n_vocab) {
    const std::optional<int64_t> v = file.get_int(key);
    if (!v) return -1;
    if (*v < 0 || static_cast<uint64_t>(*v) >= n_vocab)
        throw error(file.path() + ": " + key + " = " + std::to_string(*v) + " is outside the vocabulary of " +
                    std::to_string(n_vocab) + " tokens");
    return static_cast<int32_t>(*v);
}

} // namespace

std::unique_ptr<bpe_tokenizer> bpe_tokenizer::from_gguf(const gguf_file& file) {
    const std::string& name = file.path();
    std::unique_ptr<bpe_tokenizer> t(new bpe_tokenizer());
    t->name_ = name;

    std::optional<std::vector<std::string>> tokens = file.get_string_array("tokenizer.ggml.tokens");
    if (!tokens) throw error(name + ": tokenizer.ggml.tokens is missing");
    const size_t n = tokens->size();
    if (n == 0) throw error(name + ": tokenizer.ggml.tokens is empty");
    if (n > static_cast<size_t>(INT32_MAX)) throw error(name + ": tokenizer.ggml.tokens is too long");
    const std::optional<std::vector<int64_t>> types = file.get_int_array("tokenizer.ggml.token_type");
    if (types && types->size() != n)
        throw error(name + ": tokenizer.ggml.token_type has " + std::to_string(types->size()) +
                    " entries but tokenizer.ggml.tokens has " + std::to_string(n));
    t->pieces_ = std::move(*tokens);
    t->types_.resize(n, t_normal);
    t->surface_.resize(n);
    for (size_t i = 0; i < n; ++i) {
        if (types) {
            const int64_t ty = (*types)[i];
            if (ty < 0 || ty > 6)
                throw error(name + ": tokenizer.ggml.token_type[" + std::to_string(i) + "] = " + std::to_string(ty) +
                            " is not a token type (0 undefined .. 6 byte)");
            t->types_[i] = ty == t_undefined ? uint8_t{t_normal} : static_cast<uint8_t>(ty);
        }
        const std::string& p = t->pieces_[i];
        switch (t->types_[i]) {
        case t_control: case t_unused: break;                                     // never printed
        case t_user_defined: case t_unknown: t->surface_[i] = p; break;           // stored as raw text
        default: t->surface_[i] = bpe::mapped_to_bytes(p); break;                 // byte-mapped text
        }
    }
    t->ids_.build(t->pieces_);
    for (int b = 0; b < 256; ++b)
        t->byte_id_[static_cast<size_t>(b)] =
            t->ids_.find(bpe::codepoint_to_utf8(bpe::byte_to_codepoint(static_cast<uint8_t>(b))), t->pieces_);

    const std::optional<std::vector<std::string>> merges = file.get_string_array("tokenizer.ggml.merges");
    if (!merges) throw error(name + ": tokenizer.ggml.merges is missing (a gpt2 vocabulary needs its BPE merges)");
    if (merges->size() > static_cast<size_t>(INT32_MAX)) throw error(name + ": tokenizer.ggml.merges is too long");
    t->merges_.reserve(merges->size());
    std::string joined; // reused: no allocation per merge
    for (size_t r = 0; r < merges->size(); ++r) {
        const std::string& m = (*merges)[r];
        // "left right": the separator is the first space after the first character (tokens are
        // byte-mapped, so they hold no spaces; a token that is itself a space would be 'Ġ').
        const size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
        if (sp == std::string::npos || sp + 1 >= m.size())
            throw error(name + ": tokenizer.ggml.merges[" + std::to_string(r) + "] = \"" + m +
                        "\" is not two tokens separated by a space");
        const std::string_view mv = m;
        const int32_t l = t->ids_.find(mv.substr(0, sp), t->pieces_);
        const int32_t rt = t->ids_.find(mv.substr(sp + 1), t->pieces_);
        joined.assign(mv.substr(0, sp));
        joined.append(mv.substr(sp + 1));
        const int32_t res = t->ids_.find(joined, t->pieces_);
        // A merge whose parts or result are not tokens can never produce a token: skip it.
        if (l < 0 || rt < 0 || res < 0) continue;
        t->merges_.insert(l, rt, {static_cast<int32_t>(r), res});
    }

    const std::string pre = file.get_string("tokenizer.ggml.pre").value_or("default");
    t->pre_ = std::make_unique<bpe_pretokenizer>(pre, name);
    t->ignore_merges_ = takes_whole_words(pre);

    t->bos_ = special_id(file, "tokenizer.ggml.bos_token_id", n);
    t->eos_ = special_id(file, "tokenizer.ggml.eos_token_id", n);
    special_id(file, "tokenizer.ggml.unknown_token_id", n); // checked only: missing bytes are dropped, not unknown
    // GPT-2 style vocabularies add no BOS unless the file says so; llama.cpp defaults Llama 3 and
    // Tekken to one.
    t->add_bos_ = file.get_bool("tokenizer.ggml.add_bos_token").value_or(takes_whole_words(pre)) && t->bos_ >= 0;

    for (size_t i = 0; i < n; ++i) {
        const uint8_t ty = t->types_[i];
        if ((ty == t_control || ty == t_user_defined || ty == t_unknown) && !t->pieces_[i].empty())
            t->specials_.push_back(static_cast<int32_t>(i));
    }
    // Longest first, so "<|im_start|>" wins over a shorter special it contains; ties by id.
    std::stable_sort(t->specials_.begin(), t->specials_.end(), [&](int32_t a, int32_t b) {
        return t->pieces_[static_cast<size_t>(a)].size() > t->pieces_[static_cast<size_t>(b)].size();
    });
    return t;
}

void bpe_tokenizer::check_id(int32_t id) const {
    if (id < 0 || id >= n_vocab())
        throw error(name_ + ": token id " + std::to_string(id) + " is outside the vocabulary of " +
                    std::to_string(n_vocab()) + " tokens");
}

bool bpe_tokenizer::is_control(int32_t id) const {
    check_id(id);
    return types_[static_cast<size_t>(id)] == t_control || id == bos_ || id == eos_;
}

const std::string& bpe_tokenizer::piece(int32_t id) const {
    check_id(id);
    return pieces_[static_cast<size_t>(id)];
}

int32_t bpe_tokenizer::find_piece(std::string_view text) const {
    return ids_.find(text, pieces_);
}

std::string bpe_tokenizer::token_bytes(int32_t id) const {
    check_id(id);
    return surface_[static_cast<size_t>(id)];
}

std::string bpe_tokenizer::decode(std::span<const int32_t> ids) const {
    std::string out;
    for (const int32_t id : ids) {
        check_id(id);
        out += surface_[static_cast<size_t>(id)];
    }
    return out;
}

std::vector<int32_t> bpe_tokenizer::encode(std::string_view text, bool add_bos) const {
    return encode_impl(text, add_bos, false);
}

std::vector<int32_t> bpe_tokenizer::encode_with_specials(std::string_view text, bool add_bos) const {
    return encode_impl(text, add_bos, true);
}

// Special tokens are taken as llama.cpp's tokenizer_st_partition takes them: for each special in
// order (longest first) every occurrence left to right that does not overlap text already claimed
// by an earlier special. Candidates are found in one pass over the text (indexed by first byte),
// then claimed in that order.
std::vector<int32_t> bpe_tokenizer::encode_impl(std::string_view text, bool add_bos, bool parse_control) const {
    std::vector<int32_t> out;
    if (add_bos && bos_ >= 0) out.push_back(bos_);

    struct hit {
        uint32_t order; // index into specials_
        size_t pos;
    };
    std::vector<hit> hits;
    std::array<std::vector<uint32_t>, 256> by_first; // specials_ indices by first byte
    for (uint32_t k = 0; k < specials_.size(); ++k) {
        const int32_t id = specials_[k];
        if (!parse_control && types_[static_cast<size_t>(id)] != t_user_defined) continue;
        by_first[static_cast<uint8_t>(pieces_[static_cast<size_t>(id)][0])].push_back(k);
    }
    for (size_t i = 0; i < text.size(); ++i)
        for (const uint32_t k : by_first[static_cast<uint8_t>(text[i])]) {
            const std::string& p = pieces_[static_cast<size_t>(specials_[k])];
            if (text.compare(i, p.size(), p) == 0) hits.push_back({k, i});
        }

    if (hits.empty()) {
        encode_text(text, out);
        return out;
    }
    std::sort(hits.begin(), hits.end(), [](const hit& a, const hit& b) { return a.order != b.order ? a.order < b.order : a.pos < b.pos; });
    std::vector<int32_t> claimed(text.size(), -1); // [text bytes] the special id covering each byte
    std::vector<std::pair<size_t, int32_t>> taken; // (position, id)
    for (const hit& h : hits) {
        const int32_t id = specials_[h.order];
        const size_t len = pieces_[static_cast<size_t>(id)].size();
        if (std::any_of(claimed.begin() + (std::ptrdiff_t)h.pos, claimed.begin() + (std::ptrdiff_t)(h.pos + len),
                        [](int32_t c) { return c >= 0; }))
            continue;
        std::fill(claimed.begin() + (std::ptrdiff_t)h.pos, claimed.begin() + (std::ptrdiff_t)(h.pos + len), id);
        taken.emplace_back(h.pos, id);
    }
    std::sort(taken.begin(), taken.end());
    size_t at = 0;
    for (const auto& [pos, id] : taken) {
        encode_text(text.substr(at, pos - at), out);
        out.push_back(id);
        at = pos + pieces_[static_cast<size_t>(id)].size();
    }
    encode_text(text.substr(at), out);
    return out;
}

// Text without specials: well-formed UTF-8 runs go through the pre-tokenizer; each invalid byte is
// its own byte token (the regular expressions only run on valid UTF-8).
void bpe_tokenizer::encode_text(std::string_view text, std::vector<int32_t>& out) const {
    std::vector<std::string_view> words;
    size_t run = 0;
    const auto flush = [&](size_t end) {
        if (end > run) {
            words.clear();
            pre_->split(text.substr(run, end - run), words);
            for (const std::string_view w : words) encode_word(w, out);
        }
    };
    for (size_t i = 0; i < text.size();) {
        const size_t n = bpe::utf8_valid_length(text, i);
        if (n > 0) {
            i += n;
            continue;
        }
        flush(i);
        const int32_t id = byte_id_[static_cast<uint8_t>(text[i])];
        if (id >= 0) out.push_back(id); // a byte the vocabulary lacks is dropped, as in encode_word
        run = ++i;
    }
    flush(text.size());
}

// BPE inside one word: symbols start as byte tokens in a linked list; a heap holds the adjacent
// pairs that have a merge, lowest rank first, then leftmost. A popped pair is applied only if both
// symbols are still the ones it was made from; merging pushes the new symbol's pairs with its
// neighbours. O(n log n) in the word length, so one long word (a base64 blob) stays cheap.
void bpe_tokenizer::encode_word(std::string_view word, std::vector<int32_t>& out) const {
    if (word.empty()) return;
    if (ignore_merges_) {
        const int32_t id = ids_.find(bpe::bytes_to_mapped(word), pieces_);
        if (id >= 0) {
            out.push_back(id);
            return;
        }
    }
    struct symbol {
        int32_t id;
        int32_t prev, next; // indices, -1 at the ends
    };
    struct pair {
        int32_t rank, left, right;
        int32_t left_id, right_id;
        bool operator>(const pair& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
    };
    const int32_t n = static_cast<int32_t>(word.size());
    std::vector<symbol> sym(static_cast<size_t>(n)); // [word bytes]
    for (int32_t i = 0; i < n; ++i)
        sym[(size_t)i] = {byte_id_[static_cast<uint8_t>(word[(size_t)i])], i - 1, i + 1 < n ? i + 1 : -1};
    std::priority_queue<pair, std::vector<pair>, std::greater<pair>> heap;
    const auto push = [&](int32_t l, int32_t r) {
        if (l < 0 || r < 0) return;
        const int32_t a = sym[(size_t)l].id, b = sym[(size_t)r].id;
        if (a < 0 || b < 0) return;
        if (const auto* m = merges_.find(a, b)) heap.push({m->rank, l, r, a, b});
    };
    for (int32_t i = 0; i + 1 < n; ++i) push(i, i + 1);
    while (!heap.empty()) {
        const pair p = heap.top();
        heap.pop();
        symbol& l = sym[(size_t)p.left];
        if (l.id != p.left_id || l.next != p.right || sym[(size_t)p.right].id != p.right_id) continue; // stale
        l.id = merges_.find(p.left_id, p.right_id)->result;
        const int32_t after = sym[(size_t)p.right].next;
        sym[(size_t)p.right].id = -2; // dead: no stale pair can match it again
        l.next = after;
        if (after >= 0) sym[(size_t)after].prev = p.left;
        push(l.prev, p.left);
        push(p.left, after);
    }
    for (int32_t i = 0; i >= 0; i = sym[(size_t)i].next) {
        const int32_t id = sym[(size_t)i].id;
        // A byte the vocabulary lacks (SmolLM2 has no token for 0x04, 0x13, 0xF1...) is dropped, as
        // llama.cpp drops it: its unknown token is <|endoftext|>, which must never appear mid-prompt.
        if (id >= 0) out.push_back(id);
    }
}

} // namespace epic
