// Ingestion: extraction (txt/md/html), chunking, re-adding, folders, UTF-8 repair, progress, cancel.
#include "common/utf8.h"
#include "ingest/chunker.h"
#include "ingest/extract.h"
#include "ingest/html_text.h"
#include "ingest/ingestor.h"
#include "kvstore/atomic_file.h"
#include "library/library.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

using namespace epic::storage;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& p, std::string_view content) { epic::test::write_file(p, content); }

// Random prose: paragraphs of sentences of random words, words from a random vocabulary.
std::string random_prose(std::mt19937& rng, int paragraphs, const std::string& marker = {}) {
    std::string out;
    for (int p = 0; p < paragraphs; ++p) {
        const int sentences = 1 + static_cast<int>(rng() % 12);
        for (int s = 0; s < sentences; ++s) {
            const int words = 3 + static_cast<int>(rng() % 25);
            for (int w = 0; w < words; ++w) {
                std::string word;
                const int len = 1 + static_cast<int>(rng() % 9);
                for (int c = 0; c < len; ++c) word += static_cast<char>('a' + rng() % 26);
                out += (w ? " " : "") + word;
            }
            out += rng() % 5 == 0 ? "? " : ". ";
        }
        if (!marker.empty() && p == paragraphs / 2) out += marker + ". ";
        out += "\n\n";
    }
    return out;
}

std::vector<std::string> split_words(std::string_view s) {
    std::istringstream in{std::string(s)};
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

std::vector<std::byte> file_bytes(const fs::path& p) { return read_whole_file(p); }

} // namespace

TEST(chunker, respects_budget_prefers_paragraphs_and_spans_map_back) {
    std::random_device rd;
    const unsigned seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const std::string text = random_prose(rng, 60);
    const int target = 40 + static_cast<int>(rng() % 100);
    const auto chunks = chunk_text(text, {}, count_words, {target});
    ASSERT_FALSE(chunks.empty());
    std::vector<std::string> all_words;
    std::size_t prev_end = 0;
    int paragraph_cuts = 0;
    for (std::size_t i = 0; i < chunks.size(); ++i) {
        const auto& c = chunks[i];
        ASSERT_LT(c.char_begin, c.char_end);
        ASSERT_LE(c.char_end, text.size());
        EXPECT_GE(c.char_begin, prev_end);  // in order, no overlap
        prev_end = c.char_end;
        const std::string_view piece = std::string_view(text).substr(c.char_begin, c.char_end - c.char_begin);
        EXPECT_EQ(c.token_count, count_words(piece));
        EXPECT_LE(c.token_count, target);
        EXPECT_EQ(c.page_begin, 0);
        // Whitespace between chunks only: nothing is lost.
        for (auto& w : split_words(piece)) all_words.push_back(w);
        if (i + 1 < chunks.size()) {
            const std::string_view gap = std::string_view(text).substr(c.char_end, chunks[i + 1].char_begin - c.char_end);
            EXPECT_EQ(gap.find_first_not_of(" \n"), std::string_view::npos);
            paragraph_cuts += gap.find("\n\n") != std::string_view::npos;
            // A chunk is only cut where the next piece would not fit: merging with the next chunk's
            // first paragraph/sentence would exceed the budget. (Checked loosely: the two together do.)
            EXPECT_GT(c.token_count + chunks[i + 1].token_count, target);
        }
    }
    EXPECT_EQ(all_words, split_words(text));
    // Most cuts fall on paragraph boundaries (paragraphs average ~100 words, so some must be split).
    EXPECT_GT(paragraph_cuts, 0);
}

TEST(chunker, cuts_long_sentences_at_words_and_giant_words_between_code_points) {
    // Token counter = code points, so a 300-character "word" needs a hard split.
    const auto count_cps = [](std::string_view s) {
        int n = 0;
        for (unsigned char c : s) n += (c & 0xC0) != 0x80;
        return n;
    };
    std::string giant;
    for (int i = 0; i < 100; ++i) giant += "a\xC3\xA9\xE4\xB8\xAD";  // 3 code points, 6 bytes
    const std::string text = "short one. " + giant + " tail words here.";
    const auto chunks = chunk_text(text, {}, count_cps, {50});
    std::string joined;
    for (const auto& c : chunks) {
        const std::string piece = text.substr(c.char_begin, c.char_end - c.char_begin);
        EXPECT_LE(c.token_count, 50);
        EXPECT_TRUE(is_valid_utf8(piece)) << "cut inside a code point";
        joined += piece;
    }
    EXPECT_NE(joined.find(giant), std::string::npos);  // nothing lost, pieces contiguous
}

TEST(chunker, page_spans_follow_page_starts) {
    const std::string text = "page one text.\n\npage two text.\n\npage three text.";
    const std::vector<std::size_t> pages{0, text.find("page two"), text.find("page three")};
    const auto small = chunk_text(text, pages, count_words, {3});
    ASSERT_EQ(small.size(), 3u);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(small[i].page_begin, i + 1);
        EXPECT_EQ(small[i].page_end, i + 1);
    }
    const auto big = chunk_text(text, pages, count_words, {100});
    ASSERT_EQ(big.size(), 1u);
    EXPECT_EQ(big[0].page_begin, 1);
    EXPECT_EQ(big[0].page_end, 3);
}

TEST(extract, html_is_stripped_and_entities_decoded) {
    const std::string html =
        "<!DOCTYPE html><html><head><title>The &amp; Title</title><style>body { color: red; }</style>"
        "<script>var x = '<p>not text</p>'; if (a < b) alert(1);</script></head>"
        "<body><!-- a comment <p>hidden</p> --><h1>Heading</h1><p class=\"x>y\">First   para&nbsp;with "
        "<b>bold</b> &lt;tag&gt; &#233;&#x1F600; &unknown; AT&T</p><p>Second<br>line</p>"
        "<SCRIPT type='text/javascript'>evil()</SCRIPT><ul><li>one</li><li>two</li></ul></body></html>";
    const auto h = html_to_text(html);
    EXPECT_EQ(h.title, "The & Title");
    EXPECT_EQ(h.text.find("color"), std::string::npos);
    EXPECT_EQ(h.text.find("not text"), std::string::npos);
    EXPECT_EQ(h.text.find("alert"), std::string::npos);
    EXPECT_EQ(h.text.find("evil"), std::string::npos);
    EXPECT_EQ(h.text.find("hidden"), std::string::npos);
    EXPECT_EQ(h.text.find('<'), h.text.find("<tag>"));
    EXPECT_NE(h.text.find("First para\xC2\xA0with bold <tag> \xC3\xA9\xF0\x9F\x98\x80 &unknown; AT&T"), std::string::npos)
        << h.text;
    EXPECT_NE(h.text.find("Heading\n\nFirst"), std::string::npos) << h.text;
    EXPECT_NE(h.text.find("Second\nline"), std::string::npos) << h.text;
    EXPECT_NE(h.text.find("one\n\ntwo"), std::string::npos) << h.text;
    EXPECT_EQ(decode_html_entities("&#0; &#xD800; &#99999999;"), "\xEF\xBF\xBD \xEF\xBF\xBD &#99999999;");
    // Issue 17: only 32 names were known, so these stayed literal in extracted text.
    EXPECT_EQ(decode_html_entities("Jos&eacute; Garc&iacute;a M&oacute;nica &rarr; 3&times;4 &Omega;&alpha;&hearts; &apos;q&apos;"),
              "Jos\xC3\xA9 Garc\xC3\xAD" "a M\xC3\xB3nica \xE2\x86\x92 3\xC3\x97" "4 \xCE\xA9\xCE\xB1\xE2\x99\xA5 'q'");
    EXPECT_EQ(decode_html_entities("&Eacute;&EACUTE;&thetasym;&OElig;"), "\xC3\x89&EACUTE;\xCF\x91\xC5\x92");
}

TEST(extract, invalid_utf8_is_repaired) {
    EXPECT_EQ(repair_utf8("ok \xC3\xA9"), "ok \xC3\xA9");
    EXPECT_EQ(repair_utf8("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
    EXPECT_EQ(repair_utf8("\xE4\xB8"), "\xEF\xBF\xBD");            // truncated sequence: one U+FFFD
    EXPECT_EQ(repair_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong
    EXPECT_EQ(repair_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
    EXPECT_EQ(repair_utf8(std::string("a\0b", 3)), "ab");
    std::random_device rd;
    const unsigned seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    for (int i = 0; i < 200; ++i) {
        std::string junk(rng() % 64, '\0');
        for (auto& c : junk) c = static_cast<char>(rng());
        EXPECT_TRUE(is_valid_utf8(repair_utf8(junk)));
    }
    EXPECT_EQ(normalize_plain_text("\xEF\xBB\xBFl1\r\nl2\rl3"), "l1\nl2\nl3");
}

TEST(ingest, readd_unchanged_changed_and_folder_recursion) {
    std::random_device rd;
    const unsigned seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    epic::test::scratch_dir dir;
    library lib(dir / "library.db");
    const fs::path root = dir / "docs";
    write(root / "a.txt", random_prose(rng, 20, "aardvarkone"));
    write(root / "sub/deeper/b.md", "# Bee Title\n\n" + random_prose(rng, 10, "beetletwo"));
    write(root / "sub/c.HTML", "<html><head><title>Cee</title></head><body><p>" + random_prose(rng, 5, "cobrathree") + "</p></body></html>");
    write(root / ".hidden.txt", "secret hidden");
    write(root / ".git/d.txt", "inside a hidden folder");
    write(root / "sub/e.docx", "unknown type");
    write(root / "bad.txt", std::string("caf\xC3 broken \xFF bytes and a zebrafour"));

    ingest_options opt;
    opt.chunking.target_tokens = 60;
    std::vector<ingest_progress> seen;
    const auto r = add_paths(lib, std::vector<fs::path>{root}, opt, [&](const ingest_progress& p) { seen.push_back(p); });
    EXPECT_EQ(r.added, 4u);
    EXPECT_EQ(r.failed, 0u);
    EXPECT_FALSE(r.cancelled);
    ASSERT_EQ(seen.size(), 4u);
    for (std::size_t i = 0; i < seen.size(); ++i) {
        EXPECT_EQ(seen[i].documents_done, i + 1);
        EXPECT_EQ(seen[i].documents_total, 4u);
    }
    EXPECT_EQ(seen.back().chunks_written, static_cast<std::size_t>(lib.chunk_count()));

    const auto docs = lib.documents();
    ASSERT_EQ(docs.size(), 4u);
    for (const auto& d : docs) {
        EXPECT_EQ(d.status, doc_status::ready) << d.path << ": " << d.error;
        EXPECT_EQ(d.path.find(".hidden"), std::string::npos);
        EXPECT_EQ(d.path.find(".git"), std::string::npos);
        EXPECT_GT(d.chunk_count, 0);
    }
    EXPECT_EQ(lib.document_by_path((root / "sub/deeper/b.md").string())->title, "Bee Title");
    EXPECT_EQ(lib.document_by_path((root / "sub/c.HTML").string())->title, "Cee");
    EXPECT_EQ(lib.document_by_path((root / "sub/c.HTML").string())->kind, "html");
    for (const char* w : {"aardvarkone", "beetletwo", "cobrathree", "zebrafour"}) EXPECT_EQ(lib.search(w, 3).size(), 1u) << w;
    EXPECT_TRUE(lib.search("secret", 3).empty());
    EXPECT_TRUE(lib.search("html head body", 3).empty());  // tags never reach the index

    // The repaired document stores valid UTF-8 with U+FFFD where the bad bytes were.
    const auto bad = lib.document_by_path((root / "bad.txt").string());
    const auto bad_chunks = lib.chunks_of(bad->id);
    ASSERT_EQ(bad_chunks.size(), 1u);
    EXPECT_EQ(bad_chunks[0].text, "caf\xEF\xBF\xBD broken \xEF\xBF\xBD bytes and a zebrafour");

    // Every chunk's span maps back into its document's extracted text, within the token budget.
    for (const auto& d : lib.documents()) {
        const auto ex = extract_document(d.path, file_bytes(d.path), d.kind);
        for (const auto& c : lib.chunks_of(d.id)) {
            EXPECT_EQ(ex.text.substr(c.char_begin, c.char_end - c.char_begin), c.text);
            EXPECT_LE(c.token_count, 60);
            EXPECT_EQ(c.token_count, count_words(c.text));
        }
    }

    // Re-adding unchanged files does nothing: same chunk ids.
    const auto a_path = (root / "a.txt").string();
    const auto a_id = lib.document_by_path(a_path)->id;
    std::vector<std::int64_t> ids_before;
    for (const auto& c : lib.chunks_of(a_id)) ids_before.push_back(c.id);
    const auto r2 = add_paths(lib, std::vector<fs::path>{root});
    EXPECT_EQ(r2.unchanged, 4u);
    EXPECT_EQ(r2.added + r2.updated, 0u);
    std::vector<std::int64_t> ids_after;
    for (const auto& c : lib.chunks_of(a_id)) ids_after.push_back(c.id);
    EXPECT_EQ(ids_before, ids_after);

    // A changed file replaces its chunks (same document id, new chunk ids, old text gone).
    write(root / "a.txt", random_prose(rng, 8, "armadillofive"));
    const auto r3 = add_paths(lib, std::vector<fs::path>{root / "a.txt"}, opt);
    EXPECT_EQ(r3.updated, 1u);
    EXPECT_EQ(lib.document_by_path(a_path)->id, a_id);
    const auto new_chunks = lib.chunks_of(a_id);
    ASSERT_FALSE(new_chunks.empty());
    for (const auto& c : new_chunks)
        EXPECT_EQ(std::find(ids_before.begin(), ids_before.end(), c.id), ids_before.end());
    EXPECT_TRUE(lib.search("aardvarkone", 3).empty());
    ASSERT_EQ(lib.search("armadillofive", 3).size(), 1u);
    EXPECT_EQ(lib.search("armadillofive", 3)[0].document_id, a_id);

    // Explicit paths of unknown type are skipped, not failed.
    const auto r4 = add_paths(lib, std::vector<fs::path>{root / "sub/e.docx", root / "nope.txt"});
    EXPECT_EQ(r4.skipped, 2u);
    EXPECT_EQ(lib.documents().size(), 4u);
}

TEST(ingest, cancel_between_documents_keeps_finished_ones) {
    std::random_device rd;
    const unsigned seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    epic::test::scratch_dir dir;
    library lib(dir / "library.db");
    for (int i = 0; i < 6; ++i) write(dir / "docs" / ("f" + std::to_string(i) + ".txt"), random_prose(rng, 3));
    std::atomic<bool> cancel{false};
    const auto r = add_paths(lib, std::vector<fs::path>{dir / "docs"}, {},
                             [&](const ingest_progress& p) { if (p.documents_done == 2) cancel = true; }, &cancel);
    EXPECT_TRUE(r.cancelled);
    EXPECT_EQ(r.added, 2u);
    std::size_t ready = 0;
    for (const auto& d : lib.documents()) ready += d.status == doc_status::ready;
    EXPECT_EQ(ready, 2u);
    // Resuming later adds the rest and leaves the first two alone.
    const auto r2 = add_paths(lib, std::vector<fs::path>{dir / "docs"});
    EXPECT_EQ(r2.unchanged, 2u);
    EXPECT_EQ(r2.added, 4u);
}
