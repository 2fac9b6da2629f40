// QA scoring: answer matching, token F1, paired comparisons and first-token agreement, against
// values worked out by hand.
#include "common/error.h"
#include "eval/qa_score.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace epic {
namespace {

TEST(eval_qa_score, normalize_and_contains) {
    EXPECT_EQ(normalize_answer("  Hello,   World!  "), "hello world");
    EXPECT_EQ(normalize_answer("Bjørn-Eriksen."), "bjørn eriksen"); // UTF-8 bytes kept, '-' to a space
    EXPECT_EQ(normalize_answer("?!"), "");
    EXPECT_TRUE(answer_contains("The code is COR-512.", "Cor-512"));
    EXPECT_TRUE(answer_contains("Led by Astrid Holm, in Bergen", "astrid holm"));
    EXPECT_FALSE(answer_contains("The code is 1234", "123")) << "whole words only";
    EXPECT_FALSE(answer_contains("Holm Astrid", "Astrid Holm"));
}

TEST(eval_qa_score, token_f1_by_hand) {
    // answer tokens: the code is cor 512 (5); gold: cor 512 (2); common 2.
    // precision 2/5, recall 1: F1 = 2 * 0.4 / 1.4 = 4/7.
    EXPECT_NEAR(token_f1("The code is COR-512.", "COR-512"), 4.0 / 7.0, 1e-15);
    // Multiset: "a a b" vs "a b b": common = 1 a + 1 b = 2; P = R = 2/3.
    EXPECT_NEAR(token_f1("a a b", "a b b"), 2.0 / 3.0, 1e-15);
    // Only the first line counts: "bergen" against "bergen" is 1, whatever follows.
    EXPECT_DOUBLE_EQ(token_f1("Bergen\nBecause the brief says Bergen, Norway.", "bergen"), 1.0);
    EXPECT_DOUBLE_EQ(token_f1("Oslo", "Bergen"), 0.0);
    EXPECT_DOUBLE_EQ(token_f1("", ""), 1.0);
    EXPECT_DOUBLE_EQ(token_f1("...", "Bergen"), 0.0);
}

// n questions: `both` right for both, then ref_only, method_only, and the rest neither; shuffled so
// the order is not what the result depends on.
void make_pairs(int n, int both, int ref_only, int method_only, std::vector<uint8_t>& ref, std::vector<uint8_t>& method) {
    ref.assign((size_t)n, 0);
    method.assign((size_t)n, 0);
    int i = 0;
    for (int k = 0; k < both; ++k, ++i) ref[(size_t)i] = method[(size_t)i] = 1;
    for (int k = 0; k < ref_only; ++k, ++i) ref[(size_t)i] = 1;
    for (int k = 0; k < method_only; ++k, ++i) method[(size_t)i] = 1;
    std::mt19937 rng(7);
    for (int j = n - 1; j > 0; --j) {
        const int o = (int)(rng() % (uint32_t)(j + 1));
        std::swap(ref[(size_t)j], ref[(size_t)o]);
        std::swap(method[(size_t)j], method[(size_t)o]);
    }
}

TEST(eval_qa_score, paired_comparison_with_a_real_loss) {
    // Reference right on 60, method on 50: 48 both, 12 reference only, 2 method only, 38 neither.
    std::vector<uint8_t> ref, method;
    make_pairs(100, 48, 12, 2, ref, method);
    const paired_result r = compare_paired(ref, method);
    EXPECT_EQ(r.n, 100);
    EXPECT_EQ(r.both, 48);
    EXPECT_EQ(r.ref_only, 12);
    EXPECT_EQ(r.method_only, 2);
    EXPECT_EQ(r.neither, 38);
    EXPECT_NEAR(r.diff, -10.0, 1e-9);
    EXPECT_LE(r.ci_low, -10.0);
    EXPECT_GE(r.ci_high, -10.0);
    EXPECT_LT(r.ci_high, 0.0) << "a loss of 12 against 2 discordant questions is not noise";
    // Normal approximation as a sanity bound: sd of the difference sqrt(0.14 - 0.01), se = 3.6 points.
    EXPECT_NEAR(r.ci_low, -10.0 - 1.96 * 3.606, 1.5);
    EXPECT_NEAR(r.ci_high, -10.0 + 1.96 * 3.606, 1.5);
    // McNemar: 2 of 14 discordant; p = 2 * (C(14,0) + C(14,1) + C(14,2)) / 2^14 = 212 / 16384.
    EXPECT_NEAR(r.mcnemar_p, 212.0 / 16384.0, 1e-12);
    // Deterministic by seed; another seed moves the interval a little, not the counts.
    const paired_result again = compare_paired(ref, method);
    EXPECT_EQ(again.ci_low, r.ci_low);
    EXPECT_EQ(again.ci_high, r.ci_high);
    const paired_result other = compare_paired(ref, method, 10000, 99);
    EXPECT_EQ(other.ref_only, 12);
    EXPECT_NEAR(other.ci_low, r.ci_low, 1.5);
}

TEST(eval_qa_score, paired_comparison_of_equals_contains_zero) {
    std::vector<uint8_t> ref, method;
    make_pairs(100, 50, 7, 7, ref, method);
    const paired_result r = compare_paired(ref, method);
    EXPECT_EQ(r.ref_only, 7);
    EXPECT_EQ(r.method_only, 7);
    EXPECT_NEAR(r.diff, 0.0, 1e-12);
    EXPECT_LT(r.ci_low, 0.0);
    EXPECT_GT(r.ci_high, 0.0);
    EXPECT_DOUBLE_EQ(r.mcnemar_p, 1.0);
}

TEST(eval_qa_score, mcnemar_by_hand) {
    // 1 of 10 discordant pairs for the method: p = 2 * (1 + 10) / 1024.
    std::vector<uint8_t> ref, method;
    make_pairs(40, 20, 9, 1, ref, method);
    EXPECT_NEAR(compare_paired(ref, method, 0).mcnemar_p, 22.0 / 1024.0, 1e-12);
    // No discordant pairs: nothing against the null.
    make_pairs(10, 5, 0, 0, ref, method);
    const paired_result same = compare_paired(ref, method);
    EXPECT_DOUBLE_EQ(same.mcnemar_p, 1.0);
    EXPECT_DOUBLE_EQ(same.ci_low, 0.0);
    EXPECT_DOUBLE_EQ(same.ci_high, 0.0);
}

TEST(eval_qa_score, paired_values) {
    // Method scores 0.1 below the reference on every question: diff -10 points, no spread at all.
    std::vector<double> ref(50), method(50);
    for (size_t i = 0; i < ref.size(); ++i) {
        ref[i] = 0.3 + 0.01 * (double)i;
        method[i] = ref[i] - 0.1;
    }
    const paired_result r = compare_paired_values(ref, method);
    EXPECT_NEAR(r.diff, -10.0, 1e-9);
    EXPECT_NEAR(r.ci_low, -10.0, 1e-9);
    EXPECT_NEAR(r.ci_high, -10.0, 1e-9);
    EXPECT_EQ(r.n, 50);
    // Thresholded at 0.5: reference > 0.5 from i = 21, method from i = 31.
    EXPECT_EQ(r.both, 19);
    EXPECT_EQ(r.ref_only, 10);
    EXPECT_EQ(r.method_only, 0);
    EXPECT_EQ(r.neither, 21);
}

TEST(eval_qa_score, bad_input_throws) {
    const std::vector<uint8_t> a{1, 0, 1}, b{1, 0};
    EXPECT_THROW(compare_paired(a, b), error);
    EXPECT_THROW(compare_paired(std::span<const uint8_t>(), std::span<const uint8_t>()), error);
    const std::vector<double> x{0.5}, y;
    EXPECT_THROW(compare_paired_values(x, y), error);
    const std::vector<float> l1{1.0f, 2.0f}, l2{1.0f};
    EXPECT_THROW(compare_logits(l1, l2), error);
    EXPECT_THROW(compare_logits(std::span<const float>(), std::span<const float>()), error);
    const std::vector<float> nan{1.0f, std::nanf("")};
    EXPECT_THROW(compare_logits(l1, nan), error);
}

// KL(P || Q) in float64 the direct way (no log-sum-exp): fine for logits of moderate size.
double kl_by_hand(const std::vector<float>& a, const std::vector<float>& b) {
    double sa = 0.0, sb = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
        sa += std::exp((double)a[i]);
        sb += std::exp((double)b[i]);
    }
    double kl = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
        const double p = std::exp((double)a[i]) / sa, q = std::exp((double)b[i]) / sb;
        kl += p * std::log(p / q);
    }
    return kl;
}

TEST(eval_qa_score, logits_kl_and_top1) {
    std::mt19937 rng(std::random_device{}());
    std::normal_distribution<float> d(0.0f, 3.0f);
    // Multiples of 1/1024 below 2^4 in size: adding 1000 below stays exact in float (20 bits), so the
    // shift test compares like with like.
    std::vector<float> ref(1000), other(1000);
    for (auto& x : ref) x = std::round(std::clamp(d(rng), -15.0f, 15.0f) * 1024.0f) / 1024.0f;
    for (auto& x : other) x = std::round(std::clamp(d(rng), -15.0f, 15.0f) * 1024.0f) / 1024.0f;

    const token_agreement same = compare_logits(ref, ref);
    EXPECT_NEAR(same.kl, 0.0, 1e-12);
    EXPECT_TRUE(same.top1_same);

    const double want = kl_by_hand(ref, other);
    const token_agreement t = compare_logits(ref, other);
    ASSERT_GT(want, 0.0);
    EXPECT_LT(std::abs(t.kl - want) / want, 1e-9) << t.kl << " vs " << want;

    // Softmax ignores a constant shift; a shift this large would overflow exp() without log-sum-exp.
    std::vector<float> shifted = other, ref_shifted = ref;
    for (auto& x : shifted) x += 1000.0f;
    for (auto& x : ref_shifted) x -= 1000.0f;
    EXPECT_LT(std::abs(compare_logits(ref, shifted).kl - want) / want, 1e-9);
    EXPECT_LT(std::abs(compare_logits(ref_shifted, other).kl - want) / want, 1e-9);
    EXPECT_TRUE(std::isfinite(compare_logits(ref, shifted).kl));

    // top-1: the same argmax, then a different one.
    std::vector<float> a{0.1f, 3.0f, -2.0f, 1.0f}, b{0.0f, 2.5f, 1.0f, 2.4f}, c{0.0f, 1.0f, 4.0f, 0.0f};
    EXPECT_TRUE(compare_logits(a, b).top1_same);
    EXPECT_FALSE(compare_logits(a, c).top1_same);
    // A token the reference rules out (-inf) adds nothing; one the method rules out makes KL infinite.
    std::vector<float> masked{0.1f, 3.0f, -INFINITY, 1.0f};
    EXPECT_TRUE(std::isfinite(compare_logits(masked, b).kl));
    EXPECT_TRUE(std::isinf(compare_logits(b, masked).kl));
}

} // namespace
} // namespace epic
