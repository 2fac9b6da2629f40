// The library's chunk vectors (schema 4) and dense / hybrid retrieval over them.
#include "common/xxhash64.h"
#include "library/library.h"
#include "library/vector_index.h"
#include "sqlite/statement.h"
#include "storage_error.h"

#include <cmath>
#include <algorithm>
#include <cstring>

namespace epic::storage {

library::~library() = default;
library::library(library&&) noexcept = default;
library& library::operator=(library&&) noexcept = default;

namespace {

std::int64_t vector_checksum(std::span<const std::byte> bytes) {
    // SQLite integers are signed 64-bit: the hash's bits, reinterpreted.
    const std::uint64_t h = xxh64(bytes);
    std::int64_t s;
    std::memcpy(&s, &h, sizeof s);
    return s;
}

std::int64_t read_generation(sqlite::database& db) {
    auto st = db.prepare("SELECT n FROM vector_generation");
    return st.step() ? st.column_int64(0) : 0;
}

} // namespace

void library::put_chunk_vector(std::int64_t chunk_id, std::string_view embedder, std::span<const float> v) {
    if (v.empty()) throw storage_error(db_.name() + ": an empty vector for chunk " + std::to_string(chunk_id));
    for (float x : v)
        if (!std::isfinite(x))
            throw storage_error(db_.name() + ": a vector with a non-finite value for chunk " + std::to_string(chunk_id));
    const auto bytes = std::as_bytes(v);
    auto st = db_.prepare(
        "INSERT INTO chunk_vectors (chunk_id, embedder, dim, vector, checksum) VALUES (?1, ?2, ?3, ?4, ?5) "
        "ON CONFLICT(chunk_id, embedder) DO UPDATE SET dim = excluded.dim, vector = excluded.vector, "
        "checksum = excluded.checksum");
    st.bind_int64(1, chunk_id).bind_text(2, embedder).bind_int64(3, (std::int64_t)v.size());
    st.bind_blob(4, bytes).bind_int64(5, vector_checksum(bytes));
    try {
        st.run();
    } catch (const storage_error&) {
        // The only constraint an insert of a well-formed vector can break is the chunk's foreign key.
        if (!chunk(chunk_id)) throw storage_error(db_.name() + ": no chunk with id " + std::to_string(chunk_id));
        throw;
    }
}

std::vector<std::int64_t> library::chunks_missing_vector(std::string_view embedder, std::int64_t document_id) {
    auto st = db_.prepare(
        "SELECT c.id FROM chunks c WHERE (?2 = 0 OR c.document_id = ?2) AND NOT EXISTS "
        "(SELECT 1 FROM chunk_vectors v WHERE v.chunk_id = c.id AND v.embedder = ?1) ORDER BY c.document_id, c.ordinal");
    st.bind_text(1, embedder).bind_int64(2, document_id);
    std::vector<std::int64_t> out;
    while (st.step()) out.push_back(st.column_int64(0));
    return out;
}

std::int64_t library::vector_count(std::string_view embedder) {
    auto& cached = counts().vectors;
    if (auto it = cached.find(embedder); it != cached.end()) return it->second;
    auto st = db_.prepare("SELECT count(*) FROM chunk_vectors WHERE embedder = ?1");
    st.bind_text(1, embedder);
    const std::int64_t n = st.step() ? st.column_int64(0) : 0;
    cached.emplace(std::string(embedder), n);
    return n;
}

const vector_index& library::vectors_for(std::string_view embedder, int dim, int* damaged) {
    if (damaged) *damaged = 0;
    const std::int64_t generation = read_generation(db_);
    if (vectors_ && vectors_->embedder == embedder && vectors_->generation == generation && vectors_->index.dim() == dim)
        return vectors_->index;
    auto cache = std::make_unique<vector_cache>();
    cache->embedder = std::string(embedder);
    cache->index = vector_index(dim);
    std::vector<std::int64_t> bad;
    auto st = db_.prepare("SELECT chunk_id, dim, vector, checksum FROM chunk_vectors WHERE embedder = ?1 ORDER BY chunk_id");
    st.bind_text(1, embedder);
    std::vector<float> v((size_t)dim);
    while (st.step()) {
        const std::int64_t id = st.column_int64(0);
        const std::vector<std::byte> blob = st.column_blob(2);
        // A row of another dimension (the model changed under the same name), a blob of the wrong
        // length or bytes that no longer hash to the checksum: never ranked.
        if (st.column_int64(1) != (std::int64_t)dim || blob.size() != (size_t)dim * sizeof(float) ||
            vector_checksum(blob) != st.column_int64(3)) {
            bad.push_back(id);
            continue;
        }
        std::memcpy(v.data(), blob.data(), blob.size());
        cache->index.add(id, v);
    }
    if (!bad.empty() && !read_only_)
        for (std::int64_t id : bad) {
            auto del = db_.prepare("DELETE FROM chunk_vectors WHERE chunk_id = ?1 AND embedder = ?2");
            del.bind_int64(1, id).bind_text(2, embedder);
            del.run();
        }
    if (damaged) *damaged = (int)bad.size();
    cache->generation = read_generation(db_);
    vectors_ = std::move(cache);
    return vectors_->index;
}

namespace {

std::vector<std::int64_t> ids_of(const std::vector<std::pair<std::int64_t, float>>& ranked) {
    std::vector<std::int64_t> ids;
    for (const auto& [id, score] : ranked) ids.push_back(id);
    return ids;
}

} // namespace

std::vector<search_hit> library::dense_search(std::string_view embedder, std::span<const float> query, int top_n,
                                              int* damaged) {
    if (damaged) *damaged = 0;
    if (top_n <= 0 || query.empty()) return {};
    const auto best = vectors_for(embedder, (int)query.size(), damaged).top(query, top_n);
    std::vector<double> scores;
    for (const auto& [id, score] : best) scores.push_back(score);
    return hits_of(ids_of(best), scores);
}

std::vector<search_hit> library::hybrid_search(std::string_view question, std::string_view embedder,
                                               std::span<const float> query, int top_n, int candidates, int* damaged,
                                               double bm25_weight) {
    if (damaged) *damaged = 0;
    if (top_n <= 0) return {};
    const int n = std::max(top_n, candidates);
    std::vector<std::vector<std::int64_t>> lists(2); // [bm25, dense] chunk ids, best first
    for (const auto& h : search(question, n)) lists[0].push_back(h.chunk_id);
    if (!query.empty()) lists[1] = ids_of(vectors_for(embedder, (int)query.size(), damaged).top(query, n));
    std::vector<std::int64_t> ids;
    std::vector<double> scores;
    const double weights[] = {bm25_weight, 1.0};
    for (const auto& [id, score] : fuse_reciprocal_rank(lists, 60, weights)) {
        if ((int)ids.size() == top_n) break;
        ids.push_back(id);
        scores.push_back(score);
    }
    return hits_of(ids, scores);
}

std::vector<search_hit> library::hits_of(std::span<const std::int64_t> ids, std::span<const double> scores) {
    std::vector<search_hit> out;
    out.reserve(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
        auto st = db_.prepare("SELECT " + std::string(hit_columns) +
                              " FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ?1");
        st.bind_int64(1, ids[i]);
        if (st.step()) out.push_back(read_hit(st, scores[i]));
    }
    return out;
}

} // namespace epic::storage
