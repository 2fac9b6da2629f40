#pragma once
// Text -> sentence embedding with all-MiniLM-L6-v2 (or any BERT sentence-transformers folder of the
// same layout): WordPiece ids, the BERT encoder, mean pooling over the tokens, unit length. The vector
// of a text longer than the model's window (256 wordpieces) is the mean over all its tokens, each
// window of at most 254 wordpieces encoded as its own [CLS] ... [SEP] sequence: every part of a long
// chunk counts, in proportion to its length, instead of only its first 256 wordpieces.
#include "embed/bert_encoder.h"
#include "embed/wordpiece.h"

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace epic {

class backend;

class sentence_embedder {
public:
    // Loads the folder (embed/embedder_files.h) on its own CPU backend with `threads` threads (0: all
    // cores). Throws epic::error naming the file and the problem.
    static std::unique_ptr<sentence_embedder> open(const std::filesystem::path& dir, int threads = 0);
    ~sentence_embedder();

    // What keys the library's vectors (embedder_fingerprint of the folder).
    const std::string& fingerprint() const { return fingerprint_; }
    int dim() const;
    // [dim], unit length. An empty text (no wordpieces) embeds [CLS] [SEP] alone.
    std::vector<float> embed(std::string_view text);
    // The same for several texts, [texts][dim], their windows encoded together in batches of at most
    // max_rows rows (each window attends only to itself): what embed gives each, with fuller matrix
    // products for short texts.
    std::vector<std::vector<float>> embed_batch(std::span<const std::string_view> texts, size_t max_rows = 1024);

private:
    sentence_embedder() = default;
    std::unique_ptr<backend> be_;             // before enc_, which runs on it
    std::unique_ptr<wordpiece_tokenizer> tok_;
    std::unique_ptr<bert_encoder> enc_;
    std::string fingerprint_;
    // Wordpieces per encoded sequence, [CLS] and [SEP] included: sentence_bert_config.json's
    // max_seq_length for all-MiniLM-L6-v2 (trained on sequences this long), read when present.
    int window_ = 256;
};

} // namespace epic
