#include "ingest/ingestor.h"

#include "common/stopwatch.h"
#include "common/xxhash64.h"
#include "ingest/extract.h"
#include "kvstore/atomic_file.h"
#include "library/library.h"
#include "storage_error.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace epic::storage {
namespace fs = std::filesystem;
namespace {

bool is_hidden(const fs::path& p) {
    const std::string name = p.filename().string();
    return !name.empty() && name[0] == '.' && name != "." && name != "..";
}

// Why a path given explicitly is not a document, in the user's words.
std::string skip_reason(const fs::path& p, bool known_kind) {
    std::error_code ec;
    const auto st = fs::status(p, ec);
    if (!fs::exists(st)) return "no such file";
    if (!fs::is_regular_file(st)) return "not a regular file (a FIFO, device or socket)";
    if (is_hidden(p)) return "hidden file (name starts with '.')";
    if (!known_kind)
        return "unsupported file type '" + p.extension().string() + "' (supported: .txt .text .md .markdown .html .htm .xhtml .pdf)";
    return "cannot be added";
}

struct candidate {
    fs::path path;
    std::string kind;
};

// Expands folders; explicit files of unknown type or hidden ones are counted as skipped.
std::vector<candidate> collect(std::span<const fs::path> paths, ingest_report& report) {
    std::vector<candidate> out;
    for (const auto& given : paths) {
        std::error_code ec;
        const fs::path p = fs::absolute(given, ec).lexically_normal();
        if (fs::is_directory(p, ec)) {
            std::vector<candidate> found;
            fs::recursive_directory_iterator it(p, fs::directory_options::skip_permission_denied, ec), end;
            for (; !ec && it != end; it.increment(ec)) {
                if (is_hidden(it->path())) {
                    if (it->is_directory(ec)) it.disable_recursion_pending();
                    continue;
                }
                if (!it->is_regular_file(ec)) continue;
                if (auto kind = document_kind(it->path())) found.push_back({it->path(), *kind});
            }
            // Directory order is arbitrary; sorting makes runs (and progress) reproducible.
            std::sort(found.begin(), found.end(), [](const candidate& a, const candidate& b) { return a.path < b.path; });
            out.insert(out.end(), found.begin(), found.end());
        } else if (auto kind = document_kind(p); kind && fs::is_regular_file(p, ec) && !is_hidden(p)) {
            out.push_back({p, *kind});
        } else {
            ++report.skipped;
            report.skips.push_back({p.string(), skip_reason(p, kind.has_value())});
        }
    }
    return out;
}

std::string mib(std::size_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MiB", double(bytes) / double(1 << 20));
    return buf;
}

// Refused before chunking: chunking is linear, but compiling a document this size would take hours.
void require_size_limit(const fs::path& file, std::size_t text_bytes, std::size_t limit) {
    if (text_bytes <= limit) return;
    throw storage_error(file.string() + ": too large to add: " + std::to_string(text_bytes) + " bytes of text (" +
                        mib(text_bytes) + "), over the limit of " + mib(limit) +
                        " for one document (compiling it would take hours; split it into smaller files)");
}

std::int64_t mtime_seconds(const fs::path& p) {
    // stat() rather than fs::last_write_time: GCC 12 has no clock_cast to convert file_clock.
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return 0;
    return static_cast<std::int64_t>(st.st_mtime);
}

} // namespace

std::string content_hash(std::span<const std::byte> bytes) {
    return "xxh64:" + hex64(xxh64(bytes)) + ":" + std::to_string(bytes.size());
}

ingest_report add_paths(library& lib, std::span<const fs::path> paths, const ingest_options& options,
                        const ingest_progress_fn& progress, const std::atomic<bool>* cancel) {
    const auto cancelled = [&] { return cancel && cancel->load(std::memory_order_relaxed); };
    const token_counter count = options.count_tokens ? options.count_tokens : token_counter(count_words);
    ingest_report report;
    const auto files = collect(paths, report);

    ingest_progress prog;
    prog.documents_total = files.size();
    const auto started = std::chrono::steady_clock::now();
    const auto report_progress = [&](const fs::path& p) {
        ++prog.documents_done;
        prog.current = p.string();
        const double secs = seconds_since(started);
        prog.characters_per_second = secs > 0 ? double(prog.characters_done) / secs : 0;
        if (progress) progress(prog);
    };

    for (const auto& file : files) {
        if (cancelled()) {
            report.cancelled = true;
            break;
        }
        const std::string path = file.path.string();
        std::vector<std::byte> bytes;
        try {
            bytes = read_whole_file(file.path);
        } catch (const storage_error& e) {
            // Vanished or unreadable between listing and reading. A known document keeps what was
            // indexed (its file may be back, or readable again, at the next add); either way the user
            // is told which file and why.
            ++report.failed;
            report.failures.push_back({path, e.what()});
            report_progress(file.path);
            continue;
        }
        document_meta meta;
        meta.content_hash = content_hash(bytes);
        meta.mtime = mtime_seconds(file.path);
        meta.size = static_cast<std::int64_t>(bytes.size());
        meta.kind = file.kind;

        const auto existing = lib.document_by_path(path);
        if (existing && existing->content_hash == meta.content_hash &&
            (existing->status == doc_status::ready || existing->status == doc_status::compiling ||
             existing->status == doc_status::failed)) {
            // Same bytes: a ready document stays as it is (same chunk ids, caches still valid), and a
            // failed one would only fail again the same way.
            ++report.unchanged;
            report_progress(file.path);
            continue;
        }
        // A new document becomes visible as "extracting" with no chunks; a known one keeps its old
        // chunks and status until the replacement commits, so a crash never leaves it half-written.
        const std::int64_t id = existing ? existing->id : lib.ensure_document(path, file.kind);
        // Conditional: another process adding the same file may have committed it since we looked.
        if (!existing) lib.change_status(id, doc_status::queued, doc_status::extracting);

        try {
            extracted_text ex = extract_document(file.path, bytes, file.kind);
            require_size_limit(file.path, ex.text.size(), options.max_text_bytes);
            meta.title = ex.title;
            const auto spans = chunk_text(ex.text, ex.page_starts, count, options.chunking);
            std::vector<chunk_record> chunks;
            chunks.reserve(spans.size());
            for (const auto& s : spans) {
                chunk_record c;
                c.text = ex.text.substr(s.char_begin, s.char_end - s.char_begin);
                c.char_begin = static_cast<std::int64_t>(s.char_begin);
                c.char_end = static_cast<std::int64_t>(s.char_end);
                c.page_begin = s.page_begin;
                c.page_end = s.page_end;
                c.token_count = s.token_count;
                chunks.push_back(std::move(c));
            }
            bool committed = false, already_current = false;
            try {
                committed = lib.replace_chunks(id, meta, chunks, cancel, &already_current);
            } catch (const storage_error& e) {
                // The library could not take it (a full disk, say): not the document's fault, so its
                // content hash is not recorded and the next add retries it. A known document keeps
                // its previous version (the transaction rolled back); a new one is marked failed.
                try {
                    if (!existing) lib.set_status(id, doc_status::failed, e.what());
                } catch (const storage_error&) {
                    // Still full: it stays "extracting" without a hash, which the next add retries too.
                }
                ++report.failed;
                report.failures.push_back({path, std::string("could not be saved: ") + e.what()});
                report_progress(file.path);
                continue;
            }
            if (!committed) {
                if (!existing) lib.change_status(id, doc_status::extracting, doc_status::queued);
                report.cancelled = true;
                break;
            }
            // "updated" means a document that had been ingested before changed; one whose earlier
            // ingestion never finished (interrupted, killed) is added now. One another process
            // committed with these bytes while this one extracted is unchanged (counted once overall).
            const bool was_ingested = existing && !existing->content_hash.empty();
            ++(already_current ? report.unchanged : was_ingested ? report.updated : report.added);
            prog.chunks_written += chunks.size();
            prog.characters_done += ex.text.size();
        } catch (const storage_error& e) {
            // Extraction problems name the file already; a database error here is rethrown below
            // only if recording the failure fails too.
            meta.title = existing ? existing->title : file.path.stem().string();
            lib.mark_failed(id, meta, e.what());
            ++report.failed;
            report.failures.push_back({path, e.what()});
        } catch (const std::exception& e) {
            const std::string msg = path + ": " + e.what();
            lib.mark_failed(id, meta, msg);
            ++report.failed;
            report.failures.push_back({path, msg});
        }
        report_progress(file.path);
    }
    return report;
}

} // namespace epic::storage
