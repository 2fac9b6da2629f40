#pragma once
// The byte-level BPE tokenizer of GGUF vocabularies with tokenizer.ggml.model = "gpt2" (GPT-2,
// Llama 3, Qwen2, DeepSeek, SmolLM...), encoding as llama.cpp does:
//   1. special tokens written out in the text are cut out first and become their ids, longest first:
//      user-defined tokens always (llama.cpp matches them even without parse_special), control and
//      unknown tokens only through encode_with_specials();
//   2. each remaining stretch is split into well-formed UTF-8 runs and invalid bytes; an invalid
//      byte becomes the token of that single byte (llama.cpp would read it as U+FFFD; here no
//      byte is lost). A byte the vocabulary has no token for is dropped, as llama.cpp does (most
//      vocabularies have all 256; SmolLM2 lacks 21, among them 0x04, 0x13, 0xF1, 0xF2);
//   3. the runs are cut into words by the pre-tokenizer tokenizer.ggml.pre names (bpe_pretokenize.h);
//   4. in each word the bytes start as their byte tokens and the merges (tokenizer.ggml.merges,
//      rank = index) are applied lowest rank first, leftmost first among equal ranks. Llama 3 style
//      vocabularies ("llama-bpe") and Tekken take a whole word that is itself a token without merging.
//
// encode(text, add_bos) treats control tokens as plain text: document and user text can never
// inject "<|im_start|>" or "<|endoftext|>". Code that renders a chat template calls
// encode_with_specials() on the template's own text.
//
// Decoding: normal tokens go back through GPT-2's byte mapping to their raw bytes; user-defined
// tokens are their text; control and unused tokens give nothing. So decode(encode(x)) == x for any
// byte string x with no control-token text parsed, as long as each byte has a normal token
// (DeepSeek's vocabulary gives some never-valid bytes such as 0xF8 user-defined tokens 'ø', which
// decode as the character). No clean-up of spaces around punctuation is applied.
//
// Thread safety: every method is const and keeps no mutable state, so one tokenizer may serve
// several threads.
#include "tokenizer/bpe_pretokenize.h"
#include "tokenizer/bpe_tables.h"
#include "tokenizer/tokenizer.h"

#include <array>
#include <string>
#include <vector>

namespace epic {

class bpe_tokenizer final : public tokenizer {
public:
    // Reads the vocabulary of a GGUF file whose tokenizer.ggml.model is "gpt2". Throws epic::error
    // naming the file when tokens or merges are missing or malformed, a special id is outside the
    // vocabulary, or the pre-tokenizer is unknown.
    static std::unique_ptr<bpe_tokenizer> from_gguf(const gguf_file& file);

    std::vector<int32_t> encode(std::string_view text, bool add_bos) const override;
    std::vector<int32_t> encode_with_specials(std::string_view text, bool add_bos) const override;
    std::string decode(std::span<const int32_t> ids) const override;
    std::string token_bytes(int32_t id) const override;

    int32_t token_id(std::string_view text) const override { return find_piece(text); }
    int32_t n_vocab() const override { return static_cast<int32_t>(types_.size()); }
    int32_t bos() const override { return bos_; }
    int32_t eos() const override { return eos_; }
    bool add_bos_default() const override { return add_bos_; }
    bool is_control(int32_t id) const override;

    // The token text as the vocabulary stores it (byte-mapped: 'Ġ' for a space); for tools and tests.
    const std::string& piece(int32_t id) const;
    // The id of a token text as stored, or -1.
    int32_t find_piece(std::string_view text) const;

private:
    bpe_tokenizer() = default;
    void check_id(int32_t id) const;
    std::vector<int32_t> encode_impl(std::string_view text, bool add_bos, bool parse_control) const;
    void encode_text(std::string_view text, std::vector<int32_t>& out) const;
    void encode_word(std::string_view word, std::vector<int32_t>& out) const;

    std::string name_;
    std::vector<std::string> pieces_;                    // [n_vocab] token text as stored
    std::vector<std::string> surface_;                   // [n_vocab] what token_bytes returns
    std::vector<uint8_t> types_;                         // [n_vocab] llama.cpp token types (1 normal .. 6 byte)
    bpe::piece_index ids_;                               // token text -> id (first id when duplicated)
    bpe::merge_table merges_;                            // (left id, right id) -> rank and merged token
    std::array<int32_t, 256> byte_id_{};                 // token of each raw byte, -1 when absent
    std::vector<int32_t> specials_;                      // user-defined, control, unknown ids, longest text first
    std::unique_ptr<bpe_pretokenizer> pre_;
    int32_t bos_ = -1;
    int32_t eos_ = -1;
    bool add_bos_ = false;
    bool ignore_merges_ = false;                         // a word that is a token is taken whole (Llama 3)
};

} // namespace epic
