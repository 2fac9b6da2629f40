// tokenizer::from_gguf: a GGUF vocabulary written from a model trained at test time must encode
// exactly as the model file; malformed vocabularies are errors naming the file; with shared data,
// llama.cpp's Llama SPM vectors and the stories260K vocabulary.
#include "common/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer_fixture.h"

#include <gtest/gtest.h>
#include <sentencepiece_processor.h>

namespace epic {
namespace {

// The vocabulary of a sentencepiece model as llama.cpp's converter writes it.
gguf_writer vocab_writer(const std::string& serialized) {
    sentencepiece::SentencePieceProcessor sp;
    if (!sp.LoadFromSerializedProto(serialized).ok()) throw std::runtime_error("cannot load the trained model");
    std::vector<std::string> tokens;
    std::vector<float> scores;
    std::vector<int32_t> types;
    for (int id = 0; id < sp.GetPieceSize(); ++id) {
        tokens.push_back(sp.IdToPiece(id));
        scores.push_back(sp.GetScore(id));
        types.push_back(sp.IsUnknown(id) ? 2 : sp.IsControl(id) ? 3 : sp.IsUnused(id) ? 5 : sp.IsByte(id) ? 6 : 1);
    }
    gguf_writer w;
    w.set_string("general.architecture", "llama");
    w.set_string("tokenizer.ggml.model", "llama");
    w.set_string_array("tokenizer.ggml.tokens", tokens);
    w.set_f32_array("tokenizer.ggml.scores", scores);
    w.set_i32_array("tokenizer.ggml.token_type", types);
    w.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(sp.bos_id()));
    w.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(sp.eos_id()));
    w.set_u32("tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(sp.unk_id()));
    w.set_bool("tokenizer.ggml.add_bos_token", true);
    return w;
}

std::unique_ptr<tokenizer> from_writer(const gguf_writer& w, const std::string& name) {
    const auto file = gguf_file::from_bytes(w.to_bytes(), name);
    return tokenizer::from_gguf(*file);
}

// Expects from_gguf on `w` to throw an epic::error whose message names the file and says `what`.
void expect_gguf_error(const gguf_writer& w, const std::string& name, const std::string& what) {
    const auto file = gguf_file::from_bytes(w.to_bytes(), name);
    try {
        tokenizer::from_gguf(*file);
        ADD_FAILURE() << "expected epic::error for " << name;
    } catch (const error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(name), std::string::npos) << msg;
        EXPECT_NE(msg.find(what), std::string::npos) << msg;
    }
}

class tokenizer_gguf : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new test::scratch_dir();
        train_seed_ = test::fresh_seed();
        model_ = new test::trained_spm(test::train_tiny_spm(*dir_, train_seed_));
    }
    static void TearDownTestSuite() {
        delete model_;
        delete dir_;
        model_ = nullptr;
        dir_ = nullptr;
    }
    void SetUp() override {
        seed = test::fresh_seed();
        rng.seed(seed);
    }
    static inline test::scratch_dir* dir_ = nullptr;
    static inline test::trained_spm* model_ = nullptr;
    static inline uint32_t train_seed_ = 0;
    uint32_t seed = 0;
    std::mt19937 rng;
};

TEST_F(tokenizer_gguf, trained_vocab_encodes_like_the_model_file) {
    SCOPED_TRACE("seed " + std::to_string(seed) + ", training seed " + std::to_string(train_seed_));
    const std::string path = (*dir_ / "vocab.gguf").string();
    vocab_writer(model_->serialized).write(path);
    const auto file = gguf_file::open(path);
    const auto from_gguf = tokenizer::from_gguf(*file);
    const auto from_file = tokenizer::from_spm_file(model_->model_path);
    ASSERT_EQ(from_gguf->n_vocab(), from_file->n_vocab());
    EXPECT_EQ(from_gguf->bos(), from_file->bos());
    EXPECT_EQ(from_gguf->eos(), from_file->eos());
    EXPECT_TRUE(from_gguf->add_bos_default());
    for (int32_t id = 0; id < from_gguf->n_vocab(); ++id) {
        EXPECT_EQ(from_gguf->token_bytes(id), from_file->token_bytes(id)) << id;
        EXPECT_EQ(from_gguf->is_control(id), from_file->is_control(id)) << id;
    }
    for (int i = 0; i < 300; ++i) {
        const std::string text = (i % 3 == 2) ? test::random_bytes(rng, 40) : test::random_utf8(rng, 32);
        SCOPED_TRACE(::testing::PrintToString(text));
        const auto ids = from_gguf->encode(text, i % 2 == 0);
        EXPECT_EQ(ids, from_file->encode(text, i % 2 == 0));
        EXPECT_EQ(from_gguf->decode(ids), test::expected_round_trip(text));
    }
}

TEST_F(tokenizer_gguf, flags_duplicates_and_empty_pieces) {
    SCOPED_TRACE("seed " + std::to_string(seed) + ", training seed " + std::to_string(train_seed_));
    const auto reference = tokenizer::from_spm_file(model_->model_path);

    gguf_writer no_bos = vocab_writer(model_->serialized);
    no_bos.set_bool("tokenizer.ggml.add_bos_token", false);
    EXPECT_FALSE(from_writer(no_bos, "no-bos.gguf")->add_bos_default());

    // Without the space prefix, "hello" starts with no '▁' and still round-trips.
    gguf_writer no_prefix = vocab_writer(model_->serialized);
    no_prefix.set_bool("tokenizer.ggml.add_space_prefix", false);
    const auto np = from_writer(no_prefix, "no-prefix.gguf");
    for (int i = 0; i < 100; ++i) {
        const std::string text = test::random_utf8(rng, 16);
        SCOPED_TRACE(::testing::PrintToString(text));
        const auto ids = np->encode(text, false);
        std::string streamed;
        for (const int32_t id : ids) streamed += np->token_bytes(id);
        EXPECT_EQ(streamed, test::expected_round_trip(text));
        EXPECT_EQ(np->decode(ids), test::expected_round_trip(text));
    }

    // A vocabulary with a duplicated piece and an empty piece (seen in converted vocabs) still loads;
    // the copies keep their text for output but are never produced by encoding.
    sentencepiece::SentencePieceProcessor sp;
    ASSERT_TRUE(sp.LoadFromSerializedProto(model_->serialized).ok());
    std::vector<std::string> tokens;
    for (int id = 0; id < sp.GetPieceSize(); ++id) tokens.push_back(sp.IdToPiece(id));
    const int32_t n = sp.GetPieceSize();
    const int32_t dup = n - 1, empty = n - 2;
    const std::string original = tokens[dup];
    tokens[dup] = tokens[n - 3];
    tokens[empty] = "";
    gguf_writer clash = vocab_writer(model_->serialized);
    clash.set_string_array("tokenizer.ggml.tokens", tokens);
    const auto c = from_writer(clash, "clash.gguf");
    EXPECT_EQ(c->n_vocab(), n);
    EXPECT_EQ(c->token_bytes(empty), "");
    EXPECT_EQ(c->token_bytes(dup), reference->token_bytes(n - 3));
    for (int i = 0; i < 100; ++i) {
        const std::string text = test::random_utf8(rng, 24) + original;
        const auto ids = c->encode(text, false);
        EXPECT_EQ(std::count(ids.begin(), ids.end(), dup), 0);
        EXPECT_EQ(std::count(ids.begin(), ids.end(), empty), 0);
        EXPECT_EQ(c->decode(ids), test::expected_round_trip(text));
    }
}

TEST_F(tokenizer_gguf, malformed_vocabularies_are_errors_naming_the_file) {
    gguf_writer gpt2 = vocab_writer(model_->serialized);
    gpt2.set_string("tokenizer.ggml.model", "gpt2");
    expect_gguf_error(gpt2, "gpt2-vocab.gguf", "gpt2");

    gguf_writer other = vocab_writer(model_->serialized);
    other.set_string("tokenizer.ggml.model", "t5");
    expect_gguf_error(other, "t5-vocab.gguf", "t5");

    gguf_writer no_model;
    no_model.set_string("general.architecture", "llama");
    expect_gguf_error(no_model, "no-model.gguf", "tokenizer.ggml.model");

    gguf_writer no_tokens;
    no_tokens.set_string("tokenizer.ggml.model", "llama");
    no_tokens.set_f32_array("tokenizer.ggml.scores", {0.0f, 0.0f});
    expect_gguf_error(no_tokens, "no-tokens.gguf", "tokenizer.ggml.tokens");

    const int32_t n = static_cast<int32_t>(tokenizer::from_spm_proto(model_->serialized, "m")->n_vocab());
    gguf_writer short_scores = vocab_writer(model_->serialized);
    short_scores.set_f32_array("tokenizer.ggml.scores", std::vector<float>(static_cast<size_t>(n - 1), 0.0f));
    expect_gguf_error(short_scores, "short-scores.gguf", "tokenizer.ggml.scores");

    gguf_writer long_types = vocab_writer(model_->serialized);
    long_types.set_i32_array("tokenizer.ggml.token_type", std::vector<int32_t>(static_cast<size_t>(n + 1), 1));
    expect_gguf_error(long_types, "long-types.gguf", "tokenizer.ggml.token_type");

    gguf_writer bad_type = vocab_writer(model_->serialized);
    std::vector<int32_t> types(static_cast<size_t>(n), 1);
    types[0] = 2;
    types[7] = 42;
    bad_type.set_i32_array("tokenizer.ggml.token_type", types);
    expect_gguf_error(bad_type, "bad-type.gguf", "token_type[7]");

    gguf_writer bad_bos = vocab_writer(model_->serialized);
    bad_bos.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(n));
    expect_gguf_error(bad_bos, "bad-bos.gguf", "bos_token_id");

    gguf_writer bad_byte = vocab_writer(model_->serialized);
    std::vector<int32_t> byte_types(static_cast<size_t>(n), 1);
    byte_types[0] = 2;
    byte_types[n - 1] = 6; // a merged piece typed as a byte
    bad_byte.set_i32_array("tokenizer.ggml.token_type", byte_types);
    expect_gguf_error(bad_byte, "bad-byte.gguf", "<0xNN>");
}

// ---- shared data ----------------------------------------------------------------------------

TEST(tokenizer_gguf_shared, llama_spm_vocab_matches_llama_cpp_vectors_and_tokenizer_model) {
    const auto vocab = test::shared_model("tokenizers/llama-vocab-tests/ggml-vocab-llama-spm.gguf");
    const auto model = test::shared_model("tokenizers/llama2-tokenizer.model");
    EPIC_REQUIRE_SHARED(vocab);
    const auto file = gguf_file::open(vocab.string());
    const auto tok = tokenizer::from_gguf(*file);
    EXPECT_EQ(tok->n_vocab(), 32000);
    EXPECT_EQ(tok->bos(), 1);
    EXPECT_EQ(tok->eos(), 2);
    EXPECT_TRUE(tok->add_bos_default());
    const auto vectors = test::read_vocab_vectors(vocab.string() + ".inp");
    ASSERT_GE(vectors.size(), 40u);
    for (const auto& v : vectors) {
        SCOPED_TRACE(::testing::PrintToString(v.text));
        EXPECT_EQ(tok->encode(v.text, false), v.ids);
        EXPECT_EQ(tok->decode(v.ids), test::expected_round_trip(v.text));
    }

    EPIC_REQUIRE_SHARED(model);
    const auto reference = tokenizer::from_spm_file(model.string());
    for (int32_t id = 0; id < tok->n_vocab(); ++id) {
        ASSERT_EQ(tok->token_bytes(id), reference->token_bytes(id)) << id;
        ASSERT_EQ(tok->is_control(id), reference->is_control(id)) << id;
    }
    const uint32_t seed = test::fresh_seed();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    for (int i = 0; i < 300; ++i) {
        const std::string text = (i % 3 == 2) ? test::random_bytes(rng, 60) : test::random_utf8(rng, 48);
        SCOPED_TRACE(::testing::PrintToString(text));
        EXPECT_EQ(tok->encode(text, true), reference->encode(text, true));
    }
}

TEST(tokenizer_gguf_shared, phi3_vocab_matches_llama_cpp_vectors) {
    const auto vocab = test::shared_model("tokenizers/llama-vocab-tests/ggml-vocab-phi-3.gguf");
    EPIC_REQUIRE_SHARED(vocab);
    const auto file = gguf_file::open(vocab.string());
    const auto tok = tokenizer::from_gguf(*file);
    for (const auto& v : test::read_vocab_vectors(vocab.string() + ".inp")) {
        SCOPED_TRACE(::testing::PrintToString(v.text));
        EXPECT_EQ(tok->encode(v.text, false), v.ids);
    }
}

// gpt2 vocabularies now go to the byte-level BPE tokenizer (its vectors: tokenizer_bpe_test.cpp).
TEST(tokenizer_gguf_shared, gpt2_vocab_dispatches_to_byte_level_bpe) {
    const auto vocab = test::shared_model("tokenizers/llama-vocab-tests/ggml-vocab-gpt-2.gguf");
    EPIC_REQUIRE_SHARED(vocab);
    const auto file = gguf_file::open(vocab.string());
    const auto tok = tokenizer::from_gguf(*file);
    EXPECT_EQ(tok->n_vocab(), 50257);
    EXPECT_EQ(tok->encode("Hello world", false), (std::vector<int32_t>{15496, 995}));
}

// Text that tok512.model (which removes extra whitespace) and a llama.cpp-style vocabulary (which
// keeps it) must encode the same way: single spaces between words, none at either end.
std::string single_spaced_text(std::mt19937& rng) {
    static const std::vector<std::string> words = {
        "Once", "upon", "a", "time,", "there", "was", "little", "girl", "named", "Lily.", "She", "liked",
        "\"Hi!\"", "42", "2024", "café", "中文", "😀", "Zebra", "xylophone", "q", "...", "it's", "don't",
    };
    std::string s;
    const size_t n = 1 + rng() % 20;
    for (size_t i = 0; i < n; ++i) {
        if (i) s += (rng() % 6 == 0) ? "\n" : " ";
        s += words[rng() % words.size()];
    }
    return s;
}

TEST(tokenizer_gguf_shared, stories260k_vocab_matches_tok512_model) {
    const auto gguf = test::shared_model("stories260K/stories260K.gguf");
    const auto model = test::shared_model("stories260K/tok512.model");
    EPIC_REQUIRE_SHARED(gguf);
    EPIC_REQUIRE_SHARED(model);
    const auto file = gguf_file::open(gguf.string());
    const auto tok = tokenizer::from_gguf(*file);
    const auto reference = tokenizer::from_spm_file(model.string());
    ASSERT_EQ(tok->n_vocab(), 512);
    EXPECT_EQ(tok->bos(), reference->bos());
    EXPECT_EQ(tok->eos(), reference->eos());
    // From id 1: tok512.model's unk_surface is the literal text " \\342\\201\\207 " (a raw-string slip in
    // llama2.c's trainer call), while the GGUF path uses sentencepiece's default " ⁇ ".
    for (int32_t id = 1; id < tok->n_vocab(); ++id) EXPECT_EQ(tok->token_bytes(id), reference->token_bytes(id)) << id;
    const uint32_t seed = test::fresh_seed();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    for (int i = 0; i < 300; ++i) {
        const std::string text = single_spaced_text(rng);
        SCOPED_TRACE(text);
        const auto ids = tok->encode(text, true);
        EXPECT_EQ(ids, reference->encode(text, true));
        EXPECT_EQ(tok->decode(ids), text);
    }
    // The GGUF vocabulary keeps whitespace as llama.cpp does; tok512.model squeezes it.
    EXPECT_EQ(tok->decode(tok->encode("  a   b  ", false)), "  a   b  ");
}

} // namespace
} // namespace epic
