// The `epic` command as a user runs it: real process, real files, exit codes and output.
#include "core/json.h"
#include "model/random_model.h"
#include "support/run_command.h"
#include "support/shared_models.h"

#include "pic/link_policy.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

namespace epic {
namespace {

namespace fs = std::filesystem;

using run_result = test::command_result;  // stdout and stderr together

// program: a path under the build tree. env: "NAME=value " assignments put before the command
// (empty: the test's own environment).
run_result run_program(const std::string& program, const std::string& args, const std::string& env = {}) {
    return test::run_command(env + std::string(EPIC_BINARY_DIR) + "/" + program + " " + args + " 2>&1");
}

run_result run(const std::string& args, const std::string& env = {}) { return run_program("runtime/epic", args, env); }

// The question-set generator (tools/make_qa_set): a developer tool beside the tests, not in epic.
run_result make_qa_set(const std::string& args) { return run_program("tools/make_qa_set/epic-make-qa-set", args); }

class cli : public ::testing::Test {
protected:
    void SetUp() override {
        model_ = (dir_ / "m.gguf").string();
        random_model_params p = random_model_default_params();
        p.seed = std::random_device{}();
        write_random_model(model_, p);
    }
    test::scratch_dir dir_;
    std::string model_;
};

TEST_F(cli, version_help_and_unknown_commands) {
    const auto v = run("--version");
    EXPECT_EQ(v.code, 0);
    EXPECT_EQ(v.out.rfind("epic ", 0), 0u) << v.out;
    const auto h = run("--help");
    EXPECT_EQ(h.code, 0);
    for (const char* cmd : {"info", "tokenize", "generate", "perplexity", "bench", "link", "add", "compile", "ask", "docs", "cache"})
        EXPECT_NE(h.out.find(std::string("  ") + cmd), std::string::npos) << cmd;
    EXPECT_EQ(run("frobnicate").code, 2);
    EXPECT_EQ(run("generate --model " + model_ + " --prompt x --tokenz 3").code, 1) << "a misspelt option is an error";
}

// The usage text is made from the options each command declares: it lists every one of them, and
// an option it does not list is refused by name.
TEST_F(cli, usage_lists_every_option_a_command_accepts_and_a_typo_is_named) {
    const std::vector<std::string> library = {"--library", "--model", "--threads", "--device", "--chunk-tokens", "--budget-mb",
                                              "--gpu-cache-mib", "--retrieval", "--embedder"};
    struct command {
        std::string name;
        std::vector<std::string> options;
    };
    auto with_library = [&](std::vector<std::string> own) {
        own.insert(own.end(), library.begin(), library.end());
        return own;
    };
    for (const command& c : {command{"ask", with_library({"--kv-format", "--algo", "--top", "--tokens", "--temp", "--seed",
                                                          "--no-sources", "--ctx", "QUESTION"})},
                             command{"add", with_library({"--kv-format", "--no-compile", "--quiet", "PATH"})},
                             command{"compile", with_library({"--kv-format", "--quiet"})},
                             command{"docs rm", with_library({"ID"})},
                             command{"cache evict", with_library({"KEY"})},
                             command{"tokenize", {"--model", "--text", "--bos", "--no-bos"}},
                             command{"generate", {"--model", "--threads", "--device", "--prompt", "--tokens", "--temp", "--top-k",
                                                  "--top-p", "--min-p", "--seed", "--ctx", "--bos", "--no-bos", "--quiet"}},
                             command{"link", {"--chunk", "--question", "--algo", "--tokens", "--system", "--temp", "--seed"}},
                             command{"bench link", {"--chunks", "--chunk-tokens", "--question-tokens", "--algos", "--runs",
                                                    "--continuation", "--source", "--seed", "--system", "--resident",
                                                    "--gpu-cache-mib"}},
                             command{"make-model", {"--out", "--shape", "--type", "--embd-type", "--seed", "--layers", "--vocab",
                                                    "--tied"}}}) {
        const auto h = run(c.name + " --help");
        ASSERT_EQ(h.code, 0) << c.name << ": " << h.out;
        EXPECT_NE(h.out.find("Usage: epic " + c.name), std::string::npos) << h.out;
        for (const auto& o : c.options) EXPECT_NE(h.out.find(" " + o + " "), std::string::npos) << c.name << " " << o << "\n" << h.out;
    }
    // Ranges and defaults come from the same declarations.
    const auto ask = run("ask --help");
    EXPECT_NE(ask.out.find("--top INT:[1 - 256]=8"), std::string::npos) << ask.out;
    EXPECT_NE(ask.out.find("--kv-format"), std::string::npos) << ask.out;
    // The sub-subcommands are listed by their command.
    const auto cache = run("cache --help");
    for (const char* sub : {"ls", "stats", "evict", "pin", "unpin", "verify", "gc"})
        EXPECT_NE(cache.out.find(std::string("  ") + sub + " "), std::string::npos) << sub << "\n" << cache.out;
    const auto bench = run("bench --help");
    for (const char* sub : {"prefill", "decode", "link", "qa", "kv", "retrieval"})
        EXPECT_NE(bench.out.find(std::string("  ") + sub + " "), std::string::npos) << sub << "\n" << bench.out;

    const auto typo = run("ask --model " + model_ + " --topp 3 q");
    EXPECT_EQ(typo.code, 1) << typo.out;
    EXPECT_NE(typo.out.find("epic ask: error: "), std::string::npos) << typo.out;
    EXPECT_NE(typo.out.find("--topp"), std::string::npos) << typo.out;
    const auto nested = run("cache ls --libary x");
    EXPECT_EQ(nested.code, 1) << nested.out;
    EXPECT_NE(nested.out.find("epic cache ls: error: "), std::string::npos) << nested.out;
    EXPECT_NE(nested.out.find("--libary"), std::string::npos) << nested.out;
    // `epic` alone: the usage on stderr, exit code 2.
    const auto bare = test::run_command(std::string(EPIC_BINARY_DIR) + "/runtime/epic 2>/dev/null");
    EXPECT_EQ(bare.code, 2);
    EXPECT_EQ(bare.out, "") << "the usage goes to stderr";
    EXPECT_NE(run("").out.find("Subcommands:"), std::string::npos);
    // A value that starts with '-' is a value: a negative number is range-checked, a text is a text.
    const auto negative = run("ask --model " + model_ + " --top -3 q");
    EXPECT_EQ(negative.code, 1);
    EXPECT_NE(negative.out.find("--top: must be between 1 and 256, got -3"), std::string::npos) << negative.out;
    const auto dash = run("tokenize --model " + model_ + " --text -5 --no-bos");
    EXPECT_EQ(dash.code, 0) << dash.out;
    EXPECT_NE(dash.out.find_first_of("0123456789"), std::string::npos) << dash.out;
}

TEST_F(cli, tokenize_prints_ids_with_and_without_bos) {
    const auto with = run("tokenize --model " + model_ + " --text 'hello world'");
    const auto without = run("tokenize --model " + model_ + " --text 'hello world' --no-bos");
    ASSERT_EQ(with.code, 0) << with.out;
    ASSERT_EQ(without.code, 0) << without.out;
    EXPECT_EQ(with.out.rfind("1 ", 0), 0u) << with.out;
    EXPECT_EQ(with.out, "1 " + without.out);
}

TEST_F(cli, greedy_generation_is_deterministic_and_sampling_follows_the_seed) {
    const std::string base = "generate --model " + model_ + " --prompt 'abc' --tokens 12 --quiet";
    const auto a = run(base + " --temp 0"), b = run(base + " --temp 0");
    ASSERT_EQ(a.code, 0) << a.out;
    EXPECT_EQ(a.out, b.out);
    const auto s1 = run(base + " --temp 1.5 --top-k 0 --top-p 1 --min-p 0 --seed 5");
    const auto s2 = run(base + " --temp 1.5 --top-k 0 --top-p 1 --min-p 0 --seed 5");
    EXPECT_EQ(s1.out, s2.out);
}

TEST_F(cli, perplexity_counts_every_token_after_the_first_of_each_window) {
    const fs::path text = dir_ / "t.txt";
    std::ofstream(text) << std::string(400, 'a') << " the quick brown fox jumps over the lazy dog\n";
    const auto r = run("perplexity --model " + model_ + " --file " + text.string() + " --ctx 32");
    ASSERT_EQ(r.code, 0) << r.out;
    double ppl = 0;
    size_t tokens = 0, windows = 0;
    const size_t at = r.out.find("perplexity ");
    ASSERT_NE(at, std::string::npos) << r.out;
    ASSERT_EQ(std::sscanf(r.out.c_str() + at, "perplexity %lf over %zu tokens (%zu windows", &ppl, &tokens, &windows), 3) << r.out;
    EXPECT_TRUE(std::isfinite(ppl) && ppl > 1.0);
    EXPECT_EQ(tokens, windows * 31);
}

TEST_F(cli, a_truncated_model_is_an_error_naming_the_file) {
    const fs::path bad = dir_ / "broken.gguf";
    {
        std::ifstream in(model_, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), {});
        std::ofstream(bad, std::ios::binary) << bytes.substr(0, bytes.size() / 3);
    }
    const auto r = run("info --model " + bad.string());
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("broken.gguf"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("Segmentation"), std::string::npos);
}

TEST_F(cli, qa_sets_are_seeded_and_every_needle_is_in_its_documents) {
    const fs::path facts = fs::path(EPIC_SOURCE_DIR) / "resources/sample-library/facts.json";
    const fs::path prose = dir_ / "prose.txt";
    {
        std::ofstream p(prose);
        for (int i = 0; i < 60; ++i) p << "Paragraph " << i << " has several sentences. They say little. Yet they go on.\n\n";
    }
    const std::string base = "--facts " + facts.string() + " --prose " + prose.string() + " --prose-words 10 --count 120 ";
    ASSERT_EQ(make_qa_set(base + "--seed 3 " + (dir_ / "a.jsonl").string()).code, 0);
    ASSERT_EQ(make_qa_set(base + "--seed 3 " + (dir_ / "b.jsonl").string()).code, 0);
    EXPECT_NE(run("bench qa --make-set " + (dir_ / "c.jsonl").string()).code, 0) << "the generator left epic";
    std::ifstream a(dir_ / "a.jsonl"), b(dir_ / "b.jsonl");
    std::string la, lb;
    int n = 0, needles = 0, confusables = 0;
    while (std::getline(a, la)) {
        ASSERT_TRUE(std::getline(b, lb));
        EXPECT_EQ(la, lb) << "same seed, same set";
        const json j = json::parse(la);
        const auto kind = j.at("kind").get<std::string>();
        const auto q = j.at("question").get<std::string>();
        const auto answer = j.at("answer").get<std::string>();
        const auto documents = j.at("documents").get<std::vector<std::string>>();
        const auto titles = j.at("titles").get<std::vector<std::string>>();
        ASSERT_EQ(documents.size(), 8u);
        ASSERT_EQ(titles.size(), 8u);
        for (size_t d = 0; d < 8; ++d) {
            const std::string& title = titles[d];
            if (kind == "needle") {
                EXPECT_EQ(title.rfind("prose.txt part ", 0), 0u) << title;
            } else if (kind == "confusable") {
                EXPECT_EQ(documents[d].rfind(title + "\n", 0), 0u) << title;
            } else {
                EXPECT_TRUE(fs::is_regular_file(facts.parent_path() / title)) << title;
            }
        }
        int holding = 0;
        for (const auto& d : documents) holding += d.find(answer) != std::string::npos;
        EXPECT_GE(holding, 1) << q;
        needles += kind == "needle";
        if (kind == "confusable") {
            // Every brief has the same fields; the answer is in the brief the question names, and
            // in no other.
            ++confusables;
            EXPECT_EQ(holding, 1) << q;
            const size_t at = q.rfind("project ") + 8;
            const std::string project = q.substr(at, q.find_first_of(" ?", at) - at);
            int named = 0;
            for (const auto& d : documents)
                if (d.rfind("Project brief: " + project + "\n", 0) == 0) {
                    ++named;
                    EXPECT_NE(d.find(answer), std::string::npos) << q;
                }
            EXPECT_EQ(named, 1) << q;
        }
        ++n;
    }
    EXPECT_EQ(n, 120);
    EXPECT_EQ(needles, 40);
    EXPECT_EQ(confusables, 40);
}

TEST_F(cli, bench_kv_reports_each_cache_format_and_bench_qa_links_quantized_caches) {
    const auto r = run("bench kv --model " + model_ + " --chunks 2 --chunk-tokens 40 --search-chunks 1 --runs 1 --formats f16,q8,k8v4,q4");
    ASSERT_EQ(r.code, 0) << r.out;
    // The per-format table: "<format> <bytes per token> <vs f16> ...".
    std::map<std::string, double> bytes;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream w(line);
        std::string name;
        double b = 0;
        if (w >> name >> b && (name == "f16" || name == "q8" || name == "k8v4" || name == "q4")) bytes[name] = b;
    }
    ASSERT_EQ(bytes.size(), 4u) << r.out;
    EXPECT_LT(bytes["q8"], 0.7 * bytes["f16"]) << r.out;
    EXPECT_LT(bytes["k8v4"], 0.9 * bytes["q8"]) << r.out;
    EXPECT_LT(bytes["q4"], 0.9 * bytes["k8v4"]) << r.out;
    EXPECT_NE(run("bench kv --model " + model_ + " --formats f16,q3 --chunks 1 --chunk-tokens 8").code, 0) << "an unknown format";
    EXPECT_NE(run("bench kv --model " + model_ + " --group 7 --chunks 1 --chunk-tokens 8").code, 0) << "an odd group";

    const fs::path set = dir_ / "set.jsonl";
    std::ofstream(set) << R"({"kind": "fact", "question": "What is the code?", "answer": "abc", "documents": ["The code is abc.", "Nothing here."]})"
                       << "\n"
                       << R"({"kind": "fact", "question": "Who wrote it?", "answer": "Ann", "documents": ["Ann wrote it.", "Bob read it."]})"
                       << "\n";
    const auto qa = run("bench qa --model " + model_ + " --set " + set.string() +
                        " --algos legolink-4,legolink-4+kv-q8,legolink-4+kv-q4 --reference legolink-4 --tokens 2 --kv-parts kv,k");
    ASSERT_EQ(qa.code, 0) << qa.out;
    for (const char* m : {"| legolink-4+kv-q8@kv |", "| legolink-4+kv-q4@kv |", "| legolink-4+kv-q4@k |"})
        EXPECT_NE(qa.out.find(m), std::string::npos) << m << "\n" << qa.out;
    EXPECT_NE(run("bench qa --model " + model_ + " --set " + set.string() + " --algos legolink-4+kv-q2").code, 0);
    // Laid out in retrieval order (the default, as the service lays out), with the answer's chunk
    // recomputed by the oracle; or in the set's order.
    const auto ordered = run("bench qa --model " + model_ + " --set " + set.string() + " --algos full,naive+last-1 --oracle gold --tokens 2");
    ASSERT_EQ(ordered.code, 0) << ordered.out;
    EXPECT_NE(ordered.out.find("retrieval order"), std::string::npos) << ordered.out;
    const auto as_set = run("bench qa --model " + model_ + " --set " + set.string() + " --algos full --order set --tokens 2");
    ASSERT_EQ(as_set.code, 0) << as_set.out;
    EXPECT_NE(as_set.out.find("the set's order"), std::string::npos) << as_set.out;
    EXPECT_NE(ordered.out.find("| naive+last-1@gold |"), std::string::npos) << ordered.out;
    EXPECT_NE(run("bench qa --model " + model_ + " --set " + set.string() + " --order random").code, 0);
    EXPECT_NE(run("bench qa --model " + model_ + " --set " + set.string() + " --oracle silver").code, 0);
}

TEST_F(cli, info_shows_the_backend_and_an_unusable_cuda_request_is_explained) {
    const auto cpu = run("info --model " + model_ + " --device cpu --threads 2");
    ASSERT_EQ(cpu.code, 0) << cpu.out;
    EXPECT_NE(cpu.out.find("backend:       cpu (2 threads)"), std::string::npos) << cpu.out;
    // EPIC_DEVICE=cuda: runs on the GPU where one is usable, else one clear error and exit code 1.
    const auto gen = run("generate --model " + model_ + " --prompt abc --tokens 2", "EPIC_DEVICE=cuda ");
    if (gen.code == 0) {
        EXPECT_NE(gen.out.find("cuda ("), std::string::npos) << gen.out;
    } else {
        EXPECT_EQ(gen.code, 1) << gen.out;
        EXPECT_NE(gen.out.find("epic generate: error: "), std::string::npos) << gen.out;
        EXPECT_NE(gen.out.find("device 'cuda' was asked for"), std::string::npos) << gen.out;
        EXPECT_NE(gen.out.find("choose 'auto' or 'cpu'"), std::string::npos) << gen.out;
        std::printf("EPIC_DEVICE=cuda without a usable GPU: %s", gen.out.c_str());
        const auto info = run("info --model " + model_, "EPIC_DEVICE=cuda ");
        EXPECT_EQ(info.code, 0) << "info reports, it does not fail: " << info.out;
        EXPECT_NE(info.out.find("backend:       unavailable: "), std::string::npos) << info.out;
    }
}

TEST_F(cli, add_and_ask_over_the_sample_library) {
    const fs::path lib = dir_ / "library";
    const std::string sample = (fs::path(EPIC_SOURCE_DIR) / "resources/sample-library").string();
    const auto add = run("add --quiet --library " + lib.string() + " --model " + model_ + " --chunk-tokens 128 " + sample);
    ASSERT_EQ(add.code, 0) << add.out;
    EXPECT_NE(add.out.find("added 26"), std::string::npos) << add.out;
    const auto ask = run("ask --library " + lib.string() + " --model " + model_ + " --tokens 4 'extension of Ingrid Solberg'");
    ASSERT_EQ(ask.code, 0) << ask.out;
    EXPECT_NE(ask.out.find("sources:"), std::string::npos);
    EXPECT_NE(ask.out.find("ingrid-solberg.txt"), std::string::npos) << ask.out;
    EXPECT_NE(ask.out.find("recomputed"), std::string::npos);
    EXPECT_NE(ask.out.find(std::string("[") + link_policy::app_default_name + " on "), std::string::npos) << "the backend \"auto\" chose is shown: " << ask.out;
    const auto ls = run("docs ls --library " + lib.string());
    EXPECT_NE(ls.out.find("travel-policy.pdf"), std::string::npos) << ls.out;
    const auto stats = run("cache stats --library " + lib.string());
    EXPECT_NE(stats.out.find("entries "), std::string::npos) << stats.out;
    EXPECT_EQ(run("cache verify --library " + lib.string()).code, 0);
}

TEST_F(cli, add_shows_embedding_progress_and_ask_searches_by_meaning_with_the_embedding_model) {
    const fs::path embedder = test::local_model("all-minilm-l6-v2");
    EPIC_REQUIRE_MODEL(embedder / "model.safetensors");
    const fs::path lib = dir_ / "library";
    const std::string sample = (fs::path(EPIC_SOURCE_DIR) / "resources/sample-library").string();
    const std::string common = " --library " + lib.string() + " --model " + model_ + " --embedder " + embedder.string();
    const auto add = run("add" + common + " --no-compile " + sample);
    ASSERT_EQ(add.code, 0) << add.out;
    // The last progress line says every chunk was embedded ("embedding: N/N chunks").
    const size_t at = add.out.rfind("embedding: ");
    ASSERT_NE(at, std::string::npos) << add.out;
    const std::string counts = add.out.substr(at + 11, add.out.find(' ', at + 11) - at - 11);
    const size_t slash = counts.find('/');
    ASSERT_NE(slash, std::string::npos) << counts;
    EXPECT_EQ(counts.substr(0, slash), counts.substr(slash + 1)) << add.out;
    EXPECT_EQ(add.out.find("extracting: 0/0"), std::string::npos) << "the embedding phase is not shown as extracting: " << add.out;
    // A question that shares no word with its passage ("salty" is not "salt"): meaning finds the Salt
    // Meter's sheet, words find another.
    const std::string q = " --top 1 --tokens 1 'Which gadget measures how salty the water is?'";
    const auto dense = run("ask" + common + " --retrieval dense" + q);
    ASSERT_EQ(dense.code, 0) << dense.out;
    EXPECT_NE(dense.out.find("salt-meter.md"), std::string::npos) << dense.out;
    const auto words = run("ask" + common + " --retrieval bm25" + q);
    ASSERT_EQ(words.code, 0) << words.out;
    EXPECT_EQ(words.out.find("salt-meter.md"), std::string::npos) << words.out;
    // Scores keep their digits (hybrid's fused scores are near 1/61).
    const auto hybrid = run("ask" + common + " --retrieval hybrid --top 2 --tokens 1 'Which gadget measures how salty the water is?'");
    ASSERT_EQ(hybrid.code, 0) << hybrid.out;
    EXPECT_NE(hybrid.out.find("score 0.01"), std::string::npos) << hybrid.out;
    EXPECT_EQ(run("ask" + common + " --retrieval telepathy 'x'").code, 1);
}

// Runs epic with these arguments, sends SIGINT (Ctrl-C) once `trigger` appears in its output, and
// collects the rest. The exit code is the command's own (-1 if a signal ended it).
run_result run_interrupted(const std::vector<std::string>& arguments, const std::string& trigger) {
    int fds[2];
    run_result r;
    if (::pipe(fds) != 0) return r;
    const std::string program = std::string(EPIC_BINARY_DIR) + "/runtime/epic";
    std::vector<char*> argv{const_cast<char*>(program.c_str())};
    for (const auto& a : arguments) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(fds[1], 1);
        ::dup2(fds[1], 2);
        ::close(fds[0]);
        ::close(fds[1]);
        ::execv(program.c_str(), argv.data());
        ::_exit(127);
    }
    ::close(fds[1]);
    bool sent = false;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) {
        r.out.append(buf, (size_t)n);
        if (!sent && r.out.find(trigger) != std::string::npos) {
            ::kill(pid, SIGINT);
            sent = true;
        }
    }
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

TEST_F(cli, no_compile_then_ask_and_compile_with_a_cache_format) {
    const fs::path lib = dir_ / "library";
    const std::string L = " --library " + lib.string() + " --model " + model_;
    const std::string sample = (fs::path(EPIC_SOURCE_DIR) / "resources/sample-library").string();
    const auto add = run("add --quiet --no-compile --chunk-tokens 128" + L + " " + sample);
    ASSERT_EQ(add.code, 0) << add.out;
    EXPECT_NE(add.out.find("added 26"), std::string::npos) << add.out;
    EXPECT_NE(add.out.find("0 chunk caches compiled"), std::string::npos) << add.out;
    EXPECT_NE(run("cache stats --library " + lib.string()).out.find("entries 0 "), std::string::npos);

    // A question compiles what it retrieves, in the format asked for.
    const auto ask = run("ask --kv-format q8 --tokens 2" + L + " 'extension of Ingrid Solberg'");
    ASSERT_EQ(ask.code, 0) << ask.out;
    const size_t timing = ask.out.find(" caches, compile ");
    ASSERT_NE(timing, std::string::npos) << ask.out;
    double compile_ms = 0;
    int compiled = 0;
    ASSERT_EQ(std::sscanf(ask.out.c_str() + timing, " caches, compile %lf for %d,", &compile_ms, &compiled), 2) << ask.out;
    EXPECT_GT(compiled, 0) << "the retrieved chunks are compiled when first asked about: " << ask.out;
    const auto ls = run("cache ls --library " + lib.string());
    ASSERT_EQ(ls.code, 0) << ls.out;
    EXPECT_NE(ls.out.find(" fmt "), std::string::npos) << ls.out;
    EXPECT_NE(ls.out.find(" B/token "), std::string::npos) << ls.out;
    // Every listed cache is q8 with its rows, bytes per token and ratio (no "-": this build measured them).
    std::istringstream lines(ls.out);
    std::string line;
    std::getline(lines, line); // header
    int listed = 0;
    while (std::getline(lines, line)) {
        std::istringstream f(line);
        std::string key, fmt, rows, per_token, raw, stored, ratio;
        f >> key >> fmt >> rows >> per_token >> raw >> stored >> ratio;
        EXPECT_EQ(fmt, "q8") << line;
        EXPECT_GT(std::atof(rows.c_str()), 0.0) << line;
        EXPECT_NEAR(std::atof(per_token.c_str()), std::atof(stored.c_str()) / std::atof(rows.c_str()), 0.06) << line;
        EXPECT_GT(std::atof(ratio.c_str()), 0.0) << line;
        ++listed;
    }
    EXPECT_GT(listed, 1);

    // compile: the rest of the library in q8, then nothing is left.
    const auto c1 = run("compile --quiet --kv-format q8" + L);
    ASSERT_EQ(c1.code, 0) << c1.out;
    EXPECT_NE(c1.out.find("chunk caches compiled; 0 chunks left"), std::string::npos) << c1.out;
    EXPECT_EQ(c1.out.find("\n0 chunk caches compiled"), std::string::npos) << c1.out;
    const auto c2 = run("compile --quiet --kv-format q8" + L);
    EXPECT_NE(c2.out.find("0 chunk caches compiled; 0 chunks left"), std::string::npos) << c2.out;
    // In the default format (k8v4) every chunk is stale again; stats then show both formats.
    const auto c3 = run("compile --quiet" + L);
    EXPECT_EQ(c3.out.find("0 chunk caches compiled"), std::string::npos) << c3.out;
    const auto stats = run("cache stats --library " + lib.string());
    EXPECT_NE(stats.out.find("\n  k8v4 "), std::string::npos) << stats.out;
    EXPECT_NE(stats.out.find("\n  q8 "), std::string::npos) << stats.out;
    EXPECT_NE(stats.out.find("bytes per token"), std::string::npos) << stats.out;
    EXPECT_EQ(run("cache verify --library " + lib.string()).code, 0);

    const auto bad = run("compile --kv-format q5" + L);
    EXPECT_EQ(bad.code, 1);
    EXPECT_NE(bad.out.find("expected one of f16, q8, k8v4, q4"), std::string::npos) << bad.out;
    const auto paths = run("compile " + sample + L);
    EXPECT_EQ(paths.code, 1);
    EXPECT_NE(paths.out.find("compile takes no paths: it compiles what the library's chunks lack"), std::string::npos) << paths.out;
    const auto unquoted = run("ask what is zebra3" + L);
    EXPECT_EQ(unquoted.code, 1);
    EXPECT_NE(unquoted.out.find("give the question as one argument (quote it)"), std::string::npos) << unquoted.out;
}

TEST_F(cli, ctrl_c_stops_compile_after_the_chunk_in_hand_and_the_next_run_finishes) {
    const fs::path lib = dir_ / "library";
    const std::string sample = (fs::path(EPIC_SOURCE_DIR) / "resources/sample-library").string();
    ASSERT_EQ(run("add --quiet --no-compile --chunk-tokens 32 --library " + lib.string() + " --model " + model_ + " " + sample).code, 0);
    const auto stopped = run_interrupted({"compile", "--library", lib.string(), "--model", model_}, "compiling: 1/");
    EXPECT_EQ(stopped.code, 130) << stopped.out;
    EXPECT_NE(stopped.out.find("(cancelled)"), std::string::npos) << stopped.out;
    EXPECT_NE(stopped.out.find("interrupted: what was compiled is kept"), std::string::npos) << stopped.out;
    size_t compiled = 0, left = 0;
    const size_t at = stopped.out.find(" chunk caches compiled; ");
    ASSERT_NE(at, std::string::npos) << stopped.out;
    ASSERT_EQ(std::sscanf(stopped.out.c_str() + stopped.out.rfind('\n', at) + 1, "%zu chunk caches compiled; %zu chunks left", &compiled, &left), 2);
    EXPECT_GT(left, 0u) << stopped.out;
    EXPECT_EQ(run("cache verify --library " + lib.string()).code, 0);
    const auto rest = run("compile --quiet --library " + lib.string() + " --model " + model_);
    ASSERT_EQ(rest.code, 0) << rest.out;
    EXPECT_NE(rest.out.find(std::to_string(left) + " chunk caches compiled; 0 chunks left"), std::string::npos)
        << "the interrupted run left " << left << ": " << rest.out;
}

} // namespace
} // namespace epic
