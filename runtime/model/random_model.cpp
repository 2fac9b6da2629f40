#include "model/random_model.h"

#include "common/error.h"
#include "core/fp16.h"
#include "gguf/gguf_writer.h"
#include "quant/quant.h"

#include <cmath>
#include <cstring>
#include <random>
#include <set>

namespace epic {
namespace {

// xoshiro-style fast generator: random weights for a 7B shape must not take minutes.
class fast_rng {
public:
    explicit fast_rng(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull + 1) {}
    uint64_t next() {
        s_ ^= s_ << 13;
        s_ ^= s_ >> 7;
        s_ ^= s_ << 17;
        return s_;
    }
    // Approximately normal (sum of uniforms: Irwin-Hall with 4 terms), mean 0, std 1.
    float normal() {
        const uint64_t r = next();
        float sum = 0.0f;
        for (int i = 0; i < 4; ++i) sum += (float)((r >> (16 * i)) & 0xffff) / 65535.0f;
        return (sum - 2.0f) * 1.7320508f;
    }

private:
    uint64_t s_;
};

std::vector<uint8_t> make_tensor(fast_rng& rng, ggml_type type, int64_t rows, int64_t cols, float stddev, float mean) {
    const size_t rb = row_bytes(type, cols);
    std::vector<uint8_t> data(rb * (size_t)rows);
    std::vector<float> row((size_t)cols);
    for (int64_t r = 0; r < rows; ++r) {
        for (auto& x : row) x = mean + stddev * rng.normal();
        quantize_row(type, row.data(), data.data() + (size_t)r * rb, cols);
    }
    return data;
}

// llama.cpp's llama_ftype for a file whose 2-D weights are all of type t (other engines label
// and sometimes size their buffers by it).
uint32_t file_type_of(ggml_type t) {
    switch (t) {
    case ggml_type::f32: return 0;
    case ggml_type::f16: return 1;
    case ggml_type::q4_0: return 2;
    case ggml_type::q4_1: return 3;
    case ggml_type::q8_0: return 7;
    case ggml_type::q5_0: return 8;
    case ggml_type::q5_1: return 9;
    case ggml_type::q4_k: return 14; // Q4_K_S: every weight q4_K
    case ggml_type::q5_k: return 16; // Q5_K_S
    case ggml_type::q6_k: return 18;
    case ggml_type::bf16: return 32;
    default: return 0;
    }
}

ggml_type fitting_type(ggml_type wanted, int64_t cols) {
    return cols % traits(wanted).block_size == 0 ? wanted : ggml_type::f32;
}

} // namespace

random_model_params random_model_default_params() { return random_model_params{}; }

random_model_params random_model_shape(const std::string& name) {
    random_model_params p;
    if (name == "tiny") return p;
    if (name == "tiny-gemma3") {
        p.arch = "gemma3"; p.n_layer = 7; p.n_head = 4; p.n_head_kv = 1; p.head_dim = 64; p.n_embd = 256;
        p.sliding_window = 6; p.tied_output = true; p.rms_eps = 1e-6f; p.rope_base = 1000000.0f; p.name = "random-gemma3";
        return p;
    }
    if (name == "tiny-qwen2") {
        p.arch = "qwen2"; p.n_head = 4; p.n_head_kv = 2; p.tied_output = true; p.rms_eps = 1e-6f;
        p.rope_base = 1000000.0f; p.name = "random-qwen2";
        return p;
    }
    if (name == "tiny-qwen3") {
        p.arch = "qwen3"; p.n_head = 8; p.n_head_kv = 2; p.head_dim = 64; p.rms_eps = 1e-6f;
        p.rope_base = 1000000.0f; p.name = "random-qwen3";
        return p;
    }
    if (name == "tiny-phi3") {
        p.arch = "phi3"; p.n_head = 4; p.n_head_kv = 4; p.sliding_window = 6; p.long_rope = true;
        p.name = "random-phi3";
        return p;
    }
    if (name == "tinyllama") {
        p.n_vocab = 32000; p.n_embd = 2048; p.n_layer = 22; p.n_head = 32; p.n_head_kv = 4; p.n_ff = 5632;
        p.n_ctx = 2048; p.name = "random-tinyllama-1.1b";
        return p;
    }
    if (name == "llama2-7b") {
        p.n_vocab = 32000; p.n_embd = 4096; p.n_layer = 32; p.n_head = 32; p.n_head_kv = 32; p.n_ff = 11008;
        p.n_ctx = 4096; p.name = "random-llama2-7b";
        return p;
    }
    throw error("unknown model shape '" + name +
                "' (known: tiny, tiny-gemma3, tiny-qwen2, tiny-qwen3, tiny-phi3, tinyllama, llama2-7b)");
}

synthetic_vocab make_synthetic_vocab(int32_t n_vocab) {
    if (n_vocab < 3 + 256 + 1) throw error("a synthetic vocabulary needs at least 260 tokens");
    synthetic_vocab v;
    auto add = [&](std::string piece, float score, int32_t type) {
        v.pieces.push_back(std::move(piece));
        v.scores.push_back(score);
        v.types.push_back(type);
    };
    add("<unk>", 0.0f, 2);
    add("<s>", 0.0f, 3);
    add("</s>", 0.0f, 3);
    for (int b = 0; b < 256; ++b) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "<0x%02X>", b);
        add(buf, 0.0f, 6);
    }
    // Base pieces: the word marker and printable ASCII; then merges of earlier pieces, breadth first.
    std::set<std::string> seen;
    std::vector<std::string> base = {"\xE2\x96\x81"}; // U+2581, sentencepiece's space
    for (char c = 'a'; c <= 'z'; ++c) base.emplace_back(1, c);
    for (char c = 'A'; c <= 'Z'; ++c) base.emplace_back(1, c);
    for (char c = '0'; c <= '9'; ++c) base.emplace_back(1, c);
    for (const char* c : {".", ",", "!", "?", "'", "-", ":", ";", "(", ")"}) base.emplace_back(c);
    float score = -1.0f;
    std::vector<std::string> level;
    for (const auto& s : base) {
        if ((int32_t)v.pieces.size() >= n_vocab) break;
        add(s, score, 1);
        score -= 1.0f;
        seen.insert(s);
        level.push_back(s);
    }
    const std::vector<std::string> singles = level;
    while ((int32_t)v.pieces.size() < n_vocab) {
        std::vector<std::string> next;
        for (const auto& a : level) {
            for (const auto& b : singles) {
                if ((int32_t)v.pieces.size() >= n_vocab) break;
                if (b == base[0]) continue; // the space marker only starts a piece
                std::string m = a + b;
                if (!seen.insert(m).second) continue;
                add(m, score, 1);
                score -= 1.0f;
                next.push_back(std::move(m));
            }
            if ((int32_t)v.pieces.size() >= n_vocab) break;
        }
        level = std::move(next);
    }
    return v;
}

void write_random_model(const std::string& path, const random_model_params& p) {
    if (p.arch != "llama" && p.arch != "gemma3" && p.arch != "qwen2" && p.arch != "qwen3" && p.arch != "phi3")
        throw error("random model: unknown architecture " + p.arch);
    if (p.n_head % p.n_head_kv != 0 || (p.head_dim == 0 && p.n_embd % p.n_head != 0))
        throw error("random model: heads must divide the width and kv heads must divide the heads");
    const int64_t head_dim = p.head_dim > 0 ? p.head_dim : p.n_embd / p.n_head;
    const bool gemma = p.arch == "gemma3", phi3 = p.arch == "phi3";
    const bool qk_norm = gemma || p.arch == "qwen3", biases = p.arch == "qwen2";
    fast_rng rng(p.seed);
    gguf_writer w;
    const std::string a = p.arch + ".";
    w.set_string("general.architecture", p.arch);
    w.set_string("general.name", p.name);
    w.set_u32("general.file_type", file_type_of(p.type));
    w.set_u32(a + "context_length", (uint32_t)p.n_ctx);
    w.set_u32(a + "embedding_length", (uint32_t)p.n_embd);
    w.set_u32(a + "block_count", (uint32_t)p.n_layer);
    w.set_u32(a + "feed_forward_length", (uint32_t)p.n_ff);
    w.set_u32(a + "attention.head_count", (uint32_t)p.n_head);
    w.set_u32(a + "attention.head_count_kv", (uint32_t)p.n_head_kv);
    w.set_u32(a + "attention.key_length", (uint32_t)head_dim);
    w.set_u32(a + "attention.value_length", (uint32_t)head_dim);
    w.set_u32(a + "rope.dimension_count", (uint32_t)head_dim);
    w.set_f32(a + "attention.layer_norm_rms_epsilon", p.rms_eps);
    w.set_f32(a + "rope.freq_base", p.rope_base);
    if (gemma || (phi3 && p.sliding_window > 0)) w.set_u32(a + "attention.sliding_window", (uint32_t)p.sliding_window);
    if (phi3 && p.long_rope) {
        // As Phi-3.5's converter writes LongRoPE: factors per rotated pair and the attention factor
        // sqrt(1 + ln(scale) / ln(original context)).
        w.set_u32(a + "rope.scaling.original_context_length", (uint32_t)p.n_ctx);
        w.set_f32(a + "rope.scaling.attn_factor", (float)std::sqrt(1.0 + std::log(32.0) / std::log((double)p.n_ctx)));
    }
    synthetic_vocab vocab = make_synthetic_vocab(p.n_vocab - (int32_t)p.special_tokens.size());
    for (const auto& t : p.special_tokens) {
        vocab.pieces.push_back(t);
        vocab.scores.push_back(0.0f);
        vocab.types.push_back(3);
    }
    if (!p.chat_template.empty()) w.set_string("tokenizer.chat_template", p.chat_template);
    w.set_string("tokenizer.ggml.model", "llama");
    w.set_string_array("tokenizer.ggml.tokens", vocab.pieces);
    w.set_f32_array("tokenizer.ggml.scores", vocab.scores);
    w.set_i32_array("tokenizer.ggml.token_type", vocab.types);
    w.set_u32("tokenizer.ggml.bos_token_id", 1);
    w.set_u32("tokenizer.ggml.eos_token_id", 2);
    w.set_u32("tokenizer.ggml.unknown_token_id", 0);
    w.set_bool("tokenizer.ggml.add_bos_token", true);

    const int64_t q_width = head_dim * p.n_head, kv_width = head_dim * p.n_head_kv;
    auto matrix = [&](const std::string& name, ggml_type t, int64_t rows, int64_t cols, float stddev) {
        const ggml_type ft = fitting_type(t, cols);
        w.add_tensor(name, ft, {cols, rows}, make_tensor(rng, ft, rows, cols, stddev, 0.0f));
    };
    auto norm = [&](const std::string& name, int64_t n) {
        w.add_tensor(name, ggml_type::f32, {n}, make_tensor(rng, ggml_type::f32, 1, n, 0.1f, 1.0f));
    };
    // Scales keep activations O(1) through the layers: std 1/sqrt(fan_in).
    const float s_embd = 1.0f / std::sqrt((float)p.n_embd), s_ff = 1.0f / std::sqrt((float)p.n_ff);
    // Gemma scales the embeddings by sqrt(n_embd) at run time: keep them O(1) after that.
    matrix("token_embd.weight", p.embd_type, p.n_vocab, p.n_embd, gemma ? s_embd : 1.0f);
    norm("output_norm.weight", p.n_embd);
    if (!p.tied_output) matrix("output.weight", p.type, p.n_vocab, p.n_embd, s_embd);
    // Rotation factors per pair, growing with the pair index as Llama 3's and Phi-3's do.
    auto rope_factors = [&](const std::string& name, float growth) {
        std::vector<float> ff((size_t)head_dim / 2);
        for (size_t i = 0; i < ff.size(); ++i) ff[i] = 1.0f + (float)i / (float)ff.size() * growth;
        std::vector<uint8_t> bytes(ff.size() * sizeof(float));
        std::memcpy(bytes.data(), ff.data(), bytes.size());
        w.add_tensor(name, ggml_type::f32, {(int64_t)ff.size()}, std::move(bytes));
    };
    if (p.rope_freqs) rope_factors("rope_freqs.weight", 3.0f);
    if (phi3 && p.long_rope) {
        rope_factors("rope_factors_short.weight", 2.0f);
        rope_factors("rope_factors_long.weight", 30.0f); // beyond the original context: never used here
    }
    auto bias = [&](const std::string& name, int64_t n) {
        w.add_tensor(name, ggml_type::f32, {n}, make_tensor(rng, ggml_type::f32, 1, n, 0.5f, 0.0f));
    };
    for (int il = 0; il < p.n_layer; ++il) {
        const std::string b = "blk." + std::to_string(il) + ".";
        norm(b + "attn_norm.weight", p.n_embd);
        if (phi3) {
            matrix(b + "attn_qkv.weight", p.type, q_width + 2 * kv_width, p.n_embd, s_embd);
        } else {
            matrix(b + "attn_q.weight", p.type, q_width, p.n_embd, s_embd);
            matrix(b + "attn_k.weight", p.type, kv_width, p.n_embd, s_embd);
            matrix(b + "attn_v.weight", p.type, kv_width, p.n_embd, s_embd);
        }
        if (biases) {
            bias(b + "attn_q.bias", q_width);
            bias(b + "attn_k.bias", kv_width);
            bias(b + "attn_v.bias", kv_width);
        }
        matrix(b + "attn_output.weight", p.type, p.n_embd, q_width, 1.0f / std::sqrt((float)q_width));
        norm(b + "ffn_norm.weight", p.n_embd);
        if (qk_norm) {
            norm(b + "attn_q_norm.weight", head_dim);
            norm(b + "attn_k_norm.weight", head_dim);
        }
        if (gemma) {
            norm(b + "post_attention_norm.weight", p.n_embd);
            norm(b + "post_ffw_norm.weight", p.n_embd);
        }
        if (phi3) {
            matrix(b + "ffn_up.weight", p.type, 2 * (int64_t)p.n_ff, p.n_embd, s_embd); // gate rows, then up rows
        } else {
            matrix(b + "ffn_gate.weight", p.type, p.n_ff, p.n_embd, s_embd);
            matrix(b + "ffn_up.weight", p.type, p.n_ff, p.n_embd, s_embd);
        }
        matrix(b + "ffn_down.weight", p.type, p.n_embd, p.n_ff, s_ff);
    }
    w.write(path);
}

} // namespace epic
