// Benchmark (not a test): times text extraction and chunking of the pathological documents of
// tests/support/hostile_documents.h and prints MB/s per input. tests/bench/ingest-pathological.sh
// runs it; by hand:
//   build/tests/ingest-pathological-bench [--mb 10] [--target 512] [--limit-s 120] [--tokenizer T]
// T: "subwords" (the tests' linear stand-in, default), "words" (count_words, what ingestion uses
// with no model), a sentencepiece tokenizer.model, or a GGUF file with a vocabulary (the app's
// tokenizer, whose own cost is then part of the time). Each input runs in a child process killed
// after --limit-s seconds, so a super-linear case reports "over N s" instead of stalling the run.
#include "common/stopwatch.h"
#include "gguf/gguf_file.h"
#include "ingest/chunker.h"
#include "ingest/extract.h"
#include "support/hostile_documents.h"
#include "tokenizer/tokenizer.h"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <thread>

using namespace epic::storage;
using epic::seconds_since;
using clock_type = std::chrono::steady_clock;

namespace {


void run_one(const epic::test::hostile_document& d, const token_counter& count, int target) {
    const auto bytes = std::as_bytes(std::span(d.content.data(), d.content.size()));
    const auto t0 = clock_type::now();
    const extracted_text ex = extract_document(d.name, bytes, d.kind);
    const double extract_s = seconds_since(t0);
    const auto t1 = clock_type::now();
    const auto chunks = chunk_text(ex.text, ex.page_starts, count, {target});
    const double chunk_s = seconds_since(t1);
    const double mb = double(d.content.size()) / 1e6;
    std::printf("%-16s %6.1f %10.3f %10.3f %8zu %10.1f\n", d.name.c_str(), mb, extract_s, chunk_s, chunks.size(),
                mb / (extract_s + chunk_s));
}

} // namespace

int main(int argc, char** argv) {
    double mb = 10;
    int target = 512;
    int limit_s = 120;
    std::string tok_arg = "subwords";
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--mb") mb = std::atof(argv[i + 1]);
        else if (a == "--target") target = std::atoi(argv[i + 1]);
        else if (a == "--limit-s") limit_s = std::atoi(argv[i + 1]);
        else if (a == "--tokenizer") tok_arg = argv[i + 1];
        else {
            std::fprintf(stderr, "unknown option %s\n", a.c_str());
            return 2;
        }
    }
    std::unique_ptr<epic::tokenizer> tok;
    token_counter count = epic::test::count_subwords;
    if (tok_arg == "words") {
        count = count_words;
    } else if (tok_arg != "subwords") {
        try {
            if (tok_arg.ends_with(".gguf")) tok = epic::tokenizer::from_gguf(*epic::gguf_file::open(tok_arg));
            else tok = epic::tokenizer::from_spm_file(tok_arg);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "%s\n", e.what());
            return 1;
        }
        count = [t = tok.get()](std::string_view s) { return static_cast<int>(t->encode(s, false).size()); };
    }
    std::printf("tokenizer %s, target %d tokens, limit %d s per input\n", tok_arg.c_str(), target, limit_s);
    std::printf("%-16s %6s %10s %10s %8s %10s\n", "input", "MB", "extract_s", "chunk_s", "chunks", "MB/s");
    std::fflush(stdout);
    int failures = 0;
    for (const auto& d : epic::test::hostile_documents(static_cast<std::size_t>(mb * 1e6))) {
        const pid_t pid = ::fork();
        if (pid == 0) {
            try {
                run_one(d, count, target);
            } catch (const std::exception& e) {
                std::printf("%-16s failed: %s\n", d.name.c_str(), e.what());
                std::fflush(stdout);
                std::_Exit(1);
            }
            std::fflush(stdout);
            std::_Exit(0);
        }
        const auto t0 = clock_type::now();
        int status = 0;
        while (::waitpid(pid, &status, WNOHANG) == 0) {
            if (seconds_since(t0) > limit_s) {
                ::kill(pid, SIGKILL);
                ::waitpid(pid, &status, 0);
                std::printf("%-16s %6.1f   over %d s (killed)\n", d.name.c_str(), double(d.content.size()) / 1e6, limit_s);
                std::fflush(stdout);
                ++failures;
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) != 0) ++failures;
    }
    return failures ? 1 : 0;
}
