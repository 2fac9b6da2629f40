#pragma once
// How a chunk's K and V are stored on disk: f16 as computed, or group-wise quantized (8 or 4 bits with
// f16 scales). Part of the compile options, hence of the cache key: caches of another format are
// other caches (stale for the library, recompiled lazily), and one link never mixes formats.
// Linking and decoding always see f16: quantized caches are decoded when loaded.
#include <string>
#include <string_view>

namespace epic {

// kXvY: K at X bits, V at Y. K's rounding is what costs q4 its answers (README, issue 15): an error in
// K moves the softmax, while V's errors average out over the attended rows, so k5v3 and k5v2 spend
// fewer bits than q8 unevenly (k5v3: q4's 4 per value on average; k5v2: 3.5).
enum class kv_format { f16, q8, k8v4, q4, k5v3, k5v2 };
inline constexpr kv_format all_kv_formats[] = {kv_format::f16, kv_format::q8,   kv_format::k8v4,
                                               kv_format::q4,  kv_format::k5v3, kv_format::k5v2};

std::string_view kv_format_name(kv_format f);  // "f16", "q8", "k8v4", "q4", "k5v3", "k5v2"
// The inverse of kv_format_name; throws epic::error naming the accepted names otherwise.
kv_format parse_kv_format(std::string_view name);

} // namespace epic
