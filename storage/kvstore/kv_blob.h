#pragma once
// An opaque typed tensor set: what the runtime hands the KV store. Storage attaches no meaning to the
// key, metadata or tensor names; the runtime decides them (model fingerprint, layer, K or V ...).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace epic::storage {

// Ids are part of the blob file format: never renumber, only add.
enum class kv_dtype : std::uint8_t { f32 = 0, f16 = 1, bf16 = 2, u8 = 3, i32 = 4 };

std::size_t dtype_size(kv_dtype type);
std::string_view dtype_name(kv_dtype type);
bool is_known_dtype(std::uint8_t id);

inline constexpr std::size_t max_tensor_dims = 4;

struct kv_tensor_info {
    std::string name;
    kv_dtype type = kv_dtype::f16;
    std::vector<std::uint64_t> shape;  // 1..4 dims, outermost first, e.g. [tokens, n_head_kv, head_dim]
    std::uint64_t offset = 0;          // byte offset of the tensor in kv_blob::payload
    std::uint64_t bytes = 0;           // element count * dtype_size
};

struct kv_blob {
    std::string key;       // the cache key; the file name is derived from it
    std::string metadata;  // free text (JSON, say) for the runtime
    std::vector<kv_tensor_info> tensors;
    std::vector<std::byte> payload;  // tensors back to back, in order, native little-endian values

    // Appends a tensor; data.size() must equal the element count times the dtype size.
    // Throws std::invalid_argument otherwise (a programming error, not a storage failure).
    void add_tensor(std::string name, kv_dtype type, std::vector<std::uint64_t> shape, std::span<const std::byte> data);
    std::span<const std::byte> tensor_data(std::size_t index) const;
};

} // namespace epic::storage
