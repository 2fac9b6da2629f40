// The `epic` command on hostile inputs and unlucky libraries: options out of range, a question longer
// than the model's context, mistyped or damaged libraries, paths that are not documents, file names
// with control characters, corrupt caches. Every outcome is a clear message and an exit code, never
// "std::bad_alloc", raw SQL, a silently empty library or a silent skip.
#include "model/random_model.h"
#include "sqlite/database.h"
#include "support/run_command.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <random>

namespace epic {
namespace {

namespace fs = std::filesystem;

using run_result = test::command_result;  // stdout and stderr together

run_result run(const std::string& args, const std::string& prefix = {}) {
    return test::run_command(prefix + std::string(EPIC_BINARY_DIR) + "/runtime/epic " + args + " 2>&1");
}

// The same under `timeout 30`: a command that would block forever fails with exit code 124.
run_result run_timed(const std::string& args) { return run(args, "timeout 30 "); }

bool has(const run_result& r, const std::string& text) { return r.out.find(text) != std::string::npos; }

void write(const fs::path& p, const std::string& content) { test::write_file(p, content); }

class cli_hostile : public ::testing::Test {
protected:
    void SetUp() override {
        model_ = (dir_ / "m.gguf").string();
        random_model_params p = random_model_default_params();
        p.seed = std::random_device{}();
        write_random_model(model_, p);  // trained context: 512 tokens
        lib_ = (dir_ / "library").string();
    }
    // A small library of a few documents, added with the model.
    void add_documents() {
        std::mt19937 rng(std::random_device{}());
        for (int d = 0; d < 6; ++d) {
            std::string text;
            for (int w = 0; w < 150; ++w) text += std::string(1, char('a' + rng() % 26)) + "word" + std::to_string(rng() % 50) + " ";
            text += "zebra giraffe okapi ";  // every document matches these: retrieval is never empty
            write(dir_ / "docs" / ("doc" + std::to_string(d) + ".txt"), text + "\n");
        }
        const auto add = run("add --quiet --library " + lib_ + " --model " + model_ + " --chunk-tokens 64 " + (dir_ / "docs").string());
        ASSERT_EQ(add.code, 0) << add.out;
    }
    std::string ask(const std::string& extra) {
        return "ask --library " + lib_ + " --model " + model_ + " " + extra;
    }
    test::scratch_dir dir_;
    std::string model_, lib_;
};

TEST_F(cli_hostile, options_out_of_range_are_refused_by_name) {
    add_documents();
    struct bad {
        const char* options;
        const char* says;
    };
    // "--name: problem": CLI11 puts the option's name, then a colon, before the check's message.
    for (const bad& b : {bad{"--threads 100000", "--threads: must be between 1 and 1024"},
                         bad{"--tokens 1000000000", "--tokens: must be between"},
                         bad{"--temp nan", "--temp: expects a number"},
                         bad{"--temp inf", "--temp: expects a number"},
                         bad{"--top 0", "--top: must be between"},
                         bad{"--tokens 99999999999999999999", "--tokens: must be between"}}) {
        const auto r = run(ask(std::string(b.options) + " 'aword1'"));
        EXPECT_EQ(r.code, 1) << b.options << ": " << r.out;
        EXPECT_TRUE(has(r, b.says)) << b.options << ": " << r.out;
        EXPECT_FALSE(has(r, "bad_alloc")) << r.out;
    }
    const auto gen = run("generate --model " + model_ + " --prompt hello --tokens 100000");
    EXPECT_EQ(gen.code, 1) << gen.out;
    EXPECT_TRUE(has(gen, "the model's is 512")) << gen.out;
}

TEST_F(cli_hostile, a_question_longer_than_the_context_is_refused_and_the_context_trimmed_to_fit) {
    add_documents();
    std::string huge;
    while (huge.size() < 100000) huge += "tell me about aword3 and bword7 please ";
    const fs::path qfile = dir_ / "q.txt";
    write(qfile, huge);
    const auto big = run(ask("--tokens 4 \"$(cat " + qfile.string() + ")\""));
    EXPECT_EQ(big.code, 1) << big.out.substr(0, 400);
    EXPECT_TRUE(has(big, "the model's context of 512 tokens")) << big.out.substr(0, 400);

    // Retrieved chunks beyond the context are left out (with a warning), the answer still comes.
    const auto tight = run(ask("--tokens 8 --top 6 --ctx 160 'zebra giraffe'"));
    EXPECT_EQ(tight.code, 0) << tight.out;
    EXPECT_TRUE(has(tight, "left out to fit the model's context of 160 tokens")) << tight.out;
    // An answer length beyond the context is cut to fit, not an allocation failure.
    const auto long_answer = run(ask("--tokens 100000 --top 1 'okapi'"));
    EXPECT_EQ(long_answer.code, 0) << long_answer.out;
    EXPECT_TRUE(has(long_answer, "the answer is limited to")) << long_answer.out;
}

TEST_F(cli_hostile, a_mistyped_or_damaged_library_is_an_error_not_an_empty_library) {
    const std::string typo = (dir_ / "librray").string();
    const auto r = run("ask --library " + typo + " --model " + model_ + " 'anything'");
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_TRUE(has(r, "no library here")) << r.out;
    EXPECT_FALSE(fs::exists(typo)) << "asking must not create a library";
    EXPECT_EQ(run("docs ls --library " + typo).code, 1);
    EXPECT_EQ(run("cache stats --library " + typo).code, 1);
    EXPECT_FALSE(fs::exists(typo));

    add_documents();
    const fs::path db = fs::path(lib_) / "library.db";
    // Truncated to nothing: every command says so; adding does not start over on top of the caches.
    fs::copy_file(db, dir_ / "backup.db");
    fs::resize_file(db, 0);
    for (const std::string& cmd : {ask("'aword1'"), "docs ls --library " + lib_,
                                   "add --quiet --library " + lib_ + " --model " + model_ + " " + (dir_ / "docs").string()}) {
        const auto t = run(cmd);
        EXPECT_EQ(t.code, 1) << cmd << ": " << t.out;
        EXPECT_TRUE(has(t, "library.db")) << t.out;
        EXPECT_TRUE(has(t, "empty (0 bytes)")) << t.out;
    }
    // Deleted: the same.
    fs::remove(db);
    const auto gone = run("add --quiet --library " + lib_ + " --model " + model_ + " " + (dir_ / "docs").string());
    EXPECT_EQ(gone.code, 1) << gone.out;
    EXPECT_TRUE(has(gone, "is missing although the folder holds chunk caches")) << gone.out;
    EXPECT_EQ(run("docs ls --library " + lib_).code, 1);

    // A table missing: said in words, no SQL.
    fs::copy_file(dir_ / "backup.db", db);
    ASSERT_EQ(run("docs ls --library " + lib_).code, 0);
    storage::sqlite::database(db).exec("DROP TABLE chunks_fts");
    for (const std::string& cmd : {ask("'aword1'"), "docs ls --library " + lib_}) {
        const auto t = run(cmd);
        EXPECT_EQ(t.code, 1) << cmd << ": " << t.out;
        EXPECT_TRUE(has(t, "damaged (its table chunks_fts is missing)")) << t.out;
        EXPECT_FALSE(has(t, "SELECT")) << t.out;
    }
}

TEST_F(cli_hostile, paths_that_are_not_documents_are_skipped_with_a_reason) {
    write(dir_ / "docs" / "ok.txt", "alpha beta gamma delta\n");
    write(dir_ / "docs" / "report.docx", "not supported");
    const fs::path fifo = dir_ / "docs" / "pipe.txt";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const auto r = run("add --quiet --library " + lib_ + " --model " + model_ + " " + (dir_ / "docs" / "ok.txt").string() + " " +
                       (dir_ / "docs" / "missing.txt").string() + " " + (dir_ / "docs" / "report.docx").string() + " " +
                       fifo.string());
    EXPECT_EQ(r.code, 3) << r.out;
    EXPECT_TRUE(has(r, "added 1")) << r.out;
    EXPECT_TRUE(has(r, "skipped: " + (dir_ / "docs" / "missing.txt").string() + ": no such file")) << r.out;
    EXPECT_TRUE(has(r, "report.docx: unsupported file type '.docx'")) << r.out;
    EXPECT_TRUE(has(r, "pipe.txt: not a regular file")) << r.out;
}

TEST_F(cli_hostile, file_names_with_control_characters_print_escaped) {
    const fs::path odd = dir_ / "docs" / "evil\nname\x1b[31m.txt";
    write(odd, "alpha beta gamma delta\n");
    const auto add = run("add --quiet --library " + lib_ + " --model " + model_ + " '" + (dir_ / "docs").string() + "'");
    ASSERT_EQ(add.code, 0) << add.out;
    const auto ls = run("docs ls --library " + lib_);
    EXPECT_EQ(ls.code, 0);
    EXPECT_TRUE(has(ls, "evil\\nname\\x1b[31m.txt")) << ls.out;
    EXPECT_EQ(ls.out.find('\x1b'), std::string::npos) << "a raw escape code reached the terminal";
}

TEST_F(cli_hostile, an_empty_value_is_a_value_and_an_absent_option_is_missing) {
    const auto empty = run("tokenize --model " + model_ + " --text '' --no-bos");
    EXPECT_EQ(empty.code, 0) << empty.out;
    EXPECT_EQ(empty.out.find_first_not_of(" \n"), std::string::npos) << "no tokens: " << empty.out;
    const auto bos = run("tokenize --model " + model_ + " --text '' --bos");
    EXPECT_EQ(bos.code, 0) << bos.out;
    EXPECT_EQ(bos.out.rfind("1", 0), 0u) << bos.out;
    const auto absent = run("tokenize --model " + model_);
    EXPECT_EQ(absent.code, 1);
    EXPECT_TRUE(has(absent, "--text is required")) << absent.out;  // CLI11's wording
}

TEST_F(cli_hostile, the_status_line_is_its_own_line_and_names_no_gpu_on_the_cpu) {
    add_documents();
    // Through a pipe (stdout buffered, stderr not), as a script or `| less` would read it.
    const auto r = run(ask("--device cpu --tokens 6 'zebra okapi'"));
    ASSERT_EQ(r.code, 0) << r.out;
    const size_t status = r.out.find("] time to first token");
    ASSERT_NE(status, std::string::npos) << r.out;
    const size_t open = r.out.rfind('[', status);
    ASSERT_NE(open, std::string::npos);
    EXPECT_TRUE(open == 0 || r.out[open - 1] == '\n') << "status glued to the output before it: " << r.out;
    EXPECT_LT(r.out.find("sources:"), open) << "sources come before the status line: " << r.out;
    EXPECT_FALSE(has(r, "GPU-resident")) << r.out;
}

TEST_F(cli_hostile, a_non_numeric_document_id_is_named) {
    add_documents();
    const auto r = run("docs rm --library " + lib_ + " abc");
    EXPECT_EQ(r.code, 1);
    EXPECT_TRUE(has(r, "'abc' is not a document id")) << r.out;
    EXPECT_FALSE(has(r, "stoll")) << r.out;
}

TEST_F(cli_hostile, recompiled_corrupt_caches_are_reported) {
    add_documents();
    // Damage every blob: the ask recompiles what it needs and says so.
    for (const auto& e : fs::recursive_directory_iterator(fs::path(lib_) / "kv")) {
        if (e.path().extension() != ".epkv") continue;
        std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(-5, std::ios::end);
        f.put('#');
    }
    const auto r = run(ask("--tokens 2 'zebra okapi'"));
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_TRUE(has(r, "warning: ")) << r.out;
    EXPECT_TRUE(has(r, ".epkv")) << r.out;
    EXPECT_TRUE(has(r, "removed") || has(r, "checksum")) << r.out;
}

} // namespace
} // namespace epic

namespace epic {
namespace {

TEST_F(cli_hostile, a_fifo_handed_as_any_input_file_is_refused_not_waited_on) {
    const fs::path fifo = dir_ / "pipe";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    // `timeout` turns a regression (blocking forever) into a failure with exit code 124.
    for (const std::string& cmd : {"perplexity --model " + model_ + " --ctx 16 --file " + fifo.string(),
                                   "info --model " + fifo.string(),
                                   "bench qa --model " + model_ + " --set " + fifo.string() + " --algos full"}) {
        const auto r = run_timed(cmd);
        EXPECT_EQ(r.code, 1) << cmd << ": " << r.out;
        EXPECT_TRUE(has(r, fifo.string() + ": not a regular file (a FIFO)")) << cmd << ": " << r.out;
    }
}

} // namespace
} // namespace epic
