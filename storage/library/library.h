#pragma once
// The library index: documents, their chunks, full-text retrieval and the chunk -> KV cache links.
// One library = one SQLite file. Each process (or thread) opens its own library object; SQLite's WAL
// and busy timeout arbitrate between them.
#include "library/records.h"
#include "library/vector_index.h"
#include "sqlite/database.h"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace epic::storage {

// BM25's weight in hybrid_search's fusion. epic bench retrieval (README, "Retrieval"), all-MiniLM-L6-v2
// on the sample library's 79 paraphrased questions, recall@1 / @8: BM25 36.7 / 50.6%, dense 62.0 /
// 93.7%, fused at weight 0.5 58.2 / 89.9%, 0.3 57.0 / 89.9%, 0.2 59.5 / 92.4%, 0.1 60.8 / 93.7%; on
// its 30 literal questions every weight keeps BM25's 93.3 / 100% (0.3 and below lose one at @4), and
// on 200 generated questions (facts, needles, confusable briefs) 0.5 and 0.2 keep BM25's 100% at
// every cutoff where dense alone ranks 3 needles second. At 0.2 words still decide between passages
// the meaning finds alike (a needle sentence in a page of prose), and their accidental matches (a
// "company" in a question asked in other words) rarely push the answer out of the top 8.
inline constexpr double hybrid_bm25_weight = 0.2;

class library {
public:
    // Opens or creates the database and migrates it to the current schema. Throws storage_error
    // (naming the file) when it cannot be opened, was written by a newer build, is missing (with
    // options.create false) or empty where a library was expected, or lacks one of its tables.
    explicit library(const std::filesystem::path& db_file, sqlite::open_options options = {});
    ~library();
    library(library&&) noexcept;
    library& operator=(library&&) noexcept;

    sqlite::database& db() { return db_; }

    // --- documents ---------------------------------------------------------------------------------
    std::vector<document_record> documents();
    std::optional<document_record> document(std::int64_t id);
    std::optional<document_record> document_by_path(std::string_view path);
    // Creates a queued row for a new path (no-op returning the id for a known one).
    std::int64_t ensure_document(std::string_view path, std::string_view kind);
    void set_status(std::int64_t document_id, doc_status status, std::string_view error = {});
    // Moves the document from `from` to `to` only if it is still in `from` (another process may have
    // moved it meanwhile); true when it did.
    bool change_status(std::int64_t document_id, doc_status from, doc_status to);
    // Deletes the document, its chunks, their FTS rows and KV links; KV entries and blob files stay
    // (they are content-keyed and may serve another chunk) until evicted or garbage-collected.
    bool remove_document(std::int64_t document_id);

    // --- chunks ------------------------------------------------------------------------------------
    std::vector<chunk_record> chunks_of(std::int64_t document_id);
    std::optional<chunk_record> chunk(std::int64_t chunk_id);
    std::int64_t chunk_count();

    // In ONE transaction: deletes the document's old chunks, inserts these (ids assigned, ordinals
    // renumbered 0..n-1), writes meta and marks it ready. If *cancel becomes true between inserts the
    // transaction rolls back and false is returned: the document is exactly as before.
    // When, inside the transaction, the document turns out ready with this very content hash (another
    // process committed the same bytes meanwhile), nothing changes, true is returned and
    // *already_current is set: that process added it, this one found it unchanged.
    bool replace_chunks(std::int64_t document_id, const document_meta& meta, std::span<const chunk_record> chunks,
                        const std::atomic<bool>* cancel = nullptr, bool* already_current = nullptr);
    // In one transaction: deletes the document's chunks and records the failure (meta still updated
    // so an unchanged file is not retried on every add).
    void mark_failed(std::int64_t document_id, const document_meta& meta, std::string_view error);

    // --- chunk <-> KV cache links (the kv_entries row must exist: see kv_store::put) ----------------
    void link_chunk_kv(std::int64_t chunk_id, std::string_view model_fingerprint, std::string_view cache_key);
    std::optional<std::string> chunk_kv(std::int64_t chunk_id, std::string_view model_fingerprint);
    // Chunks of a document that have no cache for this model yet, in order: what the runtime compiles.
    // With `compile_options`, a chunk whose cache was compiled under other options (an older compile
    // scheme: stale) counts as missing too.
    std::vector<std::int64_t> chunks_missing_kv(std::int64_t document_id, std::string_view model_fingerprint,
                                                std::string_view compile_options = {});

    // --- what the runtime records of a KV entry (schema 3; the row must exist) ------------------------
    // Sets the entry's rows and decoded bytes; writes nothing when they are already these (cheap to
    // call on every load, which is how entries of older builds get theirs). False: no such entry.
    bool record_kv_shape(std::string_view cache_key, std::int64_t rows, std::int64_t decoded_bytes);
    std::vector<kv_entry_shape> kv_entry_shapes();
    // For each linked KV entry, one document it serves (the first by document id, then chunk order):
    // one join, for cache listings to offer "recompile" and "remove document" on the row.
    std::vector<kv_entry_owner> kv_entry_owners();

    // --- retrieval ---------------------------------------------------------------------------------
    // BM25 full-text search, best first. Any question text is valid: it is tokenised into words and
    // each is quoted, so FTS5 operators in user text are plain words. No words -> empty result.
    std::vector<search_hit> search(std::string_view question, int top_n);

    // --- chunk vectors (schema 4): dense retrieval ----------------------------------------------------
    // `embedder` names the embedding model (its fingerprint): vectors of two models never mix, and a
    // new model finds every chunk missing. Vectors are unit length (the inner product is the cosine).
    // Stores (replaces) the chunk's vector, with its checksum. Throws storage_error for an empty or
    // non-finite vector, or a chunk that does not exist.
    void put_chunk_vector(std::int64_t chunk_id, std::string_view embedder, std::span<const float> v);
    // Chunks without a vector under `embedder` (all documents, or one), by document then ordinal: what
    // still needs embedding. A damaged vector that a search found and removed is missing again.
    std::vector<std::int64_t> chunks_missing_vector(std::string_view embedder, std::int64_t document_id = 0);
    std::int64_t vector_count(std::string_view embedder);
    // The top_n chunks by inner product with `query` (dim floats), best first (score: the cosine).
    // The embedder's vectors are read once into memory and re-read only when the table changed (from
    // any process). A stored vector of another dimension or with a wrong checksum is not ranked: it
    // is removed (a read-only library only skips it) and counted in *damaged, so it gets re-embedded.
    std::vector<search_hit> dense_search(std::string_view embedder, std::span<const float> query, int top_n,
                                         int* damaged = nullptr);
    // BM25 and dense retrieval fused by reciprocal rank (fuse_reciprocal_rank, k = 60, over each
    // one's top `candidates`), top_n best first; score: the fused score. BM25's terms count
    // bm25_weight (hybrid_bm25_weight: measured) against the dense ones' 1.
    std::vector<search_hit> hybrid_search(std::string_view question, std::string_view embedder,
                                          std::span<const float> query, int top_n, int candidates = 50,
                                          int* damaged = nullptr, double bm25_weight = hybrid_bm25_weight);

private:
    // One embedder's vectors as of one vector_generation: searched until the table changes.
    struct vector_cache {
        std::string embedder;
        std::int64_t generation = -1;
        vector_index index{0};
    };
    // The BM25 query of a question, without the words in more than half of the chunks (search.cpp).
    std::string selective_fts_query(std::string_view question);
    // What every search selects of a hit (chunks c joined with documents d), and the hit read from
    // those first hit_column_count columns.
    static constexpr std::string_view hit_columns = "c.id, c.document_id, d.path, d.title, c.text, c.page_begin, c.page_end";
    static constexpr int hit_column_count = 7;
    static search_hit read_hit(const sqlite::statement& st, double score);
    // The hits of these chunk ids, in this order, with these scores (ids of deleted chunks skipped).
    std::vector<search_hit> hits_of(std::span<const std::int64_t> ids, std::span<const double> scores);

    sqlite::database db_;
    bool read_only_ = false;
    std::unique_ptr<vector_cache> vectors_; // the last searched embedder's vectors, in memory
    // The embedder's vectors in memory, (re)read when the table changed; damaged rows counted.
    const vector_index& vectors_for(std::string_view embedder, int dim, int* damaged);
    // Counts every search asks for, valid while the database's change stamp stays the same (a count
    // over 100,000 chunks costs milliseconds; the stamp microseconds).
    struct count_cache {
        sqlite::database::change_stamp stamp;
        std::int64_t chunks = -1;
        std::map<std::string, std::int64_t, std::less<>> vectors;  // per embedder
        std::map<std::string, std::int64_t, std::less<>> doc_freq; // chunks per query word (FTS5's vocabulary)
    };
    count_cache counts_;
    count_cache& counts(); // counts_, emptied first when the stamp moved
};

// The library's retrieval (chunks_fts's tokenizer, build_fts_query, BM25) over a few texts in memory:
// indices into `texts`, best first; texts that match no word of the question follow in their order.
// For laying documents out as the service lays out what it retrieves (bench qa --order retrieval).
std::vector<int> rank_texts(std::string_view question, const std::vector<std::string>& texts);

} // namespace epic::storage
