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

// The p-quantile of timings (the element at floor(p * n) of the sorted values, the last for p = 1).
inline double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, (size_t)(p * (double)v.size()))];
}

// Median of timings (the upper middle one for an even count).
inline double median(std::vector<double> v) { return percentile(std::move(v), 0.5); }

} // namespace epic::cli
