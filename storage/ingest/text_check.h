#pragma once
// Telling text from binary data before extraction. A file named .txt/.md/.html that holds an image,
// an archive or random bytes would otherwise be "repaired" into U+FFFD soup and indexed as hundreds
// of chunks of garbage. Text has no NUL bytes, and is UTF-8 but for a few stray bytes (a Latin-1
// accent, a truncated sequence), which extraction repairs.
#include <filesystem>
#include <string_view>

namespace epic::storage {

// More ill-formed UTF-8 than this (ill-formed sequences per byte) and a file is not taken for text.
// Random bytes score about one half; a Latin-1 French or German text a few hundredths.
inline constexpr double max_invalid_utf8_fraction = 0.10;

// Throws storage_error "<file>: not a text file (...)" when `raw` has a NUL byte (binary data, or
// UTF-16 text) or more than max_invalid_utf8_fraction of it is not UTF-8.
void require_text(const std::filesystem::path& file, std::string_view raw);

} // namespace epic::storage
