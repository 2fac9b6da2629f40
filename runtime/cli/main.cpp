// epic: the headless face of EPIC desktop.
//
// Every command's options are declared here, once, with CLI11: their names, help, defaults (the
// values in commands.h's structs), ranges and which are required. `epic --help`, `epic CMD --help`
// and the usage printed on a wrong command line are made from these declarations, so the usage
// text cannot drift from what the parser accepts. Of epic's sources only this file includes CLI11
// (through cli/option_checks.h; it is heavy to compile): the commands receive plain structs.
#include "cli/commands.h"
#include "cli/option_checks.h"
#include "cli/printable.h"
#include "common/error.h"
#include "pic/kv_quant.h"

#include <climits>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <string>

namespace epic::cli {
namespace {

constexpr int max_tokens = 1 << 20;

// The action the parsed command line chose: set by the chosen command's callback, run after
// parsing, so a failure of the command is never mistaken for a parse error.
using action = std::function<int()>;

// A command that runs `cmd` on the options it declares into the returned struct (owned by the callback).
template <class Args>
Args& command(CLI::App& sub, action& chosen, int (*cmd)(const Args&)) {
    auto args = std::make_shared<Args>();
    sub.callback([&chosen, args, cmd] { chosen = [args, cmd] { return cmd(*args); }; });
    return *args;
}

// --- option groups shared by several commands ---------------------------------------------------

void add_model_option(CLI::App& c, session_options& o) {
    c.add_option("--model", o.model,
                 "the model, a GGUF file (default: the recommended model of `epic paths`, else another one listed there)")
        ->type_name("FILE");
}

// The commands that run a model.
void add_session_options(CLI::App& c, session_options& o) {
    add_model_option(c, o);
    c.add_option("--threads", o.threads, "CPU threads (default: $EPIC_THREADS, else the backend's)")->check(whole_in(1, 1024));
    c.add_option("--device", o.device, "auto|cpu|cuda (default: $EPIC_DEVICE, else auto)");
}

// The commands that tokenize a text: tokenize, generate.
void add_bos_flags(CLI::App& c, bos_choice& o) {
    c.add_flag("--no-bos", o.no_bos, "no BOS token (default: as the model says)");
    c.add_flag("--bos", o.bos, "a BOS token first");
}

// The library commands: add, compile, ask, docs, cache.
void add_library_options(CLI::App& c, library_options& o) {
    const std::string group = "Library options";
    c.add_option("--library", o.library,
                 "the library folder (default: the one shared with epic-desktop, "
                 "$XDG_DATA_HOME/epic-desktop/library)")
        ->type_name("DIR")
        ->group(group);
    add_session_options(c, o);
    for (const char* name : {"--model", "--threads", "--device"}) c.get_option(name)->group(group);
    c.add_option("--chunk-tokens", o.chunk_tokens, "tokens per chunk when documents are split (default: the library's)")
        ->check(whole_in(16, 1 << 14))
        ->group(group);
    c.add_option("--budget-mb", o.budget_mb, "disk budget of the chunk caches in MiB (default: none)")
        ->check(number_in(0.0, 1e9))
        ->group(group);
    c.add_option("--gpu-cache-mib", o.gpu_cache_mib, "GPU hot tier of chunk caches in MiB (default: automatic; 0: off)")
        ->check(number_in(0.0, 1e9))
        ->group(group);
    c.add_option("--retrieval", o.retrieval,
                 "bm25|dense|hybrid: search by words (BM25), by meaning (the embedding model's vectors) or both fused "
                 "(default: hybrid); dense and hybrid need the embedding model (get-models.sh minilm), else questions "
                 "search by words and say so")
        ->group(group);
    c.add_option("--embedder", o.embedder, "the embedding model's folder (default: the installed one)")
        ->type_name("DIR")
        ->group(group);
}

// The commands that compile or link chunk caches: add, compile, ask.
void add_kv_format_option(CLI::App& c, library_options& o) {
    c.add_option("--kv-format", o.kv_format,
                 "f16|q8|k8v4|q4: how chunk caches are stored (default: k8v4); caches of another format are stale: "
                 "compiled again when needed, never linked with this one")
        ->group("Library options");
}

const char* algo_help = "link algorithm: full, naive, legolink-K, legolink-0, cacheblend-R, each optionally followed by the "
                        "designs +ctx +hdr +tail-J +last-N +q-F +qc-F +ape-T (README, \"Link designs\")";

// --- the commands ---------------------------------------------------------------------------------

void declare_library_commands(CLI::App& app, action& chosen) {
    {
        auto* c = app.add_subcommand("add", "add files and folders: extract, chunk, index and compile their KV caches");
        auto& a = command(*c, chosen, &cmd_add);
        add_library_options(*c, a.lib);
        add_kv_format_option(*c, a.lib);
        c->add_option("PATH", a.paths, "files and folders to add")->required();
        c->add_flag("--no-compile", a.no_compile,
                    "only extract, chunk and index; a chunk is compiled when a question first retrieves it, or by epic compile");
        c->add_flag("--quiet", a.quiet, "no progress lines");
    }
    {
        auto* c = app.add_subcommand("compile",
                                     "compile the caches the library's chunks lack (added with --no-compile, stale after a "
                                     "format change, evicted); stops before the budget would be exceeded; Ctrl-C stops "
                                     "after the chunk in hand");
        auto& a = command(*c, chosen, &cmd_compile);
        // Not an option: caught so that `epic compile FILE` says what compile does instead of
        // "argument was not expected".
        c->add_option("PATH", a.paths)->group("");
        add_library_options(*c, a.lib);
        add_kv_format_option(*c, a.lib);
        c->add_flag("--quiet", a.quiet, "no progress lines");
    }
    {
        auto* c = app.add_subcommand("ask", "answer a question from the library; prints the answer, then its sources");
        auto& a = command(*c, chosen, &cmd_ask);
        add_library_options(*c, a.lib);
        add_kv_format_option(*c, a.lib);
        c->add_option("QUESTION", a.question, "the question, one argument (quote it)")->required()->type_name("TEXT");
        c->add_option("--algo", a.algo, algo_help)->capture_default_str();
        c->add_option("--top", a.top, "chunks to retrieve")->check(whole_in(1, 256))->capture_default_str();
        c->add_option("--tokens", a.tokens, "answer length at most, tokens")->check(whole_in(1, max_tokens))->capture_default_str();
        c->add_option("--temp", a.temp, "sampling temperature (0: greedy)")->check(number_in(0.0, 100.0))->capture_default_str();
        c->add_option("--seed", a.seed, "sampling seed")->check(whole_in(0, INT_MAX))->capture_default_str();
        c->add_option("--ctx", a.ctx, "rows one ask may link (0: the model's context length)")
            ->check(whole_in(0, max_tokens))
            ->capture_default_str();
        c->add_flag("--no-sources", a.no_sources, "print the answer only");
    }
    {
        auto* docs = app.add_subcommand("docs", "list or remove documents");
        docs->require_subcommand(1);
        auto* ls_cmd = docs->add_subcommand("ls", "list the library's documents");
        auto& ls = command(*ls_cmd, chosen, &cmd_docs);
        ls.what = "ls";
        add_library_options(*ls_cmd, ls.lib);
        auto* rm_cmd = docs->add_subcommand("rm", "remove documents and their chunks");
        auto& rm = command(*rm_cmd, chosen, &cmd_docs);
        rm.what = "rm";
        add_library_options(*rm_cmd, rm.lib);
        rm_cmd->add_option("ID", rm.operands, "document ids (see epic docs ls)")->required();
    }
    {
        auto* cache = app.add_subcommand("cache", "the library's chunk caches");
        cache->require_subcommand(1);
        struct sub {
            const char* name;
            const char* description;
            bool takes_keys;
        };
        for (const sub& s : {sub{"ls", "each cache: format, rows, bytes on disk per token, ratio of f16 K/V bytes to bytes on disk", false},
                             sub{"stats", "totals per format: entries, bytes on disk per token, ratio", false},
                             sub{"evict", "remove caches (with --budget-mb and no keys: evict until the budget fits)", true},
                             sub{"pin", "keep caches from eviction", true},
                             sub{"unpin", "let caches be evicted again", true},
                             sub{"verify", "check every cache's checksum (exit 3 when any is bad)", false},
                             sub{"gc", "remove files no entry refers to", false}}) {
            auto* c = cache->add_subcommand(s.name, s.description);
            auto& a = command(*c, chosen, &cmd_cache);
            a.what = s.name;
            add_library_options(*c, a.lib);
            if (s.takes_keys) c->add_option("KEY", a.operands, "cache keys (see epic cache ls)");
        }
    }
}

void declare_model_commands(CLI::App& app, action& chosen) {
    {
        auto* c = app.add_subcommand("info", "architecture, sizes, tensor types, context length, the backend it would run on");
        add_session_options(*c, command(*c, chosen, &cmd_info).session);
    }
    {
        auto* c = app.add_subcommand("tokenize", "token ids, space-separated, one line");
        auto& a = command(*c, chosen, &cmd_tokenize);
        add_model_option(*c, a.session);
        c->add_option("--text", a.text, "the text (an empty one is a text)")->required();
        add_bos_flags(*c, a.bos);
    }
    {
        auto* c = app.add_subcommand("generate", "generate text from a prompt");
        auto& a = command(*c, chosen, &cmd_generate);
        add_session_options(*c, a.session);
        c->add_option("--prompt", a.prompt, "the prompt")->required();
        c->add_option("--tokens", a.tokens, "tokens to generate at most")->check(whole_in(1, max_tokens))->capture_default_str();
        c->add_option("--temp", a.temp, "sampling temperature (0: greedy)")->check(number_in(0.0, 100.0))->capture_default_str();
        c->add_option("--top-k", a.top_k, "sample from the K likeliest tokens (0: off)")->check(whole_in(0, 1 << 24))->capture_default_str();
        c->add_option("--top-p", a.top_p, "nucleus sampling (1: off)")->check(number_in(0.0, 1.0))->capture_default_str();
        c->add_option("--min-p", a.min_p, "keep tokens with p >= P * p_max (0: off)")->check(number_in(0.0, 1.0))->capture_default_str();
        c->add_option("--seed", a.seed, "sampling seed")->check(number_in(0.0, 9007199254740992.0))->capture_default_str();
        c->add_option("--ctx", a.ctx, "context rows (default: the prompt and --tokens)")->check(whole_in(1, max_tokens));
        add_bos_flags(*c, a.bos);
        c->add_flag("--quiet", a.quiet, "no timing line");
    }
    {
        auto* c = app.add_subcommand("perplexity", "perplexity over consecutive windows of --ctx tokens");
        auto& a = command(*c, chosen, &cmd_perplexity);
        add_session_options(*c, a.session);
        c->add_option("--file", a.file, "the text file")->required();
        c->add_option("--ctx", a.ctx, "tokens per window")->check(whole_in(2, max_tokens))->capture_default_str();
    }
    {
        auto* c = app.add_subcommand("link", "compile each file as one chunk, link them with an algorithm, answer");
        auto& a = command(*c, chosen, &cmd_link);
        add_session_options(*c, a.session);
        c->add_option("--chunk", a.chunks, "a text file compiled as one chunk (repeat for more)")->required()->type_name("FILE");
        c->add_option("--question", a.question, "the question")->required();
        c->add_option("--algo", a.algo, algo_help)->capture_default_str();
        c->add_option("--tokens", a.tokens, "answer length at most, tokens")->check(whole_in(1, max_tokens))->capture_default_str();
        c->add_option("--system", a.system, "text of the system segment before the chunks");
        c->add_option("--temp", a.temp, "sampling temperature (0: greedy)")->check(number_in(0.0, 100.0))->capture_default_str();
        c->add_option("--seed", a.seed, "sampling seed")->check(whole_in(0, INT_MAX))->capture_default_str();
    }
    {
        auto* c = app.add_subcommand("make-model", "write a random-weight GGUF (tests, benchmarks)");
        auto& a = command(*c, chosen, &cmd_make_model);
        c->add_option("--out", a.out, "the GGUF file to write")->required();
        c->add_option("--shape", a.shape, "tiny|tiny-gemma3|tinyllama|llama2-7b")->capture_default_str();
        c->add_option("--type", a.type, "tensor type: f32|f16|bf16|q8_0|q4_0|q4_K|q5_K|q6_K (default: the shape's)");
        c->add_option("--embd-type", a.embd_type, "tensor type of the token embeddings (default: --type)");
        c->add_option("--seed", a.seed, "weight seed")->check(whole_in(0, INT_MAX))->capture_default_str();
        c->add_option("--layers", a.layers, "layers (default: the shape's)")->check(whole_in(1, 256));
        c->add_option("--vocab", a.vocab, "vocabulary size (default: the shape's)")->check(whole_in(16, 1 << 20));
        c->add_flag("--tied", a.tied, "the output matrix is the token embeddings");
    }
    {
        auto* c = app.add_subcommand("paths", "where the library, models, settings and resources are");
        command(*c, chosen, &cmd_paths);
    }
}

void declare_bench_commands(CLI::App& app, action& chosen) {
    auto* bench = app.add_subcommand("bench", "benchmarks: throughput, linking, question answering, KV caches, retrieval");
    bench->require_subcommand(1);
    for (const auto& [name, tokens, what] : {std::tuple{"prefill", 512, "prompt throughput of the forward pass on random tokens"},
                                             std::tuple{"decode", 64, "decoding throughput of the forward pass"}}) {
        auto* c = bench->add_subcommand(name, what);
        auto& a = command(*c, chosen, &cmd_bench_throughput);
        a.what = name;
        a.tokens = tokens;
        add_session_options(*c, a.session);
        c->add_option("--tokens", a.tokens, "tokens per run")->check(whole_in(1, max_tokens))->capture_default_str();
        c->add_option("--runs", a.runs, "timed runs (the median is shown)")->check(whole_in(1, 1000))->capture_default_str();
    }
    {
        auto* c = bench->add_subcommand("link", "time to first token and accuracy against full recompute, per algorithm");
        auto& a = command(*c, chosen, &cmd_bench_link);
        add_session_options(*c, a.session);
        c->add_option("--chunks", a.chunks, "chunks per link")->check(whole_in(1, 4096))->capture_default_str();
        c->add_option("--chunk-tokens", a.chunk_tokens, "tokens per chunk")->check(whole_in(1, 1 << 16))->capture_default_str();
        c->add_option("--question-tokens", a.question_tokens, "tokens of the question")->check(whole_in(1, 1 << 16))->capture_default_str();
        c->add_option("--algos", a.algos, "algorithms, comma-separated (full is added as the reference)")->capture_default_str();
        c->add_option("--runs", a.runs, "timed runs (the median is shown)")->check(whole_in(1, 1000))->capture_default_str();
        c->add_option("--continuation", a.continuation, "tokens compared along the continuation")
            ->check(whole_in(1, 1 << 16))
            ->capture_default_str();
        c->add_option("--source", a.source, "random|generated: the chunks' tokens")
            ->check(CLI::IsMember({"random", "generated"}))
            ->capture_default_str();
        c->add_option("--seed", a.seed, "token seed")->check(whole_in(0, INT_MAX))->capture_default_str();
        c->add_option("--system", a.system, "text of the system segment (default: the chat template's with the QA instruction)");
        c->add_flag("--resident", a.resident, "chunk caches in a hot tier, warmed by one link first; the runs read it");
        c->add_option("--gpu-cache-mib", a.gpu_cache_mib, "the hot tier's size with --resident (default: room for every cache)")
            ->check(number_in(0.0, 1e9));
    }
    {
        auto* c = bench->add_subcommand("qa",
                                        "question-answering accuracy (exact / contains), rows recomputed, time to first token "
                                        "(seeded sets: epic-make-qa-set in a build tree, tools/make_qa_set)");
        auto& a = command(*c, chosen, &cmd_bench_qa);
        add_session_options(*c, a.session);
        c->add_option("--set", a.set, "the question set")->required()->type_name("FILE.jsonl");
        c->add_option("--algos", a.algos, "algorithms, comma-separated")->capture_default_str();
        c->add_option("--limit", a.limit, "questions at most (default: all)")->check(whole_in(0, INT_MAX));
        c->add_option("--tokens", a.tokens, "answer length at most, tokens")->check(whole_in(1, 1 << 16))->capture_default_str();
        c->add_flag("--verbose", a.verbose, "each answer on stderr");
        c->add_option("--template", a.chat_template, "chat template by name (default: the model's)");
        c->add_option("--system", a.system, "the instruction in the system segment (default: answer in a few words)");
        c->add_option("--report-every", a.report_every, "print the table every N questions (0: at the end)")
            ->check(whole_in(0, INT_MAX))
            ->capture_default_str();
        c->add_option("--reference", a.reference, "the algorithm others are compared with (default: the first full)");
        c->add_option("--markdown", a.markdown, "also write the table as Markdown to this file");
        c->add_option("--kv-groups", a.kv_groups, "quantized methods once per group size, comma-separated (even, 2..4096)");
        c->add_option("--kv-parts", a.kv_parts, "quantize kv|k|v|k8, comma-separated: which of K and V a format's cost comes from");
        c->add_option("--oracle", a.oracle, "gold,others: each method again with those chunks recomputed in full");
        c->add_option("--order", a.order, "retrieval|set: documents ranked as the service lays them out, or the set's order")
            ->check(CLI::IsMember({"retrieval", "set"}))
            ->capture_default_str();
    }
    {
        auto* c = bench->add_subcommand("kv", "KV blob compression, load from disk (cold/warm) vs recompute, retrieval latency");
        auto& a = command(*c, chosen, &cmd_bench_kv);
        add_session_options(*c, a.session);
        c->add_option("--chunks", a.chunks, "chunks")->check(whole_in(1, 4096))->capture_default_str();
        c->add_option("--chunk-tokens", a.chunk_tokens, "tokens per chunk")->check(whole_in(1, 1 << 16))->capture_default_str();
        c->add_option("--search-chunks", a.search_chunks, "chunks in the retrieval timing")
            ->check(whole_in(1, 10000000))
            ->capture_default_str();
        c->add_option("--runs", a.runs, "timed runs")->check(whole_in(1, 1000))->capture_default_str();
        c->add_option("--dir", a.dir, "where the blobs are written (default: a temporary folder)");
        c->add_option("--formats", a.formats, "cache formats, comma-separated")->capture_default_str();
        c->add_option("--group", a.group, "quantization group, even (default: " + std::to_string(kv_quant_group) + ")")
            ->check(whole_in(2, 4096));
        c->add_option("--v-axis", a.v_axis, std::string("axis V is quantized along (default: ") + kv_quant_axis_name(kv_quant_v_axis) + ")");
        c->add_option("--text", a.text, "tokens of this file or folder's text instead of random ones");
        c->add_option("--dump", a.dump, "write the compiled f16 K and V, one raw file per chunk, layer and tensor, here");
    }
    {
        auto* c = bench->add_subcommand("retrieval",
                                        "recall@1/4/8 and MRR per retrieval, ms per query (tests/bench/retrieval/"
                                        "sample-library.jsonl with --docs resources/sample-library; QA sets pool their documents)");
        auto& a = command(*c, chosen, &cmd_bench_retrieval);
        c->add_option("--set", a.set, "the question set")->type_name("FILE.jsonl");
        c->add_option("--docs", a.docs, "the folder the set's document paths are relative to");
        c->add_option("--modes", a.modes, "retrieval modes, comma-separated")->capture_default_str();
        c->add_option("--embedder", a.embedder, "the embedding model's folder (default: the installed one)");
        c->add_option("--chunk-words", a.chunk_words, "chunk size (default: the library's)")->check(whole_in(16, 1 << 14));
        c->add_option("--markdown", a.markdown, "also write the table as Markdown to this file");
        c->add_option("--search-chunks", a.search_chunks, "time searches over these many chunks, comma-separated (e.g. 10000,100000)");
        c->add_option("--threads", a.threads, "embedding threads (0: automatic)")->check(whole_in(0, 1024))->capture_default_str();
        c->add_flag("--misses", a.misses, "each question whose document is not in the top 8, on stderr");
        c->add_option("--bm25-weight", a.bm25_weight, "weight of BM25 in the hybrid fusion")->check(number_in(0.0, 100.0));
        c->add_option("--qa-out", a.qa_out, "write each mode's retrieved chunks as a QA set, PREFIX-MODE.jsonl")->type_name("PREFIX");
    }
}

std::string version_text() {
    std::string v = std::string("epic ") + EPIC_VERSION + "\n";
#ifdef EPIC_HAVE_CUDA
    v += "backends: cpu, cuda";
#else
    v += "backends: cpu (built without the CUDA backend)";
#endif
    return v;
}

const char* footer =
    "defaults: --library is the library shared with epic-desktop, $XDG_DATA_HOME/epic-desktop/library\n"
    "  (~/.local/share/epic-desktop/library); --model is the recommended model of `epic paths`, else another one\n"
    "  listed there, in $XDG_DATA_HOME/epic-desktop/models (or models/ in a build tree), fetched by\n"
    "  get-models.sh NAME or the app's first run.\n"
    "environment: EPIC_DEVICE, EPIC_THREADS (defaults of --device and --threads)\n"
    "epic COMMAND --help shows a command's options.";

// "bench link": the (sub)commands the command line named, as far as it was parsed.
std::string command_path(const CLI::App& app) {
    std::string path;
    for (const CLI::App* c = &app; !c->get_subcommands().empty();) {
        c = c->get_subcommands().front();
        path += (path.empty() ? "" : " ") + c->get_name();
    }
    return path;
}

} // namespace
} // namespace epic::cli

int main(int argc, char** argv) {
    using namespace epic::cli;
    CLI::App app("epic - local document QA with position-independent KV caching", "epic");
    // A repeated option takes its last value (as a shell alias plus an explicit option expects).
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.get_formatter()->column_width(34);
    app.set_version_flag("--version", version_text(), "the version and the backends built in");
    app.require_subcommand(1);
    action chosen;
    declare_library_commands(app, chosen);
    declare_model_commands(app, chosen);
    declare_bench_commands(app, chosen);
    app.footer(footer);  // after the commands: they would inherit it

    const std::string cmd = argc > 1 ? argv[1] : "";
    if (argc < 2) {
        std::fputs(app.help().c_str(), stderr);
        return 2;
    }
    if (cmd == "help") {
        std::fputs(app.help().c_str(), stdout);
        return 0;
    }
    const bool top_level_option = cmd == "--help" || cmd == "-h" || cmd == "--version";
    if (!top_level_option && app.get_subcommands([&](const CLI::App* s) { return s->get_name() == cmd; }).empty()) {
        std::fprintf(stderr, "epic: unknown command '%s'\n\n%s", epic::cli::printable(cmd).c_str(), app.help().c_str());
        return 2;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::fputs(app.help().c_str(), stdout);  // the help of the (sub)command the line named
        return 0;
    } catch (const CLI::CallForAllHelp&) {
        std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
        return 0;
    } catch (const CLI::CallForVersion& e) {
        std::printf("%s\n", e.what());
        return 0;
    } catch (const CLI::ParseError& e) {
        const std::string path = command_path(app);
        std::fprintf(stderr, "epic %s: error: %s\n(epic %s --help shows the options)\n", path.c_str(),
                     epic::cli::printable(e.what()).c_str(), path.c_str());
        return 1;
    }
    // Errors name the command as the line did ("epic docs rm: error: ...").
    const std::string path = command_path(app);
    try {
        return chosen();
    } catch (const std::bad_alloc&) {
        // Options are range-checked and inputs bounded; should anything still ask for more memory
        // than the machine has, say so in words.
        std::fprintf(stderr, "epic %s: error: out of memory\n", path.c_str());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "epic %s: error: %s\n", path.c_str(), epic::cli::printable(e.what()).c_str());
        return 1;
    }
}
