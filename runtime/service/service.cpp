#include "service/service.h"

#include "common/error.h"
#include "common/stopwatch.h"
#include "ingest/chunker.h"
#include "ingest/ingestor.h"
#include "kvstore/kv_store.h"
#include "library/library.h"
#include "model/model.h"
#include "pic/compiler.h"
#include "pic/kv_hot_tier.h"
#include "service/answer_support.h"
#include "service/kv_codec.h"
#include "service/chat_template.h"
#include "service/shared_model.h"
#include "storage_error.h"
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <limits>
#include <chrono>
#include <map>
#include <optional>
#include <unordered_map>

namespace epic {
namespace {

using clock_type = std::chrono::steady_clock;

// What the backend must have room for besides the weights (checked before they are uploaded): a
// question over the default number of retrieved chunks of this library's chunk size, with the
// system prompt, the question and the answer in another 1024 rows; compiles run a chunk at a time.
working_set service_working_set(const service_params& p) {
    const int chunk = std::max(1, p.chunk_tokens);
    return working_set{ask_options{}.top_n * chunk + 1024, chunk};
}

} // namespace

service_params service_default_params() { return service_params{}; }

namespace {

// The hot tier's budget: the one asked for, or automatically a quarter of the device memory free
// after the model's weights are in (the rest is for the link's KV, activations and other programs).
// A backend that reports no device memory (the CPU) gets none: the caches are already in its memory.
size_t hot_tier_budget(const service_params& params, const backend& be) {
    if (params.gpu_cache_budget_bytes >= 0) return (size_t)params.gpu_cache_budget_bytes;
    const device_memory_info mem = be.memory_info();
    return mem.total_bytes == 0 ? 0 : mem.free_bytes / 4;
}

// A folder whose caches remain but whose index is gone or empty lost its library.db (deleted,
// truncated): creating a fresh one there would silently present an empty library.
void check_index_not_lost(const std::filesystem::path& dir) {
    const auto db_file = dir / "library.db";
    std::error_code ec;
    const bool index_missing = !std::filesystem::exists(db_file, ec);
    if (!index_missing && std::filesystem::file_size(db_file, ec) != 0) return;
    if (ec && !index_missing) return;
    for (auto it = std::filesystem::recursive_directory_iterator(dir / "kv", ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (it->path().extension() == ".epkv")
            throw error(db_file.string() + (index_missing ? ": is missing" : ": is empty (0 bytes)") +
                        " although the folder holds chunk caches: the library's index was deleted or truncated. "
                        "Restore it from a backup, or remove the folder to start a new library");
    }
}

} // namespace

struct service::impl {
    service_params params;
    std::unique_ptr<storage::library> lib;
    std::unique_ptr<storage::kv_store> store;
    std::unique_ptr<retriever> ret;       // over lib
    std::shared_ptr<shared_model> shared; // null: no model
    const model* mdl = nullptr;           // shared's, for brevity
    const tokenizer* tok = nullptr;
    transformer* tf = nullptr;            // only while holding a shared_model::turn
    std::unique_ptr<kv_hot_tier> hot;     // GPU-resident chunk caches (null: off); after shared, before lk (which points to it)
    std::unique_ptr<linker> lk;           // over tf; its scratch state is this service's own
    chat_template tmpl;
    std::optional<chunk_cache> system_cache;
    std::vector<std::string> problems; // corrupt or missing blobs found while loading, caches not stored

    // The problems gathered since the last call, for a result's warnings.
    std::vector<std::string> take_problems() {
        std::vector<std::string> out;
        out.swap(problems);
        return out;
    }

    void require_model() const {
        if (!mdl) throw error("no model is loaded: choose a GGUF model file first");
    }

    std::vector<int32_t> tokens_of(const std::string& text) const { return tok->encode(text, false); }

    // What a chunk is compiled from under a policy's scheme: its tokens (framed) and compile options
    // (with the system segment as context when the scheme compiles chunks after it).
    struct chunk_spec {
        std::vector<int32_t> tokens;
        compile_options opts;
    };
    // The compile options of a policy's scheme (the context is this service's system segment) in this
    // service's cache format: every cache one ask links comes from here (or system_prompt_cache, same
    // format), so a link never mixes formats, and caches of another format are stale for the library.
    compile_options options_for(const link_policy& policy) {
        compile_options o = policy.chunk_compile_options();
        o.format = params.cache_format;
        if (policy.context_compiled) {
            const auto& sys = system_prompt_cache().tokens;
            o.context = context_fingerprint(sys);
            o.context_rows = (int)sys.size();
        }
        return o;
    }
    chunk_spec spec_for(const link_policy& policy, const std::string& title, int page, const std::string& text) {
        const std::string header = page > 0 ? title + " (page " + std::to_string(page) + ")" : title;
        return {tokens_of(policy.chunk_text(header, text)), options_for(policy)};
    }
    static std::string title_of(const std::string& title, const std::string& path) {
        return title.empty() ? std::filesystem::path(path).filename().string() : title;
    }

    // The cache of a chunk under these compile options: from the store when present and sound,
    // otherwise compiled now and stored. With `allow_resident`, a cache whose tensors are resident in
    // the GPU hot tier comes back header-only: nothing is read from disk, the link copies the tensors
    // within the device. A stored cache of other options (an older scheme, another system prompt) has
    // another key and is never found here.
    enum class cache_source { loaded, compiled, resident };
    struct cache_lookup {
        chunk_cache cache;
        std::string key;            // the cache key (model, tokens, options)
        cache_source source = cache_source::loaded;
        bool stored = true;         // false: compiled but not stored (full disk, read-only library)
        uint64_t stored_bytes = 0;  // bytes on disk of what this call stored (0: nothing stored)
        double load_seconds = 0.0;  // reading and decoding the stored cache (or finding it bad)
        double compile_seconds = 0.0;
    };
    cache_lookup cache_for(const std::vector<int32_t>& tokens, const compile_options& opts, bool allow_resident = false) {
        cache_lookup out;
        out.key = chunk_cache_key(mdl->fingerprint(), tokens, opts);
        const std::string& key = out.key;
        if (allow_resident && hot && hot->contains(key)) {
            chunk_cache& c = out.cache;
            c.model_fingerprint = mdl->fingerprint();
            c.options = opts;
            c.tokens.assign((size_t)opts.n_sink, tok->bos());
            c.tokens.insert(c.tokens.end(), tokens.begin(), tokens.end());
            const model_config& cfg = mdl->config();
            c.n_layer = cfg.n_layer;
            c.n_head_kv = cfg.n_head_kv;
            c.head_dim = cfg.head_dim;
            out.source = cache_source::resident;
            return out;
        }
        auto t0 = clock_type::now();
        if (auto blob = store->load(key)) {
            try {
                chunk_cache c = chunk_cache_from_blob(*blob, store->path_for_key(key).string());
                std::vector<int32_t> expect((size_t)opts.n_sink, tok->bos());
                expect.insert(expect.end(), tokens.begin(), tokens.end());
                if (c.model_fingerprint == mdl->fingerprint() && c.options == opts && c.tokens == expect) {
                    record_shape(key, c); // entries of older builds get their rows here
                    out.cache = std::move(c);
                    out.load_seconds = seconds_since(t0);
                    return out;
                }
                problems.push_back(store->path_for_key(key).string() + ": cache does not match its key; recompiled");
            } catch (const std::exception& e) {
                problems.push_back(std::string(e.what()) + "; recompiled");
            }
            store->evict(key);
        }
        out.load_seconds = seconds_since(t0);
        t0 = clock_type::now();
        out.source = cache_source::compiled;
        out.cache = [&] {
            std::vector<int32_t> context;
            if (!opts.context.empty()) {
                context = system_prompt_cache().tokens;
                if (context_fingerprint(context) != opts.context) throw error("chunk compile: the system segment changed");
            }
            shared_model::turn turn(*shared);
            return compile_chunk(*tf, tokens, tok->bos(), opts, context);
        }();
        const storage::kv_blob blob = chunk_cache_to_blob(out.cache, key);
        try {
            out.stored_bytes = store->put(blob, mdl->fingerprint(), opts.to_string()).compressed_bytes;
            record_shape(key, out.cache);
        } catch (const storage_error& e) {
            // A full disk or a read-only library: the answer does not need the file, only later asks do.
            problems.push_back(std::string(e.what()) + "; the cache was used without being stored");
            out.stored = false;
        }
        // A quantized format: this answer links what loading the stored cache gives, as every later
        // answer will, not the f16 rows it was quantized from.
        if (opts.format != kv_format::f16) out.cache = chunk_cache_from_blob(blob, key);
        out.compile_seconds = seconds_since(t0);
        return out;
    }

    // Rows and decoded bytes of a stored cache, for bytes per token and ratios in listings. Only a
    // listing needs them: a busy or read-only database must not fail the ask or add that loaded it.
    void record_shape(const std::string& key, const chunk_cache& c) {
        try {
            lib->record_kv_shape(key, c.n_rows(), (int64_t)c.kv_bytes());
        } catch (const storage_error&) {
        }
    }

    const chunk_cache& system_prompt_cache() {
        if (!system_cache) {
            // The system segment is an exact prefix at positions 0..: the template's opening markup
            // (with the BOS when the model wants one) and the instructions, compiled once, in the
            // cache format of the chunks it is linked with.
            const auto tokens = tmpl.system_segment(*tok, *mdl, params.system_prompt);
            compile_options o = compile_options::standalone(0);
            o.format = params.cache_format;
            system_cache = cache_for(tokens, o).cache;
        }
        return *system_cache;
    }

    // The library's chunks that lack a cache of the current scheme and format, per document. Stale
    // caches (another compile scheme, system prompt or format) count as missing.
    struct pending {
        int64_t document_id;
        std::string path;
        std::string title;
        std::vector<int64_t> chunk_ids;
    };
    std::vector<pending> pending_work() {
        const std::string fp = mdl->fingerprint();
        const std::string scheme = options_for(params.policy).to_string();
        std::vector<pending> work;
        for (const auto& d : lib->documents()) {
            if (d.status == storage::doc_status::failed || d.chunk_count == 0) continue;
            auto missing = lib->chunks_missing_kv(d.id, fp, scheme);
            if (missing.empty()) continue;
            work.push_back({d.id, d.path, title_of(d.title, d.path), std::move(missing)});
        }
        return work;
    }
    size_t pending_chunks() {
        size_t n = 0;
        for (const auto& w : pending_work()) n += w.chunk_ids.size();
        return n;
    }

    // Compiles, stores and links every pending chunk. `budget_full` non-null: fill the store only up
    // to the disk budget (compile_pending), stopping before a cache like the last one would exceed it
    // and setting *budget_full; null (add): compile everything, add enforces the budget afterwards.
    size_t compile_missing(const std::function<void(const add_progress&)>& progress, const std::atomic<bool>* cancel,
                           bool* cancelled, bool* budget_full = nullptr) {
        const std::string fp = mdl->fingerprint();
        const std::vector<pending> work = pending_work();
        add_progress pr;
        pr.phase = "compiling";
        for (const auto& w : work) pr.chunks_total += w.chunk_ids.size();
        pr.documents_total = work.size();
        const uint64_t budget = budget_full ? params.cache_budget_bytes : 0;
        // What the store holds, kept up to date with what this run stores (other processes' additions
        // are seen at the next run).
        uint64_t stored_bytes = budget > 0 ? store->stats().compressed_bytes : 0;
        uint64_t next_bytes = 0; // expected size of the next cache: the last one's
        const auto t0 = clock_type::now();
        size_t tokens_done = 0, compiled = 0;
        // Every document this run will compile shows "compiling" from the start, not "ready" while it
        // waits its turn; each is ready again once its chunks are done, and whatever a cancel, a full
        // budget or a full disk leaves is ready too (indexed and answerable: its chunks are compiled
        // when asked about).
        for (const auto& w : work) lib->set_status(w.document_id, storage::doc_status::compiling);
        struct ready_again {
            storage::library& lib;
            const std::vector<pending>& work;
            ~ready_again() {
                for (const auto& w : work) {
                    try {
                        lib.change_status(w.document_id, storage::doc_status::compiling, storage::doc_status::ready);
                    } catch (const std::exception&) {
                        // The database failed under us; the error that stopped the run is reported.
                    }
                }
            }
        } restore{*lib, work};
        for (const auto& w : work) {
            pr.current = w.path;
            for (int64_t cid : w.chunk_ids) {
                if (cancel && cancel->load()) {
                    *cancelled = true;
                    return compiled;
                }
                if (budget > 0 && (stored_bytes >= budget || stored_bytes + next_bytes > budget)) {
                    *budget_full = true;
                    return compiled;
                }
                auto chunk = lib->chunk(cid);
                if (!chunk) continue;
                const chunk_spec spec = spec_for(params.policy, w.title, chunk->page_begin, chunk->text);
                if (spec.tokens.empty()) continue;
                const cache_lookup got = cache_for(spec.tokens, spec.opts);
                const bool was_compiled = got.source == cache_source::compiled;
                if (was_compiled && got.stored) {
                    stored_bytes += got.stored_bytes;
                    next_bytes = got.stored_bytes;
                    if (budget > 0 && stored_bytes > budget) {
                        // Larger than the estimate: this cache (no question used it yet) goes again, so
                        // a background fill never leaves the store over its budget.
                        store->evict(got.key);
                        *budget_full = true;
                        return compiled;
                    }
                }
                if (was_compiled && !got.stored) {
                    // No room for caches: the documents are indexed and answerable (their chunks are
                    // compiled when asked about); compiling the rest now would only be thrown away.
                    problems.push_back("compiling stopped: chunk caches cannot be stored; they will be compiled when asked about");
                    return compiled;
                }
                lib->link_chunk_kv(cid, fp, got.key);
                compiled += was_compiled;
                tokens_done += spec.tokens.size() + (size_t)spec.opts.n_sink;
                ++pr.chunks_done;
                pr.tokens_per_second = tokens_done / std::max(1e-9, seconds_since(t0));
                if (progress) progress(pr);
            }
            lib->set_status(w.document_id, storage::doc_status::ready);
            ++pr.documents_done;
            if (progress) progress(pr);
        }
        return compiled;
    }
};

service::service(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
service::~service() = default;

result<std::unique_ptr<service>> service::open(const service_params& params) {
    return guarded([&] {
        auto p = std::make_unique<impl>();
        p->params = params;
        if (params.library_dir.empty()) throw error("no library folder given");
        const auto db_file = params.library_dir / "library.db";
        if (params.create_library) {
            check_index_not_lost(params.library_dir);
            std::filesystem::create_directories(params.library_dir);
        } else if (!std::filesystem::is_directory(params.library_dir)) {
            throw error(params.library_dir.string() + ": no library here (add documents to create one)");
        }
        storage::sqlite::open_options oo;
        oo.create = params.create_library;
        p->lib = std::make_unique<storage::library>(db_file, oo);
        storage::kv_store_options so;
        so.encode.zstd_level = params.zstd_level;
        impl* raw = p.get();
        so.on_problem = [raw](const storage::kv_problem& pr) {
            raw->problems.push_back(pr.problem + (pr.removed ? "; removed, recompiled" : "; recompiled (the bad file could not be removed)"));
        };
        p->store = std::make_unique<storage::kv_store>(*p->lib, params.library_dir / "kv", so);
        p->ret = std::make_unique<retriever>(*p->lib, params.retrieval, params.embedder_dir, params.backend.n_threads);
        if (params.loaded_model) p->shared = params.loaded_model;
        else if (!params.model_path.empty()) p->shared = shared_model::load(params.model_path, params.backend, service_working_set(params));
        if (p->shared) {
            p->mdl = &p->shared->get_model();
            p->tok = &p->shared->get_tokenizer();
            p->tf = &p->shared->get_transformer();
            // memory_info is a thread-safe query; the tier allocates only inside a link (under a turn).
            if (const size_t budget = hot_tier_budget(params, p->tf->get_backend()); budget > 0)
                p->hot = std::make_unique<kv_hot_tier>(p->tf->get_backend(), budget);
            p->lk = std::make_unique<linker>(*p->tf, p->hot.get());
            p->tmpl = params.chat_template == "auto" ? chat_template_for(*p->mdl) : chat_template_named(params.chat_template);
            p->tmpl.stop_tokens(*p->tok, *p->mdl); // fails now, not at the first question, if the vocabulary lacks them
        }
        return std::unique_ptr<service>(new service(std::move(p)));
    });
}

bool service::has_model() const { return impl_->mdl != nullptr; }
std::string service::backend_name() const { return impl_->shared ? impl_->shared->backend_name() : std::string(); }
std::shared_ptr<shared_model> service::loaded_model() const { return impl_->shared; }
std::string service::chat_template_name() const { return impl_->mdl ? impl_->tmpl.name : std::string(); }
const model* service::get_model() const { return impl_->mdl; }
std::string service::model_fingerprint() const { return impl_->mdl ? impl_->mdl->fingerprint() : std::string(); }
retrieval_mode service::retrieval() const { return impl_->ret->mode(); }

result<add_report> service::add(const std::vector<std::filesystem::path>& paths,
                                const std::function<void(const add_progress&)>& progress, const std::atomic<bool>* cancel) {
    auto res = guarded([&] {
        add_report rep;
        impl_->require_model();
        storage::ingest_options io;
        io.chunking.target_tokens = impl_->params.chunk_tokens;
        const tokenizer* tok = impl_->tok;
        io.count_tokens = [tok](std::string_view t) { return (int)tok->encode(t, false).size(); };
        auto on_ingest = [&](const storage::ingest_progress& ip) {
            if (!progress) return;
            add_progress ap;
            ap.phase = "extracting";
            ap.current = ip.current;
            ap.documents_done = ip.documents_done;
            ap.documents_total = ip.documents_total;
            progress(ap);
        };
        const storage::ingest_report ir = storage::add_paths(*impl_->lib, paths, io, on_ingest, cancel);
        rep.added = ir.added;
        rep.updated = ir.updated;
        rep.unchanged = ir.unchanged;
        rep.failed = ir.failed;
        rep.skipped = ir.skipped;
        rep.cancelled = ir.cancelled;
        for (const auto& f : ir.failures) rep.failures.emplace_back(f.path, f.error);
        for (const auto& f : ir.skips) rep.skips.emplace_back(f.path, f.error);
        if (rep.updated > 0) {
            // The old versions' caches lost their chunks: collect them now rather than let them pile up.
            storage::gc_options go;
            go.drop_unlinked_entries = true;
            impl_->store->gc(go);
        }
        // Vectors for dense retrieval: quick next to compiling (a few ms a chunk), so always at add.
        if (!rep.cancelled && impl_->ret->has_embedder()) {
            add_progress ap;
            ap.phase = "embedding";
            rep.chunks_embedded = impl_->ret->embed_missing(
                [&](size_t done, size_t total) {
                    if (!progress) return;
                    ap.chunks_done = done;
                    ap.chunks_total = total;
                    progress(ap);
                },
                cancel);
            if (cancel && cancel->load()) rep.cancelled = true;
        }
        // Compile on demand: the documents are indexed and answerable; questions compile what they
        // retrieve, compile_pending the rest.
        if (!rep.cancelled && impl_->params.compile_on_add) rep.chunks_compiled = impl_->compile_missing(progress, cancel, &rep.cancelled);
        if (impl_->params.cache_budget_bytes > 0) impl_->store->enforce_budget(impl_->params.cache_budget_bytes);
        rep.warnings = impl_->take_problems();
        return rep;
    });
    if (!res) impl_->problems.clear(); // they belong to the failed add, not to the next call's warnings
    return res;
}

result<compile_report> service::compile_pending(const std::function<void(const add_progress&)>& progress,
                                                const std::atomic<bool>* cancel) {
    impl_->problems.clear(); // what earlier calls left unreported belongs to them
    return guarded([&] {
        compile_report rep;
        impl_->require_model();
        rep.chunks_compiled = impl_->compile_missing(progress, cancel, &rep.cancelled, &rep.budget_full);
        rep.chunks_left = impl_->pending_chunks();
        rep.warnings = impl_->take_problems();
        return rep;
    });
}

result<size_t> service::chunks_pending() {
    return guarded([&] {
        impl_->require_model();
        return impl_->pending_chunks();
    });
}

result<ask_result> service::ask(const std::string& question, const ask_options& options, const token_callback& on_token,
                                const std::atomic<bool>* cancel) {
    impl_->problems.clear();  // what earlier calls left unreported belongs to them
    return guarded([&] {
        ask_result res;
        impl_->require_model();
        impl& m = *impl_;
        const auto t_start = clock_type::now();
        auto t0 = clock_type::now();
        const auto hits = m.ret->search(question, std::max(0, options.top_n), &m.problems);
        res.timing.retrieve_seconds = seconds_since(t0);

        // The model's context bounds one ask: the instructions, the question and the answer first, then
        // the retrieved chunks, best first, while they fit (a 100 KB question is refused in words, not
        // linked into rows the model was never trained on).
        const std::vector<int32_t> question_tokens = m.tmpl.question_segment(*m.tok, *m.mdl, question);
        const int n_ctx = m.params.context_tokens > 0 ? m.params.context_tokens : m.mdl->config().n_ctx_train;
        const int system_rows = (int)m.system_prompt_cache().tokens.size();
        const int fixed_rows = system_rows + (int)question_tokens.size();
        int answer_tokens = std::max(1, options.generation.max_tokens);
        int chunk_budget = std::numeric_limits<int>::max();
        if (n_ctx > 0) {
            if (fixed_rows + 1 > n_ctx)
                throw error("the question is " + std::to_string(question_tokens.size()) + " tokens; the model's context of " +
                            std::to_string(n_ctx) + " tokens leaves room for at most " +
                            std::to_string(std::max(0, n_ctx - system_rows - 1)) + " after the instructions");
            if (fixed_rows + answer_tokens > n_ctx) {
                answer_tokens = n_ctx - fixed_rows;
                m.problems.push_back("the answer is limited to " + std::to_string(answer_tokens) +
                                     " tokens by the model's context of " + std::to_string(n_ctx) + " tokens");
            }
            chunk_budget = n_ctx - fixed_rows - answer_tokens;
        }
        int left_out = 0;

        // Caches of the retrieved chunks, compiled under the policy's scheme; the library's own
        // scheme's caches are recorded as the chunks' caches.
        const bool library_scheme = options.policy.same_compile_scheme(m.params.policy);
        std::vector<chunk_cache> caches;
        caches.reserve(hits.size());
        for (const auto& h : hits) {
            const impl::chunk_spec spec = m.spec_for(options.policy, impl::title_of(h.document_title, h.document_path), h.page_begin, h.text);
            if (spec.tokens.empty()) continue;
            const int rows = (int)spec.tokens.size() + spec.opts.n_sink;
            if (rows > chunk_budget) {
                ++left_out;
                continue;
            }
            chunk_budget -= rows;
            impl::cache_lookup got = m.cache_for(spec.tokens, spec.opts, true);
            res.timing.load_seconds += got.load_seconds;
            res.timing.compile_seconds += got.compile_seconds;
            res.timing.chunks_compiled += got.source == impl::cache_source::compiled;
            res.timing.chunks_loaded += got.source == impl::cache_source::loaded;
            caches.push_back(std::move(got.cache));
            if (library_scheme && got.stored) m.lib->link_chunk_kv(h.chunk_id, m.mdl->fingerprint(), got.key);
            answer_source s;
            s.document_id = h.document_id;
            s.chunk_id = h.chunk_id;
            s.document_path = h.document_path;
            s.document_title = h.document_title;
            s.page_begin = h.page_begin;
            s.page_end = h.page_end;
            s.score = h.score;
            s.text = h.text;
            res.sources.push_back(std::move(s));
        }

        // System prompt (cached exact prefix), chunks with the best one nearest the question, question.
        link_input in;
        in.system = &m.system_prompt_cache();
        for (auto it = caches.rbegin(); it != caches.rend(); ++it) in.chunks.push_back(&*it);
        if (left_out > 0)
            m.problems.push_back(std::to_string(left_out) + " of " + std::to_string(hits.size()) +
                                 " retrieved chunks left out to fit the model's context of " + std::to_string(n_ctx) + " tokens");
        in.question = question_tokens;
        // Linking and decoding run on the shared transformer: one turn, handed back between tokens so
        // another service's compile can run (declared before lr so the KV cache is freed inside it).
        shared_model::turn turn(*m.shared);
        t0 = clock_type::now();
        link_result lr = m.lk->link(in, options.policy, answer_tokens + 1);
        res.timing.link_seconds = seconds_since(t0);
        res.link = lr.stats;
        res.timing.rows_total = lr.stats.n_rows;
        res.timing.rows_recomputed = lr.stats.recomputed_rows();
        res.timing.rows_reused = lr.stats.n_rows - lr.stats.recomputed_rows();
        res.timing.chunks_resident = lr.stats.chunks_resident;
        res.timing.chunks_staged = lr.stats.chunks_staged;

        generator gen(*m.tf, *m.tok);
        generation_params gp = options.generation;
        gp.max_tokens = answer_tokens;
        for (int32_t t : m.tmpl.stop_tokens(*m.tok, *m.mdl)) gp.stop_tokens.push_back(t);
        bool first = true;
        auto forward_token = [&](int32_t id, const std::string& piece) {
            if (first) {
                res.timing.first_token_seconds = seconds_since(t_start);
                first = false;
            }
            if (cancel && cancel->load()) return false;
            if (on_token && !on_token(id, piece)) return false;
            turn.yield();
            return !(cancel && cancel->load());
        };
        const generation_result g = gen.continue_from(*lr.kv, lr.logits, gp, forward_token);
        if (first) res.timing.first_token_seconds = seconds_since(t_start);
        res.answer = g.text;
        res.cancelled = g.cancelled;
        std::vector<std::string_view> texts;
        for (const auto& s : res.sources) texts.push_back(s.text);
        const auto support = answer_support_of(question, res.answer, texts);
        for (size_t i = 0; i < res.sources.size(); ++i) res.sources[i].used = support[i].used;
        if (g.tokens.size() > 1 && g.decode_seconds > 0) res.timing.decode_tokens_per_second = (g.tokens.size() - 1) / g.decode_seconds;
        if (m.params.cache_budget_bytes > 0) m.store->enforce_budget(m.params.cache_budget_bytes);
        res.warnings = m.take_problems();
        return res;
    });
}

result<std::vector<storage::document_record>> service::documents() {
    return guarded([&] { return impl_->lib->documents(); });
}

result<void> service::remove_document(int64_t id) {
    return guarded([&] {
        if (!impl_->lib->remove_document(id)) throw error("no document with id " + std::to_string(id));
        storage::gc_options go;
        go.drop_unlinked_entries = true;
        impl_->store->gc(go);
    });
}

result<void> service::recompile_document(int64_t id) {
    return guarded([&] {
        impl_->require_model();
        impl& m = *impl_;
        const auto doc = m.lib->document(id);
        if (!doc) throw error("no document with id " + std::to_string(id));
        const std::string fp = m.mdl->fingerprint();
        m.lib->set_status(id, storage::doc_status::compiling);
        for (const auto& c : m.lib->chunks_of(id)) {
            const impl::chunk_spec spec = m.spec_for(m.params.policy, impl::title_of(doc->title, doc->path), c.page_begin, c.text);
            if (spec.tokens.empty()) continue;
            const std::string key = chunk_cache_key(fp, spec.tokens, spec.opts);
            m.store->evict(key);
            (void)m.cache_for(spec.tokens, spec.opts);
            m.lib->link_chunk_kv(c.id, fp, key);
        }
        m.lib->set_status(id, storage::doc_status::ready);
    });
}

result<std::vector<storage::kv_entry>> service::cache_entries() {
    return guarded([&] { return impl_->store->entries(); });
}

result<std::vector<cache_entry_info>> service::cache_entry_infos() {
    return guarded([&] {
        std::vector<cache_entry_info> out;
        std::unordered_map<std::string, storage::kv_entry_shape> shapes;
        for (auto& sh : impl_->lib->kv_entry_shapes()) shapes.emplace(sh.cache_key, std::move(sh));
        std::unordered_map<std::string, storage::kv_entry_owner> owners;
        for (auto& o : impl_->lib->kv_entry_owners()) owners.emplace(o.cache_key, std::move(o));
        for (auto& e : impl_->store->entries()) {
            cache_entry_info i;
            try {
                i.format = std::string(kv_format_name(compile_options::parse(e.compile_options, e.cache_key).format));
            } catch (const std::exception&) {
                i.format = "?"; // written by another version: listed, never linked (its key is not ours)
            }
            if (const auto it = shapes.find(e.cache_key); it != shapes.end() && it->second.rows > 0 && it->second.decoded_bytes > 0) {
                i.rows = it->second.rows;
                i.decoded_bytes = (uint64_t)it->second.decoded_bytes;
            }
            if (const auto it = owners.find(e.cache_key); it != owners.end()) {
                i.document_id = it->second.document_id;
                i.document_name = it->second.document_name;
            }
            i.entry = std::move(e);
            out.push_back(std::move(i));
        }
        return out;
    });
}

result<cache_summary> service::cache_stats() {
    return guarded([&] {
        cache_summary s;
        const auto st = impl_->store->stats();
        s.entries = st.count;
        s.pinned = st.pinned;
        s.raw_bytes = st.raw_bytes;
        s.compressed_bytes = st.compressed_bytes;
        s.budget_bytes = impl_->params.cache_budget_bytes;
        std::map<std::string, cache_format_totals> totals;
        for (const auto& i : cache_entry_infos().value()) {
            cache_format_totals& t = totals[i.format];
            t.format = i.format;
            ++t.entries;
            t.compressed_bytes += i.entry.compressed_bytes;
            if (i.rows > 0) {
                ++t.entries_recorded;
                t.rows += i.rows;
                t.recorded_compressed_bytes += i.entry.compressed_bytes;
                t.decoded_bytes += i.decoded_bytes;
            }
        }
        for (auto& [name, t] : totals) s.by_format.push_back(std::move(t));
        return s;
    });
}

result<void> service::pin(const std::string& key, bool pinned) {
    return guarded([&] {
        if (!impl_->store->pin(key, pinned)) throw error("no cache entry " + key);
    });
}

result<void> service::evict(const std::string& key) {
    return guarded([&] {
        if (!impl_->store->evict(key)) throw error("no cache entry " + key);
    });
}

result<std::vector<std::string>> service::verify() {
    return guarded([&] {
        std::vector<std::string> out;
        for (const auto& p : impl_->store->verify(true))
            out.push_back(p.problem + (p.removed ? "; removed, recompiled when next needed"
                                                 : "; could not be removed (read-only folder?)"));
        return out;
    });
}

result<std::string> service::gc() {
    return guarded([&] {
        // Caches no chunk links to (documents removed or updated, other link schemes' ask-time caches)
        // go too unless pinned: they are recompiled if ever needed again.
        storage::gc_options go;
        go.drop_unlinked_entries = true;
        const auto r = impl_->store->gc(go);
        return std::to_string(r.orphan_files_removed) + " orphan files, " + std::to_string(r.temp_files_removed) +
               " temporary files, " + std::to_string(r.unlinked_entries_removed) + " caches no chunk uses and " +
               std::to_string(r.rows_removed) + " entries without a file removed; " +
               std::to_string(r.bytes_freed) + " bytes freed";
    });
}

result<size_t> service::enforce_budget() {
    return guarded([&]() -> size_t {
        if (impl_->params.cache_budget_bytes == 0) return 0;
        return impl_->store->enforce_budget(impl_->params.cache_budget_bytes).evicted.size();
    });
}

} // namespace epic
