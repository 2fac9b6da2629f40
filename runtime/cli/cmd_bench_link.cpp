// epic bench link: every link algorithm on the same chunks and question, in one run.
// Per algorithm: rows recomputed, time to first token (median), speed-up over full recompute, and
// accuracy against full recompute (KL and top-1 agreement of the next-token distributions over the
// question's last row plus a teacher-forced continuation of T tokens that FR generates greedily).
#include "cli/bench_util.h"
#include "cli/commands.h"
#include "cli/session.h"
#include "common/error.h"
#include "common/stopwatch.h"
#include "eval/qa_score.h"
#include "generate/generator.h"
#include "pic/compiler.h"
#include "service/chat_template.h"
#include "pic/kv_hot_tier.h"
#include "pic/linker.h"

#include <climits>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <numeric>
#include <random>
#include <sstream>

namespace epic::cli {
namespace {

using clock_type = std::chrono::steady_clock;


// n tokens of the model's own text: sampled from BOS with the given seed (in-distribution chunks).
std::vector<int32_t> generated_tokens(session& s, int n, uint64_t seed) {
    generator gen(*s.tf, *s.tok);
    generation_params gp;
    gp.max_tokens = n;
    gp.stop_at_eos = false;
    gp.sampling.temperature = 0.9f;
    gp.sampling.top_k = 0;
    gp.sampling.top_p = 1.0f;
    gp.sampling.min_p = 0.0f;
    gp.sampling.seed = seed;
    auto kv = s.tf->new_kv_cache(n + 1);
    const int32_t bos = s.tok->bos();
    auto r = gen.generate(*kv, std::span<const int32_t>(&bos, 1), gp);
    // Never let BOS/EOS/control tokens into a chunk: they would act as extra sinks.
    for (auto& t : r.tokens)
        if (s.tok->is_control(t)) t = r.tokens.front();
    return r.tokens;
}

std::vector<int32_t> random_tokens(session& s, int n, std::mt19937& rng) {
    std::uniform_int_distribution<int32_t> pick(0, s.tok->n_vocab() - 1);
    std::vector<int32_t> t((size_t)n);
    for (auto& x : t) {
        do x = pick(rng);
        while (s.tok->is_control(x));
    }
    return t;
}


} // namespace

int cmd_bench_link(const bench_link_args& a) {
    session s = open_session(a.session);
    const int n_chunks = a.chunks, chunk_len = a.chunk_tokens;
    const int q_len = a.question_tokens, runs = a.runs;
    const int cont_len = a.continuation;
    const std::string& source = a.source;
    const uint64_t seed = (uint64_t)a.seed;
    std::vector<link_policy> policies;
    for (const auto& name : split_list(a.algos))
        policies.push_back(link_policy::parse(name));
    if (std::none_of(policies.begin(), policies.end(), [](const auto& p) { return p.algo == link_policy::algorithm::full; }))
        policies.insert(policies.begin(), link_policy::parse("full")); // the reference

    // Chunk and question tokens.
    std::mt19937 rng((uint32_t)seed);
    std::vector<std::vector<int32_t>> chunk_tokens;
    std::vector<int32_t> question;
    if (source == "generated") {
        for (int i = 0; i < n_chunks; ++i) chunk_tokens.push_back(generated_tokens(s, chunk_len, seed * 1000 + (uint64_t)i));
        question = generated_tokens(s, q_len, seed * 1000 + 999);
    } else if (source == "random") {
        for (int i = 0; i < n_chunks; ++i) chunk_tokens.push_back(random_tokens(s, chunk_len, rng));
        question = random_tokens(s, q_len, rng);
    } else {
        throw error("--source must be generated or random");
    }

    // The system segment every link starts with (context-compiled chunks were compiled after it):
    // --system's text as is, else the chat template's opening with the QA benchmark's instruction.
    const std::vector<int32_t> system_tokens =
        a.system ? s.tok->encode(*a.system, true)
                        : chat_template_for(*s.mdl).system_segment(*s.tok, *s.mdl, default_qa_system_prompt);
    // Compile once per compile scheme (sink count, context).
    std::map<std::pair<int, bool>, std::vector<chunk_cache>> caches;
    auto scheme = [](const link_policy& p) { return std::make_pair(p.sink_tokens(), p.context_compiled); };
    double compile_seconds = 0.0;
    int compiled_tokens = 0;
    for (const auto& p : policies) {
        auto& list = caches[scheme(p)];
        if (!list.empty()) continue;
        const auto t0 = clock_type::now();
        for (const auto& t : chunk_tokens)
            list.push_back(compile_chunk(*s.tf, t, s.tok->bos(), p.chunk_compile_options(),
                                         p.context_compiled ? std::span<const int32_t>(system_tokens) : std::span<const int32_t>()));
        compile_seconds += seconds_since(t0);
        for (const auto& c : list) compiled_tokens += c.n_rows();
    }
    auto input_for = [&](const link_policy& p) {
        link_input in;
        in.system_tokens = system_tokens;
        for (const auto& c : caches[scheme(p)]) in.chunks.push_back(&c);
        in.question = question;
        return in;
    };

    // --resident: the chunk caches live in a hot tier (in the backend's memory), filled by a warm-up
    // link of each algorithm, so the timed runs copy K/V within the device instead of from the host.
    std::unique_ptr<kv_hot_tier> tier;
    if (a.resident) {
        size_t budget = 0;
        for (const auto& [sch, list] : caches)
            for (const auto& c : list) budget += c.kv_bytes();
        if (a.gpu_cache_mib) budget = (size_t)(*a.gpu_cache_mib * 1024 * 1024);
        tier = std::make_unique<kv_hot_tier>(*s.be, budget);
    }
    linker lk(*s.tf, tier.get());
    const int n_vocab = s.tf->config().n_vocab;
    // Next-token distributions along the continuation: row 0 from the link, rows 1.. teacher-forced.
    auto continuation_logits = [&](link_result& r, const std::vector<int32_t>& cont) {
        std::vector<float> rows = r.logits;
        if (cont.size() > 1) {
            std::vector<int32_t> pos(cont.size() - 1);
            std::iota(pos.begin(), pos.end(), r.layout.n_rows());
            std::vector<float> more;
            s.tf->forward(*r.kv, std::span(cont).first(cont.size() - 1), pos, true, more);
            rows.insert(rows.end(), more.begin(), more.end());
        }
        return rows;
    };

    // The reference continuation: FR's greedy tokens.
    std::vector<int32_t> cont;
    std::vector<float> fr_rows;
    {
        link_result fr = lk.link(input_for(link_policy::parse("full")), link_policy::parse("full"), cont_len + 1);
        generator gen(*s.tf, *s.tok);
        generation_params gp;
        gp.max_tokens = cont_len;
        gp.stop_at_eos = false;
        gp.sampling.temperature = 0.0f;
        auto kv_copy = s.tf->new_kv_cache(fr.layout.n_rows() + cont_len + 1);
        // Decode on a copy so `fr` stays at the end of the question for the teacher-forced rows.
        const size_t bytes = (size_t)fr.layout.n_rows() * kv_copy->row_width() * sizeof(uint16_t);
        for (int il = 0; il < s.tf->config().n_layer; ++il) {
            s.be->copy(kv_copy->k(il), fr.kv->k(il), bytes);
            s.be->copy(kv_copy->v(il), fr.kv->v(il), bytes);
        }
        kv_copy->n_rows = fr.layout.n_rows();
        cont = gen.continue_from(*kv_copy, fr.logits, gp).tokens;
        fr_rows = continuation_logits(fr, cont);
    }

    std::printf("model %s, %d chunks x %d tokens (%s), question %d tokens, continuation %d tokens, %d runs, [%s]\n",
                s.tf->config().name.c_str(), n_chunks, chunk_len, source.c_str(), q_len, (int)cont.size(), runs,
                s.be->name().c_str());
    std::printf("compile: %d rows in %.2f s (%.1f tok/s)\n", compiled_tokens, compile_seconds, compiled_tokens / compile_seconds);
    if (tier) std::printf("hot tier: %.1f MiB budget, chunk caches resident after a warm-up link\n", tier->budget() / 1048576.0);
    std::printf("%-16s %6s %9s %9s %11s %9s %10s %8s   %-50s %s\n", "algorithm", "rows", "recomp", "mean/lyr", "ttft_ms", "speedup",
                "KL", "top1", "ttft split (place[wait copy]/recompute/attention/select) ms",
                "cached K/V copied (host/device MiB, caches resident/staged)");
    double fr_ttft = 0.0;
    for (const auto& p : policies) {
        std::vector<double> ttft;
        link_result last;
        if (tier) (void)lk.link(input_for(p), p, cont_len + 1); // fills the tier; not timed
        for (int r = 0; r < runs; ++r) {
            const auto t0 = clock_type::now();
            link_result lr = lk.link(input_for(p), p, cont_len + 1);
            (void)argmax(lr.logits);
            ttft.push_back(seconds_since(t0));
            last = std::move(lr);
        }
        const double t = median(ttft);
        if (p.algo == link_policy::algorithm::full) fr_ttft = t;
        const auto rows = continuation_logits(last, cont);
        double kl = 0.0;
        int agree = 0;
        const size_t n_pos = rows.size() / (size_t)n_vocab;
        for (size_t i = 0; i < n_pos; ++i) {
            const std::span<const float> ref(fr_rows.data() + i * n_vocab, (size_t)n_vocab);
            const std::span<const float> got(rows.data() + i * n_vocab, (size_t)n_vocab);
            const token_agreement t = compare_logits(ref, got);
            kl += t.kl;
            agree += t.top1_same;
        }
        const link_stats& st = last.stats;
        char split[96];
        std::snprintf(split, sizeof split, "%.1f[%.1f]/%.1f/%.1f/%.1f", st.seconds_place * 1e3, st.seconds_wait_copy * 1e3,
                      st.seconds_recompute * 1e3, st.seconds_attention * 1e3, st.seconds_select * 1e3);
        std::printf("%-16s %6d %9d %9.1f %11.2f %8.2fx %10.5f %7.1f%%   %-50s %.1f/%.1f, %d/%d\n", p.name().c_str(), st.n_rows,
                    st.recomputed_rows(), st.mean_recomputed(), t * 1e3, fr_ttft > 0 ? fr_ttft / t : 0.0, kl / n_pos,
                    100.0 * agree / n_pos, split, st.bytes_copied_host / 1048576.0, st.bytes_copied_device / 1048576.0,
                    st.chunks_resident, st.chunks_staged);
        std::fflush(stdout);
    }
    return 0;
}

} // namespace epic::cli
