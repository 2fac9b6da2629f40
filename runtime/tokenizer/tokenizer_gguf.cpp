// tokenizer::from_gguf: "gpt2" vocabularies go to the byte-level BPE tokenizer (tokenizer_bpe.h);
// a GGUF "llama" vocabulary (pieces, scores, token types, special ids) turned
// into a sentencepiece BPE ModelProto with Llama's normalizer, the same model llama.cpp's SPM
// tokenizer implements.
#include "tokenizer/tokenizer.h"

#include "common/error.h"
#include "gguf/gguf_file.h"
#include "tokenizer/spm_model_proto.h"
#include "tokenizer/tokenizer_bpe.h"
#include "tokenizer/tokenizer_spm.h"

#include <cstdint>
#include <optional>
#include <unordered_set>

namespace epic {
namespace {

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type) happen to equal sentencepiece's
// piece types; 0 (undefined) is treated as normal, as llama.cpp does.
spm_piece_type piece_type(int64_t t, size_t index, const std::string& name) {
    if (t == 0) return spm_piece_type::normal;
    if (t < 1 || t > 6)
        throw error(name + ": tokenizer.ggml.token_type[" + std::to_string(index) + "] = " + std::to_string(t) +
                    " is not a token type (1 normal .. 6 byte)");
    return static_cast<spm_piece_type>(t);
}

bool is_byte_piece_name(const std::string& p) {
    const auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f'); };
    return p.size() == 6 && p.compare(0, 3, "<0x") == 0 && hex(p[3]) && hex(p[4]) && p[5] == '>';
}

// A special id from the metadata: the key's value when present (checked against the vocabulary),
// else `fallback` when inside it, else -1.
int32_t special_id(const gguf_file& file, const char* key, int64_t fallback, size_t n_vocab) {
    const std::optional<int64_t> v = file.get_int(key);
    if (v) {
        if (*v < 0 || static_cast<uint64_t>(*v) >= n_vocab)
            throw error(file.path() + ": " + key + " = " + std::to_string(*v) + " is outside the vocabulary of " +
                        std::to_string(n_vocab) + " tokens");
        return static_cast<int32_t>(*v);
    }
    return (fallback >= 0 && static_cast<uint64_t>(fallback) < n_vocab) ? static_cast<int32_t>(fallback) : -1;
}

// sentencepiece keeps normal/user-defined/unused pieces in one map and control/unknown/byte pieces
// in another, refusing duplicates and empty pieces. Some converted vocabularies have either, so the
// later copy gets a unique placeholder name (and becomes unused, so encoding never produces it);
// token_bytes and decode still show the original text.
void rename_clashes(std::vector<spm_piece>& pieces) {
    const auto is_reserved = [](spm_piece_type t) {
        return t == spm_piece_type::control || t == spm_piece_type::unknown || t == spm_piece_type::byte;
    };
    std::unordered_set<std::string> normal, reserved;
    std::vector<size_t> clashes;
    for (size_t i = 0; i < pieces.size(); ++i) {
        auto& set = is_reserved(pieces[i].type) ? reserved : normal;
        if (pieces[i].piece.empty() || !set.insert(pieces[i].piece).second) clashes.push_back(i);
    }
    for (const size_t i : clashes) {
        std::string fresh = "<epic:renamed:" + std::to_string(i) + ">";
        while (normal.count(fresh) || reserved.count(fresh)) fresh += "_";
        const bool keep_control = pieces[i].type == spm_piece_type::control;
        (keep_control ? reserved : normal).insert(fresh);
        pieces[i].piece = fresh;
        if (!keep_control) pieces[i].type = spm_piece_type::unused;
    }
}

} // namespace

std::unique_ptr<tokenizer> tokenizer::from_gguf(const gguf_file& file) {
    const std::string& name = file.path();
    const std::optional<std::string> kind = file.get_string("tokenizer.ggml.model");
    if (!kind) throw error(name + ": no tokenizer (tokenizer.ggml.model is missing)");
    if (*kind == "gpt2") return bpe_tokenizer::from_gguf(file); // byte-level BPE: tokenizer_bpe.cpp
    if (*kind != "llama")
        throw error(name + ": tokenizer.ggml.model = " + *kind +
                    " is not supported (llama, the sentencepiece vocabulary, or gpt2, byte-level BPE)");

    std::optional<std::vector<std::string>> tokens = file.get_string_array("tokenizer.ggml.tokens");
    if (!tokens) throw error(name + ": tokenizer.ggml.tokens is missing");
    const size_t n = tokens->size();
    if (n == 0) throw error(name + ": tokenizer.ggml.tokens is empty");
    if (n > static_cast<size_t>(INT32_MAX)) throw error(name + ": tokenizer.ggml.tokens is too long");
    const std::optional<std::vector<float>> scores = file.get_float_array("tokenizer.ggml.scores");
    const std::optional<std::vector<int64_t>> types = file.get_int_array("tokenizer.ggml.token_type");
    // Missing scores or types default (0, normal) as in llama.cpp; present ones must cover every token.
    if (scores && scores->size() != n)
        throw error(name + ": tokenizer.ggml.scores has " + std::to_string(scores->size()) +
                    " entries but tokenizer.ggml.tokens has " + std::to_string(n));
    if (types && types->size() != n)
        throw error(name + ": tokenizer.ggml.token_type has " + std::to_string(types->size()) +
                    " entries but tokenizer.ggml.tokens has " + std::to_string(n));

    spm_model model;
    model.model_type = 2; // BPE
    model.pieces.resize(n);
    for (size_t i = 0; i < n; ++i) {
        spm_piece& p = model.pieces[i];
        p.piece = (*tokens)[i];
        p.score = scores ? (*scores)[i] : 0.0f;
        p.type = types ? piece_type((*types)[i], i, name) : spm_piece_type::normal;
        if (p.type == spm_piece_type::byte) {
            if (!is_byte_piece_name(p.piece))
                throw error(name + ": byte token " + std::to_string(i) + " is not named <0xNN>");
            model.byte_fallback = true;
        }
    }

    // llama.cpp's defaults for SPM vocabularies: unk 0, bos 1, eos 2.
    const int32_t bos = special_id(file, "tokenizer.ggml.bos_token_id", 1, n);
    const int32_t eos = special_id(file, "tokenizer.ggml.eos_token_id", 2, n);
    int32_t unk = -1;
    if (file.get_int("tokenizer.ggml.unknown_token_id")) {
        unk = special_id(file, "tokenizer.ggml.unknown_token_id", 0, n);
    } else {
        for (size_t i = 0; i < n && unk < 0; ++i)
            if (model.pieces[i].type == spm_piece_type::unknown) unk = static_cast<int32_t>(i);
        if (unk < 0) unk = 0;
    }
    if (unk == bos || unk == eos)
        throw error(name + ": the unknown token " + std::to_string(unk) + " is also the bos or eos token");
    // sentencepiece wants exactly one unknown piece.
    for (size_t i = 0; i < n; ++i)
        if (model.pieces[i].type == spm_piece_type::unknown && static_cast<int32_t>(i) != unk)
            model.pieces[i].type = spm_piece_type::control;
    if (model.pieces[unk].type == spm_piece_type::byte)
        throw error(name + ": the unknown token " + std::to_string(unk) + " is a byte token");
    model.pieces[unk].type = spm_piece_type::unknown;

    spm_tokenizer_options options;
    for (const spm_piece& p : model.pieces) options.display_pieces.push_back(p.piece);
    rename_clashes(model.pieces);

    model.unk_id = unk;
    model.bos_id = bos;
    model.eos_id = eos;
    model.unk_piece = model.pieces[unk].piece;
    if (bos >= 0) model.bos_piece = model.pieces[bos].piece;
    if (eos >= 0) model.eos_piece = model.pieces[eos].piece;
    // Llama 2's tokenizer.model: identity normalization, dummy prefix, whitespace kept as is.
    model.normalizer = spm_normalizer{};
    model.normalizer.add_dummy_prefix = file.get_bool("tokenizer.ggml.add_space_prefix").value_or(true);

    options.bos = bos;
    options.eos = eos;
    options.add_bos_default = file.get_bool("tokenizer.ggml.add_bos_token").value_or(true) && bos >= 0;
    return std::make_unique<spm_tokenizer>(spm_serialize(model), model, name, options);
}

} // namespace epic
