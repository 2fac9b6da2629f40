#include "core/json.h"

#include "core/read_file.h"

#include <sstream>

namespace epic {
namespace {

// nlohmann's parse_error text, "parse error at line 2, column 5: syntax error while parsing value -
// ...", as the problem, then where: "syntax error while parsing value - ... at line 2, column 5 (byte
// 15)". On a single line (JSON Lines) only "at column C": the caller names the file's line.
std::string parse_problem(const json::parse_error& e, bool single_line) {
    std::string s = json_problem(e);
    constexpr std::string_view lead = "parse error ";
    const size_t colon = s.find(": ");
    if (!s.starts_with(lead) || colon == std::string::npos) return s + " at byte " + std::to_string(e.byte);
    if (single_line) return s.substr(colon + 2) + " at column " + std::to_string(e.byte);
    return s.substr(colon + 2) + " " + s.substr(lead.size(), colon - lead.size()) + " (byte " + std::to_string(e.byte) + ")";
}

// `text` parsed, or epic::error "<where>not valid JSON: <problem>".
json parse_or_throw(std::string_view text, const std::string& where, bool single_line) {
    try {
        return json::parse(text);
    } catch (const json::parse_error& e) {
        throw error(where + "not valid JSON: " + parse_problem(e, single_line));
    } catch (const json::exception& e) { // out_of_range 406: a number beyond a double's range
        throw error(where + json_problem(e));
    }
}

} // namespace

std::string json_problem(const nlohmann::json::exception& e) {
    const std::string s = e.what();
    const size_t tag_end = s.find("] ");
    return s.starts_with("[json.exception.") && tag_end != std::string::npos ? s.substr(tag_end + 2) : s;
}

json parse_json(std::string_view text, const std::string& file, const std::string& what) {
    return parse_or_throw(text, file + ": " + (what.empty() ? "" : what + ": "), false);
}

json parse_json_file(const std::string& path) { return parse_json(read_file_text(path), path); }

std::string json_quote(std::string_view s) {
    return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

void for_each_json_line(const std::string& path, const std::function<void(const json&)>& on_line) {
    std::istringstream in(read_file_text(path));
    std::string line;
    int n = 0, used = 0;
    while (std::getline(in, line)) {
        ++n;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const std::string where = path + ": line " + std::to_string(n) + ": ";
        const json value = parse_or_throw(line, where, true);
        try {
            on_line(value);
            ++used;
        } catch (const json::exception& e) { // the caller's own nlohmann::json::at or get, untagged
            throw error(where + json_problem(e));
        } catch (const std::exception& e) {
            throw error(where + e.what());
        }
    }
    if (used == 0) throw error(path + ": no lines");
}

} // namespace epic
