#include "core/regular_file.h"

#include "core/error.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace epic {
namespace {

const char* kind_of(mode_t mode) {
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISDIR(mode)) return "a folder";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a plain file";
}

} // namespace

regular_file::regular_file(const std::string& path) {
    // O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer; it changes nothing
    // for a regular file's reads, and is cleared below all the same.
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd_ < 0) throw error(path + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
        const int e = errno;
        ::close(fd_);
        throw error(path + ": cannot stat: " + std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd_);
        throw error(path + ": not a regular file (" + kind_of(st.st_mode) + ")");
    }
    const int flags = ::fcntl(fd_, F_GETFL);
    if (flags >= 0) ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
    size_ = (size_t)st.st_size;
}

regular_file::~regular_file() {
    if (fd_ >= 0) ::close(fd_);
}

std::string read_regular_file(const std::string& path) {
    regular_file f(path);
    std::string bytes(f.size(), '\0');
    size_t got = 0;
    while (got < bytes.size()) {
        const ssize_t n = ::read(f.fd(), bytes.data() + got, bytes.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw error(path + ": cannot read: " + std::strerror(errno));
        if (n == 0) break; // shrank since it was opened
        got += (size_t)n;
    }
    bytes.resize(got);
    return bytes;
}

} // namespace epic
