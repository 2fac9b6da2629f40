// Retrieval through the service: chunks embedded when added (resumably), a question that shares no
// word with its passage found by meaning where words find another, damaged vectors recomputed, and
// no embedding model: words only, said once. Uses the real all-MiniLM-L6-v2 folder (skips without
// it) and a random-weight chat model (the answer's text does not matter here, its sources do).
#include "embed/embedder_files.h"
#include "library/library.h"
#include "model/random_model.h"
#include "service/service.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

namespace epic {
namespace {

namespace fs = std::filesystem;

class service_retrieval_test : public ::testing::Test {
protected:
    void SetUp() override {
        embedder_ = test::local_model(default_embedder_folder);
        random_model_params p = random_model_default_params();
        p.seed = std::random_device{}();
        p.n_ctx = 2048;
        model_path_ = (dir_ / "model.gguf").string();
        write_random_model(model_path_, p);
        write("ceo.txt", "Marta Lindqvist is the chief executive officer of Tidewater Instruments. She sets the strategy "
                         "and chairs the board meetings.");
        write("garage.txt", "Who parks where: the garage under the office has forty spaces, assigned by the facilities team. "
                            "Visitors park in the street.");
        write("cafeteria.txt", "The cafeteria serves lunch from noon to two. Soup of the day, salads and fresh bread.");
        write("boats.txt", "The research vessel Skarv is moored at the Bergen quay and sails in spring for buoy maintenance.");
    }
    void write(const std::string& name, const std::string& text) {
        fs::create_directories(dir_ / "docs");
        std::ofstream(dir_ / "docs" / name) << text << "\n";
    }
    service_params params(retrieval_mode mode, const fs::path& embedder) {
        service_params sp = service_default_params();
        sp.library_dir = dir_ / "library";
        sp.model_path = model_path_;
        sp.chunk_tokens = 256;
        sp.backend.n_threads = 2;
        sp.gpu_cache_budget_bytes = 0;
        sp.compile_on_add = false; // retrieval is under test, not compiling
        sp.retrieval = mode;
        sp.embedder_dir = embedder;
        return sp;
    }
    std::unique_ptr<service> open(retrieval_mode mode, const fs::path& embedder) {
        auto s = service::open(params(mode, embedder));
        EXPECT_TRUE(s.ok()) << s.error();
        return s ? std::move(s.value()) : nullptr;
    }
    // The library's index as another connection sees it: the service keeps its storage to itself.
    storage::library& index() {
        if (!index_) index_ = std::make_unique<storage::library>(dir_ / "library" / "library.db");
        return *index_;
    }
    static ask_options one_source() {
        ask_options o;
        o.top_n = 1;
        o.generation.max_tokens = 1;
        o.generation.sampling.temperature = 0.0f;
        return o;
    }
    static std::string top_file(const ask_result& r) {
        return r.sources.empty() ? std::string("(none)") : fs::path(r.sources[0].document_path).filename().string();
    }

    test::scratch_dir dir_;
    std::unique_ptr<storage::library> index_;
    fs::path embedder_;
    std::string model_path_;
};

TEST_F(service_retrieval_test, a_question_in_other_words_is_found_by_meaning) {
    EPIC_REQUIRE_MODEL(embedder_ / "model.safetensors");
    auto s = open(retrieval_mode::dense, embedder_);
    ASSERT_EQ(s->retrieval(), retrieval_mode::dense);
    const add_report r = s->add({dir_ / "docs"}).value();
    EXPECT_EQ(r.chunks_embedded, 4u);
    const std::string fp = embedder_fingerprint(embedder_);
    EXPECT_EQ(index().vector_count(fp), 4);
    EXPECT_TRUE(index().chunks_missing_vector(fp).empty());

    // "Who is the boss of the firm?" shares no content word with the CEO passage; words ("who", "the")
    // lead BM25 elsewhere.
    const std::string q = "Who is the boss of the firm?";
    const ask_result dense = s->ask(q, one_source()).value();
    EXPECT_EQ(top_file(dense), "ceo.txt");
    EXPECT_TRUE(dense.warnings.empty()) << dense.warnings[0];
    auto words = open(retrieval_mode::bm25, embedder_);
    const ask_result bm25 = words->ask(q, one_source()).value();
    EXPECT_NE(top_file(bm25), "ceo.txt");
    auto both = open(retrieval_mode::hybrid, embedder_);
    const ask_result hybrid = both->ask("Where is the ship kept?", one_source()).value();
    EXPECT_EQ(top_file(hybrid), "boats.txt");
}

TEST_F(service_retrieval_test, damaged_and_missing_vectors_are_embedded_again_before_a_search) {
    EPIC_REQUIRE_MODEL(embedder_ / "model.safetensors");
    auto s = open(retrieval_mode::dense, embedder_);
    // Cancelled after the first chunk: a consistent library, the rest still missing.
    std::atomic<bool> cancel{false};
    const add_report r = s->add({dir_ / "docs"}, [&](const add_progress& p) {
        if (p.phase == "embedding" && p.chunks_done >= 1) cancel = true;
    }, &cancel).value();
    EXPECT_TRUE(r.cancelled);
    const std::string fp = embedder_fingerprint(embedder_);
    EXPECT_EQ(index().vector_count(fp), 1);
    // Another model's vectors are never mistaken for this one's.
    for (const auto& c : index().chunks_of(s->documents().value().at(0).id)) index().put_chunk_vector(c.id, "another-model", std::vector<float>(384, 0.05f));

    const ask_result a = s->ask("Who is the boss of the firm?", one_source()).value();
    ASSERT_FALSE(a.warnings.empty());
    EXPECT_NE(a.warnings[0].find("embedded 3 chunks"), std::string::npos) << a.warnings[0];
    EXPECT_EQ(index().vector_count(fp), 4);
    EXPECT_EQ(top_file(a), "ceo.txt");

    // A stored vector damaged on disk: found by its checksum, removed, embedded again; the answer's
    // source is the same.
    index().db().exec("UPDATE chunk_vectors SET vector = zeroblob(1536) WHERE embedder = '" + fp + "'");
    const ask_result b = s->ask("Who is the boss of the firm?", one_source()).value();
    std::string all;
    for (const auto& w : b.warnings) all += w + "\n";
    EXPECT_NE(all.find("4 damaged chunk vectors removed"), std::string::npos) << all;
    EXPECT_NE(all.find("embedded 4 chunks"), std::string::npos) << all;
    EXPECT_EQ(top_file(b), "ceo.txt");
    EXPECT_EQ(index().vector_count(fp), 4);
}

TEST_F(service_retrieval_test, without_the_embedding_model_questions_search_by_words_and_say_so_once) {
    auto s = open(retrieval_mode::hybrid, dir_ / "no-such-model");
    EXPECT_EQ(s->retrieval(), retrieval_mode::bm25);
    const add_report r = s->add({dir_ / "docs"}).value();
    EXPECT_EQ(r.chunks_embedded, 0u);
    const ask_result a = s->ask("Where is the research vessel moored?", one_source()).value();
    EXPECT_EQ(top_file(a), "boats.txt");
    ASSERT_EQ(a.warnings.size(), 1u);
    EXPECT_NE(a.warnings[0].find("no-such-model"), std::string::npos) << a.warnings[0];
    EXPECT_NE(a.warnings[0].find("get-models.sh minilm"), std::string::npos) << a.warnings[0];
    EXPECT_TRUE(s->ask("Where is the research vessel moored?", one_source()).value().warnings.empty());
}

} // namespace
} // namespace epic

namespace epic {
namespace {

TEST_F(service_retrieval_test, a_damaged_embedding_model_falls_back_to_words_naming_the_file) {
    // A model folder with every file present but weights that are not safetensors.
    const fs::path bad = dir_ / "bad-model";
    fs::create_directories(bad);
    std::ofstream(bad / "config.json") << "{}";
    std::ofstream(bad / "tokenizer.json") << "{}";
    std::ofstream(bad / "model.safetensors") << "not a safetensors file";
    auto s = open(retrieval_mode::hybrid, bad);
    const add_report r = s->add({dir_ / "docs"}).value(); // the library is not the model's hostage
    EXPECT_EQ(r.chunks_embedded, 0u);
    EXPECT_EQ(s->retrieval(), retrieval_mode::bm25);
    const ask_result a = s->ask("Where is the research vessel moored?", one_source()).value();
    EXPECT_EQ(top_file(a), "boats.txt");
    ASSERT_EQ(a.warnings.size(), 1u);
    EXPECT_NE(a.warnings[0].find("bad-model"), std::string::npos) << a.warnings[0];
    EXPECT_NE(a.warnings[0].find("searching by words"), std::string::npos) << a.warnings[0];
}

} // namespace
} // namespace epic
