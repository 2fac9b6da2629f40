#include "pic/link_metrics.h"

#include "core/error.h"
#include "generate/sampler.h"

#include <cmath>
#include <vector>

namespace epic {
namespace {

// log-softmax in double.
std::vector<double> log_softmax(std::span<const float> l) {
    double mx = l[0];
    for (float x : l) mx = std::max(mx, (double)x);
    double sum = 0.0;
    for (float x : l) sum += std::exp((double)x - mx);
    const double lse = mx + std::log(sum);
    std::vector<double> out(l.size());
    for (size_t i = 0; i < l.size(); ++i) out[i] = (double)l[i] - lse;
    return out;
}

} // namespace

double kl_divergence(std::span<const float> ref, std::span<const float> other) {
    if (ref.size() != other.size() || ref.empty()) throw error("kl_divergence: rows of different sizes");
    const auto lp = log_softmax(ref), lq = log_softmax(other);
    double kl = 0.0;
    for (size_t i = 0; i < lp.size(); ++i) kl += std::exp(lp[i]) * (lp[i] - lq[i]);
    return std::max(0.0, kl);
}

bool same_top1(std::span<const float> a, std::span<const float> b) { return argmax(a) == argmax(b); }

} // namespace epic
