#pragma once
// A whole regular file mapped read-only: the loaders of model weights (GGUF, safetensors) read
// tensors in place from the mapping instead of copying gigabytes into memory, and the pages are shared
// with the page cache. The file is opened through storage::regular_file, so a FIFO, a device or a
// folder in place of the file is refused at once instead of blocking forever. The mapping outlives
// the descriptor (closed once mapped). POSIX only.
#include <cstddef>
#include <cstdint>
#include <string>

namespace epic {

class mapped_file {
public:
    // Maps `path` whole. Throws epic::error("<path>: ...") naming the problem: the storage layer's
    // message when the file is missing, unreadable or not a regular file, or
    // "<path>: cannot memory-map N bytes: <strerror>". An empty file maps nothing: data() is null and
    // size() is 0, so the caller's own "too short" check speaks for it.
    static mapped_file open(const std::string& path);

    mapped_file() = default; // maps nothing
    ~mapped_file();
    mapped_file(mapped_file&& other) noexcept;
    mapped_file& operator=(mapped_file&& other) noexcept;
    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;

    const uint8_t* data() const { return static_cast<const uint8_t*>(mapping_); }
    size_t size() const { return size_; } // at open time

private:
    void unmap() noexcept;

    void* mapping_ = nullptr;
    size_t size_ = 0;
};

} // namespace epic
