// The sentence embedder on the real all-MiniLM-L6-v2 (skips without it): a short text is the
// encoder's mean-pooled embedding, a long one the mean over every token of its 254-wordpiece
// windows; unit length; meaning ranks a paraphrase above an unrelated text. The model folder's
// fingerprint follows its files.
#include "backend/backend.h"
#include "embed/bert_encoder.h"
#include "embed/embedder_files.h"
#include "embed/sentence_embedder.h"
#include "embed/wordpiece.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

namespace epic {
namespace {

namespace fs = std::filesystem;

double dot(const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += (double)a[i] * b[i];
    return s;
}

fs::path model_dir() { return test::local_model(default_embedder_folder); }

TEST(sentence_embedder, short_and_long_texts_pool_every_token) {
    EPIC_REQUIRE_MODEL(model_dir() / "model.safetensors");
    auto e = sentence_embedder::open(model_dir(), 2);
    ASSERT_EQ(e->dim(), 384);
    const auto tok = wordpiece_tokenizer::from_file(model_dir() / "tokenizer.json");
    backend_params bp;
    bp.device = "cpu";
    bp.n_threads = 2;
    auto be = create_backend(bp);
    auto enc = bert_encoder::open(model_dir(), *be);

    const std::string short_text = "The Harbor Gauge measures water levels in ports.";
    const auto s = e->embed(short_text);
    const auto ref = enc->embed(tok.encode_for_model(short_text, 256));
    ASSERT_EQ(s.size(), ref.size());
    for (size_t i = 0; i < s.size(); ++i) EXPECT_NEAR(s[i], ref[i], 1e-6) << i;
    EXPECT_NEAR(dot(s, s), 1.0, 1e-5);

    // About 700 wordpieces: three windows. The reference pools every row of every window in float64.
    std::string long_text;
    for (int i = 0; i < 60; ++i) long_text += "Sentence " + std::to_string(i) + " tells of tides, salt and the buoy number " + std::to_string(i * 7) + ". ";
    const auto ids = tok.encode(long_text);
    ASSERT_GT(ids.size(), 2u * 254u);
    std::vector<double> sum(384, 0.0);
    size_t rows = 0;
    for (size_t b = 0; b < ids.size(); b += 254) {
        std::vector<int32_t> seq{tok.cls_id()};
        seq.insert(seq.end(), ids.begin() + (long)b, ids.begin() + (long)std::min(ids.size(), b + 254));
        seq.push_back(tok.sep_id());
        const auto h = enc->hidden_states(seq);
        for (size_t r = 0; r < seq.size(); ++r)
            for (size_t c = 0; c < 384; ++c) sum[c] += h[r * 384 + c];
        rows += seq.size();
    }
    double norm = 0;
    for (double& x : sum) {
        x /= (double)rows;
        norm += x * x;
    }
    norm = std::sqrt(norm);
    const auto l = e->embed(long_text);
    for (size_t c = 0; c < 384; ++c) EXPECT_NEAR(l[c], sum[c] / norm, 1e-5) << c;
    // Not the first window alone: the later windows count.
    const auto first = enc->embed(tok.encode_for_model(long_text, 256));
    EXPECT_LT(dot(l, first), 0.9999);
    // An empty text embeds [CLS] [SEP]: finite, unit length.
    const auto empty = e->embed("");
    EXPECT_NEAR(dot(empty, empty), 1.0, 1e-5);
}

TEST(sentence_embedder, a_batch_embeds_each_text_as_alone) {
    EPIC_REQUIRE_MODEL(model_dir() / "model.safetensors");
    auto e = sentence_embedder::open(model_dir(), 2);
    std::string long_text;
    for (int i = 0; i < 50; ++i) long_text += "Line " + std::to_string(i) + " of the harbor log. ";
    const std::vector<std::string> texts = {"Who runs the company?", "", long_text, "The cafeteria serves soup."};
    const std::vector<std::string_view> views(texts.begin(), texts.end());
    // A small row limit splits the texts' windows over several encoder calls.
    for (size_t max_rows : {size_t(1024), size_t(40)}) {
        const auto batch = e->embed_batch(views, max_rows);
        ASSERT_EQ(batch.size(), texts.size());
        for (size_t t = 0; t < texts.size(); ++t) {
            const auto alone = e->embed(texts[t]);
            EXPECT_GT(dot(batch[t], alone), 1.0 - 1e-6) << "text " << t << ", rows " << max_rows;
        }
    }
}

TEST(sentence_embedder, a_paraphrase_is_nearer_than_an_unrelated_text) {
    EPIC_REQUIRE_MODEL(model_dir() / "model.safetensors");
    auto e = sentence_embedder::open(model_dir(), 2);
    const auto q = e->embed("Who runs the company?");
    const auto ceo = e->embed("Marta Lindqvist is the chief executive officer of Tidewater Instruments.");
    const auto lunch = e->embed("The cafeteria serves soup and salads from noon.");
    EXPECT_GT(dot(q, ceo), dot(q, lunch) + 0.1);
}

TEST(embedder_files, the_fingerprint_follows_the_files_and_a_missing_one_is_named) {
    EPIC_REQUIRE_MODEL(model_dir() / "model.safetensors");
    test::scratch_dir dir;
    const fs::path copy = dir / "model";
    fs::create_directories(copy);
    for (const char* f : embedder_files) fs::create_symlink(model_dir() / f, copy / f);
    ASSERT_TRUE(embedder_present(copy));
    const std::string fp = embedder_fingerprint(copy);
    EXPECT_EQ(fp, embedder_fingerprint(model_dir()));
    EXPECT_EQ(fp.rfind("minilm-", 0), 0u);
    // Another tokenizer (one byte more) is another embedding model: its vectors are others.
    fs::remove(copy / "tokenizer.json");
    fs::copy_file(model_dir() / "tokenizer.json", copy / "tokenizer.json");
    std::ofstream(copy / "tokenizer.json", std::ios::app) << " ";
    EXPECT_NE(embedder_fingerprint(copy), fp);
    fs::remove(copy / "config.json");
    EXPECT_FALSE(embedder_present(copy));
    try {
        (void)embedder_fingerprint(copy);
        FAIL() << "fingerprinted a folder without config.json";
    } catch (const std::exception& ex) {
        EXPECT_NE(std::string(ex.what()).find("config.json"), std::string::npos) << ex.what();
    }
}

} // namespace
} // namespace epic
