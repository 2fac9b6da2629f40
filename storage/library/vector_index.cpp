#include "library/vector_index.h"

#include "storage_error.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace epic::storage {

float inner_product(const float* a, const float* b, std::size_t n) {
    // Four independent 8-lane accumulators hide the FMA latency; the compiler maps v8 to one AVX
    // register or two SSE ones. memcpy loads: the rows are float-aligned, not vector-aligned.
    typedef float v8 __attribute__((vector_size(32)));
    v8 s0 = {}, s1 = {}, s2 = {}, s3 = {};
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        v8 a0, a1, a2, a3, b0, b1, b2, b3;
        __builtin_memcpy(&a0, a + i, 32);
        __builtin_memcpy(&a1, a + i + 8, 32);
        __builtin_memcpy(&a2, a + i + 16, 32);
        __builtin_memcpy(&a3, a + i + 24, 32);
        __builtin_memcpy(&b0, b + i, 32);
        __builtin_memcpy(&b1, b + i + 8, 32);
        __builtin_memcpy(&b2, b + i + 16, 32);
        __builtin_memcpy(&b3, b + i + 24, 32);
        s0 += a0 * b0;
        s1 += a1 * b1;
        s2 += a2 * b2;
        s3 += a3 * b3;
    }
    const v8 s = (s0 + s1) + (s2 + s3);
    float sum = 0.0f;
    for (int l = 0; l < 8; ++l) sum += s[l];
    for (; i < n; ++i) sum += a[i] * b[i];
    return sum;
}

void vector_index::add(std::int64_t chunk_id, std::span<const float> v) {
    if ((int)v.size() != dim_)
        throw storage_error("vector_index: a vector of " + std::to_string(v.size()) + " dimensions in an index of " +
                            std::to_string(dim_));
    ids_.push_back(chunk_id);
    rows_.insert(rows_.end(), v.begin(), v.end());
}

std::vector<std::pair<std::int64_t, float>> vector_index::top(std::span<const float> q, int top_n) const {
    std::vector<std::pair<std::int64_t, float>> out;
    if (top_n <= 0 || ids_.empty()) return out;
    if ((int)q.size() != dim_)
        throw storage_error("vector_index: a query of " + std::to_string(q.size()) + " dimensions against vectors of " +
                            std::to_string(dim_));
    out.resize(ids_.size());
    for (std::size_t i = 0; i < ids_.size(); ++i)
        out[i] = {ids_[i], inner_product(rows_.data() + i * (std::size_t)dim_, q.data(), (std::size_t)dim_)};
    const auto better = [](const auto& x, const auto& y) { return x.second > y.second || (x.second == y.second && x.first < y.first); };
    const std::size_t n = std::min(out.size(), (std::size_t)top_n);
    std::partial_sort(out.begin(), out.begin() + (std::ptrdiff_t)n, out.end(), better);
    out.resize(n);
    return out;
}

std::vector<std::pair<std::int64_t, double>> fuse_reciprocal_rank(std::span<const std::vector<std::int64_t>> rankings, int k,
                                                                 std::span<const double> weights) {
    if (!weights.empty() && weights.size() != rankings.size())
        throw storage_error("fuse_reciprocal_rank: " + std::to_string(weights.size()) + " weights for " +
                            std::to_string(rankings.size()) + " lists");
    struct fused {
        double score = 0.0;
        std::size_t best_rank = SIZE_MAX;
        std::size_t best_list = SIZE_MAX;
    };
    std::map<std::int64_t, fused> items;
    for (std::size_t l = 0; l < rankings.size(); ++l)
        for (std::size_t r = 0; r < rankings[l].size(); ++r) {
            fused& f = items[rankings[l][r]];
            f.score += (weights.empty() ? 1.0 : weights[l]) / (double)(k + (int)r + 1);
            if (r < f.best_rank) {
                f.best_rank = r;
                f.best_list = l;
            }
        }
    std::vector<std::pair<std::int64_t, fused>> order(items.begin(), items.end());
    std::sort(order.begin(), order.end(), [](const auto& x, const auto& y) {
        return std::tie(y.second.score, x.second.best_rank, x.second.best_list, x.first) <
               std::tie(x.second.score, y.second.best_rank, y.second.best_list, y.first);
    });
    std::vector<std::pair<std::int64_t, double>> out;
    out.reserve(order.size());
    for (const auto& [id, f] : order) out.emplace_back(id, f.score);
    return out;
}

} // namespace epic::storage
