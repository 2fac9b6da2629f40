// Chat templates: chosen from the GGUF's tokenizer.chat_template, markup tokens looked up in the
// vocabulary, stop tokens, and a clear error when the vocabulary lacks a template's token.
#include "core/error.h"
#include "gguf/gguf_file.h"
#include "model/model.h"
#include "model/random_model.h"
#include "service/chat_template.h"
#include "support/shared_models.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace epic {
namespace {

struct fixture {
    test::scratch_dir dir;
    std::unique_ptr<model> mdl;
    std::unique_ptr<tokenizer> tok;
};

std::unique_ptr<fixture> make(const std::vector<std::string>& specials, const std::string& jinja) {
    auto f = std::make_unique<fixture>();
    random_model_params p = random_model_default_params();
    p.special_tokens = specials;
    p.chat_template = jinja;
    const std::string path = (f->dir / "m.gguf").string();
    write_random_model(path, p);
    f->mdl = model::load(path);
    f->tok = tokenizer::from_gguf(f->mdl->file());
    return f;
}

int32_t id_of(const fixture& f, const std::string& piece) {
    const auto tokens = *f.mdl->file().get_string_array("tokenizer.ggml.tokens");
    return (int32_t)(std::find(tokens.begin(), tokens.end(), piece) - tokens.begin());
}

TEST(chat_template, chatml_is_recognized_and_lays_out_turns_with_single_markup_tokens) {
    auto f = make({"<|im_start|>", "<|im_end|>"}, "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>{% endfor %}");
    const chat_template t = chat_template_for(*f->mdl);
    EXPECT_EQ(t.name, "chatml");
    const int32_t start = id_of(*f, "<|im_start|>"), end = id_of(*f, "<|im_end|>");
    const auto sys = t.system_segment(*f->tok, *f->mdl, "Be brief.");
    ASSERT_GE(sys.size(), 4u);
    EXPECT_EQ(sys[0], f->tok->bos());
    EXPECT_EQ(sys[1], start);
    EXPECT_EQ(std::count(sys.begin(), sys.end(), start), 2) << "system turn, then the user turn opens";
    EXPECT_EQ(std::count(sys.begin(), sys.end(), end), 1);
    EXPECT_NE(f->tok->decode(sys).find("Be brief."), std::string::npos);
    const auto q = t.question_segment(*f->tok, *f->mdl, "Who?");
    EXPECT_EQ(std::count(q.begin(), q.end(), end), 1);
    EXPECT_EQ(q[q.size() - 1 - f->tok->encode("assistant\n", false).size()], start) << "the question ends by opening the assistant turn";
    const auto stops = t.stop_tokens(*f->tok, *f->mdl);
    EXPECT_NE(std::find(stops.begin(), stops.end(), end), stops.end());
    EXPECT_NE(std::find(stops.begin(), stops.end(), f->tok->eos()), stops.end());
}

TEST(chat_template, families_are_told_apart_by_their_markup) {
    EXPECT_EQ(chat_template_for(*make({"<start_of_turn>", "<end_of_turn>"}, "<start_of_turn>user")->mdl).name, "gemma");
    EXPECT_EQ(chat_template_for(*make({"<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"}, "<|start_header_id|>")->mdl).name, "llama3");
    EXPECT_EQ(chat_template_for(*make({}, "<|user|>\n{{ content }}</s>")->mdl).name, "zephyr");
    EXPECT_EQ(chat_template_for(*make({}, "[INST] {{ content }} [/INST]")->mdl).name, "llama2");
    EXPECT_EQ(chat_template_for(*make({}, "")->mdl).name, "plain");
    EXPECT_THROW(chat_template_named("nonsense"), epic::error);
}

TEST(chat_template, a_missing_markup_token_is_an_error_naming_the_file_and_token) {
    auto f = make({}, "");
    const chat_template t = chat_template_named("chatml");
    try {
        t.system_segment(*f->tok, *f->mdl, "x");
        FAIL() << "expected an error";
    } catch (const epic::error& e) {
        EXPECT_NE(std::string(e.what()).find("<|im_start|>"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("m.gguf"), std::string::npos) << e.what();
    }
}

TEST(chat_template, plain_template_puts_the_question_after_the_documents) {
    auto f = make({}, "");
    const chat_template t = chat_template_for(*f->mdl);
    const std::string q = f->tok->decode(t.question_segment(*f->tok, *f->mdl, "what colour is the sky"));
    EXPECT_NE(q.find("Question: what colour is the sky"), std::string::npos) << q;
    EXPECT_NE(q.find("Answer:"), std::string::npos) << q;
}

} // namespace
} // namespace epic
