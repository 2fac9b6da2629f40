#pragma once
// A small JSON reader for test data files (reference logits and tokens). Not for untrusted input.
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace epic::test {

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

} // namespace epic::test
