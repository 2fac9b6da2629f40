#pragma once
// The EPKV blob file format: a checksummed header followed by one zstd frame.
//
//   "EPKV" | u32 version=2 | u32 header_bytes | u32 flags | u64 raw_bytes | u64 compressed_bytes
//   | u64 payload_xxh64 (of the raw payload) | u64 stored_xxh64 (of the payload bytes as stored)
//   | u32 key_len, key | u32 meta_len, meta | u32 n_tensors
//   | n_tensors x (u16 name_len, name, u8 dtype, u8 n_dims, n_dims x u64 dim)
//   | u64 header_xxh64 (of every header byte before it) | payload (compressed_bytes)
//
// All integers little-endian. flags bit 0: 2-byte tensors are split into byte planes (all low bytes,
// then all high bytes) before compression: f16/bf16 high bytes hold sign and exponent, which repeat
// far more than mantissa bits, so zstd finds them once they are contiguous. flags bit 1: payload
// stored uncompressed (used only when zstd's ratio would exceed the decoder's sanity limit).
// payload_xxh64 covers the logical payload (tensors as kv_blob holds them, before planes).
#include "kvstore/kv_blob.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace epic::storage {

// Version 2 added stored_xxh64: zstd does not read every bit of a frame, so a flipped bit could leave
// the decompressed payload intact and the file silently damaged; now any change of the file is seen.
inline constexpr std::uint32_t blob_format_version = 2;
// Bytes of the fixed fields (magic .. stored checksum); key_len follows.
inline constexpr std::size_t blob_fixed_header_bytes = 48;

struct blob_encode_options {
    int zstd_level = 3;
    bool byte_planes = true;
};

struct blob_decode_limits {
    std::uint64_t max_header_bytes = 16ull << 20;
    // One chunk's KV cache: 2,048 tokens of a 70B model (80 layers x 8 KV heads x 128 x K,V x f16) is
    // 670 MB; nothing legitimate comes near this, and it bounds what a crafted file makes us allocate.
    std::uint64_t max_raw_bytes = 4ull << 30;
    // A zstd payload may promise at most this many raw bytes per compressed byte (plus max_slack):
    // a lying header cannot make us allocate gigabytes for a few bytes of file.
    std::uint64_t max_ratio = 1024;
    std::uint64_t max_slack = 1ull << 20;
};

struct encoded_blob {
    std::vector<std::byte> bytes;  // the whole file
    std::uint64_t raw_bytes = 0;
    std::uint64_t compressed_bytes = 0;
    std::uint64_t payload_checksum = 0;
    std::uint64_t stored_checksum = 0;
};

// Throws std::invalid_argument for a blob that cannot be represented (inconsistent tensors).
encoded_blob encode_blob(const kv_blob& blob, const blob_encode_options& options = {});

// Parses and fully verifies a blob file image. `name` prefixes every error message (the file path).
// Throws storage_error on any inconsistency: bad magic, unknown version, truncation, checksum
// mismatch, a header promising more than the limits allow, a zstd frame that disagrees with it.
kv_blob decode_blob(std::span<const std::byte> file, std::string_view name, const blob_decode_limits& limits = {});

// Just the header fields, verified against its checksum (no payload work): for listings and gc.
struct blob_header {
    std::uint32_t version = 0;
    std::uint32_t header_bytes = 0;
    std::uint32_t flags = 0;
    std::uint64_t raw_bytes = 0;
    std::uint64_t compressed_bytes = 0;
    std::uint64_t payload_checksum = 0;
    std::uint64_t stored_checksum = 0;
    std::string key;
    std::string metadata;
    std::vector<kv_tensor_info> tensors;
};
blob_header decode_blob_header(std::span<const std::byte> file, std::string_view name,
                               const blob_decode_limits& limits = {});
// The header size a file announces, from its first blob_fixed_header_bytes + 8 bytes (magic, version and
// range checked; storage_error otherwise): how much to read before decode_blob_header.
std::uint64_t blob_header_size(std::span<const std::byte> prefix, std::string_view name,
                               const blob_decode_limits& limits = {});

// Byte-plane transform of n 2-byte values (exposed for tests and the benchmark).
void split_byte_planes(const std::byte* in, std::byte* out, std::size_t n_values);
void join_byte_planes(const std::byte* in, std::byte* out, std::size_t n_values);

} // namespace epic::storage
