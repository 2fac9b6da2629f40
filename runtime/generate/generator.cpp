#include "generate/generator.h"

#include "common/error.h"
#include "common/stopwatch.h"
#include "generate/text_stream.h"
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <chrono>
#include <numeric>

namespace epic {

generation_params generation_default_params() { return generation_params{}; }

generator::generator(transformer& tf, const tokenizer& tok) : tf_(tf), tok_(tok) {}

generation_result generator::generate(kv_cache& kv, std::span<const int32_t> prompt, const generation_params& params,
                                      const token_callback& on_token) {
    if (prompt.empty()) throw error("generate: the prompt is empty (it needs at least a BOS token)");
    if ((int)prompt.size() > kv.n_ctx())
        throw error("generate: the prompt has " + std::to_string(prompt.size()) + " tokens, more than the context of " +
                    std::to_string(kv.n_ctx()));
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<int32_t> positions(prompt.size());
    std::iota(positions.begin(), positions.end(), 0);
    kv.n_rows = 0;
    std::vector<float> logits;
    tf_.forward(kv, prompt, positions, false, logits);
    const double prefill = seconds_since(t0);
    generation_result r = continue_from(kv, logits, params, on_token);
    r.prefill_seconds = prefill;
    r.first_token_seconds += prefill;
    return r;
}

generation_result generator::continue_from(kv_cache& kv, std::span<const float> last_logits,
                                           const generation_params& params, const token_callback& on_token) {
    generation_result r;
    const auto t0 = std::chrono::steady_clock::now();
    sampler smp(params.sampling);
    utf8_stream stream;
    std::vector<float> logits(last_logits.begin(), last_logits.end());
    std::chrono::steady_clock::time_point t_first;
    for (int step = 0; step < params.max_tokens; ++step) {
        const int32_t token = smp.sample(logits);
        if (step == 0) {
            r.first_token_seconds = seconds_since(t0);
            t_first = std::chrono::steady_clock::now();
        }
        const bool end_token =
            token == tok_.eos() || std::find(params.stop_tokens.begin(), params.stop_tokens.end(), token) != params.stop_tokens.end();
        if (params.stop_at_eos && end_token) {
            r.hit_eos = true;
            break;
        }
        r.tokens.push_back(token);
        const std::string piece = tok_.is_control(token) ? std::string() : stream.push(tok_.token_bytes(token));
        r.text += piece;
        if (on_token && !on_token(token, piece)) {
            r.cancelled = true;
            break;
        }
        if (step + 1 == params.max_tokens) break;
        if (kv.n_rows >= kv.n_ctx()) break; // context full
        const int32_t pos = kv.n_rows;
        tf_.forward(kv, std::span<const int32_t>(&token, 1), std::span<const int32_t>(&pos, 1), false, logits);
    }
    const std::string rest = stream.flush();
    if (!rest.empty()) {
        r.text += rest;
        if (on_token && !r.cancelled) on_token(-1, rest);
    }
    if (!r.tokens.empty()) r.decode_seconds = seconds_since(t_first);
    return r;
}

} // namespace epic
