#pragma once
// The sentencepiece tokenizer: a SentencePieceProcessor loaded from a serialized ModelProto (read
// from a tokenizer.model file, or built from a GGUF vocabulary by spm_model_proto.h).
//
// Encoding: sentencepiece encodes valid UTF-8 exactly as the model file says (the ids llama.cpp
// produces for SPM vocabularies). Its normalizer replaces each invalid UTF-8 byte with U+FFFD, which
// would lose the byte, so invalid bytes are cut out here and emitted as their byte-fallback token
// (<0xNN>, or <unk> when the vocabulary has no byte tokens); the valid runs between them are
// encoded by a second processor without the dummy prefix, as they continue the text.
//
// Decoding concatenates token_bytes() (control tokens give nothing, byte tokens their raw byte, '▁'
// a space) and drops the one leading space the dummy prefix added to the first text token. So for
// models with add_dummy_prefix and without remove_extra_whitespaces (Llama, Mistral, GGUF vocabs):
// decode(encode(x)) == x for every byte string x (with or without BOS), leading spaces included, as
// long as the vocabulary has byte tokens -- except that a literal U+2581 '▁' in x is sentencepiece's
// escaped space and comes back as ' ' (llama.cpp's SPM tokenizer does the same). Models with
// remove_extra_whitespaces (e.g. stories260K's tok512.model) drop leading, trailing and repeated
// spaces when encoding, so those do not come back. treat_whitespace_as_suffix models are loaded but
// their dummy space is not removed by decode.
//
// Thread safety: every method is const and SentencePieceProcessor::Encode is const, so one
// tokenizer may serve several threads.
#include "tokenizer/spm_model_proto.h"
#include "tokenizer/tokenizer.h"

#include <array>
#include <memory>
#include <string>
#include <vector>

namespace sentencepiece { class SentencePieceProcessor; }

namespace epic {

struct spm_tokenizer_options {
    int32_t bos = -1;            // -1: none
    int32_t eos = -1;            // -1: none
    bool add_bos_default = true;
    // What token_bytes/decode show for each piece when it differs from the ModelProto's piece text
    // (a GGUF vocabulary's duplicate or empty pieces are renamed in the proto); empty: the proto's.
    std::vector<std::string> display_pieces;
};

class spm_tokenizer final : public tokenizer {
public:
    // `serialized` is a ModelProto and `model` its parse (spm_parse); `name` (a path) appears in
    // error messages. Throws epic::error when sentencepiece rejects the model.
    spm_tokenizer(const std::string& serialized, const spm_model& model, const std::string& name,
                  const spm_tokenizer_options& options);
    ~spm_tokenizer() override;

    std::vector<int32_t> encode(std::string_view text, bool add_bos) const override;
    std::vector<int32_t> encode_continuation(std::string_view text) const override;
    std::string decode(std::span<const int32_t> ids) const override;
    std::string token_bytes(int32_t id) const override;

    int32_t n_vocab() const override { return static_cast<int32_t>(surface_.size()); }
    int32_t bos() const override { return bos_; }
    int32_t eos() const override { return eos_; }
    bool add_bos_default() const override { return add_bos_; }
    bool is_control(int32_t id) const override;

    // The piece text as the vocabulary stores it ('▁' not replaced); for tools and tests.
    const std::string& piece(int32_t id) const;
    int32_t token_id(std::string_view text) const override;

private:
    void check_id(int32_t id) const;
    void encode_valid(std::string_view text, bool first, std::vector<int32_t>& out) const;
    std::vector<int32_t> encode_impl(std::string_view text, bool add_bos, bool first) const;

    std::string name_;
    std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;      // the model as given
    std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_cont_; // no dummy prefix; null when sp_ has none
    std::vector<std::string> pieces_;   // [n_vocab]
    std::vector<std::string> surface_;  // [n_vocab] what token_bytes returns
    std::vector<uint8_t> control_;      // [n_vocab] 1 for control tokens
    std::vector<uint8_t> strippable_;   // [n_vocab] 1 when the surface's leading space came from '▁'
    std::array<int32_t, 256> byte_id_;  // token of each byte value, -1 when absent
    int32_t unk_ = -1;
    int32_t space_id_ = -1;             // the "▁" piece, -1 when absent
    int32_t bos_ = -1;
    int32_t eos_ = -1;
    bool add_bos_ = true;
    bool dummy_prefix_ = false;         // the first text token carries an added leading '▁'
};

} // namespace epic
