#include "eval/qa_score.h"

#include "common/error.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <vector>

namespace epic {
namespace {

std::vector<std::string> tokens(const std::string& normalized) {
    std::vector<std::string> out;
    std::istringstream in(normalized);
    std::string w;
    while (in >> w) out.push_back(w);
    return out;
}

// Exact two-sided binomial test of k successes out of n at p = 1/2: twice the smaller tail, at most
// 1. Summed in log space, since C(n, i) / 2^n underflows for the thousands of questions a long run
// may have.
double binomial_two_sided(int k, int n) {
    if (n == 0) return 1.0;
    const int lo = std::min(k, n - k);
    const double log_half_n = n * std::log(0.5);
    double tail = 0.0;
    for (int i = 0; i <= lo; ++i)
        tail += std::exp(std::lgamma(n + 1.0) - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0) + log_half_n);
    return std::min(1.0, 2.0 * tail);
}

// Percentile of sorted values, linear between neighbours (the usual "type 7" definition).
double percentile(const std::vector<double>& sorted, double q) {
    const double at = q * (double)(sorted.size() - 1);
    const size_t i = (size_t)at;
    if (i + 1 >= sorted.size()) return sorted.back();
    return sorted[i] + (at - (double)i) * (sorted[i + 1] - sorted[i]);
}

// d: [n] per-question score differences (method - reference). Fills diff and the 95% interval.
// Resampling whole questions keeps each question's pair together: the two methods share the
// question's difficulty, which an unpaired interval would count as noise.
void bootstrap(const std::vector<double>& d, int resamples, uint32_t seed, paired_result& r) {
    const size_t n = d.size();
    double sum = 0.0;
    for (double x : d) sum += x;
    r.diff = 100.0 * sum / (double)n;
    if (resamples <= 0) {
        r.ci_low = r.ci_high = r.diff;
        return;
    }
    std::mt19937 rng(seed);
    std::uniform_int_distribution<size_t> pick(0, n - 1);
    std::vector<double> means((size_t)resamples); // [resamples] resampled mean differences, points
    for (auto& m : means) {
        double s = 0.0;
        for (size_t i = 0; i < n; ++i) s += d[pick(rng)];
        m = 100.0 * s / (double)n;
    }
    std::sort(means.begin(), means.end());
    r.ci_low = percentile(means, 0.025);
    r.ci_high = percentile(means, 0.975);
}

void check_sizes(size_t a, size_t b, const char* what) {
    if (a != b)
        throw error(std::string(what) + ": " + std::to_string(a) + " reference values but " + std::to_string(b) +
                    " method values");
    if (a == 0) throw error(std::string(what) + ": no values");
}

void count_pairs(const std::vector<bool>& ref, const std::vector<bool>& method, paired_result& r) {
    r.n = (int)ref.size();
    for (size_t i = 0; i < ref.size(); ++i) {
        if (ref[i] && method[i]) ++r.both;
        else if (ref[i]) ++r.ref_only;
        else if (method[i]) ++r.method_only;
        else ++r.neither;
    }
    r.mcnemar_p = binomial_two_sided(r.method_only, r.ref_only + r.method_only);
}

// log(sum(exp(x))) of x: [n], in double, shifted by the maximum so large logits do not overflow.
double log_sum_exp(std::span<const float> x) {
    double mx = -std::numeric_limits<double>::infinity();
    for (float v : x) mx = std::max(mx, (double)v);
    if (std::isinf(mx)) return mx; // every logit -inf: no distribution; the caller's terms say so
    double s = 0.0;
    for (float v : x) s += std::exp((double)v - mx);
    return mx + std::log(s);
}

size_t argmax(std::span<const float> x) { return (size_t)(std::max_element(x.begin(), x.end()) - x.begin()); }

} // namespace

std::string normalize_answer(const std::string& s) {
    std::string out;
    bool space = true;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c >= 0x80) {
            out += (char)std::tolower(c);
            space = false;
        } else if (!space) {
            out += ' ';
            space = true;
        }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

bool answer_contains(const std::string& answer, const std::string& gold) {
    // Padding both with spaces makes the search match whole words only ("12" is not in "123").
    std::string hay = " ", needle = " ";
    hay += normalize_answer(answer);
    hay += ' ';
    needle += normalize_answer(gold);
    needle += ' ';
    return hay.find(needle) != std::string::npos;
}

double token_f1(const std::string& answer, const std::string& gold) {
    // Only the first line: models often add an explanation after the answer, which would dilute
    // precision without the answer being any less right.
    const auto a = tokens(normalize_answer(answer.substr(0, answer.find('\n'))));
    const auto g = tokens(normalize_answer(gold));
    if (a.empty() || g.empty()) return a.empty() && g.empty() ? 1.0 : 0.0;
    std::map<std::string, int> gold_count;
    for (const auto& t : g) ++gold_count[t];
    int common = 0;
    for (const auto& t : a) {
        auto it = gold_count.find(t);
        if (it != gold_count.end() && it->second > 0) {
            --it->second;
            ++common;
        }
    }
    if (common == 0) return 0.0;
    const double precision = (double)common / (double)a.size(), recall = (double)common / (double)g.size();
    return 2.0 * precision * recall / (precision + recall);
}

paired_result compare_paired(std::span<const uint8_t> reference_correct, std::span<const uint8_t> method_correct,
                             int resamples, uint32_t seed) {
    check_sizes(reference_correct.size(), method_correct.size(), "compare_paired");
    const size_t n = reference_correct.size();
    std::vector<bool> ref(n), method(n);
    std::vector<double> d(n); // [n] method - reference, each -1, 0 or 1
    for (size_t i = 0; i < n; ++i) {
        ref[i] = reference_correct[i] != 0;
        method[i] = method_correct[i] != 0;
        d[i] = (double)method[i] - (double)ref[i];
    }
    paired_result r;
    count_pairs(ref, method, r);
    bootstrap(d, resamples, seed, r);
    return r;
}

paired_result compare_paired_values(std::span<const double> reference, std::span<const double> method, int resamples,
                                    uint32_t seed) {
    check_sizes(reference.size(), method.size(), "compare_paired_values");
    const size_t n = reference.size();
    std::vector<bool> ref_right(n), method_right(n);
    std::vector<double> d(n); // [n] method - reference score
    for (size_t i = 0; i < n; ++i) {
        ref_right[i] = reference[i] > 0.5;
        method_right[i] = method[i] > 0.5;
        d[i] = method[i] - reference[i];
    }
    paired_result r;
    count_pairs(ref_right, method_right, r);
    bootstrap(d, resamples, seed, r);
    return r;
}

token_agreement compare_logits(std::span<const float> reference_logits, std::span<const float> logits) {
    check_sizes(reference_logits.size(), logits.size(), "compare_logits");
    for (auto x : {reference_logits, logits})
        for (float v : x)
            if (std::isnan(v) || v == std::numeric_limits<float>::infinity())
                throw error("compare_logits: a logit is NaN or +inf");
    const double lse_ref = log_sum_exp(reference_logits), lse = log_sum_exp(logits);
    double kl = 0.0;
    for (size_t i = 0; i < logits.size(); ++i) {
        const double log_p_ref = (double)reference_logits[i] - lse_ref;
        const double p_ref = std::exp(log_p_ref);
        // Tokens the reference gives no mass add nothing (and -inf - -inf would be NaN).
        if (p_ref == 0.0) continue;
        kl += p_ref * (log_p_ref - ((double)logits[i] - lse));
    }
    token_agreement t;
    // Rounding can leave an identical pair a hair below zero; KL is never negative.
    t.kl = std::max(0.0, kl);
    t.top1_same = argmax(reference_logits) == argmax(logits);
    return t;
}

} // namespace epic
