#include "common/xxhash64.h"

#include <bit>
#include <cstring>
#include <string>

namespace epic::storage {
namespace {

constexpr std::uint64_t p1 = 0x9E3779B185EBCA87ULL;
constexpr std::uint64_t p2 = 0xC2B2AE3D27D4EB4FULL;
constexpr std::uint64_t p3 = 0x165667B19E3779F9ULL;
constexpr std::uint64_t p4 = 0x85EBCA77C2B2AE63ULL;
constexpr std::uint64_t p5 = 0x27D4EB2F165667C5ULL;

// Little-endian loads regardless of host order, so hashes written on one machine verify on another.
std::uint64_t read64(const unsigned char* p) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}
std::uint32_t read32(const unsigned char* p) {
    return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24;
}
std::uint64_t round_(std::uint64_t acc, std::uint64_t input) {
    acc += input * p2;
    acc = std::rotl(acc, 31);
    return acc * p1;
}
std::uint64_t merge_round(std::uint64_t acc, std::uint64_t val) {
    acc ^= round_(0, val);
    return acc * p1 + p4;
}

} // namespace

std::uint64_t xxh64(const void* data, std::size_t size, std::uint64_t seed) {
    const auto* p = static_cast<const unsigned char*>(data);
    const auto* end = p + size;
    std::uint64_t h;
    if (size >= 32) {
        std::uint64_t v1 = seed + p1 + p2, v2 = seed + p2, v3 = seed, v4 = seed - p1;
        const auto* limit = end - 32;
        do {
            v1 = round_(v1, read64(p));
            v2 = round_(v2, read64(p + 8));
            v3 = round_(v3, read64(p + 16));
            v4 = round_(v4, read64(p + 24));
            p += 32;
        } while (p <= limit);
        h = std::rotl(v1, 1) + std::rotl(v2, 7) + std::rotl(v3, 12) + std::rotl(v4, 18);
        h = merge_round(h, v1);
        h = merge_round(h, v2);
        h = merge_round(h, v3);
        h = merge_round(h, v4);
    } else {
        h = seed + p5;
    }
    h += static_cast<std::uint64_t>(size);
    while (end - p >= 8) {
        h ^= round_(0, read64(p));
        h = std::rotl(h, 27) * p1 + p4;
        p += 8;
    }
    if (end - p >= 4) {
        h ^= static_cast<std::uint64_t>(read32(p)) * p1;
        h = std::rotl(h, 23) * p2 + p3;
        p += 4;
    }
    while (p < end) {
        h ^= static_cast<std::uint64_t>(*p) * p5;
        h = std::rotl(h, 11) * p1;
        ++p;
    }
    h ^= h >> 33;
    h *= p2;
    h ^= h >> 29;
    h *= p3;
    h ^= h >> 32;
    return h;
}

std::string hex64(std::uint64_t value) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 15; i >= 0; --i, value >>= 4) out[i] = digits[value & 15];
    return out;
}

} // namespace epic::storage
