#pragma once
// A sentencepiece ModelProto in protobuf wire format, written and read by hand: Debian's
// libsentencepiece-dev ships neither sentencepiece_model.pb.h nor the protobuf headers, yet a GGUF
// vocabulary must become a ModelProto before SentencePieceProcessor::LoadFromSerializedProto can
// load it. Field numbers follow src/sentencepiece_model.proto (sentencepiece 0.1.97).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace epic {

// ModelProto.SentencePiece.Type
enum class spm_piece_type : int32_t {
    normal = 1,
    unknown = 2,
    control = 3,
    user_defined = 4,
    unused = 5,
    byte = 6,
};

struct spm_piece {
    std::string piece;
    float score = 0.0f;
    spm_piece_type type = spm_piece_type::normal;
};

// NormalizerSpec (the fields that change encoding). Llama's tokenizer.model sets name "identity",
// an empty charsmap, add_dummy_prefix true, remove_extra_whitespaces false.
struct spm_normalizer {
    std::string name = "identity";
    std::string precompiled_charsmap; // empty: identity
    bool add_dummy_prefix = true;
    bool remove_extra_whitespaces = false;
    bool escape_whitespaces = true;
};

// TrainerSpec (the fields the processor reads at encode/decode time) and the pieces.
struct spm_model {
    std::vector<spm_piece> pieces;
    int32_t model_type = 2; // TrainerSpec.ModelType: 1 unigram, 2 BPE (Llama vocabularies are BPE)
    bool byte_fallback = false;
    bool treat_whitespace_as_suffix = false;
    int32_t unk_id = 0;
    int32_t bos_id = 1;
    int32_t eos_id = 2;
    int32_t pad_id = -1;
    std::string unk_piece = "<unk>";
    std::string bos_piece = "<s>";
    std::string eos_piece = "</s>";
    std::string pad_piece = "<pad>";
    std::string unk_surface = " \xE2\x81\x87 "; // U+2047, sentencepiece's default
    spm_normalizer normalizer;
};

// Serializes `model` as a ModelProto.
std::string spm_serialize(const spm_model& model);

// Parses the fields of a serialized ModelProto that spm_model holds (unknown fields are skipped).
// Throws epic::error naming `name` when the bytes are not a well-formed protobuf message.
spm_model spm_parse(std::string_view serialized, const std::string& name);

// The same ModelProto with normalizer_spec.add_dummy_prefix forced to false. Protobuf merges a
// repeated embedded message into the earlier one, so appending a one-field NormalizerSpec suffices
// and every other field, known to us or not, is kept byte for byte.
std::string spm_without_dummy_prefix(const std::string& serialized);

} // namespace epic
