#pragma once
// Where documents, question and answer land in a model family's prompt. A linked prompt is
//   system segment (exact prefix: turn markup + instructions)  |  chunk 1 .. chunk n  |  question segment
// and the template decides the markup of the first and last segments and the end-of-turn tokens.
// Chosen from tokenizer.chat_template (or the architecture).
//
// Laid end to end, the segments are what the family's own Jinja template renders for the messages
// [system?, user] with add_generation_prompt, where the user message is
//   "Documents:\n" + documents + "\n\nQuestion: " + question
// (tests/runtime/service_chat_template_test.cpp writes each family's rendering out by hand). The
// parts below are the only place each family's layout is written, for both the token segments and
// prompt_text().
//
// The system prompt: the app's own instructions when it has some (the system message replaces a
// template's default, exactly as in the Jinja). With none, a template that carries a default system
// prompt (Qwen2.5's "You are Qwen, created by Alibaba Cloud...", SmolLM2's) renders that, because
// the model was trained to see it; a template without one renders no system turn at all.
#include <cstdint>
#include <string>
#include <vector>

namespace epic {

class gguf_file;
class model;
class tokenizer;

struct chat_template {
    // One piece of a segment: markup given as a special token (looked up in the vocabulary) or text.
    struct part {
        enum kind_t : uint8_t {
            text,            // encoded as text; {system} / {question} replaced
            special,         // a special token; the vocabulary must have it
            special_or_text, // the special token when the vocabulary has it, else the same text (Mistral's [INST])
        };
        kind_t kind = text;
        std::string value;
        bool with_system = false; // only when there is a system prompt (the system turn)
    };

    std::string name;                 // chatml, qwen, gemma, llama2, mistral, zephyr, llama3, phi3, plain
    std::vector<part> system_parts;   // {system} in a text part is replaced by the system prompt
    std::vector<part> question_parts; // {question} is replaced by the question
    std::vector<std::string> stop_strings; // special tokens that end the answer (besides EOS)
    std::string default_system;       // the template's own system prompt when the app has none, or ""

    // The system prompt the segments use: `system`, or default_system when `system` is empty.
    const std::string& effective_system(const std::string& system) const;

    // Token segments. `vocab` is the GGUF holding the tokenizer's vocabulary (special tokens are
    // looked up through the tokenizer; errors name the file). The system segment carries the BOS
    // when the model wants one.
    std::vector<int32_t> system_segment(const tokenizer& tok, const gguf_file& vocab, const std::string& system) const;
    std::vector<int32_t> question_segment(const tokenizer& tok, const gguf_file& vocab, const std::string& question) const;
    std::vector<int32_t> stop_tokens(const tokenizer& tok, const gguf_file& vocab) const;
    std::vector<int32_t> system_segment(const tokenizer& tok, const model& m, const std::string& system) const;
    std::vector<int32_t> question_segment(const tokenizer& tok, const model& m, const std::string& question) const;
    std::vector<int32_t> stop_tokens(const tokenizer& tok, const model& m) const;

    // The whole prompt as text, special tokens written out, BOS not included: what the segments
    // stand for when `documents` sits between them. For tests, logs and `epic` output.
    std::string prompt_text(const std::string& system, const std::string& documents, const std::string& question) const;
};

// The template for a model: from its GGUF tokenizer.chat_template when present (recognized by its
// markup; a default system prompt is read from it), else by architecture (gemma3 -> gemma), else
// "plain" (a base-model layout).
chat_template chat_template_for(const gguf_file& file);
chat_template chat_template_for(const model& m);
// A named template (throws epic::error for an unknown name). "qwen" carries Qwen2.5's default
// system prompt; the others none.
chat_template chat_template_named(const std::string& name);
// The default system prompt a ChatML Jinja template writes out literally when the conversation
// has no system message, or "" (exposed for tests).
std::string chatml_default_system(const std::string& jinja);

} // namespace epic
