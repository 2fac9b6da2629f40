#pragma once
// How a chunk's K and V are stored on disk: f16 as computed, or group-wise quantized (8 or 4 bits with
// f16 scales). Part of the compile options, hence of the cache key: caches of another format are
// other caches (stale for the library, recompiled lazily), and one link never mixes formats.
// Linking and decoding always see f16: quantized caches are decoded when loaded.
#include <string>
#include <string_view>

namespace epic {

// k8v4: K at 8 bits, V at 4. Spending q4's bits the other way round was measured worse (SmolLM2, 200
// questions, KL of the first answer token against f16 caches: k8v4 0.0065, q4 0.0087, K at 5 bits
// with V at 3 0.0169, with V at 2 0.17 and 5.5 points of answers): below 4 bits V's rounding costs
// more than K's (README, issue 15).
enum class kv_format { f16, q8, k8v4, q4 };
inline constexpr kv_format all_kv_formats[] = {kv_format::f16, kv_format::q8, kv_format::k8v4, kv_format::q4};

std::string_view kv_format_name(kv_format f);  // "f16", "q8", "k8v4", "q4"
// The inverse of kv_format_name; throws epic::error naming the accepted names otherwise.
kv_format parse_kv_format(std::string_view name);

} // namespace epic
