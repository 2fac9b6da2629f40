// epic generate, epic perplexity.
#include "cli/commands.h"
#include "cli/session.h"
#include "common/error.h"
#include "core/read_file.h"
#include "generate/generator.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <sstream>

namespace epic::cli {
namespace {

sampling_params sampling_from(const generate_args& a) {
    sampling_params s = sampling_default_params();
    s.temperature = (float)a.temp;
    s.top_k = a.top_k;
    s.top_p = (float)a.top_p;
    s.min_p = (float)a.min_p;
    s.seed = (uint64_t)a.seed;
    return s;
}

} // namespace

int cmd_generate(const generate_args& a) {
    session s = open_session(a.session);
    const std::vector<int32_t> prompt = s.tok->encode(a.prompt, a.bos.add_bos(s.tok->add_bos_default()));
    if (prompt.empty()) throw error("the prompt is empty and no BOS is added: nothing to start from");
    generation_params gp = generation_default_params();
    gp.max_tokens = a.tokens;
    gp.sampling = sampling_from(a);
    const int n_ctx = a.ctx.value_or((int)prompt.size() + gp.max_tokens);
    if (const int limit = s.mdl->config().n_ctx_train; limit > 0 && n_ctx > limit)
        throw error("the prompt (" + std::to_string(prompt.size()) + " tokens) and --tokens " + std::to_string(gp.max_tokens) +
                    " need a context of " + std::to_string(n_ctx) + " tokens; the model's is " + std::to_string(limit));
    auto kv = s.tf->new_kv_cache(n_ctx);
    generator gen(*s.tf, *s.tok);
    const generation_result r = gen.generate(*kv, prompt, gp, [](int32_t, const std::string& piece) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
        return true;
    });
    std::printf("\n");
    if (!a.quiet) {
        const double decode_tps = r.tokens.size() > 1 ? (r.tokens.size() - 1) / r.decode_seconds : 0.0;
        std::fprintf(stderr, "[%s] prompt %zu tokens in %.3f s (%.1f tok/s); generated %zu tokens, %.1f tok/s%s\n",
                     s.be->name().c_str(), prompt.size(), r.prefill_seconds, prompt.size() / r.prefill_seconds,
                     r.tokens.size(), decode_tps, r.hit_eos ? " (end of text)" : "");
    }
    return 0;
}

int cmd_perplexity(const perplexity_args& a) {
    const std::string& path = a.file;
    if (path.empty()) throw error("--file needs a file name");
    const std::string text_of_file = read_file_text(path);
    session s = open_session(a.session);
    const int n_ctx = a.ctx;
    const std::vector<int32_t> text = s.tok->encode(text_of_file, false);
    const int per_window = n_ctx - 1; // text tokens per window after the BOS
    const size_t n_windows = text.size() / (size_t)per_window;
    if (n_windows == 0)
        throw error(path + ": " + std::to_string(text.size()) + " tokens, fewer than one window of " + std::to_string(n_ctx));
    auto kv = s.tf->new_kv_cache(n_ctx);
    std::vector<int32_t> window((size_t)n_ctx), positions((size_t)n_ctx);
    std::iota(positions.begin(), positions.end(), 0);
    std::vector<float> logits;
    const int n_vocab = s.tf->config().n_vocab;
    double nll = 0.0;
    size_t scored = 0;
    for (size_t w = 0; w < n_windows; ++w) {
        window[0] = s.tok->bos();
        std::copy_n(text.begin() + (ptrdiff_t)(w * per_window), per_window, window.begin() + 1);
        kv->n_rows = 0;
        s.tf->forward(*kv, window, positions, true, logits);
        for (int i = 0; i + 1 < n_ctx; ++i) {
            const float* row = logits.data() + (size_t)i * n_vocab;
            double mx = row[0];
            for (int j = 1; j < n_vocab; ++j) mx = std::max(mx, (double)row[j]);
            double sum = 0.0;
            for (int j = 0; j < n_vocab; ++j) sum += std::exp((double)row[j] - mx);
            nll -= (double)row[window[(size_t)i + 1]] - mx - std::log(sum);
            ++scored;
        }
        std::fprintf(stderr, "\rwindow %zu/%zu: ppl %.4f", w + 1, n_windows, std::exp(nll / (double)scored));
    }
    std::fprintf(stderr, "\n");
    std::printf("perplexity %.6f over %zu tokens (%zu windows of %d)\n", std::exp(nll / (double)scored), scored, n_windows,
                n_ctx);
    return 0;
}

} // namespace epic::cli
