// The model fingerprint keys every stored KV cache: two files that differ in any weight byte, or in
// metadata that changes what the model computes, must never share one; the same file must always
// give the same one.
#include "gguf/gguf_file.h"
#include "model/model.h"
#include "model/random_model.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>

namespace epic {
namespace {

std::vector<uint8_t> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(b.data()), (std::streamsize)b.size());
}

// File offset of byte `at` of tensor `name`.
size_t tensor_byte(const std::string& path, const std::string& name, size_t at) {
    const auto f = gguf_file::open(path);
    const gguf_tensor_info* t = f->find_tensor(name);
    EXPECT_NE(t, nullptr) << name;
    EXPECT_LT(at, t->nbytes);
    return f->data_offset() + t->offset + at;
}

TEST(model_fingerprint, the_same_file_gives_the_same_fingerprint) {
    epic::test::scratch_dir dir;
    const std::string a = (dir / "a.gguf").string();
    write_random_model(a, random_model_default_params());
    const std::string fp = model::load(a)->fingerprint();
    EXPECT_EQ(fp.size(), 16u);
    EXPECT_EQ(model::load(a)->fingerprint(), fp);
    // A byte-identical copy elsewhere is the same model.
    const std::string copy = (dir / "copy.gguf").string();
    write_bytes(copy, read_bytes(a));
    EXPECT_EQ(model::load(copy)->fingerprint(), fp);
}

// One weight byte deep inside a tensor: not in its first or last 4 KiB, nor in the 4 KiB around its
// middle (what the sampled fingerprint read), so only a hash of every byte tells the files apart.
TEST(model_fingerprint, one_weight_byte_deep_inside_a_tensor_changes_it) {
    epic::test::scratch_dir dir;
    const std::string a = (dir / "a.gguf").string(), b = (dir / "b.gguf").string();
    const auto p = random_model_default_params();
    write_random_model(a, p);
    // token_embd: 320 rows of 256 f32 = 327,680 bytes; a quarter of the way in.
    const size_t nbytes = size_t(p.n_vocab) * size_t(p.n_embd) * sizeof(float);
    ASSERT_GT(nbytes, 64u * 1024);
    const size_t at = nbytes / 4 + 123;
    auto bytes = read_bytes(a);
    bytes[tensor_byte(a, "token_embd.weight", at)] ^= 0x01;
    write_bytes(b, bytes);
    const auto ma = model::load(a), mb = model::load(b);
    EXPECT_NE(ma->fingerprint(), mb->fingerprint());

    // The same in a layer's matrix (blk.1.ffn_down: 256 rows of 512 f32 = 512 KiB).
    auto bytes2 = read_bytes(a);
    bytes2[tensor_byte(a, "blk.1.ffn_down.weight", 3 * 128 * 1024 + 7)] ^= 0x80;
    const std::string c = (dir / "c.gguf").string();
    write_bytes(c, bytes2);
    EXPECT_NE(model::load(c)->fingerprint(), ma->fingerprint());
}

// Metadata that changes the computation: a hyperparameter and a tokenizer piece.
TEST(model_fingerprint, metadata_that_matters_changes_it) {
    epic::test::scratch_dir dir;
    auto p = random_model_default_params();
    const std::string a = (dir / "a.gguf").string(), b = (dir / "b.gguf").string();
    write_random_model(a, p);
    p.rope_base = 20000.0f;
    write_random_model(b, p);
    EXPECT_NE(model::load(a)->fingerprint(), model::load(b)->fingerprint());

    // The same length, one vocabulary piece changed ("Q" -> "~", a length-prefixed string in the
    // tokenizer.ggml.tokens array).
    auto bytes = read_bytes(a);
    const std::string needle = std::string(1, '\x01') + std::string(7, '\0') + "Q";
    auto it = std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end());
    ASSERT_NE(it, bytes.end());
    *(it + 8) = '~';
    const std::string c = (dir / "c.gguf").string();
    write_bytes(c, bytes);
    EXPECT_NE(model::load(c)->fingerprint(), model::load(a)->fingerprint());
}

} // namespace
} // namespace epic
