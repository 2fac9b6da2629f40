#include "service/chat_template.h"

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace epic {
namespace {

using part = chat_template::part;

part special(const std::string& s) { return part{true, s}; }
part text(const std::string& s) { return part{false, s}; }

// Id of a special token's exact string in the model's vocabulary.
int32_t vocab_id(const model& m, const std::string& piece) {
    const auto tokens = m.file().get_string_array("tokenizer.ggml.tokens");
    if (tokens)
        for (size_t i = 0; i < tokens->size(); ++i)
            if ((*tokens)[i] == piece) return (int32_t)i;
    throw error(m.path() + ": the chat template needs the token " + piece + ", which the vocabulary lacks");
}

std::string replace_all(std::string s, const std::string& what, const std::string& with) {
    for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + with.size())) s.replace(p, what.size(), with);
    return s;
}

std::vector<int32_t> build(const std::vector<part>& parts, const tokenizer& tok, const model& m, const std::string& key,
                           const std::string& value, bool with_bos) {
    std::vector<int32_t> out;
    if (with_bos && tok.bos() >= 0) out.push_back(tok.bos());
    for (const part& p : parts) {
        if (p.special) {
            out.push_back(vocab_id(m, p.text));
            continue;
        }
        const std::string t = replace_all(p.text, key, value);
        if (t.empty()) continue;
        const auto ids = tok.encode(t, false);
        out.insert(out.end(), ids.begin(), ids.end());
    }
    return out;
}

} // namespace

std::vector<int32_t> chat_template::system_segment(const tokenizer& tok, const model& m, const std::string& system) const {
    // The system segment opens the sequence: it carries the BOS when the model wants one.
    return build(system_parts, tok, m, "{system}", system, tok.add_bos_default());
}

std::vector<int32_t> chat_template::question_segment(const tokenizer& tok, const model& m, const std::string& question) const {
    return build(question_parts, tok, m, "{question}", question, false);
}

std::vector<int32_t> chat_template::stop_tokens(const tokenizer& tok, const model& m) const {
    std::vector<int32_t> out;
    if (tok.eos() >= 0) out.push_back(tok.eos());
    for (const auto& s : stop_strings) out.push_back(vocab_id(m, s));
    return out;
}

chat_template chat_template_named(const std::string& name) {
    chat_template t;
    t.name = name;
    if (name == "chatml") { // SmolLM2, Qwen
        t.system_parts = {special("<|im_start|>"), text("system\n{system}"), special("<|im_end|>"), text("\n"),
                          special("<|im_start|>"), text("user\nDocuments:\n")};
        t.question_parts = {text("\n\nQuestion: {question}"), special("<|im_end|>"), text("\n"), special("<|im_start|>"),
                            text("assistant\n")};
        t.stop_strings = {"<|im_end|>"};
    } else if (name == "gemma") { // no system role: instructions open the user turn
        t.system_parts = {special("<start_of_turn>"), text("user\n{system}\n\nDocuments:\n")};
        t.question_parts = {text("\n\nQuestion: {question}"), special("<end_of_turn>"), text("\n"),
                            special("<start_of_turn>"), text("model\n")};
        t.stop_strings = {"<end_of_turn>"};
    } else if (name == "llama2") { // Llama 2 chat, Mistral [INST]
        t.system_parts = {text("[INST] <<SYS>>\n{system}\n<</SYS>>\n\nDocuments:\n")};
        t.question_parts = {text("\n\nQuestion: {question} [/INST]")};
    } else if (name == "zephyr") { // TinyLlama chat
        t.system_parts = {text("<|system|>\n{system}"), special("</s>"), text("\n<|user|>\nDocuments:\n")};
        t.question_parts = {text("\n\nQuestion: {question}"), special("</s>"), text("\n<|assistant|>\n")};
    } else if (name == "llama3") {
        t.system_parts = {special("<|start_header_id|>"), text("system"), special("<|end_header_id|>"), text("\n\n{system}"),
                          special("<|eot_id|>"), special("<|start_header_id|>"), text("user"), special("<|end_header_id|>"),
                          text("\n\nDocuments:\n")};
        t.question_parts = {text("\n\nQuestion: {question}"), special("<|eot_id|>"), special("<|start_header_id|>"),
                            text("assistant"), special("<|end_header_id|>"), text("\n\n")};
        t.stop_strings = {"<|eot_id|>"};
    } else if (name == "plain") { // base models: a document, then "Question: ... Answer:"
        t.system_parts = {text("{system}\n")};
        t.question_parts = {text("\nQuestion: {question}\nAnswer:")};
    } else {
        throw error("unknown chat template '" + name + "' (known: chatml, gemma, llama2, zephyr, llama3, plain)");
    }
    return t;
}

chat_template chat_template_for(const model& m) {
    const std::string jinja = m.file().get_string("tokenizer.chat_template").value_or("");
    auto has = [&](const char* s) { return jinja.find(s) != std::string::npos; };
    if (has("<|im_start|>")) return chat_template_named("chatml");
    if (has("<start_of_turn>")) return chat_template_named("gemma");
    if (has("<|start_header_id|>")) return chat_template_named("llama3");
    if (has("<|user|>")) return chat_template_named("zephyr");
    if (has("[INST]")) return chat_template_named("llama2");
    if (m.config().arch == "gemma3") return chat_template_named("gemma");
    return chat_template_named("plain");
}

} // namespace epic
