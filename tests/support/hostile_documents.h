#pragma once
// Pathological documents for the ingestion tests and tests/bench/ingest-pathological.sh: text with
// no whitespace, no sentence ends, no markup boundaries, so the extractor and the chunker get no easy
// cut and any per-cut rescan of the rest of the input shows up as super-linear time.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace epic::test {

struct hostile_document {
    std::string name;      // a file name whose extension selects the extractor ("one-word.txt")
    std::string kind;      // what storage::document_kind says for it: "txt", "md", "html"
    std::string content;   // the file's bytes, about `bytes` long
    std::string expected;  // the text extraction must produce
};

// One word of random letters, CJK without spaces or full stops, a Markdown heading that is one
// word, HTML of only '&', of only '<', and a run of character entities (named, decimal, hex,
// unknown ones and bare '&'). Deterministic: the same bytes on every run.
std::vector<hostile_document> hostile_documents(std::size_t bytes);

// A stand-in for a subword tokenizer that is linear in its input: each whitespace-separated word
// counts one token per three code points (rounded up), so a word without spaces has many tokens
// and must be cut between code points. Not additive across a cut, as real tokenizers are not.
int count_subwords(std::string_view text);

} // namespace epic::test
