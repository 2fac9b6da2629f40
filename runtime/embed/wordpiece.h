#pragma once
// The WordPiece tokenizer of BERT-style embedding models (all-MiniLM-L6-v2 and kin), encoding
// exactly as Hugging Face `tokenizers` does with a tokenizer.json of
//   normalizer BertNormalizer, pre_tokenizer BertPreTokenizer, model WordPiece:
//   1. clean text (clean_text): U+0000, U+FFFD and control/format/private-use characters are dropped
//      (\t \n \r excepted; \v, \f and U+0085 are controls and go), and whitespace (\t \n \r, Zs,
//      U+2028, U+2029) becomes a space;
//   2. CJK ideographs get a space on each side (handle_chinese_chars; HF's ranges, in which
//      U+2B820..U+2B91F are not);
//   3. accents are stripped (strip_accents; null in the JSON follows lowercase): NFD, then every
//      non-spacing mark (Mn) dropped;
//   4. lowercased code point by code point as Rust's char::to_lowercase does (lowercase): 'ẞ' gives
//      'ß', 'İ' gives "i" + U+0307 (met only without strip_accents, which has already made it "I"
//      and dropped the U+0307), and a final 'Σ' stays 'σ';
//   5. split into words at whitespace, and every punctuation character (ASCII punctuation or a
//      Unicode P* category) made a word of its own;
//   6. each word cut greedily into the longest vocabulary pieces from the left, later pieces written
//      with the continuation prefix ("##"); a word longer than max_input_chars_per_word (100)
//      characters, or with any stretch no piece matches, becomes the single unknown token.
// HF classifies characters with Unicode 8.0 tables (crate unicode_categories): characters assigned
// since are "unassigned" there and kept as they are. wordpiece.cpp carries the exceptions that make
// utf8proc's newer tables give the same results, checked code point by code point by the test.
//
// Special tokens written in the text ("[CLS]", "[SEP]", "[MASK]"...) are plain text here, as with
// HF's encode_special_tokens = true: document text cannot inject a separator. (HF's default would
// match them as added tokens before normalizing; the two differ only on such literal text.)
//
// Invalid UTF-8: each byte that does not start a well-formed sequence reads as U+FFFD, which clean
// text then drops, as HF drops the U+FFFD that Python's bytes.decode(errors="replace") leaves. (With
// clean_text off the count of U+FFFD could differ from Python's, one per bad byte here.)
//
// Thread safety: all methods are const and keep no mutable state; one tokenizer may serve many threads.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace epic {

// The settings of a tokenizer.json's BertNormalizer and WordPiece model, and the special tokens
// encode_for_model frames a text with. Defaults are bert-base-uncased's (and all-MiniLM-L6-v2's).
struct wordpiece_options {
    bool clean_text = true;
    bool handle_chinese_chars = true;
    bool strip_accents = true; // HF's null means "same as lowercase"; resolve it before filling this in
    bool lowercase = true;
    std::string unk_token = "[UNK]";
    std::string continuing_subword_prefix = "##";
    size_t max_input_chars_per_word = 100;
    std::string cls_token = "[CLS]";
    std::string sep_token = "[SEP]";
    std::string pad_token = "[PAD]";
};

class wordpiece_tokenizer {
public:
    // Reads a Hugging Face tokenizer.json whose model is WordPiece, normalizer BertNormalizer and
    // pre_tokenizer BertPreTokenizer (other pipelines would tokenize differently, so they are refused).
    // Throws epic::error naming the file and the problem: unreadable or malformed JSON, another model
    // type, missing vocabulary, ids that are not 0..n-1 each once, missing [CLS]/[SEP]/[UNK]/[PAD].
    static wordpiece_tokenizer from_file(const std::filesystem::path& tokenizer_json);

    // pieces[id] is the text of token id (continuation pieces with their "##"). `name` is what errors
    // call the vocabulary. Throws epic::error for an empty or duplicate piece or a special token
    // (options' unk/cls/sep/pad) missing from the pieces.
    wordpiece_tokenizer(std::vector<std::string> pieces, wordpiece_options options,
                        std::string name = "WordPiece vocabulary");

    // The ids of utf8 without special tokens.
    std::vector<int32_t> encode(std::string_view utf8) const;
    // [CLS] ids [SEP], the ids cut at the end so the whole is at most max_tokens long ([SEP] kept),
    // as HF's truncation of a single sequence does. Throws std::invalid_argument when max_tokens < 2.
    std::vector<int32_t> encode_for_model(std::string_view utf8, int max_tokens) const;

    // Steps 1-4 above: the normalized text, UTF-8. For tests and tools.
    std::string normalize(std::string_view utf8) const;
    // Steps 1-5: the words WordPiece receives, UTF-8. For tests and tools.
    std::vector<std::string> pre_tokenize(std::string_view utf8) const;

    int32_t cls_id() const { return cls_; }
    int32_t sep_id() const { return sep_; }
    int32_t pad_id() const { return pad_; }
    int32_t unk_id() const { return unk_; }
    size_t vocab_size() const { return pieces_.size(); }
    // The text of token id (throws std::out_of_range outside the vocabulary), and the id of a piece
    // or -1.
    const std::string& piece(int32_t id) const { return pieces_.at(static_cast<size_t>(id)); }
    int32_t find_piece(std::string_view text) const;
    const wordpiece_options& options() const { return options_; }

private:
    // Heterogeneous lookup: pieces are found by string_view without building a std::string.
    struct piece_hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    std::u32string normalize_code_points(std::string_view utf8) const;
    // Calls word(begin, end) for each word of normalized text, in order, until it returns false.
    template <class F> void for_each_word(const std::u32string& text, F&& word) const;
    struct word_scratch;
    // Appends the ids of one word (code points [begin, end)); scratch is reused between words.
    void encode_word(const char32_t* begin, const char32_t* end, word_scratch& scratch,
                     std::vector<int32_t>& out) const;
    std::vector<int32_t> encode_limited(std::string_view utf8, size_t limit) const;

    std::string name_;
    wordpiece_options options_;
    std::vector<std::string> pieces_;                                               // [n] text of each id
    std::unordered_map<std::string, int32_t, piece_hash, std::equal_to<>> ids_;     // text -> id
    int32_t unk_ = -1, cls_ = -1, sep_ = -1, pad_ = -1;
};

} // namespace epic
