// JSON Lines (core/json.h for_each_json_line): every non-blank line in order, errors naming the file
// and the line, whether the JSON is bad or the caller refuses the value, and an empty file refused.
#include "core/error.h"
#include "core/json.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <vector>

namespace epic {
namespace {

std::string error_of(const std::string& path, const std::function<void(const json&)>& on_line) {
    try {
        for_each_json_line(path, on_line);
    } catch (const error& e) {
        return e.what();
    }
    return "";
}

TEST(json_lines, reads_each_line_in_order_and_names_the_file_and_line_of_a_problem) {
    test::scratch_dir dir;
    const auto file = (dir / "set.jsonl").string();
    test::write_file(file, "{\"q\": \"one\"}\n\n  \r\n{\"q\": \"two\", \"n\": [1, 2]}\n{\"q\": \"three\"}");
    std::vector<std::string> seen;
    for_each_json_line(file, [&](const json& j) { seen.push_back(j["q"].str); });
    EXPECT_EQ(seen, (std::vector<std::string>{"one", "two", "three"}));

    // The caller's own refusal carries the line number too (line 4: the blank lines count).
    const std::string refused = error_of(file, [](const json& j) {
        if (j["q"].str == "two") throw error("no twos");
    });
    EXPECT_NE(refused.find("set.jsonl: line 4: no twos"), std::string::npos) << refused;

    test::write_file(file, "{\"q\": \"one\"}\n{\"q\": \n");
    const std::string bad = error_of(file, [](const json&) {});
    EXPECT_NE(bad.find("set.jsonl: line 2:"), std::string::npos) << bad;

    test::write_file(file, "\n \n");
    EXPECT_NE(error_of(file, [](const json&) {}).find("set.jsonl: no lines"), std::string::npos);
    EXPECT_NE(error_of((dir / "missing.jsonl").string(), [](const json&) {}).find("missing.jsonl"), std::string::npos);
}

} // namespace
} // namespace epic
