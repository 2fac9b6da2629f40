// epic bench qa: question answering accuracy of each link algorithm over a question set.
//
// A set is JSON lines: {"kind", "question", "answer", "documents": [8 texts], "titles": [8 names]}
// ("titles" optional). tools/make_qa_set (epic-make-qa-set, not installed) writes the project's own
// seeded sets: "fact", "needle" and "confusable" questions.
#include "cli/args.h"
#include "cli/bench_util.h"
#include "cli/commands.h"
#include "cli/session.h"
#include "core/error.h"
#include "core/json.h"
#include "eval/qa_score.h"
#include "generate/generator.h"
#include "pic/compiler.h"
#include "pic/linker.h"
#include "service/chat_template.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>

namespace epic::cli {
namespace {

using clock_type = std::chrono::steady_clock;

struct qa_item {
    std::string kind, question, answer;
    std::vector<std::string> documents;
    std::vector<std::string> titles; // [documents.size()] from the set, else "Document N"
};

std::vector<qa_item> read_set(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw error(path + ": cannot open the question set");
    std::vector<qa_item> items;
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        try {
            const json j = json::parse(line);
            qa_item it;
            it.kind = j["kind"].str;
            it.question = j["question"].str;
            it.answer = j["answer"].str;
            for (const auto& d : j["documents"].arr) it.documents.push_back(d.str);
            if (it.question.empty() || it.answer.empty() || it.documents.empty()) throw error("empty field");
            if (j.obj.count("titles")) {
                for (const auto& t : j["titles"].arr) it.titles.push_back(t.str);
                if (it.titles.size() != it.documents.size()) throw error("titles and documents differ in number");
            } else {
                for (size_t d = 0; d < it.documents.size(); ++d) it.titles.push_back("Document " + std::to_string(d + 1));
            }
            items.push_back(std::move(it));
        } catch (const std::exception& e) {
            throw error(path + ": line " + std::to_string(n) + ": " + e.what());
        }
    }
    if (items.empty()) throw error(path + ": no questions");
    return items;
}

struct algo_score {
    int n = 0, exact = 0, contains = 0;
    std::map<std::string, std::pair<int, int>> by_kind; // kind -> (contains, n)
    double rows = 0.0, total_rows = 0.0, ttft = 0.0;
};


} // namespace

int cmd_bench_qa(int argc, char** argv) {
    args a(argc, argv, 3, {"verbose"});
    auto known = session_options();
    known.insert({"set", "algos", "limit", "tokens", "verbose", "template", "system", "report-every"});
    a.allow_only(known);
    const auto items = read_set(a.require("set"));
    session s = open_session(a);
    const model& m = *s.mdl;
    const chat_template tmpl = a.has("template") ? chat_template_named(*a.get("template")) : chat_template_for(m);
    std::vector<link_policy> policies;
    for (const auto& n : split_list(a.get_or("algos", "full,naive,legolink-16,cacheblend-0.15"))) policies.push_back(link_policy::parse(n));
    const int limit = std::min((int)items.size(), a.get_int("limit", (int)items.size()));
    const std::string system_text =
        a.get_or("system", "Answer the question at the end using the documents. Reply with the answer only, in a few words.");
    const auto sys_tokens = tmpl.system_segment(*s.tok, m, system_text);
    const chunk_cache sys_cache = compile_chunk(*s.tf, sys_tokens, s.tok->bos(), compile_options(0));
    generation_params gp;
    gp.max_tokens = a.get_int("tokens", 16);
    gp.sampling.temperature = 0.0f;
    gp.stop_tokens = tmpl.stop_tokens(*s.tok, m);
    std::map<std::pair<std::string, int>, chunk_cache> caches; // (text, sinks) -> compiled once
    linker lk(*s.tf);
    generator gen(*s.tf, *s.tok);
    std::vector<algo_score> scores(policies.size());
    auto print_table = [&](int answered) {
        std::printf("model %s (%s template), %d questions, %zu documents each, greedy, %d tokens max, [%s]\n",
                    m.config().name.c_str(), tmpl.name.c_str(), answered, items[0].documents.size(), gp.max_tokens,
                    s.be->name().c_str());
        std::printf("%-16s %8s %9s %10s %10s %11s   %s\n", "algorithm", "exact", "contains", "recomputed", "of rows", "ttft_ms",
                    "contains by kind");
        for (size_t pi = 0; pi < policies.size(); ++pi) {
            const algo_score& sc = scores[pi];
            if (sc.n == 0) continue;
            std::string kinds;
            for (const auto& [k, v] : sc.by_kind)
                kinds += k + " " + std::to_string(100 * v.first / std::max(1, v.second)) + "% ";
            std::printf("%-16s %7.1f%% %8.1f%% %10.1f %10.1f %11.1f   %s\n", policies[pi].name().c_str(),
                        100.0 * sc.exact / sc.n, 100.0 * sc.contains / sc.n, sc.rows / sc.n, sc.total_rows / sc.n,
                        1e3 * sc.ttft / sc.n, kinds.c_str());
        }
        std::fflush(stdout);
    };
    const int report_every = a.get_int("report-every", 0);
    const bool verbose = a.has("verbose");
    const auto t_start = clock_type::now();
    for (int i = 0; i < limit; ++i) {
        const qa_item& it = items[(size_t)i];
        const std::string want = normalize_answer(it.answer);
        for (size_t pi = 0; pi < policies.size(); ++pi) {
            const link_policy& p = policies[pi];
            link_input in;
            in.system = &sys_cache;
            for (const auto& d : it.documents) {
                auto key = std::make_pair(d, p.sink_tokens());
                auto found = caches.find(key);
                if (found == caches.end())
                    found = caches.emplace(key, compile_chunk(*s.tf, s.tok->encode(d, false), s.tok->bos(), compile_options(p.sink_tokens()))).first;
                in.chunks.push_back(&found->second);
            }
            in.question = tmpl.question_segment(*s.tok, m, it.question);
            const auto t0 = clock_type::now();
            link_result r = lk.link(in, p, gp.max_tokens + 1);
            double ttft = 0.0;
            const generation_result g = gen.continue_from(*r.kv, r.logits, gp, [&](int32_t, const std::string&) {
                if (ttft == 0.0) ttft = std::chrono::duration<double>(clock_type::now() - t0).count();
                return true;
            });
            if (ttft == 0.0) ttft = std::chrono::duration<double>(clock_type::now() - t0).count();
            std::string answer = g.text;
            const std::string got = normalize_answer(answer.substr(0, answer.find('\n')));
            const bool exact = got == want;
            const bool contains = (" " + normalize_answer(answer) + " ").find(" " + want + " ") != std::string::npos;
            algo_score& sc = scores[pi];
            ++sc.n;
            sc.exact += exact;
            sc.contains += contains;
            sc.by_kind[it.kind].first += contains;
            sc.by_kind[it.kind].second += 1;
            sc.rows += r.stats.recomputed_rows();
            sc.total_rows += r.stats.n_rows;
            sc.ttft += ttft;
            if (verbose)
                std::fprintf(stderr, "[%d %s] %s -> %s (want %s)%s\n", i, p.name().c_str(), it.question.c_str(),
                             answer.c_str(), it.answer.c_str(), contains ? " ok" : "");
        }
        std::fprintf(stderr, "\r%d/%d questions, %.0f s", i + 1, limit,
                     std::chrono::duration<double>(clock_type::now() - t_start).count());
        if (report_every > 0 && (i + 1) % report_every == 0 && i + 1 < limit) print_table(i + 1);
    }
    std::fprintf(stderr, "\n");
    print_table(limit);
    return 0;
}

} // namespace epic::cli
