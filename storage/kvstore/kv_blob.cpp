#include "kvstore/kv_blob.h"

#include <limits>
#include <stdexcept>

namespace epic::storage {

std::size_t dtype_size(kv_dtype type) {
    switch (type) {
    case kv_dtype::f32: return 4;
    case kv_dtype::f16: return 2;
    case kv_dtype::bf16: return 2;
    case kv_dtype::u8: return 1;
    case kv_dtype::i32: return 4;
    }
    return 0;
}

std::string_view dtype_name(kv_dtype type) {
    switch (type) {
    case kv_dtype::f32: return "f32";
    case kv_dtype::f16: return "f16";
    case kv_dtype::bf16: return "bf16";
    case kv_dtype::u8: return "u8";
    case kv_dtype::i32: return "i32";
    }
    return "?";
}

bool is_known_dtype(std::uint8_t id) { return id <= static_cast<std::uint8_t>(kv_dtype::i32); }

void kv_blob::add_tensor(std::string name, kv_dtype type, std::vector<std::uint64_t> shape,
                         std::span<const std::byte> data) {
    if (shape.empty() || shape.size() > max_tensor_dims)
        throw std::invalid_argument("kv_blob: tensor " + name + " must have 1 to 4 dims");
    if (name.size() > 0xFFFF) throw std::invalid_argument("kv_blob: tensor name too long");
    std::uint64_t elements = 1;
    for (auto d : shape) {
        if (d != 0 && elements > std::numeric_limits<std::uint64_t>::max() / d)
            throw std::invalid_argument("kv_blob: tensor " + name + " shape overflows");
        elements *= d;
    }
    const std::uint64_t bytes = elements * dtype_size(type);
    if (bytes != data.size())
        throw std::invalid_argument("kv_blob: tensor " + name + " has " + std::to_string(data.size()) +
                                    " bytes, shape says " + std::to_string(bytes));
    kv_tensor_info info{std::move(name), type, std::move(shape), payload.size(), bytes};
    payload.insert(payload.end(), data.begin(), data.end());
    tensors.push_back(std::move(info));
}

std::span<const std::byte> kv_blob::tensor_data(std::size_t index) const {
    const auto& t = tensors.at(index);
    return std::span<const std::byte>(payload).subspan(t.offset, t.bytes);
}

} // namespace epic::storage
