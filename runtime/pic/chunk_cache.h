#pragma once
// A compiled chunk: the per-layer K (before RoPE) and V of `[BOS]... + chunk tokens` computed on its
// own at positions 0..n_rows-1. Independent of where it will land: RoPE is applied at link time.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace epic {

struct compile_options {
    int n_sink = 1; // leading BOS tokens compiled before the chunk (1 normally; LegoLink-0 uses 4)
    bool operator==(const compile_options&) const = default;
    std::string to_string() const; // "sink=1", part of the cache key
};

struct chunk_cache {
    std::string model_fingerprint;
    compile_options options;
    std::vector<int32_t> tokens;  // [n_rows] the compiled tokens, sinks included
    int32_t n_layer = 0;
    int32_t n_head_kv = 0;
    int32_t head_dim = 0;
    std::vector<std::vector<uint16_t>> k; // [n_layer][n_rows, n_head_kv, head_dim] f16, before RoPE
    std::vector<std::vector<uint16_t>> v; // [n_layer][n_rows, n_head_kv, head_dim] f16

    int32_t n_rows() const { return (int32_t)tokens.size(); }
    // False for a header-only cache (k and v empty): its tensors live only in a GPU hot tier (the
    // service skips reading and decompressing a blob whose copy is resident); linking it without
    // that tier is an error.
    bool has_tensors() const { return !k.empty() || !v.empty(); }
    int32_t row_width() const { return n_head_kv * head_dim; }
    size_t kv_bytes() const; // bytes of K and V

    // A self-describing byte string (header + tensors) and back. deserialize throws epic::error
    // naming `what` on anything inconsistent (sizes, counts, truncation).
    std::vector<uint8_t> serialize() const;
    static chunk_cache deserialize(std::span<const uint8_t> bytes, const std::string& what);
};

// The key under which a chunk's cache is stored: model fingerprint + tokens + compile options.
std::string chunk_cache_key(const std::string& model_fingerprint, std::span<const int32_t> chunk_tokens,
                            const compile_options& options);
// The same key computed from a compiled cache (its tokens after the sinks are the chunk's tokens).
std::string chunk_cache_key(const chunk_cache& c);

} // namespace epic
