// The hand-written ModelProto wire format: what spm_serialize writes, spm_parse and sentencepiece
// itself read back; real tokenizer.model files parse to the settings they are known to carry.
#include "common/error.h"
#include "tokenizer/spm_model_proto.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer_fixture.h"

#include <gtest/gtest.h>
#include <sentencepiece_processor.h>

#include <cstdio>
#include <set>

namespace epic {
namespace {

spm_model random_model(std::mt19937& rng) {
    spm_model m;
    m.pieces.push_back({"<unk>", 0.0f, spm_piece_type::unknown});
    m.pieces.push_back({"<s>", 0.0f, spm_piece_type::control});
    m.pieces.push_back({"</s>", 0.0f, spm_piece_type::control});
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        m.pieces.push_back({name, 0.0f, spm_piece_type::byte});
    }
    std::uniform_real_distribution<float> score(-1000.0f, 0.0f);
    const std::vector<std::string> chars = {"\xE2\x96\x81", "a", "b", "c", "é", "中", "😀"};
    // Every single character first, then random unique concatenations.
    for (const auto& c : chars) m.pieces.push_back({c, score(rng), spm_piece_type::normal});
    std::set<std::string> seen(chars.begin(), chars.end());
    while (m.pieces.size() < 300) {
        std::string p;
        const size_t len = 2 + rng() % 4;
        for (size_t i = 0; i < len; ++i) p += chars[rng() % chars.size()];
        if (seen.insert(p).second) m.pieces.push_back({p, score(rng), spm_piece_type::normal});
    }
    m.pieces.push_back({"<user>", 0.0f, spm_piece_type::user_defined});
    m.pieces.push_back({"<unused>", 0.0f, spm_piece_type::unused});
    m.byte_fallback = true;
    m.pad_id = -1; // ten-byte negative varint
    m.normalizer.add_dummy_prefix = rng() % 2;
    m.normalizer.remove_extra_whitespaces = rng() % 2;
    return m;
}

TEST(tokenizer_proto, serialize_parse_and_sentencepiece_agree) {
    const uint32_t seed = test::fresh_seed();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    for (int round = 0; round < 5; ++round) {
        const spm_model m = random_model(rng);
        const std::string bytes = spm_serialize(m);
        const spm_model back = spm_parse(bytes, "random.model");
        ASSERT_EQ(back.pieces.size(), m.pieces.size());
        for (size_t i = 0; i < m.pieces.size(); ++i) {
            EXPECT_EQ(back.pieces[i].piece, m.pieces[i].piece);
            EXPECT_EQ(back.pieces[i].score, m.pieces[i].score);
            EXPECT_EQ(back.pieces[i].type, m.pieces[i].type);
        }
        EXPECT_EQ(back.model_type, 2);
        EXPECT_TRUE(back.byte_fallback);
        EXPECT_EQ(back.pad_id, -1);
        EXPECT_EQ(back.unk_surface, m.unk_surface);
        EXPECT_EQ(back.normalizer.add_dummy_prefix, m.normalizer.add_dummy_prefix);
        EXPECT_EQ(back.normalizer.remove_extra_whitespaces, m.normalizer.remove_extra_whitespaces);
        EXPECT_EQ(spm_parse(spm_without_dummy_prefix(bytes), "x").normalizer.add_dummy_prefix, false);

        // sentencepiece reads the same pieces, scores and types.
        sentencepiece::SentencePieceProcessor sp;
        ASSERT_TRUE(sp.LoadFromSerializedProto(bytes).ok());
        ASSERT_EQ(sp.GetPieceSize(), static_cast<int>(m.pieces.size()));
        for (int i = 0; i < sp.GetPieceSize(); ++i) {
            EXPECT_EQ(sp.IdToPiece(i), m.pieces[i].piece);
            EXPECT_EQ(sp.GetScore(i), m.pieces[i].score);
            EXPECT_EQ(sp.IsByte(i), m.pieces[i].type == spm_piece_type::byte);
            EXPECT_EQ(sp.IsControl(i), m.pieces[i].type == spm_piece_type::control);
            EXPECT_EQ(sp.IsUnused(i), m.pieces[i].type == spm_piece_type::unused);
        }
        // The dummy prefix flag reaches sentencepiece's normalizer, and the appended override wins.
        std::vector<std::string> pieces;
        ASSERT_TRUE(sp.Encode("ab", &pieces).ok());
        ASSERT_FALSE(pieces.empty());
        EXPECT_EQ(pieces.front().rfind("\xE2\x96\x81", 0) == 0, m.normalizer.add_dummy_prefix);
        sentencepiece::SentencePieceProcessor no_prefix;
        ASSERT_TRUE(no_prefix.LoadFromSerializedProto(spm_without_dummy_prefix(bytes)).ok());
        ASSERT_TRUE(no_prefix.Encode("ab", &pieces).ok());
        EXPECT_NE(pieces.front().rfind("\xE2\x96\x81", 0), 0u);
    }
}

TEST(tokenizer_proto, malformed_bytes_are_errors_naming_the_source) {
    const uint32_t seed = test::fresh_seed();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const std::string bytes = spm_serialize(random_model(rng));
    int errors = 0;
    for (int i = 0; i < 200; ++i) {
        std::string bad = bytes.substr(0, rng() % bytes.size());
        for (int k = 0; k < 4 && !bad.empty(); ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
        try {
            (void)spm_parse(bad, "mangled.model");
        } catch (const error& e) {
            ++errors;
            EXPECT_NE(std::string(e.what()).find("mangled.model"), std::string::npos) << e.what();
        }
    }
    EXPECT_GT(errors, 0);
    // A length running past the end.
    EXPECT_THROW(spm_parse(std::string("\x0a\x05" "ab", 4), "short.model"), error);
    // An unterminated varint.
    EXPECT_THROW(spm_parse(std::string("\x08\xff\xff", 3), "varint.model"), error);
}

TEST(tokenizer_proto, llama2_model_settings) {
    const auto path = test::shared_model("tokenizers/llama2-tokenizer.model");
    EPIC_REQUIRE_SHARED(path);
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const spm_model m = spm_parse(bytes, path.string());
    ASSERT_EQ(m.pieces.size(), 32000u);
    EXPECT_EQ(m.model_type, 2);
    EXPECT_TRUE(m.byte_fallback);
    EXPECT_EQ(m.normalizer.name, "identity");
    EXPECT_TRUE(m.normalizer.precompiled_charsmap.empty());
    EXPECT_TRUE(m.normalizer.add_dummy_prefix);
    EXPECT_FALSE(m.normalizer.remove_extra_whitespaces);
    EXPECT_TRUE(m.normalizer.escape_whitespaces);
    EXPECT_EQ(m.pieces[0].type, spm_piece_type::unknown);
    EXPECT_EQ(m.pieces[1].type, spm_piece_type::control);
    EXPECT_EQ(m.pieces[3].piece, "<0x00>");
    EXPECT_EQ(m.pieces[3].type, spm_piece_type::byte);

    // Re-serialized by us (trainer fields we do not model dropped), it encodes the same.
    const auto original = tokenizer::from_spm_proto(bytes, "original");
    const auto rebuilt = tokenizer::from_spm_proto(spm_serialize(m), "rebuilt");
    const uint32_t seed = test::fresh_seed();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    for (int i = 0; i < 100; ++i) {
        const std::string text = test::random_utf8(rng, 40);
        EXPECT_EQ(rebuilt->encode(text, true), original->encode(text, true)) << ::testing::PrintToString(text);
    }
}

} // namespace
} // namespace epic
