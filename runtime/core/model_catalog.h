#pragma once
// The models the app offers to download: the one table the first-run dialog, the CLI's default-model
// lookup and `epic paths` read, so no other place repeats a size or a figure. Each entry names what
// installer/get-models.sh calls it and the file it writes (tests/runtime/core_model_catalog_test.cpp
// checks both against the script's own table); the quality figures come from the sample library's
// confusable-document QA set (epic bench qa) and are updated here when they are measured again.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace epic {

struct catalog_model {
    const char* name;        // installer/get-models.sh <name>
    const char* title;       // what a person reads: "Qwen2.5-Coder-0.5B-Instruct"
    const char* file;        // what get-models.sh writes into the models folder
    std::uint64_t bytes;     // that file's size
    const char* expectation; // one line: speed and answer quality, for choosing
};

// The offered models, smallest first.
std::span<const catalog_model> model_catalog();

// The one the first run preselects and the CLI uses when no --model is given (when present).
// The 1.5B: the best answers of the three (tests/bench/qa-models.sh, sample-library-qa.sh), and still
// quick enough for the first run (setup-and-run.sh: about 2 minutes from a fresh clone on 2 cores, packages installed).
inline constexpr std::string_view recommended_model_name = "qwen2.5-coder-1.5b";
const catalog_model& recommended_model();

// nullptr when `name` is not in the catalog.
const catalog_model* find_catalog_model(std::string_view name);

// "98 MB", "491 MB", "1.1 GB": decimal units, as download sizes are usually given.
std::string size_text(std::uint64_t bytes);

} // namespace epic
