#include "service/retriever.h"

#include "common/error.h"
#include "embed/embedder_files.h"
#include "embed/sentence_embedder.h"
#include "library/library.h"

#include <map>

namespace epic {

std::string_view retrieval_mode_name(retrieval_mode m) {
    switch (m) {
    case retrieval_mode::bm25: return "bm25";
    case retrieval_mode::dense: return "dense";
    case retrieval_mode::hybrid: return "hybrid";
    }
    return "bm25";
}

retrieval_mode parse_retrieval_mode(std::string_view name) {
    for (retrieval_mode m : {retrieval_mode::bm25, retrieval_mode::dense, retrieval_mode::hybrid})
        if (retrieval_mode_name(m) == name) return m;
    throw error("retrieval '" + std::string(name) + "' is not bm25, dense or hybrid");
}

retriever::retriever(storage::library& lib, retrieval_mode mode, const std::filesystem::path& embedder_dir, int threads)
    : lib_(lib), requested_(mode), threads_(threads), bm25_weight_(storage::hybrid_bm25_weight) {
    if (mode == retrieval_mode::bm25 || embedder_dir.empty()) return;
    if (embedder_present(embedder_dir)) dir_ = embedder_dir;
    else why_words_ = "retrieval " + std::string(retrieval_mode_name(mode)) + " needs the embedding model, not found at " +
                      embedder_dir.string() + " (installer/get-models.sh minilm); searching by words (BM25) only";
}

retriever::~retriever() = default;

sentence_embedder* retriever::embedder() {
    if (!embedder_ && !dir_.empty()) {
        try {
            embedder_ = sentence_embedder::open(dir_, threads_);
        } catch (const std::exception& e) {
            // A damaged model folder costs dense search, not the library: questions search by words.
            why_words_ = std::string(e.what()) + "; searching by words (BM25) only";
            dir_.clear();
        }
    }
    return embedder_.get();
}

bool retriever::has_embedder() { return embedder() != nullptr; }

retrieval_mode retriever::mode() { return has_embedder() ? requested_ : retrieval_mode::bm25; }

std::string retriever::embedder_fingerprint() { return has_embedder() ? embedder_->fingerprint() : std::string(); }

std::string retriever::chunk_text(std::string_view title, std::string_view text) {
    std::string s;
    if (!title.empty()) {
        s.append(title);
        s += '\n';
    }
    s.append(text);
    return s;
}

size_t retriever::embed_missing(const std::function<void(size_t, size_t)>& progress, const std::atomic<bool>* cancel,
                                std::int64_t document_id) {
    if (!has_embedder()) return 0;
    // Every search calls this: two counts answer the usual "nothing missing" without scanning every
    // chunk (a vector belongs to one chunk and goes with it, so equal counts mean none is missing).
    if (lib_.chunk_count() == lib_.vector_count(embedder_->fingerprint())) return 0;
    const std::vector<std::int64_t> ids = lib_.chunks_missing_vector(embedder_->fingerprint(), document_id);
    std::map<std::int64_t, std::string> titles; // document id -> title (or file name)
    size_t done = 0;
    // A few chunks at a time through the encoder (fuller matrix products); each vector stored as soon as
    // its batch is done, and a cancel honoured between any two of them.
    constexpr size_t batch_chunks = 16;
    for (size_t b = 0; b < ids.size(); b += batch_chunks) {
        if (cancel && cancel->load()) break;
        std::vector<std::int64_t> batch_ids;
        std::vector<std::string> texts;
        for (size_t i = b; i < std::min(ids.size(), b + batch_chunks); ++i) {
            const auto c = lib_.chunk(ids[i]);
            if (!c) continue; // removed meanwhile by another process
            auto t = titles.find(c->document_id);
            if (t == titles.end()) {
                const auto d = lib_.document(c->document_id);
                std::string title = d ? d->title : std::string();
                if (title.empty() && d) title = std::filesystem::path(d->path).filename().string();
                t = titles.emplace(c->document_id, std::move(title)).first;
            }
            batch_ids.push_back(ids[i]);
            texts.push_back(chunk_text(t->second, c->text));
        }
        const std::vector<std::string_view> views(texts.begin(), texts.end());
        const auto vectors = embedder_->embed_batch(views);
        for (size_t i = 0; i < batch_ids.size(); ++i) {
            if (i > 0 && cancel && cancel->load()) return done;
            lib_.put_chunk_vector(batch_ids[i], embedder_->fingerprint(), vectors[i]);
            ++done;
            if (progress) progress(done, ids.size());
        }
    }
    return done;
}

size_t retriever::chunks_missing() {
    return has_embedder() ? lib_.chunks_missing_vector(embedder_->fingerprint()).size() : 0;
}

std::vector<storage::search_hit> retriever::search(const std::string& question, int top_n, std::vector<std::string>* notes) {
    const retrieval_mode m = mode(); // loads the embedding model at the first search that needs it
    if (!why_words_.empty() && !told_why_words_) {
        told_why_words_ = true;
        if (notes) notes->push_back(why_words_);
    }
    if (m == retrieval_mode::bm25) return lib_.search(question, top_n);
    const std::string& fp = embedder_->fingerprint();
    const std::vector<float> q = embedder_->embed(question);
    for (int attempt = 0;; ++attempt) {
        if (const size_t n = embed_missing(); n > 0 && notes)
            notes->push_back("embedded " + std::to_string(n) + " chunk" + (n == 1 ? "" : "s") + " that had no vector for search");
        int damaged = 0;
        auto hits = m == retrieval_mode::dense ? lib_.dense_search(fp, q, top_n, &damaged)
                                                    : lib_.hybrid_search(question, fp, q, top_n, 50, &damaged, bm25_weight_);
        if (damaged > 0 && notes)
            notes->push_back(std::to_string(damaged) + " damaged chunk vector" + (damaged == 1 ? "" : "s") +
                             " removed from the library" + (attempt == 0 ? "; embedded again" : ""));
        // The damaged rows are gone: one more pass embeds them again and ranks every chunk.
        if (damaged == 0 || attempt == 1) return hits;
    }
}

} // namespace epic
