// epic bench qa: question answering accuracy of each link algorithm over a question set, and
// epic bench qa --make-set: the project's own seeded question sets.
//
// A set is JSON lines: {"kind", "question", "answer", "documents": [8 texts]}. Kinds: "fact"
// (a sample-library fact sheet among 7 other sheets), "needle" (a made-up fact inserted into one
// of 8 pieces of longer real prose) and "confusable" (8 project briefs of one schema with different
// values; the question names one brief: what a real library looks like, and where reusing each
// document's cache on its own is hardest).
#include "cli/args.h"
#include "cli/bench_util.h"
#include "cli/commands.h"
#include "cli/session.h"
#include "core/error.h"
#include "core/json.h"
#include "core/paths.h"
#include "eval/qa_score.h"
#include "generate/generator.h"
#include "ingest/extract.h"
#include "pic/compiler.h"
#include "pic/linker.h"
#include "service/chat_template.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <sstream>

namespace epic::cli {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

struct qa_item {
    std::string kind, question, answer;
    std::vector<std::string> documents;
};

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw error(p.string() + ": cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

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
            items.push_back(std::move(it));
        } catch (const std::exception& e) {
            throw error(path + ": line " + std::to_string(n) + ": " + e.what());
        }
    }
    if (items.empty()) throw error(path + ": no questions");
    return items;
}

// Pieces of about `words` words, cut at paragraph ends.
std::vector<std::string> prose_pieces(const std::string& text, int words) {
    std::vector<std::string> pieces;
    std::string cur;
    int count = 0;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        const bool blank = line.find_first_not_of(" \t\r") == std::string::npos;
        if (blank && count >= words) {
            pieces.push_back(cur);
            cur.clear();
            count = 0;
            continue;
        }
        cur += line + "\n";
        std::istringstream ws(line);
        std::string w;
        while (ws >> w) ++count;
    }
    if (count > words / 2) pieces.push_back(cur);
    return pieces;
}

// A confusable question: 8 project briefs with the same fields and different values, in random
// order; the question asks one field of one named project.
qa_item confusable_item(std::mt19937& rng, int n_docs) {
    static const std::vector<std::string> names = {"Aurora", "Basalt", "Cormorant", "Delta", "Eider", "Fjord", "Glacier",
                                                   "Heron", "Islet", "Juniper", "Kelp", "Lantern", "Meridian", "Nordlys",
                                                   "Osprey", "Pelican", "Quartz", "Reef", "Skerry", "Tern"};
    static const std::vector<std::string> leads = {"Astrid Holm", "Bjorn Eriksen", "Carla Mendes", "Dmitri Volkov",
                                                   "Elena Rossi", "Farid Nasser", "Greta Lund", "Hiro Sato",
                                                   "Ines Duarte", "Jonas Berg", "Kari Nilsen", "Lucas Meyer"};
    static const std::vector<std::string> cities = {"Bergen", "Tromso", "Stavanger", "Aberdeen", "Reykjavik", "Gdansk",
                                                    "Hamburg", "Lisbon", "Halifax", "Cork", "Aarhus", "Brest"};
    auto pick = [&](const std::vector<std::string>& v, size_t n) {
        std::vector<std::string> c = v;
        std::shuffle(c.begin(), c.end(), rng);
        c.resize(n);
        return c;
    };
    const size_t n = (size_t)n_docs;
    if (n > leads.size()) throw error("confusable questions: at most " + std::to_string(leads.size()) + " documents");
    const auto pn = pick(names, n), pl = pick(leads, n), pc = pick(cities, n);
    // Distinct years and codes too, so the answer is in the named brief only.
    std::vector<std::string> year_pool;
    for (int y = 2005; y <= 2024; ++y) year_pool.push_back(std::to_string(y));
    const auto years = pick(year_pool, n);
    std::vector<int> budgets, codes;
    std::uniform_int_distribution<int> budget(2, 95), code(100, 999);
    for (size_t d = 0; d < n; ++d) {
        budgets.push_back(budget(rng));
        int c = code(rng);
        while (std::find(codes.begin(), codes.end(), c) != codes.end()) c = code(rng);
        codes.push_back(c);
    }
    qa_item it{"confusable", "", "", {}};
    for (size_t d = 0; d < n; ++d)
        it.documents.push_back("Project brief: " + pn[d] + "\n\nProject " + pn[d] + " is led by " + pl[d] + " and based in " +
                               pc[d] + ". It started in " + years[d] + " with a budget of " +
                               std::to_string(budgets[d]) + " million kroner. Its internal project code is " + pn[d].substr(0, 3) +
                               "-" + std::to_string(codes[d]) + ". The team reports to the steering group every quarter.\n");
    const size_t t = rng() % n;
    switch (rng() % 4) {
    case 0: it.question = "Who leads project " + pn[t] + "?"; it.answer = pl[t]; break;
    case 1: it.question = "In which city is project " + pn[t] + " based?"; it.answer = pc[t]; break;
    case 2: it.question = "In which year did project " + pn[t] + " start?"; it.answer = years[t]; break;
    default:
        it.question = "What is the internal project code of project " + pn[t] + "?";
        it.answer = pn[t].substr(0, 3) + "-" + std::to_string(codes[t]);
        break;
    }
    return it;
}

int make_set(const args& a) {
    const std::string out_path = a.require("make-set");
    // Default: the sample library shipped with the app (installed or in the source tree).
    fs::path facts_path = "resources/sample-library/facts.json";
    if (auto r = find_resources(current_executable(), build_source_dir())) facts_path = r->facts;
    if (auto f = a.get("facts")) facts_path = *f;
    const fs::path prose_path = a.get_or("prose", "/usr/share/common-licenses/GPL-3");
    const int count = a.get_int("count", 200), n_docs = a.get_int("docs", 8);
    std::mt19937 rng((uint32_t)a.get_int("seed", 1));
    // The sample library's documents, as the app would extract them.
    const fs::path lib = facts_path.parent_path();
    std::map<std::string, std::string> docs; // relative path -> text
    for (const auto& e : fs::recursive_directory_iterator(lib)) {
        if (!e.is_regular_file()) continue;
        const auto kind = storage::document_kind(e.path());
        if (!kind) continue;
        const std::string bytes = read_file(e.path());
        docs[fs::relative(e.path(), lib).generic_string()] =
            storage::extract_document(e.path(), std::as_bytes(std::span(bytes.data(), bytes.size())), *kind).text;
    }
    if ((int)docs.size() < n_docs) throw error(lib.string() + ": fewer than " + std::to_string(n_docs) + " documents");
    std::vector<std::string> names;
    for (const auto& [k, v] : docs) names.push_back(k);
    const json facts = json::parse_file(facts_path.string());
    const auto prose = prose_pieces(read_file(prose_path), a.get_int("prose-words", 120));
    if ((int)prose.size() < n_docs) throw error(prose_path.string() + ": not enough prose for " + std::to_string(n_docs) + " pieces");

    std::vector<qa_item> items;
    std::vector<size_t> order(facts.arr.size());
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    // A third of the questions of each kind (facts and needles take the remainder first).
    const int n_fact = (count + 2) / 3, n_needle = (count + 1) / 3;
    for (size_t i = 0; i < order.size() && (int)items.size() < n_fact; ++i) {
        const json& f = facts.arr[order[i]];
        qa_item it{"fact", f["question"].str, f["answer"].str, {}};
        const std::string src = f["source"].str;
        if (!docs.count(src)) throw error(facts_path.string() + ": unknown source " + src);
        std::vector<std::string> others;
        for (const auto& n : names)
            if (n != src) others.push_back(n);
        std::shuffle(others.begin(), others.end(), rng);
        it.documents.push_back(docs[src]);
        for (int d = 0; d + 1 < n_docs; ++d) it.documents.push_back(docs[others[(size_t)d]]);
        std::shuffle(it.documents.begin(), it.documents.end(), rng);
        items.push_back(std::move(it));
    }
    std::uniform_int_distribution<int> locker(10, 999), code(1000, 9999);
    const size_t facts_made = items.size();
    while (items.size() < facts_made + (size_t)n_needle) {
        const int k = locker(rng), c = code(rng);
        qa_item it{"needle", "What is the access code of locker " + std::to_string(k) + "?", std::to_string(c), {}};
        std::vector<size_t> pick(prose.size());
        std::iota(pick.begin(), pick.end(), 0);
        std::shuffle(pick.begin(), pick.end(), rng);
        for (int d = 0; d < n_docs; ++d) it.documents.push_back(prose[pick[(size_t)d]]);
        // The needle goes after a random sentence of one piece.
        std::string& hay = it.documents[rng() % (size_t)n_docs];
        std::vector<size_t> ends;
        for (size_t p = hay.find(". "); p != std::string::npos; p = hay.find(". ", p + 2)) ends.push_back(p + 2);
        const size_t at = ends.empty() ? hay.size() : ends[rng() % ends.size()];
        hay.insert(at, "The access code of locker " + std::to_string(k) + " is " + std::to_string(c) + ". ");
        items.push_back(std::move(it));
    }
    while ((int)items.size() < count) items.push_back(confusable_item(rng, n_docs));
    // Kinds interleaved, so any first N questions (--limit, a run cut short) cover all of them.
    std::shuffle(items.begin(), items.end(), rng);
    std::ofstream out(out_path);
    if (!out) throw error(out_path + ": cannot write");
    for (const auto& it : items) {
        out << "{\"kind\": " << json_quote(it.kind) << ", \"question\": " << json_quote(it.question)
            << ", \"answer\": " << json_quote(it.answer) << ", \"documents\": [";
        for (size_t d = 0; d < it.documents.size(); ++d) out << (d ? ", " : "") << json_quote(it.documents[d]);
        out << "]}\n";
    }
    std::printf("wrote %zu questions (%d documents each) to %s\n", items.size(), n_docs, out_path.c_str());
    return 0;
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
    known.insert({"set", "algos", "limit", "tokens", "make-set", "facts", "prose", "count", "docs", "seed", "prose-words",
                  "verbose", "template", "system", "report-every"});
    a.allow_only(known);
    if (a.has("make-set")) return make_set(a);
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
    const chunk_cache sys_cache = compile_chunk(*s.tf, sys_tokens, s.tok->bos(), {0});
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
                    found = caches.emplace(key, compile_chunk(*s.tf, s.tok->encode(d, false), s.tok->bos(), {p.sink_tokens()})).first;
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
