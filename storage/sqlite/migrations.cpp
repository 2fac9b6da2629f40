#include "sqlite/migrations.h"

#include "sqlite/database.h"
#include "sqlite/statement.h"
#include "sqlite/transaction.h"
#include "storage_error.h"

#include <string>

namespace epic::storage::sqlite {

int schema_version(database& db) {
    auto st = db.prepare("PRAGMA user_version");
    return st.step() ? static_cast<int>(st.column_int64(0)) : 0;
}

namespace {

void refuse_newer(database& db, int found, int known) {
    throw storage_error(db.name() + ": was written by a newer EPIC (schema " + std::to_string(found) +
                        ", this build knows " + std::to_string(known) + ")");
}

} // namespace

int migrate(database& db, std::span<const migration> steps) {
    const int known = steps.empty() ? 0 : steps.back().version;
    for (std::size_t i = 0; i < steps.size(); ++i)
        if (steps[i].version != static_cast<int>(i) + 1)
            throw storage_error(db.name() + ": migration list out of order at step " + std::to_string(i + 1));

    const int before = schema_version(db);
    if (before > known) refuse_newer(db, before, known);
    if (before == known) return before;  // the common case takes no write lock

    for (const auto& step : steps) {
        transaction tx(db, tx_mode::immediate);
        const int current = schema_version(db);  // another process may have migrated meanwhile
        if (current > known) refuse_newer(db, current, known);
        if (current >= step.version) continue;
        try {
            db.exec(step.sql);
        } catch (const storage_error& e) {
            throw storage_error(std::string(e.what()) + " [migration to schema " + std::to_string(step.version) + "]");
        }
        db.exec("PRAGMA user_version = " + std::to_string(step.version));
        tx.commit();
    }
    return before;
}

} // namespace epic::storage::sqlite
