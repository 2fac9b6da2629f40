#pragma once
// Crash-safe file replacement: write a temp file in the same folder, fsync it, rename it over the
// target, fsync the folder. A reader (or a crash at any point) sees the old file or the new one,
// never a torn mix. POSIX only.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <span>
#include <vector>

namespace epic::storage {

// Creates missing parent folders. Throws storage_error naming the file on any failure (and removes
// the temp file).
void write_file_atomically(const std::filesystem::path& target, std::span<const std::byte> bytes);

// A regular file opened for reading: every file the product is handed (documents, KV blobs, and the
// runtime's GGUF models and tokenizer files) is opened through here. Opening never blocks (a FIFO in
// place of a file would block open() or read() forever) and never follows a final symlink when
// `no_follow`; anything but a regular file is refused. Throws storage_error naming the file.
class regular_file {
public:
    explicit regular_file(const std::filesystem::path& file, bool no_follow = false);
    ~regular_file();
    regular_file(const regular_file&) = delete;
    regular_file& operator=(const regular_file&) = delete;

    std::uint64_t size() const { return size_; }  // at open time
    int fd() const { return fd_; }                 // for mmap; closed with this object
    // Reads exactly n bytes at offset (storage_error when the file is shorter: it shrank).
    void read_at(std::uint64_t offset, std::byte* out, std::size_t n) const;
    // Reads the whole file, refusing before allocating when it is larger than max_bytes.
    std::vector<std::byte> read_all(std::uint64_t max_bytes) const;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
};

// Reads a whole regular file; throws storage_error naming it when it cannot be opened or read, is not a
// regular file, or is larger than max_bytes (checked before anything is allocated).
std::vector<std::byte> read_whole_file(const std::filesystem::path& file,
                                       std::uint64_t max_bytes = std::numeric_limits<std::uint64_t>::max());

// Temp files are named "<target>.tmp-<pid>-<n>"; gc recognises them by this marker.
inline constexpr const char* temp_file_marker = ".tmp-";

} // namespace epic::storage
