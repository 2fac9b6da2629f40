#include "sqlite/statement.h"

#include "sqlite/database.h"
#include "sqlite/statement_cache.h"
#include "storage_error.h"

#include <sqlite3.h>

#include <utility>

namespace epic::storage::sqlite {

statement::statement(database& db, std::string_view sql) : db_(db.handle()), db_name_(db.name()) {
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt_, &tail);
    if (rc != SQLITE_OK)
        throw storage_error(db_name_ + ": cannot prepare \"" + std::string(sql.substr(0, 120)) +
                            "\": " + sqlite3_errmsg(db_));
    if (!stmt_) throw storage_error(db_name_ + ": empty SQL statement");
}

statement::statement(database& db, std::string sql, sqlite3_stmt* idle, std::shared_ptr<statement_cache> cache)
    : db_(db.handle()), stmt_(idle), db_name_(db.name()), sql_(std::move(sql)), cache_(cache) {
    if (stmt_) return;
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v2(db_, sql_.data(), static_cast<int>(sql_.size()), &stmt_, &tail);
    if (rc != SQLITE_OK)
        throw storage_error(db_name_ + ": cannot prepare \"" + sql_.substr(0, 120) + "\": " + sqlite3_errmsg(db_));
    if (!stmt_) throw storage_error(db_name_ + ": empty SQL statement");
}

void statement::release() noexcept {
    if (!stmt_) return;
    sqlite3_stmt* st = std::exchange(stmt_, nullptr);
    if (auto cache = cache_.lock(); cache && !sql_.empty()) {
        try {
            cache->give_back(std::move(sql_), st);
            return;
        } catch (...) {
            // out of memory keeping it: finalize below
        }
    }
    sqlite3_finalize(st);
}

statement::~statement() { release(); }

statement::statement(statement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), db_name_(std::move(other.db_name_)),
      sql_(std::move(other.sql_)), cache_(std::move(other.cache_)) {}

statement& statement::operator=(statement&& other) noexcept {
    if (this != &other) {
        release();
        db_ = other.db_;
        stmt_ = std::exchange(other.stmt_, nullptr);
        db_name_ = std::move(other.db_name_);
        sql_ = std::move(other.sql_);
        cache_ = std::move(other.cache_);
    }
    return *this;
}

int statement::index_of(std::string_view name) const {
    const std::string n(name);
    const int index = sqlite3_bind_parameter_index(stmt_, n.c_str());
    if (index == 0)
        throw storage_error(db_name_ + ": no parameter " + n + " in \"" + std::string(sqlite3_sql(stmt_)) + "\"");
    return index;
}

void statement::check_bind(int rc, int index) {
    if (rc != SQLITE_OK)
        throw storage_error(db_name_ + ": cannot bind parameter " + std::to_string(index) + ": " +
                            sqlite3_errmsg(db_));
}

statement& statement::bind_int64(int index, std::int64_t value) {
    check_bind(sqlite3_bind_int64(stmt_, index, value), index);
    return *this;
}
statement& statement::bind_double(int index, double value) {
    check_bind(sqlite3_bind_double(stmt_, index, value), index);
    return *this;
}
statement& statement::bind_text(int index, std::string_view value) {
    // A null data pointer would bind SQL NULL; an empty string must stay an empty string.
    check_bind(sqlite3_bind_text64(stmt_, index, value.data() ? value.data() : "", value.size(), SQLITE_TRANSIENT,
                                   SQLITE_UTF8),
               index);
    return *this;
}
statement& statement::bind_blob(int index, std::span<const std::byte> value) {
    check_bind(value.empty() ? sqlite3_bind_zeroblob(stmt_, index, 0)
                             : sqlite3_bind_blob64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT),
               index);
    return *this;
}
statement& statement::bind_null(int index) {
    check_bind(sqlite3_bind_null(stmt_, index), index);
    return *this;
}

bool statement::step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    std::string msg = sqlite3_errmsg(db_);
    sqlite3_reset(stmt_);
    throw storage_error(db_name_ + ": " + msg + " (in: " + std::string(sqlite3_sql(stmt_)).substr(0, 120) + ")");
}

void statement::run() {
    while (step()) {
    }
    reset();
}

void statement::reset() { sqlite3_reset(stmt_); }
void statement::clear_bindings() { sqlite3_clear_bindings(stmt_); }

int statement::column_count() const { return sqlite3_column_count(stmt_); }
bool statement::column_is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
std::int64_t statement::column_int64(int col) const { return sqlite3_column_int64(stmt_, col); }
double statement::column_double(int col) const { return sqlite3_column_double(stmt_, col); }

std::string statement::column_text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    const int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

std::vector<std::byte> statement::column_blob(int col) const {
    const auto* p = static_cast<const std::byte*>(sqlite3_column_blob(stmt_, col));
    const int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::vector<std::byte>(p, p + n) : std::vector<std::byte>();
}

} // namespace epic::storage::sqlite
