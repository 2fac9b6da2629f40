#pragma once
// Plain rows of the library database, as the runtime, CLI and GUI see them.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace epic::storage {

enum class doc_status { queued, extracting, compiling, ready, failed };

std::string_view to_string(doc_status status);
// Unknown text maps to failed, so a row written by a newer build is never mistaken for ready.
doc_status parse_doc_status(std::string_view text);

struct document_record {
    std::int64_t id = 0;
    std::string path;          // absolute, as added
    std::string content_hash;  // empty until the document was extracted once
    std::int64_t mtime = 0;    // seconds since the epoch
    std::int64_t size = 0;     // bytes on disk
    std::string title;
    std::string kind;          // "txt", "md", "html", "pdf"
    doc_status status = doc_status::queued;
    std::string error;         // why it failed; empty otherwise
    std::int64_t added_at = 0;
    std::int64_t chunk_count = 0;
};

// What a successful extraction knows about the file, written together with its chunks.
struct document_meta {
    std::string content_hash;
    std::int64_t mtime = 0;
    std::int64_t size = 0;
    std::string title;
    std::string kind;
};

struct chunk_record {
    std::int64_t id = 0;           // assigned by the database
    std::int64_t document_id = 0;
    int ordinal = 0;               // 0-based position in the document
    std::string text;
    std::int64_t char_begin = 0;   // UTF-8 byte offsets into the extracted document text
    std::int64_t char_end = 0;
    int page_begin = 0;            // 1-based; 0 when the format has no pages
    int page_end = 0;
    int token_count = 0;
};

// What the runtime recorded of a KV entry's contents (kv_entries.n_rows, decoded_bytes): storage
// attaches no meaning to them beyond listing them.
struct kv_entry_shape {
    std::string cache_key;
    std::int64_t rows = 0;           // rows (tokens) the cache holds; 0 = not recorded
    std::int64_t decoded_bytes = 0;  // bytes of its tensors once decoded; 0 = not recorded
};

// A document a KV entry serves (through a chunk's link), for listings.
struct kv_entry_owner {
    std::string cache_key;
    std::int64_t document_id = 0;
    std::string document_name; // its title, else its path
};

struct search_hit {
    std::int64_t chunk_id = 0;
    std::int64_t document_id = 0;
    std::string document_path;
    std::string document_title;
    std::string text;
    int page_begin = 0;
    int page_end = 0;
    double score = 0;  // higher is better: BM25 (SQLite's bm25() negated), cosine (dense) or fused (hybrid)
};

} // namespace epic::storage
