#include "sqlite/database.h"

#include "sqlite/statement.h"
#include "sqlite/statement_cache.h"
#include "storage_error.h"

#include <sqlite3.h>

#include <utility>

namespace epic::storage::sqlite {

database::database(std::filesystem::path path, open_options options)
    : path_(std::move(path)), name_(path_.string()) {
    const int flags = (options.read_only ? SQLITE_OPEN_READONLY
                                         : SQLITE_OPEN_READWRITE | (options.create ? SQLITE_OPEN_CREATE : 0)) |
                      SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    const int rc = sqlite3_open_v2(name_.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
        std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
        close();
        throw storage_error(name_ + ": cannot open database: " + msg);
    }
    try {
        // The busy timeout goes first: switching to WAL needs a lock another process may hold.
        sqlite3_busy_timeout(db_, options.busy_timeout_ms);
        exec("PRAGMA foreign_keys = ON");
        if (!options.read_only) {
            auto st = prepare("PRAGMA journal_mode = WAL");
            // (An in-memory database, ":memory:", has no journal file and stays "memory".)
            if (st.step() && st.column_text(0) != "wal" && !(name_ == ":memory:" && st.column_text(0) == "memory"))
                throw storage_error(name_ + ": cannot switch to WAL journal (got " + st.column_text(0) + ")");
            // NORMAL is durable across application crashes in WAL mode; only a power cut can lose the
            // last transactions, never corrupt the file.
            exec("PRAGMA synchronous = NORMAL");
        }
        // Pages read through a memory map rather than copied into SQLite's 2 MB page cache: BM25 over
        // a large library walks posting lists of many megabytes per question (epic bench retrieval
        // --search-chunks 100000: 37 -> 26 ms). Address space only; the kernel shares the pages. Writes
        // still go through the journal; the cost is that a read error of the disk itself arrives as a
        // signal rather than SQLITE_IOERR.
        exec("PRAGMA mmap_size = 1073741824");
        // Reading the schema here turns "file is not a database" into an error at open time.
        exec("SELECT count(*) FROM sqlite_schema");
    } catch (...) {
        close();
        throw;
    }
}

database::~database() { close(); }

database::database(database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)), name_(std::move(other.name_)),
      statements_(std::move(other.statements_)) {}

database& database::operator=(database&& other) noexcept {
    if (this != &other) {
        close();
        db_ = std::exchange(other.db_, nullptr);
        path_ = std::move(other.path_);
        name_ = std::move(other.name_);
        statements_ = std::move(other.statements_);
    }
    return *this;
}

void database::close() noexcept {
    // close_v2 defers the real close until the last statement is finalized, so a statement that
    // outlives its database cannot crash the process.
    if (statements_) statements_->close();
    statements_.reset();
    if (db_) sqlite3_close_v2(std::exchange(db_, nullptr));
}

void database::exec(std::string_view sql) {
    const std::string text(sql);
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        throw storage_error(name_ + ": " + msg + " (in: " + text.substr(0, 120) + ")");
    }
}

statement database::prepare(std::string_view sql) {
    if (!statements_) statements_ = std::make_shared<statement_cache>();
    std::string text(sql);
    if (sqlite3_stmt* idle = statements_->take(text)) return statement(*this, std::move(text), idle, statements_);
    return statement(*this, std::move(text), nullptr, statements_);
}

std::int64_t database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

int database::changes() const { return sqlite3_changes(db_); }

database::change_stamp database::stamp() {
    change_stamp s;
    auto st = prepare("PRAGMA data_version");
    if (st.step()) s.data_version = st.column_int64(0);
    s.own_changes = sqlite3_total_changes64(db_);
    return s;
}

void database::fail(std::string_view what, int rc) const {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    throw storage_error(name_ + ": " + std::string(what) + ": " + msg);
}

} // namespace epic::storage::sqlite
