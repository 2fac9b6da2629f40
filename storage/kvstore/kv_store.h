#pragma once
// The KV cache store: one EPKV blob file per cache key under a root folder, indexed by the
// kv_entries table of the library database. Content-keyed: the file name is a hash of the key, so a
// chunk compiled twice (same model, tokens and options -> same key) is stored once.
//
// A blob that fails any check on load is never returned: the problem is reported through
// options.on_problem, the file and its row are deleted, and load() answers nullopt so the caller
// recompiles. Nothing here throws for a bad blob; I/O and database failures still throw storage_error.
//
// Safety: blob files are found from the cache key alone (never from a path stored in the database),
// opened without following symbolic links or blocking, and read only after their size has been checked
// against the index and the header: nothing outside the store folder is read, written or removed.
#include "kvstore/blob_codec.h"
#include "kvstore/kv_blob.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace epic::storage {

class library;

struct kv_entry {
    std::string cache_key;
    std::string model_fingerprint;
    std::string compile_options;
    // Relative to the store root. Informational only: the store never opens or removes a path read
    // from the database (a crafted library.db could name any file); it derives the path from the key.
    std::string blob_path;
    std::uint64_t raw_bytes = 0;
    std::uint64_t compressed_bytes = 0;  // bytes of the blob file on disk (what the budget counts)
    std::string checksum;                // xxh64 of the raw payload, hex
    std::int64_t hits = 0;
    std::int64_t last_used = 0;  // options.clock units (ms since the epoch by default)
    bool pinned = false;
    std::int64_t created_at = 0;
};

struct kv_problem {
    std::string cache_key;
    std::filesystem::path file;
    std::string problem;  // the storage_error text, which names the file
    bool removed = false;  // the bad file is gone (false when asked to keep it or it could not be removed)
};

struct kv_stats {
    std::int64_t count = 0;
    std::int64_t pinned = 0;
    std::uint64_t raw_bytes = 0;
    std::uint64_t compressed_bytes = 0;
    double ratio = 0;  // raw / compressed; 0 when empty
};

struct eviction_result {
    std::vector<std::string> evicted;  // in eviction order (least recently used first)
    std::uint64_t freed_bytes = 0;
    std::uint64_t remaining_bytes = 0;
    bool within_budget = true;  // false when pinned entries alone exceed the budget
};

struct gc_result {
    std::size_t orphan_files_removed = 0;  // blob files with no kv_entries row
    std::size_t temp_files_removed = 0;    // leftovers of interrupted writes
    std::size_t rows_removed = 0;          // kv_entries rows whose file is missing
    std::size_t unlinked_entries_removed = 0;
    std::uint64_t bytes_freed = 0;
};

struct gc_options {
    // Files younger than this are left alone: another process may be between writing a blob and
    // inserting its row.
    std::chrono::seconds min_orphan_age{600};
    // Also drop unpinned entries no chunk links to (their documents were removed).
    bool drop_unlinked_entries = false;
};

struct kv_store_options {
    blob_encode_options encode;
    blob_decode_limits limits;
    std::function<std::int64_t()> clock;                 // defaults to milliseconds since the epoch
    std::function<void(const kv_problem&)> on_problem;   // corrupt / missing blobs found by load()
};

class kv_store {
public:
    // lib must outlive the store and have been opened read-write (it owns the kv_entries table).
    kv_store(library& lib, std::filesystem::path root, kv_store_options options = {});

    // Writes the blob file atomically, then inserts or replaces its kv_entries row (hits kept, last
    // used = now). Returns the row.
    kv_entry put(const kv_blob& blob, std::string_view model_fingerprint, std::string_view compile_options = {});
    // The verified blob, or nullopt when absent or bad (bad: reported, file and row deleted).
    // Counts a hit and updates last_used.
    std::optional<kv_blob> load(std::string_view cache_key);

    std::optional<kv_entry> entry(std::string_view cache_key);
    std::vector<kv_entry> entries();  // least recently used first
    bool pin(std::string_view cache_key, bool pinned = true);
    bool evict(std::string_view cache_key);
    // Evicts unpinned entries, least recently used first, until compressed bytes <= max_bytes.
    eviction_result enforce_budget(std::uint64_t max_compressed_bytes);
    gc_result gc(const gc_options& options = {});
    // Reads and fully checks every entry; returns the bad ones (and deletes them when remove_bad).
    std::vector<kv_problem> verify(bool remove_bad = false);
    kv_stats stats();

    const std::filesystem::path& root() const { return root_; }
    // Where a key's blob lives: root/ab/cd/<32 hex digits>.epkv (two 64-bit hashes of the key).
    std::filesystem::path path_for_key(std::string_view cache_key) const;
    // The same path, checked to stay inside the store: the fan-out folders must be real folders, not
    // symbolic links (which could lead reads and removals outside the library). Throws storage_error.
    std::filesystem::path checked_path_for_key(std::string_view cache_key) const;
    static std::string relative_path_for_key(std::string_view cache_key);

private:
    std::int64_t now() const;
    // Deletes the row and, when it lies safely inside the store, the file. True when the file is gone.
    bool drop(std::string_view cache_key);
    bool remove_blob_file(std::string_view cache_key);
    std::optional<std::string> check_file(const kv_entry& e, kv_blob* out);

    library& lib_;
    std::filesystem::path root_;
    kv_store_options options_;
};

} // namespace epic::storage
