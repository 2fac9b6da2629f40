// epic: the headless face of EPIC desktop.
#include "cli/commands.h"
#include "cli/printable.h"
#include "core/error.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>

namespace {

const char* usage = R"(epic - local document QA with position-independent KV caching

usage: epic <command> [options]

commands:
  add         [--library DIR] [--model M] PATH...   add files/folders: extract, chunk, compile KV caches
              [--chunk-tokens N] [--kv-format F] [--no-compile] [--quiet]
                                             (--no-compile: only extract, chunk and index; a chunk is compiled
                                              when a question first retrieves it, or by epic compile)
  compile     [--library DIR] [--model M] [--kv-format F] [--budget-mb N] [--quiet]
                                             compile the caches the library's chunks lack (added with
                                             --no-compile, stale after a format change, evicted); stops before
                                             the budget would be exceeded; Ctrl-C stops after the chunk in hand
  ask         [--library DIR] [--model M] "QUESTION" [--algo A] [--top N] [--tokens N] [--temp T] [--seed S]
              [--no-sources] [--gpu-cache-mib N] [--ctx N] [--kv-format F]
                                             answer from the library; prints the answer, then its sources
                                             (--gpu-cache-mib: GPU hot tier of chunk caches; default auto, 0 off;
                                              --ctx: rows one ask may link, default the model's context length)
              --kv-format f16|q8|k8v4|q4: how chunk caches are stored (default k8v4); caches of another format
              are stale: compiled again when needed, never linked with this one
              --retrieval bm25|dense|hybrid (add and ask; default hybrid): words (BM25), meaning (the embedding
              model's vectors) or both fused; dense and hybrid need the embedding model (get-models.sh minilm;
              --embedder DIR), else questions search by words and say so
  docs        ls|rm [--library DIR] [ID...]         list or remove documents
  cache       ls|stats|evict|pin|unpin|verify|gc [--library DIR] [KEY...] [--budget-mb N]
                                             ls and stats show each format, bytes on disk per token and the
                                             ratio of f16 K/V bytes to bytes on disk
  info        [--model M]                    architecture, sizes, tensor types, context length
  tokenize    [--model M] --text T [--no-bos|--bos]  token ids, space-separated, one line (BOS as the model says)
  generate    [--model M] --prompt P [--tokens N] [--temp T] [--top-k K] [--top-p P] [--min-p P]
              [--seed S] [--threads N] [--ctx N]   generate text (--temp 0 is greedy)
  perplexity  [--model M] --file TEXT --ctx N  perplexity over consecutive windows of N tokens
  link        [--model M] --chunk FILE [--chunk FILE ...] --question TEXT [--algo A] [--tokens N] [--system TEXT]
              compile each file as one chunk, link them with algorithm A, answer
              (A: full, naive, legolink-K, legolink-0, cacheblend-R, each optionally followed by the
               designs +ctx +hdr +tail-J +last-N +q-F +qc-F +ape-T (README, "Link designs"); default: the app's, "default")
  bench       prefill|decode [--model M] [--tokens N] [--threads N] [--runs R]
  bench       link [--model M] [--chunks n] [--chunk-tokens L] [--question-tokens q] [--algos A,B,...]
              [--source random|generated] [--continuation T] [--runs R] [--resident [--gpu-cache-mib N]]
              time to first token and accuracy against full recompute, per algorithm
              (--resident: chunk caches in a hot tier, warmed by one link first; the runs read it)
  bench       qa [--model M] --set FILE.jsonl [--algos A,B,...] [--limit N] [--tokens N] [--verbose]
              question-answering accuracy (exact / contains), rows recomputed, time to first token
              (seeded sets: epic-make-qa-set in a build tree, tools/make_qa_set)
  bench       retrieval --set FILE.jsonl [--docs DIR] [--modes bm25,dense,hybrid] [--embedder DIR]
              [--search-chunks 10000,100000]   recall@1/4/8 and MRR per retrieval, ms per query
                                             (tests/bench/retrieval/sample-library.jsonl with --docs
                                              resources/sample-library; QA sets pool their documents)
  bench       kv [--model M] [--chunks 8] [--chunk-tokens 512] [--search-chunks 10000]
              KV blob compression, load from disk (cold/warm) vs recompute, retrieval latency
  make-model  --out FILE [--shape tiny|tiny-gemma3|tinyllama|llama2-7b] [--type f32|f16|bf16|q8_0|q4_0|q4_K|q5_K|q6_K]
              [--seed S]                     write a random-weight GGUF (tests, benchmarks)
  paths                                      where the library, models, settings and resources are

defaults: --library is the library shared with epic-desktop, $XDG_DATA_HOME/epic-desktop/library
  (~/.local/share/epic-desktop/library); --model is the recommended model of `epic paths`, else another one
  listed there, in $XDG_DATA_HOME/epic-desktop/models (or models/ in a build tree), fetched by
  get-models.sh NAME or the app's first run.
common options: --threads N (CPU threads), --device auto|cpu|cuda; environment: EPIC_DEVICE, EPIC_THREADS
  epic --version | epic --help
)";

} // namespace

int main(int argc, char** argv) {
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
        std::fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!std::strcmp(argv[1], "--version")) {
        std::printf("epic %s\n", EPIC_VERSION);
#ifdef EPIC_HAVE_CUDA
        std::printf("backends: cpu, cuda\n");
#else
        std::printf("backends: cpu (built without the CUDA backend)\n");
#endif
        return 0;
    }
    const std::string cmd = argv[1];
    try {
        if (cmd == "info") return epic::cli::cmd_info(argc, argv);
        if (cmd == "tokenize") return epic::cli::cmd_tokenize(argc, argv);
        if (cmd == "generate") return epic::cli::cmd_generate(argc, argv);
        if (cmd == "perplexity") return epic::cli::cmd_perplexity(argc, argv);
        if (cmd == "bench") return epic::cli::cmd_bench(argc, argv);
        if (cmd == "make-model") return epic::cli::cmd_make_model(argc, argv);
        if (cmd == "link") return epic::cli::cmd_link(argc, argv);
        if (cmd == "add") return epic::cli::cmd_add(argc, argv);
        if (cmd == "compile") return epic::cli::cmd_compile(argc, argv);
        if (cmd == "ask") return epic::cli::cmd_ask(argc, argv);
        if (cmd == "docs") return epic::cli::cmd_docs(argc, argv);
        if (cmd == "cache") return epic::cli::cmd_cache(argc, argv);
        if (cmd == "paths") return epic::cli::cmd_paths(argc, argv);
        std::fprintf(stderr, "epic: unknown command '%s'\n\n%s", cmd.c_str(), usage);
        return 2;
    } catch (const std::bad_alloc&) {
        // Options are range-checked and inputs bounded; should anything still ask for more memory
        // than the machine has, say so in words.
        std::fprintf(stderr, "epic %s: error: out of memory\n", cmd.c_str());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "epic %s: error: %s\n", cmd.c_str(), epic::cli::printable(e.what()).c_str());
        return 1;
    }
}
