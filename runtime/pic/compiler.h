#pragma once
// Compiling a chunk: `[BOS] x n_sink + tokens` through the model on its own at positions 0..n-1,
// keeping every layer's K before RoPE and V.
#include "forward/transformer.h"
#include "pic/chunk_cache.h"

#include <span>

namespace epic {

chunk_cache compile_chunk(transformer& tf, std::span<const int32_t> chunk_tokens, int32_t bos,
                          const compile_options& options);

} // namespace epic
