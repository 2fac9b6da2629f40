// EPKV blob format: round trips for every dtype, corruption and truncation detection, lying headers.
#include "common/xxhash64.h"
#include "kvstore/atomic_file.h"
#include "kvstore/blob_codec.h"
#include "storage_error.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace epic::storage;
using epic::storage_error;

namespace {

std::vector<std::byte> random_bytes(std::mt19937_64& rng, std::size_t n) {
    std::vector<std::byte> v(n);
    for (auto& b : v) b = std::byte(rng() & 0xFF);
    return v;
}

// Gaussian-ish values with a per-row scale, stored as the dtype's bytes: not zeros, not uniform noise.
std::vector<std::byte> tensor_bytes(std::mt19937_64& rng, kv_dtype t, std::size_t elements) {
    std::normal_distribution<float> gauss(0.f, 1.f);
    std::vector<std::byte> out(elements * dtype_size(t));
    for (std::size_t i = 0; i < elements; ++i) {
        const float v = gauss(rng) * (1.f + static_cast<float>(i % 7));
        std::uint32_t bits;
        std::memcpy(&bits, &v, 4);
        switch (t) {
        case kv_dtype::f32: std::memcpy(&out[i * 4], &v, 4); break;
        case kv_dtype::f16: {  // crude f32->f16: enough to give realistic exponent bytes
            const std::uint16_t h = static_cast<std::uint16_t>(((bits >> 16) & 0x8000) |
                                                               ((((bits >> 23) & 0xFF) - 112) << 10 & 0x7C00) |
                                                               ((bits >> 13) & 0x3FF));
            std::memcpy(&out[i * 2], &h, 2);
            break;
        }
        case kv_dtype::bf16: {
            const std::uint16_t h = static_cast<std::uint16_t>(bits >> 16);
            std::memcpy(&out[i * 2], &h, 2);
            break;
        }
        case kv_dtype::u8: out[i] = std::byte(rng() & 0xFF); break;
        case kv_dtype::i32: {
            const std::int32_t x = static_cast<std::int32_t>(rng());
            std::memcpy(&out[i * 4], &x, 4);
            break;
        }
        }
    }
    return out;
}

kv_blob sample_blob(std::mt19937_64& rng) {
    kv_blob b;
    b.key = "model:abc|tokens:" + std::to_string(rng());
    b.metadata = "{\"layers\": 2, \"note\": \"caf\xC3\xA9\"}";
    const std::uint64_t tokens = 3 + rng() % 40;
    for (kv_dtype t : {kv_dtype::f16, kv_dtype::bf16, kv_dtype::f32, kv_dtype::u8, kv_dtype::i32}) {
        const std::vector<std::uint64_t> shape{tokens, 2, 8};
        b.add_tensor(std::string("t_") + std::string(dtype_name(t)), t, shape, tensor_bytes(rng, t, tokens * 16));
    }
    return b;
}

std::string decode_error(std::span<const std::byte> bytes, const std::string& name = "blob.epkv",
                         const blob_decode_limits& limits = {}) {
    try {
        decode_blob(bytes, name, limits);
    } catch (const storage_error& e) {
        return e.what();
    }
    return {};
}

// Rewrites the header checksum after editing header bytes, so a test reaches the check behind it.
void reseal_header(std::vector<std::byte>& file) {
    std::uint32_t header_bytes;
    std::memcpy(&header_bytes, &file[8], 4);
    const std::uint64_t h = xxh64(file.data(), header_bytes - 8);
    std::memcpy(&file[header_bytes - 8], &h, 8);
}

} // namespace

TEST(xxh64, matches_reference_vectors) {
    EXPECT_EQ(xxh64(std::string_view("")), 0xEF46DB3751D8E999ULL);
    EXPECT_EQ(xxh64(std::string_view("a")), 0xD24EC4F1A98C6E5BULL);
    EXPECT_EQ(xxh64(std::string_view("abc")), 0x44BC2CF5AD770999ULL);
    EXPECT_NE(xxh64(std::string_view("abc"), 1), xxh64(std::string_view("abc"), 0));
    EXPECT_EQ(hex64(0x0123456789ABCDEFULL), "0123456789abcdef");
}

TEST(kv_blob_codec, byte_planes_round_trip) {
    std::random_device rd;
    const auto seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    const std::size_t n = 1 + rng() % 1000;
    const auto in = random_bytes(rng, 2 * n);
    std::vector<std::byte> planes(2 * n), back(2 * n);
    split_byte_planes(in.data(), planes.data(), n);
    EXPECT_EQ(planes[0], in[0]);
    EXPECT_EQ(planes[n], in[1]);
    EXPECT_EQ(planes[n - 1], in[2 * n - 2]);
    join_byte_planes(planes.data(), back.data(), n);
    EXPECT_EQ(back, in);
}

TEST(kv_blob_codec, every_dtype_round_trips_with_and_without_planes) {
    std::random_device rd;
    const auto seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    const kv_blob blob = sample_blob(rng);
    for (bool planes : {true, false}) {
        for (int level : {1, 3, 9}) {
            SCOPED_TRACE("planes " + std::to_string(planes) + " level " + std::to_string(level));
            const auto enc = encode_blob(blob, {level, planes});
            EXPECT_EQ(enc.raw_bytes, blob.payload.size());
            EXPECT_EQ(enc.payload_checksum, xxh64(blob.payload));
            const kv_blob back = decode_blob(enc.bytes, "x.epkv");
            EXPECT_EQ(back.key, blob.key);
            EXPECT_EQ(back.metadata, blob.metadata);
            ASSERT_EQ(back.tensors.size(), blob.tensors.size());
            for (std::size_t i = 0; i < blob.tensors.size(); ++i) {
                EXPECT_EQ(back.tensors[i].name, blob.tensors[i].name);
                EXPECT_EQ(back.tensors[i].type, blob.tensors[i].type);
                EXPECT_EQ(back.tensors[i].shape, blob.tensors[i].shape);
                const auto a = back.tensor_data(i), b = blob.tensor_data(i);
                EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end())) << dtype_name(blob.tensors[i].type);
            }
            EXPECT_EQ(back.payload, blob.payload);
        }
    }
    // Planes change the compressed bytes (so the flag really does something) but not the content.
    EXPECT_NE(encode_blob(blob, {3, true}).bytes, encode_blob(blob, {3, false}).bytes);
}

TEST(kv_blob_codec, highly_compressible_payload_is_stored_and_still_loads) {
    kv_blob b;
    b.key = "zeros";
    std::vector<std::byte> zeros(8u << 20);
    b.add_tensor("z", kv_dtype::f16, {4u << 20}, zeros);
    const auto enc = encode_blob(b);
    const auto back = decode_blob(enc.bytes, "zeros.epkv");
    EXPECT_EQ(back.payload, zeros);
}

TEST(kv_blob_codec, flipped_bytes_anywhere_are_detected) {
    std::random_device rd;
    const auto seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    const kv_blob blob = sample_blob(rng);
    const auto enc = encode_blob(blob);
    std::uint32_t header_bytes;
    std::memcpy(&header_bytes, &enc.bytes[8], 4);
    ASSERT_LT(header_bytes, enc.bytes.size());
    // Every header byte, and a random sample of payload bytes, flipped one at a time.
    std::vector<std::size_t> positions;
    for (std::size_t i = 0; i < header_bytes; ++i) positions.push_back(i);
    for (int i = 0; i < 200; ++i) positions.push_back(header_bytes + rng() % (enc.bytes.size() - header_bytes));
    for (std::size_t pos : positions) {
        auto bad = enc.bytes;
        bad[pos] ^= std::byte(1u << (rng() % 8));
        const std::string err = decode_error(bad, "dir/bad.epkv");
        ASSERT_FALSE(err.empty()) << "flip at byte " << pos << " of " << bad.size() << " went unnoticed";
        EXPECT_EQ(err.rfind("dir/bad.epkv: ", 0), 0u) << err;
    }
    // The specific messages say what is wrong.
    auto bad = enc.bytes;
    bad[blob_fixed_header_bytes] ^= std::byte{0x10};  // inside the key length: header checksum catches it
    EXPECT_NE(decode_error(bad).find("header checksum mismatch"), std::string::npos) << decode_error(bad);
    bad = enc.bytes;
    bad.back() ^= std::byte{0x01};
    const std::string payload_err = decode_error(bad);
    EXPECT_NE(payload_err.find("payload"), std::string::npos) << payload_err;
}

TEST(kv_blob_codec, truncation_at_any_length_is_detected) {
    std::random_device rd;
    const auto seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    const auto enc = encode_blob(sample_blob(rng));
    for (std::size_t len = 0; len < enc.bytes.size(); len += 1 + rng() % 7) {
        const std::span<const std::byte> cut(enc.bytes.data(), len);
        const std::string err = decode_error(cut);
        ASSERT_FALSE(err.empty()) << "truncated to " << len;
        if (len >= 48) EXPECT_NE(err.find("truncated"), std::string::npos) << len << ": " << err;
    }
    auto longer = enc.bytes;
    longer.push_back(std::byte{0});
    EXPECT_NE(decode_error(longer).find("trailing bytes"), std::string::npos);
}

TEST(kv_blob_codec, header_promising_a_huge_size_is_refused_before_allocating) {
    std::random_device rd;
    const auto seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    kv_blob b;
    b.key = "k";
    b.add_tensor("t", kv_dtype::f16, {64, 8}, tensor_bytes(rng, kv_dtype::f16, 512));
    const auto enc = encode_blob(b);
    // Claim a [2^36] f16 tensor (128 GiB): tensor shape and raw size agree, checksum resealed, so only
    // the size guards stand between this file and a 128 GiB allocation.
    auto bad = enc.bytes;
    const std::uint64_t huge_elems = 1ull << 36, huge_raw = huge_elems * 2;
    std::memcpy(&bad[16], &huge_raw, 8);
    std::uint32_t header_bytes;
    std::memcpy(&header_bytes, &bad[8], 4);
    // shape dims sit just before the header checksum: [64, 8] -> [2^36 / 8, 8]
    const std::uint64_t d0 = huge_elems / 8;
    std::memcpy(&bad[header_bytes - 8 - 16], &d0, 8);
    reseal_header(bad);
    const std::string err = decode_error(bad, "huge.epkv");
    EXPECT_NE(err.find("refusing to allocate"), std::string::npos) << err;
    EXPECT_EQ(err.rfind("huge.epkv: ", 0), 0u) << err;

    // Within the absolute limit but implausible for the compressed size: refused by the ratio guard.
    bad = enc.bytes;
    const std::uint64_t elems = 1ull << 30, raw = elems * 2;  // 2 GiB from a few hundred bytes
    std::memcpy(&bad[16], &raw, 8);
    const std::uint64_t d0b = elems / 8;
    std::memcpy(&bad[header_bytes - 8 - 16], &d0b, 8);
    reseal_header(bad);
    const std::string err2 = decode_error(bad, "ratio.epkv");
    EXPECT_NE(err2.find("refusing to allocate"), std::string::npos) << err2;

    // A tensor count far beyond what the header can hold is refused too (no giant reserve()).
    bad = enc.bytes;
    const std::uint32_t key_len = 1;
    std::uint32_t meta_len;
    std::memcpy(&meta_len, &bad[blob_fixed_header_bytes + 4 + key_len], 4);
    const std::size_t count_at = blob_fixed_header_bytes + 4 + key_len + 4 + meta_len;
    const std::uint32_t many = 0xFFFFFFFFu;
    std::memcpy(&bad[count_at], &many, 4);
    reseal_header(bad);
    EXPECT_NE(decode_error(bad).find("tensor count"), std::string::npos) << decode_error(bad);
}

TEST(kv_blob_codec, atomic_write_and_read_back) {
    std::random_device rd;
    const auto seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    epic::test::scratch_dir dir;
    const auto target = dir / "a/b/c.bin";
    const auto first = random_bytes(rng, 1000 + rng() % 5000);
    const auto second = random_bytes(rng, 10 + rng() % 50);
    write_file_atomically(target, first);
    EXPECT_EQ(read_whole_file(target), first);
    write_file_atomically(target, second);  // replaces, never appends
    EXPECT_EQ(read_whole_file(target), second);
    // No temp files left behind.
    std::size_t files = 0;
    for (auto& e : std::filesystem::directory_iterator(target.parent_path())) files += e.is_regular_file();
    EXPECT_EQ(files, 1u);
    try {
        read_whole_file(dir / "missing.bin");
        FAIL();
    } catch (const storage_error& e) {
        EXPECT_NE(std::string(e.what()).find("missing.bin"), std::string::npos);
    }
}

TEST(kv_blob_codec, a_stored_payload_longer_than_its_raw_size_is_refused) {
    // fuzz_blob's minimal finding (69 bytes, valid checksums): flags = byte planes | stored, raw size 0,
    // one stored payload byte. The decoder used to copy the payload into a raw-sized (empty) buffer.
    const std::string b64 = "RVBLVgIAAABEAAAAAwAAAAAAAAAAAAAAAQAAAAAAAAAAAAAAAAAAAbZMnGPHwJL1AAAAAAAAAAAAAAAAkrEIa0fUZuoL";
    std::vector<std::byte> file;
    std::uint32_t acc = 0;
    int bits = 0;
    for (const char c : b64) {
        const auto pos = std::string_view("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/").find(c);
        ASSERT_NE(pos, std::string_view::npos);
        acc = (acc << 6) | static_cast<std::uint32_t>(pos);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            file.push_back(std::byte((acc >> bits) & 0xFF));
        }
    }
    ASSERT_EQ(file.size(), 69u);
    const std::string err = decode_error(file, "fuzz.epkv");
    EXPECT_NE(err.find("fuzz.epkv: corrupt header: stored payload of 1 bytes"), std::string::npos) << err;
}
