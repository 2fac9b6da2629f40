#pragma once
// A .safetensors file (the Hugging Face weights format), memory-mapped read-only:
//   8 bytes   N, the header length, little-endian u64
//   N bytes   a JSON object: tensor name -> {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}
//             and an optional "__metadata__" object of strings; space-padded
//   the rest  the data section; offsets count from its start
// Everything a hostile file can get wrong is checked at open, before any tensor is handed out: the
// header length against the file, the JSON (its nesting bounded before it is parsed), every dtype,
// shape and offset, shape products in 64 bits without overflow, the byte count against dtype x shape,
// tensors that overlap or leave holes (the reference implementation refuses both), and alignment of
// each tensor's data to its element size (so an F32 tensor can be read as floats in place). Errors
// are epic::error naming the file and, where there is one, the tensor.
#include "core/json.h"
#include "core/mapped_file.h"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace epic {

struct safetensors_tensor {
    std::string name;
    std::string dtype;            // as written: "F32", "F16", "BF16", "I64", ...
    size_t element_bytes = 0;     // of dtype
    std::vector<int64_t> shape;   // outermost first (row-major, PyTorch order); empty for a scalar
    int64_t n_elements = 0;       // product of shape (1 for a scalar)
    size_t offset = 0;            // from the start of the data section
    size_t nbytes = 0;            // n_elements * element_bytes
    const uint8_t* data = nullptr; // into the mapping, aligned to element_bytes; valid while the file lives
};

class safetensors_file {
public:
    // Maps and validates `path`. Throws epic::error("<path>: <problem>") on any malformation, and at
    // once, without blocking, for anything but a regular file.
    static std::unique_ptr<safetensors_file> open(const std::string& path);
    safetensors_file(const safetensors_file&) = delete;
    safetensors_file& operator=(const safetensors_file&) = delete;

    const std::string& path() const { return path_; }
    const std::vector<safetensors_tensor>& tensors() const { return tensors_; } // in offset order
    const std::map<std::string, std::string>& metadata() const { return metadata_; } // "__metadata__"
    // The tensor named `name`, or null.
    const safetensors_tensor* find(std::string_view name) const;

    // The F32 tensor `name`, which must have exactly `shape` (outermost first). Throws epic::error
    // naming the file and the tensor when it is absent, of another dtype (F16 and BF16 are refused
    // with that said) or of another shape.
    std::span<const float> f32(const std::string& name, std::span<const int64_t> shape) const;
    std::span<const float> f32(const std::string& name, std::initializer_list<int64_t> shape) const {
        return f32(name, std::span<const int64_t>(shape.begin(), shape.size()));
    }

private:
    safetensors_file() = default;
    void parse();

    std::string path_;
    mapped_file mapping_;
    const uint8_t* base_ = nullptr;
    size_t size_ = 0;
    std::vector<safetensors_tensor> tensors_;
    std::map<std::string, size_t, std::less<>> index_; // name -> position in tensors_
    std::map<std::string, std::string> metadata_;
};

// Parses JSON text after checking that its arrays and objects nest at most `max_depth` deep.
// nlohmann's parser keeps its own stack, but copying, comparing or printing a value recurses once
// per level, and a header or config nested deeper than a few levels is hostile anyway: a "[[[[..."
// fails here, with a message, before any value is built. Throws epic::error("<file>: <what>: ...") for bad nesting or malformed
// JSON (parse_json's messages).
json parse_json_bounded(const std::string& text, const std::string& file, const std::string& what, int max_depth);

} // namespace epic
