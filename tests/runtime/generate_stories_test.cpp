// The real trained stories260K model (../shared/models): tokenization, logits and 48 greedy tokens
// against the float64 reference of the original checkpoint; quantized variants stay close.
#include "backend/cpu/cpu_backend.h"
#include "forward/transformer.h"
#include "generate/generator.h"
#include "core/json.h"
#include "support/reference_llama.h"
#include "support/shared_models.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <numeric>

namespace epic {
namespace {

struct loaded {
    std::unique_ptr<model> mdl;
    std::unique_ptr<tokenizer> tok;
    std::unique_ptr<cpu_backend> be;
    std::unique_ptr<transformer> tf;
};

loaded load(const std::filesystem::path& p) {
    loaded l;
    l.mdl = model::load(p.string());
    l.tok = tokenizer::from_gguf(l.mdl->file());
    l.be = std::make_unique<cpu_backend>(2);
    l.tf = std::make_unique<transformer>(*l.mdl, *l.be);
    return l;
}

std::vector<int32_t> to_i32(const std::vector<int>& v) { return std::vector<int32_t>(v.begin(), v.end()); }

TEST(stories260k, reproduces_reference_logits_and_greedy_tokens) {
    const auto path = test::shared_model("stories260K/stories260K.gguf");
    const auto ref_path = test::shared_model("stories260K/stories260K_reference.json");
    EPIC_REQUIRE_SHARED(path);
    EPIC_REQUIRE_SHARED(ref_path);
    const auto ref = parse_json_file(ref_path.string());
    loaded l = load(path);
    const int n_vocab = l.mdl->config().n_vocab;
    ASSERT_EQ(n_vocab, 512);
    for (const auto& c : ref.at("cases")) {
        SCOPED_TRACE(c.at("prompt").get<std::string>());
        const auto prompt = to_i32(c.at("prompt_ids").get<std::vector<int>>());
        EXPECT_EQ(l.tok->encode(c.at("prompt").get<std::string>(), true), prompt);

        // Logits at every prompt position: the reference's top-5 ids in order, values close.
        auto kv = l.tf->new_kv_cache(128);
        std::vector<int32_t> pos(prompt.size());
        std::iota(pos.begin(), pos.end(), 0);
        std::vector<float> logits;
        l.tf->forward(*kv, prompt, pos, true, logits);
        const auto& top5 = c.at("top5_per_prompt_position");
        for (size_t t = 0; t < prompt.size(); ++t) {
            for (size_t r = 0; r < 5; ++r) {
                const int id = top5[t][r][0].get<int>();
                const double want = top5[t][r][1].get<double>();
                EXPECT_NEAR(logits[t * n_vocab + (size_t)id], want, 2e-3 * std::abs(want) + 2e-3)
                    << "position " << t << " rank " << r;
            }
        }
        const auto last = c.at("last_position_logits").get<std::vector<double>>();
        EXPECT_LT(test::relative_error(logits.data() + (prompt.size() - 1) * n_vocab, last.data(), last.size()), 1e-3);

        // 48 greedy tokens, exactly.
        generator gen(*l.tf, *l.tok);
        generation_params gp;
        gp.max_tokens = 48;
        gp.sampling.temperature = 0.0f;
        gp.stop_at_eos = false;
        const auto r = gen.generate(*kv, prompt, gp);
        EXPECT_EQ(r.tokens, to_i32(c.at("greedy_ids").get<std::vector<int>>()));
        // The reference decodes the tokens on their own (no leading space); streaming emits them as a
        // continuation of the prompt, so its text may start with the space of the first word.
        const auto expect = c.at("greedy_text").get<std::string>();
        EXPECT_EQ(l.tok->decode(r.tokens), expect);
        ASSERT_GE(r.text.size(), expect.size());
        EXPECT_EQ(r.text.substr(r.text.size() - expect.size()), expect);
        EXPECT_LE(r.text.size(), expect.size() + 1);
    }
}

TEST(stories260k, independent_float64_reference_agrees_with_the_published_one) {
    // Guards the test harness itself: our float64 reference reading the GGUF must match the
    // reference computed from the original checkpoint (HF layout) to near float64 precision.
    const auto path = test::shared_model("stories260K/stories260K.gguf");
    const auto ref_path = test::shared_model("stories260K/stories260K_reference.json");
    EPIC_REQUIRE_SHARED(path);
    EPIC_REQUIRE_SHARED(ref_path);
    const auto ref = parse_json_file(ref_path.string());
    test::reference_llama mine(path.string());
    for (const auto& c : ref.at("cases")) {
        const auto prompt = to_i32(c.at("prompt_ids").get<std::vector<int>>());
        const auto logits = mine.forward(prompt);
        const auto last = c.at("last_position_logits").get<std::vector<double>>();
        std::vector<float> as_float(logits.back().begin(), logits.back().end());
        EXPECT_LT(test::relative_error(as_float.data(), last.data(), last.size()), 1e-5);
    }
}

struct variant {
    const char* file;
    double max_rel_error; // of the last-position logits against the float64 reference
    int top_rank;         // the reference's most likely token must be within our top `top_rank`
};

class stories_variants : public ::testing::TestWithParam<variant> {};

TEST_P(stories_variants, quantized_files_load_and_stay_close) {
    const auto path = test::shared_model(std::string("stories260K/") + GetParam().file);
    const auto ref_path = test::shared_model("stories260K/stories260K_reference.json");
    EPIC_REQUIRE_SHARED(path);
    EPIC_REQUIRE_SHARED(ref_path);
    const auto ref = parse_json_file(ref_path.string());
    loaded l = load(path);
    const int n_vocab = l.mdl->config().n_vocab;
    for (const auto& c : ref.at("cases")) {
        const auto prompt = to_i32(c.at("prompt_ids").get<std::vector<int>>());
        auto kv = l.tf->new_kv_cache(128);
        std::vector<int32_t> pos(prompt.size());
        std::iota(pos.begin(), pos.end(), 0);
        std::vector<float> logits;
        l.tf->forward(*kv, prompt, pos, false, logits);
        const auto last = c.at("last_position_logits").get<std::vector<double>>();
        const double err = test::relative_error(logits.data(), last.data(), last.size());
        EXPECT_LT(err, GetParam().max_rel_error) << GetParam().file << " on '" << c.at("prompt").get<std::string>() << "'";
        // The reference's most likely next token is (among) ours.
        const auto best = std::max_element(last.begin(), last.end()) - last.begin();
        int rank = 0;
        for (int j = 0; j < n_vocab; ++j) rank += logits[(size_t)j] > logits[(size_t)best];
        EXPECT_LT(rank, GetParam().top_rank) << GetParam().file << " on '" << c.at("prompt").get<std::string>() << "'";
    }
}

INSTANTIATE_TEST_SUITE_P(files, stories_variants,
                         ::testing::Values(variant{"stories260K-f16.gguf", 5e-3, 1}, variant{"stories260K-mixed-f16.gguf", 5e-3, 1},
                                           variant{"stories260K-mixed-q8_0.gguf", 3e-2, 1},
                                           variant{"stories260K-mixed-q4_0.gguf", 1.5e-1, 5}),
                         [](const auto& info) {
                             std::string n = info.param.file;
                             for (auto& ch : n) if (!isalnum((unsigned char)ch)) ch = '_';
                             return n;
                         });

} // namespace
} // namespace epic
