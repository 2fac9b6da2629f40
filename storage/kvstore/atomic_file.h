#pragma once
// Crash-safe file replacement: write a temp file in the same folder, fsync it, rename it over the
// target, fsync the folder. A reader (or a crash at any point) sees the old file or the new one,
// never a torn mix. POSIX only.
#include <cstddef>
#include <filesystem>
#include <span>
#include <vector>

namespace epic::storage {

// Creates missing parent folders. Throws storage_error naming the file on any failure (and removes
// the temp file).
void write_file_atomically(const std::filesystem::path& target, std::span<const std::byte> bytes);

// Reads a whole file; throws storage_error naming it when it cannot be opened or read.
std::vector<std::byte> read_whole_file(const std::filesystem::path& file);

// Temp files are named "<target>.tmp-<pid>-<n>"; gc recognises them by this marker.
inline constexpr const char* temp_file_marker = ".tmp-";

} // namespace epic::storage
