#include "embed/sentence_embedder.h"

#include "backend/backend.h"
#include "common/error.h"
#include "core/json.h"
#include "embed/embedder_files.h"

#include <algorithm>

namespace epic {

sentence_embedder::~sentence_embedder() = default;

std::unique_ptr<sentence_embedder> sentence_embedder::open(const std::filesystem::path& dir, int threads) {
    std::unique_ptr<sentence_embedder> e(new sentence_embedder());
    e->fingerprint_ = embedder_fingerprint(dir);
    backend_params bp;
    bp.device = "cpu"; // a few ms a chunk on the CPU; the GPU stays the chat model's
    bp.n_threads = threads;
    e->be_ = create_backend(bp);
    e->tok_ = std::make_unique<wordpiece_tokenizer>(wordpiece_tokenizer::from_file(dir / "tokenizer.json"));
    e->enc_ = bert_encoder::open(dir, *e->be_);
    const auto sbert = dir / "sentence_bert_config.json";
    if (std::filesystem::exists(sbert)) {
        const json j = parse_json_file(sbert.string());
        if (j.contains("max_seq_length")) {
            const json& v = j["max_seq_length"];
            const double n = v.is_number() ? v.get<double>() : 0.0; // another kind is out of range too
            if (!(n >= 3 && n <= e->enc_->config().n_ctx))
                throw error(sbert.string() + ": max_seq_length " + std::to_string(n) + " is outside 3.." +
                            std::to_string(e->enc_->config().n_ctx));
            e->window_ = (int)n;
        }
    }
    e->window_ = std::min(e->window_, e->enc_->config().n_ctx);
    if (e->tok_->vocab_size() > (size_t)e->enc_->config().n_vocab)
        throw error((dir / "tokenizer.json").string() + ": " + std::to_string(e->tok_->vocab_size()) +
                    " tokens, more than the model's " + std::to_string(e->enc_->config().n_vocab) + " embeddings");
    return e;
}

int sentence_embedder::dim() const { return enc_->config().n_embd; }

std::vector<float> sentence_embedder::embed(std::string_view text) {
    const std::string_view one[] = {text};
    return std::move(embed_batch(one)[0]);
}

std::vector<std::vector<float>> sentence_embedder::embed_batch(std::span<const std::string_view> texts, size_t max_rows) {
    const int d = dim();
    const size_t per_window = (size_t)window_ - 2;
    // Every text's windows ([CLS] up to per_window ids [SEP]), and which text each belongs to.
    std::vector<std::vector<int32_t>> windows;
    std::vector<size_t> owner;
    for (size_t t = 0; t < texts.size(); ++t) {
        const std::vector<int32_t> ids = tok_->encode(texts[t]);
        size_t begin = 0;
        do {
            const size_t end = std::min(ids.size(), begin + per_window);
            std::vector<int32_t> seq;
            seq.reserve(end - begin + 2);
            seq.push_back(tok_->cls_id());
            seq.insert(seq.end(), ids.begin() + (std::ptrdiff_t)begin, ids.begin() + (std::ptrdiff_t)end);
            seq.push_back(tok_->sep_id());
            windows.push_back(std::move(seq));
            owner.push_back(t);
            begin = end;
        } while (begin < ids.size());
    }
    std::vector<std::vector<double>> sum(texts.size(), std::vector<double>((size_t)d, 0.0)); // [texts][d] over every row
    std::vector<size_t> rows(texts.size(), 0);
    // Windows go through the encoder in batches of at most max_rows rows (one window may exceed it alone).
    for (size_t w = 0; w < windows.size();) {
        std::vector<std::span<const int32_t>> batch;
        size_t batch_rows = 0;
        const size_t first = w;
        while (w < windows.size() && (batch.empty() || batch_rows + windows[w].size() <= max_rows)) {
            batch.emplace_back(windows[w]);
            batch_rows += windows[w].size();
            ++w;
        }
        const std::vector<float> h = enc_->hidden_states_batch(batch); // [batch_rows, d]
        size_t row = 0;
        for (size_t b = 0; b < batch.size(); ++b) {
            std::vector<double>& acc = sum[owner[first + b]];
            for (size_t r = 0; r < batch[b].size(); ++r, ++row)
                for (int c = 0; c < d; ++c) acc[(size_t)c] += h[row * (size_t)d + (size_t)c];
            rows[owner[first + b]] += batch[b].size();
        }
    }
    // Mean pooling over every row of a text's windows, then unit length.
    std::vector<std::vector<float>> out;
    out.reserve(texts.size());
    for (size_t t = 0; t < texts.size(); ++t) out.push_back(unit_mean(sum[t], rows[t], enc_->path()));
    return out;
}

} // namespace epic
