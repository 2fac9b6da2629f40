#pragma once
// Small helpers shared by the `epic bench` commands.
#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

namespace epic::cli {

// The instruction the QA and link benchmarks put in the system segment.
inline constexpr const char* default_qa_system_prompt =
    "Answer the question at the end using the documents. Reply with the answer only, in a few words.";

// "a,b,,c" -> {"a", "b", "c"}
inline std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty()) out.push_back(item);
    return out;
}

// Median of timings (the upper middle one for an even count).
inline double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

} // namespace epic::cli
