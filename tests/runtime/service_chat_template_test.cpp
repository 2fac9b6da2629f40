// Chat templates: chosen from the GGUF's tokenizer.chat_template, markup tokens looked up in the
// vocabulary, stop tokens, and a clear error when the vocabulary lacks a template's token. Each
// family's prompt is compared with its official Jinja template's rendering, written out by hand, and
// with the real vocabularies where the shared data or models/ have them (Qwen2.5, SmolLM2, Phi-3).
#include "common/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "model/model.h"
#include "model/random_model.h"
#include "service/chat_template.h"
#include "support/shared_models.h"
#include "tokenizer/tokenizer_bpe.h"
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
    EXPECT_EQ(chat_template_for(*make({}, "[INST] <<SYS>>\n{{ system }}\n<</SYS>>\n\n{{ content }} [/INST]")->mdl).name, "llama2");
    EXPECT_EQ(chat_template_for(*make({}, "{{ '[INST] ' + system_message + '\\n\\n' + content + '[/INST]' }}")->mdl).name, "mistral");
    EXPECT_EQ(chat_template_for(*make({}, "{{'<|user|>' + '\n' + content + '<|end|>' + '\n' + '<|assistant|>' + '\n'}}")->mdl).name, "phi3");
    EXPECT_EQ(chat_template_for(*make({"<|im_start|>", "<|im_end|>"}, "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud.<|im_end|>")->mdl).name, "qwen");
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


// What each family's official Jinja template renders for [system?, user] with add_generation_prompt
// (BOS left out: it comes from the tokenizer), written out by hand; the user message is the
// documents and the question.
const std::string app_system = "Answer from the documents.";
const std::string documents = "The sky is blue.\nGrass is green";
const std::string question = "What colour is the sky?";
const std::string user = "Documents:\n" + documents + "\n\nQuestion: " + question;

struct rendering {
    const char* name;
    std::string with_system, without_system;
};

std::vector<rendering> official_renderings() {
    const std::string& S = app_system;
    const std::string& U = user;
    return {
        // ChatML (OpenHermes, SmolLM2 with a system message): one turn per message.
        {"chatml", "<|im_start|>system\n" + S + "<|im_end|>\n<|im_start|>user\n" + U + "<|im_end|>\n<|im_start|>assistant\n",
         "<|im_start|>user\n" + U + "<|im_end|>\n<|im_start|>assistant\n"},
        // Qwen2.5: without a system message the template writes its own.
        {"qwen", "<|im_start|>system\n" + S + "<|im_end|>\n<|im_start|>user\n" + U + "<|im_end|>\n<|im_start|>assistant\n",
         "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
         "<|im_start|>user\n" + U + "<|im_end|>\n<|im_start|>assistant\n"},
        // Gemma 3: first_user_prefix = system + '\n\n' inside the first user turn.
        {"gemma", "<start_of_turn>user\n" + S + "\n\n" + U + "<end_of_turn>\n<start_of_turn>model\n",
         "<start_of_turn>user\n" + U + "<end_of_turn>\n<start_of_turn>model\n"},
        // Llama 2 chat: bos + '[INST] ' + ('<<SYS>>\n' + system + '\n<</SYS>>\n\n' + content).strip() + ' [/INST]'.
        {"llama2", "[INST] <<SYS>>\n" + S + "\n<</SYS>>\n\n" + U + " [/INST]", "[INST] " + U + " [/INST]"},
        // Mistral 7B Instruct v0.3: '[INST] ' + system_message + '\n\n' + content + '[/INST]'.
        {"mistral", "[INST] " + S + "\n\n" + U + "[/INST]", "[INST] " + U + "[/INST]"},
        // Zephyr / TinyLlama chat: '<|role|>\n' + content + eos_token, each block on its own line.
        {"zephyr", "<|system|>\n" + S + "</s>\n<|user|>\n" + U + "</s>\n<|assistant|>\n", "<|user|>\n" + U + "</s>\n<|assistant|>\n"},
        // Llama 3: '<|start_header_id|>' + role + '<|end_header_id|>\n\n' + content | trim + '<|eot_id|>'.
        {"llama3",
         "<|start_header_id|>system<|end_header_id|>\n\n" + S + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n" + U +
             "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
         "<|start_header_id|>user<|end_header_id|>\n\n" + U + "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
        // Phi-3.5 mini: '<|' + role + '|>\n' + content + '<|end|>\n', then '<|assistant|>\n'.
        {"phi3", "<|system|>\n" + S + "<|end|>\n<|user|>\n" + U + "<|end|>\n<|assistant|>\n", "<|user|>\n" + U + "<|end|>\n<|assistant|>\n"},
    };
}

TEST(chat_template, every_family_renders_what_its_jinja_template_renders) {
    for (const rendering& r : official_renderings()) {
        SCOPED_TRACE(r.name);
        const chat_template t = chat_template_named(r.name);
        EXPECT_EQ(t.prompt_text(app_system, documents, question), r.with_system);
        EXPECT_EQ(t.prompt_text("", documents, question), r.without_system);
    }
}

TEST(chat_template, chatml_default_system_prompt_is_read_from_the_jinja_text) {
    // SmolLM2's template writes the newline as a real one, Qwen's as an escape inside the literal;
    // an expression ('... + messages[0]['content'] + ...') is not a default.
    EXPECT_EQ(chatml_default_system("{{ '<|im_start|>system\nYou are SmolLM<|im_end|>\n' }}"), "You are SmolLM");
    EXPECT_EQ(chatml_default_system("{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
                                    "{%- else %}{{- '<|im_start|>system\\nYou are Qwen, it\\'s me.<|im_end|>\\n' }}"),
              "You are Qwen, it's me.");
    EXPECT_EQ(chatml_default_system("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>{% endfor %}"), "");
}

// The real GGUFs: the template found in the file, and the app's tokens for system segment +
// documents + question segment equal the tokenizer's own encoding of the Jinja rendering (specials
// parsed, BOS as the model says). Documents that end in a letter keep the seams token boundaries; a
// document ending in punctuation may merge with the "\n\n" after it in the whole-string encoding
// (chunks are tokenized on their own), which changes tokens but never the text.
struct real_chatml {
    const char* file;
    const char* name;
    const char* default_system;
};

class chat_template_real : public ::testing::TestWithParam<real_chatml> {};

TEST_P(chat_template_real, tokens_equal_the_tokenized_jinja_rendering) {
    const auto path = test::local_model(GetParam().file);
    EPIC_REQUIRE_MODEL(path);
    const auto file = gguf_file::open(path.string());
    const auto tok = tokenizer::from_gguf(*file);
    const chat_template t = chat_template_for(*file);
    EXPECT_EQ(t.name, GetParam().name);
    EXPECT_EQ(t.default_system, GetParam().default_system);
    const auto* bpe = dynamic_cast<const bpe_tokenizer*>(tok.get());
    ASSERT_NE(bpe, nullptr);
    const int32_t im_end = bpe->find_piece("<|im_end|>");
    const auto stops = t.stop_tokens(*tok, *file);
    EXPECT_NE(std::find(stops.begin(), stops.end(), im_end), stops.end());

    for (const std::string& system : {app_system, std::string()}) {
        SCOPED_TRACE("system \"" + system + "\"");
        const std::string s = system.empty() ? std::string(GetParam().default_system) : system;
        const std::string rendered = "<|im_start|>system\n" + s + "<|im_end|>\n<|im_start|>user\n" + user +
                                     "<|im_end|>\n<|im_start|>assistant\n";
        EXPECT_EQ(t.prompt_text(system, documents, question), rendered);
        std::vector<int32_t> app = t.system_segment(*tok, *file, system);
        const auto doc = tok->encode(documents, false);
        app.insert(app.end(), doc.begin(), doc.end());
        const auto q = t.question_segment(*tok, *file, question);
        app.insert(app.end(), q.begin(), q.end());
        const auto expected = tok->encode_with_specials(rendered, tok->add_bos_default());
        EXPECT_EQ(app, expected);
        EXPECT_EQ(std::count(app.begin(), app.end(), im_end), 2);
        // add_bos_token is false: the prompt opens with <|im_start|> and nothing before it (SmolLM2's
        // BOS is <|im_start|> itself, Qwen's <|endoftext|>).
        EXPECT_FALSE(tok->add_bos_default());
        EXPECT_EQ(app[0], bpe->find_piece("<|im_start|>"));
        EXPECT_EQ(std::count(app.begin(), app.end(), bpe->find_piece("<|im_start|>")), 3);
    }
    // A document ending in a full stop: the same text, perhaps other tokens at the seam.
    std::vector<int32_t> app = t.system_segment(*tok, *file, app_system);
    const auto doc = tok->encode("The sky is blue.", false);
    app.insert(app.end(), doc.begin(), doc.end());
    const auto q = t.question_segment(*tok, *file, question);
    app.insert(app.end(), q.begin(), q.end());
    EXPECT_EQ(tok->decode(app), tok->decode(tok->encode_with_specials(t.prompt_text(app_system, "The sky is blue.", question), false)));
}

INSTANTIATE_TEST_SUITE_P(models, chat_template_real,
                         ::testing::Values(real_chatml{"qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "qwen",
                                                       "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."},
                                           real_chatml{"smollm2-135m-instruct-q4_1.gguf", "chatml",
                                                       "You are a helpful AI assistant named SmolLM, trained by Hugging Face"}),
                         [](const auto& info) { return std::string(info.index == 0 ? "qwen2_5" : "smollm2"); });

// Phi-3's vocabulary (llama.cpp's test GGUF, sentencepiece): the markup is single control tokens.
TEST(chat_template, phi3_markup_tokens_from_the_real_vocabulary) {
    const auto path = test::shared_model("tokenizers/llama-vocab-tests/ggml-vocab-phi-3.gguf");
    EPIC_REQUIRE_SHARED(path);
    const auto file = gguf_file::open(path.string());
    const auto tok = tokenizer::from_gguf(*file);
    const chat_template t = chat_template_for(*file);
    ASSERT_EQ(t.name, "phi3");
    const int32_t bos = 1, system = 32006, end = 32007, user_id = 32010, assistant = 32001;
    const auto sys = t.system_segment(*tok, *file, app_system);
    ASSERT_GE(sys.size(), 5u);
    EXPECT_EQ(sys[0], bos);
    EXPECT_EQ(sys[1], system);
    EXPECT_EQ(std::count(sys.begin(), sys.end(), end), 1);
    EXPECT_EQ(std::count(sys.begin(), sys.end(), user_id), 1);
    EXPECT_NE(tok->decode(sys).find(app_system), std::string::npos);
    const auto no_sys = t.system_segment(*tok, *file, "");
    EXPECT_EQ(no_sys[1], user_id) << "no system turn without a system prompt";
    const auto q = t.question_segment(*tok, *file, question);
    EXPECT_EQ(std::count(q.begin(), q.end(), end), 1);
    EXPECT_EQ(std::count(q.begin(), q.end(), assistant), 1);
    EXPECT_EQ(t.stop_tokens(*tok, *file), (std::vector<int32_t>{32000, end}));

    // Token for token what llama.cpp makes of the rendered prompt: the text is cut at the markup
    // tokens, and a piece of text that opens the prompt or follows a markup token takes
    // sentencepiece's dummy prefix. The documents continue "Documents:\n" and the question continues
    // the documents, so neither takes one (a stray "▁" before "\n\nQuestion" would show here).
    const std::vector<std::pair<std::string, int32_t>> markup = {
        {"<|system|>", system}, {"<|end|>", end}, {"<|user|>", user_id}, {"<|assistant|>", assistant}};
    const auto llama_cpp = [&](const std::string& rendered) {
        std::vector<int32_t> out = {bos};
        for (size_t pos = 0;;) {
            size_t at = std::string::npos;
            std::pair<std::string, int32_t> hit;
            for (const auto& m : markup)
                if (const size_t p = rendered.find(m.first, pos); p < at) {
                    at = p;
                    hit = m;
                }
            const auto piece = tok->encode(rendered.substr(pos, at == std::string::npos ? std::string::npos : at - pos), false);
            out.insert(out.end(), piece.begin(), piece.end());
            if (at == std::string::npos) return out;
            out.push_back(hit.second);
            pos = at + hit.first.size();
        }
    };
    for (const std::string& sys_prompt : {app_system, std::string()}) {
        std::vector<int32_t> app = t.system_segment(*tok, *file, sys_prompt);
        const auto doc = tok->encode_continuation(documents);
        app.insert(app.end(), doc.begin(), doc.end());
        app.insert(app.end(), q.begin(), q.end());
        EXPECT_EQ(app, llama_cpp(t.prompt_text(sys_prompt, documents, question))) << "system \"" << sys_prompt << "\"";
    }
}


// Mistral v0.3's tokenizer.model: [INST] and [/INST] are its control tokens 3 and 4, found by the
// template (the GGUF here only names the vocabulary in errors); a vocabulary without them (Mistral
// v0.1) gets them as text.
TEST(chat_template, mistral_instruction_markup_from_the_real_vocabulary) {
    const auto path = test::shared_model("tokenizers/mistral-v0.3-tokenizer.model");
    EPIC_REQUIRE_SHARED(path);
    const auto tok = tokenizer::from_spm_file(path.string());
    gguf_writer w;
    w.set_string("general.architecture", "llama");
    const auto file = gguf_file::from_bytes(w.to_bytes(), "mistral-v0.3.gguf");
    const chat_template t = chat_template_named("mistral");
    const auto sys = t.system_segment(*tok, *file, app_system);
    ASSERT_GE(sys.size(), 3u);
    EXPECT_EQ(sys[0], 1) << "BOS";
    EXPECT_EQ(sys[1], 3) << "[INST]";
    EXPECT_EQ(std::count(sys.begin(), sys.end(), 3), 1);
    const auto q = t.question_segment(*tok, *file, question);
    EXPECT_EQ(q.back(), 4) << "[/INST] closes the question";
    EXPECT_EQ(t.stop_tokens(*tok, *file), (std::vector<int32_t>{2}));
    // Laid end to end, the prompt reads as the template's text (control tokens print nothing).
    std::vector<int32_t> all = sys;
    const auto doc = tok->encode_continuation(documents);
    all.insert(all.end(), doc.begin(), doc.end());
    all.insert(all.end(), q.begin(), q.end());
    const auto all_renderings = official_renderings();
    const auto mistral = std::find_if(all_renderings.begin(), all_renderings.end(),
                                      [](const rendering& r) { return std::string(r.name) == "mistral"; });
    ASSERT_NE(mistral, all_renderings.end());
    const std::string rendered = mistral->with_system;
    ASSERT_EQ(rendered.substr(0, 6), "[INST]");
    ASSERT_EQ(rendered.substr(rendered.size() - 7), "[/INST]");
    EXPECT_EQ(tok->decode(all), rendered.substr(6, rendered.size() - 6 - 7)); // " Answer from ... sky?"
}

} // namespace
} // namespace epic
