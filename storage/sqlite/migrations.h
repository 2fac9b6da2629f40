#pragma once
// Schema migrations keyed by PRAGMA user_version. Step N moves a database from version N-1 to N; each
// step runs in its own write transaction together with the user_version bump, so a crash leaves the
// file at a clean version. Two processes opening a fresh library at once are safe: the version is
// re-read inside the write lock.
#include <span>
#include <string_view>

namespace epic::storage::sqlite {

class database;

struct migration {
    int version;             // the user_version after this step (1, 2, ...)
    std::string_view sql;    // one or more statements
};

int schema_version(database& db);

// Applies the missing steps (which must be numbered 1..n in order). A database already newer than the
// last step throws storage_error "<file>: was written by a newer EPIC (schema 7, this build knows 2)".
// Returns the version found before migrating.
int migrate(database& db, std::span<const migration> steps);

} // namespace epic::storage::sqlite
