#include "gguf/gguf_writer.h"

#include "common/error.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace epic {
namespace {

constexpr uint32_t gguf_magic = 0x46554747; // "GGUF" little-endian

template <typename T> void put(std::vector<uint8_t>& out, T v) {
    const size_t at = out.size();
    out.resize(at + sizeof(T));
    std::memcpy(out.data() + at, &v, sizeof(T));
}

void put_string(std::vector<uint8_t>& out, const std::string& s) {
    put<uint64_t>(out, s.size());
    out.insert(out.end(), s.begin(), s.end());
}

void pad_to(std::vector<uint8_t>& out, size_t alignment) {
    out.resize(out.size() + (alignment - out.size() % alignment) % alignment, 0);
}

void put_value(std::vector<uint8_t>& out, const std::string& key, const gguf_value& v) {
    switch (v.type) {
    case gguf_type::u8: put<uint8_t>(out, (uint8_t)v.u); break;
    case gguf_type::i8: put<int8_t>(out, (int8_t)v.i); break;
    case gguf_type::u16: put<uint16_t>(out, (uint16_t)v.u); break;
    case gguf_type::i16: put<int16_t>(out, (int16_t)v.i); break;
    case gguf_type::u32: put<uint32_t>(out, (uint32_t)v.u); break;
    case gguf_type::i32: put<int32_t>(out, (int32_t)v.i); break;
    case gguf_type::u64: put<uint64_t>(out, v.u); break;
    case gguf_type::i64: put<int64_t>(out, v.i); break;
    case gguf_type::f32: put<float>(out, (float)v.f); break;
    case gguf_type::f64: put<double>(out, v.f); break;
    case gguf_type::boolean: put<uint8_t>(out, v.b ? 1 : 0); break;
    case gguf_type::string: put_string(out, v.str); break;
    case gguf_type::array:
        put<uint32_t>(out, (uint32_t)v.elem_type);
        put<uint64_t>(out, v.items.size());
        for (const auto& item : v.items) {
            // One element type per array in the file: a stray item would corrupt everything after it.
            if (item.type != v.elem_type)
                throw error(std::string("gguf writer: key '") + key + "': array of " + gguf_type_name(v.elem_type) +
                            " holds an item of type " + gguf_type_name(item.type));
            put_value(out, key, item);
        }
        break;
    default: throw error("gguf writer: key '" + key + "' has unknown value type " + std::to_string((uint32_t)v.type));
    }
}

// Bytes of a tensor of this type and shape, validating what a reader would reject.
size_t tensor_bytes(const std::string& name, ggml_type type, const std::vector<int64_t>& ne) {
    if (ne.empty() || ne.size() > 4)
        throw error("gguf writer: tensor '" + name + "' has " + std::to_string(ne.size()) + " dimensions (must be 1..4)");
    const type_traits& tr = traits(type);
    if (ne[0] < 0 || ne[0] % tr.block_size != 0)
        throw error("gguf writer: tensor '" + name + "': row length " + std::to_string(ne[0]) +
                    " is not a multiple of the " + tr.name + " block size " + std::to_string(tr.block_size));
    uint64_t rows = 1;
    for (size_t d = 1; d < ne.size(); ++d) {
        if (ne[d] < 0) throw error("gguf writer: tensor '" + name + "' has a negative dimension");
        if (__builtin_mul_overflow(rows, (uint64_t)ne[d], &rows))
            throw error("gguf writer: tensor '" + name + "': shape too large");
    }
    uint64_t n = 0;
    if (__builtin_mul_overflow(rows, (uint64_t)row_bytes(type, ne[0]), &n))
        throw error("gguf writer: tensor '" + name + "': shape too large");
    return (size_t)n;
}

} // namespace

void gguf_writer::set_alignment(uint32_t a) {
    if (a == 0 || (a & (a - 1)) != 0)
        throw error("gguf writer: alignment " + std::to_string(a) + " is not a power of two");
    alignment_ = a;
    set("general.alignment", gguf_value::make_u32(a));
}

void gguf_writer::set(const std::string& key, gguf_value v) {
    // Keep the file's alignment and the key that announces it in step whichever way it is set.
    if (key == "general.alignment") {
        if (v.type != gguf_type::u32) throw error("gguf writer: general.alignment must be a u32");
        if (v.u == 0 || (v.u & (v.u - 1)) != 0)
            throw error("gguf writer: alignment " + std::to_string(v.u) + " is not a power of two");
        alignment_ = (uint32_t)v.u;
    }
    for (auto& [k, old] : kv_)
        if (k == key) {
            old = std::move(v);
            return;
        }
    kv_.emplace_back(key, std::move(v));
}

void gguf_writer::set_string_array(const std::string& key, const std::vector<std::string>& v) {
    std::vector<gguf_value> items;
    items.reserve(v.size());
    for (const auto& s : v) items.push_back(gguf_value::make_string(s));
    set(key, gguf_value::make_array(gguf_type::string, std::move(items)));
}

void gguf_writer::set_f32_array(const std::string& key, const std::vector<float>& v) {
    std::vector<gguf_value> items;
    items.reserve(v.size());
    for (float x : v) items.push_back(gguf_value::make_f32(x));
    set(key, gguf_value::make_array(gguf_type::f32, std::move(items)));
}

void gguf_writer::set_i32_array(const std::string& key, const std::vector<int32_t>& v) {
    std::vector<gguf_value> items;
    items.reserve(v.size());
    for (int32_t x : v) items.push_back(gguf_value::make_i32(x));
    set(key, gguf_value::make_array(gguf_type::i32, std::move(items)));
}

void gguf_writer::add_tensor(const std::string& name, ggml_type type, std::vector<int64_t> ne,
                             std::vector<uint8_t> data) {
    for (const auto& t : tensors_)
        if (t.name == name) throw error("gguf writer: duplicate tensor name '" + name + "'");
    const size_t n = tensor_bytes(name, type, ne);
    if (data.size() != n)
        throw error("gguf writer: tensor '" + name + "' (" + type_name(type) + ") needs " + std::to_string(n) +
                    " bytes of data, got " + std::to_string(data.size()));
    tensors_.push_back({name, type, std::move(ne), std::move(data)});
}

std::vector<uint8_t> gguf_writer::header_bytes() const {
    if (version_ != 2 && version_ != 3)
        throw error("gguf writer: version " + std::to_string(version_) + " cannot be written (2 or 3)");
    std::vector<uint8_t> out;
    put<uint32_t>(out, gguf_magic);
    put<uint32_t>(out, version_);
    put<uint64_t>(out, tensors_.size());
    put<uint64_t>(out, kv_.size());
    for (const auto& [key, v] : kv_) {
        put_string(out, key);
        put<uint32_t>(out, (uint32_t)v.type);
        put_value(out, key, v);
    }
    uint64_t offset = 0; // each tensor's data starts aligned, relative to the data section
    for (const auto& t : tensors_) {
        put_string(out, t.name);
        put<uint32_t>(out, (uint32_t)t.ne.size());
        for (int64_t d : t.ne) put<int64_t>(out, d);
        put<uint32_t>(out, (uint32_t)t.type);
        put<uint64_t>(out, offset);
        offset += t.data.size() + (alignment_ - t.data.size() % alignment_) % alignment_;
    }
    pad_to(out, alignment_);
    return out;
}

std::vector<uint8_t> gguf_writer::to_bytes() const {
    std::vector<uint8_t> out = header_bytes();
    for (const auto& t : tensors_) {
        out.insert(out.end(), t.data.begin(), t.data.end());
        pad_to(out, alignment_);
    }
    return out;
}

void gguf_writer::write(const std::string& path) const {
    std::vector<uint8_t> header;
    try {
        header = header_bytes();
    } catch (const error& e) {
        throw error(path + ": " + e.what());
    }

    // Temp file in the destination folder, so the final rename stays on one filesystem (atomic).
    std::string tmpl = path + ".tmp-XXXXXX";
    const int fd = ::mkstemp(tmpl.data());
    if (fd < 0) throw error(path + ": cannot create a temporary file beside it: " + std::strerror(errno));
    const std::string tmp = tmpl;
    auto fail = [&](const std::string& what) {
        const int e = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        throw error(path + ": " + what + ": " + std::strerror(e));
    };
    auto write_all = [&](const uint8_t* p, size_t n) {
        while (n > 0) {
            const ssize_t w = ::write(fd, p, n);
            if (w < 0) {
                if (errno == EINTR) continue;
                fail("write failed");
            }
            p += w;
            n -= (size_t)w;
        }
    };
    // Tensor data streams straight from the pending buffers: a large model is never copied whole.
    write_all(header.data(), header.size());
    const std::vector<uint8_t> zeros(alignment_, 0);
    for (const auto& t : tensors_) {
        write_all(t.data.data(), t.data.size());
        write_all(zeros.data(), (alignment_ - t.data.size() % alignment_) % alignment_);
    }
    if (::fchmod(fd, 0644) != 0) fail("chmod failed");
    if (::fsync(fd) != 0) fail("fsync failed");
    if (::close(fd) != 0) {
        const int e = errno;
        ::unlink(tmp.c_str());
        throw error(path + ": close failed: " + std::strerror(e));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = errno;
        ::unlink(tmp.c_str());
        throw error(path + ": cannot rename the temporary file into place: " + std::strerror(e));
    }
    // Make the rename itself durable.
    std::filesystem::path dir = std::filesystem::path(path).parent_path();
    if (dir.empty()) dir = std::filesystem::path(".");
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

} // namespace epic
