#pragma once
// Internal to runtime/gguf: a bounds-checked little-endian reader over untrusted bytes. Every read
// checks the remaining length first and throws epic::error("<name>: truncated: ...") when the bytes
// are not there, so the parser above it never touches memory outside [base, base + size).
#include "common/error.h"

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

namespace epic::gguf_detail {

static_assert(std::endian::native == std::endian::little, "the GGUF reader assumes a little-endian host");

class cursor {
public:
    cursor(const uint8_t* base, size_t size, const std::string& name) : base_(base), size_(size), name_(name) {}

    size_t pos() const { return pos_; }
    size_t size() const { return size_; }
    size_t remaining() const { return size_ - pos_; }
    const std::string& name() const { return name_; }

    // What is being read, for messages: "tensor info 12 ('blk.0.attn_q.weight')". Set once per item,
    // not per element, so large arrays cost nothing extra.
    void set_context(std::string c) { context_ = std::move(c); }
    const std::string& context() const { return context_; }

    [[noreturn]] void fail(const std::string& problem) const { throw error(name_ + ": " + problem); }
    [[noreturn]] void fail_here(const std::string& problem) const {
        fail(context_.empty() ? problem : context_ + ": " + problem);
    }

    void need(size_t n, const char* what) const {
        if (n > remaining())
            fail("truncated: " + (context_.empty() ? std::string() : context_ + " ") + what + " needs " +
                 std::to_string(n) + " bytes at offset " + std::to_string(pos_) + ", file has " +
                 std::to_string(size_));
    }

    template <typename T> T read(const char* what) {
        static_assert(std::is_trivially_copyable_v<T>);
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, base_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }

    const uint8_t* take(size_t n, const char* what) {
        need(n, what);
        const uint8_t* p = base_ + pos_;
        pos_ += n;
        return p;
    }

    // A GGUF string: u64 length then bytes (not NUL-terminated, not required to be UTF-8).
    std::string read_string(const char* what) {
        const uint64_t len = read<uint64_t>(what);
        if (len > remaining())
            fail("truncated: " + (context_.empty() ? std::string() : context_ + " ") + what + " claims " +
                 std::to_string(len) + " bytes at offset " + std::to_string(pos_) + ", only " +
                 std::to_string(remaining()) + " remain (string length too large)");
        const uint8_t* p = take((size_t)len, what);
        return std::string(reinterpret_cast<const char*>(p), (size_t)len);
    }

private:
    const uint8_t* base_;
    size_t size_;
    size_t pos_ = 0;
    const std::string& name_;
    std::string context_;
};

} // namespace epic::gguf_detail
