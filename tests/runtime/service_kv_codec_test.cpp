// Chunk caches as KV blobs in every format (service/kv_codec.h):
//  - the tensors a format writes (names, types, shapes), its metadata, and a decode that gives back
//    exactly what the codec's dequantizer computes; f16 blobs unchanged (and those written before
//    formats existed still load);
//  - blobs whose tensors or metadata disagree with their format are refused with an error naming
//    the blob; a flipped byte or a truncation of a stored quantized blob is caught by the store's
//    checksums (load answers nothing: the service recompiles);
//  - on the random-model fixtures, a link over quantized caches stays close to the f16 one (KL of
//    the first-token distribution), and a link never mixes two formats.
#include "service/kv_codec.h"

#include "common/error.h"
#include "core/fp16.h"
#include "eval/qa_score.h"
#include "kvstore/blob_codec.h"
#include "kvstore/kv_store.h"
#include "library/library.h"
#include "pic/kv_quant.h"
#include "pic_fixture.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

namespace epic {
namespace {

namespace fs = std::filesystem;

chunk_cache random_cache(std::mt19937& rng, kv_format f, int n_layer = 3, int rows = 45, int n_head_kv = 2, int head_dim = 16) {
    chunk_cache c;
    c.model_fingerprint = "fp0123";
    c.options = compile_options::standalone(1);
    c.options.format = f;
    c.n_layer = n_layer;
    c.n_head_kv = n_head_kv;
    c.head_dim = head_dim;
    std::uniform_int_distribution<int32_t> tok(3, 30000);
    for (int i = 0; i < rows; ++i) c.tokens.push_back(i == 0 ? 1 : tok(rng));
    std::normal_distribution<float> n01(0.f, 1.f);
    const size_t n = (size_t)rows * (size_t)c.row_width();
    for (int il = 0; il < n_layer; ++il) {
        std::vector<uint16_t> k(n), v(n); // [rows, n_head_kv, head_dim]
        for (size_t i = 0; i < n; ++i) {
            k[i] = fp32_to_fp16(2.f * (float)(i % (size_t)c.row_width() % 5) + n01(rng)); // per-channel offsets
            v[i] = fp32_to_fp16(0.5f * n01(rng));
        }
        c.k.push_back(std::move(k));
        c.v.push_back(std::move(v));
    }
    return c;
}

kv_quant_layout layout_of(const chunk_cache& c, kv_quant_axis axis, bool value) {
    kv_quant_layout l;
    l.n_rows = c.n_rows();
    l.width = c.row_width();
    l.bits = kv_format_bits(c.options.format, value);
    l.group = kv_quant_group;
    l.axis = axis;
    return l;
}

// A copy of b with tensor `index` replaced (nullopt: dropped) and the metadata edited by `meta`.
storage::kv_blob rebuilt(const storage::kv_blob& b, size_t index, const std::optional<storage::kv_tensor_info>& replace,
                         const std::vector<std::byte>& data, const std::function<std::string(std::string)>& meta = nullptr) {
    storage::kv_blob out;
    out.key = b.key;
    out.metadata = meta ? meta(b.metadata) : b.metadata;
    for (size_t i = 0; i < b.tensors.size(); ++i) {
        if (i != index) {
            out.add_tensor(b.tensors[i].name, b.tensors[i].type, b.tensors[i].shape, b.tensor_data(i));
        } else if (replace) {
            out.add_tensor(replace->name, replace->type, replace->shape, data);
        }
    }
    return out;
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
    const size_t p = s.find(from);
    EXPECT_NE(p, std::string::npos) << from << " not in " << s;
    if (p != std::string::npos) s.replace(p, from.size(), to);
    return s;
}

TEST(kv_codec, each_format_writes_its_tensors_and_decodes_to_what_the_dequantizer_gives) {
    std::mt19937 rng(std::random_device{}());
    const chunk_cache f16 = random_cache(rng, kv_format::f16);
    size_t f16_bytes = 0;
    for (kv_format f : all_kv_formats) {
        SCOPED_TRACE(std::string(kv_format_name(f)));
        chunk_cache c = f16;
        c.options.format = f;
        const storage::kv_blob b = chunk_cache_to_blob(c, chunk_cache_key(c));
        EXPECT_NE(b.metadata.find(";kv_format=" + std::string(kv_format_name(f))), std::string::npos) << b.metadata;
        const chunk_cache d = chunk_cache_from_blob(b, "blob.epkv");
        EXPECT_EQ(d.options, c.options);
        EXPECT_EQ(d.tokens, c.tokens);
        EXPECT_EQ(d.n_layer, c.n_layer);
        ASSERT_EQ(d.k.size(), (size_t)c.n_layer);
        if (f == kv_format::f16) {
            f16_bytes = b.payload.size();
            ASSERT_EQ(b.tensors.size(), 1u + 2 * 3);
            EXPECT_EQ(b.tensors[1].name, "k.0");
            EXPECT_EQ(b.tensors[1].shape, (std::vector<uint64_t>{45, 2, 16}));
            EXPECT_EQ(d.k, c.k);
            EXPECT_EQ(d.v, c.v);
            continue;
        }
        ASSERT_EQ(b.tensors.size(), 1u + 6 * 3);
        const auto kl = layout_of(c, kv_quant_axis::tokens, false), vl = layout_of(c, kv_quant_v_axis, true);
        // 45 rows of width 32: K has ceil(45 / G) groups of rows per channel; V the same (per channel)
        // or ceil(32 / G) groups per row (per token).
        const uint64_t kg = (45 + kv_quant_group - 1) / kv_quant_group, vg = (32 + kv_quant_group - 1) / kv_quant_group;
        const std::vector<uint64_t> vs = kv_quant_v_axis == kv_quant_axis::tokens ? std::vector<uint64_t>{kg, 32} : std::vector<uint64_t>{45, vg};
        EXPECT_NE(b.metadata.find(std::string(";kv_v_axis=") + kv_quant_axis_name(kv_quant_v_axis)), std::string::npos);
        const std::vector<std::pair<std::string, std::vector<uint64_t>>> want = {
            {"k.2.q", {(uint64_t)kl.code_rows(), 32}}, {"k.2.s", {kg, 32}}, {"k.2.m", {kg, 32}},
            {"v.2.q", {(uint64_t)vl.code_rows(), 32}}, {"v.2.s", vs}, {"v.2.m", vs}};
        for (size_t i = 0; i < want.size(); ++i) {
            const auto& t = b.tensors[1 + 6 * 2 + i];
            EXPECT_EQ(t.name, want[i].first);
            EXPECT_EQ(t.shape, want[i].second) << t.name;
            EXPECT_EQ(t.type, i % 3 == 0 ? storage::kv_dtype::u8 : storage::kv_dtype::f16) << t.name;
        }
        // 45 rows of b-bit codes take ceil(45 b / 8) code rows: 45 (8 bits), 23 (4).
        const std::map<int, int64_t> code_rows = {{8, 45}, {4, 23}};
        EXPECT_EQ(kl.code_rows(), code_rows.at(kv_format_bits(f, false)));
        EXPECT_EQ(vl.code_rows(), code_rows.at(kv_format_bits(f, true)));
        EXPECT_EQ(kv_format_bits(f, false), f == kv_format::q4 ? 4 : 8);
        // Decoded = the dequantizer applied to what the quantizer made of the f16 input.
        for (int il = 0; il < c.n_layer; ++il)
            for (int kv = 0; kv < 2; ++kv) {
                const kv_quant_layout l = kv ? vl : kl;
                const auto& x = kv ? c.v[(size_t)il] : c.k[(size_t)il];
                std::vector<uint8_t> codes(l.code_bytes());
                std::vector<uint16_t> s(l.scale_count()), m(l.scale_count()), out(x.size());
                kv_quantize(l, x.data(), codes.data(), s.data(), m.data());
                kv_dequantize_scalar(l, codes.data(), s.data(), m.data(), out.data());
                EXPECT_EQ(kv ? d.v[(size_t)il] : d.k[(size_t)il], out) << "layer " << il << (kv ? " V" : " K");
                EXPECT_NE(out, x); // quantization changed something: the comparison above means something
            }
        EXPECT_EQ(kv_format_round_trip(c).k, d.k);
        EXPECT_EQ(kv_format_round_trip(c).v, d.v);
        // Bytes: the tokens, then per layer and tensor the codes and two f16 per group (a 45-row chunk
        // is one group of rows, hence the loose ratios).
        const size_t per_layer = kl.code_bytes() + 4 * kl.scale_count() + vl.code_bytes() + 4 * vl.scale_count();
        EXPECT_EQ(b.payload.size(), 45 * 4 + 3 * per_layer);
        EXPECT_EQ(per_layer, (uint64_t)(kl.code_rows() + vl.code_rows()) * 32 + 4 * (kg * 32 + vs[0] * vs[1]));
        EXPECT_LT(b.payload.size(), f16_bytes * (f == kv_format::q8 ? 0.6 : f == kv_format::k8v4 ? 0.47 : 0.35));
    }
    EXPECT_EQ(kv_format_round_trip(f16).k, f16.k); // f16: nothing to do
}

TEST(kv_codec, f16_blobs_written_before_formats_existed_still_load) {
    std::mt19937 rng(1);
    const chunk_cache c = random_cache(rng, kv_format::f16);
    const storage::kv_blob b = chunk_cache_to_blob(c, "key");
    const storage::kv_blob old = rebuilt(b, SIZE_MAX, std::nullopt, {}, [](std::string m) { return replaced(m, ";kv_format=f16", ""); });
    const chunk_cache d = chunk_cache_from_blob(old, "old.epkv");
    EXPECT_EQ(d.k, c.k);
    EXPECT_EQ(d.options.format, kv_format::f16);
}

TEST(kv_codec, blobs_whose_tensors_or_metadata_disagree_with_their_format_are_refused) {
    std::mt19937 rng(2);
    chunk_cache c = random_cache(rng, kv_format::q4);
    const storage::kv_blob b = chunk_cache_to_blob(c, "key");
    ASSERT_NO_THROW(chunk_cache_from_blob(b, "good.epkv"));
    auto refused = [](const storage::kv_blob& bad, const std::string& why) {
        try {
            (void)chunk_cache_from_blob(bad, "/lib/kv/bad.epkv");
            ADD_FAILURE() << why << ": accepted";
        } catch (const error& e) {
            EXPECT_NE(std::string(e.what()).find("/lib/kv/bad.epkv"), std::string::npos) << why << ": " << e.what();
        }
    };
    const auto meta = [&](const std::string& from, const std::string& to) {
        return rebuilt(b, SIZE_MAX, std::nullopt, {}, [&](std::string m) { return replaced(m, from, to); });
    };
    refused(meta(";kv_format=q4", ";kv_format=q8"), "metadata format q8, options q4");
    refused(meta(";kv_format=q4", ""), "no format recorded (f16) for q4 options");
    refused(meta(";kv_format=q4", ";kv_format=q3"), "unknown format");
    const std::string group = ";kv_group=" + std::to_string(kv_quant_group);
    refused(meta(group, ""), "no group");
    refused(meta(group, ";kv_group=31"), "odd group");
    refused(meta(group, ";kv_group=16"), "another group than the scales were written for");
    const std::string axis = std::string(";kv_v_axis=") + kv_quant_axis_name(kv_quant_v_axis);
    refused(meta(axis, ""), "no V axis");
    refused(meta(axis, ";kv_v_axis=diagonal"), "unknown V axis");
    refused(meta(axis, std::string(";kv_v_axis=") + (kv_quant_v_axis == kv_quant_axis::tokens ? "channels" : "tokens")),
            "the other V axis than the scales were written for");
    refused(meta(",kv=q4", ",kv=q8"), "options q8, tensors and metadata q4"); // format q4 in metadata: disagree
    refused(meta(";n_head_kv=2", ";n_head_kv=3"), "width differs from the tensors");
    refused(rebuilt(b, b.tensors.size() - 1, std::nullopt, {}), "a tensor missing");
    // k.0.s with one channel too few; v.1.q as f16 of the same bytes; k.1.m named k.1.s.
    {
        const auto& t = b.tensors[2];
        ASSERT_EQ(t.name, "k.0.s");
        std::vector<std::byte> d(b.tensor_data(2).begin(), b.tensor_data(2).end() - 2 * t.shape[0]);
        refused(rebuilt(b, 2, storage::kv_tensor_info{t.name, t.type, {t.shape[0], 31}}, d), "scale shape");
    }
    {
        const auto& t = b.tensors[1 + 6 + 3];
        ASSERT_EQ(t.name, "v.1.q");
        const auto d = b.tensor_data(1 + 6 + 3);
        refused(rebuilt(b, 1 + 6 + 3, storage::kv_tensor_info{t.name, storage::kv_dtype::f16, {t.shape[0], t.shape[1] / 2}},
                        std::vector<std::byte>(d.begin(), d.end())),
                "codes as f16");
    }
    {
        const auto& t = b.tensors[1 + 6 + 2];
        ASSERT_EQ(t.name, "k.1.m");
        const auto d = b.tensor_data(1 + 6 + 2);
        refused(rebuilt(b, 1 + 6 + 2, storage::kv_tensor_info{"k.1.s", t.type, t.shape}, std::vector<std::byte>(d.begin(), d.end())),
                "misnamed");
    }
    // An f16 blob claiming q8 options (tensor count and names disagree).
    chunk_cache f = c;
    f.options.format = kv_format::f16;
    const storage::kv_blob fb = chunk_cache_to_blob(f, "key");
    refused(rebuilt(fb, SIZE_MAX, std::nullopt, {}, [&](std::string m) { return replaced(replaced(m, "sink=1", "sink=1,kv=q8"), "kv_format=f16", "kv_format=q8" + group + axis); }),
            "f16 tensors, q8 metadata");
}

// Randomly edited blobs (a tensor's shape and type, or a metadata number): decoding either gives a
// cache whose tensors have the sizes its header says, or an epic::error; never a crash or an
// out-of-bounds read (installer/setup-and-test.sh runs this suite under AddressSanitizer).
TEST(kv_codec, randomly_edited_quantized_blobs_decode_consistently_or_are_refused) {
    const unsigned seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const chunk_cache c = random_cache(rng, kv_format::q4, 2, 37, 2, 8);
    const storage::kv_blob b = chunk_cache_to_blob(c, "key");
    std::uniform_int_distribution<int> dim(0, 80), pick(0, 100);
    const char* fields[] = {"n_layer=", "n_head_kv=", "head_dim=", "kv_group="};
    int accepted = 0;
    for (int it = 0; it < 400; ++it) {
        storage::kv_blob e;
        if (pick(rng) < 70) {
            const size_t idx = (size_t)pick(rng) % b.tensors.size();
            std::vector<uint64_t> shape((size_t)(1 + pick(rng) % 3));
            for (auto& d : shape) d = (uint64_t)dim(rng);
            const auto type = (storage::kv_dtype)(pick(rng) % 5);
            uint64_t n = storage::dtype_size(type);
            for (auto d : shape) n *= d;
            std::vector<std::byte> data((size_t)n);
            for (auto& x : data) x = std::byte(pick(rng));
            e = rebuilt(b, idx, storage::kv_tensor_info{b.tensors[idx].name, type, shape}, data);
        } else {
            const std::string f = fields[pick(rng) % 4];
            e = rebuilt(b, SIZE_MAX, std::nullopt, {}, [&](std::string m) {
                const size_t at = m.find(";" + f) + 1 + f.size(), end = m.find(';', at);
                return m.substr(0, at) + std::to_string(dim(rng) - 10) + (end == std::string::npos ? "" : m.substr(end));
            });
        }
        try {
            const chunk_cache d = chunk_cache_from_blob(e, "edited.epkv");
            ++accepted;
            ASSERT_EQ(d.k.size(), (size_t)d.n_layer);
            for (int il = 0; il < d.n_layer; ++il) {
                ASSERT_EQ(d.k[(size_t)il].size(), (size_t)d.n_rows() * (size_t)d.row_width());
                ASSERT_EQ(d.v[(size_t)il].size(), (size_t)d.n_rows() * (size_t)d.row_width());
            }
        } catch (const error&) {
        }
    }
    std::printf("[ measured ] %d of 400 edited blobs still decoded (edits that keep every size consistent)\n", accepted);
}

TEST(kv_codec, a_flipped_byte_or_a_truncation_in_a_stored_quantized_blob_is_caught) {
    test::scratch_dir dir;
    std::mt19937 rng(std::random_device{}());
    storage::library lib(dir / "library.db");
    std::vector<std::string> problems;
    storage::kv_store_options o;
    o.on_problem = [&](const storage::kv_problem& p) { problems.push_back(p.problem); };
    storage::kv_store store(lib, dir / "kv", o);
    for (kv_format f : {kv_format::q8, kv_format::k8v4, kv_format::q4}) {
        SCOPED_TRACE(std::string(kv_format_name(f)));
        const chunk_cache c = random_cache(rng, f, 4, 130, 2, 32);
        const std::string key = chunk_cache_key(c);
        const auto put = [&] { store.put(chunk_cache_to_blob(c, key), c.model_fingerprint, c.options.to_string()); };
        put();
        const auto loaded = store.load(key);
        ASSERT_TRUE(loaded);
        EXPECT_EQ(chunk_cache_from_blob(*loaded, "x").k, kv_format_round_trip(c).k);
        const fs::path file = store.path_for_key(key);
        const auto size = fs::file_size(file);
        for (uint64_t at : {size / 2, size - 3, (uint64_t)100}) { // payload middle, payload end, header
            put();
            {
                std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
                io.seekg((std::streamoff)at);
                char ch = 0;
                io.read(&ch, 1);
                ch = (char)(ch ^ 0x10);
                io.seekp((std::streamoff)at);
                io.write(&ch, 1);
            }
            problems.clear();
            EXPECT_FALSE(store.load(key)) << "flipped byte at " << at << " of " << size;
            EXPECT_EQ(problems.size(), 1u);
            EXPECT_FALSE(store.entry(key)) << "a bad blob's row is dropped, so the chunk is compiled again";
        }
        put();
        fs::resize_file(file, size - 1000);
        problems.clear();
        EXPECT_FALSE(store.load(key));
        EXPECT_EQ(problems.size(), 1u);
    }
}

// The link over quantized caches on the random-model fixtures: close to the f16 link, never mixing.
class kv_quant_link : public pic_test {};

// KL(f16 link || quantized link) of the last row's distribution, LegoLink-2 over three chunks of
// 33-70 rows, the worst of 25 seeds: q8 1.7e-6 / 2.0e-5 / 1.5e-6 / 2.3e-6, q4 4.7e-4 / 4.1e-3 /
// 3.8e-4 / 6.1e-4 (llama / gemma3 / qwen3 / phi3). Bounds ~3.5x the worst. (The qwen2 fixture is left
// out: its random weights give a one-hot distribution, KL 0 whatever the caches.)
TEST_P(kv_quant_link, a_link_over_quantized_caches_stays_close_to_the_f16_link) {
    SCOPED_TRACE("seed " + std::to_string(seed_));
    const auto c1 = compile(tokens(40)), c2 = compile(tokens(70)), c3 = compile(tokens(33));
    link_input in;
    in.system_tokens = {1, 5, 6, 7};
    in.chunks = {&c1, &c2, &c3};
    in.question = tokens(6);
    linker lk(*tf_);
    const link_policy p = link_policy::parse("legolink-2");
    const auto ref = lk.link(in, p);
    EXPECT_EQ(compare_logits(ref.logits, lk.link(in, p).logits).kl, 0.0) << "the link is deterministic";
    for (kv_format f : {kv_format::q8, kv_format::k8v4, kv_format::q4}) {
        std::vector<chunk_cache> q;
        for (const chunk_cache* c : {&c1, &c2, &c3}) {
            chunk_cache x = *c;
            x.options.format = f;
            q.push_back(kv_format_round_trip(x));
        }
        link_input qi = in;
        qi.chunks = {&q[0], &q[1], &q[2]};
        const auto got = lk.link(qi, p);
        const token_agreement t = compare_logits(ref.logits, got.logits);
        std::printf("[ measured ] %s: KL %.3g, top-1 %s\n", std::string(kv_format_name(f)).c_str(), t.kl, t.top1_same ? "same" : "differs");
        EXPECT_LT(t.kl, f == kv_format::q8 ? 7e-5 : 1.5e-2) << kv_format_name(f);
        EXPECT_GT(rel(got.logits, ref.logits), 0.0) << "the quantized caches must change the logits";
    }
}

TEST_P(kv_quant_link, one_link_never_mixes_formats) {
    auto c1 = compile(tokens(10)), c2 = compile(tokens(12));
    link_input in;
    in.system_tokens = {1, 5};
    in.chunks = {&c1, &c2};
    in.question = tokens(3);
    const link_policy p = link_policy::parse("legolink-2");
    c1.options.format = kv_format::q8;
    c1 = kv_format_round_trip(c1);
    EXPECT_THROW(make_layout(in, p, *mdl_), error) << "q8 and f16";
    c2.options.format = kv_format::q4;
    c2 = kv_format_round_trip(c2);
    EXPECT_THROW(make_layout(in, p, *mdl_), error) << "q8 and q4";
    c2.options.format = kv_format::q8; // (the tensors do not matter to the check)
    EXPECT_NO_THROW(make_layout(in, p, *mdl_));
}

INSTANTIATE_TEST_SUITE_P(models, kv_quant_link, ::testing::Values("tiny", "tiny-gemma3", "tiny-qwen3", "tiny-phi3"), pic_family_name);

} // namespace
} // namespace epic
