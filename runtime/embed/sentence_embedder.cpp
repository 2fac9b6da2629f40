#include "embed/sentence_embedder.h"

#include "backend/backend.h"
#include "core/error.h"
#include "core/json.h"
#include "embed/embedder_files.h"

#include <algorithm>
#include <cmath>

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
        const json j = json::parse_file(sbert.string());
        if (j.obj.count("max_seq_length")) {
            const double n = j["max_seq_length"].num;
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
    const std::vector<int32_t> ids = tok_->encode(text);
    const int d = dim();
    const size_t per_window = (size_t)window_ - 2;
    std::vector<double> sum((size_t)d, 0.0); // [d] over every row of every window
    size_t rows = 0;
    size_t begin = 0;
    do {
        const size_t end = std::min(ids.size(), begin + per_window);
        std::vector<int32_t> seq; // [CLS] ids[begin, end) [SEP]
        seq.reserve(end - begin + 2);
        seq.push_back(tok_->cls_id());
        seq.insert(seq.end(), ids.begin() + (std::ptrdiff_t)begin, ids.begin() + (std::ptrdiff_t)end);
        seq.push_back(tok_->sep_id());
        const std::vector<float> h = enc_->hidden_states(seq); // [seq, d]
        for (size_t r = 0; r < seq.size(); ++r)
            for (int c = 0; c < d; ++c) sum[(size_t)c] += h[r * (size_t)d + (size_t)c];
        rows += seq.size();
        begin = end;
    } while (begin < ids.size());
    // Mean pooling, then unit length (the norm floored at 1e-12, as torch.nn.functional.normalize).
    double norm = 0.0;
    for (double& x : sum) {
        x /= (double)rows;
        norm += x * x;
    }
    norm = std::max(std::sqrt(norm), 1e-12);
    std::vector<float> out((size_t)d);
    for (int c = 0; c < d; ++c) out[(size_t)c] = (float)(sum[(size_t)c] / norm);
    for (float x : out)
        if (!std::isfinite(x)) throw error(enc_->path() + ": the embedding of a text is not finite");
    return out;
}

} // namespace epic
