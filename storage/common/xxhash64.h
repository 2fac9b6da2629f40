#pragma once
// XXH64 (xxHash's 64-bit variant, from libxxhash): the project's one non-cryptographic hash. Blob
// checksums, content hashes, blob file names, model fingerprints, chunk cache keys, context
// fingerprints and the tokenizer's in-memory tables all use it: fast (GB/s), well distributed,
// stable across platforms. Not for security.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

struct XXH64_state_s;

namespace epic::storage {

std::uint64_t xxh64(const void* data, std::size_t size, std::uint64_t seed = 0);

inline std::uint64_t xxh64(std::span<const std::byte> bytes, std::uint64_t seed = 0) {
    return xxh64(bytes.data(), bytes.size(), seed);
}
inline std::uint64_t xxh64(std::string_view text, std::uint64_t seed = 0) {
    return xxh64(text.data(), text.size(), seed);
}

// XXH64 over pieces fed one after another: the same value as xxh64 over their concatenation.
class xxh64_stream {
public:
    explicit xxh64_stream(std::uint64_t seed = 0);
    ~xxh64_stream();
    xxh64_stream(const xxh64_stream&) = delete;
    xxh64_stream& operator=(const xxh64_stream&) = delete;

    xxh64_stream& add(const void* data, std::size_t size);
    xxh64_stream& add(std::string_view text) { return add(text.data(), text.size()); }
    std::uint64_t digest() const;

private:
    XXH64_state_s* state_;
};

// 16 lowercase hex digits, most significant first.
std::string hex64(std::uint64_t value);

} // namespace epic::storage
