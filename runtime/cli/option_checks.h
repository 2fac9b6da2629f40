#pragma once
// Range checks for CLI11 options that say what epic has always said: "must be between 1 and 1024,
// got 100000" (CLI11 puts the option's name in front). Not CLI::Range: it lets "nan" through for
// doubles, and for an integer too large for an int says only that it could not be converted.
// Included only by the programs' main.cpp files, which parse with CLI11; nothing else should pay
// for compiling CLI11.
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <string>

namespace epic::cli {

// An integer in [lo, hi].
inline CLI::Validator whole_in(long long lo, long long hi) {
    return CLI::Validator(
        [lo, hi](std::string& v) -> std::string {
            char* end = nullptr;
            errno = 0;
            const long long x = std::strtoll(v.c_str(), &end, 10);
            if (end == v.c_str() || *end) return "expects an integer, got '" + v + "'";
            if (errno == ERANGE || x < lo || x > hi)
                return "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " + v;
            return {};
        },
        "[" + std::to_string(lo) + " - " + std::to_string(hi) + "]");
}

inline std::string number_text(double x) {
    std::ostringstream s;
    s << x;
    return s.str();
}

// A finite number in [lo, hi].
inline CLI::Validator number_in(double lo, double hi) {
    const std::string range = number_text(lo) + " and " + number_text(hi);
    return CLI::Validator(
        [lo, hi, range](std::string& v) -> std::string {
            char* end = nullptr;
            const double x = std::strtod(v.c_str(), &end);
            if (end == v.c_str() || *end || !std::isfinite(x)) return "expects a number, got '" + v + "'";
            if (x < lo || x > hi) return "must be between " + range + ", got " + v;
            return {};
        },
        "[" + number_text(lo) + " - " + number_text(hi) + "]");
}

} // namespace epic::cli
