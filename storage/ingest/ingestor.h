#pragma once
// Adding files and folders to the library: find supported files, skip unchanged ones, extract, chunk
// and write each document's chunks in one transaction. Failures are recorded per document (status
// failed + error, no chunks) and never stop the batch.
#include "ingest/chunker.h"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace epic::storage {

class library;

// One document's extracted text above this is refused (failed, with its size and the limit): 20 MiB
// is about five million tokens, hours of compiling on a CPU, and more than any one answer can use.
inline constexpr std::size_t default_max_document_text_bytes = std::size_t(20) << 20;

struct ingest_options {
    chunker_options chunking;
    token_counter count_tokens;  // defaults to count_words
    std::size_t max_text_bytes = default_max_document_text_bytes;
};

struct ingest_progress {
    std::size_t documents_done = 0;
    std::size_t documents_total = 0;
    std::size_t chunks_written = 0;       // in this run
    std::uint64_t characters_done = 0;    // UTF-8 bytes of extracted text, this run
    double characters_per_second = 0;
    std::string current;                  // the file just finished
};

struct ingest_failure {
    std::string path;
    std::string error;
};

struct ingest_report {
    std::size_t added = 0;      // new documents now ready
    std::size_t updated = 0;    // changed documents re-chunked
    std::size_t unchanged = 0;  // same content as the ready version: nothing done
    std::size_t failed = 0;
    std::size_t skipped = 0;    // paths given explicitly that are not documents (missing, unsupported, ...)
    bool cancelled = false;
    std::vector<ingest_failure> failures;
    std::vector<ingest_failure> skips;  // why each skipped path was skipped
};

using ingest_progress_fn = std::function<void(const ingest_progress&)>;

// Folders are walked recursively (hidden entries and unknown extensions skipped; symlinks not
// followed into folders). Each file: content hash over its bytes; same hash and ready -> nothing;
// otherwise extract + chunk, then replace its chunks in one transaction. *cancel is checked between
// documents and between chunk inserts; a cancelled document keeps its previous state.
// Errors are per document; only a database failure (disk full, ...) throws storage_error.
ingest_report add_paths(library& lib, std::span<const std::filesystem::path> paths, const ingest_options& options = {},
                        const ingest_progress_fn& progress = {}, const std::atomic<bool>* cancel = nullptr);

// "xxh64:<16 hex>:<size>" of the bytes: what decides whether a file changed.
std::string content_hash(std::span<const std::byte> bytes);

} // namespace epic::storage
