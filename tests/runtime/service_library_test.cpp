// The service end to end on a real library folder: add, ask, caches reused, corrupt and truncated
// blobs recompiled while ask still answers, other models' caches never used, removal, budget, and
// two processes adding and asking at once.
#include "kvstore/kv_store.h"
#include "library/library.h"
#include "model/random_model.h"
#include "service/service.h"
#include "sqlite/statement.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <random>
#include <sys/wait.h>
#include <unistd.h>

namespace epic {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

// A folder of short documents with distinctive words, so retrieval has something to find.
void make_documents(const fs::path& dir, int n, uint32_t seed) {
    std::mt19937 rng(seed);
    const char* words[] = {"river", "mountain", "lantern", "harbor", "violin", "orchard", "glacier", "meadow", "copper", "falcon"};
    for (int i = 0; i < n; ++i) {
        std::string text;
        for (int p = 0; p < 3; ++p) {
            for (int w = 0; w < 30; ++w) text += std::string(words[rng() % 10]) + (w % 7 == 6 ? ". " : " ");
            text += "\n\n";
        }
        text += "Document " + std::to_string(i) + " mentions zebra" + std::to_string(i) + ".\n";
        write(dir / (i % 2 ? "sub" : ".") / ("doc" + std::to_string(i) + ".txt"), text);
    }
}

class service_test : public ::testing::Test {
protected:
    void SetUp() override {
        seed_ = std::random_device{}();
        random_model_params p = random_model_default_params();
        p.seed = seed_;
        p.n_ctx = 4096;
        model_path_ = (dir_ / "model.gguf").string();
        write_random_model(model_path_, p);
        make_documents(dir_ / "docs", 6, seed_);
    }
    std::unique_ptr<service> open(const std::string& model = "", uint64_t budget = 0,
                                  const link_policy& policy = link_policy::app_default(), const std::string& system = "") {
        return open_with(params(model, budget, policy, system));
    }
    service_params params(const std::string& model = "", uint64_t budget = 0, const link_policy& policy = link_policy::app_default(),
                          const std::string& system = "") {
        service_params sp = service_default_params();
        sp.policy = policy;
        if (!system.empty()) sp.system_prompt = system;
        sp.library_dir = dir_ / "library";
        sp.model_path = model.empty() ? model_path_ : model;
        sp.chunk_tokens = 64;
        sp.cache_budget_bytes = budget;
        sp.backend.n_threads = 2;
        // No GPU hot tier (its default on a GPU, also the emulated one): these tests are about what is
        // read from disk, which a resident cache skips.
        sp.gpu_cache_budget_bytes = 0;
        return sp;
    }
    std::unique_ptr<service> open_with(const service_params& sp) {
        auto s = service::open(sp);
        EXPECT_TRUE(s.ok()) << s.error();
        return s ? std::move(s.value()) : nullptr;
    }
    ask_options options(int tokens = 8) {
        ask_options o;
        o.top_n = 4;
        o.generation.max_tokens = tokens;
        o.generation.sampling.temperature = 0.0f;
        o.generation.stop_at_eos = false;
        return o;
    }
    // Identical compiled texts share one content-keyed cache: compiled once, then loaded. Under the
    // default policy's header framing a chunk's text includes its document's title (or file name).
    static int distinct_texts(const ask_result& r) {
        std::set<std::string> texts;
        const bool framed = link_policy::app_default().header_framing;
        for (const auto& src : r.sources)
            texts.insert((framed ? (src.document_title.empty() ? fs::path(src.document_path).filename().string() : src.document_title) + "\n"
                                 : std::string()) + src.text);
        return (int)texts.size();
    }
    // The cache key each chunk is linked to for this model, and the compile options of that cache.
    // The library's index as another connection sees it: the service keeps its storage to itself.
    storage::library& index() {
        if (!index_) index_ = std::make_unique<storage::library>(dir_ / "library" / "library.db");
        return *index_;
    }
    std::map<int64_t, std::string> linked_options(service& s) {
        auto st = index().db().prepare(
            "SELECT k.chunk_id, e.compile_options FROM chunk_kv k JOIN kv_entries e ON e.cache_key = k.cache_key "
            "WHERE k.model_fingerprint = ?1");
        st.bind_text(1, s.model_fingerprint());
        std::map<int64_t, std::string> out;
        while (st.step()) out[st.column_int64(0)] = st.column_text(1);
        return out;
    }
    static std::map<std::string, int64_t> hits_by_key(service& s) {
        std::map<std::string, int64_t> out;
        for (const auto& e : s.cache_entries().value()) out[e.cache_key] = e.hits;
        return out;
    }
    static kv_format format_of(const std::string& compile_options) { return compile_options::parse(compile_options, "test").format; }
    std::vector<fs::path> blob_files() {
        std::vector<fs::path> out;
        for (const auto& e : fs::recursive_directory_iterator(dir_ / "library" / "kv"))
            if (e.is_regular_file() && e.path().extension() == ".epkv") out.push_back(e.path());
        return out;
    }

    uint32_t seed_ = 0;
    test::scratch_dir dir_;
    std::unique_ptr<storage::library> index_;
    std::string model_path_;
};

TEST_F(service_test, documents_waiting_for_their_caches_show_compiling_not_ready) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    auto s = open();
    // At the first compile progress, every document is still compiling or waiting to be: none is
    // "ready" before its chunks are. A second service on the library reads what the GUI would.
    auto reader = open();
    size_t checked = 0, ready_early = 0;
    std::atomic<bool> cancel{false};
    const add_report r = s->add({dir_ / "docs"}, [&](const add_progress& p) {
        if (p.phase != "compiling" || p.chunks_done != 1) return;
        for (const auto& d : reader->documents().value()) {
            ++checked;
            ready_early += d.status == storage::doc_status::ready;
        }
        cancel = true; // stop after the first chunk: what is left must be ready again (answerable)
    }, &cancel).value();
    EXPECT_TRUE(r.cancelled);
    EXPECT_EQ(checked, 6u);
    EXPECT_EQ(ready_early, 0u);
    for (const auto& d : s->documents().value()) EXPECT_EQ(d.status, storage::doc_status::ready) << d.path;
    EXPECT_GT(s->chunks_pending().value(), 0u);
}

TEST_F(service_test, add_then_ask_streams_an_answer_with_sources_and_reuses_caches) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    auto s = open();
    const add_report r = s->add({dir_ / "docs"}).value();
    EXPECT_EQ(r.added, 6u);
    EXPECT_GT(r.chunks_compiled, 6u);
    for (const auto& d : s->documents().value()) EXPECT_EQ(d.status, storage::doc_status::ready) << d.path;

    std::string streamed;
    int pieces = 0;
    const ask_result a = s->ask("Which document mentions zebra3?", options(), [&](int32_t id, const std::string& piece) {
        streamed += piece;
        pieces += id >= 0; // id -1: the final flush of an incomplete UTF-8 sequence
        return true;
    }).value();
    EXPECT_EQ(pieces, 8);
    EXPECT_EQ(streamed, a.answer);
    ASSERT_FALSE(a.sources.empty());
    EXPECT_NE(a.sources[0].document_path.find("doc3.txt"), std::string::npos) << "BM25 should rank the zebra3 chunk first";
    EXPECT_NE(a.sources[0].text.find("zebra3"), std::string::npos);
    EXPECT_EQ(a.timing.chunks_compiled, 0) << "every chunk was compiled by add";
    EXPECT_EQ(a.timing.chunks_loaded, (int)a.sources.size());
    EXPECT_GT(a.timing.rows_reused, 0);
    EXPECT_EQ(a.timing.rows_total, a.timing.rows_reused + a.timing.rows_recomputed);
    EXPECT_GT(a.timing.first_token_seconds, 0.0);

    // Asking again is answered from the stored caches, identically.
    const ask_result b = s->ask("Which document mentions zebra3?", options()).value();
    EXPECT_EQ(b.timing.chunks_compiled, 0);
    EXPECT_EQ(b.answer, a.answer);

    // Re-adding the unchanged folder does nothing.
    const add_report again = s->add({dir_ / "docs"}).value();
    EXPECT_EQ(again.unchanged, 6u);
    EXPECT_EQ(again.chunks_compiled, 0u);
}

TEST_F(service_test, a_hot_tier_serves_repeated_questions_from_resident_caches_with_the_same_answer) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    std::string plain_answer;
    {
        auto s = open(); // no hot tier: every cache is staged from host memory
        ASSERT_TRUE(s->add({dir_ / "docs"}).ok());
        const ask_result a = s->ask("zebra2 harbor", options()).value();
        EXPECT_EQ(a.timing.chunks_resident, 0);
        EXPECT_EQ(a.timing.chunks_staged, (int)a.sources.size() + 1); // the chunks and the system prompt
        plain_answer = a.answer;
    }
    service_params sp = service_default_params();
    sp.library_dir = dir_ / "library";
    sp.model_path = model_path_;
    sp.chunk_tokens = 64;
    sp.backend.n_threads = 2;
    sp.gpu_cache_budget_bytes = 64 << 20;
    auto s = service::open(sp).value();
    const ask_result cold = s->ask("zebra2 harbor", options()).value();
    // Identical chunk texts are one cache: its second use in the link already reads the tier.
    EXPECT_EQ(cold.timing.chunks_staged, distinct_texts(cold) + 1);
    EXPECT_EQ(cold.timing.chunks_resident, (int)cold.sources.size() - distinct_texts(cold));
    const ask_result warm = s->ask("zebra2 harbor", options()).value();
    EXPECT_EQ(warm.timing.chunks_staged, 0);
    EXPECT_EQ(warm.timing.chunks_resident, (int)warm.sources.size() + 1);
    EXPECT_EQ(warm.link.bytes_copied_host, 0u);
    // Resident caches are not read from disk at all: the warm question loads nothing.
    EXPECT_EQ(cold.timing.chunks_loaded, (int)cold.sources.size());
    EXPECT_EQ(warm.timing.chunks_loaded, 0);
    EXPECT_EQ(warm.timing.chunks_compiled, 0);
    EXPECT_EQ(cold.answer, plain_answer);
    EXPECT_EQ(warm.answer, plain_answer);
}

TEST_F(service_test, corrupt_and_truncated_blobs_are_recompiled_and_ask_still_answers) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    auto s = open();
    ASSERT_TRUE(s->add({dir_ / "docs"}).ok());
    const ask_result clean = s->ask("zebra2 river", options()).value();
    // Damage every blob: flip a byte in half of them, truncate the others.
    auto files = blob_files();
    ASSERT_GT(files.size(), 4u);
    for (size_t i = 0; i < files.size(); ++i) {
        if (i % 2) {
            fs::resize_file(files[i], fs::file_size(files[i]) / 2);
        } else {
            std::fstream f(files[i], std::ios::in | std::ios::out | std::ios::binary);
            f.seekp((std::streamoff)(fs::file_size(files[i]) - 7));
            char c = 0;
            f.read(&c, 1);
            f.seekp((std::streamoff)(fs::file_size(files[i]) - 7));
            c ^= 0x5a;
            f.write(&c, 1);
        }
    }
    const ask_result r = s->ask("zebra2 river", options()).value();
    EXPECT_EQ(r.timing.chunks_compiled, distinct_texts(r)) << "every damaged cache must be recompiled, none used";
    EXPECT_EQ(r.timing.chunks_loaded, (int)r.sources.size() - distinct_texts(r));
    EXPECT_EQ(r.answer, clean.answer) << "recompiled caches give the same answer";
    // verify() now finds the damaged blobs that ask did not touch, and removes them.
    const auto bad = s->verify().value();
    for (const auto& b : bad) EXPECT_NE(b.find(".epkv"), std::string::npos) << b;
    EXPECT_TRUE(s->verify().value().empty());
}

TEST_F(service_test, caches_of_an_older_compile_scheme_or_system_prompt_are_stale_and_recompiled) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    // The app's default does not share the paper's compile scheme: caches of earlier versions are stale.
    ASSERT_FALSE(link_policy::app_default().same_compile_scheme(link_policy::parse("legolink-16")));
    const link_policy context_compiled = link_policy::parse("legolink-16+ctx+hdr");
    size_t n_chunks = 0;
    {
        auto s = open("", 0, link_policy::parse("legolink-16")); // the paper's scheme: standalone, BOS-framed
        const add_report r = s->add({dir_ / "docs"}).value();
        n_chunks = r.chunks_compiled;
        compile_options paper_scheme = compile_options::standalone(1); // one sink, standalone, in the service's (default) cache format
        paper_scheme.format = default_cache_format;
        for (const auto& e : s->cache_entries().value()) EXPECT_EQ(e.compile_options, paper_scheme.to_string());
    }
    ASSERT_GT(n_chunks, 6u);
    auto s = open("", 0, context_compiled);
    const add_report again = s->add({dir_ / "docs"}).value();
    EXPECT_EQ(again.unchanged, 6u);
    // Every chunk's cache of the older scheme is stale (header framing can tell apart chunks of equal
    // text that the older scheme shared, so there may be more).
    EXPECT_GE(again.chunks_compiled, n_chunks) << "every chunk's cache of the older scheme is stale";
    ask_options o = options();
    o.policy = context_compiled;
    const ask_result a = s->ask("Which document mentions zebra3?", o).value();
    EXPECT_EQ(a.timing.chunks_compiled, 0) << "the new scheme's caches were compiled by add";
    EXPECT_EQ(s->add({dir_ / "docs"}).value().chunks_compiled, 0u);
    // The old scheme still answers from its own caches (selectable), never from the new ones.
    ask_options paper = options();
    paper.policy = link_policy::parse("legolink-16");
    const ask_result b = s->ask("Which document mentions zebra3?", paper).value();
    EXPECT_EQ(b.timing.chunks_compiled, 0);
    s.reset();
    // Another system prompt: context-compiled caches saw the old one, so they are stale too.
    auto s2 = open("", 0, context_compiled, "Answer in one word.");
    EXPECT_EQ(s2->add({dir_ / "docs"}).value().chunks_compiled, again.chunks_compiled);
    const ask_result c = s2->ask("Which document mentions zebra3?", o).value();
    EXPECT_EQ(c.timing.chunks_compiled, 0);
}

TEST_F(service_test, a_cache_format_change_recompiles_lazily_and_a_link_never_mixes_formats) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    size_t n_chunks = 0;
    {
        service_params f16 = params();
        f16.cache_format = kv_format::f16;
        auto s = open_with(f16);
        const add_report r = s->add({dir_ / "docs"}).value();
        n_chunks = (size_t)index().chunk_count();
        for (const auto& [chunk, options] : linked_options(*s)) EXPECT_EQ(format_of(options), kv_format::f16) << options;
        EXPECT_EQ(s->chunks_pending().value(), 0u);
    }
    service_params q8 = params();
    q8.cache_format = kv_format::q8;
    auto s = open_with(q8);
    // Every chunk's f16 cache is stale for the library now (nothing compiled yet: lazily).
    EXPECT_EQ(s->chunks_pending().value(), n_chunks);
    std::set<std::string> f16_keys;
    for (const auto& e : s->cache_entries().value()) {
        EXPECT_EQ(format_of(e.compile_options), kv_format::f16);
        f16_keys.insert(e.cache_key);
    }
    const auto f16_hits = hits_by_key(*s);

    const ask_result a = s->ask("Which document mentions zebra3?", options()).value();
    ASSERT_FALSE(a.sources.empty());
    EXPECT_EQ(a.timing.chunks_compiled, distinct_texts(a)) << "the f16 caches are not used for a q8 link";
    // The retrieved chunks are linked to q8 caches now, and the system segment has its q8 cache.
    auto links = linked_options(*s);
    for (const auto& src : a.sources) {
        ASSERT_TRUE(links.count(src.chunk_id)) << src.chunk_id;
        EXPECT_EQ(format_of(links[src.chunk_id]), kv_format::q8) << links[src.chunk_id];
    }
    bool system_q8 = false;
    for (const auto& e : s->cache_entries().value()) system_q8 |= e.compile_options == "sink=0,kv=q8";
    EXPECT_TRUE(system_q8);
    // Asking again loads the q8 caches; no f16 cache was read by either ask (hits unchanged).
    const ask_result b = s->ask("Which document mentions zebra3?", options()).value();
    EXPECT_EQ(b.answer, a.answer) << "the compiling ask linked the q8 round trip, as the loading one";
    EXPECT_EQ(b.timing.chunks_compiled, 0);
    EXPECT_EQ(b.timing.chunks_loaded, (int)b.sources.size());
    EXPECT_FALSE(b.answer.empty());
    for (const auto& [key, hits] : hits_by_key(*s))
        if (f16_keys.count(key)) {
            EXPECT_EQ(hits, f16_hits.at(key)) << "an f16 cache was loaded by a q8 ask: " << key;
        }

    // Listings tell the formats apart, with rows and decoded bytes for what this build compiled.
    int q8_entries = 0;
    for (const auto& i : s->cache_entry_infos().value()) {
        EXPECT_EQ(i.format, std::string(kv_format_name(format_of(i.entry.compile_options))));
        EXPECT_GT(i.rows, 0) << i.entry.cache_key;
        EXPECT_GT(i.bytes_per_token(), 0.0);
        EXPECT_GT(i.ratio(), 0.0);
        q8_entries += i.format == "q8";
    }
    EXPECT_EQ(q8_entries, distinct_texts(a) + 1);
    const cache_summary st = s->cache_stats().value();
    ASSERT_EQ(st.by_format.size(), 2u);
    EXPECT_EQ(st.by_format[0].format, "f16");
    EXPECT_EQ(st.by_format[1].format, "q8");
    EXPECT_EQ(st.by_format[1].entries, q8_entries);
    EXPECT_EQ(st.by_format[0].entries + st.by_format[1].entries, st.entries);
    EXPECT_EQ(st.by_format[0].compressed_bytes + st.by_format[1].compressed_bytes, st.compressed_bytes);

    // The next add's compile pass recompiles the rest in q8; then nothing is stale.
    const add_report again = s->add({dir_ / "docs"}).value();
    EXPECT_GT(again.chunks_compiled, 0u);
    EXPECT_EQ(s->chunks_pending().value(), 0u);
    links = linked_options(*s);
    EXPECT_EQ(links.size(), n_chunks);
    for (const auto& [chunk, options] : links) EXPECT_EQ(format_of(options), kv_format::q8) << options;
}

TEST_F(service_test, compile_on_demand_compiles_what_asks_retrieve_and_compile_pending_the_rest) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    service_params sp = params();
    sp.compile_on_add = false;
    auto s = open_with(sp);
    const add_report r = s->add({dir_ / "docs"}).value();
    EXPECT_EQ(r.added, 6u);
    EXPECT_EQ(r.chunks_compiled, 0u);
    EXPECT_EQ(s->cache_stats().value().entries, 0) << "adding only extracts, chunks and indexes";
    for (const auto& d : s->documents().value()) EXPECT_EQ(d.status, storage::doc_status::ready) << d.path;
    const size_t n_chunks = (size_t)index().chunk_count();
    ASSERT_GT(n_chunks, 6u);
    EXPECT_EQ(s->chunks_pending().value(), n_chunks);

    // An ask compiles exactly its retrieved chunks (identical texts once) and links them.
    const ask_result a = s->ask("Which document mentions zebra3?", options()).value();
    EXPECT_EQ(a.timing.chunks_compiled, distinct_texts(a));
    EXPECT_EQ(a.timing.chunks_loaded, (int)a.sources.size() - distinct_texts(a));
    std::set<int64_t> retrieved;
    for (const auto& src : a.sources) retrieved.insert(src.chunk_id);
    const auto links = linked_options(*s);
    EXPECT_EQ(links.size(), retrieved.size());
    for (int64_t c : retrieved) EXPECT_TRUE(links.count(c)) << c;
    EXPECT_EQ(s->cache_stats().value().entries, distinct_texts(a) + 1) << "the retrieved chunks' caches and the system segment's";
    EXPECT_EQ(s->chunks_pending().value(), n_chunks - retrieved.size());
    EXPECT_EQ(s->ask("Which document mentions zebra3?", options()).value().timing.chunks_compiled, 0) << "stored when first asked";

    // compile_pending, cancelled after two chunks: consistent (every link has its entry and blob, every
    // document ready), and the rest is still pending.
    const size_t before = s->chunks_pending().value();
    std::atomic<bool> cancel{false};
    size_t reports = 0;
    const compile_report c1 = s->compile_pending([&](const add_progress& p) {
        EXPECT_EQ(p.phase, "compiling");
        EXPECT_EQ(p.chunks_total, before);
        ++reports;
        if (p.chunks_done >= 2) cancel = true;
    }, &cancel).value();
    EXPECT_TRUE(c1.cancelled);
    EXPECT_GT(reports, 0u);
    EXPECT_LE(c1.chunks_compiled, 2u);
    EXPECT_EQ(c1.chunks_left, before - 2);
    EXPECT_EQ(s->chunks_pending().value(), before - 2);
    for (const auto& d : s->documents().value()) EXPECT_EQ(d.status, storage::doc_status::ready) << d.path;
    EXPECT_EQ((int64_t)blob_files().size(), s->cache_stats().value().entries);
    EXPECT_TRUE(s->verify().value().empty());

    // The next call resumes and finishes; every chunk then has its cache and no ask compiles.
    const compile_report c2 = s->compile_pending().value();
    EXPECT_FALSE(c2.cancelled);
    EXPECT_FALSE(c2.budget_full);
    EXPECT_GT(c2.chunks_compiled, 0u);
    EXPECT_EQ(c2.chunks_left, 0u);
    EXPECT_EQ(s->chunks_pending().value(), 0u);
    EXPECT_EQ(linked_options(*s).size(), n_chunks);
    EXPECT_EQ(s->compile_pending().value().chunks_compiled, 0u);
    const ask_result b = s->ask("zebra1 harbor", options()).value();
    EXPECT_EQ(b.timing.chunks_compiled, 0);
}

TEST_F(service_test, a_question_that_compiles_a_quantized_cache_links_what_loading_it_gives) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    service_params sp = params();
    sp.compile_on_add = false;
    sp.cache_format = kv_format::q4; // the coarsest format: its rounding moves a random model's answer
    auto s = open_with(sp);
    ASSERT_TRUE(s->add({dir_ / "docs"}).ok());
    for (const char* q : {"Which document mentions zebra3?", "zebra1 harbor", "zebra5 river", "zebra0", "zebra2 harbor", "zebra4",
                          "Which document mentions zebra1?", "river harbor", "zebra3 zebra4", "Document 2"}) {
        for (const auto& e : s->cache_entries().value()) ASSERT_TRUE(s->evict(e.cache_key).ok()); // every chunk compiled by the ask
        const ask_result first = s->ask(q, options(64)).value();
        EXPECT_GT(first.timing.chunks_compiled, 0) << q;
        const ask_result again = s->ask(q, options(64)).value();
        EXPECT_EQ(again.timing.chunks_compiled, 0) << q;
        EXPECT_EQ(again.answer, first.answer) << q;
    }
}

TEST_F(service_test, compile_pending_fills_the_store_up_to_the_budget_and_evicts_nothing) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    service_params sp = params();
    sp.compile_on_add = false;
    std::set<std::string> used;
    uint64_t used_bytes = 0, per_cache = 0;
    {
        auto s = open_with(sp);
        ASSERT_TRUE(s->add({dir_ / "docs"}).ok());
        ASSERT_TRUE(s->ask("zebra2 river", options()).ok());
        const auto st = s->cache_stats().value();
        ASSERT_GT(st.entries, 1);
        used_bytes = st.compressed_bytes;
        per_cache = st.compressed_bytes / (uint64_t)st.entries;
        for (const auto& e : s->cache_entries().value()) used.insert(e.cache_key);
    }
    // Room for about three more caches.
    sp.cache_budget_bytes = used_bytes + 3 * per_cache + per_cache / 2;
    auto s = open_with(sp);
    const size_t pending = s->chunks_pending().value();
    const compile_report r = s->compile_pending().value();
    EXPECT_TRUE(r.budget_full);
    EXPECT_FALSE(r.cancelled);
    EXPECT_GE(r.chunks_compiled, 1u);
    EXPECT_LT(r.chunks_compiled, pending);
    EXPECT_EQ(r.chunks_left, s->chunks_pending().value());
    EXPECT_LE(s->cache_stats().value().compressed_bytes, sp.cache_budget_bytes);
    std::set<std::string> now;
    for (const auto& e : s->cache_entries().value()) now.insert(e.cache_key);
    for (const auto& k : used) EXPECT_TRUE(now.count(k)) << "a cache a question used was evicted for a background compile: " << k;
}

TEST_F(service_test, caches_of_another_model_are_never_used) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    {
        auto s = open();
        ASSERT_TRUE(s->add({dir_ / "docs"}).ok());
    }
    random_model_params p = random_model_default_params();
    p.seed = seed_ + 1;
    const std::string other = (dir_ / "other.gguf").string();
    write_random_model(other, p);
    auto s2 = open(other);
    const ask_result r = s2->ask("zebra1", options()).value();
    EXPECT_EQ(r.timing.chunks_compiled, distinct_texts(r)) << "no cache of the first model may be used";
    EXPECT_EQ(r.timing.chunks_loaded, (int)r.sources.size() - distinct_texts(r));
    // Adding compiles the library for the new model; the first model's caches stay.
    const add_report ar = s2->add({dir_ / "docs"}).value();
    EXPECT_GT(ar.chunks_compiled, 0u);
    std::set<std::string> fingerprints;
    for (const auto& e : s2->cache_entries().value()) fingerprints.insert(e.model_fingerprint);
    EXPECT_EQ(fingerprints.size(), 2u);
}

TEST_F(service_test, removing_a_document_drops_its_caches_and_budget_evicts_lru_unpinned) {
    auto s = open();
    ASSERT_TRUE(s->add({dir_ / "docs"}).ok());
    const auto before = s->cache_stats().value();
    const auto docs = s->documents().value();
    ASSERT_TRUE(s->remove_document(docs[0].id).ok());
    EXPECT_EQ(s->documents().value().size(), docs.size() - 1);
    EXPECT_LT(s->cache_stats().value().entries, before.entries);
    const auto missing = s->remove_document(999999);
    EXPECT_FALSE(missing.ok());
    EXPECT_NE(missing.error().find("999999"), std::string::npos) << missing.error();

    // Pin the most recently used entry, then shrink the budget to a third: pinned entries survive.
    auto entries = s->cache_entries().value();
    ASSERT_GT(entries.size(), 3u);
    const std::string pinned = entries.front().cache_key; // least recently used: evicted first unless pinned
    ASSERT_TRUE(s->pin(pinned, true).ok());
    s.reset();
    auto small = open("", before.compressed_bytes / 3);
    EXPECT_GT(small->enforce_budget().value(), 0u);
    const auto st = small->cache_stats().value();
    EXPECT_LE(st.compressed_bytes, before.compressed_bytes / 3 + 1);
    bool still_there = false;
    for (const auto& e : small->cache_entries().value()) still_there |= e.cache_key == pinned;
    EXPECT_TRUE(still_there);
}

TEST_F(service_test, caches_of_updated_documents_are_collected) {
    auto s = open();
    ASSERT_TRUE(s->add({dir_ / "docs"}).ok());
    const int64_t before = s->cache_stats().value().entries;
    // Every document changes: its old chunks' caches are no longer used by anything.
    make_documents(dir_ / "docs", 6, seed_ + 1);
    const add_report r = s->add({dir_ / "docs"}).value();
    EXPECT_EQ(r.updated, 6u);
    // What remains: the caches the current chunks link to (plus at most the system segment's).
    auto st = index().db().prepare("SELECT count(DISTINCT cache_key) FROM chunk_kv");
    st.step();
    const int64_t linked = st.column_int64(0);
    const int64_t after = s->cache_stats().value().entries;
    EXPECT_LE(after, linked + 1) << "before the update " << before << " entries";
    EXPECT_GT(linked, 0);
    EXPECT_EQ((int64_t)blob_files().size(), after);
    // and `cache gc` collects what an ask under another scheme left behind.
    ask_options o = options();
    o.policy = link_policy::parse("legolink-4");
    ASSERT_TRUE(s->ask("zebra3", o).ok());
    EXPECT_GT(s->cache_stats().value().entries, after);
    const std::string summary = s->gc().value();
    EXPECT_NE(summary.find("caches no chunk uses"), std::string::npos) << summary;
    EXPECT_LE(s->cache_stats().value().entries, linked + 1);
}

TEST_F(service_test, a_store_that_cannot_take_caches_still_adds_and_answers) {
    // Root-proof stand-in for a full disk or a read-only folder: every fan-out folder name of the store
    // is taken by a file, so no blob can be written.
    fs::create_directories(dir_ / "library" / "kv");
    for (int i = 0; i < 256; ++i) {
        char name[3];
        std::snprintf(name, sizeof name, "%02x", i);
        std::ofstream(dir_ / "library" / "kv" / name) << "x";
    }
    auto s = open();
    const add_report r = s->add({dir_ / "docs"}).value();
    EXPECT_EQ(r.added, 6u);
    EXPECT_EQ(r.chunks_compiled, 0u) << "compiling stops at the first cache that cannot be stored";
    bool said = false;
    for (const auto& w : r.warnings) said |= w.find("compiling stopped") != std::string::npos;
    EXPECT_TRUE(said);
    for (const auto& d : s->documents().value()) EXPECT_EQ(d.status, storage::doc_status::ready);

    const ask_result a = s->ask("zebra2", options()).value();
    EXPECT_FALSE(a.answer.empty());
    EXPECT_FALSE(a.sources.empty());
    said = false;
    for (const auto& w : a.warnings) said |= w.find("without being stored") != std::string::npos;
    EXPECT_TRUE(said);
    EXPECT_EQ(s->cache_stats().value().entries, 0);
}

TEST_F(service_test, one_process_adding_while_another_asks) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    {
        auto s = open();
        ASSERT_TRUE(s->add({dir_ / "docs"}).ok());
    }
    make_documents(dir_ / "more", 12, seed_ + 7);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        int code = 0;
        {
            auto s = open();
            const auto r = s ? s->add({dir_ / "more"}) : result<add_report>(failure{"open failed"});
            code = (s && r.ok() && r->failed == 0) ? 0 : 1;
        }
        ::_exit(code);
    }
    auto s = open();
    int answered = 0;
    for (int i = 0; i < 10; ++i) {
        const auto r = s->ask("zebra" + std::to_string(i % 6) + " lantern", options(4));
        EXPECT_TRUE(r.ok()) << r.error();
        answered += r.ok();
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the adding process failed";
    EXPECT_EQ(answered, 10);
    EXPECT_EQ(s->documents().value().size(), 18u);
}

TEST_F(service_test, stop_cancels_within_one_token_and_cancel_stops_adding) {
    auto s = open();
    ASSERT_TRUE(s->add({dir_ / "docs"}).ok());
    std::atomic<bool> stop{false};
    int tokens = 0;
    const ask_result r = s->ask("zebra4", options(64), [&](int32_t id, const std::string&) {
        tokens += id >= 0;
        if (tokens == 3) stop = true; // the user presses Stop while the third token arrives
        return true;
    }, &stop).value();
    EXPECT_TRUE(r.cancelled);
    EXPECT_LE(tokens, 4) << "generation must stop within one token of Stop";

    // Cancelling an add leaves a consistent library: nothing half-written, and the next add finishes.
    make_documents(dir_ / "more", 8, seed_ + 3);
    std::atomic<bool> cancel{false};
    const add_report cancelled = s->add({dir_ / "more"}, [&](const add_progress& p) {
        if (p.phase == "compiling" && p.chunks_done >= 2) cancel = true;
    }, &cancel).value();
    EXPECT_TRUE(cancelled.cancelled);
    const add_report finished = s->add({dir_ / "more"}).value();
    EXPECT_FALSE(finished.cancelled);
    EXPECT_GT(finished.chunks_compiled, 0u) << "the caches left out by the cancelled add are compiled now";
    for (const auto& d : s->documents().value()) EXPECT_EQ(d.status, storage::doc_status::ready) << d.path;
}

TEST_F(service_test, bad_inputs_give_errors_not_crashes) {
    service_params sp = service_default_params();
    sp.library_dir = dir_ / "lib2";
    sp.model_path = (dir_ / "missing.gguf").string();
    const auto missing = service::open(sp);
    EXPECT_FALSE(missing.ok());
    EXPECT_NE(missing.error().find("missing.gguf"), std::string::npos) << missing.error();
    sp.model_path.clear();
    auto s = service::open(sp).value();
    const auto r = s->ask("anything", options());
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.error().find("model"), std::string::npos) << r.error();
    EXPECT_FALSE(s->add({dir_ / "docs"}).ok());
}

TEST(service_stories, real_model_answers_from_a_folder_and_reuses_its_caches) {
    const auto path = test::shared_model("stories260K/stories260K.gguf");
    EPIC_REQUIRE_SHARED(path);
    test::scratch_dir dir;
    write(dir / "docs" / "lily.txt", "Lily had a red ball. She played with the ball in the park every day.\n\n"
                                     "One day the ball rolled into the pond and a duck pushed it back to Lily.\n");
    write(dir / "docs" / "tom.txt", "Tom had a big blue kite. The wind took the kite up into the sky.\n");
    service_params sp = service_default_params();
    sp.library_dir = dir / "library";
    sp.model_path = path.string();
    sp.chunk_tokens = 48;
    sp.context_tokens = 1024;  // past the toy model's 128 trained positions, so that its retrieved chunks fit
    auto s = service::open(sp).value();
    ASSERT_TRUE(s->add({dir / "docs"}).ok());
    ask_options o;
    o.top_n = 3;
    o.generation.max_tokens = 24;
    o.generation.sampling.temperature = 0.0f;
    const ask_result a = s->ask("What did the duck do with the ball?", o).value();
    EXPECT_FALSE(a.answer.empty());
    ASSERT_FALSE(a.sources.empty());
    EXPECT_NE(a.sources[0].document_path.find("lily.txt"), std::string::npos);
    EXPECT_EQ(a.timing.chunks_compiled, 0);
    const ask_result b = s->ask("What did the duck do with the ball?", o).value();
    EXPECT_EQ(b.timing.chunks_compiled, 0);
    EXPECT_EQ(b.answer, a.answer);
}

} // namespace
} // namespace epic
