#pragma once
// Where documents, question and answer land in a model family's prompt. A linked prompt is
//   system segment (exact prefix: turn markup + instructions)  |  chunk 1 .. chunk n  |  question segment
// and the template decides the markup of the first and last segments, the end-of-turn tokens, and
// whether chunks start with BOS. Chosen from tokenizer.chat_template (or the architecture).
#include <cstdint>
#include <string>
#include <vector>

namespace epic {

class model;
class tokenizer;

struct chat_template {
    // One piece of a segment: markup given as a special token (looked up in the vocabulary) or text.
    struct part {
        bool special = false;
        std::string text;
    };

    std::string name;                 // chatml, gemma, llama2, zephyr, llama3, plain
    std::vector<part> system_parts;   // {system} in a text part is replaced by the system prompt
    std::vector<part> question_parts; // {question} is replaced by the question
    std::vector<std::string> stop_strings; // special tokens that end the answer (besides EOS)

    std::vector<int32_t> system_segment(const tokenizer& tok, const model& m, const std::string& system) const;
    std::vector<int32_t> question_segment(const tokenizer& tok, const model& m, const std::string& question) const;
    std::vector<int32_t> stop_tokens(const tokenizer& tok, const model& m) const;
};

// The template for a model: from its GGUF tokenizer.chat_template when present (recognized by its
// markup), else by architecture (gemma3 -> gemma), else "plain" (a base-model layout).
chat_template chat_template_for(const model& m);
// A named template (throws epic::error for an unknown name).
chat_template chat_template_named(const std::string& name);

} // namespace epic
