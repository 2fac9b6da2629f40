#pragma once
// A GGUF (v2/v3) file, memory-mapped read-only. Every count, length, offset and shape is checked
// against the file size before use: a truncated or hostile file throws epic::error naming the file
// and the problem, never reads out of bounds.
#include "core/mapped_file.h"
#include "core/tensor_type.h"
#include "gguf/gguf_value.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace epic {

struct gguf_tensor_info {
    std::string name;
    ggml_type type = ggml_type::f32;
    std::vector<int64_t> ne;     // shape, ggml order: ne[0] is the row length (innermost)
    uint64_t offset = 0;         // from the start of the data section
    size_t nbytes = 0;           // bytes of the tensor data
    const uint8_t* data = nullptr; // into the mapping; valid while the gguf_file lives
    int64_t n_elements() const;
};

struct gguf_kv {
    std::string key;
    gguf_value value;
};

class gguf_file {
public:
    // Map and parse a file. Throws epic::error("<path>: <problem>") on any malformation, and at once,
    // without blocking, for anything but a regular file (a FIFO, a device, a folder: storage::regular_file in kvstore/atomic_file.h).
    static std::unique_ptr<gguf_file> open(const std::string& path);
    // Parse bytes already in memory (fuzz tests); `name` is used in error messages. The buffer is a
    // plain vector, so tensor data pointers are only as aligned as the allocator makes them (16 bytes).
    static std::unique_ptr<gguf_file> from_bytes(std::vector<uint8_t> bytes, const std::string& name);

    gguf_file(const gguf_file&) = delete;
    gguf_file& operator=(const gguf_file&) = delete;

    const std::string& path() const { return path_; }
    uint32_t version() const { return version_; }
    size_t alignment() const { return alignment_; }
    size_t file_size() const { return size_; }
    size_t data_offset() const { return data_offset_; } // start of the data section, from the file start

    const std::vector<gguf_kv>& metadata() const { return kv_; }
    const gguf_value* find(std::string_view key) const;

    // Typed getters: nullopt when absent; throw epic::error when present with the wrong type.
    std::optional<int64_t> get_int(std::string_view key) const;       // any integer type
    std::optional<double> get_float(std::string_view key) const;      // any integer or float type
    std::optional<bool> get_bool(std::string_view key) const;
    std::optional<std::string> get_string(std::string_view key) const;
    std::optional<std::vector<std::string>> get_string_array(std::string_view key) const;
    std::optional<std::vector<float>> get_float_array(std::string_view key) const;  // int or float elems
    std::optional<std::vector<int64_t>> get_int_array(std::string_view key) const;

    const std::vector<gguf_tensor_info>& tensors() const { return tensors_; }
    const gguf_tensor_info* find_tensor(std::string_view name) const;

private:
    gguf_file() = default;
    void parse();

    std::string path_;
    uint32_t version_ = 0;
    size_t alignment_ = 32;
    const uint8_t* base_ = nullptr;
    size_t size_ = 0;
    size_t data_offset_ = 0;
    mapped_file mapping_;               // when opened from a file
    std::vector<uint8_t> owned_bytes_;  // when parsed from memory
    std::vector<gguf_kv> kv_;
    std::vector<gguf_tensor_info> tensors_;
    // name -> index, so find() / find_tensor() stay O(1) for models with hundreds of tensors.
    std::unordered_map<std::string, size_t> kv_index_;
    std::unordered_map<std::string, size_t> tensor_index_;
};

} // namespace epic
