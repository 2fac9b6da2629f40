// epic-make-qa-set: the project's own seeded question sets for `epic bench qa`. A developer tool,
// not installed: users of the app have no use for it, and it was `epic bench qa --make-set` before.
//
// A set is JSON lines: {"kind", "question", "answer", "documents": [8 texts], "titles": [8 names]}.
// Kinds: "fact" (a sample-library fact sheet among 7 other sheets), "needle" (a made-up fact
// inserted into one of 8 pieces of longer real prose) and "confusable" (8 project briefs of one
// schema with different values; the question names one brief: what a real library looks like, and
// where reusing each document's cache on its own is hardest). Titles name each document the way
// the app's library would (its file, or what it is), for benches that show or retrieve by title.
//
// The same seed writes the same bytes: the random draws are those of the --make-set version, and
// titles draw none, so sets made before titles existed differ only by the added "titles".
#include "cli/option_checks.h"
#include "common/error.h"
#include "core/json.h"
#include "core/paths.h"
#include "ingest/extract.h"

#include <climits>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>

namespace epic {
namespace {

namespace fs = std::filesystem;

struct make_set_args {
    std::string out;
    std::optional<std::string> facts;  // absent: the sample library shipped with the app
    std::string prose = "/usr/share/common-licenses/GPL-3";
    int count = 200;
    int docs = 8;
    int seed = 1;
    int prose_words = 120;
};

struct qa_item {
    std::string kind, question, answer;
    std::vector<std::string> documents;
    std::vector<std::string> titles; // [documents.size()] one per document, same order
};

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw error(p.string() + ": cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
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
    qa_item it{"confusable", "", "", {}, {}};
    for (size_t d = 0; d < n; ++d) {
        it.documents.push_back("Project brief: " + pn[d] + "\n\nProject " + pn[d] + " is led by " + pl[d] + " and based in " +
                               pc[d] + ". It started in " + years[d] + " with a budget of " +
                               std::to_string(budgets[d]) + " million kroner. Its internal project code is " + pn[d].substr(0, 3) +
                               "-" + std::to_string(codes[d]) + ". The team reports to the steering group every quarter.\n");
        it.titles.push_back("Project brief: " + pn[d]);
    }
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

int make_set(const make_set_args& a) {
    const std::string& out_path = a.out;
    // Default: the sample library shipped with the app (installed or in the source tree).
    fs::path facts_path = "resources/sample-library/facts.json";
    if (auto r = find_resources(current_executable(), build_source_dir())) facts_path = r->facts;
    if (a.facts) facts_path = *a.facts;
    const fs::path prose_path = a.prose;
    const int count = a.count, n_docs = a.docs;
    std::mt19937 rng((uint32_t)a.seed);
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
    const json facts = parse_json_file(facts_path.string());
    if (!facts.is_array()) throw error(facts_path.string() + ": not a JSON array");
    const auto prose = prose_pieces(read_file(prose_path), a.prose_words);
    if ((int)prose.size() < n_docs) throw error(prose_path.string() + ": not enough prose for " + std::to_string(n_docs) + " pieces");
    // Needle pieces are titled by the prose file's name ("GPL-3 part 4" for the default).
    const std::string prose_title = prose_path.filename().string();

    std::vector<qa_item> items;
    std::vector<size_t> order(facts.size());
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    // A third of the questions of each kind (facts and needles take the remainder first).
    const int n_fact = (count + 2) / 3, n_needle = (count + 1) / 3;
    for (size_t i = 0; i < order.size() && (int)items.size() < n_fact; ++i) {
        qa_item it{"fact", "", "", {}, {}};
        std::string src;
        try {
            const json& f = facts[order[i]];
            it.question = json_member<std::string>(f, "question");
            it.answer = json_member<std::string>(f, "answer");
            src = json_member<std::string>(f, "source");
        } catch (const error& e) {
            throw error(facts_path.string() + ": fact " + std::to_string(order[i]) + ": " + e.what());
        }
        if (!docs.count(src)) throw error(facts_path.string() + ": unknown source " + src);
        std::vector<std::string> others;
        for (const auto& n : names)
            if (n != src) others.push_back(n);
        std::shuffle(others.begin(), others.end(), rng);
        std::vector<std::string> picked{src}; // [n_docs] relative paths: the source, then the others
        for (int d = 0; d + 1 < n_docs; ++d) picked.push_back(others[(size_t)d]);
        // Shuffling positions rather than texts: std::shuffle's swaps depend only on the length and
        // the generator, so this is the permutation the texts got before, and titles follow it.
        std::vector<size_t> at(picked.size());
        std::iota(at.begin(), at.end(), 0);
        std::shuffle(at.begin(), at.end(), rng);
        for (size_t p : at) {
            it.documents.push_back(docs[picked[p]]);
            it.titles.push_back(picked[p]);
        }
        items.push_back(std::move(it));
    }
    std::uniform_int_distribution<int> locker(10, 999), code(1000, 9999);
    const size_t facts_made = items.size();
    while (items.size() < facts_made + (size_t)n_needle) {
        const int k = locker(rng), c = code(rng);
        qa_item it{"needle", "What is the access code of locker " + std::to_string(k) + "?", std::to_string(c), {}, {}};
        std::vector<size_t> pick(prose.size());
        std::iota(pick.begin(), pick.end(), 0);
        std::shuffle(pick.begin(), pick.end(), rng);
        for (int d = 0; d < n_docs; ++d) {
            it.documents.push_back(prose[pick[(size_t)d]]);
            it.titles.push_back(prose_title + " part " + std::to_string(pick[(size_t)d] + 1));
        }
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
    auto write_array = [&](const std::vector<std::string>& v) {
        out << "[";
        for (size_t d = 0; d < v.size(); ++d) out << (d ? ", " : "") << json_quote(v[d]);
        out << "]";
    };
    for (const auto& it : items) {
        out << "{\"kind\": " << json_quote(it.kind) << ", \"question\": " << json_quote(it.question)
            << ", \"answer\": " << json_quote(it.answer) << ", \"documents\": ";
        write_array(it.documents);
        out << ", \"titles\": ";
        write_array(it.titles);
        out << "}\n";
    }
    if (!out.flush()) throw error(out_path + ": write failed");
    std::printf("wrote %zu questions (%d documents each) to %s\n", items.size(), n_docs, out_path.c_str());
    return 0;
}

} // namespace
} // namespace epic

int main(int argc, char** argv) {
    using epic::cli::whole_in;
    epic::make_set_args a;
    CLI::App app("write a seeded question set for `epic bench qa --set OUT.jsonl`: a third each of fact, needle and "
                 "confusable questions, --docs documents each",
                 "epic-make-qa-set");
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.add_option("OUT", a.out, "the set to write")->required()->type_name("FILE.jsonl");
    app.add_option("--facts", a.facts,
                   "the sample library's facts.json (default: the one shipped with the app or in this source tree)");
    app.add_option("--prose", a.prose, "long real prose for needle questions")->capture_default_str();
    app.add_option("--count", a.count, "questions")->check(whole_in(1, 1000000))->capture_default_str();
    app.add_option("--docs", a.docs, "documents per question")->check(whole_in(1, 64))->capture_default_str();
    app.add_option("--seed", a.seed, "the seed: the same one writes the same bytes")->check(whole_in(0, INT_MAX))->capture_default_str();
    app.add_option("--prose-words", a.prose_words, "words per needle document")->check(whole_in(1, 100000))->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::fputs(app.help().c_str(), stdout);
        return 0;
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "epic-make-qa-set: error: %s\n%s", e.what(), app.help().c_str());
        return 1;
    }
    try {
        return epic::make_set(a);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "epic-make-qa-set: error: %s\n", e.what());
        return 1;
    }
}
