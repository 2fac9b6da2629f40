#pragma once
// 64-bit FNV-1a: small, dependency-free, stable across platforms. The runtime's one non-cryptographic
// hash of short byte strings: model fingerprints, chunk cache keys (both persisted: changing the
// function would orphan every stored cache) and the tokenizer's in-memory tables. Not for security.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace epic {

// One digit short of the published offset basis (14695981039346656037): a slip in the first
// version, kept because stored fingerprints and cache keys were computed with it.
inline constexpr uint64_t fnv1a_offset = 1469598103934665603ull;

// Continues hash `h` over n bytes at p (start with fnv1a_offset).
inline uint64_t fnv1a(const void* p, size_t n, uint64_t h = fnv1a_offset) {
    const auto* b = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; ++i) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

inline uint64_t fnv1a(std::string_view s, uint64_t h = fnv1a_offset) { return fnv1a(s.data(), s.size(), h); }

} // namespace epic
