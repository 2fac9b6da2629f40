#pragma once
// Command-line options: `--name value`, `--flag`, and positional words. Unknown options are errors.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace epic::cli {

class args {
public:
    // `flags` take no value; every other --option takes one (repeatable: all values kept).
    args(int argc, char** argv, int first, const std::set<std::string>& flags);

    bool has(const std::string& name) const;
    std::optional<std::string> get(const std::string& name) const;
    std::string get_or(const std::string& name, const std::string& fallback) const;
    std::string require(const std::string& name) const;
    std::vector<std::string> all(const std::string& name) const;
    // Numeric options are range-checked: a value outside [lo, hi], not a number, or (for doubles)
    // not finite is an error naming the option and its range. The fallback is not checked.
    int get_int(const std::string& name, int fallback, int lo, int hi) const;
    double get_double(const std::string& name, double fallback, double lo, double hi) const;
    const std::vector<std::string>& positional() const { return positional_; }
    // Throws when an option outside `known` was given (catches typos).
    void allow_only(const std::set<std::string>& known) const;

private:
    std::multimap<std::string, std::string> values_;
    std::set<std::string> present_;
    std::vector<std::string> positional_;
};

} // namespace epic::cli
