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

regular_file::regular_file(const std::filesystem::path& file, bool no_follow) : path_(file) {
    // O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer; cleared below.
    fd_ = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (no_follow ? O_NOFOLLOW : 0));
    if (fd_ < 0) {
        const int err = errno;
        if (err == ELOOP && no_follow) throw storage_error(file.string() + ": is a symbolic link, not a regular file");
        fail_errno(file, "cannot open", err);
    }
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
        const int err = errno;
        ::close(fd_);
        fail_errno(file, "cannot stat", err);
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd_);
        throw storage_error(file.string() + ": not a regular file (" + kind_of(st.st_mode) + ")");
    }
    if (const int flags = ::fcntl(fd_, F_GETFL); flags >= 0) ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
    size_ = static_cast<std::uint64_t>(st.st_size);
}

regular_file::~regular_file() {
    if (fd_ >= 0) ::close(fd_);
}

void regular_file::read_at(std::uint64_t offset, std::byte* out, std::size_t n) const {
    std::size_t got = 0;
    while (got < n) {
        const ssize_t r = ::pread(fd_, out + got, n - got, static_cast<off_t>(offset + got));
        if (r < 0) {
            if (errno == EINTR) continue;
            fail_errno(path_, "read failed", errno);
        }
        if (r == 0)
            throw storage_error(path_.string() + ": truncated while reading (" + std::to_string(offset + got) +
                                " of " + std::to_string(offset + n) + " bytes)");
        got += static_cast<std::size_t>(r);
    }
}

std::vector<std::byte> regular_file::read_all(std::uint64_t max_bytes) const {
    if (size_ > max_bytes)
        throw storage_error(path_.string() + ": is " + std::to_string(size_) + " bytes, more than the " +
                            std::to_string(max_bytes) + "-byte limit");
    std::vector<std::byte> out(static_cast<std::size_t>(size_));
    read_at(0, out.data(), out.size());
    return out;
}

std::vector<std::byte> read_whole_file(const std::filesystem::path& file, std::uint64_t max_bytes) {
    return regular_file(file).read_all(max_bytes);
}

} // namespace epic::storage
