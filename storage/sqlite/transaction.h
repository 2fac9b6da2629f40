#pragma once
// RAII transaction: rolls back in the destructor unless commit() was called, so an exception thrown
// half-way through a multi-row change leaves the database as it was.
// Writers use BEGIN IMMEDIATE: taking the write lock up front means the busy timeout applies; a
// deferred transaction that upgrades from read to write in WAL mode fails with SQLITE_BUSY at once.
namespace epic::storage::sqlite {

class database;

enum class tx_mode { deferred, immediate, exclusive };

class transaction {
public:
    explicit transaction(database& db, tx_mode mode = tx_mode::immediate);
    ~transaction();
    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;

    void commit();
    void rollback();
    bool active() const { return active_; }

private:
    database& db_;
    bool active_ = false;
};

} // namespace epic::storage::sqlite
