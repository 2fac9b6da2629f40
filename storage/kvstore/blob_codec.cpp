#include "kvstore/blob_codec.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/xxhash64.h"
#include "storage_error.h"

#include <zstd.h>

#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>

namespace epic::storage {
namespace {

constexpr char magic[4] = {'E', 'P', 'K', 'V'};
constexpr std::uint32_t flag_byte_planes = 1u << 0;
constexpr std::uint32_t flag_stored = 1u << 1;
constexpr std::uint32_t known_flags = flag_byte_planes | flag_stored;
constexpr std::size_t fixed_prefix = blob_fixed_header_bytes;

class writer {
public:
    explicit writer(std::vector<std::byte>& out) : out_(out) {}
    void u8(std::uint8_t v) { out_.push_back(std::byte{v}); }
    void u16(std::uint16_t v) { le(v, 2); }
    void u32(std::uint32_t v) { le(v, 4); }
    void u64(std::uint64_t v) { le(v, 8); }
    void bytes(std::string_view s) {
        const auto* p = reinterpret_cast<const std::byte*>(s.data());
        out_.insert(out_.end(), p, p + s.size());
    }
    void patch_u32(std::size_t at, std::uint32_t v) {
        for (int i = 0; i < 4; ++i) out_[at + i] = std::byte(static_cast<unsigned char>(v >> (8 * i)));
    }

private:
    void le(std::uint64_t v, int n) {
        for (int i = 0; i < n; ++i) out_.push_back(std::byte(static_cast<unsigned char>(v >> (8 * i))));
    }
    std::vector<std::byte>& out_;
};

// Bounds-checked little-endian reader over the header: every read that would pass the end throws.
class reader {
public:
    reader(std::span<const std::byte> data, std::string_view name) : data_(data), name_(name) {}
    std::uint64_t le(int n, const char* what) {
        need(static_cast<std::size_t>(n), what);
        std::uint64_t v = 0;
        for (int i = n - 1; i >= 0; --i) v = (v << 8) | std::to_integer<std::uint64_t>(data_[pos_ + i]);
        pos_ += static_cast<std::size_t>(n);
        return v;
    }
    std::string text(std::size_t n, const char* what) {
        need(n, what);
        std::string s(reinterpret_cast<const char*>(data_.data() + pos_), n);
        pos_ += n;
        return s;
    }
    std::size_t pos() const { return pos_; }

private:
    void need(std::size_t n, const char* what) {
        if (n > data_.size() - pos_)
            throw storage_error(std::string(name_) + ": corrupt header: " + what + " runs past the header end");
    }
    std::span<const std::byte> data_;
    std::string_view name_;
    std::size_t pos_ = 0;
};

[[noreturn]] void fail(std::string_view name, const std::string& problem) {
    throw storage_error(std::string(name) + ": " + problem);
}

bool is_two_byte(kv_dtype t) { return dtype_size(t) == 2; }

} // namespace

// Both run on every blob load and store (tens of MB per question), so they are vectorized: SSE2
// pack/unpack moves 16 values per step where the byte loop managed about 250 MB/s.
void split_byte_planes(const std::byte* in_b, std::byte* out_b, std::size_t n) {
    // [n][2] -> [2][n]: plane 0 = low bytes, plane 1 = high bytes (sign + exponent for f16/bf16)
    const auto* __restrict in = reinterpret_cast<const std::uint8_t*>(in_b);
    auto* __restrict lo = reinterpret_cast<std::uint8_t*>(out_b);
    auto* __restrict hi = lo + n;
    std::size_t i = 0;
#if defined(__SSE2__)
    const __m128i mask = _mm_set1_epi16(0x00ff);
    for (; i + 16 <= n; i += 16) {
        const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 2 * i));      // values i..i+7
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 2 * i + 16)); // values i+8..i+15
        _mm_storeu_si128(reinterpret_cast<__m128i*>(lo + i), _mm_packus_epi16(_mm_and_si128(a, mask), _mm_and_si128(b, mask)));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(hi + i), _mm_packus_epi16(_mm_srli_epi16(a, 8), _mm_srli_epi16(b, 8)));
    }
#endif
    for (; i < n; ++i) {
        lo[i] = in[2 * i];
        hi[i] = in[2 * i + 1];
    }
}

void join_byte_planes(const std::byte* in_b, std::byte* out_b, std::size_t n) {
    const auto* __restrict lo = reinterpret_cast<const std::uint8_t*>(in_b);
    const auto* __restrict hi = lo + n;
    auto* __restrict out = reinterpret_cast<std::uint8_t*>(out_b);
    std::size_t i = 0;
#if defined(__SSE2__)
    for (; i + 16 <= n; i += 16) {
        const __m128i l = _mm_loadu_si128(reinterpret_cast<const __m128i*>(lo + i));
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(hi + i));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 2 * i), _mm_unpacklo_epi8(l, h));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 2 * i + 16), _mm_unpackhi_epi8(l, h));
    }
#endif
    for (; i < n; ++i) {
        out[2 * i] = lo[i];
        out[2 * i + 1] = hi[i];
    }
}

encoded_blob encode_blob(const kv_blob& blob, const blob_encode_options& options) {
    std::uint64_t expected = 0;
    for (const auto& t : blob.tensors) {
        if (t.offset != expected || t.shape.empty() || t.shape.size() > max_tensor_dims || t.name.size() > 0xFFFF)
            throw std::invalid_argument("kv_blob: inconsistent tensor list at " + t.name);
        expected += t.bytes;
    }
    if (expected != blob.payload.size()) throw std::invalid_argument("kv_blob: payload size disagrees with tensors");
    if (blob.key.size() > 0xFFFFFFFFu || blob.metadata.size() > 0xFFFFFFFFu)
        throw std::invalid_argument("kv_blob: key or metadata too long");

    encoded_blob out;
    out.raw_bytes = blob.payload.size();
    out.payload_checksum = xxh64(blob.payload);

    // The bytes zstd sees: planes split per 2-byte tensor when asked.
    std::vector<std::byte> planed;
    std::span<const std::byte> source = blob.payload;
    bool any_planes = false;
    if (options.byte_planes) {
        for (const auto& t : blob.tensors) any_planes |= is_two_byte(t.type);
        if (any_planes) {
            planed.resize(blob.payload.size());
            for (const auto& t : blob.tensors) {
                if (is_two_byte(t.type)) split_byte_planes(blob.payload.data() + t.offset, planed.data() + t.offset, t.bytes / 2);
                else std::memcpy(planed.data() + t.offset, blob.payload.data() + t.offset, t.bytes);
            }
            source = planed;
        }
    }

    std::vector<std::byte> compressed(ZSTD_compressBound(source.size()));
    const std::size_t n = ZSTD_compress(compressed.data(), compressed.size(), source.data(), source.size(),
                                        options.zstd_level);
    if (ZSTD_isError(n)) throw std::runtime_error(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
    compressed.resize(n);
    std::uint32_t flags = any_planes ? flag_byte_planes : 0;
    const blob_decode_limits limits;
    if (source.size() > n * limits.max_ratio + limits.max_slack) {
        // So compressible (all zeros, say) that the decoder's ratio guard would refuse it: store raw.
        compressed.assign(source.begin(), source.end());
        flags |= flag_stored;
    }
    out.compressed_bytes = compressed.size();

    auto& b = out.bytes;
    b.reserve(256 + blob.key.size() + blob.metadata.size() + compressed.size());
    writer w(b);
    w.bytes(std::string_view(magic, 4));
    w.u32(blob_format_version);
    w.u32(0);  // header_bytes, patched below
    w.u32(flags);
    w.u64(out.raw_bytes);
    w.u64(out.compressed_bytes);
    w.u64(out.payload_checksum);
    w.u64(xxh64(compressed.data(), compressed.size()));
    w.u32(static_cast<std::uint32_t>(blob.key.size()));
    w.bytes(blob.key);
    w.u32(static_cast<std::uint32_t>(blob.metadata.size()));
    w.bytes(blob.metadata);
    w.u32(static_cast<std::uint32_t>(blob.tensors.size()));
    for (const auto& t : blob.tensors) {
        w.u16(static_cast<std::uint16_t>(t.name.size()));
        w.bytes(t.name);
        w.u8(static_cast<std::uint8_t>(t.type));
        w.u8(static_cast<std::uint8_t>(t.shape.size()));
        for (auto d : t.shape) w.u64(d);
    }
    const std::size_t header_bytes = b.size() + 8;
    if (header_bytes > limits.max_header_bytes) throw std::invalid_argument("kv_blob: header too large");
    w.patch_u32(8, static_cast<std::uint32_t>(header_bytes));
    w.u64(xxh64(b.data(), b.size()));
    b.insert(b.end(), compressed.begin(), compressed.end());
    return out;
}

namespace {

// The fixed fields (magic .. stored checksum), checked for magic, version and a header size in range.
blob_header read_fixed_fields(std::span<const std::byte> file, std::string_view name, const blob_decode_limits& limits) {
    if (file.size() < 4 || std::memcmp(file.data(), magic, 4) != 0)
        fail(name, file.size() < 4 ? "truncated: " + std::to_string(file.size()) + " bytes, not a KV blob"
                                   : std::string("not a KV blob (bad magic)"));
    if (file.size() < fixed_prefix + 8)
        fail(name, "truncated: " + std::to_string(file.size()) + " bytes, shorter than a blob header");
    blob_header h;
    {
        reader r(file.first(fixed_prefix), name);
        r.le(4, "magic");
        h.version = static_cast<std::uint32_t>(r.le(4, "version"));
        h.header_bytes = static_cast<std::uint32_t>(r.le(4, "header size"));
        h.flags = static_cast<std::uint32_t>(r.le(4, "flags"));
        h.raw_bytes = r.le(8, "raw size");
        h.compressed_bytes = r.le(8, "compressed size");
        h.payload_checksum = r.le(8, "payload checksum");
        h.stored_checksum = r.le(8, "stored payload checksum");
    }
    if (h.version != blob_format_version)
        fail(name, "blob format version " + std::to_string(h.version) + " is not supported (this build reads " +
                       std::to_string(blob_format_version) + ")");
    if (h.header_bytes < fixed_prefix + 8 + 12 || h.header_bytes > limits.max_header_bytes)
        fail(name, "corrupt header: header size " + std::to_string(h.header_bytes) + " is out of range");
    return h;
}

} // namespace

std::uint64_t blob_header_size(std::span<const std::byte> prefix, std::string_view name, const blob_decode_limits& limits) {
    return read_fixed_fields(prefix, name, limits).header_bytes;
}

blob_header decode_blob_header(std::span<const std::byte> file, std::string_view name,
                               const blob_decode_limits& limits) {
    blob_header h = read_fixed_fields(file, name, limits);
    if (h.header_bytes > file.size())
        fail(name, "truncated: header needs " + std::to_string(h.header_bytes) + " bytes, file has " +
                       std::to_string(file.size()));
    const auto header = file.first(h.header_bytes);
    {
        reader tail(header.subspan(h.header_bytes - 8), name);
        if (tail.le(8, "header checksum") != xxh64(header.data(), h.header_bytes - 8))
            fail(name, "header checksum mismatch (corrupt header)");
    }
    if (h.flags & ~known_flags) fail(name, "unknown header flags " + std::to_string(h.flags));

    reader r(header.first(h.header_bytes - 8), name);
    r.text(fixed_prefix, "fixed fields");
    h.key = r.text(r.le(4, "key length"), "key");
    h.metadata = r.text(r.le(4, "metadata length"), "metadata");
    const std::uint64_t n_tensors = r.le(4, "tensor count");
    // Each tensor entry takes at least 4 bytes: a count beyond what the header can hold is corrupt,
    // and checking it first keeps the reserve() below bounded by the header size.
    if (n_tensors > (h.header_bytes - r.pos()) / 4) fail(name, "corrupt header: tensor count " + std::to_string(n_tensors));
    h.tensors.reserve(n_tensors);
    std::uint64_t offset = 0;
    for (std::uint64_t i = 0; i < n_tensors; ++i) {
        kv_tensor_info t;
        t.name = r.text(r.le(2, "tensor name length"), "tensor name");
        const auto type = static_cast<std::uint8_t>(r.le(1, "dtype"));
        if (!is_known_dtype(type)) fail(name, "corrupt header: unknown dtype " + std::to_string(type) + " for " + t.name);
        t.type = static_cast<kv_dtype>(type);
        const auto dims = r.le(1, "dims");
        if (dims == 0 || dims > max_tensor_dims)
            fail(name, "corrupt header: tensor " + t.name + " has " + std::to_string(dims) + " dims");
        std::uint64_t elements = 1;
        for (std::uint64_t d = 0; d < dims; ++d) {
            const std::uint64_t v = r.le(8, "shape");
            if (v != 0 && elements > limits.max_raw_bytes / v)
                fail(name, "corrupt header: tensor " + t.name + " shape promises more than the " +
                               std::to_string(limits.max_raw_bytes) + "-byte limit; refusing to allocate");
            elements *= v;
            t.shape.push_back(v);
        }
        t.bytes = elements * dtype_size(t.type);
        t.offset = offset;
        if (t.bytes > limits.max_raw_bytes - offset) fail(name, "corrupt header: tensors promise more than the " + std::to_string(limits.max_raw_bytes) +
                           "-byte limit; refusing to allocate");
        offset += t.bytes;
        h.tensors.push_back(std::move(t));
    }
    if (r.pos() != h.header_bytes - 8) fail(name, "corrupt header: trailing bytes after the tensor list");
    if (offset != h.raw_bytes)
        fail(name, "corrupt header: tensors total " + std::to_string(offset) + " bytes, header says " +
                       std::to_string(h.raw_bytes));
    // Stored payloads are raw_bytes long and zstd never expands by more than ~1/128 (ZSTD_compressBound):
    // a larger promise is corrupt, and bounding it bounds how much of the file a reader will allocate.
    if (h.compressed_bytes > h.raw_bytes + h.raw_bytes / 128 + (1u << 16))
        fail(name, "corrupt header: compressed size " + std::to_string(h.compressed_bytes) + " exceeds what " +
                       std::to_string(h.raw_bytes) + " raw bytes can need");
    return h;
}

kv_blob decode_blob(std::span<const std::byte> file, std::string_view name, const blob_decode_limits& limits) {
    blob_header h = decode_blob_header(file, name, limits);
    const auto payload = file.subspan(h.header_bytes);
    if (payload.size() != h.compressed_bytes)
        fail(name, (payload.size() < h.compressed_bytes ? "truncated payload: " : "trailing bytes after payload: ") +
                       std::to_string(payload.size()) + " bytes, header says " + std::to_string(h.compressed_bytes));
    if (xxh64(payload.data(), payload.size()) != h.stored_checksum)
        fail(name, "stored payload checksum mismatch (the file is damaged)");
    const bool stored = h.flags & flag_stored;
    // A stored payload IS the raw payload: any other length would copy past the buffer (found by fuzz_blob).
    if (stored && h.compressed_bytes != h.raw_bytes)
        fail(name, "corrupt header: stored payload of " + std::to_string(h.compressed_bytes) + " bytes, header says " +
                       std::to_string(h.raw_bytes) + " raw bytes");
    // Refuse before allocating: the promise must be plausible for this many compressed bytes.
    const std::uint64_t plausible = stored ? h.compressed_bytes
                                           : (h.compressed_bytes > (limits.max_raw_bytes / limits.max_ratio)
                                                  ? limits.max_raw_bytes
                                                  : h.compressed_bytes * limits.max_ratio + limits.max_slack);
    if (h.raw_bytes > limits.max_raw_bytes || h.raw_bytes > plausible)
        fail(name, "header promises " + std::to_string(h.raw_bytes) + " raw bytes from " +
                       std::to_string(h.compressed_bytes) + " compressed bytes (limit " +
                       std::to_string(std::min(plausible, limits.max_raw_bytes)) + "); refusing to allocate");

    kv_blob blob;
    blob.key = std::move(h.key);
    blob.metadata = std::move(h.metadata);
    blob.tensors = std::move(h.tensors);
    std::vector<std::byte> planed(h.raw_bytes);
    if (stored) {
        std::memcpy(planed.data(), payload.data(), payload.size());
    } else {
        const unsigned long long frame = ZSTD_getFrameContentSize(payload.data(), payload.size());
        if (frame == ZSTD_CONTENTSIZE_ERROR) fail(name, "corrupt payload: not a zstd frame");
        if (frame != ZSTD_CONTENTSIZE_UNKNOWN && frame != h.raw_bytes)
            fail(name, "corrupt payload: zstd frame holds " + std::to_string(frame) + " bytes, header says " +
                           std::to_string(h.raw_bytes));
        // The destination is exactly raw_bytes: zstd cannot write past it whatever the frame says.
        std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx(ZSTD_createDCtx(), &ZSTD_freeDCtx);
        if (!dctx) throw storage_error(std::string(name) + ": out of memory for a zstd context");
        const std::size_t n = ZSTD_decompressDCtx(dctx.get(), planed.data(), planed.size(), payload.data(), payload.size());
        if (ZSTD_isError(n)) fail(name, std::string("corrupt payload: zstd: ") + ZSTD_getErrorName(n));
        if (n != h.raw_bytes)
            fail(name, "corrupt payload: decompressed " + std::to_string(n) + " bytes, header says " +
                           std::to_string(h.raw_bytes));
    }
    if (h.flags & flag_byte_planes) {
        blob.payload.resize(h.raw_bytes);
        for (const auto& t : blob.tensors) {
            if (is_two_byte(t.type)) join_byte_planes(planed.data() + t.offset, blob.payload.data() + t.offset, t.bytes / 2);
            else std::memcpy(blob.payload.data() + t.offset, planed.data() + t.offset, t.bytes);
        }
    } else {
        blob.payload = std::move(planed);
    }
    if (xxh64(blob.payload) != h.payload_checksum) fail(name, "payload checksum mismatch (corrupt payload)");
    return blob;
}

} // namespace epic::storage
