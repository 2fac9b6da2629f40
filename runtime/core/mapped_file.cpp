#include "core/mapped_file.h"

#include "common/error.h"
#include "kvstore/atomic_file.h"
#include "storage_error.h"

#include <cerrno>
#include <cstring>
#include <optional>
#include <sys/mman.h>
#include <utility>

namespace epic {

mapped_file mapped_file::open(const std::string& path) {
    // Never blocks (a FIFO), refuses all but regular files; the runtime's errors are epic::error.
    std::optional<storage::regular_file> opened;
    try {
        opened.emplace(path);
    } catch (const storage_error& e) {
        throw error(e.what());
    }
    mapped_file f;
    const size_t size = (size_t)opened->size();
    if (size == 0) return f; // mmap refuses a length of 0; there is nothing to map
    void* m = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, opened->fd(), 0);
    const int map_errno = errno;
    if (m == MAP_FAILED)
        throw error(path + ": cannot memory-map " + std::to_string(size) + " bytes: " + std::strerror(map_errno));
    // The mapping keeps the file alive once `opened` closes it.
    f.mapping_ = m;
    f.size_ = size;
    return f;
}

mapped_file::~mapped_file() { unmap(); }

mapped_file::mapped_file(mapped_file&& other) noexcept
    : mapping_(std::exchange(other.mapping_, nullptr)), size_(std::exchange(other.size_, 0)) {}

mapped_file& mapped_file::operator=(mapped_file&& other) noexcept {
    if (this != &other) {
        unmap();
        mapping_ = std::exchange(other.mapping_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

void mapped_file::unmap() noexcept {
    if (mapping_) ::munmap(mapping_, size_);
    mapping_ = nullptr;
    size_ = 0;
}

} // namespace epic
