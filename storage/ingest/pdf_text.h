#pragma once
// PDF text through poppler-cpp, page by page, keeping where each page starts in the text.
#include "ingest/extract.h"

#include <cstddef>
#include <filesystem>
#include <span>

namespace epic::storage {

// Throws storage_error naming the file for a PDF poppler cannot open, an encrypted (locked) one, or
// one with no extractable text at all (a scanned PDF needs OCR, which we do not do). poppler's own
// warnings and errors never reach stderr; the first one explains an unreadable PDF's error.
extracted_text pdf_to_text(const std::filesystem::path& file, std::span<const std::byte> bytes);

} // namespace epic::storage
