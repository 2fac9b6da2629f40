// Sampling filters and the UTF-8 stream used for streaming output.
#include "generate/sampler.h"
#include "generate/text_stream.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <set>

namespace epic {
namespace {

std::vector<float> random_logits(std::mt19937& rng, int n) {
    std::normal_distribution<float> d(0.0f, 2.0f);
    std::vector<float> l((size_t)n);
    for (auto& x : l) x = d(rng);
    return l;
}

std::vector<double> softmax(const std::vector<float>& l, double temp) {
    double mx = *std::max_element(l.begin(), l.end());
    std::vector<double> p(l.size());
    double s = 0.0;
    for (size_t i = 0; i < l.size(); ++i) s += p[i] = std::exp((l[i] - mx) / temp);
    for (auto& x : p) x /= s;
    return p;
}

TEST(sampler, greedy_is_argmax) {
    const uint32_t seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    for (int trial = 0; trial < 20; ++trial) {
        const auto l = random_logits(rng, 100);
        sampling_params p;
        p.temperature = 0.0f;
        sampler s(p);
        EXPECT_EQ(s.sample(l), (int32_t)(std::max_element(l.begin(), l.end()) - l.begin()));
    }
}

TEST(sampler, same_seed_same_tokens_other_seed_other_tokens) {
    std::mt19937 rng(std::random_device{}());
    const auto l = random_logits(rng, 50);
    sampling_params p;
    p.temperature = 1.5f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = 7;
    sampler a(p), b(p);
    p.seed = 8;
    sampler c(p);
    std::vector<int32_t> ta, tb, tc;
    for (int i = 0; i < 64; ++i) {
        ta.push_back(a.sample(l));
        tb.push_back(b.sample(l));
        tc.push_back(c.sample(l));
    }
    EXPECT_EQ(ta, tb);
    EXPECT_NE(ta, tc);
}

TEST(sampler, frequencies_follow_softmax_with_temperature) {
    const uint32_t seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const auto l = random_logits(rng, 8);
    sampling_params p;
    p.temperature = 0.7f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = seed;
    sampler s(p);
    const int n = 40000;
    std::vector<int> count(8, 0);
    for (int i = 0; i < n; ++i) count[(size_t)s.sample(l)]++;
    const auto expect = softmax(l, 0.7);
    for (size_t i = 0; i < 8; ++i) {
        const double sd = std::sqrt(expect[i] * (1 - expect[i]) / n);
        EXPECT_NEAR((double)count[i] / n, expect[i], 5 * sd + 1e-4) << "token " << i;
    }
}

TEST(sampler, filters_never_pick_excluded_tokens) {
    const uint32_t seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const auto l = random_logits(rng, 200);
    const auto prob = softmax(l, 1.0);
    std::vector<size_t> order(l.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return l[a] > l[b]; });

    {   // top-k = 5: only the five best
        sampling_params p;
        p.temperature = 1.0f; p.top_k = 5; p.top_p = 1.0f; p.min_p = 0.0f; p.seed = seed;
        sampler s(p);
        std::set<int32_t> allowed(order.begin(), order.begin() + 5);
        for (int i = 0; i < 2000; ++i) EXPECT_TRUE(allowed.count(s.sample(l)));
    }
    {   // top-p = 0.5: the smallest prefix of the sorted tokens reaching 0.5
        sampling_params p;
        p.temperature = 1.0f; p.top_k = 0; p.top_p = 0.5f; p.min_p = 0.0f; p.seed = seed;
        sampler s(p);
        std::set<int32_t> allowed;
        double cum = 0.0;
        for (size_t i : order) {
            allowed.insert((int32_t)i);
            cum += prob[i];
            if (cum >= 0.5) break;
        }
        for (int i = 0; i < 2000; ++i) EXPECT_TRUE(allowed.count(s.sample(l)));
    }
    {   // min-p = 0.2: tokens with p >= 0.2 * p_max
        sampling_params p;
        p.temperature = 1.0f; p.top_k = 0; p.top_p = 1.0f; p.min_p = 0.2f; p.seed = seed;
        sampler s(p);
        const double pmax = prob[order[0]];
        for (int i = 0; i < 2000; ++i) EXPECT_GE(prob[(size_t)s.sample(l)], 0.2 * pmax - 1e-9);
    }
}

TEST(utf8_stream, holds_back_split_characters) {
    utf8_stream s;
    const std::string euro = "\xE2\x82\xAC"; // €
    EXPECT_EQ(s.push("a"), "a");
    EXPECT_EQ(s.push(euro.substr(0, 1)), "");
    EXPECT_EQ(s.push(euro.substr(1, 1)), "");
    EXPECT_EQ(s.push(euro.substr(2, 1) + "b"), euro + "b");
    const std::string emoji = "\xF0\x9F\x98\x80";
    EXPECT_EQ(s.push(emoji.substr(0, 3)), "");
    EXPECT_EQ(s.flush(), emoji.substr(0, 3)); // incomplete at the end: passed through as-is
    EXPECT_EQ(s.push("\x80"), "\x80");        // a stray continuation byte is not held forever
}

} // namespace
} // namespace epic
