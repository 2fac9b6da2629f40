#pragma once
// Next-token sampling: greedy, or temperature followed by top-k, top-p and min-p filters, seeded.
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace epic {

struct sampling_params {
    float temperature = 0.0f; // <= 0: greedy (argmax)
    int top_k = 40;           // <= 0: off
    float top_p = 0.95f;      // >= 1: off
    float min_p = 0.05f;      // <= 0: off; keeps tokens with p >= min_p * p_max
    uint64_t seed = 0;        // same seed, same logits -> same tokens
};

sampling_params sampling_default_params();

class sampler {
public:
    explicit sampler(const sampling_params& p);
    // Picks a token from logits [n_vocab]. Never allocates after the first call of a given vocab size.
    int32_t sample(std::span<const float> logits);
    const sampling_params& params() const { return params_; }

private:
    sampling_params params_;
    std::mt19937_64 rng_;
    std::vector<std::pair<float, int32_t>> candidates_; // (logit or prob, token)
};

int32_t argmax(std::span<const float> logits);

} // namespace epic
