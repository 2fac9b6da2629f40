#pragma once
// One function per `epic` command, each given its options as a plain struct; each returns the
// process exit code and throws epic::error for user-facing failures (main prints them).
//
// The options themselves (names, help text, ranges, which are required) are declared once, in
// main.cpp, with CLI11; that declaration is also the usage text. The structs hold the values and
// the defaults, which the usage text shows. CLI11 stays out of this header: it is heavy to compile.
// std::optional: absent means "decided elsewhere" (the environment, the model, the library).
#include "generate/sampler.h"
#include "pic/link_policy.h"

#include <optional>
#include <string>
#include <vector>

namespace epic::cli {

// The commands that run a model: --model --threads --device.
struct session_options {
    std::optional<std::string> model;   // absent: the default model (core/paths.h)
    std::optional<int> threads;         // absent: EPIC_THREADS, else the backend's default
    std::optional<std::string> device;  // absent: EPIC_DEVICE, else auto
};

// The library commands (add, compile, ask, docs, cache).
struct library_options : session_options {
    std::optional<std::string> library;  // absent: the library shared with epic-desktop
    std::optional<int> chunk_tokens;
    std::optional<double> budget_mb;
    std::optional<double> gpu_cache_mib;  // absent: automatic, 0: off
    std::optional<std::string> retrieval;
    std::optional<std::string> embedder;
    std::optional<std::string> kv_format;  // only the commands that compile or link caches take it
};

struct add_args {
    library_options lib;
    std::vector<std::string> paths;
    bool quiet = false;
    bool no_compile = false;
};

struct compile_args {
    library_options lib;
    bool quiet = false;
    std::vector<std::string> paths; // none expected: given, they are refused with a hint
};

struct ask_args {
    library_options lib;
    std::vector<std::string> question; // one argument; more (an unquoted question) are refused with a hint
    std::string algo = link_policy::app_default_name;
    int top = 8;
    int tokens = 128;
    double temp = 0.0;
    int seed = 42;
    bool no_sources = false;
    int ctx = 0;  // 0: the model's context length
};

// docs ls|rm, cache ls|stats|evict|pin|unpin|verify|gc: `what` is the second word.
struct library_command_args {
    std::string what;
    library_options lib;
    std::vector<std::string> operands;  // document ids (docs rm), cache keys (cache evict|pin|unpin)
};

struct info_args {
    session_options session;
};

// --bos / --no-bos of the commands that tokenize a text: BOS as the model wants it (SmolLM2's GGUF
// says add_bos_token = false) unless told otherwise.
struct bos_choice {
    bool no_bos = false;
    bool bos = false;
    bool add_bos(bool model_default) const { return !no_bos && (bos || model_default); }
};

struct tokenize_args {
    session_options session;  // --model only
    std::string text;
    bos_choice bos;
};

struct generate_args {
    session_options session;
    std::string prompt;
    int tokens = 128;
    double temp = 0.8;
    int top_k = sampling_default_params().top_k;
    double top_p = sampling_default_params().top_p;
    double min_p = sampling_default_params().min_p;
    double seed = 42;  // a double: seeds up to 2^53 pass exactly
    std::optional<int> ctx;  // absent: the prompt and --tokens
    bos_choice bos;
    bool quiet = false;
};

struct perplexity_args {
    session_options session;
    std::string file;
    int ctx = 128;
};

struct link_args {
    session_options session;
    std::vector<std::string> chunks;
    std::string question;
    std::string algo = link_policy::app_default_name;
    int tokens = 64;
    std::optional<std::string> system;
    double temp = 0.0;
    int seed = 42;
};

struct make_model_args {
    std::string out;
    std::string shape = "tiny";
    std::optional<std::string> type;
    std::optional<std::string> embd_type;
    int seed = 1;
    std::optional<int> layers;  // absent: the shape's
    std::optional<int> vocab;   // absent: the shape's
    bool tied = false;
};

struct paths_args {};

// bench prefill|decode
struct bench_throughput_args {
    std::string what;
    session_options session;
    int tokens = 0;  // each benchmark declares its own default
    int runs = 3;
};

struct bench_link_args {
    session_options session;
    int chunks = 8;
    int chunk_tokens = 512;
    int question_tokens = 32;
    std::string algos = "full,cacheblend-0.15,legolink-16,naive";
    int runs = 3;
    int continuation = 32;
    std::string source = "random";
    int seed = 1;
    std::optional<std::string> system;  // absent: the chat template's opening with the QA instruction
    bool resident = false;
    std::optional<double> gpu_cache_mib;  // absent: room for every chunk cache
};

struct bench_qa_args {
    session_options session;
    std::string set;
    std::string algos = "full,naive,legolink-16,cacheblend-0.15";
    std::optional<int> limit;  // absent: every question
    int tokens = 16;
    bool verbose = false;
    std::optional<std::string> chat_template;  // absent: the model's
    std::optional<std::string> system;         // absent: default_qa_system_prompt (bench_util.h)
    int report_every = 0;
    std::optional<std::string> reference;
    std::optional<std::string> markdown;
    std::optional<std::string> kv_groups;
    std::optional<std::string> kv_parts;
    std::string oracle;
    std::string order = "retrieval";
};

struct bench_kv_args {
    session_options session;
    int chunks = 8;
    int chunk_tokens = 512;
    int search_chunks = 10000;
    int runs = 3;
    std::optional<std::string> dir;  // absent: a temporary folder
    std::string formats = "f16,q8,k8v4,q4";
    std::optional<int> group;          // absent: kv_quant_group
    std::optional<std::string> v_axis;  // absent: kv_quant_v_axis
    std::optional<std::string> text;
    std::optional<std::string> dump;
};

struct bench_retrieval_args {
    std::optional<std::string> set;
    std::optional<std::string> docs;
    std::string modes = "bm25,dense,hybrid";
    std::optional<std::string> embedder;
    std::optional<int> chunk_words;  // absent: the library's chunk size
    std::optional<std::string> markdown;
    std::optional<std::string> search_chunks;
    int threads = 0;
    bool misses = false;
    std::optional<double> bm25_weight;
    std::optional<std::string> qa_out;
};

int cmd_info(const info_args& a);
int cmd_tokenize(const tokenize_args& a);
int cmd_generate(const generate_args& a);
int cmd_perplexity(const perplexity_args& a);
int cmd_bench_throughput(const bench_throughput_args& a);
int cmd_make_model(const make_model_args& a);
int cmd_link(const link_args& a);
int cmd_bench_link(const bench_link_args& a);
int cmd_bench_qa(const bench_qa_args& a);
int cmd_bench_kv(const bench_kv_args& a);
int cmd_bench_retrieval(const bench_retrieval_args& a);
int cmd_add(const add_args& a);
int cmd_compile(const compile_args& a);
int cmd_ask(const ask_args& a);
int cmd_docs(const library_command_args& a);
int cmd_cache(const library_command_args& a);
int cmd_paths(const paths_args& a);

} // namespace epic::cli
