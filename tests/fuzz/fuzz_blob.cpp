// libFuzzer target: the KV blob decoder (storage/kvstore/blob_codec.h decode_blob) on arbitrary
// bytes. Random bytes rarely get past the header checksum, so the first input byte picks a mode:
// even: the rest is the file as is; odd: the rest gets its compressed size, stored-payload checksum
// and header checksum filled in (as an intact file would have them) before decoding, so the fuzzer
// reaches the header fields, the limits and the zstd payload. Anything but storage_error escaping,
// or a decoded blob whose tensors lie outside its payload, is a finding.
#include "common/xxhash64.h"
#include "kvstore/blob_codec.h"
#include "storage_error.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

void put64(std::vector<std::byte>& b, size_t at, uint64_t v) {
    for (int i = 0; i < 8; ++i) b[at + i] = std::byte((v >> (8 * i)) & 0xFF);
}
uint32_t get32(const std::vector<std::byte>& b, size_t at) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | std::to_integer<uint32_t>(b[at + i]);
    return v;
}

// The layout of blob_codec.h: u32 header_bytes at 8, u64 compressed_bytes at 24, u64 stored_xxh64 at
// 40, u64 header_xxh64 in the header's last 8 bytes.
void fill_in_checksums(std::vector<std::byte>& b) {
    if (b.size() < epic::storage::blob_fixed_header_bytes + 8) return;
    const uint32_t header_bytes = get32(b, 8);
    if (header_bytes < epic::storage::blob_fixed_header_bytes + 8 || header_bytes > b.size()) return;
    put64(b, 24, b.size() - header_bytes);
    put64(b, 40, epic::storage::xxh64(b.data() + header_bytes, b.size() - header_bytes));
    put64(b, header_bytes - 8, epic::storage::xxh64(b.data(), header_bytes - 8));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    std::vector<std::byte> file(size - 1);
    if (size > 1) std::memcpy(file.data(), data + 1, size - 1);
    if (data[0] & 1) fill_in_checksums(file);
    try {
        const epic::storage::kv_blob blob = epic::storage::decode_blob(file, "fuzz.epkv");
        unsigned sink = 0;
        for (size_t i = 0; i < blob.tensors.size(); ++i) {
            const auto& t = blob.tensors[i];
            if (t.offset > blob.payload.size() || t.bytes > blob.payload.size() - t.offset) {
                std::fprintf(stderr, "decoded tensor %zu lies outside the payload\n", i);
                std::abort();
            }
            const auto d = blob.tensor_data(i);
            if (!d.empty()) sink += std::to_integer<unsigned>(d.front()) + std::to_integer<unsigned>(d.back());
        }
        volatile unsigned keep = sink;
        (void)keep;
    } catch (const epic::storage_error&) {
    }
    try {
        (void)epic::storage::decode_blob_header(file, "fuzz.epkv");
    } catch (const epic::storage_error&) {
    }
    return 0;
}
