#pragma once
// Accuracy of a link against full recompute: how far the next-token distributions drift.
#include <span>

namespace epic {

// KL(P || Q) in nats of the softmax distributions of two logit rows (P: the reference).
double kl_divergence(std::span<const float> reference_logits, std::span<const float> logits);
// Whether the two rows have the same argmax.
bool same_top1(std::span<const float> a, std::span<const float> b);

} // namespace epic
