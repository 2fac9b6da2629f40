#pragma once
// One function per `epic` command; each returns the process exit code and throws epic::error for
// user-facing failures (main prints them).
namespace epic::cli {

int cmd_info(int argc, char** argv);
int cmd_tokenize(int argc, char** argv);
int cmd_generate(int argc, char** argv);
int cmd_perplexity(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_make_model(int argc, char** argv);
int cmd_link(int argc, char** argv);
int cmd_bench_link(int argc, char** argv);
int cmd_bench_qa(int argc, char** argv);
int cmd_bench_kv(int argc, char** argv);
int cmd_bench_retrieval(int argc, char** argv);
int cmd_add(int argc, char** argv);
int cmd_compile(int argc, char** argv);
int cmd_ask(int argc, char** argv);
int cmd_docs(int argc, char** argv);
int cmd_cache(int argc, char** argv);
int cmd_paths(int argc, char** argv);

} // namespace epic::cli
