#include "library/schema.h"

#include <array>

namespace epic::storage {
namespace {

// Schema 1: documents, chunks, their FTS5 index and the KV entry table.
// chunks_fts is an external-content FTS5 table over chunks.text, kept in sync by triggers; deleting a
// document cascades to its chunks, and the chunk delete trigger fires for cascaded rows too.
// Offsets (char_begin/char_end) are UTF-8 byte offsets into the document's extracted text; page 0 means
// "the format has no pages".
constexpr std::string_view schema_1 = R"sql(
CREATE TABLE documents (
    id           INTEGER PRIMARY KEY,
    path         TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL DEFAULT '',
    mtime        INTEGER NOT NULL DEFAULT 0,
    size         INTEGER NOT NULL DEFAULT 0,
    title        TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'extracting', 'compiling', 'ready', 'failed')),
    error        TEXT,
    added_at     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE chunks (
    id           INTEGER PRIMARY KEY,
    document_id  INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal      INTEGER NOT NULL,
    text         TEXT NOT NULL,
    char_begin   INTEGER NOT NULL,
    char_end     INTEGER NOT NULL,
    page_begin   INTEGER NOT NULL DEFAULT 0,
    page_end     INTEGER NOT NULL DEFAULT 0,
    token_count  INTEGER NOT NULL DEFAULT 0,
    UNIQUE (document_id, ordinal)
);

CREATE VIRTUAL TABLE chunks_fts USING fts5(
    text, content='chunks', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER chunks_au AFTER UPDATE OF text ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
END;

CREATE TABLE kv_entries (
    cache_key         TEXT PRIMARY KEY,
    model_fingerprint TEXT NOT NULL,
    compile_options   TEXT NOT NULL DEFAULT '',
    blob_path         TEXT NOT NULL,
    raw_bytes         INTEGER NOT NULL,
    compressed_bytes  INTEGER NOT NULL,
    checksum          TEXT NOT NULL,
    hits              INTEGER NOT NULL DEFAULT 0,
    last_used         INTEGER NOT NULL DEFAULT 0,
    pinned            INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL DEFAULT 0
);
)sql";

// Schema 2: the chunk <-> KV link (which cache a chunk has for a given model), and the indexes that
// LRU eviction and per-model listing need. Links vanish with their chunk or their KV entry.
constexpr std::string_view schema_2 = R"sql(
CREATE TABLE chunk_kv (
    chunk_id          INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    model_fingerprint TEXT NOT NULL,
    cache_key         TEXT NOT NULL REFERENCES kv_entries(cache_key) ON DELETE CASCADE,
    PRIMARY KEY (chunk_id, model_fingerprint)
) WITHOUT ROWID;
CREATE INDEX chunk_kv_by_key ON chunk_kv(cache_key);
CREATE INDEX kv_entries_lru ON kv_entries(pinned, last_used);
CREATE INDEX kv_entries_by_model ON kv_entries(model_fingerprint);
CREATE INDEX documents_by_status ON documents(status);
)sql";

// Schema 3: what the runtime records of a cache's contents, for listings: the rows (tokens) it holds
// and the bytes of its tensors once decoded (as linked). Bytes on disk per row and decoded over stored
// bytes compare cache formats; raw_bytes cannot, since a quantized payload is already smaller before
// zstd. 0 = not recorded (entries written before this step, until the runtime next loads them).
constexpr std::string_view schema_3 = R"sql(
ALTER TABLE kv_entries ADD COLUMN n_rows INTEGER NOT NULL DEFAULT 0;
ALTER TABLE kv_entries ADD COLUMN decoded_bytes INTEGER NOT NULL DEFAULT 0;
)sql";

// Schema 4: each chunk's embedding under an embedding model (dense retrieval). `embedder` is the
// model's fingerprint, so two models' vectors never mix and a new model re-embeds lazily; `vector` is
// dim float32 (little-endian, unit length) and `checksum` its XXH64, so a damaged row is recognised
// and recomputed rather than ranked. Vectors vanish with their chunk.
constexpr std::string_view schema_4 = R"sql(
CREATE TABLE chunk_vectors (
    chunk_id  INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    embedder  TEXT NOT NULL,
    dim       INTEGER NOT NULL,
    vector    BLOB NOT NULL,
    checksum  INTEGER NOT NULL,
    PRIMARY KEY (chunk_id, embedder)
) WITHOUT ROWID;
CREATE INDEX chunk_vectors_by_embedder ON chunk_vectors(embedder, chunk_id);
-- Bumped by every change to chunk_vectors (cascaded deletes included), from any connection: one cheap
-- read tells a process whether the vectors it holds in memory for search are still the table's.
CREATE TABLE vector_generation (n INTEGER NOT NULL);
INSERT INTO vector_generation (n) VALUES (0);
CREATE TRIGGER chunk_vectors_ai AFTER INSERT ON chunk_vectors BEGIN UPDATE vector_generation SET n = n + 1; END;
CREATE TRIGGER chunk_vectors_ad AFTER DELETE ON chunk_vectors BEGIN UPDATE vector_generation SET n = n + 1; END;
CREATE TRIGGER chunk_vectors_au AFTER UPDATE ON chunk_vectors BEGIN UPDATE vector_generation SET n = n + 1; END;
)sql";

constexpr std::array<sqlite::migration, 4> steps{{
    {1, schema_1},
    {2, schema_2},
    {3, schema_3},
    {4, schema_4},
}};

} // namespace

std::span<const sqlite::migration> library_migrations() { return steps; }
int library_schema_version() { return steps.back().version; }

} // namespace epic::storage
