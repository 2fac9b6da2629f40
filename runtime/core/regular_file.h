#pragma once
// Opening the files a user hands the runtime (model GGUFs, tokenizer.model files): never blocking and
// only regular files. open() of a FIFO for reading waits for a writer (forever, for a FIFO nobody
// writes), so the open is non-blocking and anything but a regular file (a FIFO, a device, a folder)
// is refused before a byte is read. Every such open goes through here.
// storage/kvstore/atomic_file.h has the same guard for storage's own files (storage_error, no
// descriptor exposed); gguf_file needs the descriptor to mmap, so the two become one once storage's
// regular_file exposes it (storage cannot use the runtime, the runtime may use storage).
#include <cstddef>
#include <string>

namespace epic {

// A regular file open for reading (close-on-exec); closed when destroyed.
class regular_file {
public:
    // Throws epic::error "<path>: cannot open: <reason>" or "<path>: not a regular file (a FIFO)".
    explicit regular_file(const std::string& path);
    ~regular_file();
    regular_file(const regular_file&) = delete;
    regular_file& operator=(const regular_file&) = delete;

    int fd() const { return fd_; }
    size_t size() const { return size_; } // at open time

private:
    int fd_ = -1;
    size_t size_ = 0;
};

// The whole contents of a regular file (the same refusals; "<path>: cannot read: <reason>").
std::string read_regular_file(const std::string& path);

} // namespace epic
