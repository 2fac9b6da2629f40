#include "generate/sampler.h"

#include <algorithm>
#include <cmath>

namespace epic {

sampling_params sampling_default_params() { return sampling_params{}; }

sampler::sampler(const sampling_params& p) : params_(p), rng_(p.seed) {}

int32_t argmax(std::span<const float> logits) {
    int32_t best = 0;
    for (size_t i = 1; i < logits.size(); ++i)
        if (logits[i] > logits[(size_t)best]) best = (int32_t)i;
    return best;
}

int32_t sampler::sample(std::span<const float> logits) {
    if (params_.temperature <= 0.0f) return argmax(logits);
    candidates_.resize(logits.size());
    for (size_t i = 0; i < logits.size(); ++i) candidates_[i] = {logits[i], (int32_t)i};
    auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first; };
    size_t n = candidates_.size();
    if (params_.top_k > 0 && (size_t)params_.top_k < n) {
        std::partial_sort(candidates_.begin(), candidates_.begin() + params_.top_k, candidates_.end(), by_logit);
        n = (size_t)params_.top_k;
    } else {
        std::sort(candidates_.begin(), candidates_.end(), by_logit);
    }
    // Softmax with temperature over the kept candidates (sorted, highest first).
    const float max_logit = candidates_[0].first;
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i) {
        candidates_[i].first = std::exp((candidates_[i].first - max_logit) / params_.temperature);
        sum += candidates_[i].first;
    }
    for (size_t i = 0; i < n; ++i) candidates_[i].first = (float)(candidates_[i].first / sum);
    if (params_.min_p > 0.0f) {
        const float threshold = params_.min_p * candidates_[0].first;
        size_t keep = 1;
        while (keep < n && candidates_[keep].first >= threshold) ++keep;
        n = keep;
    }
    if (params_.top_p < 1.0f) {
        double cum = 0.0;
        size_t keep = 0;
        while (keep < n) {
            cum += candidates_[keep].first;
            ++keep;
            if (cum >= params_.top_p) break;
        }
        n = keep;
    }
    double total = 0.0;
    for (size_t i = 0; i < n; ++i) total += candidates_[i].first;
    std::uniform_real_distribution<double> u(0.0, total);
    double r = u(rng_);
    for (size_t i = 0; i < n; ++i) {
        r -= candidates_[i].first;
        if (r <= 0.0) return candidates_[i].second;
    }
    return candidates_[n - 1].second;
}

} // namespace epic
