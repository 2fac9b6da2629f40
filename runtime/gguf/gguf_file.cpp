#include "gguf/gguf_file.h"

#include "common/error.h"
#include "gguf/gguf_cursor.h"
#include "gguf/gguf_read_value.h"

#include <cstring>

namespace epic {
namespace {

using gguf_detail::cursor;

constexpr uint32_t gguf_magic = 0x46554747; // "GGUF" read as a little-endian u32
constexpr size_t header_bytes = 4 + 4 + 8 + 8;
// Fewest bytes one kv pair / one tensor info can occupy: they bound n_kv and n_tensors before any
// memory is reserved for them.
constexpr size_t min_kv_bytes = 8 + 4 + 1;          // empty key, type, 1-byte value
constexpr size_t min_tensor_info_bytes = 8 + 4 + 8 + 4 + 8; // empty name, n_dims, 1 dim, type, offset
constexpr int max_dims = 4;

std::string in_quotes(const std::string& s) { return "'" + s + "'"; }

bool mul_overflows(uint64_t a, uint64_t b, uint64_t& out) { return __builtin_mul_overflow(a, b, &out); }

} // namespace

int64_t gguf_tensor_info::n_elements() const {
    int64_t n = 1;
    for (int64_t d : ne) n *= d;
    return n;
}

std::unique_ptr<gguf_file> gguf_file::open(const std::string& path) {
    std::unique_ptr<gguf_file> f(new gguf_file());
    f->path_ = path;
    f->mapping_ = mapped_file::open(path);
    const size_t size = f->mapping_.size();
    if (size < header_bytes)
        throw error(path + ": truncated: the GGUF header needs " + std::to_string(header_bytes) +
                    " bytes, file has " + std::to_string(size));
    f->base_ = f->mapping_.data();
    f->size_ = size;
    f->parse(); // on throw, the unique_ptr unmaps
    return f;
}

std::unique_ptr<gguf_file> gguf_file::from_bytes(std::vector<uint8_t> bytes, const std::string& name) {
    std::unique_ptr<gguf_file> f(new gguf_file());
    f->path_ = name;
    f->owned_bytes_ = std::move(bytes);
    f->base_ = f->owned_bytes_.data();
    f->size_ = f->owned_bytes_.size();
    f->parse();
    return f;
}

void gguf_file::parse() {
    cursor c(base_, size_, path_);

    c.set_context("header");
    const uint32_t magic = c.read<uint32_t>("magic");
    if (magic != gguf_magic) {
        char shown[5] = {};
        std::memcpy(shown, &magic, 4);
        for (char& ch : shown)
            if (ch && (ch < 32 || ch > 126)) ch = '?';
        c.fail("bad magic '" + std::string(shown, 4) + "': not a GGUF file");
    }
    version_ = c.read<uint32_t>("version");
    if (version_ == 1) c.fail("GGUF version 1 (32-bit counts) is not supported; re-convert the model to GGUF v3");
    if (version_ != 2 && version_ != 3) {
        // A big-endian GGUF (v3 allows one) reads as a huge version on a little-endian host.
        const bool swapped = (version_ & 0xFFFF) == 0 && (version_ >> 24) <= 3;
        c.fail("unsupported GGUF version " + std::to_string(version_) +
               (swapped ? " (a big-endian file? only little-endian is supported)" : " (expected 2 or 3)"));
    }
    const uint64_t n_tensors = c.read<uint64_t>("tensor count");
    const uint64_t n_kv = c.read<uint64_t>("metadata count");
    if (n_kv > c.remaining() / min_kv_bytes)
        c.fail("truncated: metadata count " + std::to_string(n_kv) + " cannot fit in the " +
               std::to_string(c.remaining()) + " bytes after the header (kv count too large)");
    if (n_tensors > c.remaining() / min_tensor_info_bytes)
        c.fail("truncated: tensor count " + std::to_string(n_tensors) + " cannot fit in the " +
               std::to_string(c.remaining()) + " bytes after the header (tensor count too large)");

    // --- metadata ------------------------------------------------------------------------------------
    kv_.reserve((size_t)n_kv);
    uint64_t budget = gguf_detail::max_metadata_values;
    for (uint64_t k = 0; k < n_kv; ++k) {
        c.set_context("metadata " + std::to_string(k));
        std::string key = c.read_string("key");
        c.set_context("metadata " + std::to_string(k) + " (" + in_quotes(key) + ")");
        if (kv_index_.count(key)) c.fail("duplicate key " + in_quotes(key) + " (metadata " + std::to_string(k) + ")");
        const uint32_t type_id = c.read<uint32_t>("value type");
        if (!is_valid_gguf_type(type_id))
            c.fail_here("unknown value type " + std::to_string(type_id));
        gguf_value v = gguf_detail::read_value(c, (gguf_type)type_id, 0, budget);
        kv_index_.emplace(key, kv_.size());
        kv_.push_back({std::move(key), std::move(v)});
    }

    if (const gguf_value* a = find("general.alignment")) {
        if (a->type != gguf_type::u32)
            c.fail(std::string("general.alignment has type ") + a->type_string() + ", expected u32");
        if (a->u == 0 || (a->u & (a->u - 1)) != 0)
            c.fail("invalid general.alignment " + std::to_string(a->u) + " (must be a power of two)");
        alignment_ = (size_t)a->u;
    }

    // --- tensor infos ----------------------------------------------------------------------------------
    tensors_.reserve((size_t)n_tensors);
    for (uint64_t k = 0; k < n_tensors; ++k) {
        c.set_context("tensor info " + std::to_string(k));
        gguf_tensor_info t;
        t.name = c.read_string("name");
        c.set_context("tensor info " + std::to_string(k) + " (" + in_quotes(t.name) + ")");
        if (tensor_index_.count(t.name)) c.fail("duplicate tensor name " + in_quotes(t.name));
        const uint32_t n_dims = c.read<uint32_t>("n_dims");
        if (n_dims == 0 || n_dims > (uint32_t)max_dims)
            c.fail("tensor " + in_quotes(t.name) + " has n_dims " + std::to_string(n_dims) + " (must be 1.." +
                   std::to_string(max_dims) + ")");
        t.ne.resize(n_dims);
        uint64_t n_elements = 1;
        for (uint32_t d = 0; d < n_dims; ++d) {
            t.ne[d] = c.read<int64_t>("dimension");
            if (t.ne[d] < 0)
                c.fail("tensor " + in_quotes(t.name) + " has negative dimension ne[" + std::to_string(d) +
                       "] = " + std::to_string(t.ne[d]));
            if (mul_overflows(n_elements, (uint64_t)t.ne[d], n_elements) || n_elements > (uint64_t)INT64_MAX)
                c.fail("tensor " + in_quotes(t.name) + ": element count overflows (shape too large)");
        }
        const uint32_t type_id = c.read<uint32_t>("type");
        const auto tr = find_type_traits(type_id);
        if (!tr) c.fail("tensor " + in_quotes(t.name) + " has unknown type id " + std::to_string(type_id));
        t.type = (ggml_type)type_id;
        if (t.ne[0] % tr->block_size != 0)
            c.fail("tensor " + in_quotes(t.name) + ": row length " + std::to_string(t.ne[0]) +
                   " is not a multiple of the " + tr->name + " block size " + std::to_string(tr->block_size));
        uint64_t nbytes = 0;
        // n_elements is a multiple of block_size because ne[0] is.
        if (mul_overflows(n_elements / (uint64_t)tr->block_size, tr->block_bytes, nbytes))
            c.fail("tensor " + in_quotes(t.name) + ": byte size overflows (shape too large)");
        t.nbytes = (size_t)nbytes;
        t.offset = c.read<uint64_t>("offset");
        if (t.offset % alignment_ != 0)
            c.fail("tensor " + in_quotes(t.name) + " offset " + std::to_string(t.offset) + " is misaligned (not a multiple of alignment " +
                   std::to_string(alignment_) + ")");
        tensor_index_.emplace(t.name, tensors_.size());
        tensors_.push_back(std::move(t));
    }

    // --- data section ----------------------------------------------------------------------------------
    // It starts at the first multiple of the alignment after the tensor infos. A file without tensors
    // may end before that padding (vocabulary-only files do), so only tensors are checked against it.
    const size_t info_end = c.pos();
    data_offset_ = info_end + (alignment_ - info_end % alignment_) % alignment_;
    if (data_offset_ < info_end) c.fail("data section offset overflows");
    for (auto& t : tensors_) {
        uint64_t end = 0;
        if (__builtin_add_overflow((uint64_t)data_offset_, t.offset, &end) ||
            __builtin_add_overflow(end, (uint64_t)t.nbytes, &end) || end > size_)
            c.fail("truncated: tensor " + in_quotes(t.name) + " data (" + std::to_string(t.nbytes) +
                   " bytes at data offset " + std::to_string(t.offset) + ", file offset " +
                   (t.offset > UINT64_MAX - data_offset_ ? std::string("past 2^64")
                                                         : std::to_string(data_offset_ + t.offset)) +
                   ") is past the end of the file, which has " + std::to_string(size_) + " bytes");
        t.data = base_ + data_offset_ + t.offset;
    }
}

const gguf_value* gguf_file::find(std::string_view key) const {
    const auto it = kv_index_.find(std::string(key));
    return it == kv_index_.end() ? nullptr : &kv_[it->second].value;
}

const gguf_tensor_info* gguf_file::find_tensor(std::string_view name) const {
    const auto it = tensor_index_.find(std::string(name));
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

} // namespace epic
