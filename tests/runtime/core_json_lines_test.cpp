// core/json.h, the helpers around nlohmann-json. JSON Lines (for_each_json_line): every non-blank line
// in order, errors naming the file and the line, whether the JSON is bad or the caller refuses the
// value, and an empty file refused. parse_json's errors name the file and the position; json_member's
// name the key; json_quote writes what parses back, even from bytes that are not UTF-8.
#include "common/error.h"
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
    for_each_json_line(file, [&](const json& j) { seen.push_back(json_member<std::string>(j, "q")); });
    EXPECT_EQ(seen, (std::vector<std::string>{"one", "two", "three"}));

    // The caller's own refusal carries the line number too (line 4: the blank lines count).
    const std::string refused = error_of(file, [](const json& j) {
        if (json_member<std::string>(j, "q") == "two") throw error("no twos");
    });
    EXPECT_NE(refused.find("set.jsonl: line 4: no twos"), std::string::npos) << refused;

    test::write_file(file, "{\"q\": \"one\"}\n{\"q\": \n");
    const std::string bad = error_of(file, [](const json&) {});
    EXPECT_NE(bad.find("set.jsonl: line 2: not valid JSON: "), std::string::npos) << bad;
    EXPECT_NE(bad.find("unexpected end of input"), std::string::npos) << bad;
    EXPECT_EQ(bad.find("[json.exception"), std::string::npos) << bad;

    // A value of the wrong kind, or absent, names the key; nlohmann's own exceptions lose their tag.
    test::write_file(file, "{\"q\": \"one\"}\n{\"q\": 3}\n");
    const std::string wrong = error_of(file, [](const json& j) { json_member<std::string>(j, "q"); });
    EXPECT_NE(wrong.find("set.jsonl: line 2: \"q\": type must be string, but is number"), std::string::npos) << wrong;
    const std::string absent = error_of(file, [](const json& j) { json_member<std::string>(j, "r"); });
    EXPECT_NE(absent.find("set.jsonl: line 1: no \"r\""), std::string::npos) << absent;
    const std::string raw = error_of(file, [](const json& j) { j.at("q").get<std::string>(); });
    EXPECT_NE(raw.find("set.jsonl: line 2: type must be string"), std::string::npos) << raw;
    EXPECT_EQ(raw.find("[json.exception"), std::string::npos) << raw;

    test::write_file(file, "\n \n");
    EXPECT_NE(error_of(file, [](const json&) {}).find("set.jsonl: no lines"), std::string::npos);
    EXPECT_NE(error_of((dir / "missing.jsonl").string(), [](const json&) {}).find("missing.jsonl"), std::string::npos);
}

TEST(json, parse_errors_name_the_file_the_problem_and_where) {
    const std::string multi = "{\n  \"a\": [1, 2,\n  ]\n}";
    try {
        parse_json(multi, "tokenizer.json", "model");
        ADD_FAILURE() << "parsed a trailing comma";
    } catch (const error& e) {
        const std::string m = e.what();
        EXPECT_EQ(m.rfind("tokenizer.json: model: not valid JSON: syntax error", 0), 0u) << m;
        EXPECT_NE(m.find("at line 3, column 3 (byte 19)"), std::string::npos) << m;
    }
    try {
        parse_json("[1e999]", "big.json");
        ADD_FAILURE() << "parsed a number beyond a double";
    } catch (const error& e) {
        EXPECT_EQ(std::string(e.what()), "big.json: number overflow parsing '1e999'");
    }
    EXPECT_THROW(parse_json("{} x", "trailing.json"), error);
    EXPECT_THROW(parse_json("[\"\\uZZZZ\"]", "escape.json"), error);
    EXPECT_EQ(parse_json("{\"a\": [1, 2.5, -3, 18446744073709551615]}", "f").at("a").get<std::vector<double>>(),
              (std::vector<double>{1, 2.5, -3, 18446744073709551615.0}));
}

TEST(json, quote_escapes_and_reads_back) {
    EXPECT_EQ(json_quote("a\"b\\c\n\t\x01 é"), "\"a\\\"b\\\\c\\n\\t\\u0001 é\"");
    for (const std::string& s : {std::string("plain"), std::string("ctl \x1f\r\b\f"), std::string("\xe2\x82\xac \xf0\x9f\x98\x80")})
        EXPECT_EQ(parse_json(json_quote(s), "quoted").get<std::string>(), s) << s;
    // Not UTF-8: each bad byte becomes U+FFFD rather than an exception or a file nlohmann cannot read.
    const std::string bad = "x\xff\xc3(y";
    std::string back;
    ASSERT_NO_THROW(back = parse_json(json_quote(bad), "quoted").get<std::string>());
    EXPECT_EQ(back, "x\xef\xbf\xbd\xef\xbf\xbd(y");
}

} // namespace
} // namespace epic
