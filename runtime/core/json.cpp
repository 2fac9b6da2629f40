#include "core/json.h"

#include "core/error.h"
#include "core/read_file.h"
#include "core/utf8.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <cstdio>
#include <stdexcept>

namespace epic {
namespace {

class parser {
public:
    explicit parser(const std::string& s) : s_(s) {}
    json value() {
        ws();
        if (i_ >= s_.size()) fail("unexpected end");
        const char c = s_[i_];
        json j;
        if (c == '{') {
            j.type = json::kind::object;
            ++i_;
            ws();
            if (peek() == '}') { ++i_; return j; }
            for (;;) {
                ws();
                std::string key = string_lit();
                ws();
                expect(':');
                j.obj[key] = value();
                ws();
                if (peek() == ',') { ++i_; continue; }
                expect('}');
                return j;
            }
        }
        if (c == '[') {
            j.type = json::kind::array;
            ++i_;
            ws();
            if (peek() == ']') { ++i_; return j; }
            for (;;) {
                j.arr.push_back(value());
                ws();
                if (peek() == ',') { ++i_; continue; }
                expect(']');
                return j;
            }
        }
        if (c == '"') { j.type = json::kind::string; j.str = string_lit(); return j; }
        if (s_.compare(i_, 4, "true") == 0) { i_ += 4; j.type = json::kind::boolean; j.b = true; return j; }
        if (s_.compare(i_, 5, "false") == 0) { i_ += 5; j.type = json::kind::boolean; return j; }
        if (s_.compare(i_, 4, "null") == 0) { i_ += 4; return j; }
        char* end = nullptr;
        j.num = std::strtod(s_.c_str() + i_, &end);
        if (end == s_.c_str() + i_) fail("bad value");
        i_ = (size_t)(end - s_.c_str());
        j.type = json::kind::number;
        return j;
    }

private:
    char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
    void ws() { while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_; }
    void expect(char c) { if (peek() != c) fail(std::string("expected '") + c + "'"); ++i_; }
    [[noreturn]] void fail(const std::string& what) const {
        throw error("json: " + what + " at offset " + std::to_string(i_));
    }
    std::string string_lit() {
        expect('"');
        std::string out;
        while (i_ < s_.size() && s_[i_] != '"') {
            char c = s_[i_++];
            if (c != '\\') { out += c; continue; }
            const char e = s_[i_++];
            switch (e) {
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            case 'r': out += '\r'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'u': {
                unsigned cp = (unsigned)std::stoul(s_.substr(i_, 4), nullptr, 16);
                i_ += 4;
                if (cp >= 0xD800 && cp < 0xDC00 && s_.compare(i_, 2, "\\u") == 0) {
                    const unsigned lo = (unsigned)std::stoul(s_.substr(i_ + 2, 4), nullptr, 16);
                    i_ += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                append_utf8(out, cp);
                break;
            }
            default: out += e;
            }
        }
        expect('"');
        return out;
    }
    const std::string& s_;
    size_t i_ = 0;
};

} // namespace

const json& json::operator[](const std::string& key) const {
    auto it = obj.find(key);
    if (it == obj.end()) throw error("json: no key '" + key + "'");
    return it->second;
}

std::vector<double> json::numbers() const {
    std::vector<double> v;
    for (const auto& x : arr) v.push_back(x.num);
    return v;
}

std::vector<int> json::ints() const {
    std::vector<int> v;
    for (const auto& x : arr) v.push_back((int)x.num);
    return v;
}

json json::parse(const std::string& text) { return parser(text).value(); }

json json::parse_file(const std::string& path) {
    return parse(read_file_text(path));
}

std::string json_quote(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out += (char)c;
            }
        }
    }
    return out + "\"";
}

void for_each_json_line(const std::string& path, const std::function<void(const json&)>& on_line) {
    std::istringstream in(read_file_text(path));
    std::string line;
    int n = 0, used = 0;
    while (std::getline(in, line)) {
        ++n;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        try {
            on_line(json::parse(line));
            ++used;
        } catch (const std::exception& e) {
            throw error(path + ": line " + std::to_string(n) + ": " + e.what());
        }
    }
    if (used == 0) throw error(path + ": no lines");
}

} // namespace epic
