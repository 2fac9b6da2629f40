// Storage benchmark (not a test: CMake only picks up *_test.cpp). Build by hand, e.g.
//   g++ -std=c++20 -O2 -I storage tests/storage/storage_bench.cpp build-storage/storage/libepic_storage.a \
//       $(pkg-config --libs sqlite3 libzstd poppler-cpp) -o build-storage/storage_bench
// Measures, on synthetic f16 data shaped like a KV cache (gaussian values with per-channel scales):
// compression ratio and compress/decompress MB/s with and without byte planes at zstd levels 1/3/9,
// and BM25 retrieval latency over 10,000 chunks. Figures are estimates until real KV is plugged in.
#include "common/stopwatch.h"
#include "kvstore/blob_codec.h"
#include "library/library.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

using namespace epic::storage;
using epic::seconds_since;
using clock_type = std::chrono::steady_clock;

namespace {

// IEEE f32 -> f16, round to nearest even, with subnormals and overflow to inf.
std::uint16_t to_f16(float f) {
    std::uint32_t x;
    std::memcpy(&x, &f, 4);
    const std::uint32_t sign = (x >> 16) & 0x8000;
    const int exp = static_cast<int>((x >> 23) & 0xFF) - 127 + 15;
    std::uint32_t mant = x & 0x7FFFFF;
    if (exp >= 31) return static_cast<std::uint16_t>(sign | 0x7C00);
    if (exp <= 0) {
        if (exp < -10) return static_cast<std::uint16_t>(sign);
        mant |= 0x800000;
        const int shift = 14 - exp;
        std::uint32_t h = mant >> shift;
        const std::uint32_t rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1))) ++h;
        return static_cast<std::uint16_t>(sign | h);
    }
    std::uint32_t h = (static_cast<std::uint32_t>(exp) << 10) | (mant >> 13);
    const std::uint32_t rem = mant & 0x1FFF;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) ++h;
    return static_cast<std::uint16_t>(sign | h);
}


void bench_kv() {
    // Llama-7B-like per chunk: 16 layers shown (not 32, to keep the run short), K and V each
    // [512 tokens, 8 kv heads, 128 head_dim] f16 = 1 MiB per tensor, 32 MiB per blob.
    const std::uint64_t tokens = 512, heads = 8, dim = 128;
    const int layers = 16;
    std::mt19937_64 rng(12345);
    std::normal_distribution<float> gauss(0.f, 1.f);
    std::lognormal_distribution<float> scale_dist(0.f, 1.0f);
    kv_blob blob;
    blob.key = "bench";
    for (int l = 0; l < layers; ++l) {
        for (const char* kv : {"k", "v"}) {
            std::vector<float> scale(heads * dim);  // per channel; K has a few outlier channels
            for (auto& s : scale) s = scale_dist(rng) * (kv[0] == 'k' && rng() % 32 == 0 ? 8.f : 1.f);
            std::vector<std::byte> data(tokens * heads * dim * 2);  // [tokens, heads, dim]
            for (std::uint64_t t = 0; t < tokens; ++t)
                for (std::uint64_t c = 0; c < heads * dim; ++c) {
                    const std::uint16_t h = to_f16(gauss(rng) * scale[c]);
                    std::memcpy(&data[(t * heads * dim + c) * 2], &h, 2);
                }
            blob.add_tensor("l" + std::to_string(l) + "." + kv, kv_dtype::f16, {tokens, heads, dim}, data);
        }
    }
    const double mb = double(blob.payload.size()) / 1e6;
    std::printf("KV blob: %d layers x K,V [%llu, %llu, %llu] f16 = %.1f MB raw\n", layers,
                (unsigned long long)tokens, (unsigned long long)heads, (unsigned long long)dim, mb);
    std::printf("%-6s %-7s %8s %14s %16s\n", "level", "planes", "ratio", "compress MB/s", "decompress MB/s");
    for (int level : {1, 3, 9}) {
        for (bool planes : {false, true}) {
            const int reps = level == 9 ? 1 : 3;
            encoded_blob enc;
            auto t0 = clock_type::now();
            for (int r = 0; r < reps; ++r) enc = encode_blob(blob, {level, planes});
            const double ct = seconds_since(t0) / reps;
            t0 = clock_type::now();
            for (int r = 0; r < reps; ++r) {
                const auto back = decode_blob(enc.bytes, "bench");  // includes checksum verification
                if (back.payload.size() != blob.payload.size()) std::abort();
            }
            const double dt = seconds_since(t0) / reps;
            std::printf("%-6d %-7s %8.3f %14.0f %16.0f\n", level, planes ? "yes" : "no",
                        double(enc.raw_bytes) / double(enc.bytes.size()), mb / ct, mb / dt);
        }
    }
}

void bench_fts() {
    const auto dir = std::filesystem::temp_directory_path() / ("epic-bench-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir);
    {
        library lib(dir / "library.db");
        std::mt19937 rng(7);
        // Zipf-like vocabulary of 20,000 made-up words; chunks of ~350 words (~512 tokens).
        std::vector<std::string> vocab(20000);
        for (auto& w : vocab) {
            const int len = 3 + static_cast<int>(rng() % 8);
            for (int i = 0; i < len; ++i) w += static_cast<char>('a' + rng() % 26);
        }
        std::vector<double> weights(vocab.size());
        for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = 1.0 / double(i + 1);
        std::discrete_distribution<std::size_t> zipf(weights.begin(), weights.end());
        const int docs = 100, per_doc = 100;
        auto t0 = clock_type::now();
        for (int d = 0; d < docs; ++d) {
            const auto id = lib.ensure_document("/bench/doc" + std::to_string(d) + ".txt", "txt");
            std::vector<chunk_record> chunks(per_doc);
            for (auto& c : chunks) {
                for (int w = 0; w < 350; ++w) c.text += vocab[zipf(rng)] + (w % 17 == 16 ? ". " : " ");
                c.char_end = static_cast<std::int64_t>(c.text.size());
                c.token_count = 512;
            }
            lib.replace_chunks(id, document_meta{"h", 0, 0, "t", "txt"}, chunks);
        }
        std::printf("\nFTS: inserted %lld chunks in %.2f s\n", static_cast<long long>(lib.chunk_count()), seconds_since(t0));
        std::vector<double> ms;
        std::size_t total_hits = 0;
        for (int q = 0; q < 300; ++q) {
            std::string question = "What does the";
            for (int w = 0; w < 6; ++w) question += " " + vocab[zipf(rng)];
            question += "?";
            t0 = clock_type::now();
            total_hits += lib.search(question, 8).size();
            ms.push_back(seconds_since(t0) * 1e3);
        }
        std::sort(ms.begin(), ms.end());
        double sum = 0;
        for (double x : ms) sum += x;
        std::printf("FTS search top-8 over 10,000 chunks, 300 questions of 6 Zipf words: mean %.2f ms, p50 %.2f ms, "
                    "p95 %.2f ms, max %.2f ms (%.1f hits/question)\n",
                    sum / double(ms.size()), ms[ms.size() / 2], ms[ms.size() * 95 / 100], ms.back(),
                    double(total_hits) / double(ms.size()));
    }
    std::filesystem::remove_all(dir);
}

} // namespace

int main() {
    bench_kv();
    bench_fts();
}
