// Hand-made malformed GGUF files: each must be refused with an epic::error whose message names the
// file and says what is wrong (never a crash, a huge allocation or an out-of-bounds read). The first
// part breaks the container (gguf_file), the second a valid container's model (model::load: hostile
// hyperparameters), the last hands the loaders something that is not a regular file (a FIFO).
#include "common/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "model/model.h"
#include "model/random_model.h"
#include "support/shared_models.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <future>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace epic {
namespace {

constexpr uint32_t magic_gguf = 0x46554747;
constexpr uint32_t type_u8 = 0, type_u32 = 4, type_string = 8, type_array = 9;

struct raw_file {
    std::vector<uint8_t> b;
    template <typename T> raw_file& put(T v) {
        const size_t at = b.size();
        b.resize(at + sizeof(T));
        std::memcpy(b.data() + at, &v, sizeof(T));
        return *this;
    }
    raw_file& u32(uint32_t v) { return put(v); }
    raw_file& u64(uint64_t v) { return put(v); }
    raw_file& i64(int64_t v) { return put(v); }
    raw_file& str(const std::string& s) {
        u64(s.size());
        b.insert(b.end(), s.begin(), s.end());
        return *this;
    }
    raw_file& pad(size_t a) {
        b.resize((b.size() + a - 1) / a * a, 0);
        return *this;
    }
    raw_file& zeros(size_t n) {
        b.resize(b.size() + n, 0);
        return *this;
    }
    raw_file& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
        return u32(magic_gguf).u32(version).u64(n_tensors).u64(n_kv);
    }
};

// A file with one string kv and one tensor 'w'; each test turns one knob.
struct one_tensor {
    uint32_t magic = magic_gguf;
    uint32_t version = 3;
    uint64_t n_tensors = 1;
    uint64_t n_kv = 1;
    std::vector<int64_t> ne = {8, 2};
    uint32_t type = 0; // f32
    uint64_t offset = 0;
    size_t data_bytes = 64;
    std::vector<uint8_t> bytes() const {
        raw_file r;
        r.u32(magic).u32(version).u64(n_tensors).u64(n_kv);
        r.str("general.name").u32(type_string).str("hostile");
        r.str("w").u32((uint32_t)ne.size());
        for (int64_t d : ne) r.i64(d);
        r.u32(type).u64(offset).pad(32).zeros(data_bytes);
        return r.b;
    }
};

// Opens the bytes both from a real file (mmap path) and from memory; both must throw epic::error
// mentioning the file name and every one of `words`.
void expect_refused(const std::vector<uint8_t>& bytes, const std::string& file_name, std::vector<std::string> words) {
    SCOPED_TRACE(file_name);
    epic::test::scratch_dir dir;
    const auto path = dir / file_name;
    {
        std::ofstream out(path, std::ios::binary);
        out.write(reinterpret_cast<const char*>(bytes.data()), (std::streamsize)bytes.size());
    }
    for (int from_memory = 0; from_memory < 2; ++from_memory) {
        try {
            if (from_memory)
                gguf_file::from_bytes(bytes, file_name);
            else
                gguf_file::open(path.string());
            ADD_FAILURE() << "accepted a malformed file (from_memory=" << from_memory << ")";
        } catch (const error& e) {
            const std::string m = e.what();
            if (std::getenv("EPIC_SHOW_ERRORS")) std::printf("%s\n", m.c_str());
            EXPECT_NE(m.find(file_name), std::string::npos) << m;
            for (const auto& w : words) EXPECT_NE(m.find(w), std::string::npos) << "wanted '" << w << "' in: " << m;
        }
    }
}

TEST(gguf_hostile, the_baseline_file_is_valid) {
    const auto f = gguf_file::from_bytes(one_tensor{}.bytes(), "base.gguf");
    ASSERT_EQ(f->tensors().size(), 1u);
    EXPECT_EQ(f->tensors()[0].nbytes, 64u);
    EXPECT_EQ(f->get_string("general.name"), "hostile");
}

TEST(gguf_hostile, bad_magic) {
    one_tensor o;
    o.magic = 0x58554747; // "GGUX"
    expect_refused(o.bytes(), "magic.gguf", {"magic"});
}

TEST(gguf_hostile, version_1_and_unknown_versions) {
    one_tensor o;
    o.version = 1;
    expect_refused(o.bytes(), "v1.gguf", {"version 1"});
    o.version = 4;
    expect_refused(o.bytes(), "v4.gguf", {"version 4"});
    o.version = 0x03000000; // v3 written big-endian
    expect_refused(o.bytes(), "be.gguf", {"big-endian"});
}

TEST(gguf_hostile, huge_string_lengths) {
    raw_file key;
    key.header(0, 1).u64(uint64_t(1) << 60).zeros(16);
    expect_refused(key.b, "huge-key.gguf", {"string length"});
    raw_file value;
    value.header(0, 1).str("k").u32(type_string).u64(~uint64_t(0)).zeros(16);
    expect_refused(value.b, "huge-string.gguf", {"string length", "'k'"});
    raw_file name;
    name.header(1, 0).u64(uint64_t(1) << 62).zeros(64);
    expect_refused(name.b, "huge-name.gguf", {"tensor info 0", "string length"});
}

TEST(gguf_hostile, huge_array_counts_never_allocate) {
    raw_file flat;
    flat.header(0, 1).str("a").u32(type_array).u32(type_u8).u64(uint64_t(1) << 62).zeros(64);
    expect_refused(flat.b, "huge-array.gguf", {"array count", "'a'"});
    raw_file strings;
    strings.header(0, 1).str("a").u32(type_array).u32(type_string).u64(uint64_t(1) << 62).zeros(64);
    expect_refused(strings.b, "huge-string-array.gguf", {"array count"});
    // The outer array is small, the inner one hostile.
    raw_file nested;
    nested.header(0, 1).str("a").u32(type_array).u32(type_array).u64(2);
    nested.u32(type_u32).u64(1).u32(7);
    nested.u32(type_u32).u64(uint64_t(1) << 62).zeros(64);
    expect_refused(nested.b, "huge-nested.gguf", {"array count"});
    // Counts that fit the file but overflow count * element size.
    raw_file wrap;
    wrap.header(0, 1).str("a").u32(type_array).u32(type_u32).u64(uint64_t(1) << 62 | 1).zeros(64);
    expect_refused(wrap.b, "wrap-array.gguf", {"array count"});
}

TEST(gguf_hostile, too_many_metadata_values) {
    // 5M one-byte values really are in the file, but would cost ~100 bytes each once parsed.
    const uint64_t n = 5u << 20;
    raw_file r;
    r.header(0, 1).str("many").u32(type_array).u32(type_u8).u64(n).zeros(n);
    expect_refused(r.b, "many-values.gguf", {"limit", "'many'"});
}

TEST(gguf_hostile, deeply_nested_arrays) {
    raw_file r;
    r.header(0, 1).str("deep").u32(type_array);
    for (int k = 0; k < 200; ++k) r.u32(type_array).u64(1);
    r.u32(type_u8).u64(0);
    expect_refused(r.b, "deep.gguf", {"nested"});
}

TEST(gguf_hostile, huge_counts_in_the_header) {
    one_tensor o;
    o.n_tensors = uint64_t(1) << 40;
    expect_refused(o.bytes(), "huge-n-tensors.gguf", {"tensor count"});
    o.n_tensors = ~uint64_t(0);
    expect_refused(o.bytes(), "max-n-tensors.gguf", {"tensor count"});
    o = one_tensor{};
    o.n_kv = uint64_t(1) << 61;
    expect_refused(o.bytes(), "huge-n-kv.gguf", {"kv count"});
}

TEST(gguf_hostile, bad_dimension_counts) {
    one_tensor o;
    o.ne = {8, 2, 1, 1, 1};
    expect_refused(o.bytes(), "ndims5.gguf", {"n_dims 5", "'w'"});
    o.ne = {};
    expect_refused(o.bytes(), "ndims0.gguf", {"n_dims 0"});
}

TEST(gguf_hostile, negative_and_overflowing_shapes) {
    one_tensor o;
    o.ne = {8, -2};
    expect_refused(o.bytes(), "negative.gguf", {"negative", "'w'"});
    o.ne = {int64_t(1) << 32, int64_t(1) << 32};
    expect_refused(o.bytes(), "overflow.gguf", {"overflow"});
    o.ne = {int64_t(1) << 62}; // element count fits, bytes (x4) do not
    expect_refused(o.bytes(), "bytes-overflow.gguf", {"overflow"});
    o.ne = {int64_t(1) << 40, int64_t(1) << 10}; // fits 64 bits, far larger than the file
    expect_refused(o.bytes(), "too-big.gguf", {"past the end"});
}

TEST(gguf_hostile, unknown_type_and_partial_blocks) {
    one_tensor o;
    o.type = 99;
    expect_refused(o.bytes(), "type99.gguf", {"unknown type id 99", "'w'"});
    o.type = 8; // q8_0 with rows of 8 elements: not a whole block
    expect_refused(o.bytes(), "partial-block.gguf", {"block size", "'w'"});
}

TEST(gguf_hostile, data_past_the_end) {
    one_tensor o;
    o.data_bytes = 63;
    expect_refused(o.bytes(), "short-data.gguf", {"past the end", "'w'"});
    o.data_bytes = 64;
    o.offset = uint64_t(1) << 63; // aligned, but far beyond the file; offset + size must not wrap
    expect_refused(o.bytes(), "far-offset.gguf", {"past the end"});
    o.offset = ~uint64_t(0) - 31; // aligned and wraps when added to the data start
    expect_refused(o.bytes(), "wrap-offset.gguf", {"past the end"});
}

TEST(gguf_hostile, misaligned_offset) {
    one_tensor o;
    o.offset = 4;
    o.data_bytes = 128;
    expect_refused(o.bytes(), "misaligned.gguf", {"misaligned", "'w'"});
}

TEST(gguf_hostile, duplicate_keys_and_tensor_names) {
    raw_file k;
    k.header(0, 2).str("dup").u32(type_u32).u32(1).str("dup").u32(type_u32).u32(2);
    expect_refused(k.b, "dup-key.gguf", {"duplicate key", "'dup'"});
    raw_file t;
    t.header(2, 0);
    for (int n = 0; n < 2; ++n) t.str("same").u32(1).i64(8).u32(0).u64(0);
    t.pad(32).zeros(32);
    expect_refused(t.b, "dup-tensor.gguf", {"duplicate tensor", "'same'"});
}

TEST(gguf_hostile, invalid_alignment) {
    for (uint32_t a : {0u, 48u, 3u}) {
        raw_file r;
        r.header(0, 1).str("general.alignment").u32(type_u32).u32(a);
        expect_refused(r.b, "align" + std::to_string(a) + ".gguf", {"alignment"});
    }
    raw_file s;
    s.header(0, 1).str("general.alignment").u32(type_string).str("32");
    expect_refused(s.b, "align-string.gguf", {"alignment", "string"});
}

TEST(gguf_hostile, unknown_value_types) {
    raw_file r;
    r.header(0, 1).str("k").u32(13).u32(0);
    expect_refused(r.b, "value-type.gguf", {"unknown value type 13"});
    raw_file a;
    a.header(0, 1).str("k").u32(type_array).u32(0xffffffffu).u64(0);
    expect_refused(a.b, "elem-type.gguf", {"element type"});
}

TEST(gguf_hostile, truncation_messages_say_where) {
    const auto full = one_tensor{}.bytes();
    // Cut in the middle of the tensor info (after its name and n_dims).
    const size_t cut = 24 + (8 + 12) + 4 + (8 + 7) + (8 + 1) + 4 + 3;
    expect_refused(std::vector<uint8_t>(full.begin(), full.begin() + (long)cut), "cut.gguf",
                   {"truncated", "tensor info 0 ('w')", "file has " + std::to_string(cut)});
    expect_refused(std::vector<uint8_t>(full.begin(), full.begin() + 10), "cut-header.gguf", {"truncated"});
}

TEST(gguf_hostile, random_garbage_after_a_valid_magic) {
    const uint32_t seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    for (int k = 0; k < 200; ++k) {
        raw_file r;
        r.header(rng() % 4, rng() % 4);
        for (size_t n = rng() % 200; n > 0; --n) r.put((uint8_t)rng());
        try {
            gguf_file::from_bytes(r.b, "garbage.gguf");
        } catch (const error& e) {
            EXPECT_NE(std::string(e.what()).find("garbage.gguf"), std::string::npos) << e.what();
        }
    }
}

// --- hostile hyperparameters in a valid container --------------------------------------------------

// A valid random llama model, rewritten with some metadata replaced (or removed: nullopt) and some
// tensors replaced (or removed: an entry with no value). Everything else is copied as it was.
struct tensor_spec {
    ggml_type type;
    std::vector<int64_t> ne;
    std::vector<uint8_t> data;
};
struct model_edit {
    std::map<std::string, std::optional<gguf_value>> kv;
    std::map<std::string, std::optional<tensor_spec>> tensors;
};

std::string write_edited_model(const epic::test::scratch_dir& dir, const std::string& file_name, const model_edit& edit,
                               random_model_params p = random_model_default_params()) {
    const std::string base = (dir / ("base-" + file_name)).string();
    write_random_model(base, p);
    const auto f = gguf_file::open(base);
    gguf_writer w;
    w.set_alignment((uint32_t)f->alignment());
    for (const auto& kv : f->metadata()) {
        if (kv.key == "general.alignment") continue;
        const auto e = edit.kv.find(kv.key);
        if (e == edit.kv.end()) w.set(kv.key, kv.value);
        else if (e->second) w.set(kv.key, *e->second);
    }
    for (const auto& [key, v] : edit.kv)
        if (v && !f->find(key)) w.set(key, *v);
    for (const auto& t : f->tensors()) {
        const auto e = edit.tensors.find(t.name);
        if (e == edit.tensors.end()) w.add_tensor(t.name, t.type, t.ne, std::vector<uint8_t>(t.data, t.data + t.nbytes));
        else if (e->second) w.add_tensor(t.name, e->second->type, e->second->ne, e->second->data);
    }
    for (const auto& [name, t] : edit.tensors)
        if (t && !f->find_tensor(name)) w.add_tensor(name, t->type, t->ne, t->data);
    const std::string path = (dir / file_name).string();
    w.write(path);
    return path;
}

// model::load must refuse the file with an epic::error naming it and containing every one of `words`.
void expect_model_refused(const std::string& path, const std::vector<std::string>& words) {
    SCOPED_TRACE(path);
    try {
        const auto m = model::load(path);
        ADD_FAILURE() << "loaded a hostile model";
    } catch (const error& e) {
        const std::string m = e.what();
        if (std::getenv("EPIC_SHOW_ERRORS")) std::printf("%s\n", m.c_str());
        EXPECT_NE(m.find(path), std::string::npos) << m;
        for (const auto& w : words) EXPECT_NE(m.find(w), std::string::npos) << "wanted '" << w << "' in: " << m;
    }
}

std::vector<uint8_t> f32_bytes(size_t n, float value = 0.01f) {
    std::vector<uint8_t> b(n * sizeof(float));
    for (size_t i = 0; i < n; ++i) std::memcpy(b.data() + i * sizeof(float), &value, sizeof(float));
    return b;
}

TEST(model_hostile, the_unedited_model_loads) {
    epic::test::scratch_dir dir;
    const auto m = model::load(write_edited_model(dir, "plain.gguf", {}));
    EXPECT_EQ(m->config().n_layer, 2);
    EXPECT_EQ(m->config().q_width(), 256);
}

// key_length = 2^30 with 4 heads: n_head x head_dim is 2^32, which wrapped to 0 in 32 bits, so
// attention tensors of zero rows passed the shape checks and RoPE wrote past its buffers.
TEST(model_hostile, attention_width_overflowing_32_bits) {
    epic::test::scratch_dir dir;
    const int64_t n_embd = 256;
    model_edit e;
    e.kv["llama.attention.key_length"] = gguf_value::make_u32(1u << 30);
    e.kv["llama.attention.value_length"] = gguf_value::make_u32(1u << 30);
    e.kv["llama.attention.head_count"] = gguf_value::make_u32(4);
    e.kv["llama.attention.head_count_kv"] = gguf_value::make_u32(4);
    for (int il = 0; il < 2; ++il) {
        const std::string b = "blk." + std::to_string(il) + ".";
        for (const char* t : {"attn_q.weight", "attn_k.weight", "attn_v.weight"})
            e.tensors[b + t] = tensor_spec{ggml_type::f32, {n_embd, 0}, {}};
        e.tensors[b + "attn_output.weight"] = tensor_spec{ggml_type::f32, {0, n_embd}, {}};
    }
    expect_model_refused(write_edited_model(dir, "key-length.gguf", e), {"key_length"});
    // Each value in range, their product (the attention width, 2^21) not.
    model_edit wide;
    wide.kv["llama.attention.head_count"] = gguf_value::make_u32(1024);
    wide.kv["llama.attention.head_count_kv"] = gguf_value::make_u32(1024);
    wide.kv["llama.attention.key_length"] = gguf_value::make_u32(2048);
    expect_model_refused(write_edited_model(dir, "wide.gguf", wide), {"head_count", "key_length", "2097152"});
}

TEST(model_hostile, integer_hyperparameters_out_of_range) {
    epic::test::scratch_dir dir;
    struct bad { std::string key; gguf_value value; std::string word; };
    const std::vector<bad> cases = {
        // Values wider than 32 bits used to be truncated to a plausible one (2^32 + 64 -> 64).
        {"llama.attention.key_length", gguf_value::make_u64((uint64_t(1) << 32) + 64), "key_length"},
        {"llama.attention.head_count_kv", gguf_value::make_u64((uint64_t(1) << 32) + 2), "head_count_kv"},
        {"llama.rope.dimension_count", gguf_value::make_u64((uint64_t(1) << 32) + 64), "dimension_count"},
        {"llama.context_length", gguf_value::make_u64((uint64_t(1) << 32) + 512), "context_length"},
        {"llama.context_length", gguf_value::make_i32(-1), "context_length"},
        {"llama.embedding_length", gguf_value::make_u32(1u << 30), "embedding_length"},
        {"llama.feed_forward_length", gguf_value::make_u32(1u << 30), "feed_forward_length"},
        {"llama.attention.head_count", gguf_value::make_u32(0), "head_count"},
        {"llama.attention.head_count_kv", gguf_value::make_i32(-2), "head_count_kv"},
        {"llama.attention.key_length", gguf_value::make_u32(1u << 20), "key_length"},
    };
    for (size_t k = 0; k < cases.size(); ++k) {
        SCOPED_TRACE(cases[k].key);
        model_edit e;
        e.kv[cases[k].key] = cases[k].value;
        expect_model_refused(write_edited_model(dir, "int" + std::to_string(k) + ".gguf", e), {cases[k].word});
    }
}

TEST(model_hostile, nan_zero_and_infinite_floats) {
    epic::test::scratch_dir dir;
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    int k = 0;
    for (const char* key : {"llama.rope.freq_base", "llama.attention.layer_norm_rms_epsilon"}) {
        for (float v : {nan, 0.0f, -1.0f, inf}) {
            SCOPED_TRACE(std::string(key) + " = " + std::to_string(v));
            model_edit e;
            e.kv[key] = gguf_value::make_f32(v);
            const std::string word = std::strstr(key, "freq_base") ? "freq_base" : "rms_epsilon";
            expect_model_refused(write_edited_model(dir, "float" + std::to_string(k++) + ".gguf", e), {word});
        }
    }
    model_edit e;
    e.kv["llama.rope.scaling.type"] = gguf_value::make_string("linear");
    e.kv["llama.rope.scaling.factor"] = gguf_value::make_f32(nan);
    expect_model_refused(write_edited_model(dir, "scaling-nan.gguf", e), {"scaling"});
    e.kv["llama.rope.scaling.factor"] = gguf_value::make_f32(inf);
    expect_model_refused(write_edited_model(dir, "scaling-inf.gguf", e), {"scaling"});
}

// A token id the tokenizer can produce must have a row in the embedding table.
TEST(model_hostile, vocabulary_larger_than_the_embedding_table) {
    epic::test::scratch_dir dir;
    const auto p = random_model_default_params();
    const int64_t rows = p.n_vocab - 20;
    model_edit e;
    e.tensors["token_embd.weight"] = tensor_spec{ggml_type::f32, {p.n_embd, rows}, f32_bytes(size_t(rows * p.n_embd))};
    e.tensors["output.weight"] = tensor_spec{ggml_type::f32, {p.n_embd, rows}, f32_bytes(size_t(rows * p.n_embd))};
    expect_model_refused(write_edited_model(dir, "vocab.gguf", e),
                         {"tokenizer.ggml.tokens", std::to_string(p.n_vocab), std::to_string(rows)});
    // An embedding table of no rows at all.
    model_edit empty;
    empty.tensors["token_embd.weight"] = tensor_spec{ggml_type::f32, {p.n_embd, 0}, {}};
    empty.tensors["output.weight"] = tensor_spec{ggml_type::f32, {p.n_embd, 0}, {}};
    expect_model_refused(write_edited_model(dir, "no-rows.gguf", empty), {"token_embd"});
}

// 2^24 layers used to allocate every per-layer structure (11 GB) before the first missing tensor
// was noticed: the count is checked against the tensors in the file first.
TEST(model_hostile, block_count_beyond_the_tensors_present) {
    epic::test::scratch_dir dir;
    for (uint32_t n : {3u, 4000u, 1u << 24, 1u << 30}) {
        SCOPED_TRACE(n);
        model_edit e;
        e.kv["llama.block_count"] = gguf_value::make_u32(n);
        expect_model_refused(write_edited_model(dir, "blocks" + std::to_string(n) + ".gguf", e), {"block_count"});
    }
}

// --- not a regular file -----------------------------------------------------------------------------

// Runs `load` (which must throw epic::error naming `path` and `word`) on another thread. Opening a
// FIFO for reading blocks until a writer comes: if the load is still running after a while, the test
// opens the FIFO's write end itself to release it and records the hang as a failure.
void expect_refused_without_blocking(const std::string& path, const std::function<void()>& load, const std::string& word) {
    SCOPED_TRACE(path);
    auto done = std::async(std::launch::async, [&]() -> std::string {
        try {
            load();
            return "accepted";
        } catch (const error& e) {
            return e.what();
        } catch (const std::exception& e) {
            return std::string("non-epic exception: ") + e.what();
        }
    });
    if (done.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
        ADD_FAILURE() << "the load blocked on the FIFO for 10 s";
        for (int tries = 0; tries < 100 && done.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready; ++tries) {
            const int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
            if (fd >= 0) ::close(fd); // the reader sees end of file
        }
    }
    const std::string m = done.get();
    if (std::getenv("EPIC_SHOW_ERRORS")) std::printf("%s\n", m.c_str());
    EXPECT_NE(m.find(path), std::string::npos) << m;
    EXPECT_NE(m.find(word), std::string::npos) << "wanted '" << word << "' in: " << m;
}

TEST(model_hostile, a_fifo_is_refused_without_blocking) {
    epic::test::scratch_dir dir;
    const std::string fifo = (dir / "model.gguf").string();
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
    expect_refused_without_blocking(fifo, [&] { gguf_file::open(fifo); }, "not a regular file");
    expect_refused_without_blocking(fifo, [&] { model::load(fifo); }, "not a regular file");
    const std::string spm = (dir / "tokenizer.model").string();
    ASSERT_EQ(::mkfifo(spm.c_str(), 0600), 0) << std::strerror(errno);
    expect_refused_without_blocking(spm, [&] { tokenizer::from_spm_file(spm); }, "not a regular file");
}

TEST(model_hostile, a_folder_or_a_device_is_refused) {
    epic::test::scratch_dir dir;
    const std::string folder = (dir / "folder.gguf").string();
    std::filesystem::create_directory(folder);
    expect_refused_without_blocking(folder, [&] { model::load(folder); }, "not a regular file");
    expect_refused_without_blocking(folder, [&] { tokenizer::from_spm_file(folder); }, "not a regular file");
    if (std::filesystem::exists("/dev/null")) {
        expect_refused_without_blocking("/dev/null", [] { gguf_file::open("/dev/null"); }, "not a regular file");
        expect_refused_without_blocking("/dev/null", [] { tokenizer::from_spm_file("/dev/null"); }, "not a regular file");
    }
}

} // namespace
} // namespace epic
