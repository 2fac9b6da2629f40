// The sentencepiece tokenizer on a model trained at test time (no shared data needed).
#include "common/error.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer_fixture.h"

#include <gtest/gtest.h>
#include <sentencepiece_processor.h>

#include <memory>

namespace epic {
namespace {

class tokenizer_spm : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new test::scratch_dir();
        seed_ = test::fresh_seed();
        model_ = new test::trained_spm(test::train_tiny_spm(*dir_, seed_));
    }
    static void TearDownTestSuite() {
        delete model_;
        delete dir_;
        model_ = nullptr;
        dir_ = nullptr;
    }
    void SetUp() override {
        seed = test::fresh_seed();
        rng.seed(seed);
        tok = tokenizer::from_spm_file(model_->model_path);
        ASSERT_TRUE(sp.LoadFromSerializedProto(model_->serialized).ok());
    }

    static inline test::scratch_dir* dir_ = nullptr;
    static inline test::trained_spm* model_ = nullptr;
    static inline uint32_t seed_ = 0;
    uint32_t seed = 0;
    std::mt19937 rng;
    std::unique_ptr<tokenizer> tok;
    sentencepiece::SentencePieceProcessor sp;
};

TEST_F(tokenizer_spm, vocabulary_and_specials) {
    SCOPED_TRACE("training seed " + std::to_string(seed_));
    EXPECT_EQ(tok->n_vocab(), sp.GetPieceSize());
    EXPECT_GT(tok->n_vocab(), 259); // 3 specials + 256 bytes + merges
    EXPECT_EQ(tok->bos(), sp.bos_id());
    EXPECT_EQ(tok->eos(), sp.eos_id());
    EXPECT_EQ(tok->bos(), 1);
    EXPECT_EQ(tok->eos(), 2);
    EXPECT_TRUE(tok->add_bos_default());
    EXPECT_TRUE(tok->is_control(tok->bos()));
    EXPECT_TRUE(tok->is_control(tok->eos()));
    EXPECT_EQ(tok->token_bytes(tok->bos()), "");
    EXPECT_EQ(tok->token_bytes(tok->eos()), "");
    for (int id = 0; id < tok->n_vocab(); ++id) {
        const std::string& piece = sp.IdToPiece(id);
        if (sp.IsByte(id)) {
            ASSERT_EQ(tok->token_bytes(id).size(), 1u) << piece;
            EXPECT_EQ(static_cast<uint8_t>(tok->token_bytes(id)[0]), std::stoi(piece.substr(3, 2), nullptr, 16));
            EXPECT_FALSE(tok->is_control(id));
        } else if (sp.IsControl(id)) {
            EXPECT_TRUE(tok->is_control(id));
        } else if (!sp.IsUnknown(id)) {
            std::string expected = piece;
            for (size_t p; (p = expected.find("\xE2\x96\x81")) != std::string::npos;) expected.replace(p, 3, " ");
            EXPECT_EQ(tok->token_bytes(id), expected);
            EXPECT_FALSE(tok->is_control(id));
        }
    }
    EXPECT_EQ(tok->token_bytes(sp.PieceToId("\xE2\x96\x81")), " ");
    EXPECT_THROW(tok->token_bytes(tok->n_vocab()), error);
    EXPECT_THROW(tok->token_bytes(-1), error);
}

TEST_F(tokenizer_spm, file_and_proto_agree_with_sentencepiece) {
    SCOPED_TRACE("seed " + std::to_string(seed) + ", training seed " + std::to_string(seed_));
    const auto from_proto = tokenizer::from_spm_proto(model_->serialized, "trained in memory");
    for (int i = 0; i < 200; ++i) {
        const std::string text = test::random_utf8(rng, 24);
        SCOPED_TRACE(text);
        std::vector<int> expected;
        ASSERT_TRUE(sp.Encode(text, &expected).ok());
        const std::vector<int32_t> ids = tok->encode(text, false);
        EXPECT_EQ(ids, std::vector<int32_t>(expected.begin(), expected.end()));
        EXPECT_EQ(from_proto->encode(text, false), ids);
        std::vector<int32_t> with_bos = tok->encode(text, true);
        ASSERT_FALSE(with_bos.empty());
        EXPECT_EQ(with_bos.front(), tok->bos());
        with_bos.erase(with_bos.begin());
        EXPECT_EQ(with_bos, ids);
    }
}

TEST_F(tokenizer_spm, valid_utf8_round_trips) {
    SCOPED_TRACE("seed " + std::to_string(seed) + ", training seed " + std::to_string(seed_));
    for (int i = 0; i < 300; ++i) {
        const std::string text = test::random_utf8(rng, 32);
        SCOPED_TRACE(text);
        const auto ids = tok->encode(text, i % 2 == 0);
        EXPECT_EQ(tok->decode(ids), test::expected_round_trip(text));
        // Streaming: the concatenated token bytes are the text behind its dummy-prefix space.
        std::string streamed;
        for (const int32_t id : ids) streamed += tok->token_bytes(id);
        EXPECT_EQ(streamed, text.empty() ? "" : " " + test::expected_round_trip(text));
    }
    // Leading spaces survive: the dummy prefix is one extra space, removed once.
    for (const std::string text : {" a", "  hello", "\n x", " ", "\t", "x "}) {
        EXPECT_EQ(tok->decode(tok->encode(text, true)), text);
    }
    EXPECT_TRUE(tok->encode("", false).empty());
    EXPECT_EQ(tok->encode("", true), std::vector<int32_t>{tok->bos()});
}

TEST_F(tokenizer_spm, any_bytes_encode_and_come_back_through_byte_fallback) {
    SCOPED_TRACE("seed " + std::to_string(seed) + ", training seed " + std::to_string(seed_));
    for (int i = 0; i < 300; ++i) {
        const std::string bytes = test::random_bytes(rng, 40);
        SCOPED_TRACE(::testing::PrintToString(bytes));
        const auto ids = tok->encode(bytes, i % 2 == 0);
        for (const int32_t id : ids) ASSERT_TRUE(id >= 0 && id < tok->n_vocab());
        EXPECT_EQ(tok->decode(ids), test::expected_round_trip(bytes));
    }
    // A lone invalid byte is its byte token (after the dummy-prefix space), not U+FFFD.
    const std::string lone("\xFF", 1);
    const auto ids = tok->encode(lone, false);
    ASSERT_EQ(ids.size(), 2u);
    EXPECT_EQ(tok->token_bytes(ids[0]), " ");
    EXPECT_EQ(ids[1], sp.PieceToId("<0xFF>"));
    // NULs inside valid text.
    const std::string with_nul("a\0b\0\0c", 6);
    EXPECT_EQ(tok->decode(tok->encode(with_nul, true)), with_nul);
}

TEST_F(tokenizer_spm, errors_name_the_source) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const std::string missing = (*dir_ / "no-such.model").string();
    try {
        tokenizer::from_spm_file(missing);
        FAIL() << "expected epic::error";
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
    }
    // Truncations and corruptions of a real proto: an error naming the source, never a crash.
    for (int i = 0; i < 50; ++i) {
        std::string bad = model_->serialized.substr(0, rng() % model_->serialized.size());
        if (i % 2) for (int k = 0; k < 8 && !bad.empty(); ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
        try {
            const auto t = tokenizer::from_spm_proto(bad, "corrupt.model");
            // A cut at a field boundary can still be a valid (smaller) model.
            EXPECT_GT(t->n_vocab(), 0);
        } catch (const error& e) {
            EXPECT_NE(std::string(e.what()).find("corrupt.model"), std::string::npos) << e.what();
        }
    }
    EXPECT_THROW(tokenizer::from_spm_proto("", "empty.model"), error);
}

} // namespace
} // namespace epic
