#include "cli/args.h"

#include "core/error.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace epic::cli {

args::args(int argc, char** argv, int first, const std::set<std::string>& flags) {
    for (int i = first; i < argc; ++i) {
        std::string a = argv[i];
        if (a.rfind("--", 0) == 0 && a.size() > 2) {
            std::string name = a.substr(2), value;
            const size_t eq = name.find('=');
            if (eq != std::string::npos) {
                value = name.substr(eq + 1);
                name = name.substr(0, eq);
            } else if (!flags.count(name)) {
                if (i + 1 >= argc) throw error("option --" + name + " needs a value");
                value = argv[++i];
            }
            present_.insert(name);
            values_.emplace(name, value);
        } else {
            positional_.push_back(a);
        }
    }
}

bool args::has(const std::string& name) const { return present_.count(name) > 0; }

std::optional<std::string> args::get(const std::string& name) const {
    auto range = values_.equal_range(name);
    if (range.first == range.second) return std::nullopt;
    return std::prev(range.second)->second; // the last one wins
}

std::string args::get_or(const std::string& name, const std::string& fallback) const {
    return get(name).value_or(fallback);
}

std::string args::require(const std::string& name) const {
    // An empty value is a value (`--text ""` tokenizes nothing); only an absent option is missing.
    auto v = get(name);
    if (!v) throw error("missing required option --" + name);
    return *v;
}

std::vector<std::string> args::all(const std::string& name) const {
    std::vector<std::string> out;
    auto range = values_.equal_range(name);
    for (auto it = range.first; it != range.second; ++it) out.push_back(it->second);
    return out;
}

int args::get_int(const std::string& name, int fallback, int lo, int hi) const {
    auto v = get(name);
    if (!v) return fallback;
    char* end = nullptr;
    errno = 0;
    const long long x = std::strtoll(v->c_str(), &end, 10);
    if (end == v->c_str() || *end) throw error("option --" + name + " expects an integer, got '" + *v + "'");
    if (errno == ERANGE || x < lo || x > hi)
        throw error("option --" + name + " must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                    ", got " + *v);
    return static_cast<int>(x);
}

double args::get_double(const std::string& name, double fallback, double lo, double hi) const {
    auto v = get(name);
    if (!v) return fallback;
    char* end = nullptr;
    const double x = std::strtod(v->c_str(), &end);
    if (end == v->c_str() || *end || !std::isfinite(x)) throw error("option --" + name + " expects a number, got '" + *v + "'");
    if (x < lo || x > hi) {
        std::ostringstream range;
        range << "option --" << name << " must be between " << lo << " and " << hi << ", got " << *v;
        throw error(range.str());
    }
    return x;
}

void args::allow_only(const std::set<std::string>& known) const {
    for (const auto& n : present_)
        if (!known.count(n)) throw error("unknown option --" + n);
}

} // namespace epic::cli
