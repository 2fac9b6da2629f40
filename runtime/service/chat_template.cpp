#include "service/chat_template.h"

#include "common/error.h"
#include "gguf/gguf_file.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace epic {
namespace {

using part = chat_template::part;

part special(const std::string& s) { return part{part::special, s, false}; }
part special_or_text(const std::string& s) { return part{part::special_or_text, s, false}; }
part text(const std::string& s) { return part{part::text, s, false}; }
// A part of the system turn, left out when there is no system prompt.
part sys(part p) {
    p.with_system = true;
    return p;
}

std::string replace_all(std::string s, const std::string& what, const std::string& with) {
    for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + with.size())) s.replace(p, what.size(), with);
    return s;
}

// Special-token lookups through the tokenizer; errors name the GGUF the vocabulary came from.
class vocab_lookup {
public:
    vocab_lookup(const tokenizer& tok, const gguf_file& file) : tok_(tok), file_(file) {}
    int32_t find(const std::string& piece) const { return tok_.token_id(piece); }
    int32_t require(const std::string& piece) const {
        const int32_t id = find(piece);
        if (id < 0) throw error(file_.path() + ": the chat template needs the token " + piece + ", which the vocabulary lacks");
        return id;
    }

private:
    const tokenizer& tok_;
    const gguf_file& file_;
};

// Walks a segment's parts: consecutive text parts are joined before they are encoded (so a seam
// between two text parts never changes the tokens), a special token ends the text before it. Text
// is encoded as llama.cpp encodes a rendered prompt: a run that opens the prompt or follows a
// special token starts a fragment (sentencepiece's dummy prefix); the first run of a segment that
// `continues` text (the question after the documents) does not.
std::vector<int32_t> build(const std::vector<part>& parts, const tokenizer& tok, const gguf_file& vocab,
                           const std::string& key, const std::string& value, bool has_system, bool with_bos,
                           bool continues) {
    std::vector<int32_t> out;
    if (with_bos && tok.bos() >= 0) out.push_back(tok.bos());
    const vocab_lookup lookup(tok, vocab);
    std::string pending;
    bool after_text = continues; // the next run continues text rather than starting a fragment
    const auto flush = [&] {
        if (pending.empty()) return;
        const auto ids = after_text ? tok.encode_continuation(pending) : tok.encode(pending, false);
        out.insert(out.end(), ids.begin(), ids.end());
        pending.clear();
    };
    for (const part& p : parts) {
        if (p.with_system && !has_system) continue;
        int32_t id = -1;
        if (p.kind == part::special) id = lookup.require(p.value);
        else if (p.kind == part::special_or_text) id = lookup.find(p.value);
        if (id >= 0) {
            flush();
            out.push_back(id);
            after_text = false;
        } else {
            pending += p.kind == part::text ? replace_all(p.value, key, value) : p.value;
        }
    }
    flush();
    return out;
}

std::string render(const std::vector<part>& parts, const std::string& key, const std::string& value, bool has_system) {
    std::string out;
    for (const part& p : parts)
        if (!p.with_system || has_system) out += p.kind == part::text ? replace_all(p.value, key, value) : p.value;
    return out;
}

// The user message starts with the documents; the question follows them.
const std::string documents_open = "Documents:\n";
const std::string question_open = "\n\nQuestion: {question}";

// Qwen2.5's default system prompt, written out in its Jinja template.
const std::string qwen_default_system = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

} // namespace

const std::string& chat_template::effective_system(const std::string& system) const {
    return system.empty() ? default_system : system;
}

std::vector<int32_t> chat_template::system_segment(const tokenizer& tok, const gguf_file& vocab, const std::string& system) const {
    // The system segment opens the sequence: it carries the BOS when the model wants one.
    const std::string& s = effective_system(system);
    return build(system_parts, tok, vocab, "{system}", s, !s.empty(), tok.add_bos_default(), false);
}

std::vector<int32_t> chat_template::question_segment(const tokenizer& tok, const gguf_file& vocab, const std::string& question) const {
    return build(question_parts, tok, vocab, "{question}", question, true, false, true);
}

std::vector<int32_t> chat_template::stop_tokens(const tokenizer& tok, const gguf_file& vocab) const {
    std::vector<int32_t> out;
    if (tok.eos() >= 0) out.push_back(tok.eos());
    const vocab_lookup lookup(tok, vocab);
    for (const auto& s : stop_strings) out.push_back(lookup.require(s));
    return out;
}

std::vector<int32_t> chat_template::system_segment(const tokenizer& tok, const model& m, const std::string& system) const {
    return system_segment(tok, m.file(), system);
}

std::vector<int32_t> chat_template::question_segment(const tokenizer& tok, const model& m, const std::string& question) const {
    return question_segment(tok, m.file(), question);
}

std::vector<int32_t> chat_template::stop_tokens(const tokenizer& tok, const model& m) const { return stop_tokens(tok, m.file()); }

std::string chat_template::prompt_text(const std::string& system, const std::string& documents, const std::string& question) const {
    const std::string& s = effective_system(system);
    return render(system_parts, "{system}", s, !s.empty()) + documents + render(question_parts, "{question}", question, true);
}

// Each family's layout, from its official Jinja template (the rendering is spelled out in the
// tests). Parts marked sys() form the system turn.
chat_template chat_template_named(const std::string& name) {
    chat_template t;
    t.name = name;
    if (name == "chatml" || name == "qwen") { // SmolLM2, Qwen2.5, OpenHermes...
        t.system_parts = {sys(special("<|im_start|>")), sys(text("system\n{system}")), sys(special("<|im_end|>")), sys(text("\n")),
                          special("<|im_start|>"), text("user\n" + documents_open)};
        t.question_parts = {text(question_open), special("<|im_end|>"), text("\n"), special("<|im_start|>"), text("assistant\n")};
        t.stop_strings = {"<|im_end|>"};
        if (name == "qwen") t.default_system = qwen_default_system;
    } else if (name == "gemma") { // no system role: Gemma 3 puts the instructions at the top of the first user turn
        t.system_parts = {special("<start_of_turn>"), text("user\n"), sys(text("{system}\n\n")), text(documents_open)};
        t.question_parts = {text(question_open), special("<end_of_turn>"), text("\n"), special("<start_of_turn>"), text("model\n")};
        t.stop_strings = {"<end_of_turn>"};
    } else if (name == "llama2") { // Llama 2 chat
        t.system_parts = {text("[INST] "), sys(text("<<SYS>>\n{system}\n<</SYS>>\n\n")), text(documents_open)};
        t.question_parts = {text(question_open + " [/INST]")};
    } else if (name == "mistral") { // Mistral 7B Instruct v0.3: the system message opens the last user turn
        t.system_parts = {special_or_text("[INST]"), text(" "), sys(text("{system}\n\n")), text(documents_open)};
        t.question_parts = {text(question_open), special_or_text("[/INST]")};
    } else if (name == "zephyr") { // TinyLlama chat
        t.system_parts = {sys(text("<|system|>\n{system}")), sys(special("</s>")), sys(text("\n")), text("<|user|>\n" + documents_open)};
        t.question_parts = {text(question_open), special("</s>"), text("\n<|assistant|>\n")};
    } else if (name == "llama3") {
        t.system_parts = {sys(special("<|start_header_id|>")), sys(text("system")), sys(special("<|end_header_id|>")),
                          sys(text("\n\n{system}")), sys(special("<|eot_id|>")), special("<|start_header_id|>"), text("user"),
                          special("<|end_header_id|>"), text("\n\n" + documents_open)};
        t.question_parts = {text(question_open), special("<|eot_id|>"), special("<|start_header_id|>"), text("assistant"),
                            special("<|end_header_id|>"), text("\n\n")};
        t.stop_strings = {"<|eot_id|>"};
    } else if (name == "phi3") { // Phi-3 / Phi-3.5 mini
        t.system_parts = {sys(special("<|system|>")), sys(text("\n{system}")), sys(special("<|end|>")), sys(text("\n")),
                          special("<|user|>"), text("\n" + documents_open)};
        t.question_parts = {text(question_open), special("<|end|>"), text("\n"), special("<|assistant|>"), text("\n")};
        t.stop_strings = {"<|end|>"};
    } else if (name == "plain") { // base models: a document, then "Question: ... Answer:"
        t.system_parts = {sys(text("{system}\n"))};
        t.question_parts = {text("\nQuestion: {question}\nAnswer:")};
    } else {
        throw error("unknown chat template '" + name + "' (known: chatml, qwen, gemma, llama2, mistral, zephyr, llama3, phi3, plain)");
    }
    return t;
}

std::string chatml_default_system(const std::string& jinja) {
    // A string literal holding the whole system turn: '<|im_start|>system\n...<|im_end|>'. The
    // newline is an escape in the literal ('\n') or, in some templates, a real one.
    const std::string open = "<|im_start|>system", close = "<|im_end|>";
    for (size_t at = jinja.find(open); at != std::string::npos; at = jinja.find(open, at + 1)) {
        size_t p = at + open.size();
        if (jinja.compare(p, 2, "\\n") == 0) p += 2;
        else if (jinja.compare(p, 1, "\n") == 0) p += 1;
        else continue;
        const size_t end = jinja.find(close, p);
        if (end == std::string::npos) break;
        std::string out;
        bool literal = true; // no quote ends the string before <|im_end|> (that would be an expression)
        for (size_t i = p; i < end && literal; ++i) {
            const char c = jinja[i];
            if (c == '\\' && i + 1 < end) {
                const char e = jinja[++i];
                out += e == 'n' ? '\n' : e == 't' ? '\t' : e;
            } else if (c == '\'' || c == '"' || c == '{' || c == '}') {
                literal = false;
            } else {
                out += c;
            }
        }
        if (literal && !out.empty()) return out;
    }
    return {};
}

chat_template chat_template_for(const gguf_file& file) {
    const std::string jinja = file.get_string("tokenizer.chat_template").value_or("");
    auto has = [&](const char* s) { return jinja.find(s) != std::string::npos; };
    if (has("<|im_start|>")) {
        chat_template t = chat_template_named(has("You are Qwen") ? "qwen" : "chatml");
        t.default_system = chatml_default_system(jinja);
        return t;
    }
    if (has("<start_of_turn>")) return chat_template_named("gemma");
    if (has("<|start_header_id|>")) return chat_template_named("llama3");
    if (has("<|assistant|>") && has("<|end|>")) return chat_template_named("phi3");
    if (has("<|user|>")) return chat_template_named("zephyr");
    if (has("[INST]")) return chat_template_named(has("<<SYS>>") ? "llama2" : "mistral");
    const std::string arch = file.get_string("general.architecture").value_or("");
    if (arch == "gemma3") return chat_template_named("gemma");
    if (arch == "phi3") return chat_template_named("phi3");
    return chat_template_named("plain");
}

chat_template chat_template_for(const model& m) { return chat_template_for(m.file()); }

} // namespace epic
