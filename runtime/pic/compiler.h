#pragma once
// Compiling a chunk: `[BOS] x n_sink + tokens` through the model at positions 0..n-1 on its own, or
// right after a context prefix (context-compiled chunks: the cached system segment, at positions
// 0..|context|-1, the chunk after it), keeping every layer's K before RoPE and V of the chunk's rows.
#include "forward/transformer.h"
#include "pic/chunk_cache.h"

#include <span>

namespace epic {

// `options.n_sink` BOS tokens open the chunk. A non-empty `context` is computed first and dropped:
// the result's options carry its fingerprint and length (whatever options.context said).
chunk_cache compile_chunk(transformer& tf, std::span<const int32_t> chunk_tokens, int32_t bos,
                          const compile_options& options, std::span<const int32_t> context = {});

} // namespace epic
