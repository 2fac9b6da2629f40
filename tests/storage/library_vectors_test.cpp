// Chunk vectors and dense / hybrid retrieval: exact inner-product ranking against a float64
// reference, damaged vectors removed and missing again, embedders kept apart, a second connection's
// writes seen, and reciprocal rank fusion deterministic.
#include "library/library.h"
#include "library/vector_index.h"
#include "sqlite/statement.h"
#include "storage_error.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

using namespace epic::storage;
using epic::storage_error;

namespace {

std::int64_t add_document(library& lib, const std::string& path, const std::vector<std::string>& texts) {
    const auto id = lib.ensure_document(path, "txt");
    std::vector<chunk_record> chunks;
    for (const auto& t : texts) {
        chunk_record c;
        c.text = t;
        c.char_end = (std::int64_t)t.size();
        chunks.push_back(c);
    }
    EXPECT_TRUE(lib.replace_chunks(id, document_meta{"h:" + path, 1, 2, path, "txt"}, chunks));
    return id;
}

std::vector<float> random_unit(std::mt19937& rng, int dim) {
    std::normal_distribution<float> g;
    std::vector<float> v((size_t)dim);
    double n = 0;
    for (float& x : v) {
        x = g(rng);
        n += (double)x * x;
    }
    for (float& x : v) x = (float)(x / std::sqrt(n));
    return v;
}

double dot64(const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += (double)a[i] * b[i];
    return s;
}

} // namespace

TEST(inner_product, equals_a_float64_reference_at_every_length) {
    std::mt19937 rng(std::random_device{}());
    std::uniform_real_distribution<float> u(-2.0f, 2.0f);
    for (int n : {1, 7, 31, 32, 33, 64, 100, 384, 1031}) {
        std::vector<float> a((size_t)n), b((size_t)n);
        for (auto& x : a) x = u(rng);
        for (auto& x : b) x = u(rng);
        double abs_sum = 0;
        for (int i = 0; i < n; ++i) abs_sum += std::fabs((double)a[(size_t)i] * b[(size_t)i]);
        EXPECT_NEAR(inner_product(a.data(), b.data(), (size_t)n), dot64(a, b), 1e-6 * abs_sum + 1e-7) << "n = " << n;
    }
}

TEST(reciprocal_rank_fusion, sums_one_over_k_plus_rank_and_breaks_ties_deterministically) {
    // a: ranks 1 and 3; b: 2 and 1; c: 3 only; d: only in the second list, rank 2.
    const std::vector<std::vector<std::int64_t>> lists{{10, 20, 30}, {20, 40, 10}};
    const auto fused = fuse_reciprocal_rank(lists, 60);
    ASSERT_EQ(fused.size(), 4u);
    EXPECT_EQ(fused[0].first, 20); // 1/62 + 1/61
    EXPECT_EQ(fused[1].first, 10); // 1/61 + 1/63
    EXPECT_NEAR(fused[0].second, 1.0 / 62 + 1.0 / 61, 1e-15);
    EXPECT_NEAR(fused[1].second, 1.0 / 61 + 1.0 / 63, 1e-15);
    // 30 (1/63) and 40 (1/62): 40 first by score.
    EXPECT_EQ(fused[2].first, 40);
    EXPECT_EQ(fused[3].first, 30);
    // Equal scores: the better best rank, then the earlier list, then the smaller id.
    const std::vector<std::vector<std::int64_t>> tie{{5, 6}, {6, 5}};
    const auto t = fuse_reciprocal_rank(tie, 60);
    ASSERT_EQ(t.size(), 2u);
    EXPECT_EQ(t[0].first, 5); // both 1/61 + 1/62 and best rank 1: list 0 holds 5 first
    EXPECT_EQ(t[1].first, 6);
    EXPECT_EQ(fuse_reciprocal_rank(tie, 60), t);
    // Weighted: the second list counts double the first, so its first item wins the tie.
    const double weights[] = {0.5, 1.0};
    const auto w = fuse_reciprocal_rank(tie, 60, weights);
    EXPECT_EQ(w[0].first, 6);
    EXPECT_NEAR(w[0].second, 0.5 / 62 + 1.0 / 61, 1e-15);
    const double one[] = {1.0};
    EXPECT_THROW(fuse_reciprocal_rank(tie, 60, one), storage_error);
}

TEST(library_vectors, dense_search_ranks_by_inner_product_and_keeps_embedders_apart) {
    epic::test::scratch_dir dir;
    library lib(dir / "lib.sqlite");
    std::mt19937 rng(std::random_device{}());
    const int dim = 48;
    std::vector<std::string> texts;
    for (int i = 0; i < 40; ++i) texts.push_back("chunk number " + std::to_string(i));
    const auto doc = add_document(lib, "/d/a.txt", texts);
    const auto chunks = lib.chunks_of(doc);
    ASSERT_EQ(chunks.size(), 40u);
    EXPECT_EQ(lib.chunks_missing_vector("m1").size(), 40u);
    std::vector<std::vector<float>> vecs;
    for (const auto& c : chunks) {
        vecs.push_back(random_unit(rng, dim));
        lib.put_chunk_vector(c.id, "m1", vecs.back());
        // Another model's vectors for the same chunks: never ranked under m1.
        lib.put_chunk_vector(c.id, "m2", random_unit(rng, dim));
    }
    EXPECT_TRUE(lib.chunks_missing_vector("m1").empty());
    EXPECT_EQ(lib.chunks_missing_vector("m3").size(), 40u);
    EXPECT_EQ(lib.vector_count("m1"), 40);

    const auto q = random_unit(rng, dim);
    std::vector<std::pair<double, std::int64_t>> ref;
    for (size_t i = 0; i < chunks.size(); ++i) ref.push_back({dot64(vecs[i], q), chunks[i].id});
    std::sort(ref.begin(), ref.end(), [](auto& x, auto& y) { return x.first > y.first; });
    const auto hits = lib.dense_search("m1", q, 5);
    ASSERT_EQ(hits.size(), 5u);
    for (size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(hits[i].chunk_id, ref[i].second) << "rank " << i;
        EXPECT_NEAR(hits[i].score, ref[i].first, 1e-5);
        EXPECT_EQ(hits[i].document_path, "/d/a.txt");
    }
    // The query equal to a stored vector finds that chunk first, with cosine 1.
    const auto self = lib.dense_search("m1", vecs[17], 1);
    ASSERT_EQ(self.size(), 1u);
    EXPECT_EQ(self[0].chunk_id, chunks[17].id);
    EXPECT_NEAR(self[0].score, 1.0, 1e-5);
    EXPECT_EQ(self[0].text, "chunk number 17");

    // Replacing a vector is seen by the next search (the in-memory copy is refreshed).
    lib.put_chunk_vector(chunks[3].id, "m1", q);
    const auto now = lib.dense_search("m1", q, 1);
    ASSERT_EQ(now.size(), 1u);
    EXPECT_EQ(now[0].chunk_id, chunks[3].id);

    // Removing the document removes its vectors.
    ASSERT_TRUE(lib.remove_document(doc));
    EXPECT_EQ(lib.vector_count("m1"), 0);
    EXPECT_TRUE(lib.dense_search("m1", q, 5).empty());
}

TEST(library_vectors, a_damaged_vector_is_never_ranked_and_is_missing_again) {
    epic::test::scratch_dir dir;
    library lib(dir / "lib.sqlite");
    std::mt19937 rng(std::random_device{}());
    const auto doc = add_document(lib, "/d/a.txt", {"one", "two", "three"});
    const auto chunks = lib.chunks_of(doc);
    const auto target = random_unit(rng, 16);
    lib.put_chunk_vector(chunks[0].id, "m", target);
    lib.put_chunk_vector(chunks[1].id, "m", random_unit(rng, 16));
    lib.put_chunk_vector(chunks[2].id, "m", random_unit(rng, 16));
    ASSERT_EQ(lib.dense_search("m", target, 1).at(0).chunk_id, chunks[0].id);
    // One bit of the best match's stored bytes flips on disk; another row is cut short.
    {
        auto rd = lib.db().prepare("SELECT vector FROM chunk_vectors WHERE chunk_id = ?1");
        rd.bind_int64(1, chunks[0].id);
        ASSERT_TRUE(rd.step());
        std::vector<std::byte> blob = rd.column_blob(0);
        blob[5] ^= std::byte{1};
        auto wr = lib.db().prepare("UPDATE chunk_vectors SET vector = ?1 WHERE chunk_id = ?2");
        wr.bind_blob(1, blob).bind_int64(2, chunks[0].id);
        wr.run();
    }
    lib.db().exec("UPDATE chunk_vectors SET vector = substr(vector, 1, 32) WHERE chunk_id = " + std::to_string(chunks[2].id));
    int damaged = -1;
    const auto hits = lib.dense_search("m", target, 3, &damaged);
    EXPECT_EQ(damaged, 2);
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].chunk_id, chunks[1].id);
    EXPECT_EQ(lib.chunks_missing_vector("m"), (std::vector<std::int64_t>{chunks[0].id, chunks[2].id}));
}

TEST(library_vectors, a_second_connection_sees_the_other_ones_vectors) {
    epic::test::scratch_dir dir;
    library a(dir / "lib.sqlite");
    std::mt19937 rng(std::random_device{}());
    const auto doc = add_document(a, "/d/a.txt", {"one", "two"});
    const auto chunks = a.chunks_of(doc);
    const auto v0 = random_unit(rng, 8), v1 = random_unit(rng, 8);
    a.put_chunk_vector(chunks[0].id, "m", v0);
    library b(dir / "lib.sqlite");
    ASSERT_EQ(b.dense_search("m", v1, 5).size(), 1u); // b holds one vector in memory now
    a.put_chunk_vector(chunks[1].id, "m", v1);        // written by the other connection
    const auto hits = b.dense_search("m", v1, 5);
    ASSERT_EQ(hits.size(), 2u);
    EXPECT_EQ(hits[0].chunk_id, chunks[1].id);
}

TEST(library_vectors, refuses_bad_vectors_and_unknown_chunks_naming_the_library) {
    epic::test::scratch_dir dir;
    library lib(dir / "lib.sqlite");
    const auto doc = add_document(lib, "/d/a.txt", {"one"});
    const auto id = lib.chunks_of(doc).at(0).id;
    const std::vector<float> nan{1.0f, std::nanf("")};
    try {
        lib.put_chunk_vector(id, "m", nan);
        FAIL() << "a NaN was stored";
    } catch (const storage_error& e) {
        EXPECT_NE(std::string(e.what()).find("lib.sqlite"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("non-finite"), std::string::npos) << e.what();
    }
    EXPECT_THROW(lib.put_chunk_vector(id, "m", std::vector<float>{}), storage_error);
    try {
        lib.put_chunk_vector(id + 1000, "m", std::vector<float>{1.0f});
        FAIL() << "a vector for a missing chunk was stored";
    } catch (const storage_error& e) {
        EXPECT_NE(std::string(e.what()).find("no chunk"), std::string::npos) << e.what();
    }
}

TEST(library_vectors, hybrid_search_fuses_bm25_and_dense_ranks) {
    epic::test::scratch_dir dir;
    library lib(dir / "lib.sqlite");
    std::mt19937 rng(std::random_device{}());
    const auto doc = add_document(lib, "/d/a.txt",
                                  {"the chief executive officer of Tidewater", "office plants are watered weekly",
                                   "the cafeteria opens at noon", "who runs the parking garage"});
    const auto chunks = lib.chunks_of(doc);
    // Dense: the query vector equals chunk 0's (the CEO passage shares no word with "who runs the
    // company"); chunk 3 (the word match) is the next nearest, chunks 1 and 2 point away.
    const auto q = random_unit(rng, 16);
    lib.put_chunk_vector(chunks[0].id, "m", q);
    auto near = random_unit(rng, 16);
    for (size_t i = 0; i < near.size(); ++i) near[i] = 0.9f * q[i] + 0.1f * near[i];
    double norm = 0;
    for (float x : near) norm += (double)x * x;
    for (float& x : near) x = (float)(x / std::sqrt(norm));
    lib.put_chunk_vector(chunks[3].id, "m", near);
    for (size_t i = 1; i <= 2; ++i) {
        auto v = random_unit(rng, 16);
        if (dot64(v, q) > 0) for (float& x : v) x = -x;
        lib.put_chunk_vector(chunks[i].id, "m", v);
    }
    const std::string question = "who runs the company";
    const auto bm25 = lib.search(question, 4);
    ASSERT_FALSE(bm25.empty());
    EXPECT_EQ(bm25[0].chunk_id, chunks[3].id); // "who runs the ..." matches words
    const auto hybrid = lib.hybrid_search(question, "m", q, 4, 50);
    ASSERT_GE(hybrid.size(), 2u);
    // Both the word match and the meaning match are in the fused top two, each at rank 1 of one list.
    std::vector<std::int64_t> top2{hybrid[0].chunk_id, hybrid[1].chunk_id};
    std::sort(top2.begin(), top2.end());
    EXPECT_EQ(top2, (std::vector<std::int64_t>{chunks[0].id, chunks[3].id}));
    // Fused scores: at least 1/61 for a rank-1 item, never increasing down the list.
    EXPECT_GE(hybrid[1].score, 1.0 / 61 - 1e-12);
    for (size_t i = 1; i < hybrid.size(); ++i) EXPECT_LE(hybrid[i].score, hybrid[i - 1].score);
    EXPECT_EQ(lib.hybrid_search(question, "m", q, 4, 50).size(), hybrid.size());
    for (size_t i = 0; i < hybrid.size(); ++i) EXPECT_EQ(lib.hybrid_search(question, "m", q, 4, 50)[i].chunk_id, hybrid[i].chunk_id);
}

TEST(library_vectors, cached_counts_follow_changes_from_another_connection) {
    epic::test::scratch_dir dir;
    library a(dir / "lib.sqlite");
    library b(dir / "lib.sqlite");
    std::mt19937 rng(std::random_device{}());
    EXPECT_EQ(b.chunk_count(), 0);
    EXPECT_EQ(b.vector_count("m"), 0);
    const auto doc = add_document(a, "/d/a.txt", {"one", "two", "three"});
    const auto chunks = a.chunks_of(doc);
    EXPECT_EQ(b.chunk_count(), 3);
    a.put_chunk_vector(chunks[0].id, "m", random_unit(rng, 8));
    EXPECT_EQ(b.vector_count("m"), 1);
    EXPECT_EQ(b.vector_count("other"), 0);
    b.put_chunk_vector(chunks[1].id, "m", random_unit(rng, 8)); // through b itself
    EXPECT_EQ(b.vector_count("m"), 2);
    EXPECT_EQ(a.vector_count("m"), 2);
    ASSERT_TRUE(a.remove_document(doc));
    EXPECT_EQ(b.chunk_count(), 0);
    EXPECT_EQ(b.vector_count("m"), 0);
}

