#pragma once
// Text <-> token ids. One interface; the sentencepiece implementation serves GGUF vocabularies
// with tokenizer.ggml.model = "llama" and tokenizer.model files, the byte-level BPE implementation
// (tokenizer_bpe.h) GGUF vocabularies with tokenizer.ggml.model = "gpt2".
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace epic {

class gguf_file;

class tokenizer {
public:
    virtual ~tokenizer() = default;

    // Builds the tokenizer a GGUF file describes. Throws epic::error naming the file when the
    // vocabulary is missing, malformed or of an unsupported kind.
    static std::unique_ptr<tokenizer> from_gguf(const gguf_file& file);
    // Loads a sentencepiece tokenizer.model file (a regular file only: a FIFO is refused, never waited on).
    static std::unique_ptr<tokenizer> from_spm_file(const std::string& path);
    // Loads a serialized sentencepiece ModelProto held in memory (tests train one).
    static std::unique_ptr<tokenizer> from_spm_proto(const std::string& serialized, const std::string& name);

    // Any bytes encode without loss (byte fallback); invalid UTF-8 never crashes.
    // Control tokens written out in `text` ("<|im_start|>", "<|endoftext|>") are encoded as the text
    // they are, so document and user text can never inject them.
    virtual std::vector<int32_t> encode(std::string_view text, bool add_bos) const = 0;
    // As encode, but control tokens written out in `text` become their single ids (llama.cpp's
    // parse_special): for chat templates the program renders itself, never for user or document
    // text. The sentencepiece implementation has no such parsing and encodes exactly as encode().
    virtual std::vector<int32_t> encode_with_specials(std::string_view text, bool add_bos) const {
        return encode(text, add_bos);
    }
    // As encode(text, false), for text that continues other text of the same prompt (the question
    // segment after the documents): sentencepiece's dummy prefix marks the start of a text, so it
    // is not added here, as llama.cpp adds it only at the start and after a special token. Byte-level
    // BPE has no such prefix and encodes exactly as encode().
    virtual std::vector<int32_t> encode_continuation(std::string_view text) const { return encode(text, false); }
    virtual std::string decode(std::span<const int32_t> ids) const = 0;
    // The bytes one token stands for when it follows other text (leading-space marker turned into
    // a space, byte tokens into their byte). Streaming output concatenates these.
    virtual std::string token_bytes(int32_t id) const = 0;

    // The id of the token whose stored text is exactly `text` (first id when repeated), or -1: how
    // chat templates find their markup tokens ("<|im_start|>", "[INST]").
    virtual int32_t token_id(std::string_view text) const = 0;

    virtual int32_t n_vocab() const = 0;
    virtual int32_t bos() const = 0; // -1 when none
    virtual int32_t eos() const = 0; // -1 when none
    virtual bool add_bos_default() const = 0;
    virtual bool is_control(int32_t id) const = 0; // bos/eos/control tokens: never printed
};

} // namespace epic
