#pragma once
// XXH64 (Yann Collet's xxHash, 64-bit variant), written from the published specification so storage
// needs no extra library. Used for blob checksums, content hashes and blob file names: fast (several
// GB/s), well distributed, and stable across platforms (explicit little-endian reads).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace epic::storage {

std::uint64_t xxh64(const void* data, std::size_t size, std::uint64_t seed = 0);

inline std::uint64_t xxh64(std::span<const std::byte> bytes, std::uint64_t seed = 0) {
    return xxh64(bytes.data(), bytes.size(), seed);
}
inline std::uint64_t xxh64(std::string_view text, std::uint64_t seed = 0) {
    return xxh64(text.data(), text.size(), seed);
}

// 16 lowercase hex digits, most significant first.
std::string hex64(std::uint64_t value);

} // namespace epic::storage
