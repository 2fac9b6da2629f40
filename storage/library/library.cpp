#include "library/library.h"

#include "library/schema.h"
#include "sqlite/migrations.h"
#include "sqlite/statement.h"
#include "sqlite/transaction.h"
#include "storage_error.h"

#include <chrono>
#include <unordered_set>

namespace epic::storage {
namespace {

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

constexpr std::string_view document_columns =
    "d.id, d.path, d.content_hash, d.mtime, d.size, d.title, d.kind, d.status, coalesce(d.error, ''), d.added_at, "
    "(SELECT count(*) FROM chunks c WHERE c.document_id = d.id)";

document_record read_document(const sqlite::statement& st) {
    document_record r;
    r.id = st.column_int64(0);
    r.path = st.column_text(1);
    r.content_hash = st.column_text(2);
    r.mtime = st.column_int64(3);
    r.size = st.column_int64(4);
    r.title = st.column_text(5);
    r.kind = st.column_text(6);
    r.status = parse_doc_status(st.column_text(7));
    r.error = st.column_text(8);
    r.added_at = st.column_int64(9);
    r.chunk_count = st.column_int64(10);
    return r;
}

constexpr std::string_view chunk_columns =
    "id, document_id, ordinal, text, char_begin, char_end, page_begin, page_end, token_count";

chunk_record read_chunk(const sqlite::statement& st) {
    chunk_record c;
    c.id = st.column_int64(0);
    c.document_id = st.column_int64(1);
    c.ordinal = static_cast<int>(st.column_int64(2));
    c.text = st.column_text(3);
    c.char_begin = st.column_int64(4);
    c.char_end = st.column_int64(5);
    c.page_begin = static_cast<int>(st.column_int64(6));
    c.page_end = static_cast<int>(st.column_int64(7));
    c.token_count = static_cast<int>(st.column_int64(8));
    return c;
}

void write_meta(sqlite::database& db, std::int64_t id, const document_meta& meta, doc_status status,
                std::string_view error) {
    auto st = db.prepare(
        "UPDATE documents SET content_hash = ?1, mtime = ?2, size = ?3, title = ?4, kind = ?5, status = ?6, "
        "error = ?7 WHERE id = ?8");
    st.bind_text(1, meta.content_hash).bind_int64(2, meta.mtime).bind_int64(3, meta.size);
    st.bind_text(4, meta.title).bind_text(5, meta.kind).bind_text(6, to_string(status));
    if (error.empty()) st.bind_null(7);
    else st.bind_text(7, error);
    st.bind_int64(8, id);
    st.run();
    if (db.changes() == 0) throw storage_error(db.name() + ": no document with id " + std::to_string(id));
}

} // namespace

std::string_view to_string(doc_status status) {
    switch (status) {
    case doc_status::queued: return "queued";
    case doc_status::extracting: return "extracting";
    case doc_status::compiling: return "compiling";
    case doc_status::ready: return "ready";
    case doc_status::failed: return "failed";
    }
    return "failed";
}

doc_status parse_doc_status(std::string_view text) {
    if (text == "queued") return doc_status::queued;
    if (text == "extracting") return doc_status::extracting;
    if (text == "compiling") return doc_status::compiling;
    if (text == "ready") return doc_status::ready;
    return doc_status::failed;
}

namespace {

// What "no library here" looks like before SQLite gets a chance to create an empty one.
sqlite::database open_existing(const std::filesystem::path& db_file, sqlite::open_options options) {
    if (!options.create || options.read_only) {
        std::error_code ec;
        const auto status = std::filesystem::status(db_file, ec);
        if (!std::filesystem::exists(status))
            throw storage_error(db_file.string() + ": no library here (add documents to create one)");
        if (std::filesystem::is_regular_file(status) && std::filesystem::file_size(db_file, ec) == 0 && !ec)
            throw storage_error(db_file.string() + ": the library database is empty (0 bytes): truncated? Restore it "
                                "from a backup, or remove it to start a new library");
    }
    return sqlite::database(db_file, options);
}

// The tables every query relies on. Checked once at open so that a damaged file says so in words
// instead of failing later with SQL in the message.
void check_tables(sqlite::database& db) {
    for (const char* table : {"documents", "chunks", "chunks_fts", "kv_entries", "chunk_kv", "chunk_vectors", "vector_generation"}) {
        auto st = db.prepare("SELECT 1 FROM sqlite_master WHERE name = ?1 AND type = 'table'");
        st.bind_text(1, table);
        if (!st.step())
            throw storage_error(db.name() + ": the library database is damaged (its table " + table +
                                " is missing); restore it from a backup, or remove it to start a new library");
    }
}

} // namespace

library::library(const std::filesystem::path& db_file, sqlite::open_options options)
    : db_(open_existing(db_file, options)), read_only_(options.read_only) {
    if (options.read_only) {
        const int v = sqlite::schema_version(db_);
        if (v > library_schema_version() || v < library_schema_version())
            throw storage_error(db_.name() + ": schema " + std::to_string(v) + " cannot be opened read-only by a build "
                                "that knows schema " + std::to_string(library_schema_version()));
    } else {
        sqlite::migrate(db_, library_migrations());
    }
    check_tables(db_);
}

std::vector<document_record> library::documents() {
    auto st = db_.prepare("SELECT " + std::string(document_columns) + " FROM documents d ORDER BY d.id");
    std::vector<document_record> out;
    while (st.step()) out.push_back(read_document(st));
    return out;
}

std::optional<document_record> library::document(std::int64_t id) {
    auto st = db_.prepare("SELECT " + std::string(document_columns) + " FROM documents d WHERE d.id = ?1");
    st.bind_int64(1, id);
    if (!st.step()) return std::nullopt;
    return read_document(st);
}

std::optional<document_record> library::document_by_path(std::string_view path) {
    auto st = db_.prepare("SELECT " + std::string(document_columns) + " FROM documents d WHERE d.path = ?1");
    st.bind_text(1, path);
    if (!st.step()) return std::nullopt;
    return read_document(st);
}

std::int64_t library::ensure_document(std::string_view path, std::string_view kind) {
    auto ins = db_.prepare(
        "INSERT INTO documents (path, kind, status, added_at) VALUES (?1, ?2, 'queued', ?3) "
        "ON CONFLICT(path) DO NOTHING");
    ins.bind_text(1, path).bind_text(2, kind).bind_int64(3, now_seconds());
    ins.run();
    auto sel = db_.prepare("SELECT id FROM documents WHERE path = ?1");
    sel.bind_text(1, path);
    if (!sel.step()) throw storage_error(db_.name() + ": document row vanished for " + std::string(path));
    return sel.column_int64(0);
}

void library::set_status(std::int64_t document_id, doc_status status, std::string_view error) {
    auto st = db_.prepare("UPDATE documents SET status = ?1, error = ?2 WHERE id = ?3");
    st.bind_text(1, to_string(status));
    if (error.empty()) st.bind_null(2);
    else st.bind_text(2, error);
    st.bind_int64(3, document_id);
    st.run();
}

bool library::change_status(std::int64_t document_id, doc_status from, doc_status to) {
    auto st = db_.prepare("UPDATE documents SET status = ?1 WHERE id = ?2 AND status = ?3");
    st.bind_text(1, to_string(to)).bind_int64(2, document_id).bind_text(3, to_string(from));
    st.run();
    return db_.changes() > 0;
}

bool library::remove_document(std::int64_t document_id) {
    // One statement: the cascade removes chunks (whose trigger removes FTS rows) and KV links.
    auto st = db_.prepare("DELETE FROM documents WHERE id = ?1");
    st.bind_int64(1, document_id);
    st.run();
    return db_.changes() > 0;
}

std::vector<chunk_record> library::chunks_of(std::int64_t document_id) {
    auto st = db_.prepare("SELECT " + std::string(chunk_columns) + " FROM chunks WHERE document_id = ?1 ORDER BY ordinal");
    st.bind_int64(1, document_id);
    std::vector<chunk_record> out;
    while (st.step()) out.push_back(read_chunk(st));
    return out;
}

std::optional<chunk_record> library::chunk(std::int64_t chunk_id) {
    auto st = db_.prepare("SELECT " + std::string(chunk_columns) + " FROM chunks WHERE id = ?1");
    st.bind_int64(1, chunk_id);
    if (!st.step()) return std::nullopt;
    return read_chunk(st);
}

library::count_cache& library::counts() {
    const auto now = db_.stamp();
    if (now != counts_.stamp) counts_ = count_cache{now};
    return counts_;
}

std::int64_t library::chunk_count() {
    count_cache& c = counts();
    if (c.chunks < 0) {
        auto st = db_.prepare("SELECT count(*) FROM chunks");
        st.step();
        c.chunks = st.column_int64(0);
    }
    return c.chunks;
}

bool library::replace_chunks(std::int64_t document_id, const document_meta& meta, std::span<const chunk_record> chunks,
                             const std::atomic<bool>* cancel, bool* already_current) {
    sqlite::transaction tx(db_);
    if (already_current) *already_current = false;
    {
        // Under the write lock: the document as committed now, not as read before extracting.
        auto cur = db_.prepare("SELECT content_hash, status FROM documents WHERE id = ?1");
        cur.bind_int64(1, document_id);
        if (cur.step() && !meta.content_hash.empty() && cur.column_text(0) == meta.content_hash &&
            parse_doc_status(cur.column_text(1)) == doc_status::ready) {
            if (already_current) *already_current = true;
            return true;  // tx rolls back: nothing was written
        }
    }
    auto del = db_.prepare("DELETE FROM chunks WHERE document_id = ?1");
    del.bind_int64(1, document_id);
    del.run();
    auto ins = db_.prepare(
        "INSERT INTO chunks (document_id, ordinal, text, char_begin, char_end, page_begin, page_end, token_count) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    int ordinal = 0;
    for (const auto& c : chunks) {
        if (cancel && cancel->load(std::memory_order_relaxed)) return false;  // tx rolls back
        ins.reset();
        ins.bind_int64(1, document_id).bind_int64(2, ordinal++).bind_text(3, c.text);
        ins.bind_int64(4, c.char_begin).bind_int64(5, c.char_end).bind_int64(6, c.page_begin);
        ins.bind_int64(7, c.page_end).bind_int64(8, c.token_count);
        ins.run();
    }
    write_meta(db_, document_id, meta, doc_status::ready, {});
    tx.commit();
    return true;
}

void library::mark_failed(std::int64_t document_id, const document_meta& meta, std::string_view error) {
    sqlite::transaction tx(db_);
    auto del = db_.prepare("DELETE FROM chunks WHERE document_id = ?1");
    del.bind_int64(1, document_id);
    del.run();
    write_meta(db_, document_id, meta, doc_status::failed, error.empty() ? std::string_view("failed") : error);
    tx.commit();
}

void library::link_chunk_kv(std::int64_t chunk_id, std::string_view model_fingerprint, std::string_view cache_key) {
    auto st = db_.prepare(
        "INSERT INTO chunk_kv (chunk_id, model_fingerprint, cache_key) VALUES (?1, ?2, ?3) "
        "ON CONFLICT(chunk_id, model_fingerprint) DO UPDATE SET cache_key = excluded.cache_key");
    st.bind_int64(1, chunk_id).bind_text(2, model_fingerprint).bind_text(3, cache_key);
    st.run();
}

std::optional<std::string> library::chunk_kv(std::int64_t chunk_id, std::string_view model_fingerprint) {
    auto st = db_.prepare("SELECT cache_key FROM chunk_kv WHERE chunk_id = ?1 AND model_fingerprint = ?2");
    st.bind_int64(1, chunk_id).bind_text(2, model_fingerprint);
    if (!st.step()) return std::nullopt;
    return st.column_text(0);
}

std::vector<std::int64_t> library::chunks_missing_kv(std::int64_t document_id, std::string_view model_fingerprint,
                                                     std::string_view compile_options) {
    auto st = db_.prepare(
        "SELECT c.id FROM chunks c WHERE c.document_id = ?1 AND NOT EXISTS "
        "(SELECT 1 FROM chunk_kv k JOIN kv_entries e ON e.cache_key = k.cache_key "
        " WHERE k.chunk_id = c.id AND k.model_fingerprint = ?2 AND (?3 = '' OR e.compile_options = ?3)) ORDER BY c.ordinal");
    st.bind_int64(1, document_id).bind_text(2, model_fingerprint).bind_text(3, compile_options);
    std::vector<std::int64_t> out;
    while (st.step()) out.push_back(st.column_int64(0));
    return out;
}

bool library::record_kv_shape(std::string_view cache_key, std::int64_t rows, std::int64_t decoded_bytes) {
    {
        auto cur = db_.prepare("SELECT n_rows, decoded_bytes FROM kv_entries WHERE cache_key = ?1");
        cur.bind_text(1, cache_key);
        if (!cur.step()) return false;
        // Read first: asking is the common caller, and an unchanged row should cost no write lock.
        if (cur.column_int64(0) == rows && cur.column_int64(1) == decoded_bytes) return true;
    }
    auto st = db_.prepare("UPDATE kv_entries SET n_rows = ?2, decoded_bytes = ?3 WHERE cache_key = ?1");
    st.bind_text(1, cache_key).bind_int64(2, rows).bind_int64(3, decoded_bytes);
    st.run();
    return db_.changes() > 0;
}

std::vector<kv_entry_owner> library::kv_entry_owners() {
    // Rows come in document then chunk order, so the first row of each key is its owner.
    auto st = db_.prepare(
        "SELECT k.cache_key, d.id, CASE WHEN d.title = '' THEN d.path ELSE d.title END FROM chunk_kv k "
        "JOIN chunks c ON c.id = k.chunk_id JOIN documents d ON d.id = c.document_id ORDER BY d.id, c.ordinal");
    std::vector<kv_entry_owner> out;
    std::unordered_set<std::string> seen;
    while (st.step()) {
        std::string key = st.column_text(0);
        if (!seen.insert(key).second) continue;
        out.push_back({std::move(key), st.column_int64(1), st.column_text(2)});
    }
    return out;
}

std::vector<kv_entry_shape> library::kv_entry_shapes() {
    auto st = db_.prepare("SELECT cache_key, n_rows, decoded_bytes FROM kv_entries");
    std::vector<kv_entry_shape> out;
    while (st.step()) out.push_back({st.column_text(0), st.column_int64(1), st.column_int64(2)});
    return out;
}

} // namespace epic::storage
