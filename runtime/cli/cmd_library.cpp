// epic add / ask / docs / cache: the document library, headless.
#include "cli/commands.h"
#include "cli/printable.h"
#include "cli/session.h"
#include "common/error.h"
#include "core/paths.h"
#include "embed/embedder_files.h"
#include "kvstore/kv_store.h"
#include "library/records.h"
#include "service/service.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <ctime>

namespace epic::cli {
namespace {

// Only adding creates a library: asking or managing a mistyped folder is an error, not an empty library.
// context_tokens: ask's --ctx (0: the model's context length).
service_params params_from(const library_options& o, bool need_model, bool create_library, int context_tokens = 0) {
    service_params p = service_default_params();
    p.library_dir = library_path(o);
    p.create_library = create_library;
    p.model_path = need_model ? model_path(o) : o.model.value_or("");
    p.backend = session_backend_params(o);
    p.chunk_tokens = o.chunk_tokens.value_or(p.chunk_tokens);
    p.context_tokens = context_tokens;
    p.cache_budget_bytes = (uint64_t)(o.budget_mb.value_or(0.0) * 1024 * 1024); // fractions of a MiB too
    // GPU hot tier of chunk caches: absent = automatic, 0 = off.
    if (o.gpu_cache_mib) p.gpu_cache_budget_bytes = (int64_t)(*o.gpu_cache_mib * 1024 * 1024);
    if (o.kv_format) p.cache_format = parse_kv_format(*o.kv_format);
    if (o.retrieval) p.retrieval = parse_retrieval_mode(*o.retrieval);
    p.embedder_dir = o.embedder ? std::filesystem::path(*o.embedder)
                                : find_embedder_dir(app_paths_from(path_environment_from_process()),
                                                    find_resources(current_executable(), build_source_dir()));
    return p;
}

// Ctrl-C while add or compile runs: the first one asks the service to stop after the chunk in hand
// (what is compiled stays stored and linked, the library consistent, the next run resumes); the
// handler is reset on delivery, so a second Ctrl-C ends the process at once. A signal handler can
// only reach static storage: flag() is the one such object, used only through this scope.
class interrupt_scope {
public:
    interrupt_scope() {
        flag().store(false);
        struct sigaction sa = {};
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESETHAND;
        ::sigaction(SIGINT, &sa, &previous_);
    }
    ~interrupt_scope() { ::sigaction(SIGINT, &previous_, nullptr); }
    interrupt_scope(const interrupt_scope&) = delete;
    interrupt_scope& operator=(const interrupt_scope&) = delete;
    const std::atomic<bool>* cancel() const { return &flag(); }
    bool interrupted() const { return flag().load(); }

private:
    static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler stores to it");
    static std::atomic<bool>& flag() {
        static std::atomic<bool> interrupted{false}; // initialised by the constructor, before the handler exists
        return interrupted;
    }
    static void on_signal(int) { flag().store(true); }
    struct sigaction previous_ = {};
};

// The exit code of a command stopped by Ctrl-C (128 + SIGINT, what shells report).
constexpr int interrupted_exit_code = 130;

// "compiling: 3/40 chunks ..." on stderr, one line rewritten in place.
void print_compile_progress(const add_progress& p) {
    if (p.phase == "compiling")
        std::fprintf(stderr, "\rcompiling: %zu/%zu chunks, %zu/%zu documents, %.0f tok/s   ", p.chunks_done, p.chunks_total,
                     p.documents_done, p.documents_total, p.tokens_per_second);
    else if (p.phase == "embedding")
        std::fprintf(stderr, "\rembedding: %zu/%zu chunks   ", p.chunks_done, p.chunks_total);
    else
        std::fprintf(stderr, "\rextracting: %zu/%zu documents   ", p.documents_done, p.documents_total);
}

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

// The service's failures come back as results; value() throws their message as an epic::error,
// which main prints.
std::unique_ptr<service> open_service(const library_options& o, bool need_model, int context_tokens = 0) {
    return service::open(params_from(o, need_model, false, context_tokens)).value();
}

std::string when(int64_t ms) {
    if (ms <= 0) return "-";
    const std::time_t t = (std::time_t)(ms / 1000);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
    return buf;
}

} // namespace

int cmd_add(const add_args& a) {
    service_params params = params_from(a.lib, true, true);
    params.compile_on_add = !a.no_compile;
    const interrupt_scope interrupt;
    auto s = service::open(params).value();
    std::vector<std::filesystem::path> paths(a.paths.begin(), a.paths.end());
    const bool quiet = a.quiet;
    const result<add_report> added = s->add(paths, [&](const add_progress& p) {
        if (!quiet) print_compile_progress(p);
    }, interrupt.cancel());
    if (!quiet) std::fprintf(stderr, "\n");
    const add_report& r = added.value();
    std::printf("added %zu, updated %zu, unchanged %zu, failed %zu, skipped %zu; %zu chunk caches compiled%s\n", r.added,
                r.updated, r.unchanged, r.failed, r.skipped, r.chunks_compiled, r.cancelled ? " (cancelled)" : "");
    if (!params.compile_on_add && !r.cancelled)
        std::printf("not compiled: chunks are compiled when a question retrieves them, or by `epic compile`\n");
    for (const auto& [path, why] : r.failures) std::printf("failed: %s: %s\n", printable(path).c_str(), printable(why).c_str());
    for (const auto& [path, why] : r.skips) std::printf("skipped: %s: %s\n", printable(path).c_str(), printable(why).c_str());
    for (const auto& w : r.warnings) std::fprintf(stderr, "warning: %s\n", printable(w).c_str());
    if (interrupt.interrupted()) {
        std::fprintf(stderr, "interrupted: what was added and compiled is kept; add again or run `epic compile` to finish\n");
        return interrupted_exit_code;
    }
    return r.failed + r.skipped > 0 ? 3 : 0;
}

int cmd_compile(const compile_args& a) {
    if (!a.paths.empty()) throw error("compile takes no paths: it compiles what the library's chunks lack (add documents with epic add)");
    const interrupt_scope interrupt;
    auto s = service::open(params_from(a.lib, true, false)).value();
    const bool quiet = a.quiet;
    const result<compile_report> compiled = s->compile_pending([&](const add_progress& p) {
        if (!quiet) print_compile_progress(p);
    }, interrupt.cancel());
    if (!quiet) std::fprintf(stderr, "\n");
    const compile_report& r = compiled.value();
    std::printf("%zu chunk caches compiled; %zu chunks left%s\n", r.chunks_compiled, r.chunks_left,
                r.cancelled ? " (cancelled)" : r.budget_full ? " (the disk budget is full: they are compiled when asked about)" : "");
    for (const auto& w : r.warnings) std::fprintf(stderr, "warning: %s\n", printable(w).c_str());
    if (interrupt.interrupted()) {
        std::fprintf(stderr, "interrupted: what was compiled is kept; run epic compile again to finish\n");
        return interrupted_exit_code;
    }
    return 0;
}

int cmd_ask(const ask_args& a) {
    if (a.question.size() != 1) throw error("give the question as one argument (quote it)");
    auto s = open_service(a.lib, true, a.ctx);
    ask_options o;
    o.policy = link_policy::parse(a.algo);
    o.top_n = a.top;
    o.generation.max_tokens = a.tokens;
    o.generation.sampling.temperature = (float)a.temp;
    o.generation.sampling.seed = (uint64_t)a.seed;
    const ask_result r = s->ask(a.question[0], o, [](int32_t, const std::string& piece) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
        return true;
    }).value();
    // stdout is buffered when it is a pipe, stderr never is: flush before every stderr line, or the
    // status line lands glued to the answer ("...322[legolink-16 on cpu ...").
    std::printf("\n");
    std::fflush(stdout);
    for (const auto& w : r.warnings) std::fprintf(stderr, "warning: %s\n", printable(w).c_str());
    if (!a.no_sources) {
        std::printf("\nsources: (* the answer drew on it)\n");
        for (size_t i = 0; i < r.sources.size(); ++i) {
            const auto& src = r.sources[i];
            // "*": a source the answer drew on (its words; answer_support.h).
            std::printf("%s [%zu] %s", src.used ? "*" : " ", i + 1, printable(src.document_path).c_str());
            if (src.page_begin > 0)
                std::printf(src.page_end > src.page_begin ? ", pages %d-%d" : ", page %d", src.page_begin, src.page_end);
            // Three significant digits: hybrid's fused scores are small (about 1/61 at the top).
            std::printf("  (chunk %lld, score %.3g)\n", (long long)src.chunk_id, src.score);
        }
    }
    std::fflush(stdout);
    const ask_timing& t = r.timing;
    // Residency and staging are GPU matters: on the CPU every cache is already in host memory.
    const bool on_gpu = s->backend_name().rfind("cpu", 0) != 0;
    const std::string gpu = on_gpu ? "; caches GPU-resident " + std::to_string(t.chunks_resident) + ", staged from host " +
                                         std::to_string(t.chunks_staged)
                                   : std::string();
    std::fprintf(stderr,
                 "[%s on %s] time to first token %.1f ms (retrieve %.1f, load %.1f for %d caches, compile %.1f for %d, link %.1f); "
                 "rows %d: recomputed %d, reused %d%s; %.1f tok/s\n",
                 o.policy.name().c_str(), s->backend_name().c_str(), t.first_token_seconds * 1e3, t.retrieve_seconds * 1e3,
                 t.load_seconds * 1e3,
                 t.chunks_loaded, t.compile_seconds * 1e3, t.chunks_compiled, t.link_seconds * 1e3, t.rows_total,
                 t.rows_recomputed, t.rows_reused, gpu.c_str(), t.decode_tokens_per_second);
    return 0;
}

int cmd_docs(const library_command_args& a) {
    const std::string& what = a.what;
    auto s = open_service(a.lib, false);
    if (what == "ls") {
        const auto docs = s->documents().value();
        std::printf("%6s  %-10s %7s %10s  %s\n", "id", "status", "chunks", "bytes", "path");
        for (const auto& d : docs) {
            std::printf("%6lld  %-10s %7lld %10lld  %s", (long long)d.id, std::string(storage::to_string(d.status)).c_str(),
                        (long long)d.chunk_count, (long long)d.size, printable(d.path).c_str());
            if (!d.error.empty()) std::printf("  (%s)", printable(d.error).c_str());
            std::printf("\n");
        }
        return 0;
    }
    if (what == "rm") {
        if (a.operands.empty()) throw error("give the ids of the documents to remove (see epic docs ls)");
        for (const auto& id : a.operands) {
            char* end = nullptr;
            errno = 0;
            const long long n = std::strtoll(id.c_str(), &end, 10);
            if (id.empty() || *end || errno == ERANGE || n <= 0)
                throw error("'" + printable(id) + "' is not a document id (see epic docs ls)");
            s->remove_document(n).value();
            std::printf("removed document %s\n", id.c_str());
        }
        return 0;
    }
    throw error("unknown docs command '" + what + "' (expected ls or rm)");
}

int cmd_cache(const library_command_args& a) {
    const std::string& what = a.what;
    auto s = open_service(a.lib, false);
    if (what == "ls") {
        // rows, B/token (bytes on disk per row) and ratio (K/V bytes as linked, f16, over bytes on disk)
        // are recorded when a cache is compiled or loaded: "-" for one an older build wrote, until then.
        const auto entries = s->cache_entry_infos().value();
        std::printf("%-44s %-4s %6s %8s %10s %10s %6s %5s %3s  %s\n", "key", "fmt", "rows", "B/token", "raw", "stored", "ratio",
                    "hits", "pin", "last used");
        for (const auto& i : entries) {
            const auto& e = i.entry;
            const bool recorded = i.rows > 0;
            std::printf("%-44s %-4s %6s %8s %10llu %10llu %6s %5lld %3s  %s\n", printable(e.cache_key).c_str(), i.format.c_str(),
                        recorded ? std::to_string(i.rows).c_str() : "-", recorded ? fixed(i.bytes_per_token(), 1).c_str() : "-",
                        (unsigned long long)e.raw_bytes, (unsigned long long)e.compressed_bytes,
                        recorded ? fixed(i.ratio(), 2).c_str() : "-", (long long)e.hits, e.pinned ? "yes" : "", when(e.last_used).c_str());
        }
        return 0;
    }
    if (what == "stats") {
        const cache_summary st = s->cache_stats().value();
        std::printf("entries %lld (pinned %lld); raw %.2f MiB, on disk %.2f MiB (zstd ratio %.2f); budget %s\n", (long long)st.entries,
                    (long long)st.pinned, st.raw_bytes / 1048576.0, st.compressed_bytes / 1048576.0,
                    st.compressed_bytes ? (double)st.raw_bytes / st.compressed_bytes : 0.0,
                    st.budget_bytes ? (std::to_string(st.budget_bytes / 1048576) + " MiB").c_str() : "none");
        for (const auto& f : st.by_format) {
            std::printf("  %-4s %lld entries, %.2f MiB on disk", f.format.c_str(), (long long)f.entries, f.compressed_bytes / 1048576.0);
            if (f.entries_recorded > 0)
                std::printf(", %.1f bytes per token, ratio %.2f (f16 K/V bytes over bytes on disk)", f.bytes_per_token(), f.ratio());
            if (f.entries_recorded < f.entries)
                std::printf("; %lld written by an older build, not measured until next loaded",
                            (long long)(f.entries - f.entries_recorded));
            std::printf("\n");
        }
        return 0;
    }
    if (what == "evict" || what == "pin" || what == "unpin") {
        if (a.operands.empty()) {
            if (what == "evict" && a.lib.budget_mb) {
                const size_t n = s->enforce_budget().value();
                std::printf("evicted %zu caches to fit the budget\n", n);
                return 0;
            }
            throw error("give the cache keys (see epic cache ls)");
        }
        for (const auto& key : a.operands) {
            (what == "evict" ? s->evict(key) : s->pin(key, what == "pin")).value();
        }
        return 0;
    }
    if (what == "verify") {
        const auto bad = s->verify().value();
        for (const auto& b : bad) std::printf("bad: %s\n", printable(b).c_str());
        std::printf("%zu bad entries\n", bad.size());
        return bad.empty() ? 0 : 3;
    }
    if (what == "gc") {
        const std::string summary = s->gc().value();
        std::printf("%s\n", summary.c_str());
        return 0;
    }
    throw error("unknown cache command '" + what + "'");
}

} // namespace epic::cli
