// epic bench prefill|decode: throughput of the forward pass on a model's own random tokens.
#include "cli/bench_util.h"
#include "cli/commands.h"
#include "cli/session.h"
#include "common/error.h"
#include "common/stopwatch.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <random>
#include <string>

namespace epic::cli {
namespace {


// Peak resident memory of this process (VmHWM), MiB.
double peak_rss_mib() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    return 0.0;
}

std::vector<int32_t> random_tokens(const tokenizer& tok, int n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int32_t> pick(0, tok.n_vocab() - 1);
    std::vector<int32_t> t((size_t)n);
    for (auto& x : t) {
        do x = pick(rng);
        while (tok.is_control(x));
    }
    if (tok.bos() >= 0) t[0] = tok.bos();
    return t;
}

} // namespace

int cmd_bench_throughput(const bench_throughput_args& a) {
    const std::string& what = a.what;
    session s = open_session(a.session);
    const model_config& c = s.tf->config();
    const int runs = a.runs;
    const double flops_per_token = 2.0 * (double)c.matmul_params();
    using clock = std::chrono::steady_clock;
    if (what == "prefill") {
        const int n = a.tokens;
        const auto tokens = random_tokens(*s.tok, n, 1);
        std::vector<int32_t> pos((size_t)n);
        std::iota(pos.begin(), pos.end(), 0);
        auto kv = s.tf->new_kv_cache(n);
        std::vector<float> logits;
        std::vector<double> times;
        for (int r = 0; r < runs + 1; ++r) { // first run warms the page cache
            kv->n_rows = 0;
            const auto t0 = clock::now();
            s.tf->forward(*kv, tokens, pos, false, logits);
            const double dt = seconds_since(t0);
            if (r > 0) times.push_back(dt);
        }
        const double t = median(times);
        std::printf("prefill  %-28s %5d tokens  %8.2f tok/s  %7.1f GFLOP/s  %.3f s (median of %d)  peak RSS %.0f MiB  [%s]\n",
                    c.name.c_str(), n, n / t, n * flops_per_token / t / 1e9, t, runs, peak_rss_mib(), s.be->name().c_str());
        return 0;
    }
    if (what == "decode") {
        const int n = a.tokens;
        const int n_prompt = 16;
        auto tokens = random_tokens(*s.tok, n_prompt + n, 2);
        auto kv = s.tf->new_kv_cache(n_prompt + n);
        std::vector<int32_t> pos((size_t)n_prompt);
        std::iota(pos.begin(), pos.end(), 0);
        std::vector<float> logits;
        std::vector<double> times;
        for (int r = 0; r < runs; ++r) {
            kv->n_rows = 0;
            s.tf->forward(*kv, std::span(tokens).first((size_t)n_prompt), pos, false, logits);
            const auto t0 = clock::now();
            for (int i = 0; i < n; ++i) {
                const int32_t p = n_prompt + i;
                s.tf->forward(*kv, std::span(tokens).subspan((size_t)p, 1), std::span<const int32_t>(&p, 1), false, logits);
            }
            times.push_back(seconds_since(t0));
        }
        const double t = median(times);
        std::printf("decode   %-28s %5d tokens  %8.2f tok/s  %7.1f GB/s weights  %.3f s (median of %d)  peak RSS %.0f MiB  [%s]\n",
                    c.name.c_str(), n, n / t, n * (double)s.mdl->weight_bytes() / t / 1e9, t, runs, peak_rss_mib(),
                    s.be->name().c_str());
        return 0;
    }
    throw error("unknown benchmark '" + what + "' (expected prefill or decode)");
}

} // namespace epic::cli
