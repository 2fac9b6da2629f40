#pragma once
// Prepared statements kept for reuse, per connection (MapLibre's wrapper does the same): preparing
// the same SQL at every call costs a parse and a plan each time. database::prepare takes an idle
// statement of the same SQL text when there is one; a statement returns here (reset, bindings
// cleared, so it holds no read snapshot or lock) when its owner is done with it.
#include <cstddef>
#include <string>
#include <unordered_map>

struct sqlite3_stmt;

namespace epic::storage::sqlite {

class statement_cache {
public:
    ~statement_cache() { close(); }

    // An idle statement of exactly this SQL, or nullptr.
    sqlite3_stmt* take(const std::string& sql);
    // Keeps a finished statement for reuse (resets it first); finalizes it once the cache is closed
    // or full.
    void give_back(std::string sql, sqlite3_stmt* stmt);
    // Finalizes every idle statement; later give_backs finalize at once (the connection is closing).
    void close();

    std::size_t idle_count() const { return idle_.size(); }

private:
    // Generous for the ~40 statements the library uses; dynamic SQL beyond it is simply finalized.
    static constexpr std::size_t max_idle = 128;
    std::unordered_multimap<std::string, sqlite3_stmt*> idle_;
    bool open_ = true;
};

} // namespace epic::storage::sqlite
