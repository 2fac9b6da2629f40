#pragma once
// JSON through nlohmann-json: the one include of <nlohmann/json.hpp>, and the project's helpers around
// it, so that malformed input and values of the wrong kind become epic::error naming the file, the key
// and the problem instead of nlohmann's exceptions and their "[json.exception...]" tags.
#include "common/error.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace epic {

using json = nlohmann::json;

// `text` parsed. Throws epic::error "<file>: <what>: not valid JSON: <problem> at line L, column C
// (byte B)" (without "<what>: " when it is empty), and "<file>: <what>: number overflow parsing
// '1e999'" for a number beyond a double's range, which nlohmann refuses rather than make infinite.
json parse_json(std::string_view text, const std::string& file, const std::string& what = {});
// The file at `path` parsed; read_file_text's errors name the file too.
json parse_json_file(const std::string& path);

// nlohmann's message for `e` without its "[json.exception.type_error.302] " tag.
std::string json_problem(const nlohmann::json::exception& e);

// Member `key` of object `j` as T (std::string, std::vector<std::string>, double, ...). Throws
// epic::error "not a JSON object", "no \"key\"" or "\"key\": type must be string, but is number":
// nlohmann's own type_error would not name the key.
template <class T>
T json_member(const json& j, const std::string& key) {
    if (!j.is_object()) throw error("not a JSON object");
    const auto it = j.find(key);
    if (it == j.end()) throw error("no \"" + key + "\"");
    try {
        return it->template get<T>();
    } catch (const nlohmann::json::exception& e) {
        throw error("\"" + key + "\": " + json_problem(e));
    }
}

// A JSON Lines file: on_line(value) for each line that is not blank, in order. Throws epic::error
// "<path>: line N: <problem>" for a line that is not JSON or that on_line throws for, and
// "<path>: no lines" for a file without any.
void for_each_json_line(const std::string& path, const std::function<void(const json&)>& on_line);

// s as a JSON string literal, quotes included: UTF-8 passed through, control characters escaped.
// Bytes that are not UTF-8 become U+FFFD (nlohmann's error_handler_t::replace), so this never throws
// and what it writes is always JSON that parse_json reads back (nlohmann refuses invalid UTF-8).
std::string json_quote(std::string_view s);

} // namespace epic
