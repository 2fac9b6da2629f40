#pragma once
// Text from files and databases (file names, titles, error messages) shown on a terminal: control
// characters are escaped, so a file named "a\nb" or one holding escape codes prints as one inert line.
#include <cstdio>
#include <string>
#include <string_view>

namespace epic::cli {

inline std::string printable(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c == '\r') out += "\\r";
        else if (c < 0x20 || c == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += ch;  // UTF-8 bytes pass through; C1 controls (U+0080..U+009F) are rare enough to keep
        }
    }
    return out;
}

} // namespace epic::cli
