#pragma once
// A BERT encoder (Hugging Face BertModel: absolute positions, post-LayerNorm blocks, exact GELU) for
// sentence embeddings such as all-MiniLM-L6-v2: token ids -> last hidden states -> mean pooling over
// every token -> L2 normalization, as sentence-transformers computes them for one unpadded sequence.
//
// The weights are read from <dir>/model.safetensors (F32) and run on the project's backend: matrices
// through prepare_weight (zero-copy from the mapped file on the CPU, f16 copies on CUDA), biases and
// norm weights uploaded to backend memory. Attention is bidirectional: the backend's attention op is
// called with every query at the last position, so each sees all keys (see hidden_states); its K/V
// are f16, which moves an all-MiniLM-L6-v2 embedding by about 2e-4 relative, cosine 1 - 3e-8
// (measured against float64 by tests/runtime/embed_bert_encoder_test).
#include "backend/backend.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace epic {

class safetensors_file;

struct bert_config {
    int n_vocab = 0;         // vocab_size: rows of the word embeddings
    int n_embd = 0;          // hidden_size
    int n_layer = 0;         // num_hidden_layers
    int n_head = 0;          // num_attention_heads (n_embd divisible by it)
    int n_ff = 0;            // intermediate_size
    int n_ctx = 0;           // max_position_embeddings: the longest input, [CLS] and [SEP] included.
                             // sentence-transformers cuts all-MiniLM-L6-v2's inputs at 256 tokens
                             // (max_seq_length, trained so); that cap is the caller's, not this limit
    int n_type = 0;          // type_vocab_size (every input is one segment: token type 0)
    float norm_eps = 1e-12f; // layer_norm_eps
    int head_dim() const { return n_embd / n_head; }
};

// Reads and validates a BertModel config.json: every size present, an integer, positive and within
// bounds that keep every buffer size far inside 32-bit element counts; hidden_size divisible by the
// heads; hidden_act "gelu" (exact erf GELU); position_embedding_type "absolute" and model_type "bert"
// where given. Throws epic::error naming the file and the key.
bert_config read_bert_config(const std::string& file);

// The sentence embedding of pooled rows: sum [n_embd] of `rows` hidden rows (float64) divided by
// rows, then by its L2 norm (at least 1e-12, as torch.nn.functional.normalize). Throws epic::error
// naming `what` when it is not finite (a NaN or an infinity in the weights reaches here; an index
// must not store it).
std::vector<float> unit_mean(std::span<const double> sum, size_t rows, const std::string& what);

class bert_encoder {
public:
    // Loads <dir>/config.json and <dir>/model.safetensors, and checks <dir>/1_Pooling/config.json
    // (sentence-transformers) asks for mean pooling when it is there. Every tensor must be present,
    // F32 and of the shape the config implies. Throws epic::error naming the file and the problem
    // (and the tensor). `be` must outlive the encoder.
    static std::unique_ptr<bert_encoder> open(const std::filesystem::path& dir, backend& be);
    ~bert_encoder();
    bert_encoder(const bert_encoder&) = delete;
    bert_encoder& operator=(const bert_encoder&) = delete;

    const bert_config& config() const { return config_; }
    const std::string& path() const { return dir_; } // the model folder, for messages

    // ids [n] (already [CLS] ... [SEP], 1 <= n <= n_ctx, each < n_vocab) -> hidden [n, n_embd]: the
    // last layer's output, f32 host memory. One call at a time per encoder (it reuses its buffers).
    // Throws epic::error for an empty or too long input or an id outside the vocabulary.
    std::vector<float> hidden_states(std::span<const int32_t> ids);
    // The same for several sequences at once, each as if alone (its own positions, attention over its
    // own rows only), their rows one after another: hidden [sum of lengths, n_embd]. Fuller matrix
    // products than one short sequence at a time (chunks embedded when added).
    std::vector<float> hidden_states_batch(std::span<const std::span<const int32_t>> seqs);
    // The sentence embedding [n_embd]: the mean of hidden_states over all n rows (sentence-transformers'
    // mean pooling of one unpadded sequence), divided by its L2 norm (at least 1e-12, as
    // torch.nn.functional.normalize). Throws epic::error should it not be finite.
    std::vector<float> embed(std::span<const int32_t> ids);

private:
    struct layer_device;
    bert_encoder(const std::filesystem::path& dir, backend& be);
    void reserve(int n);

    std::string dir_;
    backend& be_;
    bert_config config_;
    std::unique_ptr<safetensors_file> file_; // the CPU's weights point into its mapping: declared first, freed last

    device_weight word_embd_;                 // [n_vocab, n_embd]
    device_weight pos_embd_;                  // [n_ctx, n_embd]
    std::unique_ptr<device_buffer> type0_;    // [n_embd] token type 0's embedding row
    std::unique_ptr<device_buffer> embd_norm_w_, embd_norm_b_; // [n_embd]
    std::vector<layer_device> layers_;

    // Activations, sized for `capacity_` rows.
    int capacity_ = 0;
    std::unique_ptr<device_buffer> ids_d_;   // [capacity] int32 token ids
    std::unique_ptr<device_buffer> pos_d_;   // [capacity] int32 0, 1, 2, ...: the K/V rows
    std::unique_ptr<device_buffer> position_d_; // [capacity] int32 each row's position in its sequence
    std::unique_ptr<device_buffer> last_d_;  // [capacity] int32 each row's sequence's last position (bidirectional attention)
    std::unique_ptr<device_buffer> x_;       // [capacity, n_embd] the residual stream
    std::unique_ptr<device_buffer> q_, k_, v_; // [capacity, n_embd]
    std::unique_ptr<device_buffer> kh_, vh_;   // [capacity, n_embd] f16 keys/values for attention
    std::unique_ptr<device_buffer> att_;     // [capacity, n_embd]
    std::unique_ptr<device_buffer> tmp_;     // [capacity, n_embd] block outputs before the residual add
    std::unique_ptr<device_buffer> ff_;      // [capacity, n_ff]
};

} // namespace epic
