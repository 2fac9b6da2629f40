// epic bench kv: the KV store on real compiled chunks of a model.
//  - compression ratio and compress/decompress MB/s of f16 caches, zstd levels 1/3/9, with and
//    without byte planes
//  - per stored format (--formats f16,q8,k8v4,q4; --group G, --v-axis tokens|channels to measure other
//    groupings than the formats' own): bytes per
//    token and ratio to f16 after zstd, round-trip error of K and V, quantize+compress and
//    decompress+dequantize MB/s of f16 (one thread), dequantization alone, and loading the n chunk
//    caches from disk, cold (page cache dropped) and warm, against recomputing them
//  - retrieval latency over a library of many chunks
// Chunks are random tokens, or consecutive tokens of a text (--text FILE or folder of text files).
#include "cli/commands.h"
#include "cli/session.h"
#include "cli/bench_util.h"
#include "common/error.h"
#include "core/fp16.h"
#include "core/read_file.h"
#include "common/stopwatch.h"
#include "kvstore/blob_codec.h"
#include "kvstore/kv_store.h"
#include "library/library.h"
#include "pic/compiler.h"
#include "pic/kv_quant.h"
#include "service/kv_codec.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <set>

namespace epic::cli {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

// Asks the kernel to drop a file's cached pages (clean pages only, so sync first).
void drop_page_cache(const fs::path& p) {
    const int fd = ::open(p.c_str(), O_RDONLY);
    if (fd < 0) return;
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
}

// The text of a file, or of every regular file under a folder (sorted by path), joined by blank lines.
std::string read_texts(const fs::path& p) {
    if (!fs::is_directory(p)) return read_file_text(p.string());
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(p))
        if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    std::string text;
    for (const auto& f : files) text += read_file_text(f.string()) + "\n\n";
    if (text.empty()) throw error(p.string() + ": no files to read");
    return text;
}

// Relative L2 error of a decoded cache's K and of its V against the f16 original, over every layer.
std::pair<double, double> round_trip_error(const chunk_cache& ref, const chunk_cache& got, double* sums) {
    for (int il = 0; il < ref.n_layer; ++il)
        for (int kv = 0; kv < 2; ++kv) {
            const auto& a = kv ? ref.v[(size_t)il] : ref.k[(size_t)il]; // [n_rows, width] f16
            const auto& b = kv ? got.v[(size_t)il] : got.k[(size_t)il];
            for (size_t i = 0; i < a.size(); ++i) {
                const double x = fp16_to_fp32(a[i]), d = (double)fp16_to_fp32(b[i]) - x;
                sums[2 * kv] += d * d;
                sums[2 * kv + 1] += x * x;
            }
        }
    return {std::sqrt(sums[0] / sums[1]), std::sqrt(sums[2] / sums[3])};
}

} // namespace

int cmd_bench_kv(const bench_kv_args& a) {
    std::vector<kv_format> formats;
    for (const auto& f : split_list(a.formats)) formats.push_back(parse_kv_format(f));
    const int group = a.group.value_or(kv_quant_group);
    if (group % 2) throw error("--group must be even (4-bit codes pair rows)");
    const kv_quant_axis v_axis = parse_kv_quant_axis(a.v_axis.value_or(kv_quant_axis_name(kv_quant_v_axis)));
    session s = open_session(a.session);
    const int n = a.chunks, len = a.chunk_tokens, runs = a.runs;
    std::mt19937 rng(1);
    std::vector<std::vector<int32_t>> tokens((size_t)n);
    std::string source = "random tokens";
    if (const auto& text = a.text) {
        // Consecutive tokens of the text, wrapping around when it is shorter than n x len.
        const auto all = s.tok->encode(read_texts(*text), false);
        if (all.empty()) throw error(*text + ": no tokens");
        size_t at = 0;
        for (auto& t : tokens) {
            t.resize((size_t)len);
            for (auto& x : t) x = all[at++ % all.size()];
        }
        source = "text of " + *text + " (" + std::to_string(all.size()) + " tokens)";
    } else {
        std::uniform_int_distribution<int32_t> pick(0, s.tok->n_vocab() - 1);
        for (auto& t : tokens) {
            t.resize((size_t)len);
            for (auto& x : t) do x = pick(rng); while (s.tok->is_control(x));
        }
    }
    // Recompute: what loading from disk saves.
    std::vector<chunk_cache> caches;
    const auto t_compile = clock_type::now();
    for (const auto& t : tokens) caches.push_back(compile_chunk(*s.tf, t, s.tok->bos(), compile_options::standalone(1)));
    const double compile_s = seconds_since(t_compile);
    // --dump DIR: the compiled f16 K (before RoPE) and V, one raw file per chunk, layer and tensor
    // (cC-lL-k.f16, [n_rows, n_head_kv * head_dim]), for studying quantizers outside the app.
    if (const auto& dump = a.dump) {
        fs::create_directories(*dump);
        for (size_t i = 0; i < caches.size(); ++i)
            for (int il = 0; il < caches[i].n_layer; ++il)
                for (int kv = 0; kv < 2; ++kv) {
                    const auto& t = kv ? caches[i].v[(size_t)il] : caches[i].k[(size_t)il];
                    const fs::path f = fs::path(*dump) / ("c" + std::to_string(i) + "-l" + std::to_string(il) + (kv ? "-v" : "-k") + ".f16");
                    FILE* fp = std::fopen(f.c_str(), "wb");
                    const bool written = fp && std::fwrite(t.data(), 2, t.size(), fp) == t.size();
                    if ((fp && std::fclose(fp) != 0) || !written) throw error(f.string() + ": cannot write");
                }
        std::printf("dumped K/V to %s: %d layers, %d KV heads x %d\n", dump->c_str(), caches[0].n_layer, caches[0].n_head_kv,
                    caches[0].head_dim);
    }
    std::vector<storage::kv_blob> blobs;
    for (size_t i = 0; i < caches.size(); ++i)
        blobs.push_back(chunk_cache_to_blob(caches[i], chunk_cache_key(s.mdl->fingerprint(), tokens[i], compile_options::standalone(1))));
    uint64_t raw = 0, kv_raw = 0, rows = 0;
    for (const auto& b : blobs) raw += b.payload.size();
    for (const auto& c : caches) kv_raw += c.kv_bytes(), rows += (uint64_t)c.n_rows();
    std::printf("model %s: %d chunks x %d tokens of %s, %.1f MiB of f16 K/V (%.2f MiB per chunk, %.0f bytes per token) [%s]\n",
                s.mdl->config().name.c_str(), n, len, source.c_str(), raw / 1048576.0, raw / 1048576.0 / n, (double)kv_raw / rows,
                s.be->name().c_str());
    std::printf("recompute (compile) all chunks: %.1f ms\n\n", compile_s * 1e3);

    std::printf("f16 caches:\n%-6s %-7s %7s %14s %16s\n", "zstd", "planes", "ratio", "compress MB/s", "decompress MB/s");
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
                enc_t.push_back(seconds_since(t0));
                t0 = clock_type::now();
                for (const auto& e : enc) (void)storage::decode_blob(e.bytes, "bench");
                dec_t.push_back(seconds_since(t0));
                stored = 0;
                for (const auto& e : enc) stored += e.bytes.size();
            }
            std::printf("%-6d %-7s %7.3f %14.0f %16.0f\n", level, planes ? "yes" : "no", (double)raw / stored, raw / 1e6 / median(enc_t),
                        raw / 1e6 / median(dec_t));
        }
    }

    // Per stored format, through the codec and the store (zstd level 3, byte planes), one thread.
    const fs::path dir = a.dir.value_or((fs::temp_directory_path() / ("epic-bench-kv-" + std::to_string(::getpid()))).string());
    fs::create_directories(dir);
    struct row_result {
        kv_format f;
        uint64_t stored = 0;
        double k_err = 0, v_err = 0, enc_s = 0, dec_s = 0, dq_s = 0, cold_s = 0, warm_s = 0;
    };
    std::vector<row_result> results;
    for (kv_format f : formats) {
        row_result rr;
        rr.f = f;
        compile_options opts = compile_options::standalone(1);
        opts.format = f;
        std::vector<chunk_cache> fc = caches; // the same K/V under this format's options (and key)
        for (auto& c : fc) c.options = opts;
        std::vector<std::string> keys;
        for (size_t i = 0; i < fc.size(); ++i) keys.push_back(chunk_cache_key(s.mdl->fingerprint(), tokens[i], opts));
        std::vector<double> enc_t, dec_t, dq_t;
        std::vector<storage::encoded_blob> enc;
        std::vector<storage::kv_blob> fblobs;
        for (int r = 0; r < runs; ++r) {
            enc.clear();
            fblobs.clear();
            auto t0 = clock_type::now();
            for (size_t i = 0; i < fc.size(); ++i) {
                fblobs.push_back(chunk_cache_to_blob(fc[i], keys[i], group, v_axis));
                enc.push_back(storage::encode_blob(fblobs.back()));
            }
            enc_t.push_back(seconds_since(t0));
            std::vector<chunk_cache> decoded;
            t0 = clock_type::now();
            for (const auto& e : enc) decoded.push_back(chunk_cache_from_blob(storage::decode_blob(e.bytes, "bench"), "bench"));
            dec_t.push_back(seconds_since(t0));
            if (r == 0) {
                double sums[4] = {0, 0, 0, 0};
                for (size_t i = 0; i < fc.size(); ++i) std::tie(rr.k_err, rr.v_err) = round_trip_error(caches[i], decoded[i], sums);
            }
            // Dequantization alone: the codes, scales and minima of every tensor back to f16.
            if (f != kv_format::f16) {
                std::vector<uint16_t> out(decoded[0].k[0].size());
                t0 = clock_type::now();
                for (size_t i = 0; i < fblobs.size(); ++i) {
                    const chunk_cache& c = caches[i];
                    for (int il = 0; il < c.n_layer; ++il)
                        for (int kv = 0; kv < 2; ++kv) {
                            kv_quant_layout l;
                            l.n_rows = c.n_rows();
                            l.width = c.row_width();
                            l.bits = kv_format_bits(f, kv);
                            l.group = group;
                            l.axis = kv ? v_axis : kv_quant_axis::tokens;
                            const size_t i0 = 1 + 6 * (size_t)il + 3 * (size_t)kv;
                            out.resize((size_t)l.n_rows * (size_t)l.width);
                            kv_dequantize(l, reinterpret_cast<const uint8_t*>(fblobs[i].tensor_data(i0).data()),
                                          reinterpret_cast<const uint16_t*>(fblobs[i].tensor_data(i0 + 1).data()),
                                          reinterpret_cast<const uint16_t*>(fblobs[i].tensor_data(i0 + 2).data()), out.data());
                        }
                }
                dq_t.push_back(seconds_since(t0));
            }
        }
        rr.enc_s = median(enc_t);
        rr.dec_s = median(dec_t);
        rr.dq_s = median(dq_t);
        for (const auto& e : enc) rr.stored += e.bytes.size();
        // Through the store on disk: load cold and warm.
        storage::library lib(dir / ("library-" + std::string(kv_format_name(f)) + ".db"));
        storage::kv_store store(lib, dir / ("kv-" + std::string(kv_format_name(f))));
        for (const auto& b : fblobs) store.put(b, s.mdl->fingerprint(), opts.to_string());
        std::vector<double> cold, warm;
        for (int r = 0; r < runs; ++r) {
            for (const auto& b : fblobs) drop_page_cache(store.path_for_key(b.key));
            auto t0 = clock_type::now();
            for (const auto& b : fblobs) (void)chunk_cache_from_blob(*store.load(b.key), "bench");
            cold.push_back(seconds_since(t0));
            t0 = clock_type::now();
            for (const auto& b : fblobs) (void)chunk_cache_from_blob(*store.load(b.key), "bench");
            warm.push_back(seconds_since(t0));
        }
        rr.cold_s = median(cold);
        rr.warm_s = median(warm);
        results.push_back(rr);
    }
    const row_result* f16_row = nullptr;
    for (const auto& r : results)
        if (r.f == kv_format::f16) f16_row = &r;
    std::printf("\nper format (zstd 3 + byte planes; quantization groups of %d, K along tokens, V along %s; one thread;\n"
                "MB/s of f16 K/V; medians of %d runs; load: %d caches from the store, read + verify + decompress +\n"
                "dequantize; recompute: %.1f ms)\n",
                group, kv_quant_axis_name(v_axis), runs, n, compile_s * 1e3);
    std::printf("%-6s %11s %8s %8s %9s %9s %12s %12s %10s %9s %9s %11s\n", "format", "bytes/token", "vs f16", "vs raw",
                "K rel.err", "V rel.err", "encode MB/s", "decode MB/s", "deq. GB/s", "cold ms", "warm ms", "recompute/x");
    for (const auto& r : results) {
        char vs_f16[32] = "-";
        if (f16_row) std::snprintf(vs_f16, sizeof vs_f16, "%.3f", (double)r.stored / f16_row->stored);
        char dq[32] = "-";
        if (r.dq_s > 0) std::snprintf(dq, sizeof dq, "%.2f", kv_raw / 1e9 / r.dq_s);
        std::printf("%-6s %11.0f %8s %8.3f %9.2e %9.2e %12.0f %12.0f %10s %9.1f %9.1f %5.0f/%-5.0f\n",
                    std::string(kv_format_name(r.f)).c_str(), (double)r.stored / rows, vs_f16, (double)r.stored / kv_raw, r.k_err,
                    r.v_err, kv_raw / 1e6 / r.enc_s, kv_raw / 1e6 / r.dec_s, dq, r.cold_s * 1e3, r.warm_s * 1e3,
                    compile_s / r.cold_s, compile_s / r.warm_s);
    }
    std::printf("(vs f16: stored bytes over the f16 blobs'; vs raw: over uncompressed f16 K/V; dequantizer: %s;\n"
                " recompute/x: recompute time over the cold / warm load time)\n",
                kv_simd_name(kv_dequantize_best()));

    // Retrieval over a large library of sample-like text.
    const int n_search = a.search_chunks;
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
            t.push_back(seconds_since(t0));
        }
        std::sort(t.begin(), t.end());
        std::printf("\nretrieval over %lld chunks (top 8, 50 questions): median %.1f ms, p95 %.1f ms, max %.1f ms\n",
                    (long long)lib.chunk_count(), t[t.size() / 2] * 1e3, t[t.size() * 95 / 100] * 1e3, t.back() * 1e3);
    }
    fs::remove_all(dir);
    return 0;
}

} // namespace epic::cli
