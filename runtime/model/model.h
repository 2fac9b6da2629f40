#pragma once
// A loaded model: the mapped GGUF file, its configuration and views of every weight tensor.
#include "core/tensor_type.h"
#include "model/model_config.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace epic {

class gguf_file;

// A 2-D weight in the mapped file: `rows` rows of `cols` elements of `type` (ggml: ne0 = cols, ne1 = rows).
struct weight_view {
    std::string name;
    ggml_type type = ggml_type::f32;
    int64_t rows = 0;
    int64_t cols = 0;
    size_t row_stride = 0;         // bytes per row
    const uint8_t* data = nullptr; // rows * row_stride bytes
};

struct layer_weights {
    std::vector<float> attn_norm; // [n_embd]
    weight_view wq;               // [q_width rows, n_embd cols]
    weight_view wk;               // [kv_width, n_embd]
    weight_view wv;               // [kv_width, n_embd]
    weight_view wo;               // [n_embd, q_width]
    std::vector<float> ffn_norm;  // [n_embd]
    weight_view w_gate;           // [n_ff, n_embd]
    weight_view w_up;             // [n_ff, n_embd]
    weight_view w_down;           // [n_embd, n_ff]
    // Phi-3 stores wq/wk/wv as one attn_qkv tensor and w_gate/w_up as one ffn_up tensor of 2 * n_ff
    // rows; the views above are then row ranges of those tensors.
    // Qwen2 (empty otherwise; optional for llama):
    std::vector<float> bq;             // [q_width]
    std::vector<float> bk;             // [kv_width]
    std::vector<float> bv;             // [kv_width]
    // Gemma 3 and Qwen3 (empty otherwise):
    std::vector<float> attn_q_norm;    // [head_dim]
    std::vector<float> attn_k_norm;    // [head_dim]
    // Gemma 3 only (empty otherwise):
    std::vector<float> attn_post_norm; // [n_embd]
    std::vector<float> ffn_post_norm;  // [n_embd]
};

class model {
public:
    // Maps and validates a GGUF model: every tensor the architecture needs must be present with the
    // right shape and a supported type. Throws epic::error naming the file and the problem.
    static std::unique_ptr<model> load(const std::string& path);
    ~model();

    const model_config& config() const { return config_; }
    const gguf_file& file() const { return *file_; }
    const std::string& path() const;
    // Identifies the model (all metadata, the tensor layout and every tensor byte), 16 hex digits.
    // Caches computed with one model are never used with another.
    const std::string& fingerprint() const { return fingerprint_; }

    const weight_view& token_embd() const { return token_embd_; } // [n_vocab, n_embd]
    const weight_view& output() const { return output_; }         // [n_vocab, n_embd] (token_embd when tied)
    const std::vector<float>& output_norm() const { return output_norm_; }
    const std::vector<layer_weights>& layers() const { return layers_; }
    // Bytes of all weight tensors as stored in the file.
    size_t weight_bytes() const { return weight_bytes_; }
    // Tensor type -> count, for `epic info`.
    std::vector<std::pair<ggml_type, int>> tensor_type_counts() const;

private:
    model() = default;
    std::unique_ptr<gguf_file> file_;
    model_config config_;
    std::string fingerprint_;
    weight_view token_embd_;
    weight_view output_;
    std::vector<float> output_norm_;
    std::vector<layer_weights> layers_;
    size_t weight_bytes_ = 0;
};

} // namespace epic
