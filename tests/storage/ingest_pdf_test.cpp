// PDF extraction through poppler-cpp on a PDF written by hand here (xref offsets computed), with known
// text on known pages; garbage PDFs become failed documents.
#include "ingest/extract.h"
#include "ingest/ingestor.h"
#include "kvstore/atomic_file.h"
#include "library/library.h"
#include "storage_error.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>

using namespace epic::storage;
namespace fs = std::filesystem;

namespace {

// A minimal valid PDF 1.4: one Helvetica text object per line, lines of a page 20pt apart.
std::string make_pdf(const std::vector<std::vector<std::string>>& pages, const std::string& title) {
    std::vector<std::string> objects;  // objects[i] is object number i + 1
    const int n_pages = static_cast<int>(pages.size());
    const int font = 3 + 2 * n_pages, info = font + 1;
    objects.push_back("<< /Type /Catalog /Pages 2 0 R >>");
    std::string kids;
    for (int p = 0; p < n_pages; ++p) kids += std::to_string(3 + 2 * p) + " 0 R ";
    objects.push_back("<< /Type /Pages /Kids [" + kids + "] /Count " + std::to_string(n_pages) + " >>");
    for (int p = 0; p < n_pages; ++p) {
        objects.push_back("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 " +
                          std::to_string(font) + " 0 R >> >> /Contents " + std::to_string(4 + 2 * p) + " 0 R >>");
        std::string content;
        int y = 720;
        for (const auto& line : pages[p]) {
            content += "BT /F1 12 Tf 72 " + std::to_string(y) + " Td (" + line + ") Tj ET\n";
            y -= 20;
        }
        objects.push_back("<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content + "endstream");
    }
    objects.push_back("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
    objects.push_back("<< /Title (" + title + ") >>");

    std::string pdf = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
    std::vector<std::size_t> offsets;
    for (std::size_t i = 0; i < objects.size(); ++i) {
        offsets.push_back(pdf.size());
        pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
    }
    const std::size_t xref = pdf.size();
    pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
    for (auto off : offsets) {
        char entry[21];
        std::snprintf(entry, sizeof entry, "%010zu 00000 n \n", off);
        pdf += entry;
    }
    pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) + " /Root 1 0 R /Info " + std::to_string(info) +
           " 0 R >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
    return pdf;
}

std::string random_word(std::mt19937& rng) {
    std::string w;
    for (int i = 0; i < 8; ++i) w += static_cast<char>('a' + rng() % 26);
    return w;
}

void write(const fs::path& p, std::string_view content) { epic::test::write_file(p, content); }

} // namespace

TEST(pdf, text_per_page_and_chunk_page_spans) {
    std::random_device rd;
    const unsigned seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const int n_pages = 3 + static_cast<int>(rng() % 3);
    std::vector<std::string> marker;
    std::vector<std::vector<std::string>> pages;
    for (int p = 0; p < n_pages; ++p) {
        marker.push_back(random_word(rng));
        pages.push_back({"Page " + std::to_string(p + 1) + " says " + marker[p] + " first.",
                         "Second line of page " + std::to_string(p + 1) + " with more words."});
    }
    epic::test::scratch_dir dir;
    const auto file = dir / "docs/hand.pdf";
    write(file, make_pdf(pages, "Hand Made"));

    const auto ex = extract_document(file, read_whole_file(file), "pdf");
    EXPECT_EQ(ex.title, "Hand Made");
    ASSERT_EQ(ex.page_starts.size(), static_cast<std::size_t>(n_pages));
    for (int p = 0; p < n_pages; ++p) {
        const std::size_t b = ex.page_starts[p], e = p + 1 < n_pages ? ex.page_starts[p + 1] : ex.text.size();
        const std::string page_text = ex.text.substr(b, e - b);
        EXPECT_NE(page_text.find("Page " + std::to_string(p + 1) + " says " + marker[p] + " first."), std::string::npos)
            << page_text;
        EXPECT_NE(page_text.find("Second line of page " + std::to_string(p + 1)), std::string::npos) << page_text;
        for (int q = 0; q < n_pages; ++q)
            if (q != p) EXPECT_EQ(page_text.find(marker[q]), std::string::npos);
        EXPECT_EQ(page_at(ex.page_starts, b + 2), p + 1);
    }

    // Small chunks: each lies on one page, the page whose marker it holds.
    library lib(dir / "library.db");
    ingest_options opt;
    opt.chunking.target_tokens = 7;
    const auto r = add_paths(lib, std::vector<fs::path>{file}, opt);
    ASSERT_EQ(r.added, 1u) << (r.failures.empty() ? "" : r.failures[0].error);
    const auto doc = lib.document_by_path(file.string());
    EXPECT_EQ(doc->kind, "pdf");
    for (int p = 0; p < n_pages; ++p) {
        const auto hits = lib.search(marker[p], 5);
        ASSERT_EQ(hits.size(), 1u);
        EXPECT_EQ(hits[0].page_begin, p + 1);
        EXPECT_EQ(hits[0].page_end, p + 1);
    }
    for (const auto& c : lib.chunks_of(doc->id)) {
        EXPECT_EQ(ex.text.substr(c.char_begin, c.char_end - c.char_begin), c.text);
        EXPECT_GE(c.page_begin, 1);
        EXPECT_LE(c.page_end, n_pages);
    }

    // One big chunk spans every page.
    const auto one = chunk_text(ex.text, ex.page_starts, count_words, {10000});
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0].page_begin, 1);
    EXPECT_EQ(one[0].page_end, n_pages);
}

TEST(pdf, garbage_and_truncated_pdfs_become_failed_documents) {
    std::random_device rd;
    const unsigned seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    epic::test::scratch_dir dir;
    std::string junk(4096, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    write(dir / "docs/garbage.pdf", junk);
    write(dir / "docs/empty.pdf", "");
    write(dir / "docs/textless.pdf", make_pdf({{}, {}}, "No text"));
    write(dir / "docs/good.txt", "a good document");

    library lib(dir / "library.db");
    const auto r = add_paths(lib, std::vector<fs::path>{dir / "docs"});
    EXPECT_EQ(r.added, 1u);
    EXPECT_EQ(r.failed, 3u);
    for (const char* name : {"garbage.pdf", "empty.pdf", "textless.pdf"}) {
        const auto d = lib.document_by_path((dir / "docs" / name).string());
        ASSERT_TRUE(d) << name;
        EXPECT_EQ(d->status, doc_status::failed) << name;
        EXPECT_NE(d->error.find(name), std::string::npos) << d->error;
        EXPECT_EQ(d->chunk_count, 0);
        EXPECT_TRUE(lib.chunks_of(d->id).empty());
    }
    EXPECT_NE(lib.document_by_path((dir / "docs/textless.pdf").string())->error.find("no extractable text"),
              std::string::npos);
    // Unchanged failed files are not retried; a fixed file is.
    EXPECT_EQ(add_paths(lib, std::vector<fs::path>{dir / "docs"}).unchanged, 4u);
    write(dir / "docs/garbage.pdf", make_pdf({{"Now fixed"}}, "Fixed"));
    const auto r3 = add_paths(lib, std::vector<fs::path>{dir / "docs"});
    EXPECT_EQ(r3.updated, 1u);
    const auto fixed = lib.document_by_path((dir / "docs/garbage.pdf").string());
    EXPECT_EQ(fixed->status, doc_status::ready);
    EXPECT_TRUE(fixed->error.empty());
    EXPECT_EQ(fixed->title, "Fixed");
}

// Issue 14 (9): poppler's own warnings flooded stderr (497k lines for one folder). A damaged PDF now
// prints nothing and fails with one error naming the file.
TEST(pdf, damaged_pdfs_print_nothing_and_fail_naming_the_file) {
    std::random_device rd;
    const unsigned seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    epic::test::scratch_dir dir;
    const std::string good = make_pdf({{"Some text on a page"}, {"More text"}}, "Good");
    std::string junk(8192, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    write(dir / "docs/header-then-junk.pdf", "%PDF-1.4\n" + junk);
    write(dir / "docs/truncated.pdf", good.substr(0, good.size() / 3));
    std::string scrambled = good;  // objects and xref overwritten in the middle: poppler complains a lot
    for (std::size_t i = scrambled.size() / 4; i < scrambled.size() * 3 / 4; ++i) scrambled[i] = static_cast<char>(rng());
    write(dir / "docs/scrambled.pdf", scrambled);

    // Everything poppler might write to stderr lands in a file instead, then is read back.
    const fs::path err_file = dir / "stderr.txt";
    std::fflush(stderr);
    const int saved = ::dup(2);
    ASSERT_GE(saved, 0);
    FILE* sink = std::fopen(err_file.c_str(), "w");
    ASSERT_TRUE(sink);
    ::dup2(::fileno(sink), 2);
    std::vector<std::string> errors;
    for (const char* name : {"header-then-junk.pdf", "truncated.pdf", "scrambled.pdf"}) {
        const fs::path file = dir / "docs" / name;
        try {
            extract_document(file, read_whole_file(file), "pdf");
            errors.push_back(std::string(name) + ": no error");
        } catch (const epic::storage_error& e) {
            errors.push_back(e.what());
        }
    }
    library lib(dir / "library.db");
    const auto r = add_paths(lib, std::vector<fs::path>{dir / "docs"});
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    std::fclose(sink);

    std::ifstream in(err_file, std::ios::binary);
    const std::string printed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(printed, "") << "poppler wrote to stderr";
    // The junk and truncated files are unreadable; each error starts with the file it concerns.
    for (std::size_t i = 0; i < 2; ++i) {
        const std::string name = i == 0 ? "header-then-junk.pdf" : "truncated.pdf";
        EXPECT_EQ(errors[i].find((dir / "docs" / name).string() + ": "), 0u) << errors[i];
    }
    EXPECT_EQ(r.added + r.failed, 3u);
    EXPECT_GE(r.failed, 2u);
    for (const auto& f : r.failures) EXPECT_EQ(f.error.find(f.path + ": "), 0u) << f.error;
}
