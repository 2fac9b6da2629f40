// GGUF writer -> reader round trips (every value type, several tensor types, v2 and v3, non-default
// alignment), typed getters, writer errors, and the real files under /work/shared/models when present.
#include "common/error.h"
#include "core/fp16.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>

namespace epic {
namespace {

std::vector<uint8_t> read_all(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<uint8_t> random_bytes(std::mt19937_64& rng, size_t n) {
    std::vector<uint8_t> b(n);
    for (auto& x : b) x = (uint8_t)rng();
    return b;
}

// Strings with arbitrary bytes: NULs and invalid UTF-8 must survive unchanged.
std::string random_string(std::mt19937_64& rng, size_t max_len) {
    std::string s(rng() % (max_len + 1), '\0');
    for (auto& c : s) c = (char)(rng() & 0xff);
    return s;
}

void expect_same(const gguf_value& want, const gguf_value& got, const std::string& where) {
    SCOPED_TRACE(where);
    ASSERT_EQ(want.type, got.type);
    switch (want.type) {
    case gguf_type::u8:
    case gguf_type::u16:
    case gguf_type::u32:
    case gguf_type::u64: EXPECT_EQ(want.u, got.u); break;
    case gguf_type::i8:
    case gguf_type::i16:
    case gguf_type::i32:
    case gguf_type::i64: EXPECT_EQ(want.i, got.i); break;
    case gguf_type::f32:
    case gguf_type::f64: EXPECT_EQ(want.f, got.f); break;
    case gguf_type::boolean: EXPECT_EQ(want.b, got.b); break;
    case gguf_type::string: EXPECT_EQ(want.str, got.str); break;
    case gguf_type::array:
        ASSERT_EQ(want.elem_type, got.elem_type);
        ASSERT_EQ(want.items.size(), got.items.size());
        for (size_t k = 0; k < want.items.size(); ++k) expect_same(want.items[k], got.items[k], where + "[" + std::to_string(k) + "]");
        break;
    }
}

struct tensor_spec {
    std::string name;
    ggml_type type;
    std::vector<int64_t> ne;
    std::vector<uint8_t> data;
};

class gguf_roundtrip : public ::testing::TestWithParam<uint32_t> {};

TEST_P(gguf_roundtrip, every_value_type_and_tensor_type_reads_back) {
    const uint32_t seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    const uint32_t version = GetParam();
    const uint32_t alignment = 64u << (rng() % 3); // 64, 128 or 256: never the default

    std::vector<std::pair<std::string, gguf_value>> kv;
    kv.reserve(32); // also spares GCC 12 a false -Warray-bounds on the first emplace
    kv.emplace_back("general.alignment", gguf_value::make_u32(alignment));
    kv.emplace_back("t.u8", gguf_value::make_u8((uint8_t)rng()));
    kv.emplace_back("t.i8", gguf_value::make_i8((int8_t)rng()));
    kv.emplace_back("t.u16", gguf_value::make_u16((uint16_t)rng()));
    kv.emplace_back("t.i16", gguf_value::make_i16((int16_t)rng()));
    kv.emplace_back("t.u32", gguf_value::make_u32((uint32_t)rng()));
    kv.emplace_back("t.i32", gguf_value::make_i32((int32_t)rng()));
    kv.emplace_back("t.u64", gguf_value::make_u64(rng() | (uint64_t(1) << 63)));
    kv.emplace_back("t.i64", gguf_value::make_i64((int64_t)rng()));
    kv.emplace_back("t.f32", gguf_value::make_f32(std::uniform_real_distribution<float>(-1e6f, 1e6f)(rng)));
    kv.emplace_back("t.f64", gguf_value::make_f64(std::uniform_real_distribution<double>(-1e300, 1e300)(rng)));
    kv.emplace_back("t.bool_true", gguf_value::make_bool(true));
    kv.emplace_back("t.bool_false", gguf_value::make_bool(false));
    kv.emplace_back("t.string", gguf_value::make_string(random_string(rng, 40)));
    kv.emplace_back("t.empty_string", gguf_value::make_string(""));
    std::vector<gguf_value> strings;
    for (size_t k = 0, n = 1 + rng() % 30; k < n; ++k) strings.push_back(gguf_value::make_string(random_string(rng, 12)));
    kv.emplace_back("t.string_array", gguf_value::make_array(gguf_type::string, strings));
    kv.emplace_back("t.empty_array", gguf_value::make_array(gguf_type::f32, {}));
    // array of arrays of i16 (inner lengths random, some empty) and array of arrays of arrays of strings
    std::vector<gguf_value> outer;
    for (size_t k = 0, n = 1 + rng() % 6; k < n; ++k) {
        std::vector<gguf_value> inner;
        for (size_t j = 0, m = rng() % 5; j < m; ++j) inner.push_back(gguf_value::make_i16((int16_t)rng()));
        outer.push_back(gguf_value::make_array(gguf_type::i16, inner));
    }
    kv.emplace_back("t.nested_i16", gguf_value::make_array(gguf_type::array, outer));
    std::vector<gguf_value> deep;
    for (int k = 0; k < 3; ++k)
        deep.push_back(gguf_value::make_array(gguf_type::array, {gguf_value::make_array(gguf_type::string, strings)}));
    kv.emplace_back("t.nested3_strings", gguf_value::make_array(gguf_type::array, deep));
    std::vector<gguf_value> f64s, bools, u64s;
    for (int k = 0; k < 7; ++k) {
        f64s.push_back(gguf_value::make_f64(std::normal_distribution<double>()(rng)));
        bools.push_back(gguf_value::make_bool(rng() & 1));
        u64s.push_back(gguf_value::make_u64(rng()));
    }
    kv.emplace_back("t.f64_array", gguf_value::make_array(gguf_type::f64, f64s));
    kv.emplace_back("t.bool_array", gguf_value::make_array(gguf_type::boolean, bools));
    kv.emplace_back("t.u64_array", gguf_value::make_array(gguf_type::u64, u64s));

    const int64_t rows = 1 + (int64_t)(rng() % 4);
    std::vector<tensor_spec> specs = {
        {"a.f32", ggml_type::f32, {1 + (int64_t)(rng() % 37), rows}, {}},
        {"b.f16", ggml_type::f16, {1 + (int64_t)(rng() % 37), rows, 2}, {}},
        {"c.q8_0", ggml_type::q8_0, {32 * (1 + (int64_t)(rng() % 3)), rows}, {}},
        {"d.q4_k", ggml_type::q4_k, {256, rows, 1, 2}, {}},
        {"e.f32_scalar", ggml_type::f32, {1}, {}},
    };
    gguf_writer w;
    w.set_version(version);
    for (const auto& [k, v] : kv) w.set(k, v);
    for (auto& s : specs) {
        size_t n_rows = 1;
        for (size_t d = 1; d < s.ne.size(); ++d) n_rows *= (size_t)s.ne[d];
        s.data = random_bytes(rng, row_bytes(s.type, s.ne[0]) * n_rows);
        w.add_tensor(s.name, s.type, s.ne, s.data);
    }

    epic::test::scratch_dir dir;
    const auto path = dir / "roundtrip.gguf";
    w.write(path.string());
    // no temp file left behind
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()), 1);
    EXPECT_EQ(read_all(path), w.to_bytes());

    const auto f = gguf_file::open(path.string());
    EXPECT_EQ(f->version(), version);
    EXPECT_EQ(f->alignment(), alignment);
    EXPECT_EQ(f->file_size(), std::filesystem::file_size(path));
    EXPECT_EQ(f->data_offset() % alignment, 0u);
    ASSERT_EQ(f->metadata().size(), kv.size());
    for (size_t k = 0; k < kv.size(); ++k) {
        EXPECT_EQ(f->metadata()[k].key, kv[k].first); // insertion order kept
        expect_same(kv[k].second, f->metadata()[k].value, kv[k].first);
        ASSERT_NE(f->find(kv[k].first), nullptr);
    }
    EXPECT_EQ(f->find("t.absent"), nullptr);

    ASSERT_EQ(f->tensors().size(), specs.size());
    for (size_t k = 0; k < specs.size(); ++k) {
        const auto& s = specs[k];
        SCOPED_TRACE(s.name);
        const gguf_tensor_info* t = f->find_tensor(s.name);
        ASSERT_EQ(t, &f->tensors()[k]);
        EXPECT_EQ(t->type, s.type);
        EXPECT_EQ(t->ne, s.ne);
        EXPECT_EQ(t->nbytes, s.data.size());
        EXPECT_EQ(t->offset % alignment, 0u);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(t->data) % alignment, 0u); // mmap base is page-aligned
        EXPECT_EQ(std::memcmp(t->data, s.data.data(), s.data.size()), 0);
    }
    EXPECT_EQ(f->find_tensor("missing"), nullptr);

    // The same bytes parsed from memory agree.
    const auto g = gguf_file::from_bytes(w.to_bytes(), "memory.gguf");
    EXPECT_EQ(g->path(), "memory.gguf");
    ASSERT_EQ(g->tensors().size(), specs.size());
    for (size_t k = 0; k < specs.size(); ++k)
        EXPECT_EQ(std::memcmp(g->tensors()[k].data, specs[k].data.data(), specs[k].data.size()), 0);
}

INSTANTIATE_TEST_SUITE_P(versions, gguf_roundtrip, ::testing::Values(2u, 3u));

TEST(gguf_writer, set_replaces_in_place_and_keeps_alignment_in_step) {
    gguf_writer w;
    w.set_u32("a", 1);
    w.set_string("b", "x");
    w.set_u32("a", 7);
    w.set("general.alignment", gguf_value::make_u32(128));
    w.add_tensor("t", ggml_type::f32, {3}, std::vector<uint8_t>(12, 0xab));
    const auto f = gguf_file::from_bytes(w.to_bytes(), "w.gguf");
    ASSERT_EQ(f->metadata().size(), 3u);
    EXPECT_EQ(f->metadata()[0].key, "a");
    EXPECT_EQ(f->get_int("a"), 7);
    EXPECT_EQ(f->alignment(), 128u);
    EXPECT_EQ(f->data_offset() % 128, 0u);
    EXPECT_EQ(f->file_size() % 128, 0u); // the last tensor is padded too
}

TEST(gguf_writer, rejects_bad_input_with_a_message) {
    gguf_writer w;
    EXPECT_THROW(w.set_alignment(48), error);
    EXPECT_THROW(w.set_alignment(0), error);
    EXPECT_THROW(w.set("general.alignment", gguf_value::make_string("32")), error);
    EXPECT_THROW(w.add_tensor("x", ggml_type::f32, {4}, std::vector<uint8_t>(15)), error);     // wrong size
    EXPECT_THROW(w.add_tensor("x", ggml_type::q8_0, {33}, std::vector<uint8_t>(34)), error);   // not whole blocks
    EXPECT_THROW(w.add_tensor("x", ggml_type::f32, {1, 1, 1, 1, 1}, std::vector<uint8_t>(4)), error);
    EXPECT_THROW(w.add_tensor("x", ggml_type::f32, {}, {}), error);
    w.add_tensor("x", ggml_type::f32, {4}, std::vector<uint8_t>(16));
    EXPECT_THROW(w.add_tensor("x", ggml_type::f32, {4}, std::vector<uint8_t>(16)), error); // duplicate
    EXPECT_THROW(gguf_value::make_array(gguf_type::u32, {gguf_value::make_i32(1)}), error);

    epic::test::scratch_dir dir;
    const std::string bad = (dir / "no-such-folder" / "out.gguf").string();
    try {
        w.write(bad);
        FAIL() << "write into a missing folder succeeded";
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
    w.set_version(1);
    EXPECT_THROW(w.to_bytes(), error);
}

TEST(gguf_file, typed_getters_convert_and_reject_wrong_types) {
    std::mt19937_64 rng(std::random_device{}());
    const int32_t i = (int32_t)rng();
    gguf_writer w;
    w.set_i32("i", i);
    w.set("u8", gguf_value::make_u8(200));
    w.set("big", gguf_value::make_u64(~uint64_t(0)));
    w.set_f32("f", 0.25f);
    w.set_bool("b", true);
    w.set_string("s", "hello");
    w.set_string_array("sa", {"x", "", "z"});
    w.set_i32_array("ia", {i, -1, 3});
    w.set_f32_array("fa", {0.5f, -2.0f});
    const auto f = gguf_file::from_bytes(w.to_bytes(), "getters.gguf");

    EXPECT_EQ(f->get_int("i"), i);
    EXPECT_EQ(f->get_int("u8"), 200);
    EXPECT_EQ(f->get_float("i"), (double)i);
    EXPECT_EQ(f->get_float("f"), 0.25);
    EXPECT_EQ(f->get_bool("b"), true);
    EXPECT_EQ(f->get_string("s"), "hello");
    EXPECT_EQ(f->get_string_array("sa"), (std::vector<std::string>{"x", "", "z"}));
    EXPECT_EQ(f->get_int_array("ia"), (std::vector<int64_t>{i, -1, 3}));
    EXPECT_EQ(f->get_float_array("ia"), (std::vector<float>{(float)i, -1.0f, 3.0f}));
    EXPECT_EQ(f->get_float_array("fa"), (std::vector<float>{0.5f, -2.0f}));
    EXPECT_FALSE(f->get_int("absent").has_value());
    EXPECT_FALSE(f->get_string_array("absent").has_value());

    auto expect_type_error = [&](auto&& call, const std::string& key, const std::string& type) {
        try {
            call();
            FAIL() << key << " read with the wrong type succeeded";
        } catch (const error& e) {
            const std::string m = e.what();
            EXPECT_NE(m.find("getters.gguf"), std::string::npos) << m;
            EXPECT_NE(m.find("'" + key + "'"), std::string::npos) << m;
            EXPECT_NE(m.find(type), std::string::npos) << m;
        }
    };
    expect_type_error([&] { f->get_int("s"); }, "s", "string");
    expect_type_error([&] { f->get_int("f"); }, "f", "f32");
    expect_type_error([&] { f->get_int("big"); }, "big", "18446744073709551615");
    expect_type_error([&] { f->get_bool("i"); }, "i", "i32");
    expect_type_error([&] { f->get_string("b"); }, "b", "bool");
    expect_type_error([&] { f->get_float("s"); }, "s", "string");
    expect_type_error([&] { f->get_string_array("ia"); }, "ia", "array of i32");
    expect_type_error([&] { f->get_int_array("fa"); }, "fa", "array of f32");
    expect_type_error([&] { f->get_float_array("sa"); }, "sa", "array of string");
    expect_type_error([&] { f->get_string_array("s"); }, "s", "string");
}

TEST(gguf_file, open_names_the_path_for_missing_files_and_folders) {
    epic::test::scratch_dir dir;
    for (const auto& p : {dir / "missing.gguf", dir.path()}) {
        try {
            gguf_file::open(p.string());
            FAIL() << "opened " << p;
        } catch (const error& e) {
            EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << e.what();
        }
    }
    std::ofstream(dir / "empty.gguf").close();
    EXPECT_THROW(gguf_file::open((dir / "empty.gguf").string()), error);
}

// --- real files ---------------------------------------------------------------------------------------

TEST(gguf_real, stories260K_f32) {
    const auto path = epic::test::shared_model("stories260K/stories260K.gguf");
    EPIC_REQUIRE_SHARED(path);
    const auto f = gguf_file::open(path.string());
    EXPECT_EQ(f->version(), 3u);
    EXPECT_EQ(f->get_string("general.architecture"), "llama");
    EXPECT_EQ(f->get_string("tokenizer.ggml.model"), "llama");
    EXPECT_EQ(f->get_int("llama.block_count"), 5);
    EXPECT_EQ(f->get_int("llama.embedding_length"), 64);
    EXPECT_EQ(f->get_int("llama.feed_forward_length"), 172);
    EXPECT_EQ(f->get_int("llama.attention.head_count"), 8);
    EXPECT_EQ(f->get_int("llama.attention.head_count_kv"), 4);
    EXPECT_EQ(f->get_int("llama.context_length"), 128);
    EXPECT_NEAR(*f->get_float("llama.attention.layer_norm_rms_epsilon"), 1e-5, 1e-9);
    const auto tokens = f->get_string_array("tokenizer.ggml.tokens");
    ASSERT_TRUE(tokens);
    EXPECT_EQ(tokens->size(), 512u);
    EXPECT_EQ(f->get_float_array("tokenizer.ggml.scores")->size(), 512u);
    EXPECT_EQ(f->get_int_array("tokenizer.ggml.token_type")->size(), 512u);

    EXPECT_EQ(f->tensors().size(), 2u + 5u * 9u + 1u); // token_embd, output_norm, output + 9 per layer
    const auto* emb = f->find_tensor("token_embd.weight");
    ASSERT_NE(emb, nullptr);
    EXPECT_EQ(emb->ne, (std::vector<int64_t>{64, 512}));
    EXPECT_EQ(emb->nbytes, 64u * 512u * 4u);
    for (int l = 0; l < 5; ++l) EXPECT_NE(f->find_tensor("blk." + std::to_string(l) + ".ffn_down.weight"), nullptr);
    const uint8_t* file_begin = f->tensors()[0].data - f->tensors()[0].offset - f->data_offset();
    for (const auto& t : f->tensors()) {
        EXPECT_EQ(t.type, ggml_type::f32) << t.name;
        EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % f->alignment(), 0u) << t.name;
        EXPECT_LE(t.data + t.nbytes, file_begin + f->file_size()) << t.name;
    }
    // Real weights: finite and not all zero.
    const float* w = reinterpret_cast<const float*>(emb->data);
    double sum_sq = 0;
    for (int k = 0; k < 64 * 512; ++k) {
        ASSERT_TRUE(std::isfinite(w[k]));
        sum_sq += (double)w[k] * w[k];
    }
    EXPECT_GT(sum_sq, 1.0);
}

// Expected type of each tensor in the mixed variants, as the models README describes them.
ggml_type expected_mixed_type(const gguf_tensor_info& t, ggml_type quant) {
    const bool ffn_down = t.name.find("ffn_down") != std::string::npos;
    if (quant == ggml_type::f16) return t.ne.size() == 2 && !ffn_down ? ggml_type::f16 : ggml_type::f32;
    return t.ne.size() == 2 && t.ne[0] % 32 == 0 ? quant : ggml_type::f32;
}

TEST(gguf_real, stories260K_mixed_variants_match_the_f32_weights) {
    const auto ref_path = epic::test::shared_model("stories260K/stories260K.gguf");
    EPIC_REQUIRE_SHARED(ref_path);
    const auto ref = gguf_file::open(ref_path.string());
    const std::pair<const char*, ggml_type> variants[] = {
        {"stories260K/stories260K-mixed-q8_0.gguf", ggml_type::q8_0},
        {"stories260K/stories260K-mixed-q4_0.gguf", ggml_type::q4_0},
        {"stories260K/stories260K-mixed-f16.gguf", ggml_type::f16},
    };
    for (const auto& [rel, quant] : variants) {
        const auto path = epic::test::shared_model(rel);
        EPIC_REQUIRE_SHARED(path);
        SCOPED_TRACE(rel);
        const auto f = gguf_file::open(path.string());
        EXPECT_EQ(f->tensors().size(), ref->tensors().size());
        for (const auto& t : f->tensors()) {
            EXPECT_EQ(t.type, expected_mixed_type(t, quant)) << t.name;
            const auto* r = ref->find_tensor(t.name);
            ASSERT_NE(r, nullptr) << t.name;
            EXPECT_EQ(t.ne, r->ne) << t.name;
            EXPECT_EQ(t.nbytes, row_bytes(t.type, t.ne[0]) * (size_t)(t.n_elements() / t.ne[0])) << t.name;
        }
        // The data pointers lead to the same weights: decode token_embd's first blocks and compare.
        const auto* e = f->find_tensor("token_embd.weight");
        const float* want = reinterpret_cast<const float*>(ref->find_tensor("token_embd.weight")->data);
        ASSERT_NE(e, nullptr);
        for (int b = 0; b < 64; ++b) { // 64 blocks of 32 elements
            if (quant == ggml_type::f16) {
                const auto* h = reinterpret_cast<const uint16_t*>(e->data);
                for (int k = 0; k < 32; ++k)
                    EXPECT_NEAR(fp16_to_fp32(h[b * 32 + k]), want[b * 32 + k], std::fabs(want[b * 32 + k]) * 1e-3 + 1e-7);
            } else if (quant == ggml_type::q8_0) {
                const uint8_t* blk = e->data + b * 34;
                uint16_t dh;
                std::memcpy(&dh, blk, 2);
                const float d = fp16_to_fp32(dh);
                for (int k = 0; k < 32; ++k)
                    EXPECT_NEAR(d * (int8_t)blk[2 + k], want[b * 32 + k], std::fabs(d) * 0.6 + 1e-7);
            } else { // q4_0: d, then 16 bytes: low nibbles are elements 0..15, high nibbles 16..31
                const uint8_t* blk = e->data + b * 18;
                uint16_t dh;
                std::memcpy(&dh, blk, 2);
                const float d = fp16_to_fp32(dh);
                for (int k = 0; k < 32; ++k) {
                    const int q = k < 16 ? (blk[2 + k] & 0xf) : (blk[2 + k - 16] >> 4);
                    EXPECT_NEAR(d * (q - 8), want[b * 32 + k], std::fabs(d) * 1.1 + 1e-7);
                }
            }
        }
    }
}

TEST(gguf_real, vocab_only_files_have_no_tensors) {
    const auto dir = epic::test::shared_model("tokenizers/llama-vocab-tests");
    EPIC_REQUIRE_SHARED(dir);
    int seen = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".gguf") continue;
        SCOPED_TRACE(entry.path().string());
        ++seen;
        const auto f = gguf_file::open(entry.path().string());
        EXPECT_EQ(f->version(), 3u);
        EXPECT_TRUE(f->tensors().empty());
        EXPECT_FALSE(f->get_string("tokenizer.ggml.model").value_or("").empty());
        const auto tokens = f->get_string_array("tokenizer.ggml.tokens");
        ASSERT_TRUE(tokens);
        EXPECT_GT(tokens->size(), 1000u);
        if (const auto scores = f->get_float_array("tokenizer.ggml.scores")) {
            EXPECT_EQ(scores->size(), tokens->size());
        }
        if (entry.path().filename() == "ggml-vocab-llama-spm.gguf") {
            EXPECT_EQ(tokens->size(), 32000u);
            EXPECT_EQ(f->get_int("tokenizer.ggml.bos_token_id"), 1);
            EXPECT_EQ(f->get_int("tokenizer.ggml.eos_token_id"), 2);
        }
    }
    EXPECT_GE(seen, 4);
}

} // namespace
} // namespace epic
