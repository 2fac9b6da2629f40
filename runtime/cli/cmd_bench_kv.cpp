// epic bench kv: the KV store on real compiled chunks of a model.
//  - compression ratio and compress/decompress MB/s, zstd levels 1/3/9, with and without byte planes
//  - loading n chunk caches from disk, cold (page cache dropped) and warm, against recomputing them
//  - retrieval latency over a library of many chunks
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/session.h"
#include "core/error.h"
#include "kvstore/blob_codec.h"
#include "kvstore/kv_store.h"
#include "library/library.h"
#include "pic/compiler.h"
#include "service/kv_codec.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

namespace epic::cli {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

double seconds(clock_type::time_point t0) { return std::chrono::duration<double>(clock_type::now() - t0).count(); }

// Asks the kernel to drop a file's cached pages (clean pages only, so sync first).
void drop_page_cache(const fs::path& p) {
    const int fd = ::open(p.c_str(), O_RDONLY);
    if (fd < 0) return;
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
}

} // namespace

int cmd_bench_kv(int argc, char** argv) {
    args a(argc, argv, 3, {});
    auto known = session_options();
    known.insert({"chunks", "chunk-tokens", "search-chunks", "runs", "dir"});
    a.allow_only(known);
    session s = open_session(a);
    const int n = a.get_int("chunks", 8, 1, 4096), len = a.get_int("chunk-tokens", 512, 1, 1 << 16), runs = std::max(1, a.get_int("runs", 3, 1, 1000));
    std::mt19937 rng(1);
    std::uniform_int_distribution<int32_t> pick(0, s.tok->n_vocab() - 1);
    std::vector<std::vector<int32_t>> tokens((size_t)n);
    for (auto& t : tokens) {
        t.resize((size_t)len);
        for (auto& x : t) do x = pick(rng); while (s.tok->is_control(x));
    }
    // Recompute: what loading from disk saves.
    std::vector<chunk_cache> caches;
    const auto t_compile = clock_type::now();
    for (const auto& t : tokens) caches.push_back(compile_chunk(*s.tf, t, s.tok->bos(), {1}));
    const double compile_s = seconds(t_compile);
    std::vector<storage::kv_blob> blobs;
    for (size_t i = 0; i < caches.size(); ++i)
        blobs.push_back(chunk_cache_to_blob(caches[i], chunk_cache_key(s.mdl->fingerprint(), tokens[i], {1})));
    uint64_t raw = 0;
    for (const auto& b : blobs) raw += b.payload.size();
    std::printf("model %s: %d chunks x %d tokens, %.1f MiB of f16 K/V (%.2f MiB per chunk) [%s]\n",
                s.mdl->config().name.c_str(), n, len, raw / 1048576.0, raw / 1048576.0 / n, s.be->name().c_str());
    std::printf("recompute (compile) all chunks: %.1f ms\n\n", compile_s * 1e3);

    std::printf("%-6s %-7s %7s %14s %16s\n", "zstd", "planes", "ratio", "compress MB/s", "decompress MB/s");
    for (int level : {1, 3, 9}) {
        for (bool planes : {false, true}) {
            storage::blob_encode_options o;
            o.zstd_level = level;
            o.byte_planes = planes;
            std::vector<double> enc_t, dec_t;
            uint64_t stored = 0;
            for (int r = 0; r < runs; ++r) {
                std::vector<storage::encoded_blob> enc;
                auto t0 = clock_type::now();
                for (const auto& b : blobs) enc.push_back(storage::encode_blob(b, o));
                enc_t.push_back(seconds(t0));
                t0 = clock_type::now();
                for (const auto& e : enc) (void)storage::decode_blob(e.bytes, "bench");
                dec_t.push_back(seconds(t0));
                stored = 0;
                for (const auto& e : enc) stored += e.bytes.size();
            }
            std::sort(enc_t.begin(), enc_t.end());
            std::sort(dec_t.begin(), dec_t.end());
            std::printf("%-6d %-7s %7.3f %14.0f %16.0f\n", level, planes ? "yes" : "no", (double)raw / stored,
                        raw / 1e6 / enc_t[enc_t.size() / 2], raw / 1e6 / dec_t[dec_t.size() / 2]);
        }
    }

    // Through the store on disk (level 3, byte planes): load cold and warm vs recompute.
    const fs::path dir = a.get_or("dir", (fs::temp_directory_path() / ("epic-bench-kv-" + std::to_string(::getpid()))).string());
    fs::create_directories(dir);
    {
        storage::library lib(dir / "library.db");
        storage::kv_store store(lib, dir / "kv");
        for (const auto& b : blobs) store.put(b, s.mdl->fingerprint(), "sink=1");
        std::vector<double> cold, warm;
        for (int r = 0; r < runs; ++r) {
            for (const auto& b : blobs) drop_page_cache(store.path_for_key(b.key));
            auto t0 = clock_type::now();
            for (const auto& b : blobs) (void)chunk_cache_from_blob(*store.load(b.key), "bench");
            cold.push_back(seconds(t0));
            t0 = clock_type::now();
            for (const auto& b : blobs) (void)chunk_cache_from_blob(*store.load(b.key), "bench");
            warm.push_back(seconds(t0));
        }
        std::sort(cold.begin(), cold.end());
        std::sort(warm.begin(), warm.end());
        std::printf("\nload %d chunk caches from disk (read + verify + decompress + unpack), median of %d:\n", n, runs);
        std::printf("  cold page cache %.1f ms, warm %.1f ms; recompute %.1f ms (%.1fx / %.1fx slower than loading)\n",
                    cold[cold.size() / 2] * 1e3, warm[warm.size() / 2] * 1e3, compile_s * 1e3, compile_s / cold[cold.size() / 2],
                    compile_s / warm[warm.size() / 2]);
    }

    // Retrieval over a large library of sample-like text.
    const int n_search = a.get_int("search-chunks", 10000, 1, 10000000);
    if (n_search > 0) {
        storage::library lib(dir / "search.db");
        const char* words[] = {"river", "harbor", "sensor", "battery", "office", "engineer", "launch", "price", "gauge",
                               "tide", "salt", "camera", "wind", "depth", "report", "travel", "hotel", "meal", "budget",
                               "kelp", "drift", "buoy", "current", "storm", "plankton", "survey", "coral", "port"};
        std::uniform_int_distribution<int> w(0, 27);
        const int per_doc = 100;
        for (int d = 0; d < (n_search + per_doc - 1) / per_doc; ++d) {
            const std::string path = "/bench/doc" + std::to_string(d) + ".txt";
            const int64_t id = lib.ensure_document(path, "txt");
            std::vector<storage::chunk_record> chunks;
            for (int c = 0; c < per_doc; ++c) {
                storage::chunk_record ch;
                ch.ordinal = c;
                for (int k = 0; k < 300; ++k) ch.text += std::string(words[w(rng)]) + (k % 12 == 11 ? ". " : " ");
                ch.text += "serial" + std::to_string(d * per_doc + c);
                ch.token_count = 300;
                chunks.push_back(std::move(ch));
            }
            storage::document_meta meta;
            meta.content_hash = "bench" + std::to_string(d);
            meta.kind = "txt";
            lib.replace_chunks(id, meta, chunks);
        }
        std::vector<double> t;
        for (int q = 0; q < 50; ++q) {
            const std::string question = std::string("what is the ") + words[w(rng)] + " of the " + words[w(rng)] + " " +
                                         words[w(rng)] + " serial" + std::to_string(q * 97 % n_search) + "?";
            const auto t0 = clock_type::now();
            (void)lib.search(question, 8);
            t.push_back(seconds(t0));
        }
        std::sort(t.begin(), t.end());
        std::printf("\nretrieval over %lld chunks (top 8, 50 questions): median %.1f ms, p95 %.1f ms, max %.1f ms\n",
                    (long long)lib.chunk_count(), t[t.size() / 2] * 1e3, t[t.size() * 95 / 100] * 1e3, t.back() * 1e3);
    }
    fs::remove_all(dir);
    return 0;
}

} // namespace epic::cli
