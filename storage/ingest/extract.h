#pragma once
// Text extraction by file type. Output is always valid UTF-8 with "\n" line ends; extraction problems
// that make a document unusable throw storage_error naming the file, a few bad bytes never do
// (repaired), but a txt/md/html file that is not text at all does (text_check.h). Extraction is
// linear in the file's size whatever its content.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace epic::storage {

struct extracted_text {
    std::string text;
    // page_starts[i] = byte offset in text where page i+1 begins (page_starts[0] == 0). Empty for
    // formats without pages.
    std::vector<std::size_t> page_starts;
    std::string title;  // from the document when it has one, else the file name without extension;
                        // at most about 200 bytes
};

// "txt", "md", "html", "pdf" from the extension (case-insensitive), nullopt for anything else.
std::optional<std::string> document_kind(const std::filesystem::path& file);

// bytes are the file's content (already read: the caller hashes the same bytes).
extracted_text extract_document(const std::filesystem::path& file, std::span<const std::byte> bytes, std::string_view kind);

// 1-based page holding byte offset `offset`; 0 when there are no pages.
int page_at(const std::vector<std::size_t>& page_starts, std::size_t offset);

// Plain text / Markdown: repaired UTF-8, BOM dropped, CRLF and CR turned into LF.
std::string normalize_plain_text(std::string_view raw);

} // namespace epic::storage
