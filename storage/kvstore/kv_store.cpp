#include "kvstore/kv_store.h"

#include "common/xxhash64.h"
#include "kvstore/atomic_file.h"
#include "library/library.h"
#include "sqlite/statement.h"
#include "sqlite/transaction.h"
#include "storage_error.h"

#include <sys/stat.h>

#include <new>
#include <set>

namespace epic::storage {
namespace {

constexpr std::string_view entry_columns =
    "cache_key, model_fingerprint, compile_options, blob_path, raw_bytes, compressed_bytes, checksum, hits, "
    "last_used, pinned, created_at";

kv_entry read_entry(const sqlite::statement& st) {
    kv_entry e;
    e.cache_key = st.column_text(0);
    e.model_fingerprint = st.column_text(1);
    e.compile_options = st.column_text(2);
    e.blob_path = st.column_text(3);
    e.raw_bytes = static_cast<std::uint64_t>(st.column_int64(4));
    e.compressed_bytes = static_cast<std::uint64_t>(st.column_int64(5));
    e.checksum = st.column_text(6);
    e.hits = st.column_int64(7);
    e.last_used = st.column_int64(8);
    e.pinned = st.column_int64(9) != 0;
    e.created_at = st.column_int64(10);
    return e;
}

constexpr std::string_view blob_extension = ".epkv";

} // namespace

kv_store::kv_store(library& lib, std::filesystem::path root, kv_store_options options)
    : lib_(lib), root_(std::move(root)), options_(std::move(options)) {
    std::error_code ec;
    std::filesystem::create_directories(root_, ec);
    if (ec) throw storage_error(root_.string() + ": cannot create the KV store folder: " + ec.message());
}

std::int64_t kv_store::now() const {
    if (options_.clock) return options_.clock();
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string kv_store::relative_path_for_key(std::string_view cache_key) {
    // 128 bits of name: a collision between two live keys is not a practical concern, and the key is
    // stored in the header and checked on load anyway.
    const std::string h = hex64(xxh64(cache_key, 0)) + hex64(xxh64(cache_key, 0x45504b56));
    return h.substr(0, 2) + "/" + h.substr(2, 2) + "/" + h + std::string(blob_extension);
}

std::filesystem::path kv_store::path_for_key(std::string_view cache_key) const {
    return root_ / relative_path_for_key(cache_key);
}

std::filesystem::path kv_store::checked_path_for_key(std::string_view cache_key) const {
    const std::filesystem::path file = path_for_key(cache_key);
    // The root is the user's choice (it may itself be a link to another disk); below it, only real
    // folders. A missing folder is fine: nothing to read or remove, and writing creates a real one.
    for (const auto& dir : {file.parent_path().parent_path(), file.parent_path()}) {
        struct stat st {};
        if (::lstat(dir.c_str(), &st) != 0) break;
        if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode))
            throw storage_error(dir.string() + ": is not a folder of the KV store (a link or a file); refusing to use it");
    }
    return file;
}

kv_entry kv_store::put(const kv_blob& blob, std::string_view model_fingerprint, std::string_view compile_options) {
    const encoded_blob enc = encode_blob(blob, options_.encode);
    const std::string rel = relative_path_for_key(blob.key);
    // File first, row second: a crash in between leaves an orphan file for gc, never a row without a file.
    write_file_atomically(checked_path_for_key(blob.key), enc.bytes);
    const std::int64_t t = now();
    auto st = lib_.db().prepare(
        "INSERT INTO kv_entries (cache_key, model_fingerprint, compile_options, blob_path, raw_bytes, compressed_bytes, "
        "checksum, hits, last_used, pinned, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, 0, ?8) "
        "ON CONFLICT(cache_key) DO UPDATE SET model_fingerprint = excluded.model_fingerprint, "
        "compile_options = excluded.compile_options, blob_path = excluded.blob_path, raw_bytes = excluded.raw_bytes, "
        "compressed_bytes = excluded.compressed_bytes, checksum = excluded.checksum, last_used = excluded.last_used");
    st.bind_text(1, blob.key).bind_text(2, model_fingerprint).bind_text(3, compile_options).bind_text(4, rel);
    st.bind_int64(5, static_cast<std::int64_t>(enc.raw_bytes)).bind_int64(6, static_cast<std::int64_t>(enc.bytes.size()));
    st.bind_text(7, hex64(enc.payload_checksum)).bind_int64(8, t);
    st.run();
    return *entry(blob.key);
}

std::optional<kv_entry> kv_store::entry(std::string_view cache_key) {
    auto st = lib_.db().prepare("SELECT " + std::string(entry_columns) + " FROM kv_entries WHERE cache_key = ?1");
    st.bind_text(1, cache_key);
    if (!st.step()) return std::nullopt;
    return read_entry(st);
}

std::vector<kv_entry> kv_store::entries() {
    auto st = lib_.db().prepare("SELECT " + std::string(entry_columns) + " FROM kv_entries ORDER BY last_used, rowid");
    std::vector<kv_entry> out;
    while (st.step()) out.push_back(read_entry(st));
    return out;
}

std::optional<std::string> kv_store::check_file(const kv_entry& e, kv_blob* out) {
    std::string name = path_for_key(e.cache_key).string();
    try {
        const regular_file f(checked_path_for_key(e.cache_key), /*no_follow=*/true);
        // Sizes before bytes: the file must be as long as the index recorded and its header announces,
        // so a sparse 64 GiB file (or a lying header) is refused before anything is allocated.
        if (f.size() != e.compressed_bytes)
            return name + ": is " + std::to_string(f.size()) + " bytes, its index entry says " +
                   std::to_string(e.compressed_bytes);
        std::vector<std::byte> head(static_cast<std::size_t>(std::min<std::uint64_t>(f.size(), blob_fixed_header_bytes + 8)));
        f.read_at(0, head.data(), head.size());
        const std::uint64_t header_bytes = blob_header_size(head, name, options_.limits);
        if (header_bytes > f.size())
            return name + ": truncated: header needs " + std::to_string(header_bytes) + " bytes, file has " +
                   std::to_string(f.size());
        head.resize(static_cast<std::size_t>(header_bytes));
        f.read_at(0, head.data(), head.size());
        const blob_header h = decode_blob_header(head, name, options_.limits);
        if (header_bytes + h.compressed_bytes != f.size())
            return name + ": is " + std::to_string(f.size()) + " bytes, its header says " +
                   std::to_string(header_bytes + h.compressed_bytes);
        const auto bytes = f.read_all(f.size());
        kv_blob blob = decode_blob(bytes, name, options_.limits);
        if (blob.key != e.cache_key) return name + ": holds key \"" + blob.key + "\", index expects \"" + e.cache_key + "\"";
        if (hex64(xxh64(blob.payload)) != e.checksum) return name + ": payload does not match its index entry checksum";
        if (out) *out = std::move(blob);
        return std::nullopt;
    } catch (const storage_error& err) {
        return std::string(err.what());
    } catch (const std::bad_alloc&) {
        // Whatever the checks above missed: a blob we cannot hold is a blob to recompile, not a failed ask.
        return name + ": too large to load (out of memory)";
    }
}

bool kv_store::remove_blob_file(std::string_view cache_key) {
    std::filesystem::path file;
    try {
        file = checked_path_for_key(cache_key);
    } catch (const storage_error&) {
        return false;  // never remove through a link
    }
    std::error_code ec;
    std::filesystem::remove(file, ec);  // removes a link itself, never its target
    // Gone, or never there; false when it remains (a read-only folder, say).
    return std::filesystem::symlink_status(file, ec).type() == std::filesystem::file_type::not_found;
}

bool kv_store::drop(std::string_view cache_key) {
    auto st = lib_.db().prepare("DELETE FROM kv_entries WHERE cache_key = ?1");
    st.bind_text(1, cache_key);
    st.run();
    return remove_blob_file(cache_key);  // a leftover is an orphan gc will take
}

std::optional<kv_blob> kv_store::load(std::string_view cache_key) {
    auto e = entry(cache_key);
    if (!e) return std::nullopt;
    kv_blob blob;
    if (auto problem = check_file(*e, &blob)) {
        kv_problem pr{e->cache_key, path_for_key(e->cache_key), *problem};
        pr.removed = drop(e->cache_key);
        if (options_.on_problem) options_.on_problem(pr);
        return std::nullopt;
    }
    auto st = lib_.db().prepare("UPDATE kv_entries SET hits = hits + 1, last_used = ?1 WHERE cache_key = ?2");
    st.bind_int64(1, now()).bind_text(2, cache_key);
    st.run();
    return blob;
}

bool kv_store::pin(std::string_view cache_key, bool pinned) {
    auto st = lib_.db().prepare("UPDATE kv_entries SET pinned = ?1 WHERE cache_key = ?2");
    st.bind_int64(1, pinned ? 1 : 0).bind_text(2, cache_key);
    st.run();
    return lib_.db().changes() > 0;
}

bool kv_store::evict(std::string_view cache_key) {
    auto e = entry(cache_key);
    if (!e) return false;
    drop(cache_key);
    return true;
}

eviction_result kv_store::enforce_budget(std::uint64_t max_compressed_bytes) {
    eviction_result r;
    {
        sqlite::transaction tx(lib_.db());
        auto total_st = lib_.db().prepare("SELECT coalesce(sum(compressed_bytes), 0) FROM kv_entries");
        total_st.step();
        std::uint64_t total = static_cast<std::uint64_t>(total_st.column_int64(0));
        total_st.reset();
        if (total > max_compressed_bytes) {
            auto pick = lib_.db().prepare(
                "SELECT cache_key, compressed_bytes FROM kv_entries WHERE pinned = 0 ORDER BY last_used, rowid");
            auto del = lib_.db().prepare("DELETE FROM kv_entries WHERE cache_key = ?1");
            std::vector<std::string> victims;
            while (total > max_compressed_bytes && pick.step()) {
                const auto bytes = static_cast<std::uint64_t>(pick.column_int64(1));
                victims.push_back(pick.column_text(0));
                total -= bytes;
                r.freed_bytes += bytes;
            }
            pick.reset();
            for (auto& key : victims) {
                del.reset();
                del.bind_text(1, key);
                del.run();
                r.evicted.push_back(key);
            }
        }
        r.remaining_bytes = total;
        r.within_budget = total <= max_compressed_bytes;
        tx.commit();
    }
    // Files go after the commit: a crash here leaves orphans (gc), never rows without files.
    for (const auto& key : r.evicted) remove_blob_file(key);
    return r;
}

gc_result kv_store::gc(const gc_options& options) {
    gc_result r;
    if (options.drop_unlinked_entries) {
        auto st = lib_.db().prepare(
            "SELECT cache_key FROM kv_entries e WHERE pinned = 0 AND NOT EXISTS "
            "(SELECT 1 FROM chunk_kv k WHERE k.cache_key = e.cache_key)");
        std::vector<std::string> keys;
        while (st.step()) keys.push_back(st.column_text(0));
        for (const auto& k : keys) r.unlinked_entries_removed += evict(k) ? 1 : 0;
    }

    std::set<std::string> known;
    std::vector<std::string> missing;
    {
        auto st = lib_.db().prepare("SELECT cache_key FROM kv_entries");
        while (st.step()) {
            const std::string key = st.column_text(0);
            const std::string rel = relative_path_for_key(key);
            std::error_code ec;
            if (std::filesystem::exists(root_ / rel, ec)) known.insert(rel);
            else missing.push_back(key);
        }
    }
    for (const auto& key : missing) {
        auto st = lib_.db().prepare("DELETE FROM kv_entries WHERE cache_key = ?1");
        st.bind_text(1, key);
        st.run();
        ++r.rows_removed;
    }

    const auto cutoff = std::filesystem::file_time_type::clock::now() - options.min_orphan_age;
    std::error_code ec;
    std::vector<std::filesystem::path> doomed;
    for (auto it = std::filesystem::recursive_directory_iterator(root_, std::filesystem::directory_options::skip_permission_denied, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_regular_file(ec)) continue;
        const auto& p = it->path();
        const std::string name = p.filename().string();
        const bool is_temp = name.find(temp_file_marker) != std::string::npos;
        const bool is_blob = !is_temp && p.extension() == blob_extension;
        if (!is_temp && !is_blob) continue;  // not ours: leave it
        if (is_blob && known.count(p.lexically_relative(root_).generic_string())) continue;
        if (it->last_write_time(ec) > cutoff) continue;
        doomed.push_back(p);
        r.bytes_freed += it->file_size(ec);
        ++(is_temp ? r.temp_files_removed : r.orphan_files_removed);
    }
    for (const auto& p : doomed) std::filesystem::remove(p, ec);
    return r;
}

std::vector<kv_problem> kv_store::verify(bool remove_bad) {
    std::vector<kv_problem> bad;
    for (const auto& e : entries()) {
        if (auto problem = check_file(e, nullptr)) {
            kv_problem pr{e.cache_key, path_for_key(e.cache_key), *problem};
            if (remove_bad) pr.removed = drop(e.cache_key);
            bad.push_back(std::move(pr));
        }
    }
    return bad;
}

kv_stats kv_store::stats() {
    auto st = lib_.db().prepare(
        "SELECT count(*), coalesce(sum(pinned != 0), 0), coalesce(sum(raw_bytes), 0), coalesce(sum(compressed_bytes), 0) "
        "FROM kv_entries");
    st.step();
    kv_stats s;
    s.count = st.column_int64(0);
    s.pinned = st.column_int64(1);
    s.raw_bytes = static_cast<std::uint64_t>(st.column_int64(2));
    s.compressed_bytes = static_cast<std::uint64_t>(st.column_int64(3));
    s.ratio = s.compressed_bytes ? double(s.raw_bytes) / double(s.compressed_bytes) : 0.0;
    return s;
}

} // namespace epic::storage
