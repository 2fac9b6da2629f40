#pragma once
// Scoring of question-answering runs: answer matching (contains, token F1), a paired comparison of a
// link method against full recompute on the same questions, and first-token agreement of logits.
// One place for these rules, so `epic bench qa`, tests and offline evaluations score alike and a
// reported difference between methods comes with its uncertainty.
#include <cstdint>
#include <span>
#include <string>

namespace epic {

// Lower case, ASCII punctuation to single spaces, trimmed. Bytes >= 0x80 are kept as they are, so
// UTF-8 answers (names with accents) still match themselves.
std::string normalize_answer(const std::string& s);

// True when the normalized gold answer occurs as whole words in the normalized answer (the rule
// `epic bench qa` reports as "contains": the model may wrap the answer in a sentence).
bool answer_contains(const std::string& answer, const std::string& gold);

// SQuAD-style token F1 between the answer's first line and the gold answer: normalized whitespace
// tokens, overlap counted as a multiset. Both empty: 1; only one empty: 0.
double token_f1(const std::string& answer, const std::string& gold);

// A method against a reference (full recompute) on the same questions. Counts are of questions;
// diff and the interval are in percentage points.
struct paired_result {
    int n = 0;
    int both = 0;
    int ref_only = 0;    // reference right, method wrong
    int method_only = 0; // method right, reference wrong
    int neither = 0;
    double diff = 0.0;    // method accuracy - reference accuracy, in points
    double ci_low = 0.0;  // 95% paired bootstrap percentile interval of diff, in points
    double ci_high = 0.0;
    double mcnemar_p = 1.0; // exact two-sided binomial test on the discordant pairs (ref_only vs method_only)
};

// reference_correct, method_correct: [n] 0/1 per question, same question order. The bootstrap
// resamples question indices with replacement (std::mt19937 seeded by `seed`: same inputs, same
// interval). Throws epic::error when the sizes differ or the input is empty.
paired_result compare_paired(std::span<const uint8_t> reference_correct, std::span<const uint8_t> method_correct,
                             int resamples = 10000, uint32_t seed = 1);

// The same for per-question scores in [0, 1] (token F1): diff and interval are 100 * the mean
// difference. Counts and mcnemar_p are of the scores thresholded at > 0.5.
paired_result compare_paired_values(std::span<const double> reference, std::span<const double> method,
                                    int resamples = 10000, uint32_t seed = 1);

// Agreement of the first generated token's distribution with the reference's.
struct token_agreement {
    double kl = 0.0;        // KL(P_ref || P) of the softmax distributions, nats
    bool top1_same = false; // same argmax (first index on ties)
};

// reference_logits, logits: [n_vocab]. Computed in double with log-sum-exp, so large logits do not
// overflow. Throws epic::error when the sizes differ, the input is empty or a logit is NaN or +inf.
token_agreement compare_logits(std::span<const float> reference_logits, std::span<const float> logits);

} // namespace epic
