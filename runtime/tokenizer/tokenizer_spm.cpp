#include "tokenizer/tokenizer_spm.h"

#include "common/error.h"

#include <sentencepiece_processor.h>

namespace epic {
namespace {

constexpr std::string_view space_marker = "\xE2\x96\x81"; // U+2581 '▁', sentencepiece's escaped space

// Length of the well-formed UTF-8 sequence at text[pos], or 0 when the byte there does not start
// one. Strict as sentencepiece's own decoder: no overlong forms, no surrogates, nothing above
// U+10FFFF (anything it would reject is replaced by U+FFFD, which we must avoid).
size_t utf8_valid_len(std::string_view text, size_t pos) {
    const auto at = [&](size_t i) { return static_cast<uint8_t>(text[pos + i]); };
    const size_t left = text.size() - pos;
    const uint8_t c = at(0);
    if (c < 0x80) return 1;
    const auto cont = [&](size_t i) { return i < left && (at(i) & 0xC0) == 0x80; };
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (!cont(1) || !cont(2)) return 0;
        if (c == 0xE0 && at(1) < 0xA0) return 0; // overlong
        if (c == 0xED && at(1) >= 0xA0) return 0; // surrogate
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (!cont(1) || !cont(2) || !cont(3)) return 0;
        if (c == 0xF0 && at(1) < 0x90) return 0; // overlong
        if (c == 0xF4 && at(1) >= 0x90) return 0; // above U+10FFFF
        return 4;
    }
    return 0;
}

// "<0x1F>" -> 0x1F; -1 when the piece is not a byte piece's name.
int parse_byte_piece(std::string_view p) {
    if (p.size() != 6 || p.substr(0, 3) != "<0x" || p[5] != '>') return -1;
    int v = 0;
    for (size_t i = 3; i < 5; ++i) {
        const char c = p[i];
        int d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else return -1;
        v = v * 16 + d;
    }
    return v;
}

std::string replace_space_marker(std::string_view piece) {
    std::string out;
    out.reserve(piece.size());
    for (size_t i = 0; i < piece.size();) {
        if (piece.substr(i, space_marker.size()) == space_marker) {
            out.push_back(' ');
            i += space_marker.size();
        } else {
            out.push_back(piece[i++]);
        }
    }
    return out;
}

std::unique_ptr<sentencepiece::SentencePieceProcessor> load_processor(const std::string& serialized,
                                                                      const std::string& name) {
    auto sp = std::make_unique<sentencepiece::SentencePieceProcessor>();
    const auto status = sp->LoadFromSerializedProto(serialized);
    if (!status.ok()) throw error(name + ": sentencepiece cannot load the tokenizer model: " + status.ToString());
    return sp;
}

} // namespace

spm_tokenizer::spm_tokenizer(const std::string& serialized, const spm_model& model, const std::string& name,
                             const spm_tokenizer_options& options)
    : name_(name), bos_(options.bos), eos_(options.eos), add_bos_(options.add_bos_default) {
    sp_ = load_processor(serialized, name);
    const size_t n = model.pieces.size();
    if (static_cast<size_t>(sp_->GetPieceSize()) != n)
        throw error(name + ": sentencepiece loaded " + std::to_string(sp_->GetPieceSize()) + " pieces, the model lists " +
                    std::to_string(n));
    if (!options.display_pieces.empty() && options.display_pieces.size() != n)
        throw error(name + ": display pieces do not match the vocabulary size");
    for (const int32_t special : {bos_, eos_})
        if (special < -1 || special >= static_cast<int64_t>(n))
            throw error(name + ": special token id " + std::to_string(special) + " is outside the vocabulary of " +
                        std::to_string(n));

    dummy_prefix_ = model.normalizer.add_dummy_prefix && !model.treat_whitespace_as_suffix;
    if (model.normalizer.add_dummy_prefix) sp_cont_ = load_processor(spm_without_dummy_prefix(serialized), name);

    byte_id_.fill(-1);
    pieces_.resize(n);
    surface_.resize(n);
    control_.assign(n, 0);
    strippable_.assign(n, 0);
    for (size_t i = 0; i < n; ++i) {
        const spm_piece& p = model.pieces[i];
        pieces_[i] = options.display_pieces.empty() ? p.piece : options.display_pieces[i];
        const std::string& text = pieces_[i];
        switch (p.type) {
        case spm_piece_type::control: control_[i] = 1; break;
        case spm_piece_type::unknown:
            if (unk_ < 0) unk_ = static_cast<int32_t>(i);
            surface_[i] = model.unk_surface;
            break;
        case spm_piece_type::byte: {
            const int b = parse_byte_piece(text);
            if (b < 0) throw error(name + ": byte token " + std::to_string(i) + " is not named <0xNN>");
            if (byte_id_[b] < 0) byte_id_[b] = static_cast<int32_t>(i);
            surface_[i] = std::string(1, static_cast<char>(b));
            break;
        }
        default:
            surface_[i] = replace_space_marker(text);
            strippable_[i] = text.starts_with(space_marker) ? 1 : 0;
            if (text == space_marker && space_id_ < 0) space_id_ = static_cast<int32_t>(i);
            break;
        }
    }
    for (const int32_t special : {bos_, eos_})
        if (special >= 0) {
            control_[special] = 1;
            surface_[special].clear();
        }
}

spm_tokenizer::~spm_tokenizer() = default;

void spm_tokenizer::check_id(int32_t id) const {
    if (id < 0 || id >= n_vocab())
        throw error(name_ + ": token id " + std::to_string(id) + " is outside the vocabulary of " +
                    std::to_string(n_vocab()));
}

bool spm_tokenizer::is_control(int32_t id) const {
    check_id(id);
    return control_[id] != 0;
}

const std::string& spm_tokenizer::piece(int32_t id) const {
    check_id(id);
    return pieces_[id];
}

// A scan, not a map: called a few times per prompt, it costs ~1 ms on a 262k vocabulary and keeps
// no second copy of the pieces.
int32_t spm_tokenizer::token_id(std::string_view text) const {
    for (size_t i = 0; i < pieces_.size(); ++i)
        if (pieces_[i] == text) return static_cast<int32_t>(i);
    return -1;
}

std::string spm_tokenizer::token_bytes(int32_t id) const {
    check_id(id);
    return surface_[id];
}

void spm_tokenizer::encode_valid(std::string_view text, bool first, std::vector<int32_t>& out) const {
    const auto& sp = (first || !sp_cont_) ? *sp_ : *sp_cont_;
    std::vector<int> ids;
    const auto status = sp.Encode(text, &ids);
    if (!status.ok()) throw error(name_ + ": sentencepiece cannot encode the text: " + status.ToString());
    out.insert(out.end(), ids.begin(), ids.end());
}

std::vector<int32_t> spm_tokenizer::encode(std::string_view text, bool add_bos) const {
    return encode_impl(text, add_bos, true);
}

std::vector<int32_t> spm_tokenizer::encode_continuation(std::string_view text) const {
    return encode_impl(text, false, false);
}

// `first`: the text starts a fragment and takes the dummy prefix (which belongs to that start only).
std::vector<int32_t> spm_tokenizer::encode_impl(std::string_view text, bool add_bos, bool first) const {
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 2);
    if (add_bos && bos_ >= 0) out.push_back(bos_);
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = pos;
        while (end < text.size()) {
            const size_t len = utf8_valid_len(text, end);
            if (len == 0) break;
            end += len;
        }
        if (end > pos) {
            encode_valid(text.substr(pos, end - pos), first, out);
            first = false;
            pos = end;
            continue;
        }
        // An invalid byte: give the text its dummy prefix first, as if the byte were a character,
        // so that decoding can drop it the same way.
        if (first && dummy_prefix_ && space_id_ >= 0) out.push_back(space_id_);
        first = false;
        const int32_t id = byte_id_[static_cast<uint8_t>(text[pos])];
        if (id >= 0) out.push_back(id);
        else if (unk_ >= 0) out.push_back(unk_);
        ++pos;
    }
    return out;
}

std::string spm_tokenizer::decode(std::span<const int32_t> ids) const {
    std::string out;
    bool at_start = dummy_prefix_;
    for (const int32_t id : ids) {
        check_id(id);
        const std::string& s = surface_[id];
        if (s.empty()) continue;
        if (at_start && strippable_[id]) out.append(s, 1, std::string::npos);
        else out += s;
        at_start = false;
    }
    return out;
}

} // namespace epic
