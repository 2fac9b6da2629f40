#pragma once
// Exact dense retrieval: one embedding model's chunk vectors held in memory, searched by inner product.
// Vectors are unit length, so the inner product is the cosine. Exact (every vector scored) rather than
// an approximate index: at 384 dimensions, 100,000 chunks are 150 MB of floats read once per query,
// tens of milliseconds on one core (README, "Retrieval"), and exact search never misses a passage an
// index would have pruned.
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace epic::storage {

// sum_i a[i] * b[i], n floats, vectorised (GCC/Clang vector extensions: AVX-512, AVX2 or SSE as
// the build targets), accumulated in 32 float lanes.
float inner_product(const float* a, const float* b, std::size_t n);

class vector_index {
public:
    explicit vector_index(int dim) : dim_(dim) {}
    int dim() const { return dim_; }
    std::size_t size() const { return ids_.size(); }
    // Appends one vector (dim floats).
    void add(std::int64_t chunk_id, std::span<const float> v);
    // The top_n (chunk id, score) by inner product with q (dim floats), best first; equal scores by
    // chunk id, so the order is deterministic.
    std::vector<std::pair<std::int64_t, float>> top(std::span<const float> q, int top_n) const;

private:
    int dim_;
    std::vector<std::int64_t> ids_; // [n]
    std::vector<float> rows_;       // [n, dim]
};

// Reciprocal rank fusion (Cormack, Clarke and Buettcher, SIGIR 2009): each list gives an item
// 1 / (k + rank), rank counted from 1; items are ordered by the sum over the lists, best first. Ties go
// to the item with the better best rank in any list, then the earlier list, then the smaller id, so the
// fused order is deterministic. k = 60 as in the paper (and GPT4All's LocalDocs).
// Returns (item, fused score) pairs. weights: one per list (a list's terms are multiplied by its
// weight), or empty for 1 each.
std::vector<std::pair<std::int64_t, double>> fuse_reciprocal_rank(std::span<const std::vector<std::int64_t>> rankings,
                                                                 int k = 60, std::span<const double> weights = {});

} // namespace epic::storage
