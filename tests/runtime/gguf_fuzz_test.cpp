// Fuzzing the GGUF reader: every truncation and thousands of random corruptions of a valid file must
// either parse or throw epic::error — never crash, read out of bounds (CI runs this under ASan) or
// throw anything else. Parsing goes through from_bytes so the buffer ends exactly where the file does.
#include "common/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>

namespace epic {
namespace {

// A small file with every structure the parser has: strings, arrays of strings, nested arrays, the
// alignment key, several tensor types.
std::vector<uint8_t> small_valid_file(std::mt19937_64& rng) {
    gguf_writer w;
    w.set_alignment(32);
    w.set_string("general.architecture", "llama");
    w.set_u32("llama.block_count", 2);
    w.set_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
    w.set_bool("flag", true);
    w.set("big", gguf_value::make_u64(rng()));
    w.set_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "a", "bc"});
    w.set_f32_array("tokenizer.ggml.scores", {0.f, -1.f, -2.f, -3.f, -4.f});
    w.set("nested", gguf_value::make_array(gguf_type::array, {gguf_value::make_array(gguf_type::i32, {gguf_value::make_i32(1)}),
                                                               gguf_value::make_array(gguf_type::i32, {})}));
    auto bytes = [&](size_t n) {
        std::vector<uint8_t> b(n);
        for (auto& x : b) x = (uint8_t)rng();
        return b;
    };
    w.add_tensor("token_embd.weight", ggml_type::f32, {4, 5}, bytes(80));
    w.add_tensor("blk.0.attn_q.weight", ggml_type::q8_0, {32, 2}, bytes(68));
    w.add_tensor("blk.0.ffn_norm.weight", ggml_type::f16, {4}, bytes(8));
    return w.to_bytes();
}

// Parses and, when that succeeds, touches everything the file claims: every value through the typed
// getters and the first and last byte of every tensor (ASan flags any pointer outside the buffer).
// Returns false (after recording a failure) when anything other than epic::error escapes.
bool parse_or_error(std::vector<uint8_t> bytes, const std::string& what) {
    try {
        const auto f = gguf_file::from_bytes(std::move(bytes), "fuzz.gguf");
        unsigned sink = 0;
        for (const auto& kv : f->metadata()) {
            try {
                (void)f->get_int(kv.key);
            } catch (const error&) {}
            try {
                (void)f->get_float_array(kv.key);
            } catch (const error&) {}
            sink += (unsigned)kv.value.items.size();
        }
        for (const auto& t : f->tensors())
            if (t.nbytes > 0) sink += t.data[0] + t.data[t.nbytes - 1];
        (void)sink;
        return true;
    } catch (const error& e) {
        if (std::string(e.what()).find("fuzz.gguf") == std::string::npos) {
            ADD_FAILURE() << what << ": error without the file name: " << e.what();
            return false;
        }
        return true;
    } catch (const std::exception& e) {
        ADD_FAILURE() << what << ": threw a non-epic exception: " << e.what();
    } catch (...) {
        ADD_FAILURE() << what << ": threw something that is not an exception";
    }
    return false;
}

// Corrupts `b` in place: flip 1..8 random bytes, or overwrite a u64 / u32 at a random place in the
// header region with an extreme value (what a hostile count, length or offset looks like).
void corrupt(std::vector<uint8_t>& b, size_t header_end, std::mt19937_64& rng) {
    static constexpr uint64_t extremes[] = {0, 1, 3, 5, 0x7f, 0xffffffffull, 0x100000000ull, uint64_t(1) << 62,
                                            uint64_t(1) << 63, ~uint64_t(0), ~uint64_t(0) - 31, 0x7fffffffffffffffull};
    const size_t region = std::max<size_t>(std::min(header_end, b.size()), 8);
    switch (rng() % 3) {
    case 0: {
        // Mostly inside the header, where every byte steers the parser; sometimes anywhere.
        const size_t span = rng() % 4 ? region : b.size();
        for (size_t n = 1 + rng() % 8; n > 0; --n) b[rng() % span] ^= (uint8_t)(1 + rng() % 255);
        break;
    }
    case 1: {
        const uint64_t v = extremes[rng() % std::size(extremes)];
        const size_t at = rng() % (region - 7);
        std::memcpy(b.data() + at, &v, 8);
        break;
    }
    default: {
        const uint32_t v = (uint32_t)extremes[rng() % std::size(extremes)];
        const size_t at = rng() % (region - 3);
        std::memcpy(b.data() + at, &v, 4);
        break;
    }
    }
}

TEST(gguf_fuzz, every_truncation_of_a_small_file) {
    const uint32_t seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    const auto full = small_valid_file(rng);
    ASSERT_TRUE(parse_or_error(full, "full file"));
    ASSERT_EQ(gguf_file::from_bytes(full, "fuzz.gguf")->tensors().size(), 3u);
    size_t parsed = 0;
    for (size_t n = 0; n < full.size(); ++n) {
        std::vector<uint8_t> cut(full.begin(), full.begin() + (long)n);
        ASSERT_TRUE(parse_or_error(cut, "truncated to " + std::to_string(n)));
        try {
            gguf_file::from_bytes(cut, "fuzz.gguf");
            ++parsed;
        } catch (const error&) {}
    }
    // Only cuts inside the final tensor's padding can still hold every tensor.
    EXPECT_LT(parsed, 32u);
}

TEST(gguf_fuzz, random_corruptions_of_a_small_file) {
    const uint32_t seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    const auto full = small_valid_file(rng);
    const size_t header_end = gguf_file::from_bytes(full, "fuzz.gguf")->data_offset();
    int failures = 0;
    for (int k = 0; k < 15000 && failures < 5; ++k) {
        auto b = full;
        corrupt(b, header_end, rng);
        if (rng() % 4 == 0) b.resize(rng() % (b.size() + 1)); // corrupted and truncated
        if (!parse_or_error(b, "corruption " + std::to_string(k))) ++failures;
    }
}

std::vector<uint8_t> real_prefix(size_t max_bytes) {
    const auto path = epic::test::shared_model("stories260K/stories260K.gguf");
    std::ifstream in(path, std::ios::binary);
    std::vector<uint8_t> b(max_bytes);
    in.read(reinterpret_cast<char*>(b.data()), (std::streamsize)b.size());
    b.resize((size_t)in.gcount());
    return b;
}

TEST(gguf_fuzz, truncations_and_corruptions_of_a_real_file) {
    const auto path = epic::test::shared_model("stories260K/stories260K.gguf");
    EPIC_REQUIRE_SHARED(path);
    const uint32_t seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    const auto prefix = real_prefix(64 * 1024);
    ASSERT_EQ(prefix.size(), 64u * 1024u);
    // The whole header (metadata + tensor infos, ~14 KB) is in the prefix, so parsing reaches the
    // data check and must refuse the truncated tensor data.
    EXPECT_THROW(gguf_file::from_bytes(prefix, "fuzz.gguf"), error);
    const size_t header_end = gguf_file::open(path.string())->data_offset();
    ASSERT_LT(header_end, prefix.size());

    int failures = 0;
    for (int k = 0; k < 400 && failures < 5; ++k) {
        // Half the cuts land inside the header, where the parser is busiest.
        const size_t n = (k % 2) ? rng() % (header_end + 1) : rng() % (prefix.size() + 1);
        if (!parse_or_error(std::vector<uint8_t>(prefix.begin(), prefix.begin() + (long)n), "real cut " + std::to_string(n)))
            ++failures;
    }
    for (int k = 0; k < 1000 && failures < 5; ++k) {
        auto b = prefix;
        corrupt(b, header_end, rng);
        if (!parse_or_error(std::move(b), "real corruption " + std::to_string(k))) ++failures;
    }
}

} // namespace
} // namespace epic
