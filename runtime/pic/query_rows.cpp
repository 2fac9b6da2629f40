#include "pic/query_rows.h"

#include "core/fp16.h"

#include <algorithm>
#include <cmath>

namespace epic {

std::vector<int32_t> question_row_indices(const link_layout& layout, std::span<const int32_t> rows) {
    std::vector<int32_t> out;
    for (const link_segment& seg : layout.segments)
        if (seg.type == link_segment::kind::question)
            for (size_t i = 0; i < rows.size(); ++i)
                if (rows[i] >= seg.begin && rows[i] < seg.begin + seg.length) out.push_back((int32_t)i);
    if (out.empty()) out.push_back((int32_t)rows.size() - 1);
    return out;
}

std::vector<double> question_attention(transformer& tf, int il, forward_state& s, kv_cache& kv, int n_rows,
                                       std::span<const int32_t> question_rows) {
    const model_config& c = tf.config();
    backend& be = tf.get_backend();
    const int hd = c.head_dim, n_head = c.n_head, n_kv = c.n_head_kv, group = n_head / n_kv;
    const size_t qw = (size_t)n_head * hd, kw = (size_t)n_kv * hd;
    std::vector<float> q((size_t)s.n * qw);          // [s.n, n_head, head_dim] RoPE'd
    std::vector<uint16_t> k16((size_t)n_rows * kw);  // [N, n_head_kv, head_dim] f16, RoPE'd
    be.synchronize();
    be.download(q.data(), s.q->data(), q.size() * sizeof(float));
    be.download(k16.data(), kv.k(il), k16.size() * sizeof(uint16_t));
    std::vector<float> k(k16.size());
    for (size_t i = 0; i < k.size(); ++i) k[i] = fp16_to_fp32(k16[i]);
    const double scale = c.attn_scale > 0 ? c.attn_scale : 1.0 / std::sqrt((double)hd);
    std::vector<double> scores((size_t)n_rows, 0.0), logit((size_t)n_rows);
    for (int32_t qi : question_rows) {
        const int pos = s.positions[(size_t)qi];
        for (int h = 0; h < n_head; ++h) {
            const float* qv = q.data() + (size_t)qi * qw + (size_t)h * hd;
            const int kh = h / group;
            double mx = -INFINITY;
            for (int j = 0; j <= pos; ++j) {
                const float* kv_row = k.data() + (size_t)j * kw + (size_t)kh * hd;
                float dot = 0.0f;
                for (int d = 0; d < hd; ++d) dot += qv[d] * kv_row[d];
                logit[(size_t)j] = dot * scale;
                mx = std::max(mx, logit[(size_t)j]);
            }
            double sum = 0.0;
            for (int j = 0; j <= pos; ++j) sum += (logit[(size_t)j] = std::exp(logit[(size_t)j] - mx));
            for (int j = 0; j <= pos; ++j) scores[(size_t)j] += logit[(size_t)j] / sum;
        }
    }
    return scores;
}

std::vector<int32_t> add_query_rows(const link_layout& layout, std::span<const int32_t> base, std::span<const double> scores,
                                    const link_policy& policy) {
    const int N = layout.n_rows();
    std::vector<char> in((size_t)N, 0);
    for (int32_t r : base) in[(size_t)r] = 1;
    struct group { double score; int begin, end; };
    std::vector<group> groups;
    int cached_chunk_rows = 0;
    // Prefix mode: one group per chunk, scored over all its rows, taken from its first row on.
    for (const link_segment& seg : layout.segments) {
        if (seg.type != link_segment::kind::chunk || !seg.cache) continue;
        cached_chunk_rows += seg.length;
        if (policy.query_prefix) {
            group g{0.0, seg.begin, seg.begin + seg.length};
            for (int r = g.begin; r < g.end; ++r) g.score += scores[(size_t)r];
            groups.push_back(g);
            continue;
        }
        for (int b = 0; b < seg.length; b += link_policy::query_group) {
            group g{0.0, seg.begin + b, seg.begin + std::min(seg.length, b + link_policy::query_group)};
            for (int r = g.begin; r < g.end; ++r)
                if (!in[(size_t)r]) g.score += scores[(size_t)r];
            groups.push_back(g);
        }
    }
    // Best first; ties by position so the choice is deterministic.
    std::stable_sort(groups.begin(), groups.end(), [](const group& a, const group& b) { return a.score > b.score; });
    long budget = std::lround(policy.query * cached_chunk_rows);
    for (const group& g : groups) {
        for (int r = g.begin; r < g.end && budget > 0; ++r)
            if (!in[(size_t)r]) { in[(size_t)r] = 1; --budget; }
        if (budget <= 0) break;
    }
    std::vector<int32_t> rows;
    for (int r = 0; r < N; ++r)
        if (in[(size_t)r]) rows.push_back(r);
    return rows;
}

} // namespace epic
