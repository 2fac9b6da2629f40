// Real sentencepiece models from the shared data folder (skipped when absent): llama.cpp's Llama SPM
// test vectors through Llama 2's tokenizer.model, Mistral v0.3 and stories260K's tok512.model.
#include "common/error.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer_fixture.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace epic {
namespace {

TEST(tokenizer_shared, llama2_model_matches_llama_cpp_vectors) {
    const auto model = test::shared_model("tokenizers/llama2-tokenizer.model");
    const auto inp = test::shared_model("tokenizers/llama-vocab-tests/ggml-vocab-llama-spm.gguf.inp");
    EPIC_REQUIRE_SHARED(model);
    EPIC_REQUIRE_SHARED(inp);
    const auto tok = tokenizer::from_spm_file(model.string());
    EXPECT_EQ(tok->n_vocab(), 32000);
    EXPECT_EQ(tok->bos(), 1);
    EXPECT_EQ(tok->eos(), 2);
    EXPECT_TRUE(tok->add_bos_default());
    const auto vectors = test::read_vocab_vectors(inp.string());
    ASSERT_GE(vectors.size(), 40u);
    for (const auto& v : vectors) {
        SCOPED_TRACE(::testing::PrintToString(v.text));
        EXPECT_EQ(tok->encode(v.text, false), v.ids);
        auto with_bos = v.ids;
        with_bos.insert(with_bos.begin(), 1);
        EXPECT_EQ(tok->encode(v.text, true), with_bos);
        EXPECT_EQ(tok->decode(v.ids), test::expected_round_trip(v.text));
    }
    // Well-known ids: "Hello world" -> ▁Hello ▁world; a lone space is the "▁" piece after the prefix.
    EXPECT_EQ(tok->encode("Hello world", true), (std::vector<int32_t>{1, 15043, 3186}));
    EXPECT_EQ(tok->token_bytes(29871), " ");
    EXPECT_EQ(tok->token_bytes(13), "\n"); // <0x0A>
}

// Text that continues a prompt takes no dummy prefix: the continuation's tokens are the tail of
// the whole text's tokens wherever the cut is a token boundary.
TEST(tokenizer_shared, llama2_continuation_has_no_dummy_prefix) {
    const auto model = test::shared_model("tokenizers/llama2-tokenizer.model");
    EPIC_REQUIRE_SHARED(model);
    const auto tok = tokenizer::from_spm_file(model.string());
    const std::string head = "Documents:\nThe sky is blue", tail = "\n\nQuestion: What colour is the sky? [/INST]";
    const auto whole = tok->encode(head + tail, false);
    const auto a = tok->encode(head, false), b = tok->encode_continuation(tail);
    std::vector<int32_t> joined = a;
    joined.insert(joined.end(), b.begin(), b.end());
    EXPECT_EQ(joined, whole);
    const auto prefixed = tok->encode(tail, false);
    EXPECT_EQ(prefixed.size(), b.size() + 1);
    EXPECT_EQ(prefixed.front(), 29871) << "encode() starts a text: the lone dummy-prefix space";
    EXPECT_EQ(tok->decode(joined), head + tail);
}

TEST(tokenizer_shared, llama2_model_round_trips_random_bytes) {
    const auto model = test::shared_model("tokenizers/llama2-tokenizer.model");
    EPIC_REQUIRE_SHARED(model);
    const auto tok = tokenizer::from_spm_file(model.string());
    const uint32_t seed = test::fresh_seed();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    for (int i = 0; i < 200; ++i) {
        const std::string text = (i % 2) ? test::random_utf8(rng, 40) : test::random_bytes(rng, 60);
        SCOPED_TRACE(::testing::PrintToString(text));
        const auto ids = tok->encode(text, i % 3 == 0);
        EXPECT_EQ(tok->decode(ids), test::expected_round_trip(text));
    }
}

TEST(tokenizer_shared, mistral_v03_loads_and_round_trips) {
    const auto model = test::shared_model("tokenizers/mistral-v0.3-tokenizer.model");
    EPIC_REQUIRE_SHARED(model);
    const auto tok = tokenizer::from_spm_file(model.string());
    EXPECT_EQ(tok->n_vocab(), 32768);
    EXPECT_EQ(tok->bos(), 1);
    EXPECT_EQ(tok->eos(), 2);
    EXPECT_TRUE(tok->is_control(3)); // [INST]
    EXPECT_EQ(tok->token_id("[INST]"), 3);
    EXPECT_EQ(tok->token_id("[/INST]"), 4);
    EXPECT_EQ(tok->token_id("[INST"), -1);
    EXPECT_EQ(tok->token_bytes(3), "");
    // Control symbols in text are ordinary characters, not the control token.
    const auto inst = tok->encode("[INST]", false);
    EXPECT_EQ(std::count(inst.begin(), inst.end(), 3), 0);
    EXPECT_EQ(tok->decode(inst), "[INST]");
    const uint32_t seed = test::fresh_seed();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    for (int i = 0; i < 200; ++i) {
        const std::string text = (i % 2) ? test::random_utf8(rng, 40) : test::random_bytes(rng, 60);
        SCOPED_TRACE(::testing::PrintToString(text));
        EXPECT_EQ(tok->decode(tok->encode(text, true)), test::expected_round_trip(text));
    }
}

TEST(tokenizer_shared, tok512_loads) {
    const auto model = test::shared_model("stories260K/tok512.model");
    EPIC_REQUIRE_SHARED(model);
    const auto tok = tokenizer::from_spm_file(model.string());
    EXPECT_EQ(tok->n_vocab(), 512);
    EXPECT_EQ(tok->bos(), 1);
    EXPECT_EQ(tok->eos(), 2);
    // tok512 removes extra whitespace (trained with sentencepiece's default), so only text with
    // single inner spaces round-trips.
    const std::string text = "Once upon a time, there was a little girl named Lily.\nShe liked 42 cookies!";
    const auto ids = tok->encode(text, true);
    EXPECT_EQ(ids.front(), 1);
    EXPECT_EQ(tok->decode(ids), text);
    EXPECT_EQ(tok->decode(tok->encode("  a   b  ", false)), "a b");
}

} // namespace
} // namespace epic
