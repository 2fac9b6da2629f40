#pragma once
// A compiled chunk as a storage blob and back. Storage sees only typed tensors; the runtime decides
// what they mean:
//   tokens   i32 [n_rows]
//   f16 format (compile_options::format == f16), per layer l:
//     k.<l>, v.<l>   f16 [n_rows, n_head_kv, head_dim]
//   q8 / q4 formats (pic/kv_quant.h: K in groups of G rows per channel, V the same way or in groups
//   of G channels per row; G = kv_group, V's axis kv_v_axis in the metadata), per layer l, for K
//   then V (x = k or v):
//     x.<l>.q        u8  [code_rows, width]       codes (q4: rows 2i and 2i+1 share a byte)
//     x.<l>.s        f16 [scale_rows, scale_cols] scales
//     x.<l>.m        f16 [scale_rows, scale_cols] minima
// and a metadata line "fingerprint=..;options=..;n_layer=..;n_head_kv=..;head_dim=..;kv_format=..
// [;kv_group=..;kv_v_axis=tokens|channels]". The format is recorded twice (in the options, part of the cache key, and as
// kv_format) and both must agree. Blobs written before formats existed lack kv_format: f16.
#include "pic/chunk_cache.h"
#include "pic/kv_quant.h"
#include "kvstore/kv_blob.h"

#include <string>

namespace epic {

// Quantizes K and V when c.options.format is not f16 (c itself is always f16). Throws epic::error
// when a quantized format meets a NaN or an infinity in K or V.
// `group` and `v_axis` are recorded in the blob; other values than the defaults only for
// measurements (the decoder reads any even group and either axis).
storage::kv_blob chunk_cache_to_blob(const chunk_cache& c, const std::string& key, int group = kv_quant_group,
                                     kv_quant_axis v_axis = kv_quant_v_axis);
// Decodes (and dequantizes) back to f16. Throws epic::error naming `what` when the blob does not hold a
// well-formed chunk cache: a tensor missing, of another type, shape or size than its format and
// metadata imply, or formats that disagree. Every size is checked before anything is allocated, so a
// blob makes this allocate at most its f16 tensors (4x a q4 blob's raw payload).
chunk_cache chunk_cache_from_blob(const storage::kv_blob& blob, const std::string& what);

// What loading a cache of c's format gives back: c through its quantized format and back to f16
// (c unchanged for f16). For benchmarks and for a freshly compiled cache to equal its later loads.
chunk_cache kv_format_round_trip(const chunk_cache& c);

} // namespace epic
