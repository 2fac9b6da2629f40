#pragma once
// An independent float64 forward pass for tests (llama, gemma3, qwen2, qwen3, phi3): reads the GGUF itself,
// dequantizes every weight to double, and computes full causal prefill logits with the plainest
// possible loops.
#include <cstdint>
#include <string>
#include <vector>

namespace epic::test {

class reference_llama {
public:
    explicit reference_llama(const std::string& gguf_path);
    // Logits [n_tokens][n_vocab] of a plain prefill of `tokens` at positions 0..n-1.
    std::vector<std::vector<double>> forward(const std::vector<int32_t>& tokens) const;
    int n_vocab() const { return n_vocab_; }

private:
    using matrix = std::vector<double>; // row-major [rows, cols]
    struct layer {
        std::vector<double> attn_norm, ffn_norm;
        std::vector<double> q_norm, k_norm;               // gemma3, qwen3
        std::vector<double> post_attn_norm, post_ffn_norm; // gemma3
        std::vector<double> bq, bk, bv;                   // qwen2 (empty: no bias)
        matrix wq, wk, wv, wo, w_gate, w_up, w_down;
    };
    bool gemma_ = false, phi3_ = false;
    bool neox_ = false;             // rotate-half pairs (i, i + hd/2)
    double rope_attn_factor_ = 1.0; // phi3 LongRoPE: cos and sin multiplied by it
    int window_ = 0;
    int n_vocab_ = 0, n_embd_ = 0, n_head_ = 0, n_head_kv_ = 0, head_dim_ = 0, n_ff_ = 0;
    double eps_ = 1e-5, rope_base_ = 10000.0;
    std::vector<double> rope_factors_;
    matrix embd_, output_;
    std::vector<double> output_norm_;
    std::vector<layer> layers_;
};

// Relative error ||a - b|| / ||b|| of two equal-length vectors.
double relative_error(const float* a, const double* b, size_t n);

} // namespace epic::test
