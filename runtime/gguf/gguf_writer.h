#pragma once
// Writes GGUF v3 (or v2) files: metadata in insertion order, tensors aligned to general.alignment.
#include "core/tensor_type.h"
#include "gguf/gguf_value.h"

#include <cstdint>
#include <string>
#include <vector>

namespace epic {

class gguf_writer {
public:
    void set_version(uint32_t v) { version_ = v; } // 2 or 3
    void set_alignment(uint32_t a);                // also writes general.alignment
    void set(const std::string& key, gguf_value v); // replaces an existing key
    void set_u32(const std::string& key, uint32_t v) { set(key, gguf_value::make_u32(v)); }
    void set_i32(const std::string& key, int32_t v) { set(key, gguf_value::make_i32(v)); }
    void set_f32(const std::string& key, float v) { set(key, gguf_value::make_f32(v)); }
    void set_bool(const std::string& key, bool v) { set(key, gguf_value::make_bool(v)); }
    void set_string(const std::string& key, std::string v) { set(key, gguf_value::make_string(std::move(v))); }
    void set_string_array(const std::string& key, const std::vector<std::string>& v);
    void set_f32_array(const std::string& key, const std::vector<float>& v);
    void set_i32_array(const std::string& key, const std::vector<int32_t>& v);

    // ne in ggml order (ne[0] = row length). `data` must hold exactly the tensor's bytes.
    void add_tensor(const std::string& name, ggml_type type, std::vector<int64_t> ne, std::vector<uint8_t> data);

    std::vector<uint8_t> to_bytes() const;
    // Writes to path atomically (temp file, fsync, rename). Throws epic::error naming the path.
    void write(const std::string& path) const;

private:
    // Everything before the data section: header, metadata, tensor infos, padding.
    std::vector<uint8_t> header_bytes() const;

    struct pending_tensor {
        std::string name;
        ggml_type type;
        std::vector<int64_t> ne;
        std::vector<uint8_t> data;
    };
    uint32_t version_ = 3;
    uint32_t alignment_ = 32;
    std::vector<std::pair<std::string, gguf_value>> kv_;
    std::vector<pending_tensor> tensors_;
};

} // namespace epic
