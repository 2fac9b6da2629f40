#include "tokenizer/spm_model_proto.h"

#include "common/error.h"

#include <cstring>

namespace epic {
namespace {

// Protobuf wire types.
constexpr uint32_t wire_varint = 0;
constexpr uint32_t wire_fixed64 = 1;
constexpr uint32_t wire_bytes = 2;
constexpr uint32_t wire_fixed32 = 5;

// Field numbers of sentencepiece_model.proto.
namespace model_field { constexpr uint32_t pieces = 1, trainer_spec = 2, normalizer_spec = 3; }
namespace piece_field { constexpr uint32_t piece = 1, score = 2, type = 3; }
namespace trainer_field {
constexpr uint32_t model_type = 3, vocab_size = 4, treat_whitespace_as_suffix = 24, byte_fallback = 35,
                   unk_id = 40, bos_id = 41, eos_id = 42, pad_id = 43, unk_surface = 44, unk_piece = 45,
                   bos_piece = 46, eos_piece = 47, pad_piece = 48;
}
namespace normalizer_field {
constexpr uint32_t name = 1, precompiled_charsmap = 2, add_dummy_prefix = 3, remove_extra_whitespaces = 4,
                   escape_whitespaces = 5;
}

class writer {
public:
    void varint(uint64_t v) {
        while (v >= 0x80) {
            out_.push_back(static_cast<char>((v & 0x7F) | 0x80));
            v >>= 7;
        }
        out_.push_back(static_cast<char>(v));
    }
    void tag(uint32_t field, uint32_t wire) { varint((uint64_t{field} << 3) | wire); }
    // int32 fields are sign-extended to 64 bits on the wire (so -1 takes ten bytes).
    void int_field(uint32_t field, int64_t v) { tag(field, wire_varint); varint(static_cast<uint64_t>(v)); }
    void bool_field(uint32_t field, bool v) { int_field(field, v ? 1 : 0); }
    void bytes_field(uint32_t field, std::string_view v) {
        tag(field, wire_bytes);
        varint(v.size());
        out_.append(v);
    }
    void float_field(uint32_t field, float v) {
        tag(field, wire_fixed32);
        uint32_t bits;
        std::memcpy(&bits, &v, 4);
        for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
    }
    std::string& str() { return out_; }

private:
    std::string out_;
};

struct wire_field {
    uint32_t number = 0;
    uint32_t wire = 0;
    uint64_t value = 0;     // varint, fixed32 and fixed64 payloads
    std::string_view bytes; // length-delimited payloads
};

// Walks the fields of one message, bounds-checking every length against the buffer.
class reader {
public:
    reader(std::string_view data, const std::string& name) : data_(data), name_(name) {}

    bool next(wire_field& f) {
        if (pos_ >= data_.size()) return false;
        const uint64_t key = varint();
        f.number = static_cast<uint32_t>(key >> 3);
        f.wire = static_cast<uint32_t>(key & 7);
        if (f.number == 0) fail("field number 0");
        switch (f.wire) {
        case wire_varint: f.value = varint(); break;
        case wire_fixed64: f.value = fixed(8); break;
        case wire_fixed32: f.value = fixed(4); break;
        case wire_bytes: {
            const uint64_t n = varint();
            if (n > data_.size() - pos_) fail("length-delimited field runs past the end");
            f.bytes = data_.substr(pos_, static_cast<size_t>(n));
            pos_ += static_cast<size_t>(n);
            break;
        }
        default: fail("unsupported wire type " + std::to_string(f.wire));
        }
        return true;
    }

    [[noreturn]] void fail(const std::string& what) const {
        throw error(name_ + ": malformed sentencepiece model (" + what + " at byte " + std::to_string(pos_) + ")");
    }

private:
    uint64_t varint() {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos_ >= data_.size()) fail("truncated varint");
            const auto b = static_cast<uint8_t>(data_[pos_++]);
            v |= uint64_t{b & 0x7Fu} << shift;
            if (b < 0x80) return v;
        }
        fail("varint longer than 10 bytes");
    }
    uint64_t fixed(size_t n) {
        if (n > data_.size() - pos_) fail("truncated fixed-width field");
        uint64_t v = 0;
        for (size_t i = 0; i < n; ++i) v |= uint64_t{static_cast<uint8_t>(data_[pos_ + i])} << (8 * i);
        pos_ += n;
        return v;
    }

    std::string_view data_;
    const std::string& name_;
    size_t pos_ = 0;
};

float as_float(const wire_field& f) {
    const auto bits = static_cast<uint32_t>(f.value);
    float v;
    std::memcpy(&v, &bits, 4);
    return v;
}

void expect_wire(const reader& r, const wire_field& f, uint32_t wire) {
    if (f.wire != wire)
        r.fail("field " + std::to_string(f.number) + " has wire type " + std::to_string(f.wire) +
               ", expected " + std::to_string(wire));
}

spm_piece parse_piece(std::string_view bytes, const std::string& name) {
    spm_piece p;
    reader r(bytes, name);
    wire_field f;
    while (r.next(f)) {
        if (f.number == piece_field::piece) { expect_wire(r, f, wire_bytes); p.piece = std::string(f.bytes); }
        else if (f.number == piece_field::score) { expect_wire(r, f, wire_fixed32); p.score = as_float(f); }
        else if (f.number == piece_field::type) {
            expect_wire(r, f, wire_varint);
            if (f.value < 1 || f.value > 6) r.fail("piece type " + std::to_string(f.value));
            p.type = static_cast<spm_piece_type>(f.value);
        }
    }
    return p;
}

void parse_trainer(std::string_view bytes, const std::string& name, spm_model& m) {
    reader r(bytes, name);
    wire_field f;
    const auto as_i32 = [](const wire_field& x) { return static_cast<int32_t>(static_cast<int64_t>(x.value)); };
    while (r.next(f)) {
        switch (f.number) {
        case trainer_field::model_type: expect_wire(r, f, wire_varint); m.model_type = as_i32(f); break;
        case trainer_field::treat_whitespace_as_suffix:
            expect_wire(r, f, wire_varint); m.treat_whitespace_as_suffix = f.value != 0; break;
        case trainer_field::byte_fallback: expect_wire(r, f, wire_varint); m.byte_fallback = f.value != 0; break;
        case trainer_field::unk_id: expect_wire(r, f, wire_varint); m.unk_id = as_i32(f); break;
        case trainer_field::bos_id: expect_wire(r, f, wire_varint); m.bos_id = as_i32(f); break;
        case trainer_field::eos_id: expect_wire(r, f, wire_varint); m.eos_id = as_i32(f); break;
        case trainer_field::pad_id: expect_wire(r, f, wire_varint); m.pad_id = as_i32(f); break;
        case trainer_field::unk_surface: expect_wire(r, f, wire_bytes); m.unk_surface = std::string(f.bytes); break;
        case trainer_field::unk_piece: expect_wire(r, f, wire_bytes); m.unk_piece = std::string(f.bytes); break;
        case trainer_field::bos_piece: expect_wire(r, f, wire_bytes); m.bos_piece = std::string(f.bytes); break;
        case trainer_field::eos_piece: expect_wire(r, f, wire_bytes); m.eos_piece = std::string(f.bytes); break;
        case trainer_field::pad_piece: expect_wire(r, f, wire_bytes); m.pad_piece = std::string(f.bytes); break;
        default: break;
        }
    }
}

void parse_normalizer(std::string_view bytes, const std::string& name, spm_normalizer& n) {
    reader r(bytes, name);
    wire_field f;
    while (r.next(f)) {
        switch (f.number) {
        case normalizer_field::name: expect_wire(r, f, wire_bytes); n.name = std::string(f.bytes); break;
        case normalizer_field::precompiled_charsmap:
            expect_wire(r, f, wire_bytes); n.precompiled_charsmap = std::string(f.bytes); break;
        case normalizer_field::add_dummy_prefix: expect_wire(r, f, wire_varint); n.add_dummy_prefix = f.value != 0; break;
        case normalizer_field::remove_extra_whitespaces:
            expect_wire(r, f, wire_varint); n.remove_extra_whitespaces = f.value != 0; break;
        case normalizer_field::escape_whitespaces:
            expect_wire(r, f, wire_varint); n.escape_whitespaces = f.value != 0; break;
        default: break;
        }
    }
}

} // namespace

std::string spm_serialize(const spm_model& model) {
    writer out;
    for (const spm_piece& p : model.pieces) {
        writer piece;
        piece.bytes_field(piece_field::piece, p.piece);
        piece.float_field(piece_field::score, p.score);
        piece.int_field(piece_field::type, static_cast<int32_t>(p.type));
        out.bytes_field(model_field::pieces, piece.str());
    }

    writer trainer;
    trainer.int_field(trainer_field::model_type, model.model_type);
    trainer.int_field(trainer_field::vocab_size, static_cast<int64_t>(model.pieces.size()));
    trainer.bool_field(trainer_field::treat_whitespace_as_suffix, model.treat_whitespace_as_suffix);
    trainer.bool_field(trainer_field::byte_fallback, model.byte_fallback);
    trainer.int_field(trainer_field::unk_id, model.unk_id);
    trainer.int_field(trainer_field::bos_id, model.bos_id);
    trainer.int_field(trainer_field::eos_id, model.eos_id);
    trainer.int_field(trainer_field::pad_id, model.pad_id);
    trainer.bytes_field(trainer_field::unk_surface, model.unk_surface);
    trainer.bytes_field(trainer_field::unk_piece, model.unk_piece);
    trainer.bytes_field(trainer_field::bos_piece, model.bos_piece);
    trainer.bytes_field(trainer_field::eos_piece, model.eos_piece);
    trainer.bytes_field(trainer_field::pad_piece, model.pad_piece);
    out.bytes_field(model_field::trainer_spec, trainer.str());

    const spm_normalizer& n = model.normalizer;
    writer norm;
    norm.bytes_field(normalizer_field::name, n.name);
    norm.bytes_field(normalizer_field::precompiled_charsmap, n.precompiled_charsmap);
    norm.bool_field(normalizer_field::add_dummy_prefix, n.add_dummy_prefix);
    norm.bool_field(normalizer_field::remove_extra_whitespaces, n.remove_extra_whitespaces);
    norm.bool_field(normalizer_field::escape_whitespaces, n.escape_whitespaces);
    out.bytes_field(model_field::normalizer_spec, norm.str());
    return std::move(out.str());
}

spm_model spm_parse(std::string_view serialized, const std::string& name) {
    spm_model m;
    // Defaults of the .proto where spm_model's own defaults (chosen for Llama) differ.
    m.model_type = 1;
    m.normalizer.remove_extra_whitespaces = true;
    m.normalizer.name.clear();
    reader r(serialized, name);
    wire_field f;
    while (r.next(f)) {
        if (f.number == model_field::pieces) {
            expect_wire(r, f, wire_bytes);
            m.pieces.push_back(parse_piece(f.bytes, name));
        } else if (f.number == model_field::trainer_spec) {
            expect_wire(r, f, wire_bytes);
            parse_trainer(f.bytes, name, m);
        } else if (f.number == model_field::normalizer_spec) {
            expect_wire(r, f, wire_bytes);
            parse_normalizer(f.bytes, name, m.normalizer);
        }
    }
    return m;
}

std::string spm_without_dummy_prefix(const std::string& serialized) {
    writer norm;
    norm.bool_field(normalizer_field::add_dummy_prefix, false);
    writer out;
    out.str() = serialized;
    out.bytes_field(model_field::normalizer_spec, norm.str());
    return std::move(out.str());
}

} // namespace epic
