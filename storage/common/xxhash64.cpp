#include "common/xxhash64.h"

#include <xxhash.h>

#include <new>

namespace epic::storage {

std::uint64_t xxh64(const void* data, std::size_t size, std::uint64_t seed) { return XXH64(data, size, seed); }

xxh64_stream::xxh64_stream(std::uint64_t seed) : state_(XXH64_createState()) {
    if (!state_) throw std::bad_alloc();
    XXH64_reset(state_, seed);
}

xxh64_stream::~xxh64_stream() { XXH64_freeState(state_); }

xxh64_stream& xxh64_stream::add(const void* data, std::size_t size) {
    XXH64_update(state_, data, size);
    return *this;
}

std::uint64_t xxh64_stream::digest() const { return XXH64_digest(state_); }

std::string hex64(std::uint64_t value) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 15; i >= 0; --i, value >>= 4) out[i] = digits[value & 15];
    return out;
}

} // namespace epic::storage
