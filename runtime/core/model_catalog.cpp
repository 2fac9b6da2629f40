#include "core/model_catalog.h"

#include <array>
#include <cstdio>

namespace epic {

namespace {

// Quality: right answers of the app as it answers by default (LegoLink-16) on the project's QA set
// (tests/bench/qa-models.sh: fact, needle and confusable questions over 8 documents; 200 questions,
// 100 for the 1.5B). Speed: answer tokens/s on 2 cores of an AMD EPYC (tests/bench/vs-llama-cpp.sh).
// Update them here when remeasured.
constexpr std::array<catalog_model, 3> catalog{{
    {"smollm2", "SmolLM2-135M-Instruct", "smollm2-135m-instruct-q4_1.gguf", 98362432,
     "Fastest (about 80 tokens/s on 2 CPU cores), but often wrong: 32% right on our document questions."},
    {"qwen2.5-coder-0.5b", "Qwen2.5-Coder-0.5B-Instruct", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", 491400064,
     "Quick (about 28 tokens/s on 2 CPU cores): 60% right on our document questions."},
    {"qwen2.5-coder-1.5b", "Qwen2.5-Coder-1.5B-Instruct", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", 1117320768,
     "The best answers: 69% right on our document questions; about 10 tokens/s on 2 CPU cores, fast on a GPU."},
}};

} // namespace

std::span<const catalog_model> model_catalog() { return catalog; }

const catalog_model* find_catalog_model(std::string_view name) {
    for (const catalog_model& m : catalog)
        if (name == m.name) return &m;
    return nullptr;
}

const catalog_model& recommended_model() {
    // A name that is not in the table is a programming error caught by the catalog test; fall back to
    // the first entry rather than crash.
    const catalog_model* m = find_catalog_model(recommended_model_name);
    return m ? *m : catalog.front();
}

std::string size_text(std::uint64_t bytes) {
    char buf[32];
    if (bytes >= 1000000000ull)
        std::snprintf(buf, sizeof buf, "%.1f GB", double(bytes) / 1e9);
    else if (bytes >= 1000000ull)
        std::snprintf(buf, sizeof buf, "%.0f MB", double(bytes) / 1e6);
    else
        std::snprintf(buf, sizeof buf, "%.0f kB", double(bytes) / 1e3);
    return buf;
}

} // namespace epic
