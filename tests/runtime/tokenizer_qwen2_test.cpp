// Qwen2.5's byte-level BPE (tokenizer.ggml.pre = "qwen2") with the real vocabulary of the Qwen2.5
// GGUFs in models/ (skipped when absent): llama.cpp's qwen2 test vectors must come out exactly (there
// is no ggml-vocab-qwen2.gguf, so the vocabulary comes from the model file), the chat markup must be
// single special tokens, no BOS is added, and output decodes byte for byte.
#include "common/error.h"
#include "gguf/gguf_file.h"
#include "tokenizer/bpe_unicode.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_bpe.h"
#include "tokenizer_fixture.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace epic {
namespace {

// Both sizes share one vocabulary; each is checked so a re-quantized or re-converted file that
// changed it would show.
class tokenizer_qwen2 : public ::testing::TestWithParam<const char*> {
protected:
    void SetUp() override {
        path_ = test::local_model(GetParam());
        EPIC_REQUIRE_MODEL(path_);
        file_ = gguf_file::open(path_.string());
        tok_ = tokenizer::from_gguf(*file_);
        bpe_ = dynamic_cast<const bpe_tokenizer*>(tok_.get());
        ASSERT_NE(bpe_, nullptr) << "a gpt2 vocabulary must load as the byte-level BPE tokenizer";
    }
    std::filesystem::path path_;
    std::unique_ptr<gguf_file> file_;
    std::unique_ptr<tokenizer> tok_;
    const bpe_tokenizer* bpe_ = nullptr;
};

TEST_P(tokenizer_qwen2, matches_llama_cpp_vectors) {
    const auto inp = test::shared_model("tokenizers/llama-vocab-tests/ggml-vocab-qwen2.gguf.inp");
    EPIC_REQUIRE_SHARED(inp);
    const auto vectors = test::read_vocab_vectors(inp.string());
    ASSERT_GE(vectors.size(), 30u);
    for (const auto& v : vectors) {
        SCOPED_TRACE(::testing::PrintToString(v.text));
        const auto ids = tok_->encode(v.text, false);
        EXPECT_EQ(ids, v.ids);
        EXPECT_EQ(tok_->decode(ids), v.text);
        // add_bos_token = false: asking for the model's default adds nothing.
        EXPECT_EQ(tok_->encode(v.text, tok_->add_bos_default()), v.ids);
    }
}

TEST_P(tokenizer_qwen2, vocabulary_and_special_ids) {
    EXPECT_EQ(tok_->n_vocab(), 151936);
    EXPECT_EQ(tok_->bos(), 151643);
    EXPECT_EQ(tok_->eos(), 151645);
    EXPECT_FALSE(tok_->add_bos_default()) << "tokenizer.ggml.add_bos_token is false for Qwen2.5";
    EXPECT_EQ(bpe_->find_piece("<|endoftext|>"), 151643);
    EXPECT_EQ(bpe_->find_piece("<|im_start|>"), 151644);
    EXPECT_EQ(bpe_->find_piece("<|im_end|>"), 151645);
    EXPECT_EQ(tok_->token_id("<|im_start|>"), 151644); // what chat templates look markup up with
    EXPECT_EQ(tok_->token_id("<|im_start|"), -1);
    for (const int32_t id : {151643, 151644, 151645}) {
        EXPECT_TRUE(tok_->is_control(id)) << id;
        EXPECT_EQ(tok_->token_bytes(id), "") << "control tokens are never printed";
    }
    // <tool_call> is user-defined: printed as its text, and matched in any text (as llama.cpp does).
    const int32_t tool_call = bpe_->find_piece("<tool_call>");
    ASSERT_EQ(tool_call, 151657);
    EXPECT_FALSE(tok_->is_control(tool_call));
    EXPECT_EQ(tok_->token_bytes(tool_call), "<tool_call>");
    EXPECT_EQ(tok_->encode("<tool_call>", false), (std::vector<int32_t>{tool_call}));
    // The 271 padding entries are unused: never printed, never matched in text.
    EXPECT_EQ(bpe_->piece(151935), "[PAD151935]");
    EXPECT_EQ(tok_->token_bytes(151935), "");
    const auto pad = tok_->encode_with_specials("[PAD151935]", false);
    EXPECT_EQ(std::count(pad.begin(), pad.end(), 151935), 0);
}

// A ChatML turn: the markup becomes single control tokens only when the program renders it; in
// document or user text it stays text. The ids of the default system prompt are the ones Qwen's own
// tokenizer gives (checked piece by piece below, so a wrong id list cannot pass by accident).
TEST_P(tokenizer_qwen2, chatml_markup_is_special_only_when_rendered_by_the_program) {
    const std::string prompt =
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n";
    const std::vector<int32_t> expected = {151644, 8948,  198,   2610, 525,   1207,  16948, 11,  3465,  553,    54364, 14817,
                                           13,     1446,  525,   264,  10950, 17847, 13,    151645, 198, 151644, 872,  198,
                                           6023,   151645, 198,  151644, 77091, 198};
    EXPECT_EQ(tok_->encode_with_specials(prompt, false), expected);
    const std::vector<std::string> pieces = {"system", "Ċ", "You", "Ġare", "ĠQ", "wen", ",", "Ġcreated", "Ġby", "ĠAlibaba",
                                             "ĠCloud", ".", "ĠYou", "Ġare", "Ġa", "Ġhelpful", "Ġassistant", "."};
    for (size_t i = 0; i < pieces.size(); ++i) EXPECT_EQ(bpe_->piece(expected[i + 1]), pieces[i]) << i;
    EXPECT_EQ(bpe_->piece(872), "user");
    EXPECT_EQ(bpe_->piece(77091), "assistant");
    EXPECT_EQ(bpe_->piece(6023), "hi");

    // The same text given as a document: no control token comes out, and it decodes back.
    const auto plain = tok_->encode(prompt, false);
    for (const int32_t id : plain) EXPECT_FALSE(tok_->is_control(id)) << id;
    EXPECT_EQ(tok_->decode(plain), prompt);
    // Control tokens decode to nothing, so a generated "<|im_end|>" never reaches the user.
    EXPECT_EQ(tok_->decode(expected), "system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\nuser\nhi\nassistant\n");
}

// Output text, token by token: each token's bytes concatenate to the text even where a character
// is split over several tokens (rare CJK, emoji with modifiers), and random text round-trips.
TEST_P(tokenizer_qwen2, output_decodes_byte_for_byte) {
    const std::string text = "Résumé: 北京烤鸭 🦆👩🏽‍🍳 — naïve “quotes”\n\tdef f(x):\n        return x**2  # ✓\n";
    const auto ids = tok_->encode(text, false);
    std::string streamed;
    size_t partial = 0; // tokens whose bytes end inside a multi-byte character
    for (const int32_t id : ids) {
        streamed += tok_->token_bytes(id);
        size_t i = 0;
        while (i < streamed.size()) {
            const size_t n = bpe::utf8_valid_length(streamed, i);
            if (n == 0) break;
            i += n;
        }
        partial += i < streamed.size();
    }
    EXPECT_EQ(streamed, text);
    EXPECT_GT(partial, 0u) << "the sample should split at least one character over tokens";

    const uint32_t seed = test::fresh_seed();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    for (int i = 0; i < 300; ++i) {
        const std::string s = (i % 2) ? test::random_utf8(rng, 40) : test::random_bytes(rng, 60);
        SCOPED_TRACE(::testing::PrintToString(s));
        const auto t = tok_->encode(s, false);
        EXPECT_EQ(tok_->decode(t), s);
        for (const int32_t id : t) EXPECT_FALSE(tok_->is_control(id)) << id;
    }
}

INSTANTIATE_TEST_SUITE_P(models, tokenizer_qwen2,
                         ::testing::Values("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"),
                         [](const auto& info) { return std::string(info.index == 0 ? "coder_0_5b" : "coder_1_5b"); });

} // namespace
} // namespace epic
