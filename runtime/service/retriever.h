#pragma once
// What a question retrieves from the library: BM25 (SQLite FTS5), dense (the embedding model's
// vectors, exact inner product) or both fused by reciprocal rank (hybrid). The embedding model is
// optional: without its folder, every mode answers with BM25 and says so once.
#include "library/records.h"

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace epic {

namespace storage {
class library;
}
class sentence_embedder;

enum class retrieval_mode { bm25, dense, hybrid };
// "bm25", "dense", "hybrid", and back (throws epic::error naming the accepted names).
std::string_view retrieval_mode_name(retrieval_mode m);
retrieval_mode parse_retrieval_mode(std::string_view name);
// The app's default: hybrid (epic bench retrieval: recall@8 of BM25, dense and hybrid, README "Retrieval").
inline constexpr retrieval_mode default_retrieval_mode = retrieval_mode::hybrid;

class retriever {
public:
    // embedder_dir: the embedding model's folder (embed/embedder_files.h); empty: BM25 only; given but
    // absent, or there but not loadable: BM25 only, and the first search says why. The model is loaded
    // when first needed (a service that only lists or manages caches never reads it).
    retriever(storage::library& lib, retrieval_mode mode, const std::filesystem::path& embedder_dir, int threads = 0);
    ~retriever();

    // The mode asked for, and the mode searches use (bm25 without a usable embedding model).
    retrieval_mode requested_mode() const { return requested_; }
    retrieval_mode mode();
    bool has_embedder();
    // The embedding model's fingerprint (what keys the vectors); empty without one.
    std::string embedder_fingerprint();

    // Embeds the chunks that have no vector under this embedding model (all documents, or one), in
    // document order, each stored at once: a cancelled or killed run resumes where it stopped.
    // progress(done, total) after each chunk. Returns how many were embedded; 0 without a model.
    size_t embed_missing(const std::function<void(size_t, size_t)>& progress = {},
                         const std::atomic<bool>* cancel = nullptr, std::int64_t document_id = 0);
    // Chunks still without a vector (0 without a model).
    size_t chunks_missing();

    // The top_n chunks for the question, best first. Dense and hybrid first embed what is missing
    // (a new library, another embedding model, a damaged vector), so no chunk is left out of the
    // ranking; what they did is appended to *notes for the user.
    std::vector<storage::search_hit> search(const std::string& question, int top_n, std::vector<std::string>* notes = nullptr);

    // BM25's weight in hybrid's fusion (storage::hybrid_bm25_weight unless set: for benchmarks).
    void set_bm25_weight(double w) { bm25_weight_ = w; }

    // The text a chunk is embedded from: its document's title line, then its text (the title names
    // what a brief or a sheet is about, which a chunk's text often never repeats).
    static std::string chunk_text(std::string_view title, std::string_view text);

private:
    // The embedding model, loaded at the first use; null without one.
    sentence_embedder* embedder();

    storage::library& lib_;
    retrieval_mode requested_;
    int threads_;
    std::filesystem::path dir_;          // the model folder, until loaded (cleared when it cannot be)
    std::unique_ptr<sentence_embedder> embedder_;
    std::string why_words_;              // why searches use words only; said once
    bool told_why_words_ = false;
    double bm25_weight_;
};

} // namespace epic
