#pragma once
// A prepared statement: bind by 1-based index or by ":name", step, read columns, reset.
// Text and blobs are copied by SQLite at bind time (SQLITE_TRANSIENT) so callers may pass temporaries.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace epic::storage::sqlite {

class database;
class statement_cache;

class statement {
public:
    // Prepared afresh, never cached.
    statement(database& db, std::string_view sql);
    // database::prepare's form: `idle` (may be null: prepare `sql`) comes from and goes back to `cache`.
    statement(database& db, std::string sql, sqlite3_stmt* idle, std::shared_ptr<statement_cache> cache);
    ~statement();
    statement(statement&& other) noexcept;
    statement& operator=(statement&& other) noexcept;
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;

    // Index binds are 1-based like SQLite's; name binds include the prefix (":id").
    statement& bind_int64(int index, std::int64_t value);
    statement& bind_double(int index, double value);
    statement& bind_text(int index, std::string_view value);
    statement& bind_blob(int index, std::span<const std::byte> value);
    statement& bind_null(int index);
    statement& bind_int64(std::string_view name, std::int64_t value) { return bind_int64(index_of(name), value); }
    statement& bind_double(std::string_view name, double value) { return bind_double(index_of(name), value); }
    statement& bind_text(std::string_view name, std::string_view value) { return bind_text(index_of(name), value); }
    statement& bind_blob(std::string_view name, std::span<const std::byte> value) {
        return bind_blob(index_of(name), value);
    }
    statement& bind_null(std::string_view name) { return bind_null(index_of(name)); }

    // true: a row is available; false: the statement finished. Errors throw storage_error (and reset
    // the statement so it holds no lock).
    bool step();
    // Steps to completion, for statements that return no rows.
    void run();
    // Ready to step again; bindings are kept (clear_bindings drops them).
    void reset();
    void clear_bindings();

    // Columns are 0-based like SQLite's.
    int column_count() const;
    bool column_is_null(int col) const;
    std::int64_t column_int64(int col) const;
    double column_double(int col) const;
    std::string column_text(int col) const;
    std::vector<std::byte> column_blob(int col) const;

    sqlite3_stmt* handle() const { return stmt_; }

private:
    int index_of(std::string_view name) const;
    void check_bind(int rc, int index);

    void release() noexcept;  // back to the cache, or finalized

    sqlite3* db_ = nullptr;
    sqlite3_stmt* stmt_ = nullptr;
    std::string db_name_;  // for error messages
    std::string sql_;      // the cache key (empty: not cached)
    std::weak_ptr<statement_cache> cache_;
};

} // namespace epic::storage::sqlite
