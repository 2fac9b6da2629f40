#pragma once
// Autoregressive generation after a prompt has been prefilled (or linked) into a KV cache.
#include "forward/kv_cache.h"
#include "forward/transformer.h"
#include "generate/sampler.h"

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace epic {

class tokenizer;

struct generation_params {
    int max_tokens = 128;
    sampling_params sampling;
    bool stop_at_eos = true;          // stop at EOS and at every stop token (false: always max_tokens)
    std::vector<int32_t> stop_tokens; // also end the answer (end-of-turn markers of chat templates)
};

generation_params generation_default_params();

struct generation_result {
    std::vector<int32_t> tokens;   // generated ids (without the prompt; EOS excluded)
    std::string text;              // their text
    bool hit_eos = false;
    bool cancelled = false;
    double prefill_seconds = 0.0;  // prompt processing (0 when continuing from a linked cache)
    double first_token_seconds = 0.0; // from the start of the call to the first sampled token
    double decode_seconds = 0.0;   // every decode step after the first token
};

// Receives each piece of text as it becomes complete; return false to stop (cancel).
using token_callback = std::function<bool(int32_t token, const std::string& text_piece)>;

class generator {
public:
    generator(transformer& tf, const tokenizer& tok);

    // Prefills `prompt` (positions 0..n-1 of a fresh sequence in kv) and generates.
    generation_result generate(kv_cache& kv, std::span<const int32_t> prompt, const generation_params& params,
                               const token_callback& on_token = nullptr);

    // Continues a sequence whose KV rows 0..kv.n_rows-1 are filled and whose last-row logits are
    // given (e.g. after linking cached chunks): samples from them, then decodes token by token.
    generation_result continue_from(kv_cache& kv, std::span<const float> last_logits, const generation_params& params,
                                    const token_callback& on_token = nullptr);

private:
    transformer& tf_;
    const tokenizer& tok_;
};

} // namespace epic
