// SQLite wrapper: statements, RAII transactions, migrations by user_version.
#include "library/library.h"
#include "library/schema.h"
#include "sqlite/database.h"
#include "sqlite/migrations.h"
#include "sqlite/statement.h"
#include "sqlite/transaction.h"
#include "storage_error.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <sqlite3.h>
#include <random>

using namespace epic::storage;
using epic::storage_error;

namespace {

std::int64_t count_rows(sqlite::database& db, const std::string& table) {
    auto st = db.prepare("SELECT count(*) FROM " + table);
    st.step();
    return st.column_int64(0);
}

} // namespace

TEST(sqlite, opens_in_wal_with_foreign_keys) {
    epic::test::scratch_dir dir;
    sqlite::database db(dir / "a.db");
    auto jm = db.prepare("PRAGMA journal_mode");
    ASSERT_TRUE(jm.step());
    EXPECT_EQ(jm.column_text(0), "wal");
    auto fk = db.prepare("PRAGMA foreign_keys");
    ASSERT_TRUE(fk.step());
    EXPECT_EQ(fk.column_int64(0), 1);
    auto bt = db.prepare("PRAGMA busy_timeout");
    ASSERT_TRUE(bt.step());
    EXPECT_EQ(bt.column_int64(0), 5000);
}

TEST(sqlite, the_change_stamp_moves_with_writes_from_either_connection_and_not_with_reads) {
    epic::test::scratch_dir dir;
    sqlite::database a(dir / "a.db"), b(dir / "a.db");
    a.exec("CREATE TABLE t (x INTEGER); CREATE TABLE log (n INTEGER); INSERT INTO log VALUES (0);"
           "CREATE TRIGGER t_ai AFTER INSERT ON t BEGIN UPDATE log SET n = n + 1; END;");
    const auto s0 = a.stamp();
    auto rd = a.prepare("SELECT count(*) FROM t");
    ASSERT_TRUE(rd.step());
    rd.reset();
    EXPECT_EQ(a.stamp(), s0) << "a read changes nothing";
    a.exec("INSERT INTO t VALUES (1)");
    const auto s1 = a.stamp();
    EXPECT_NE(s1, s0) << "a write through this connection";
    b.exec("INSERT INTO t VALUES (2)");
    const auto s2 = a.stamp();
    EXPECT_NE(s2, s1) << "a commit through another connection";
    EXPECT_EQ(a.stamp(), s2);
    b.exec("BEGIN; INSERT INTO t VALUES (3); ROLLBACK");
    EXPECT_EQ(a.stamp(), s2) << "nothing committed, nothing changed";
}

TEST(sqlite, binds_and_reads_every_type_by_index_and_name) {
    std::random_device rd;
    const unsigned seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    epic::test::scratch_dir dir;
    sqlite::database db(dir / "a.db");
    db.exec("CREATE TABLE t (i INTEGER, d REAL, s TEXT, b BLOB, n TEXT)");

    const std::int64_t i = static_cast<std::int64_t>(rng());
    const double d = std::uniform_real_distribution<double>(-1e9, 1e9)(rng);
    std::string s = "caf\xC3\xA9 \"quoted\" ";
    s.push_back('\0');  // embedded NUL survives a length-bound bind
    s += std::to_string(rng());
    std::vector<std::byte> b(1 + rng() % 4096);
    for (auto& x : b) x = std::byte(rng() & 0xFF);

    auto ins = db.prepare("INSERT INTO t VALUES (?1, :d, ?3, :b, ?5)");
    ins.bind_int64(1, i).bind_double(":d", d).bind_text(3, s).bind_blob(":b", b).bind_null(5);
    ins.run();
    EXPECT_THROW(ins.bind_int64(":nope", 1), storage_error);

    auto sel = db.prepare("SELECT i, d, s, b, n FROM t");
    ASSERT_TRUE(sel.step());
    EXPECT_EQ(sel.column_int64(0), i);
    EXPECT_DOUBLE_EQ(sel.column_double(1), d);
    EXPECT_EQ(sel.column_text(2), s);
    EXPECT_EQ(sel.column_blob(3), b);
    EXPECT_TRUE(sel.column_is_null(4));
    EXPECT_FALSE(sel.column_is_null(0));
    EXPECT_FALSE(sel.step());
    // reset makes the same statement usable again
    sel.reset();
    EXPECT_TRUE(sel.step());
}

TEST(sqlite, errors_name_the_file) {
    epic::test::scratch_dir dir;
    const auto bad = dir / "garbage.db";
    {
        std::ofstream f(bad, std::ios::binary);
        f << std::string(8192, 'x');
    }
    try {
        sqlite::database db(bad);
        FAIL() << "a garbage file opened as a database";
    } catch (const storage_error& e) {
        EXPECT_NE(std::string(e.what()).find("garbage.db"), std::string::npos) << e.what();
    }
    sqlite::database db(dir / "ok.db");
    try {
        db.prepare("SELECT * FROM no_such_table");
        FAIL();
    } catch (const storage_error& e) {
        EXPECT_NE(std::string(e.what()).find("ok.db"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("no_such_table"), std::string::npos) << e.what();
    }
}

TEST(sqlite, transaction_rolls_back_when_an_exception_escapes) {
    epic::test::scratch_dir dir;
    sqlite::database db(dir / "a.db");
    db.exec("CREATE TABLE t (x INTEGER)");
    db.exec("INSERT INTO t VALUES (1)");
    auto write_then_throw = [&] {
        sqlite::transaction tx(db);
        auto ins = db.prepare("INSERT INTO t VALUES (?1)");
        for (int k = 0; k < 10; ++k) {
            ins.reset();
            ins.bind_int64(1, 100 + k);
            ins.run();
        }
        db.exec("DELETE FROM t WHERE x = 1");
        throw std::runtime_error("mid-way failure");
        // tx.commit() never reached
    };
    EXPECT_THROW(write_then_throw(), std::runtime_error);
    EXPECT_EQ(count_rows(db, "t"), 1);
    auto st = db.prepare("SELECT x FROM t");
    ASSERT_TRUE(st.step());
    EXPECT_EQ(st.column_int64(0), 1);

    // The same work committed is kept, and the connection is usable after the rollback.
    {
        sqlite::transaction tx(db);
        db.exec("INSERT INTO t VALUES (2)");
        tx.commit();
    }
    EXPECT_EQ(count_rows(db, "t"), 2);
    // Another connection sees neither uncommitted nor rolled-back rows.
    sqlite::database other(dir / "a.db");
    EXPECT_EQ(count_rows(other, "t"), 2);
}

TEST(sqlite, migrations_upgrade_an_old_library_and_keep_its_data) {
    std::random_device rd;
    const unsigned seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    epic::test::scratch_dir dir;
    const auto file = dir / "library.db";
    const std::string word = "zebra" + std::to_string(rng() % 100000);
    {
        sqlite::database db(file);
        EXPECT_EQ(sqlite::migrate(db, library_migrations().first(1)), 0);
        EXPECT_EQ(sqlite::schema_version(db), 1);
        // Schema 1 has no link table yet.
        EXPECT_THROW(db.prepare("SELECT * FROM chunk_kv"), storage_error);
        db.exec("INSERT INTO documents (id, path, status) VALUES (7, '/old/doc.txt', 'ready')");
        auto ins = db.prepare("INSERT INTO chunks (document_id, ordinal, text, char_begin, char_end) VALUES (7, 0, ?1, 0, ?2)");
        const std::string text = "an old chunk about the " + word;
        ins.bind_text(1, text).bind_int64(2, static_cast<std::int64_t>(text.size()));
        ins.run();
        db.exec("INSERT INTO kv_entries (cache_key, model_fingerprint, blob_path, raw_bytes, compressed_bytes, checksum) "
                "VALUES ('k1', 'm1', 'aa/bb/x.epkv', 10, 5, '0')");
    }
    library lib(file);
    EXPECT_EQ(sqlite::schema_version(lib.db()), library_schema_version());
    EXPECT_EQ(library_schema_version(), 4);
    const auto doc = lib.document(7);
    ASSERT_TRUE(doc);
    EXPECT_EQ(doc->path, "/old/doc.txt");
    EXPECT_EQ(doc->chunk_count, 1);
    const auto hits = lib.search(word, 5);
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].document_id, 7);
    // The table added by migration 2 works with the old rows.
    const auto chunk_id = hits[0].chunk_id;
    lib.link_chunk_kv(chunk_id, "m1", "k1");
    EXPECT_EQ(lib.chunk_kv(chunk_id, "m1"), "k1");
    EXPECT_EQ(lib.chunk_kv(chunk_id, "m2"), std::nullopt);
    // Migration 3: the old entry's shape is not recorded (0) until the runtime records it.
    auto shapes = lib.kv_entry_shapes();
    ASSERT_EQ(shapes.size(), 1u);
    EXPECT_EQ(shapes[0].cache_key, "k1");
    EXPECT_EQ(shapes[0].rows, 0);
    EXPECT_EQ(shapes[0].decoded_bytes, 0);
    EXPECT_TRUE(lib.record_kv_shape("k1", 12, 3072));
    EXPECT_TRUE(lib.record_kv_shape("k1", 12, 3072)) << "recording the same shape again is not a failure";
    EXPECT_FALSE(lib.record_kv_shape("no such key", 1, 1));
    shapes = lib.kv_entry_shapes();
    EXPECT_EQ(shapes[0].rows, 12);
    EXPECT_EQ(shapes[0].decoded_bytes, 3072);
}

TEST(sqlite, newer_schema_is_refused_with_the_file_name) {
    epic::test::scratch_dir dir;
    const auto file = dir / "library.db";
    {
        sqlite::database db(file);
        db.exec("PRAGMA user_version = 99");
    }
    try {
        library lib(file);
        FAIL() << "opened a schema-99 library";
    } catch (const storage_error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("library.db"), std::string::npos) << msg;
        EXPECT_NE(msg.find("newer EPIC (schema 99, this build knows " + std::to_string(library_schema_version()) + ")"), std::string::npos) << msg;
    }
    // Refusing must not have touched the file.
    sqlite::database db(file);
    EXPECT_EQ(sqlite::schema_version(db), 99);
}

TEST(sqlite, a_failing_migration_leaves_the_previous_version) {
    epic::test::scratch_dir dir;
    sqlite::database db(dir / "m.db");
    const std::array<sqlite::migration, 2> steps{{
        {1, "CREATE TABLE a (x INTEGER);"},
        {2, "CREATE TABLE b (y INTEGER); INSERT INTO nowhere VALUES (1);"},
    }};
    EXPECT_THROW(sqlite::migrate(db, steps), storage_error);
    EXPECT_EQ(sqlite::schema_version(db), 1);
    // Step 2's half-done work was rolled back with it.
    EXPECT_THROW(db.prepare("SELECT * FROM b"), storage_error);
    EXPECT_NO_THROW(db.prepare("SELECT * FROM a"));
}

TEST(sqlite, prepared_statements_are_reused_and_hold_no_snapshot_when_returned) {
    epic::test::scratch_dir dir;
    sqlite::database a(dir / "t.db");
    a.exec("CREATE TABLE t (x INTEGER)");
    a.exec("INSERT INTO t VALUES (1), (2), (3)");
    const std::string sql = "SELECT x FROM t ORDER BY x";
    sqlite3_stmt* first = nullptr;
    {
        auto st = a.prepare(sql);
        first = st.handle();
        ASSERT_TRUE(st.step());  // left mid-iteration on purpose
        EXPECT_EQ(st.column_int64(0), 1);
    }
    {
        auto again = a.prepare(sql);
        EXPECT_EQ(again.handle(), first) << "the same SQL reuses the idle statement";
        auto other = a.prepare(sql);  // while that one is in use: a second statement
        EXPECT_NE(other.handle(), first);
        ASSERT_TRUE(again.step());
        EXPECT_EQ(again.column_int64(0), 1) << "a reused statement starts from the first row";
    }
    // Another connection writes; this one sees it: no returned statement pinned the old snapshot.
    {
        auto st = a.prepare("SELECT count(*) FROM t");
        ASSERT_TRUE(st.step());  // not stepped to the end: returned mid-way
    }
    sqlite::database b(dir / "t.db");
    b.exec("INSERT INTO t VALUES (4)");
    auto count = a.prepare("SELECT count(*) FROM t");
    ASSERT_TRUE(count.step());
    EXPECT_EQ(count.column_int64(0), 4);
    // Bindings do not leak from one use to the next.
    a.exec("CREATE TABLE kv (k TEXT, v INTEGER)");
    {
        auto ins = a.prepare("INSERT INTO kv VALUES (?1, ?2)");
        ins.bind_text(1, "a").bind_int64(2, 7);
        ins.run();
    }
    {
        auto ins = a.prepare("INSERT INTO kv VALUES (?1, ?2)");
        ins.bind_text(1, "b");  // ?2 left unbound: NULL, not the 7 of before
        ins.run();
    }
    auto v = a.prepare("SELECT v IS NULL FROM kv WHERE k = 'b'");
    ASSERT_TRUE(v.step());
    EXPECT_EQ(v.column_int64(0), 1);
}

TEST(sqlite, a_statement_outliving_its_connection_is_safe) {
    epic::test::scratch_dir dir;
    std::optional<sqlite::database> db(std::in_place, dir / "t.db");
    db->exec("CREATE TABLE t (x INTEGER)");
    std::optional<sqlite::statement> st(db->prepare("SELECT x FROM t"));
    db.reset();   // closes (deferred by SQLite until the statement goes)
    st.reset();   // finalizes: the cache is gone, nothing to return to
    SUCCEED();
}
