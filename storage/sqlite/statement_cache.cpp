#include "sqlite/statement_cache.h"

#include <sqlite3.h>

namespace epic::storage::sqlite {

sqlite3_stmt* statement_cache::take(const std::string& sql) {
    const auto it = idle_.find(sql);
    if (it == idle_.end()) return nullptr;
    sqlite3_stmt* st = it->second;
    idle_.erase(it);
    return st;
}

void statement_cache::give_back(std::string sql, sqlite3_stmt* stmt) {
    if (!stmt) return;
    // Reset ends the statement's read transaction (in WAL mode an un-reset SELECT pins its snapshot,
    // hiding other processes' writes from this connection); cleared bindings hold no copies of data.
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    if (!open_ || idle_.size() >= max_idle) {
        sqlite3_finalize(stmt);
        return;
    }
    idle_.emplace(std::move(sql), stmt);
}

void statement_cache::close() {
    open_ = false;
    for (auto& [sql, st] : idle_) sqlite3_finalize(st);
    idle_.clear();
}

} // namespace epic::storage::sqlite
