#pragma once
// RAII handle on one SQLite connection (in the spirit of MapLibre's mbgl::sqlite wrapper).
// Every connection is opened the same way: WAL journal (readers never block the writer), foreign keys
// ON (cascades keep chunks, FTS rows and KV links consistent), and a busy timeout so two processes
// sharing a library wait for each other instead of failing with SQLITE_BUSY.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

struct sqlite3;

namespace epic::storage::sqlite {

class statement;
class statement_cache;

struct open_options {
    bool read_only = false;
    bool create = true;  // false: a missing file is an error, not a new empty database
    int busy_timeout_ms = 5000;
};

class database {
public:
    // Opens (creating unless read_only or !create) the file; throws storage_error naming the file on failure.
    explicit database(std::filesystem::path path, open_options options = {});
    ~database();
    database(database&& other) noexcept;
    database& operator=(database&& other) noexcept;
    database(const database&) = delete;
    database& operator=(const database&) = delete;

    // Runs one or more SQL statements that return no rows we care about (DDL, PRAGMAs).
    void exec(std::string_view sql);
    // A prepared statement of this SQL: an idle one from the connection's statement cache when there
    // is one (statements go back there when destroyed), else newly prepared.
    statement prepare(std::string_view sql);

    std::int64_t last_insert_rowid() const;
    int changes() const;
    // Differs from an earlier stamp whenever the content may have changed since: a commit by another
    // connection (PRAGMA data_version) or a row changed through this one, trigger programs included
    // (sqlite3_total_changes64). A statement and a call: what caches of counts check before use.
    struct change_stamp {
        std::int64_t data_version = -1;
        std::int64_t own_changes = -1;
        bool operator==(const change_stamp&) const = default;
    };
    change_stamp stamp();

    const std::filesystem::path& path() const { return path_; }
    // The prefix of every error message about this database: its path as the caller gave it.
    const std::string& name() const { return name_; }
    sqlite3* handle() const { return db_; }

    // Throws storage_error "<file>: <what>: <sqlite message>" for a failed result code.
    [[noreturn]] void fail(std::string_view what, int rc) const;

private:
    void close() noexcept;

    sqlite3* db_ = nullptr;
    std::filesystem::path path_;
    std::string name_;
    // Shared with the statements it handed out: one that outlives the connection finalizes itself.
    std::shared_ptr<statement_cache> statements_;
};

} // namespace epic::storage::sqlite
