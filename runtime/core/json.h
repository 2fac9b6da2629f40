#pragma once
// A small JSON reader and string escaper for the project's own data files (reference logits, question
// sets). Throws epic::error on malformed input.
#include <functional>
#include <map>
#include <string_view>
#include <memory>
#include <string>
#include <vector>

namespace epic {

struct json {
    enum class kind { null, boolean, number, string, array, object } type = kind::null;
    bool b = false;
    double num = 0.0;
    std::string str;
    std::vector<json> arr;
    std::map<std::string, json> obj;

    const json& operator[](const std::string& key) const; // throws when absent
    const json& operator[](size_t i) const { return arr.at(i); }
    size_t size() const { return type == kind::array ? arr.size() : obj.size(); }
    std::vector<double> numbers() const;
    std::vector<int> ints() const;

    static json parse(const std::string& text);
    static json parse_file(const std::string& path);
};

// A JSON Lines file: on_line(value) for each line that is not blank, in order. Throws epic::error
// "<path>: line N: <problem>" for a line that is not JSON or that on_line throws for, and
// "<path>: no lines" for a file without any.
void for_each_json_line(const std::string& path, const std::function<void(const json&)>& on_line);

// s as a JSON string literal, quotes included (UTF-8 passed through, control characters escaped).
std::string json_quote(std::string_view s);

} // namespace epic
