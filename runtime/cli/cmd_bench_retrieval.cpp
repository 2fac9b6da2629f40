// epic bench retrieval: recall@1/@4/@8 and MRR of BM25, dense and hybrid retrieval on question sets
// with the document that answers each, and the time per query; --search-chunks N times dense and
// hybrid search over N synthetic chunks (the query-time goal at 10,000 and 100,000 chunks).
#include "cli/bench_util.h"
#include "cli/commands.h"
#include "common/error.h"
#include "core/json.h"
#include "core/paths.h"
#include "common/stopwatch.h"
#include "embed/embedder_files.h"
#include "embed/sentence_embedder.h"
#include "ingest/ingestor.h"
#include "library/library.h"
#include "service/retriever.h"

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include <unistd.h>

namespace epic::cli {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

std::string lower(std::string s) {
    for (char& c : s) c = (char)std::tolower((unsigned char)c);
    return s;
}

// One question and the documents that answer it (paths relative to the library's root folder).
struct retrieval_item {
    std::string kind, question, answer;
    std::set<std::string> gold; // relative paths
    // QA-set items: the question searches only its own documents (relative paths), as bench qa lays
    // them out; their project briefs reuse names across items, so a pooled search would be ambiguous.
    std::set<std::string> own;
};

// Reads either layout: the hand-written sets ({"question", "document", "kind"}, documents under
// --docs) or the QA sets of tools/make_qa_set ({"question", "answer", "documents", "titles"}), whose
// documents are pooled into one folder (a file per distinct document) so each question searches all
// of them once, but each question ranks only its own (the chunks of other items are skipped); its gold
// documents are those of its own that contain the answer.
std::vector<retrieval_item> read_items(const std::string& set, const fs::path& pool_dir, fs::path* docs_root) {
    std::vector<retrieval_item> items;
    std::map<std::string, std::string> pooled; // text -> relative file name
    for_each_json_line(set, [&](const json& j) {
        retrieval_item it;
        it.question = json_member<std::string>(j, "question");
        it.kind = j.contains("kind") ? json_member<std::string>(j, "kind") : std::string("all");
        if (j.contains("answer")) it.answer = json_member<std::string>(j, "answer");
        if (j.contains("document")) {
            it.gold.insert(json_member<std::string>(j, "document"));
        } else {
            const std::string answer = lower(json_member<std::string>(j, "answer"));
            for (const std::string& d : json_member<std::vector<std::string>>(j, "documents")) {
                auto p = pooled.find(d);
                if (p == pooled.end()) {
                    const std::string name = "doc" + std::to_string(pooled.size()) + ".txt";
                    std::ofstream(pool_dir / name, std::ios::binary) << d;
                    p = pooled.emplace(d, name).first;
                }
                it.own.insert(p->second);
                if (lower(d).find(answer) != std::string::npos) it.gold.insert(p->second);
            }
            *docs_root = pool_dir;
        }
        if (it.question.empty() || it.gold.empty()) throw error("no question, or no document answers it");
        items.push_back(std::move(it));
    });
    return items;
}

struct mode_scores {
    std::map<std::string, std::vector<int>> ranks; // kind -> [questions] 1-based rank of the first gold hit (0: none in the top 8)
    std::vector<double> seconds;
};

void print_table(const std::vector<std::pair<std::string, mode_scores>>& modes, std::FILE* out) {
    std::fprintf(out, "| retrieval | questions | n | recall@1 | recall@4 | recall@8 | MRR | ms / query (median) |\n");
    std::fprintf(out, "|---|---|---|---|---|---|---|---|\n");
    for (const auto& [name, s] : modes)
        for (const auto& [kind, r] : s.ranks) {
            auto recall = [&](int k) {
                return 100.0 * (double)std::count_if(r.begin(), r.end(), [k](int x) { return x > 0 && x <= k; }) / (double)r.size();
            };
            double mrr = 0;
            for (int x : r) mrr += x > 0 ? 1.0 / x : 0.0;
            std::fprintf(out, "| %s | %s | %zu | %.1f | %.1f | %.1f | %.3f | %.1f |\n", name.c_str(), kind.c_str(), r.size(), recall(1),
                         recall(4), recall(8), mrr / (double)r.size(), 1e3 * median(s.seconds));
        }
}

// Dense and hybrid search over n synthetic chunks with random unit vectors: the query time the
// library's size costs. With an embedder, also a question's whole search as the service runs it:
// embedding the question, then hybrid search over the vectors.
void time_search(int n, int dim, sentence_embedder* emb) {
    const fs::path dir = fs::temp_directory_path() / ("epic-bench-retrieval-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    {
        storage::library lib(dir / "library.db");
        std::mt19937 rng(1);
        std::normal_distribution<float> g;
        // Text shaped like prose: function words (in every chunk, as in real text) between content
        // words drawn from a Zipf distribution over 30,000 words, so BM25's postings are as long as a
        // real library's rather than one list per word spanning every chunk.
        static const char* function_words[] = {"the", "of", "and", "a", "to", "in", "is", "it", "that", "for"};
        std::vector<double> zipf(30000);
        for (size_t r = 0; r < zipf.size(); ++r) zipf[r] = 1.0 / std::pow((double)r + 1.0, 1.07);
        std::discrete_distribution<int> content(zipf.begin(), zipf.end());
        auto content_word = [&] { return "w" + std::to_string(content(rng)); };
        const int per_doc = 100;
        std::vector<float> v((size_t)dim);
        for (int d = 0; d * per_doc < n; ++d) {
            const auto id = lib.ensure_document("/bench/doc" + std::to_string(d) + ".txt", "txt");
            std::vector<storage::chunk_record> chunks;
            for (int c = 0; c < per_doc && d * per_doc + c < n; ++c) {
                storage::chunk_record ch;
                for (int w = 0; w < 300; ++w)
                    ch.text += (w % 5 < 2 ? std::string(function_words[rng() % 10]) : content_word()) + " ";
                ch.text += "serial" + std::to_string(d * per_doc + c);
                ch.char_end = (int64_t)ch.text.size();
                chunks.push_back(std::move(ch));
            }
            storage::document_meta meta;
            meta.content_hash = "bench" + std::to_string(d);
            meta.kind = "txt";
            lib.replace_chunks(id, meta, chunks);
            lib.db().exec("BEGIN"); // one transaction per document's vectors, not one per vector
            for (const auto& ch : lib.chunks_of(id)) {
                double norm = 0;
                for (float& x : v) {
                    x = g(rng);
                    norm += (double)x * x;
                }
                for (float& x : v) x = (float)(x / std::sqrt(norm));
                lib.put_chunk_vector(ch.id, "bench", v);
            }
            lib.db().exec("COMMIT");
        }
        std::vector<double> dense, hybrid, check, bm25, bm25_warm, embed, whole;
        double first = 0;
        auto make_question = [&] {
            return "what is the " + content_word() + " of the " + content_word() + " " + content_word() + " in serial" +
                   std::to_string(rng() % n);
        };
        for (int q = 0; q < 30; ++q) {
            for (float& x : v) x = g(rng);
            // A whole search first, on a question of its own: embedding it, then hybrid search with its
            // words' chunk counts looked up as a new question's are (kept until the library changes).
            // (Embedding on a second thread beside BM25 was measured no faster: 54-81 ms against 58-64.)
            if (emb && emb->dim() == dim) {
                const std::string other = make_question();
                auto t0 = clock_type::now();
                const auto qv = emb->embed(other);
                embed.push_back(seconds_since(t0));
                (void)lib.hybrid_search(other, "bench", qv, 8);
                whole.push_back(seconds_since(t0));
            }
            const std::string question = make_question();
            auto t0 = clock_type::now();
            (void)lib.dense_search("bench", v, 8);
            (q == 0 ? first : (dense.emplace_back(), dense.back())) = seconds_since(t0);
            t0 = clock_type::now();
            (void)lib.search(question, 50); // hybrid's BM25 candidates
            bm25.push_back(seconds_since(t0));
            t0 = clock_type::now();
            (void)lib.search(question, 50); // again: the words' chunk counts known
            bm25_warm.push_back(seconds_since(t0));
            t0 = clock_type::now();
            (void)lib.hybrid_search(question, "bench", v, 8);
            hybrid.push_back(seconds_since(t0));
            // What the service adds before each dense or hybrid search: is any chunk without a vector?
            t0 = clock_type::now();
            (void)(lib.chunk_count() == lib.vector_count("bench"));
            check.push_back(seconds_since(t0));
        }
        std::printf("search over %d chunks (%d dims, top 8, 30 queries): dense median %.1f ms (the first, reading the vectors "
                    "into memory: %.0f ms), BM25 top 50 %.1f ms (%.1f ms asked again), hybrid median %.1f ms, missing-vector check %.1f ms\n",
                    n, dim, 1e3 * median(dense), 1e3 * first, 1e3 * median(bm25), 1e3 * median(bm25_warm), 1e3 * median(hybrid),
                    1e3 * median(check));
        if (!whole.empty())
            std::printf("  a new question's whole search (embedding it, %.1f ms, then hybrid): %.1f ms median, p95 %.1f ms\n",
                        1e3 * median(embed), 1e3 * median(whole), 1e3 * percentile(whole, 0.95));
    }
    fs::remove_all(dir);
}

} // namespace

int cmd_bench_retrieval(const bench_retrieval_args& a) {
    if (const auto& n = a.search_chunks) {
        fs::path dir = a.embedder.value_or("");
        if (dir.empty()) dir = find_embedder_dir(app_paths_from(path_environment_from_process()),
                                                 find_resources(current_executable(), build_source_dir()));
        std::unique_ptr<sentence_embedder> emb;
        if (embedder_present(dir)) emb = sentence_embedder::open(dir, a.threads);
        for (const auto& v : split_list(*n)) time_search(std::stoi(v), 384, emb.get());
        if (!a.set) return 0;
    }
    const fs::path work = fs::temp_directory_path() / ("epic-bench-retrieval-set-" + std::to_string(::getpid()));
    fs::remove_all(work);
    fs::create_directories(work / "pool");
    if (!a.set) throw error("give --set FILE.jsonl (or --search-chunks N,... alone)");
    fs::path docs = a.docs.value_or("");
    const auto items = read_items(*a.set, work / "pool", &docs);
    if (docs.empty()) throw error("--docs: the folder the set's document paths are relative to (e.g. resources/sample-library)");
    docs = fs::weakly_canonical(docs);
    fs::path embedder = a.embedder.value_or("");
    if (embedder.empty()) embedder = find_embedder_dir(app_paths_from(path_environment_from_process()),
                                                        find_resources(current_executable(), build_source_dir()));
    if (!embedder_present(embedder))
        throw error(embedder.string() + ": no embedding model here (installer/get-models.sh minilm, or --embedder DIR)");

    storage::library lib(work / "library.db");
    storage::ingest_options io;
    io.chunking.target_tokens = a.chunk_words.value_or(io.chunking.target_tokens);
    const std::vector<fs::path> paths{docs};
    const auto ir = storage::add_paths(lib, paths, io);
    std::printf("library: %lld chunks of %zu documents (%zu failed) from %s\n", (long long)lib.chunk_count(), ir.added,
                ir.failed, docs.c_str());
    std::vector<std::pair<std::string, mode_scores>> results;
    const int threads = a.threads;
    for (const auto& name : split_list(a.modes)) {
        retriever r(lib, parse_retrieval_mode(name), embedder, threads);
        if (a.bm25_weight) r.set_bm25_weight(*a.bm25_weight);
        const auto t0 = clock_type::now();
        const size_t embedded = r.embed_missing();
        if (embedded > 0) std::printf("embedded %zu chunks in %.1f s\n", embedded, seconds_since(t0));
        mode_scores s;
        // --qa-out P: each question with the chunks this mode retrieved, best last (as the service lays
        // them out), as a question set for epic bench qa --order set: the answers each retrieval leads to.
        std::ofstream qa_out;
        if (const auto& p = a.qa_out) {
            qa_out.open(*p + "-" + name + ".jsonl");
            if (!qa_out) throw error(*p + "-" + name + ".jsonl: cannot be written");
        }
        for (const auto& it : items) {
            const auto q0 = clock_type::now();
            const auto hits = r.search(it.question, it.own.empty() ? 8 : (int)lib.chunk_count());
            s.seconds.push_back(seconds_since(q0));
            int rank = 0, seen = 0;
            for (size_t i = 0; i < hits.size() && rank == 0 && seen < 8; ++i) {
                const std::string rel = fs::path(hits[i].document_path).lexically_relative(docs).generic_string();
                if (!it.own.empty() && !it.own.count(rel)) continue;
                ++seen;
                if (it.gold.count(rel)) rank = seen;
            }
            if (qa_out.is_open() && !it.answer.empty() && it.own.empty()) {
                std::string docs_json, titles_json;
                for (size_t i = std::min<size_t>(hits.size(), 8); i-- > 0;) {
                    docs_json += (docs_json.empty() ? "" : ", ") + json_quote(hits[i].text);
                    const std::string title = hits[i].document_title.empty() ? fs::path(hits[i].document_path).filename().string()
                                                                             : hits[i].document_title;
                    titles_json += (titles_json.empty() ? "" : ", ") + json_quote(title);
                }
                if (docs_json.empty()) { // nothing retrieved: the model answers without documents, as the app would
                    docs_json = json_quote("No document matched the question.");
                    titles_json = json_quote("Search");
                }
                qa_out << "{\"kind\": " << json_quote(it.kind) << ", \"question\": " << json_quote(it.question)
                       << ", \"answer\": " << json_quote(it.answer) << ", \"documents\": [" << docs_json << "], \"titles\": ["
                       << titles_json << "]}\n";
            }
            if (rank == 0 && a.misses) {
                std::string top;
                for (size_t i = 0; i < hits.size() && i < 3; ++i)
                    top += " " + fs::path(hits[i].document_path).lexically_relative(docs).generic_string();
                std::fprintf(stderr, "[%s] not in the top 8: %s (want %s; top 3:%s)\n", name.c_str(), it.question.c_str(),
                             it.gold.begin()->c_str(), top.c_str());
            }
            s.ranks[it.kind].push_back(rank);
            s.ranks["all"].push_back(rank);
        }
        results.emplace_back(name, std::move(s));
    }
    print_table(results, stdout);
    if (const auto& md = a.markdown) {
        std::FILE* f = std::fopen(md->c_str(), "w");
        if (!f) throw error(*md + ": cannot be written");
        print_table(results, f);
        std::fclose(f);
    }
    fs::remove_all(work);
    return 0;
}

} // namespace epic::cli
