// epic bench qa: question answering accuracy of each link algorithm over a question set.
//
// A set is JSON lines: {"kind", "question", "answer", "documents": [8 texts], "titles": [8 names]}
// ("titles" optional). tools/make_qa_set (epic-make-qa-set, not installed) writes the project's own
// seeded sets: "fact", "needle" and "confusable" questions.
#include "cli/bench_util.h"
#include "cli/commands.h"
#include "cli/session.h"
#include "common/error.h"
#include "core/read_file.h"
#include "core/json.h"
#include "common/stopwatch.h"
#include "eval/qa_score.h"
#include "generate/generator.h"
#include "library/library.h"
#include "pic/compiler.h"
#include "pic/linker.h"
#include "service/chat_template.h"
#include "service/kv_codec.h"

#include <climits>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>
#include <tuple>

namespace epic::cli {
namespace {

using clock_type = std::chrono::steady_clock;

struct qa_item {
    std::string kind, question, answer;
    std::vector<std::string> documents;
    std::vector<std::string> titles; // [documents.size()] from the set, else "Document N"
};

std::vector<qa_item> read_set(const std::string& path) {
    std::vector<qa_item> items;
    for_each_json_line(path, [&](const json& j) {
        qa_item it;
        it.kind = json_member<std::string>(j, "kind");
        it.question = json_member<std::string>(j, "question");
        it.answer = json_member<std::string>(j, "answer");
        it.documents = json_member<std::vector<std::string>>(j, "documents");
        if (it.question.empty() || it.answer.empty() || it.documents.empty()) throw error("empty field");
        if (j.contains("titles")) {
            it.titles = json_member<std::vector<std::string>>(j, "titles");
            if (it.titles.size() != it.documents.size()) throw error("titles and documents differ in number");
        } else {
            for (size_t d = 0; d < it.documents.size(); ++d) it.titles.push_back("Document " + std::to_string(d + 1));
        }
        items.push_back(std::move(it));
    });
    return items;
}

// One method's per-question results, in question order (paired with the reference's).
struct method_results {
    std::vector<uint8_t> correct;       // [questions] answer contains the gold answer
    std::vector<double> f1;             // [questions] token F1
    std::vector<double> kl;             // [questions] first answer token: KL(reference || method)
    std::vector<uint8_t> top1;          // [questions] first answer token: same argmax as the reference
    std::map<std::string, std::pair<int, int>> by_kind; // kind -> (correct, n)
    double rows = 0.0, total_rows = 0.0, ttft = 0.0;    // sums
    int n() const { return (int)correct.size(); }
};

std::string percent(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f", v);
    return b;
}

// The Markdown table of the closing notes: accuracy, paired difference to the reference with its
// 95% interval, first-token agreement, rows recomputed and TTFT, per method.
std::string markdown_table(const std::vector<std::string>& names, const std::vector<method_results>& res, size_t ref,
                           const std::string& title) {
    std::ostringstream o;
    o << "**" << title << "**\n\n";
    o << "| method | contains % | F1 | Δ contains vs " << names[ref]
      << " (95% CI) | ref-only / method-only | McNemar p | Δ F1 (95% CI) | KL first token | top-1 agree % | rows recomputed % | TTFT ms |\n";
    o << "|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (size_t pi = 0; pi < names.size(); ++pi) {
        const method_results& r = res[pi];
        if (r.n() == 0) continue;
        const double acc = 100.0 * std::accumulate(r.correct.begin(), r.correct.end(), 0) / r.n();
        const double f1 = 100.0 * std::accumulate(r.f1.begin(), r.f1.end(), 0.0) / r.n();
        o << "| " << names[pi] << " | " << percent(acc) << " | " << percent(f1) << " | ";
        if (pi == ref) {
            o << "reference | | | | | | ";
        } else {
            const paired_result c = compare_paired(res[ref].correct, r.correct);
            const paired_result cf = compare_paired_values(res[ref].f1, r.f1);
            char b[256];
            std::snprintf(b, sizeof b, "%+.1f [%+.1f, %+.1f] | %d / %d | %.3g | %+.1f [%+.1f, %+.1f] | %.4f | %.1f | ", c.diff,
                          c.ci_low, c.ci_high, c.ref_only, c.method_only, c.mcnemar_p, cf.diff, cf.ci_low, cf.ci_high,
                          std::accumulate(r.kl.begin(), r.kl.end(), 0.0) / r.n(),
                          100.0 * std::accumulate(r.top1.begin(), r.top1.end(), 0) / r.n());
            o << b;
        }
        o << percent(100.0 * r.rows / std::max(1.0, r.total_rows)) << " | " << percent(1e3 * r.ttft / r.n()) << " |\n";
    }
    return o.str();
}

} // namespace

int cmd_bench_qa(const bench_qa_args& a) {
    auto items = read_set(a.set);
    // Each question's documents are laid out as the service lays out what it retrieves (--order
    // retrieval, the default): ranked by the library's BM25 (storage::rank_texts), the best nearest the
    // question, which designs such as +last-N rely on. --order set keeps the set's order.
    const std::string& order = a.order;
    if (order == "retrieval")
        for (qa_item& it : items) {
            const std::vector<int> rank = storage::rank_texts(it.question, it.documents);
            qa_item laid = it;
            for (size_t d = 0; d < rank.size(); ++d) {
                laid.documents[rank.size() - 1 - d] = it.documents[(size_t)rank[d]];
                laid.titles[rank.size() - 1 - d] = it.titles[(size_t)rank[d]];
            }
            it = std::move(laid);
        }
    session s = open_session(a.session);
    const model& m = *s.mdl;
    const chat_template tmpl = a.chat_template ? chat_template_named(*a.chat_template) : chat_template_for(m);
    std::vector<link_policy> policies;
    for (const auto& n : split_list(a.algos)) policies.push_back(link_policy::parse(n));
    // The reference of the paired comparisons: --reference, else the first full recompute listed.
    size_t ref = policies.size();
    const std::string ref_name = a.reference.value_or("");
    for (size_t pi = 0; pi < policies.size() && ref == policies.size(); ++pi)
        if (ref_name.empty() ? policies[pi].algo == link_policy::algorithm::full : policies[pi].name() == link_policy::parse(ref_name).name())
            ref = pi;
    if (ref == policies.size()) {
        policies.insert(policies.begin(), link_policy::parse(ref_name.empty() ? "full" : ref_name));
        ref = 0;
    }
    // Quantized methods (+kv-q8, +kv-q4) use the format's group, or each of --kv-groups (a list:
    // one method per group, named <policy>@g<G>, to measure group sizes against each other), and
    // quantize K and V, or what each of --kv-parts names (a list of kv: both, k: K only, v: V only,
    // k8: K at 8 bits and V in the method's format; methods named <policy>@<part>): to find out which
    // of K and V a format's cost comes from.
    std::vector<int> group_list{kv_quant_group};
    if (const auto& g = a.kv_groups) {
        group_list.clear();
        for (const auto& v : split_list(*g)) {
            int n = 0;
            try {
                n = std::stoi(v);
            } catch (const std::exception&) {
            }
            if (n < 2 || n > 4096 || n % 2) throw error("--kv-groups: '" + v + "' is not an even group size in 2..4096");
            group_list.push_back(n);
        }
        if (group_list.empty()) throw error("--kv-groups: no group sizes");
    }
    std::vector<std::string> names; // [methods]
    std::vector<int> groups;        // [methods] quantization group (0: f16)
    std::vector<std::string> parts; // [methods] kv, k, v, k8 (--kv-parts)
    const std::vector<std::string> part_list = split_list(a.kv_parts.value_or("kv"));
    for (const auto& pt : part_list)
        if (pt != "kv" && pt != "k" && pt != "v" && pt != "k8") throw error("--kv-parts: '" + pt + "' is not kv, k, v or k8");
    if (part_list.empty()) throw error("--kv-parts: nothing to quantize");
    // --oracle gold,others: each method again with the chunks that hold the answer (gold), or every
    // other chunk (others), recomputed in full: which chunks' cached rows the method's loss comes from.
    std::vector<std::string> oracles; // [methods] "", gold, others
    const std::vector<std::string> oracle_list = split_list(a.oracle);
    for (const auto& o : oracle_list)
        if (o != "gold" && o != "others") throw error("--oracle: '" + o + "' is not gold or others");
    {
        std::vector<link_policy> expanded;
        size_t new_ref = 0;
        for (size_t pi = 0; pi < policies.size(); ++pi) {
            const link_policy& p = policies[pi];
            if (p.kv == kv_format::f16) {
                if (pi == ref) new_ref = expanded.size();
                expanded.push_back(p);
                names.push_back(p.name());
                groups.push_back(0);
                parts.push_back("");
                oracles.push_back("");
                if (pi != ref && p.algo != link_policy::algorithm::full)
                    for (const auto& o : oracle_list) {
                        expanded.push_back(p);
                        names.push_back(p.name() + "@" + o);
                        groups.push_back(0);
                        parts.push_back("");
                        oracles.push_back(o);
                    }
                continue;
            }
            for (int g : group_list)
                for (const auto& pt : part_list) {
                    if (pt == "k8" && p.kv == kv_format::q8 && part_list.size() > 1) continue; // the same as kv
                    if (pi == ref && g == group_list[0] && pt == part_list[0]) new_ref = expanded.size();
                    expanded.push_back(p);
                    names.push_back(p.name() + (a.kv_groups ? "@g" + std::to_string(g) : "") + (a.kv_parts ? "@" + pt : ""));
                    groups.push_back(g);
                    parts.push_back(pt);
                    oracles.push_back("");
                }
        }
        policies = std::move(expanded);
        ref = new_ref;
    }
    const int limit = std::min((int)items.size(), a.limit.value_or((int)items.size()));
    const std::string system_text = a.system.value_or(default_qa_system_prompt);
    const auto sys_tokens = tmpl.system_segment(*s.tok, m, system_text);
    const chunk_cache sys_cache = compile_chunk(*s.tf, sys_tokens, s.tok->bos(), compile_options::standalone(0));
    generation_params gp;
    gp.max_tokens = a.tokens;
    gp.sampling.temperature = 0.0f;
    gp.stop_tokens = tmpl.stop_tokens(*s.tok, m);
    // (framed text, sinks, context-compiled) -> compiled once; bounded, since needle and confusable
    // documents never repeat. A method with quantized caches (+kv-q8, +kv-q4) links what loading its
    // stored blob would give: the f16 compile of the same scheme through the format and back
    // (chunk_cache_to_blob / chunk_cache_from_blob), kept in `stored`.
    std::map<std::tuple<std::string, int, bool>, chunk_cache> caches;
    std::map<std::tuple<std::string, int, bool, kv_format, int, std::string>, chunk_cache> stored;
    linker lk(*s.tf);
    generator gen(*s.tf, *s.tok);
    std::vector<method_results> res(policies.size());
    auto title = [&](int answered) {
        char b[512];
        std::snprintf(b, sizeof b, "model %s (%s template), %d questions, %zu documents each%s, greedy, %d tokens max, [%s]",
                      m.config().name.c_str(), tmpl.name.c_str(), answered, items[0].documents.size(),
                      order == "retrieval" ? " (retrieval order: best last)" : " (the set's order)", gp.max_tokens,
                      s.be->name().c_str());
        std::string t = b;
        if (std::any_of(policies.begin(), policies.end(), [](const link_policy& p) { return p.kv != kv_format::f16; }))
            t += ", quantized KV in groups of " + a.kv_groups.value_or(std::to_string(kv_quant_group));
        return t;
    };
    auto print_table = [&](int answered) {
        std::printf("%s\n", title(answered).c_str());
        std::printf("%-28s %9s %7s %10s %10s %11s   %s\n", "algorithm", "contains", "F1", "recomputed", "of rows", "ttft_ms",
                    "contains by kind");
        for (size_t pi = 0; pi < policies.size(); ++pi) {
            const method_results& r = res[pi];
            if (r.n() == 0) continue;
            std::string kinds;
            for (const auto& [k, v] : r.by_kind) kinds += k + " " + std::to_string(100 * v.first / std::max(1, v.second)) + "% ";
            std::printf("%-28s %8.1f%% %6.1f%% %10.1f %10.1f %11.1f   %s\n", names[pi].c_str(),
                        100.0 * std::accumulate(r.correct.begin(), r.correct.end(), 0) / r.n(),
                        100.0 * std::accumulate(r.f1.begin(), r.f1.end(), 0.0) / r.n(), r.rows / r.n(), r.total_rows / r.n(),
                        1e3 * r.ttft / r.n(), kinds.c_str());
        }
        std::fflush(stdout);
    };
    const int report_every = a.report_every;
    const bool verbose = a.verbose;
    const auto t_start = clock_type::now();
    for (int i = 0; i < limit; ++i) {
        const qa_item& it = items[(size_t)i];
        if (caches.size() > 256) caches.clear();
        if (stored.size() > 256) stored.clear();
        std::vector<std::vector<float>> first_logits(policies.size());
        // The reference first, so every method's first token is compared with it.
        std::vector<size_t> order{ref};
        for (size_t pi = 0; pi < policies.size(); ++pi)
            if (pi != ref) order.push_back(pi);
        for (size_t pi : order) {
            const link_policy& p = policies[pi];
            link_input in;
            in.system = &sys_cache;
            for (size_t d = 0; d < it.documents.size(); ++d) {
                const std::string text = p.chunk_text(it.titles[d], it.documents[d]);
                const auto key = std::make_tuple(text, p.sink_tokens(), p.context_compiled);
                auto found = caches.find(key);
                if (found == caches.end())
                    found = caches
                                .emplace(key, compile_chunk(*s.tf, s.tok->encode(text, false), s.tok->bos(),
                                                            p.chunk_compile_options(),
                                                            p.context_compiled ? std::span<const int32_t>(sys_tokens)
                                                                               : std::span<const int32_t>()))
                                .first;
                if (p.kv != kv_format::f16) {
                    const auto skey = std::tuple_cat(key, std::make_tuple(p.kv, groups[pi], parts[pi]));
                    auto q = stored.find(skey);
                    if (q == stored.end()) {
                        chunk_cache c = found->second;
                        c.options.format = p.kv;
                        q = stored.emplace(skey, chunk_cache_from_blob(chunk_cache_to_blob(c, "bench", groups[pi]), "bench")).first;
                        if (parts[pi] == "k") q->second.v = found->second.v; // V stays f16
                        if (parts[pi] == "v") q->second.k = found->second.k; // K stays f16
                        if (parts[pi] == "k8") {
                            c.options.format = kv_format::q8;
                            q->second.k = chunk_cache_from_blob(chunk_cache_to_blob(c, "bench", groups[pi]), "bench").k;
                        }
                    }
                    in.chunks.push_back(&q->second);
                    continue;
                }
                in.chunks.push_back(&found->second);
            }
            if (!oracles[pi].empty())
                for (size_t d = 0; d < it.documents.size(); ++d)
                    if (answer_contains(it.documents[d], it.answer) == (oracles[pi] == "gold")) in.recompute_whole.push_back((int)d);
            in.question = tmpl.question_segment(*s.tok, m, it.question);
            const auto t0 = clock_type::now();
            link_result r = lk.link(in, p, gp.max_tokens + 1);
            double ttft = 0.0;
            const generation_result g = gen.continue_from(*r.kv, r.logits, gp, [&](int32_t, const std::string&) {
                if (ttft == 0.0) ttft = seconds_since(t0);
                return true;
            });
            if (ttft == 0.0) ttft = seconds_since(t0);
            const bool correct = answer_contains(g.text, it.answer);
            method_results& mr = res[pi];
            mr.correct.push_back(correct);
            mr.f1.push_back(token_f1(g.text, it.answer));
            first_logits[pi] = std::move(r.logits);
            const token_agreement t = compare_logits(first_logits[ref], first_logits[pi]);
            mr.kl.push_back(t.kl);
            mr.top1.push_back(t.top1_same);
            mr.by_kind[it.kind].first += correct;
            mr.by_kind[it.kind].second += 1;
            mr.rows += r.stats.recomputed_rows();
            mr.total_rows += r.stats.n_rows;
            mr.ttft += ttft;
            if (verbose)
                std::fprintf(stderr, "[%d %s] %s -> %s (want %s)%s, KL %.3g\n", i, names[pi].c_str(), it.question.c_str(),
                             g.text.c_str(), it.answer.c_str(), correct ? " ok" : "", t.kl);
        }
        std::fprintf(stderr, "\r%d/%d questions, %.0f s", i + 1, limit, seconds_since(t_start));
        if (report_every > 0 && (i + 1) % report_every == 0 && i + 1 < limit) print_table(i + 1);
    }
    std::fprintf(stderr, "\n");
    print_table(limit);
    const std::string md = markdown_table(names, res, ref, title(limit));
    if (const auto& path = a.markdown) {
        std::ofstream out(*path);
        if (!(out << md)) throw error(*path + ": cannot write");
    }
    std::printf("\n%s", md.c_str());
    return 0;
}

} // namespace epic::cli
