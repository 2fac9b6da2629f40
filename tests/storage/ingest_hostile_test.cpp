// Hostile input to ingestion: 10 MB documents with no easy cut (one word, CJK without spaces, a
// Markdown heading line, HTML of only '&' or '<', runs of entities) must extract and chunk in linear
// time and correctly; files that are not text, and documents over the size limit, are refused with
// an error naming the file. Super-linear work fails here by operation count (the token counter
// refuses to read more than a fixed multiple of the text) or by a watchdog, never by hanging.
#include "common/stopwatch.h"
#include "common/utf8.h"
#include "ingest/chunker.h"
#include "ingest/extract.h"
#include "ingest/html_text.h"
#include "ingest/ingestor.h"
#include "kvstore/atomic_file.h"
#include "library/library.h"
#include "storage_error.h"
#include "support/hostile_documents.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <random>
#include <span>
#include <thread>

using namespace epic::storage;
using epic::seconds_since;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::size_t ten_mb = 10'000'000;

// Ends the test program with a message when a test body runs past its limit: a super-linear
// regression then fails in a minute (and ctest's TIMEOUT backs this up) instead of hanging for hours.
class watchdog {
public:
    watchdog(std::chrono::seconds limit, std::string what)
        : thread_([this, limit, what = std::move(what)] {
              std::unique_lock lock(mutex_);
              if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
                  std::fprintf(stderr, "watchdog: %s still running after %lld s (super-linear?)\n", what.c_str(),
                               static_cast<long long>(limit.count()));
                  std::fflush(stderr);
                  std::_Exit(1);
              }
          }) {}
    ~watchdog() {
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        cv_.notify_one();
        thread_.join();
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread thread_;  // last: starts once the members it uses exist
};

// count_subwords that keeps count of the bytes it was asked to read and throws once they pass
// `budget`: linear chunking reads each byte a bounded number of times whatever the text.
struct metered_counter {
    std::size_t budget;
    std::size_t bytes = 0, calls = 0;
    int operator()(std::string_view s) {
        bytes += s.size();
        ++calls;
        if (bytes > budget)
            throw std::runtime_error("the chunker read " + std::to_string(bytes) + " bytes through the token counter (" +
                                     std::to_string(calls) + " calls), over its budget of " + std::to_string(budget));
        return epic::test::count_subwords(s);
    }
};

std::string without_whitespace(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s)
        if (c != ' ' && c != '\n' && c != '\t' && c != '\r' && c != '\f' && c != '\v') out += c;
    return out;
}

void write(const fs::path& p, std::string_view content) { epic::test::write_file(p, content); }


std::span<const std::byte> as_bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

class pathological : public ::testing::TestWithParam<std::string> {};

} // namespace

TEST_P(pathological, ten_mb_document_extracts_and_chunks_in_linear_time) {
    watchdog dog(std::chrono::seconds(90), GetParam());
    epic::test::hostile_document doc;
    for (auto& d : epic::test::hostile_documents(ten_mb))
        if (d.name == GetParam()) doc = std::move(d);
    ASSERT_FALSE(doc.content.empty());

    const auto t0 = clock_type::now();
    const extracted_text ex = extract_document(doc.name, as_bytes(doc.content), doc.kind);
    const double extract_s = seconds_since(t0);
    ASSERT_EQ(ex.text.size(), doc.expected.size());
    ASSERT_TRUE(ex.text == doc.expected) << "extracted text differs";
    EXPECT_LE(ex.title.size(), 256u) << "a title is a label, not the document";
    EXPECT_TRUE(is_valid_utf8(ex.title));

    // Each byte may go through the token counter a bounded number of times: the levels of
    // splitting (paragraph, sentence, word) each count once, a cut between code points probes a
    // few prefixes of one chunk, and each chunk is confirmed with one count.
    constexpr int target = 512;
    metered_counter meter{16 * ex.text.size() + 4096};
    const auto t1 = clock_type::now();
    std::vector<text_chunk> chunks;
    try {
        chunks = chunk_text(ex.text, ex.page_starts, [&](std::string_view s) { return meter(s); }, {target});
    } catch (const std::exception& e) {
        FAIL() << e.what();
    }
    const double chunk_s = seconds_since(t1);
    std::printf("%s: %.1f MB, extract %.3f s, chunk %.3f s, %zu chunks, %zu counter calls reading %.1f bytes per byte\n",
                doc.name.c_str(), double(doc.content.size()) / 1e6, extract_s, chunk_s, chunks.size(), meter.calls,
                double(meter.bytes) / double(ex.text.size()));
    // Generous: linear code does each in well under a second; the quadratic code took hours.
    EXPECT_LT(extract_s, 30.0);
    EXPECT_LT(chunk_s, 30.0);

    // Chunks in order, within the budget, valid UTF-8 (never cut inside a code point), whitespace
    // only between them: the text is preserved.
    ASSERT_FALSE(chunks.empty());
    std::string joined;
    joined.reserve(ex.text.size());
    long long tokens = 0;
    std::size_t prev_end = 0;
    for (const auto& c : chunks) {
        ASSERT_LT(c.char_begin, c.char_end);
        ASSERT_LE(c.char_end, ex.text.size());
        ASSERT_GE(c.char_begin, prev_end);
        const std::string_view gap = std::string_view(ex.text).substr(prev_end, c.char_begin - prev_end);
        ASSERT_TRUE(without_whitespace(gap).empty()) << "text lost between chunks at byte " << prev_end;
        prev_end = c.char_end;
        const std::string_view piece = std::string_view(ex.text).substr(c.char_begin, c.char_end - c.char_begin);
        ASSERT_TRUE(is_valid_utf8(piece)) << "cut inside a code point at byte " << c.char_begin;
        ASSERT_EQ(c.token_count, epic::test::count_subwords(piece));
        ASSERT_LE(c.token_count, target);
        // Cut inside a word only where the chunk is full: within target/64 tokens of the budget (the
        // chunker's slack), or one more code point would not fit.
        if (c.char_end < ex.text.size() && without_whitespace(std::string_view(ex.text).substr(c.char_end, 1)).size() &&
            c.token_count < target - target / 64) {
            std::size_t next = c.char_end + 1;
            while (next < ex.text.size() && (static_cast<unsigned char>(ex.text[next]) & 0xC0) == 0x80) ++next;
            ASSERT_GT(epic::test::count_subwords(std::string_view(ex.text).substr(c.char_begin, next - c.char_begin)), target)
                << "a cut at byte " << c.char_end << " where the next code point still fits";
        }
        tokens += c.token_count;
        joined += piece;
    }
    EXPECT_TRUE(without_whitespace(std::string_view(ex.text).substr(prev_end)).empty());
    EXPECT_TRUE(without_whitespace(joined) == without_whitespace(ex.text)) << "text not preserved";
    // Chunks are full, not cut one code point at a time: at most twice as many as the tokens need.
    EXPECT_LE(chunks.size(), 2 * static_cast<std::size_t>(tokens / target) + 2);
}

INSTANTIATE_TEST_SUITE_P(ingest_hostile, pathological,
                         ::testing::Values("one-word.txt", "cjk.txt", "heading.md", "ampersands.html",
                                           "less-than.html", "entities.html"),
                         [](const auto& info) {
                             std::string n = info.param;
                             for (auto& c : n)
                                 if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                             return n;
                         });

TEST(ingest_hostile, entity_decoding_is_linear_and_exact) {
    watchdog dog(std::chrono::seconds(90), "entity decoding");
    const std::size_t n = ten_mb / 5;
    std::string amps;  // "&amp&amp...&amp;": no entity until the very end
    for (std::size_t i = 0; i < n; ++i) amps += "&amp";
    amps += ';';
    std::string expected = amps.substr(0, amps.size() - 5) + "&";
    const auto t0 = clock_type::now();
    EXPECT_TRUE(decode_html_entities(amps) == expected);
    EXPECT_TRUE(decode_html_entities(std::string(ten_mb, '&') + ";") == std::string(ten_mb, '&') + ";");
    std::string hashes;  // "&#&#&#...": numeric entities with no digits and no end
    for (std::size_t i = 0; i < n; ++i) hashes += "&#";
    EXPECT_TRUE(decode_html_entities(hashes) == hashes);
    EXPECT_LT(seconds_since(t0), 30.0);
    // Near the length limit of an entity: a long numeric one still decodes, a longer name does not.
    EXPECT_EQ(decode_html_entities("&#x000000041;&#0000000065;"), "AA");
    EXPECT_EQ(decode_html_entities("&thisnameistoolong;"), "&thisnameistoolong;");
}

// Issue 14 (10): a random binary file named .txt was indexed as 291 chunks of garbage.
TEST(ingest_hostile, binary_and_non_utf8_files_are_not_text) {
    std::random_device rd;
    const unsigned seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    epic::test::scratch_dir dir;
    std::string binary(64 * 1024, '\0');
    for (auto& c : binary) c = static_cast<char>(rng());
    std::string no_nul = binary;  // random bytes without a single NUL: refused for its invalid UTF-8
    for (auto& c : no_nul)
        if (c == '\0') c = 'x';
    const std::string utf16("h\0e\0l\0l\0o\0 \0w\0o\0r\0l\0d\0", 22);
    // Mostly valid with a few stray bytes (a Latin-1 accent, a truncated sequence): repaired, kept.
    std::string mostly = "Caf\xE9 au lait, na\xEFve r\xC3\xA9sum\xC3\xA9. ";
    for (int i = 0; i < 5; ++i) mostly += mostly;
    write(dir / "docs/random.txt", binary);
    write(dir / "docs/no-nul.md", no_nul);
    write(dir / "docs/utf16.txt", utf16);
    write(dir / "docs/page.html", "<p>" + no_nul + "</p>");
    write(dir / "docs/mostly.txt", mostly);

    for (const char* name : {"random.txt", "no-nul.md", "utf16.txt", "page.html"}) {
        const fs::path file = dir / "docs" / name;
        const auto bytes = read_whole_file(file);
        try {
            extract_document(file, bytes, *document_kind(file));
            ADD_FAILURE() << name << " was taken for text";
        } catch (const epic::storage_error& e) {
            const std::string msg = e.what();
            EXPECT_EQ(msg.find(file.string() + ": not a text file"), 0u) << msg;
        }
    }
    const auto ok = extract_document(dir / "docs/mostly.txt", read_whole_file(dir / "docs/mostly.txt"), "txt");
    EXPECT_TRUE(is_valid_utf8(ok.text));
    EXPECT_NE(ok.text.find("r\xC3\xA9sum\xC3\xA9"), std::string::npos);

    library lib(dir / "library.db");
    const auto r = add_paths(lib, std::vector<fs::path>{dir / "docs"});
    EXPECT_EQ(r.added, 1u);
    EXPECT_EQ(r.failed, 4u);
    for (const char* name : {"random.txt", "no-nul.md", "utf16.txt", "page.html"}) {
        const auto d = lib.document_by_path((dir / "docs" / name).string());
        ASSERT_TRUE(d) << name;
        EXPECT_EQ(d->status, doc_status::failed) << name;
        EXPECT_NE(d->error.find(name), std::string::npos) << d->error;
        EXPECT_NE(d->error.find("not a text file"), std::string::npos) << d->error;
        EXPECT_EQ(d->chunk_count, 0);
    }
}

// Issue 14 (10): a 50 MB text file was accepted although compiling it would take hours.
TEST(ingest_hostile, documents_over_the_size_limit_are_refused_naming_size_and_limit) {
    epic::test::scratch_dir dir;
    std::string big;
    big.reserve(default_max_document_text_bytes + 4096);
    while (big.size() <= default_max_document_text_bytes) big += "lorem ipsum dolor sit amet consectetur. ";
    write(dir / "docs/big.txt", big);
    write(dir / "docs/small.txt", "a small document");
    library lib(dir / "library.db");
    const auto r = add_paths(lib, std::vector<fs::path>{dir / "docs"});
    EXPECT_EQ(r.added, 1u);
    ASSERT_EQ(r.failed, 1u);
    const std::string& err = r.failures[0].error;
    EXPECT_EQ(err.find((dir / "docs/big.txt").string() + ": "), 0u) << err;
    EXPECT_NE(err.find("too large"), std::string::npos) << err;
    EXPECT_NE(err.find("20.0 MiB"), std::string::npos) << err;  // the limit
    EXPECT_NE(err.find(std::to_string(big.size()) + " bytes"), std::string::npos) << err;  // its size
    const auto d = lib.document_by_path((dir / "docs/big.txt").string());
    ASSERT_TRUE(d);
    EXPECT_EQ(d->status, doc_status::failed);
    EXPECT_EQ(d->chunk_count, 0);

    // The limit is an option, on the extracted text.
    ingest_options opt;
    opt.max_text_bytes = 10;
    write(dir / "more/eleven.txt", "eleven char");
    write(dir / "more/ten.txt", "ten chars!");
    const auto r2 = add_paths(lib, std::vector<fs::path>{dir / "more"}, opt);
    EXPECT_EQ(r2.added, 1u);
    ASSERT_EQ(r2.failed, 1u);
    EXPECT_EQ(r2.failures[0].error.find((dir / "more/eleven.txt").string() + ": "), 0u) << r2.failures[0].error;
    EXPECT_NE(r2.failures[0].error.find("11 bytes"), std::string::npos) << r2.failures[0].error;
}
