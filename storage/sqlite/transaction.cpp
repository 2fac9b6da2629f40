#include "sqlite/transaction.h"

#include "sqlite/database.h"

#include <sqlite3.h>

namespace epic::storage::sqlite {

transaction::transaction(database& db, tx_mode mode) : db_(db) {
    switch (mode) {
    case tx_mode::deferred: db_.exec("BEGIN DEFERRED"); break;
    case tx_mode::immediate: db_.exec("BEGIN IMMEDIATE"); break;
    case tx_mode::exclusive: db_.exec("BEGIN EXCLUSIVE"); break;
    }
    active_ = true;
}

transaction::~transaction() {
    if (!active_) return;
    // Never throws from a destructor: if SQLite already rolled back (e.g. after SQLITE_FULL), the
    // ROLLBACK fails harmlessly.
    if (!sqlite3_get_autocommit(db_.handle())) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void transaction::commit() {
    db_.exec("COMMIT");
    active_ = false;
}

void transaction::rollback() {
    active_ = false;
    db_.exec("ROLLBACK");
}

} // namespace epic::storage::sqlite
