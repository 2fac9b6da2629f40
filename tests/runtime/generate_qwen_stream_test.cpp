// Streaming Qwen2.5 output (real vocabulary from models/, skipped when absent): byte-level tokens
// split characters (a rare CJK ideograph, an emoji) over several tokens; the generator's UTF-8
// stream must hold the partial bytes back, hand out only whole characters, and lose nothing.
#include "generate/text_stream.h"
#include "gguf/gguf_file.h"
#include "support/shared_models.h"
#include "tokenizer/bpe_unicode.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

namespace epic {
namespace {

bool whole_utf8(const std::string& s) {
    for (size_t i = 0; i < s.size();) {
        const size_t n = bpe::utf8_valid_length(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

TEST(generate_qwen_stream, split_characters_are_held_back_until_complete) {
    const auto path = test::local_model("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf");
    EPIC_REQUIRE_MODEL(path);
    const auto file = gguf_file::open(path.string());
    const auto tok = tokenizer::from_gguf(*file);
    const std::string text = "Résumé: 鱻龘 🦆👩🏽‍🍳 — naïve “quotes” ✓\n";
    const auto ids = tok->encode(text, false);
    utf8_stream stream;
    std::string shown;
    size_t held = 0; // pushes that gave nothing because a character was incomplete
    for (const int32_t id : ids) {
        const std::string piece = stream.push(tok->token_bytes(id));
        EXPECT_TRUE(whole_utf8(piece)) << "token " << id << " gave a partial character";
        held += piece.empty();
        shown += piece;
    }
    shown += stream.flush();
    EXPECT_EQ(shown, text);
    EXPECT_GT(held, 0u) << "the sample should split at least one character over tokens";
}

} // namespace
} // namespace epic
