#pragma once
// The service facade: one library folder (SQLite index + KV blob store) and one model. The CLI and
// the GUI both drive the product through it. Its methods never throw: each returns a result
// (core/result.h) holding its value or a failure whose message names the file and the problem. Use
// one service object from one thread at a time;
// services on different threads may share one loaded model (service_params::loaded_model).
#include "backend/backend.h"
#include "core/result.h"
#include "generate/generator.h"
#include "kvstore/kv_store.h"
#include "pic/kv_format.h"
#include "pic/link_policy.h"
#include "pic/linker.h"
#include "service/retriever.h"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace epic {

namespace storage {
class library;
class kv_store;
struct document_record;
} // namespace storage

class model;
class shared_model;
class tokenizer;

// The format chunk caches are stored in unless a setting says otherwise. k8v4: 0.37 of f16's bytes
// at no measurable cost in answers (issue 15, 200 questions, paired against f16 caches under the
// default link policy: SmolLM2 +0.0 [-2.5, +2.5], Qwen2.5-Coder-0.5B +0.5 [+0.0, +1.5]); q4, a quarter
// of f16, costs SmolLM2 1.5 points. The GUI's "default" and a CLI without --kv-format follow it.
inline constexpr kv_format default_cache_format = kv_format::k8v4;

struct service_params {
    std::filesystem::path library_dir;     // holds library.db and kv/
    // Create the library when the folder holds none (adding documents). False (asking, listing,
    // managing caches): a folder without a library is an error, not a new empty library.
    bool create_library = true;
    std::string model_path;                // GGUF; empty: library and cache management only
    // A model another service already loaded (service::loaded_model()), used instead of loading
    // model_path again: one copy of the weights for services on different threads. backend is then unused.
    std::shared_ptr<shared_model> loaded_model;
    backend_params backend = backend_default_params();
    int chunk_tokens = 512;                // target chunk size when documents are added
    // The rows one ask may link (instructions, retrieved chunks, question, answer): 0 = the model's
    // trained context length. Larger runs the model past what it was trained on (answers degrade);
    // retrieved chunks that do not fit are left out, a question that does not fit is refused.
    int context_tokens = 0;
    uint64_t cache_budget_bytes = 0;       // compressed bytes of KV blobs on disk; 0 = no limit
    // Chunk caches kept resident in GPU memory (the hot tier) so that asking about the same chunks
    // again copies their K/V device to device: -1 = automatic (a quarter of the device memory free
    // once the model is loaded; off on the CPU backend, where it would only duplicate host memory),
    // 0 = off, else a budget in bytes.
    int64_t gpu_cache_budget_bytes = -1;
    int zstd_level = 3;
    // The app's instructions, the system message of every prompt. Empty: the model's own default
    // system prompt when its chat template has one (Qwen2.5, SmolLM2), else no system turn.
    std::string system_prompt = "Answer the question at the end using the documents. Be brief.";
    std::string chat_template = "auto";    // auto (from the model) or chatml, qwen, gemma, llama2, mistral, zephyr, llama3, phi3, plain
    // The link policy documents are compiled for when they are added (its compile scheme: sinks,
    // framing, context) and questions are linked with by default. Caches of another scheme are stale:
    // compile_missing and ask compile the current scheme's caches instead.
    link_policy policy = link_policy::app_default();
    // How chunk caches (and the system segment's) are stored: part of their compile options and so of
    // the cache key. Changing it makes the library's caches stale: they are recompiled lazily (the
    // next add's compile pass, compile_pending, or when a question retrieves them), and one link only
    // ever holds caches of this format.
    kv_format cache_format = default_cache_format;
    // False (compile on demand): add() only extracts, chunks and indexes; a chunk is compiled the first
    // time a question retrieves it (then stored and linked), and compile_pending() compiles the rest.
    // The disk budget then bounds the store by use rather than by the size of the library.
    bool compile_on_add = true;
    // How questions find their chunks (service/retriever.h). Dense and hybrid need the embedding
    // model's folder (embedder_dir, installer/get-models.sh minilm): chunks are embedded when added
    // (and any missing vector before a search), else questions search by words and say so.
    retrieval_mode retrieval = default_retrieval_mode;
    std::filesystem::path embedder_dir;
};

service_params service_default_params();

struct ask_options {
    link_policy policy = link_policy::app_default(); // use service_params::policy for caches compiled at add time
    int top_n = 8;                         // retrieved chunks
    generation_params generation = generation_default_params();
};

struct answer_source {
    int64_t document_id = 0;
    int64_t chunk_id = 0;
    std::string document_path;
    std::string document_title;
    int page_begin = 0;
    int page_end = 0;
    double score = 0.0;   // the retrieval's: BM25, cosine (dense) or fused rank score (hybrid)
    std::string text;     // the chunk text (the GUI shows it on demand)
    // Whether the answer drew on this chunk (answer_support.h); set when the answer is complete.
    bool used = false;
};

struct ask_timing {
    double retrieve_seconds = 0.0;
    double load_seconds = 0.0;       // reading and decompressing caches from disk
    double compile_seconds = 0.0;    // compiling caches that were missing or corrupt
    double link_seconds = 0.0;
    double first_token_seconds = 0.0; // from the start of ask to the first answer token
    double decode_tokens_per_second = 0.0;
    int chunks_loaded = 0;
    int chunks_compiled = 0;
    int chunks_resident = 0;         // cached segments (system prompt included) linked from the GPU hot tier
    int chunks_staged = 0;           // cached segments transferred from host memory
    int rows_total = 0;
    int rows_recomputed = 0;
    int rows_reused = 0;
};

struct ask_result {
    std::string answer;
    std::vector<answer_source> sources; // in retrieval order (best first)
    ask_timing timing;
    link_stats link;
    bool cancelled = false;
    // What the user should know although the answer came: corrupt caches recompiled, caches that could
    // not be stored, retrieved chunks left out to fit the model's context, an answer length cut.
    std::vector<std::string> warnings;
};

struct add_progress {
    std::string phase;               // "extracting", "embedding" (chunks_done of chunks_total) or "compiling"
    std::string current;             // file being worked on
    size_t documents_done = 0;
    size_t documents_total = 0;
    size_t chunks_done = 0;          // compiled in this run
    size_t chunks_total = 0;         // to compile in this run
    double tokens_per_second = 0.0;  // compile throughput
};

// What add did; a failure of the whole operation (database, model) is the result's failure instead.
struct add_report {
    size_t added = 0, updated = 0, unchanged = 0, failed = 0, skipped = 0;
    size_t chunks_compiled = 0;
    size_t chunks_embedded = 0;
    bool cancelled = false;
    std::vector<std::pair<std::string, std::string>> failures; // (path, problem): files that could not be added
    std::vector<std::pair<std::string, std::string>> skips;    // (path, why): paths given that are not documents
    std::vector<std::string> warnings; // corrupt caches recompiled, caches that could not be stored
};

struct compile_report {
    size_t chunks_compiled = 0;
    size_t chunks_left = 0;          // chunks still without a cache of the current scheme and format
    bool cancelled = false;
    // Stopped because the next cache would not fit the disk budget: filling the store in the
    // background never evicts caches that questions used; the rest are compiled when asked about.
    bool budget_full = false;
    std::vector<std::string> warnings; // corrupt caches recompiled, caches that could not be stored
};

// One chunk cache as listings show it: the store's entry and what the runtime recorded of it.
struct cache_entry_info {
    storage::kv_entry entry;
    std::string format;              // "f16", "q8", "k8v4", "q4" (kv_format_name); "?" when its compile options are not understood
    int64_t rows = 0;                // rows (tokens, sinks included) it holds; 0 = not recorded yet (written by an
                                     // older build; recorded when next loaded)
    uint64_t decoded_bytes = 0;      // its K and V as linked (f16); 0 = not recorded
    int64_t document_id = 0;         // a document it serves (0: none linked), and its title or path
    std::string document_name;
    // Bytes on disk per row; 0 when rows are not recorded.
    double bytes_per_token() const { return rows > 0 ? (double)entry.compressed_bytes / (double)rows : 0.0; }
    // Decoded (f16) bytes over bytes on disk: what format and zstd save together; 0 when not recorded.
    double ratio() const {
        return decoded_bytes > 0 && entry.compressed_bytes > 0 ? (double)decoded_bytes / (double)entry.compressed_bytes : 0.0;
    }
};

// The caches of one format together. Bytes per token and the ratio count only entries whose rows
// are recorded (entries_recorded of them).
struct cache_format_totals {
    std::string format;
    int64_t entries = 0;
    int64_t entries_recorded = 0;
    uint64_t compressed_bytes = 0;          // every entry of this format
    int64_t rows = 0;                       // of the recorded entries
    uint64_t recorded_compressed_bytes = 0; // of the recorded entries
    uint64_t decoded_bytes = 0;             // of the recorded entries
    double bytes_per_token() const { return rows > 0 ? (double)recorded_compressed_bytes / (double)rows : 0.0; }
    double ratio() const {
        return decoded_bytes > 0 && recorded_compressed_bytes > 0 ? (double)decoded_bytes / (double)recorded_compressed_bytes : 0.0;
    }
};

struct cache_summary {
    int64_t entries = 0;
    int64_t pinned = 0;
    uint64_t raw_bytes = 0;
    uint64_t compressed_bytes = 0;
    uint64_t budget_bytes = 0;
    std::vector<cache_format_totals> by_format; // one per format present, by name
};

class service {
public:
    // Opens (creating when needed) the library folder and loads the model.
    static result<std::unique_ptr<service>> open(const service_params& params);
    ~service();

    bool has_model() const;
    // The backend the model runs on ("cpu (8 threads)", "cuda (NVIDIA H100, 79.10 GiB)"): "auto"
    // picks silently, so callers show it. Empty without a model.
    std::string backend_name() const;
    std::string chat_template_name() const;
    const model* get_model() const;
    // The model this service runs on, for another service to share (params.loaded_model); null without one.
    std::shared_ptr<shared_model> loaded_model() const;
    std::string model_fingerprint() const;
    // The retrieval questions use: the mode asked for, or bm25 when it needs the embedding model and
    // there is none.
    retrieval_mode retrieval() const;

    result<add_report> add(const std::vector<std::filesystem::path>& paths, const std::function<void(const add_progress&)>& progress = {},
                           const std::atomic<bool>* cancel = nullptr);
    result<ask_result> ask(const std::string& question, const ask_options& options, const token_callback& on_token = {},
                           const std::atomic<bool>* cancel = nullptr);
    // Compiles the caches the library's chunks lack under the current scheme and format (documents
    // added with compile_on_add false, stale caches of another format or scheme, evicted ones), in
    // document order, each stored and linked at once: cancel (checked per chunk) leaves a consistent
    // library and the next call resumes. With a disk budget it stops before the store would exceed
    // it (budget_full). Progress as add's "compiling" phase.
    result<compile_report> compile_pending(const std::function<void(const add_progress&)>& progress = {},
                                           const std::atomic<bool>* cancel = nullptr);
    // How many chunks lack a cache of the current scheme and format (what compile_pending would compile).
    result<size_t> chunks_pending();

    // Library management.
    result<std::vector<storage::document_record>> documents();
    result<void> remove_document(int64_t id);
    // Drops the document's caches for this model and compiles them again.
    result<void> recompile_document(int64_t id);

    // Cache management.
    result<std::vector<storage::kv_entry>> cache_entries();
    // The same entries (least recently used first) with their format, rows and decoded size.
    result<std::vector<cache_entry_info>> cache_entry_infos();
    result<cache_summary> cache_stats();
    result<void> pin(const std::string& cache_key, bool pinned);
    result<void> evict(const std::string& cache_key);
    // Checks every blob; returns "file: problem" lines for the bad ones (which are removed).
    result<std::vector<std::string>> verify();
    // Removes orphan blob files and rows whose file is gone; returns a one-line summary.
    result<std::string> gc();
    // Evicts least recently used unpinned caches until within the budget; returns how many.
    result<size_t> enforce_budget();

private:
    struct impl;
    explicit service(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

} // namespace epic
