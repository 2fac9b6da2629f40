// KV store against a hostile library folder: a crafted kv_entries row naming a file outside the
// library, fan-out folders replaced by symbolic links, a blob replaced by a FIFO or by a sparse 64 GiB
// file, a read-only blob folder. Nothing outside the store is read, written or removed; nothing blocks;
// a bad blob is a blob to recompile, never a failed ask.
#include "kvstore/kv_store.h"
#include "library/library.h"
#include "sqlite/statement.h"
#include "storage_error.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <random>

using namespace epic::storage;
namespace fs = std::filesystem;

namespace {

fs::path made_folder(const fs::path& p) {
    fs::create_directories(p);
    return p;
}

struct fixture {
    fixture() : lib(made_folder(dir / "library") / "library.db") {
        kv_store_options o;
        o.on_problem = [this](const kv_problem& p) { problems.push_back(p); };
        store.emplace(lib, dir / "library" / "kv", std::move(o));
    }

    kv_blob blob(const std::string& key) {
        std::mt19937 rng(std::random_device{}());
        kv_blob b;
        b.key = key;
        std::vector<std::byte> data(32 * 64 * 2);
        for (auto& x : data) x = std::byte(rng() & 0xFF);
        b.add_tensor("k", kv_dtype::f16, {32, 4, 16}, data);
        return b;
    }

    void set_row(const std::string& key, const std::string& column, const std::string& value) {
        auto st = lib.db().prepare("UPDATE kv_entries SET " + column + " = ?1 WHERE cache_key = ?2");
        st.bind_text(1, value).bind_text(2, key);
        st.run();
    }

    // A file outside the library the store must never touch: not a valid blob, so any code that read
    // and "cleaned up" it would delete it.
    fs::path canary(const std::string& name) {
        const fs::path p = dir / "outside" / name;
        fs::create_directories(p.parent_path());
        std::ofstream(p) << "the user's precious file";
        return p;
    }

    epic::test::scratch_dir dir;
    library lib;
    std::vector<kv_problem> problems;
    std::optional<kv_store> store;
};

bool intact(const fs::path& p) {
    std::ifstream f(p);
    std::string s;
    std::getline(f, s);
    return s == "the user's precious file";
}

} // namespace

TEST(kv_store_hostile, a_row_naming_a_file_outside_the_library_never_touches_it) {
    for (const bool absolute : {true, false}) {
        SCOPED_TRACE(absolute ? "absolute path" : "../ path");
        fixture fx;
        const fs::path canary = fx.canary("notes.txt");
        const std::string target = absolute ? canary.string() : "../../outside/notes.txt";
        ASSERT_TRUE(fs::exists(fx.store->root() / "../../outside/notes.txt"));  // the relative form reaches it

        for (int op = 0; op < 5; ++op) {
            const kv_blob b = fx.blob("key-" + std::to_string(op));
            fx.store->put(b, "model", "sink=1");
            fx.set_row(b.key, "blob_path", target);
            switch (op) {
            case 0: EXPECT_TRUE(fx.store->load(b.key)); break;  // served from its real file
            case 1: EXPECT_TRUE(fx.store->verify(true).empty()); break;
            case 2: EXPECT_TRUE(fx.store->evict(b.key)); break;
            case 3: EXPECT_FALSE(fx.store->enforce_budget(0).evicted.empty()); break;
            case 4: {
                fs::remove(fx.store->path_for_key(b.key));  // the row now has no file of its own
                gc_options go;
                go.min_orphan_age = std::chrono::seconds(0);
                EXPECT_EQ(fx.store->gc(go).rows_removed, 1u);
                break;
            }
            }
            EXPECT_TRUE(intact(canary)) << "operation " << op;
        }
    }
}

TEST(kv_store_hostile, fan_out_folders_that_are_links_outside_are_never_followed) {
    fixture fx;
    const kv_blob b = fx.blob("linked");
    const fs::path file = fx.store->path_for_key(b.key);
    const fs::path fan1 = file.parent_path().parent_path();
    // The library's ab/ folder is a link to a folder outside, holding a file at the blob's name.
    const fs::path outside = fx.dir / "outside" / "home";
    const fs::path victim = outside / file.parent_path().filename() / file.filename();
    fs::create_directories(victim.parent_path());
    std::ofstream(victim) << "the user's precious file";
    fs::create_directories(fan1.parent_path());
    fs::create_directory_symlink(outside, fan1);

    // A crafted row for the key, as if the blob were there.
    auto st = fx.lib.db().prepare(
        "INSERT INTO kv_entries (cache_key, model_fingerprint, compile_options, blob_path, raw_bytes, compressed_bytes, "
        "checksum, hits, last_used, pinned, created_at) VALUES (?1, 'model', 'sink=1', 'x', 24, 24, '0', 0, 0, 0, 0)");
    st.bind_text(1, b.key);
    st.run();

    EXPECT_FALSE(fx.store->load(b.key));
    ASSERT_EQ(fx.problems.size(), 1u);
    EXPECT_NE(fx.problems[0].problem.find("not a folder of the KV store"), std::string::npos) << fx.problems[0].problem;
    EXPECT_FALSE(fx.problems[0].removed);
    EXPECT_TRUE(intact(victim));
    EXPECT_FALSE(fx.store->entry(b.key));  // the row went: the chunk is recompiled

    // Writing through the link is refused too, and verify / evict / gc leave the victim alone.
    EXPECT_THROW(fx.store->put(b, "model", "sink=1"), epic::storage_error);
    EXPECT_TRUE(intact(victim));
    fx.store->verify(true);
    fx.store->evict(b.key);
    gc_options go;
    go.min_orphan_age = std::chrono::seconds(0);
    fx.store->gc(go);
    EXPECT_TRUE(intact(victim));
}

TEST(kv_store_hostile, a_blob_that_is_a_link_is_not_followed) {
    fixture fx;
    const fs::path canary = fx.canary("secret.txt");
    const kv_blob b = fx.blob("symlinked-blob");
    fx.store->put(b, "model", "sink=1");
    const fs::path file = fx.store->path_for_key(b.key);
    fs::remove(file);
    fs::create_symlink(canary, file);
    EXPECT_FALSE(fx.store->load(b.key));
    ASSERT_EQ(fx.problems.size(), 1u);
    EXPECT_NE(fx.problems[0].problem.find("symbolic link"), std::string::npos) << fx.problems[0].problem;
    EXPECT_TRUE(fx.problems[0].removed);   // the link itself went
    EXPECT_TRUE(intact(canary));           // never its target
}

TEST(kv_store_hostile, a_blob_replaced_by_a_fifo_does_not_block) {
    fixture fx;
    const kv_blob b = fx.blob("fifo");
    fx.store->put(b, "model", "sink=1");
    const fs::path file = fx.store->path_for_key(b.key);
    fs::remove(file);
    ASSERT_EQ(::mkfifo(file.c_str(), 0600), 0);
    // load and verify run on another thread: a regression blocks there and fails here, not the suite.
    auto verified = std::async(std::launch::async, [&] { return fx.store->verify(false); });
    ASSERT_EQ(verified.wait_for(std::chrono::seconds(20)), std::future_status::ready) << "verify blocked on a FIFO";
    const auto bad = verified.get();
    ASSERT_EQ(bad.size(), 1u);
    EXPECT_NE(bad[0].problem.find("not a regular file"), std::string::npos) << bad[0].problem;
    auto loaded = std::async(std::launch::async, [&] { return fx.store->load(b.key).has_value(); });
    ASSERT_EQ(loaded.wait_for(std::chrono::seconds(20)), std::future_status::ready) << "load blocked on a FIFO";
    EXPECT_FALSE(loaded.get());
}

TEST(kv_store_hostile, a_sparse_64_gib_blob_is_refused_before_allocating) {
    // Twice: the row still says the real size (the file grew), and the row agrees with the file.
    for (const bool row_agrees : {false, true}) {
        SCOPED_TRACE(row_agrees ? "row says 64 GiB" : "row says the real size");
        fixture fx;
        const kv_blob b = fx.blob("sparse");
        fx.store->put(b, "model", "sink=1");
        const fs::path file = fx.store->path_for_key(b.key);
        const std::uint64_t huge = 64ull << 30;
        if (::truncate(file.c_str(), static_cast<off_t>(huge)) != 0) GTEST_SKIP() << "no sparse files here";
        if (row_agrees) {
            auto st = fx.lib.db().prepare("UPDATE kv_entries SET compressed_bytes = ?1 WHERE cache_key = ?2");
            st.bind_int64(1, static_cast<std::int64_t>(huge)).bind_text(2, b.key);
            st.run();
        }
        std::optional<kv_blob> loaded;
        EXPECT_NO_THROW(loaded = fx.store->load(b.key));
        EXPECT_FALSE(loaded);
        ASSERT_EQ(fx.problems.size(), 1u);
        EXPECT_NE(fx.problems[0].problem.find(file.string()), std::string::npos);
        EXPECT_NE(fx.problems[0].problem.find("bytes, its"), std::string::npos) << fx.problems[0].problem;
        EXPECT_FALSE(fs::exists(file));  // removed: the next ask recompiles
        // and the key can be stored again
        fx.store->put(b, "model", "sink=1");
        EXPECT_TRUE(fx.store->load(b.key));
    }
}

TEST(kv_store_hostile, a_header_promising_a_payload_larger_than_the_file_allows_is_corrupt) {
    fixture fx;
    const kv_blob b = fx.blob("liar");
    const encoded_blob enc = encode_blob(b);
    // compressed size field (offset 24): claim far more than raw bytes can need.
    std::vector<std::byte> bytes = enc.bytes;
    const std::uint64_t lie = 1ull << 40;
    for (int i = 0; i < 8; ++i) bytes[24 + i] = std::byte(static_cast<unsigned char>(lie >> (8 * i)));
    EXPECT_THROW(decode_blob_header(bytes, "liar.epkv"), epic::storage_error);
}

TEST(kv_store_hostile, a_bad_blob_that_cannot_be_removed_is_reported_as_kept) {
    // Root-proof stand-in for an undeletable file: a non-empty folder at the blob's name.
    fixture fx;
    const kv_blob b = fx.blob("undeletable");
    fx.store->put(b, "model", "sink=1");
    const fs::path file = fx.store->path_for_key(b.key);
    fs::remove(file);
    fs::create_directories(file / "inside");
    const auto bad = fx.store->verify(true);
    ASSERT_EQ(bad.size(), 1u);
    EXPECT_NE(bad[0].problem.find("not a regular file"), std::string::npos) << bad[0].problem;
    EXPECT_FALSE(bad[0].removed);
    EXPECT_TRUE(fs::exists(file / "inside"));
}

TEST(kv_store_hostile, a_read_only_blob_folder_reports_what_was_not_removed) {
    if (::geteuid() == 0) GTEST_SKIP() << "root ignores folder permissions";
    fixture fx;
    const kv_blob b = fx.blob("read-only");
    fx.store->put(b, "model", "sink=1");
    const fs::path file = fx.store->path_for_key(b.key);
    {
        std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(-3, std::ios::end);
        f.put('X');
    }
    fs::permissions(file.parent_path(), fs::perms::owner_read | fs::perms::owner_exec);
    const auto bad = fx.store->verify(true);
    fs::permissions(file.parent_path(), fs::perms::owner_all);
    ASSERT_EQ(bad.size(), 1u);
    EXPECT_FALSE(bad[0].removed);
    EXPECT_TRUE(fs::exists(file));
}
