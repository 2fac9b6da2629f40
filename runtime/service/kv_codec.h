#pragma once
// A compiled chunk as a storage blob and back. Storage sees only typed tensors: tokens (i32
// [n_rows]), per layer k.<l> and v.<l> (f16 [n_rows, n_head_kv, head_dim]) and a metadata line.
#include "pic/chunk_cache.h"
#include "kvstore/kv_blob.h"

#include <string>

namespace epic {

storage::kv_blob chunk_cache_to_blob(const chunk_cache& c, const std::string& key);
// Throws epic::error naming `what` when the blob does not hold a well-formed chunk cache.
chunk_cache chunk_cache_from_blob(const storage::kv_blob& blob, const std::string& what);

} // namespace epic
