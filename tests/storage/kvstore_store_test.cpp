// KV store: put/load through the library database, corruption handling, budget, gc, verify, stats.
#include "kvstore/kv_store.h"
#include "library/library.h"
#include "sqlite/statement.h"
#include "storage_error.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <random>

using namespace epic::storage;
namespace fs = std::filesystem;

namespace {

struct fixture {
    explicit fixture(unsigned seed) : rng(seed), lib(dir / "library.db") {
        kv_store_options o;
        o.clock = [this] { return ++fake_time; };  // strictly increasing, no wall clock in tests
        o.on_problem = [this](const kv_problem& p) { problems.push_back(p); };
        store.emplace(lib, dir / "kv", std::move(o));
    }

    kv_blob blob(const std::string& key, std::size_t tokens) {
        kv_blob b;
        b.key = key;
        b.metadata = "meta-" + key;
        std::normal_distribution<float> g(0.f, 1.f);
        std::vector<std::byte> data(tokens * 64 * 2);
        for (std::size_t i = 0; i < data.size(); i += 2) {
            const auto v = static_cast<std::uint16_t>(0x3000 + static_cast<int>(g(rng) * 256) % 0x800);
            data[i] = std::byte(v & 0xFF);
            data[i + 1] = std::byte(v >> 8);
        }
        b.add_tensor("k", kv_dtype::f16, {tokens, 4, 16}, data);
        return b;
    }

    std::mt19937_64 rng;
    epic::test::scratch_dir dir;
    library lib;
    std::int64_t fake_time = 1000;
    std::vector<kv_problem> problems;
    std::optional<kv_store> store;
};

void flip_byte(const fs::path& file, std::size_t from_end) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-static_cast<std::streamoff>(from_end), std::ios::end);
    char c;
    f.get(c);
    f.seekp(-static_cast<std::streamoff>(from_end), std::ios::end);
    f.put(static_cast<char>(c ^ 0x40));
}

} // namespace

TEST(kv_store, put_load_round_trip_counts_hits) {
    std::random_device rd;
    const auto seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    fixture fx(seed);
    const kv_blob b = fx.blob("model-a|chunk-1", 50);
    const kv_entry e = fx.store->put(b, "model-a", "k=16");
    EXPECT_EQ(e.raw_bytes, b.payload.size());
    EXPECT_EQ(e.compressed_bytes, fs::file_size(fx.store->root() / e.blob_path));
    EXPECT_TRUE(fs::exists(fx.store->path_for_key(b.key)));
    EXPECT_EQ(fx.store->root() / e.blob_path, fx.store->path_for_key(b.key));
    EXPECT_EQ(e.hits, 0);

    const auto loaded = fx.store->load(b.key);
    ASSERT_TRUE(loaded);
    EXPECT_EQ(loaded->payload, b.payload);
    EXPECT_EQ(loaded->metadata, b.metadata);
    fx.store->load(b.key);
    const auto after = fx.store->entry(b.key);
    EXPECT_EQ(after->hits, 2);
    EXPECT_GT(after->last_used, e.last_used);
    EXPECT_FALSE(fx.store->load("no such key"));
    EXPECT_TRUE(fx.problems.empty());

    const auto s = fx.store->stats();
    EXPECT_EQ(s.count, 1);
    EXPECT_EQ(s.raw_bytes, b.payload.size());
    EXPECT_GT(s.ratio, 1.0);  // f16 with a narrow exponent range compresses
}

TEST(kv_store, corrupt_blob_is_reported_deleted_and_never_returned) {
    std::random_device rd;
    const char* fixed = std::getenv("EPIC_TEST_SEED"); // replay a failing seed
    const auto seed = fixed ? (decltype(rd()))std::strtoull(fixed, nullptr, 10) : rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    fixture fx(seed);
    const kv_blob payload_bad = fx.blob("payload-bad", 40), header_bad = fx.blob("header-bad", 40),
                  truncated = fx.blob("truncated", 40), missing = fx.blob("missing", 40);
    for (const auto* b : {&payload_bad, &header_bad, &truncated, &missing}) fx.store->put(*b, "m");

    const std::size_t flip_at = 1 + fx.rng() % 100;
    SCOPED_TRACE("flipped byte " + std::to_string(flip_at) + " from the end of " +
                 std::to_string(fs::file_size(fx.store->path_for_key("payload-bad"))));
    flip_byte(fx.store->path_for_key("payload-bad"), flip_at);
    {
        // Flip (not overwrite) a header byte: an overwrite leaves the file unchanged whenever the
        // byte there already had that value, which a seed-dependent header field sometimes does.
        std::fstream f(fx.store->path_for_key("header-bad"), std::ios::in | std::ios::out | std::ios::binary);
        f.seekg(45);
        char c = 0;
        f.get(c);
        f.seekp(45);
        f.put(static_cast<char>(c ^ 0x5a));
    }
    fs::resize_file(fx.store->path_for_key("truncated"), fs::file_size(fx.store->path_for_key("truncated")) / 2);
    fs::remove(fx.store->path_for_key("missing"));

    for (const std::string key : {"payload-bad", "header-bad", "truncated", "missing"}) {
        SCOPED_TRACE(key);
        const auto file = fx.store->path_for_key(key);
        fx.problems.clear();
        EXPECT_FALSE(fx.store->load(key));
        ASSERT_EQ(fx.problems.size(), 1u);
        EXPECT_EQ(fx.problems[0].cache_key, key);
        EXPECT_NE(fx.problems[0].problem.find(file.string()), std::string::npos) << fx.problems[0].problem;
        EXPECT_FALSE(fs::exists(file));
        EXPECT_FALSE(fx.store->entry(key));
        // Second load: a plain miss (the caller recompiles), nothing more to report.
        fx.problems.clear();
        EXPECT_FALSE(fx.store->load(key));
        EXPECT_TRUE(fx.problems.empty());
    }
    EXPECT_NE(fx.store->entry("truncated").has_value(), true);
}

TEST(kv_store, budget_evicts_least_recently_used_unpinned_first) {
    std::random_device rd;
    const auto seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    fixture fx(seed);
    const int n = 8;
    std::vector<std::string> keys;
    for (int i = 0; i < n; ++i) {
        keys.push_back("key-" + std::to_string(i));
        fx.store->put(fx.blob(keys.back(), 20 + fx.rng() % 30), "m");
    }
    // Touch the entries in a random order: that order is the LRU order (oldest first).
    std::vector<std::string> order = keys;
    std::shuffle(order.begin(), order.end(), fx.rng);
    for (const auto& k : order) ASSERT_TRUE(fx.store->load(k));
    // Pin the least recently used one and one other: both must survive any budget.
    const std::string pinned_old = order[0], pinned_other = order[3 + fx.rng() % 4];
    EXPECT_TRUE(fx.store->pin(pinned_old));
    EXPECT_TRUE(fx.store->pin(pinned_other));
    EXPECT_FALSE(fx.store->pin("not-there"));

    std::map<std::string, std::uint64_t> size_of;
    for (const auto& e : fx.store->entries()) size_of[e.cache_key] = e.compressed_bytes;
    const std::uint64_t total = fx.store->stats().compressed_bytes;
    // Budget that forces out about half of the bytes.
    const auto r = fx.store->enforce_budget(total / 2);
    EXPECT_TRUE(r.within_budget);
    EXPECT_LE(r.remaining_bytes, total / 2);
    EXPECT_EQ(fx.store->stats().compressed_bytes, r.remaining_bytes);
    // Evicted = the unpinned entries in LRU order, a prefix of it, and no more than needed.
    std::vector<std::string> unpinned_lru;
    for (const auto& k : order)
        if (k != pinned_old && k != pinned_other) unpinned_lru.push_back(k);
    ASSERT_FALSE(r.evicted.empty());
    ASSERT_LE(r.evicted.size(), unpinned_lru.size());
    for (std::size_t i = 0; i < r.evicted.size(); ++i) EXPECT_EQ(r.evicted[i], unpinned_lru[i]);
    // No more than needed: without the last victim the budget would still be exceeded.
    EXPECT_GT(r.remaining_bytes + size_of[r.evicted.back()], total / 2);
    std::uint64_t freed = 0;
    for (const auto& k : r.evicted) freed += size_of[k];
    EXPECT_EQ(freed, r.freed_bytes);
    for (const auto& k : r.evicted) {
        EXPECT_FALSE(fx.store->entry(k));
        EXPECT_FALSE(fs::exists(fx.store->path_for_key(k)));
    }
    EXPECT_TRUE(fx.store->entry(pinned_old));
    EXPECT_TRUE(fx.store->entry(pinned_other));

    // A zero budget leaves exactly the pinned entries and reports that the budget is not met.
    const auto r0 = fx.store->enforce_budget(0);
    EXPECT_FALSE(r0.within_budget);
    const auto left = fx.store->entries();
    ASSERT_EQ(left.size(), 2u);
    for (const auto& e : left) EXPECT_TRUE(e.pinned);
    // Unpinned, they go too.
    fx.store->pin(pinned_old, false);
    const auto r1 = fx.store->enforce_budget(0);
    EXPECT_EQ(r1.evicted, std::vector<std::string>{pinned_old});
}

TEST(kv_store, gc_removes_orphans_and_rows_without_files) {
    std::random_device rd;
    const auto seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    fixture fx(seed);
    fx.store->put(fx.blob("kept", 10), "m");
    fx.store->put(fx.blob("row-only", 10), "m");
    fx.store->put(fx.blob("file-only", 10), "m");
    const auto file_only = fx.store->path_for_key("file-only");
    // Orphan: delete the row but keep the file (what removing a document + evicting a row can leave).
    {
        auto st = fx.lib.db().prepare("DELETE FROM kv_entries WHERE cache_key = 'file-only'");
        st.run();
    }
    fs::remove(fx.store->path_for_key("row-only"));
    const auto temp = fx.store->root() / "ab" / "leftover.epkv.tmp-123-456";
    fs::create_directories(temp.parent_path());
    std::ofstream(temp) << "partial";
    const auto foreign = fx.store->root() / "README.txt";
    std::ofstream(foreign) << "not ours";

    // With the default grace period, fresh orphans are left alone (a writer may be mid-put).
    const auto g0 = fx.store->gc();
    EXPECT_EQ(g0.orphan_files_removed, 0u);
    EXPECT_TRUE(fs::exists(file_only));

    const auto g = fx.store->gc(gc_options{std::chrono::seconds(0), false});
    EXPECT_EQ(g.orphan_files_removed, 1u);
    EXPECT_EQ(g.temp_files_removed, 1u);
    EXPECT_EQ(g0.rows_removed + g.rows_removed, 1u);
    EXPECT_FALSE(fs::exists(file_only));
    EXPECT_FALSE(fs::exists(temp));
    EXPECT_TRUE(fs::exists(foreign));
    EXPECT_FALSE(fx.store->entry("row-only"));
    ASSERT_TRUE(fx.store->load("kept"));
}

TEST(kv_store, gc_can_drop_entries_no_chunk_links_to) {
    std::random_device rd;
    const auto seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    fixture fx(seed);
    const auto doc = fx.lib.ensure_document("/d.txt", "txt");
    chunk_record c;
    c.text = "hello";
    c.char_end = 5;
    ASSERT_TRUE(fx.lib.replace_chunks(doc, document_meta{"h", 0, 5, "d", "txt"}, std::vector<chunk_record>{c}));
    const auto chunk_id = fx.lib.chunks_of(doc).at(0).id;
    fx.store->put(fx.blob("linked", 5), "m");
    fx.store->put(fx.blob("unlinked", 5), "m");
    fx.store->put(fx.blob("pinned", 5), "m");
    fx.store->pin("pinned");
    fx.lib.link_chunk_kv(chunk_id, "m", "linked");
    const auto g = fx.store->gc(gc_options{std::chrono::seconds(0), true});
    EXPECT_EQ(g.unlinked_entries_removed, 1u);
    EXPECT_TRUE(fx.store->entry("linked"));
    EXPECT_TRUE(fx.store->entry("pinned"));
    EXPECT_FALSE(fx.store->entry("unlinked"));
    // Removing the document drops the link; the entry becomes unlinked and the next gc takes it.
    fx.lib.remove_document(doc);
    EXPECT_EQ(fx.store->gc(gc_options{std::chrono::seconds(0), true}).unlinked_entries_removed, 1u);
    EXPECT_FALSE(fx.store->entry("linked"));
}

TEST(kv_store, verify_finds_the_corrupted_entry) {
    std::random_device rd;
    const auto seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    fixture fx(seed);
    const int n = 6;
    for (int i = 0; i < n; ++i) fx.store->put(fx.blob("v" + std::to_string(i), 16), "m");
    const std::string victim = "v" + std::to_string(fx.rng() % n);
    flip_byte(fx.store->path_for_key(victim), 1 + fx.rng() % 64);
    const auto bad = fx.store->verify();
    ASSERT_EQ(bad.size(), 1u);
    EXPECT_EQ(bad[0].cache_key, victim);
    EXPECT_EQ(bad[0].file, fx.store->path_for_key(victim));
    EXPECT_FALSE(bad[0].problem.empty());
    EXPECT_TRUE(fx.store->entry(victim));  // report only
    EXPECT_EQ(fx.store->verify(true).size(), 1u);
    EXPECT_FALSE(fx.store->entry(victim));
    EXPECT_TRUE(fx.store->verify().empty());
    EXPECT_EQ(fx.store->stats().count, n - 1);
}

TEST(kv_store, same_key_is_stored_once) {
    std::random_device rd;
    const auto seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    fixture fx(seed);
    fx.store->put(fx.blob("same", 10), "m");
    const auto b2 = fx.blob("same", 12);
    fx.store->put(b2, "m");
    EXPECT_EQ(fx.store->stats().count, 1);
    EXPECT_EQ(fx.store->load("same")->payload, b2.payload);
    std::size_t files = 0;
    for (auto& e : fs::recursive_directory_iterator(fx.store->root())) files += e.is_regular_file();
    EXPECT_EQ(files, 1u);
}
