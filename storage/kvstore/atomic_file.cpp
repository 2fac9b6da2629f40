#include "kvstore/atomic_file.h"

#include "storage_error.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <string>

namespace epic::storage {
namespace {

[[noreturn]] void fail_errno(const std::filesystem::path& file, const char* what, int err) {
    throw storage_error(file.string() + ": " + what + ": " + std::strerror(err));
}

// Closes a descriptor on scope exit.
struct fd_guard {
    int fd = -1;
    ~fd_guard() {
        if (fd >= 0) ::close(fd);
    }
};

void fsync_dir(const std::filesystem::path& dir) {
    fd_guard d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (d.fd < 0) fail_errno(dir, "cannot open folder to sync", errno);
    if (::fsync(d.fd) != 0) fail_errno(dir, "cannot sync folder", errno);
}

} // namespace

void write_file_atomically(const std::filesystem::path& target, std::span<const std::byte> bytes) {
    const auto dir = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw storage_error(dir.string() + ": cannot create folder: " + ec.message());

    std::random_device rd;
    std::filesystem::path temp;
    fd_guard f;
    for (int attempt = 0; attempt < 16 && f.fd < 0; ++attempt) {
        temp = target;
        temp += std::string(temp_file_marker) + std::to_string(::getpid()) + "-" + std::to_string(rd());
        f.fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (f.fd < 0 && errno != EEXIST) fail_errno(temp, "cannot create temp file", errno);
    }
    if (f.fd < 0) fail_errno(temp, "cannot create temp file", EEXIST);
    try {
        const std::byte* p = bytes.data();
        std::size_t left = bytes.size();
        while (left > 0) {
            const ssize_t n = ::write(f.fd, p, left);
            if (n < 0) {
                if (errno == EINTR) continue;
                fail_errno(temp, "write failed", errno);
            }
            p += n;
            left -= static_cast<std::size_t>(n);
        }
        if (::fsync(f.fd) != 0) fail_errno(temp, "fsync failed", errno);
        const int fd = f.fd;
        f.fd = -1;
        if (::close(fd) != 0) fail_errno(temp, "close failed", errno);
        if (::rename(temp.c_str(), target.c_str()) != 0) fail_errno(target, "rename failed", errno);
    } catch (...) {
        ::unlink(temp.c_str());
        throw;
    }
    // The rename is only durable once the folder entry is on disk.
    fsync_dir(dir);
}

std::vector<std::byte> read_whole_file(const std::filesystem::path& file) {
    fd_guard f{::open(file.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0) fail_errno(file, "cannot open", errno);
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) fail_errno(file, "cannot stat", errno);
    if (!S_ISREG(st.st_mode)) throw storage_error(file.string() + ": not a regular file");
    std::vector<std::byte> out(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < out.size()) {
        const ssize_t n = ::read(f.fd, out.data() + got, out.size() - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail_errno(file, "read failed", errno);
        }
        if (n == 0) break;  // shrank while reading: return what is there, the parser will notice
        got += static_cast<std::size_t>(n);
    }
    out.resize(got);
    return out;
}

} // namespace epic::storage
