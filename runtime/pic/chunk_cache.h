#pragma once
// A compiled chunk: the per-layer K (before RoPE) and V of `[BOS]... + chunk tokens` computed on its
// own at positions 0..n_rows-1. Independent of where it will land: RoPE is applied at link time.
#include "pic/kv_format.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace epic {

struct compile_options {
    // Declared so that compile_options is no aggregate: `{1}` does not compile, rather than silently
    // meaning "one sink". Say what the options are with a named constructor below.
    compile_options() = default;
    // Compiled on its own at positions 0.., after `n_sink` BOS tokens, in f16: a chunk under the
    // paper's scheme (standalone(1); link_policy::chunk_compile_options gives a policy's), or with
    // standalone(0) a system segment, which is an exact prefix and brings its own opening.
    static compile_options standalone(int n_sink);
    int n_sink = 1; // leading BOS tokens compiled before the chunk (1 normally; LegoLink-0 uses 4; 0 framed by a header)
    // Context-compiled chunks: the chunk was compiled right after a prefix (the cached system segment,
    // which every link places at position 0), so its rows saw the real attention sink and the
    // template's opening instead of acting as their own sinks. `context` names that prefix
    // (context_fingerprint of its tokens) and context_rows is its length: the chunk's row 0 sat at
    // position context_rows. Empty / 0: compiled standalone at positions 0.. (the paper's scheme).
    std::string context;
    int context_rows = 0;
    // The stored format of K and V (pic/kv_format.h). In memory a chunk_cache is always f16.
    kv_format format = kv_format::f16;
    bool operator==(const compile_options&) const = default;
    // "sink=1" (standalone), "sink=0,ctx=<16 hex>/<rows>" (context-compiled), then ",kv=q8" / ",kv=q4"
    // for a quantized format (f16 adds nothing: its keys are those of before formats existed); part of
    // the cache key.
    std::string to_string() const;
    // The inverse of to_string; throws epic::error naming `what` for anything else.
    static compile_options parse(const std::string& s, const std::string& what);
};

// Names a compile prefix by its tokens (16 hex digits): a chunk compiled after another system
// prompt has another context and is never linked after this one.
std::string context_fingerprint(std::span<const int32_t> prefix_tokens);

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
};

// The key under which a chunk's cache is stored: model fingerprint + tokens + compile options.
std::string chunk_cache_key(const std::string& model_fingerprint, std::span<const int32_t> chunk_tokens,
                            const compile_options& options);
// The same key computed from a compiled cache (its tokens after the sinks are the chunk's tokens).
std::string chunk_cache_key(const chunk_cache& c);

} // namespace epic
