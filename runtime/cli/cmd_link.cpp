// epic link: compile files as chunks, link them with an algorithm, answer a question.
#include "cli/commands.h"
#include "cli/session.h"
#include "common/error.h"
#include "core/read_file.h"
#include "common/stopwatch.h"
#include "generate/generator.h"
#include "pic/compiler.h"
#include "pic/linker.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace epic::cli {
namespace {

std::string read_text(const std::string& path) { return read_file_text(path); }

} // namespace

int cmd_link(const link_args& a) {
    session s = open_session(a.session);
    const link_policy policy = link_policy::parse(a.algo);
    const auto& files = a.chunks;
    using clock = std::chrono::steady_clock;
    const auto t_compile = clock::now();
    std::vector<chunk_cache> caches;
    for (const auto& f : files) {
        const auto tokens = s.tok->encode(read_text(f), false);
        if (tokens.empty()) throw error(f + ": no text to compile");
        caches.push_back(compile_chunk(*s.tf, tokens, s.tok->bos(), policy.chunk_compile_options()));
    }
    const double compile_s = seconds_since(t_compile);
    link_input in;
    if (a.system) in.system_tokens = s.tok->encode(*a.system, true);
    for (const auto& c : caches) in.chunks.push_back(&c);
    in.question = s.tok->encode(a.question, false);
    generation_params gp = generation_default_params();
    gp.max_tokens = a.tokens;
    gp.sampling.temperature = (float)a.temp;
    gp.sampling.seed = (uint64_t)a.seed;
    linker lk(*s.tf);
    const link_result r = lk.link(in, policy, gp.max_tokens);
    generator gen(*s.tf, *s.tok);
    const generation_result g = gen.continue_from(*r.kv, r.logits, gp, [](int32_t, const std::string& piece) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
        return true;
    });
    std::printf("\n");
    const link_stats& st = r.stats;
    const double ttft = st.seconds_total + g.first_token_seconds;
    std::fprintf(stderr,
                 "[%s] %s: %zu chunks, %d rows, recomputed %d (%.1f%%, mean over layers %.1f), reused %d; "
                 "time to first token %.1f ms (place+rotate %.1f, recompute %.1f, attention %.1f, select %.1f, logits %.1f, "
                 "sample %.2f); compile %.1f ms; decode %.1f tok/s\n",
                 s.be->name().c_str(), policy.name().c_str(), caches.size(), st.n_rows, st.recomputed_rows(),
                 100.0 * st.recomputed_rows() / st.n_rows, st.mean_recomputed(), st.n_rows - st.recomputed_rows(),
                 ttft * 1e3, st.seconds_place * 1e3, st.seconds_recompute * 1e3, st.seconds_attention * 1e3,
                 st.seconds_select * 1e3, st.seconds_logits * 1e3, g.first_token_seconds * 1e3, compile_s * 1e3,
                 g.tokens.size() > 1 ? (g.tokens.size() - 1) / g.decode_seconds : 0.0);
    return 0;
}

} // namespace epic::cli
