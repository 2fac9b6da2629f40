#include "pic/kv_format.h"

#include "common/error.h"

namespace epic {

std::string_view kv_format_name(kv_format f) {
    switch (f) {
    case kv_format::f16: return "f16";
    case kv_format::q8: return "q8";
    case kv_format::k8v4: return "k8v4";
    case kv_format::q4: return "q4";
    }
    return "f16";
}

kv_format parse_kv_format(std::string_view name) {
    for (kv_format f : all_kv_formats)
        if (name == kv_format_name(f)) return f;
    std::string names;
    for (kv_format f : all_kv_formats) names += (names.empty() ? "" : ", ") + std::string(kv_format_name(f));
    throw error("unknown KV cache format '" + std::string(name) + "' (expected one of " + names + ")");
}

} // namespace epic
