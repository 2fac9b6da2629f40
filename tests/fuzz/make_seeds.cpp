// epic-fuzz-seeds DIR: writes the fuzzers' seed inputs, small valid files of each kind made with the
// project's own writers, into DIR/gguf, DIR/blob, DIR/html and DIR/markdown (tests/bench/fuzz.sh).
#include "gguf/gguf_writer.h"
#include "kvstore/blob_codec.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

void write(const fs::path& path, const void* data, size_t size) {
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out.write(static_cast<const char*>(data), (std::streamsize)size);
    if (!out) throw std::runtime_error("cannot write " + path.string());
}
void write(const fs::path& path, const std::string& text) { write(path, text.data(), text.size()); }

std::vector<uint8_t> f32(size_t n, float v) {
    std::vector<uint8_t> b(n * sizeof(float));
    for (size_t i = 0; i < n; ++i) std::memcpy(b.data() + i * sizeof v, &v, sizeof v);
    return b;
}

// A complete llama model in miniature (width 8, one layer, 4 tokens): every key read_model_config
// reads and every tensor model::load wants.
std::vector<uint8_t> tiny_llama(const std::string& arch) {
    using namespace epic;
    gguf_writer w;
    const std::string a = arch + ".";
    w.set_string("general.architecture", arch);
    w.set_string("general.name", "fuzz seed");
    w.set_u32(a + "context_length", 64);
    w.set_u32(a + "embedding_length", 8);
    w.set_u32(a + "block_count", 1);
    w.set_u32(a + "feed_forward_length", 16);
    w.set_u32(a + "attention.head_count", 2);
    w.set_u32(a + "attention.head_count_kv", 1);
    w.set_u32(a + "attention.key_length", 4);
    w.set_u32(a + "rope.dimension_count", 4);
    w.set_f32(a + "attention.layer_norm_rms_epsilon", 1e-5f);
    w.set_f32(a + "rope.freq_base", 10000.0f);
    if (arch == "gemma3" || arch == "phi3") w.set_u32(a + "attention.sliding_window", 4);
    w.set_string("tokenizer.ggml.model", "llama");
    w.set_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "a"});
    w.set_f32_array("tokenizer.ggml.scores", {0.f, 0.f, 0.f, -1.f});
    w.set_i32_array("tokenizer.ggml.token_type", {2, 3, 3, 1});
    w.add_tensor("token_embd.weight", ggml_type::f32, {8, 4}, f32(32, 0.5f));
    w.add_tensor("output_norm.weight", ggml_type::f32, {8}, f32(8, 1.f));
    w.add_tensor("blk.0.attn_norm.weight", ggml_type::f32, {8}, f32(8, 1.f));
    w.add_tensor("blk.0.attn_q.weight", ggml_type::f16, {8, 8}, std::vector<uint8_t>(128, 0x3c));
    w.add_tensor("blk.0.attn_k.weight", ggml_type::f32, {8, 4}, f32(32, 0.1f));
    w.add_tensor("blk.0.attn_v.weight", ggml_type::f32, {8, 4}, f32(32, 0.1f));
    w.add_tensor("blk.0.attn_output.weight", ggml_type::f32, {8, 8}, f32(64, 0.1f));
    w.add_tensor("blk.0.ffn_norm.weight", ggml_type::f32, {8}, f32(8, 1.f));
    w.add_tensor("blk.0.ffn_gate.weight", ggml_type::f32, {8, 16}, f32(128, 0.1f));
    w.add_tensor("blk.0.ffn_up.weight", ggml_type::f32, {8, 16}, f32(128, 0.1f));
    w.add_tensor("blk.0.ffn_down.weight", ggml_type::f32, {16, 8}, f32(128, 0.1f));
    return w.to_bytes();
}

// Every value type, nesting, alignment and a quantized tensor, without a model.
std::vector<uint8_t> container() {
    using namespace epic;
    gguf_writer w;
    w.set_alignment(64);
    w.set("u8", gguf_value::make_u8(7));
    w.set("i16", gguf_value::make_i16(-7));
    w.set("u64", gguf_value::make_u64(1ull << 40));
    w.set("f64", gguf_value::make_f64(0.25));
    w.set_bool("flag", true);
    w.set("nested", gguf_value::make_array(gguf_type::array, {gguf_value::make_array(gguf_type::i32, {gguf_value::make_i32(1)})}));
    w.add_tensor("q", ggml_type::q8_0, {32, 2}, std::vector<uint8_t>(68, 1));
    return w.to_bytes();
}

std::vector<std::byte> blob(bool planes, int level) {
    using namespace epic::storage;
    kv_blob b;
    b.key = "model-0123456789abcdef-7";
    b.metadata = "fingerprint=0123456789abcdef;n_layer=1";
    std::vector<std::byte> k(2 * 3 * 4 * 2), v(2 * 3 * 4 * 2), ids(3 * 4);
    for (size_t i = 0; i < k.size(); ++i) k[i] = std::byte(i % 7 == 0 ? 0x3c : i);
    for (size_t i = 0; i < v.size(); ++i) v[i] = std::byte(255 - i);
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = std::byte(i);
    b.add_tensor("k0", kv_dtype::f16, {3, 2, 4}, k);
    b.add_tensor("v0", kv_dtype::bf16, {3, 2, 4}, v);
    b.add_tensor("tokens", kv_dtype::i32, {3}, ids);
    blob_encode_options o;
    o.byte_planes = planes;
    o.zstd_level = level;
    return encode_blob(b, o).bytes;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: epic-fuzz-seeds DIR\n");
        return 2;
    }
    const fs::path dir = argv[1];
    try {
        for (const char* arch : {"llama", "qwen2", "gemma3", "phi3"}) {
            const auto b = tiny_llama(arch);
            write(dir / "gguf" / (std::string(arch) + ".gguf"), b.data(), b.size());
        }
        const auto c = container();
        write(dir / "gguf" / "container.gguf", c.data(), c.size());
        // The blob fuzzer's first byte picks its mode (fuzz_blob.cpp): 0 as is, 1 checksums filled in.
        int n = 0;
        for (bool planes : {true, false})
            for (int level : {1, 19})
                for (uint8_t mode : {0, 1}) {
                    auto b = blob(planes, level);
                    b.insert(b.begin(), std::byte(mode));
                    write(dir / "blob" / ("seed" + std::to_string(n++) + ".epkv"), b.data(), b.size());
                }
        write(dir / "html" / "page.html",
              "<!DOCTYPE html><html><head><title>Caf&eacute; &amp; more</title><style>p{color:red}</style>"
              "<script>var x = '<p>';</script></head><body><h1>Heading</h1><p>One &lt;two&gt; &#233;&#x1F600;"
              "&nbsp;three</p><!-- a comment --><ul><li>item<li>item 2</ul><pre>  kept\n  lines</pre>"
              "<table><tr><td>a</td><td>b</td></tr></table><br/>tail &unknown; &#xZZ;</body></html>\n");
        write(dir / "html" / "fragment.html", "<p>plain <b>bold</b> <a href=\"x?a=1&b=2\">link</a></p><noscript>x</noscript>");
        write(dir / "markdown" / "doc.md",
              "\xEF\xBB\xBF# The title #\r\n\r\nA paragraph with *emphasis* and `code`.\r\n\r\n"
              "## Section\n- item\n- item\n\n```\ncode block\n```\n> quote\rlast line\n");
        write(dir / "markdown" / "no-title.md", "text first\n# heading later\n");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "epic-fuzz-seeds: %s\n", e.what());
        return 1;
    }
    return 0;
}
