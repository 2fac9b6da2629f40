// Ingestion on an unlucky machine: the library's disk fills up mid-add (SQLite's own SQLITE_FULL,
// provoked by capping the database's page count, and a real full tmpfs where mounting is allowed), a
// known file becomes unreadable. Nothing is lost for good: a document the library could not take is
// retried once there is room, and an unreadable file keeps what was indexed.
#include "ingest/ingestor.h"
#include "library/library.h"
#include "sqlite/statement.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <sys/mount.h>
#include <unistd.h>

#include <fstream>
#include <random>

using namespace epic::storage;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& p, std::string_view content) { epic::test::write_file(p, content); }

// Random words, enough to need many database pages once chunked and indexed.
std::string random_text(std::mt19937& rng, std::size_t words) {
    std::string out;
    for (std::size_t w = 0; w < words; ++w) {
        const int len = 2 + static_cast<int>(rng() % 8);
        for (int c = 0; c < len; ++c) out += static_cast<char>('a' + rng() % 26);
        out += (w % 17 == 16) ? ".\n\n" : " ";
    }
    return out;
}

std::int64_t page_count(library& lib) {
    auto st = lib.db().prepare("PRAGMA page_count");
    st.step();
    return st.column_int64(0);
}

void set_max_pages(library& lib, std::int64_t pages) {
    auto st = lib.db().prepare("PRAGMA max_page_count = " + std::to_string(pages));
    st.step();
}

} // namespace

TEST(ingest_unlucky, a_document_the_full_library_could_not_take_is_retried_when_there_is_room) {
    std::mt19937 rng(std::random_device{}());
    epic::test::scratch_dir dir;
    library lib(dir / "library.db");
    const fs::path small = dir / "docs" / "small.txt";
    const fs::path big = dir / "docs" / "big.txt";
    write(small, random_text(rng, 200));
    write(big, random_text(rng, 60000));
    const std::vector<fs::path> first{small};
    ASSERT_EQ(add_paths(lib, first).added, 1u);

    // The disk is full: the database cannot grow by more than a few pages.
    set_max_pages(lib, page_count(lib) + 4);
    const std::vector<fs::path> both{small, big};
    const ingest_report full = add_paths(lib, both);
    EXPECT_EQ(full.unchanged, 1u);
    EXPECT_EQ(full.failed, 1u);
    ASSERT_EQ(full.failures.size(), 1u);
    EXPECT_EQ(full.failures[0].path, big.string());
    EXPECT_NE(full.failures[0].error.find("could not be saved"), std::string::npos) << full.failures[0].error;

    // Space freed: adding again ingests it, it is not "unchanged".
    set_max_pages(lib, 1 << 30);
    const ingest_report retried = add_paths(lib, both);
    EXPECT_EQ(retried.added, 1u);
    EXPECT_EQ(retried.unchanged, 1u);
    EXPECT_EQ(retried.failed, 0u);
    const auto doc = lib.document_by_path(big.string());
    ASSERT_TRUE(doc);
    EXPECT_EQ(doc->status, doc_status::ready);
    EXPECT_GT(lib.chunks_of(doc->id).size(), 10u);
}

TEST(ingest_unlucky, an_updated_document_that_cannot_be_saved_keeps_its_previous_version) {
    std::mt19937 rng(std::random_device{}());
    epic::test::scratch_dir dir;
    library lib(dir / "library.db");
    const fs::path doc_path = dir / "docs" / "notes.txt";
    write(doc_path, random_text(rng, 300));
    const std::vector<fs::path> paths{doc_path};
    ASSERT_EQ(add_paths(lib, paths).added, 1u);
    const auto before = lib.document_by_path(doc_path.string());
    const auto chunks_before = lib.chunks_of(before->id);

    write(doc_path, random_text(rng, 60000));
    set_max_pages(lib, page_count(lib) + 4);
    const ingest_report full = add_paths(lib, paths);
    EXPECT_EQ(full.failed, 1u);
    const auto during = lib.document_by_path(doc_path.string());
    EXPECT_EQ(during->status, doc_status::ready);
    EXPECT_EQ(during->content_hash, before->content_hash);
    EXPECT_EQ(lib.chunks_of(during->id).size(), chunks_before.size());

    set_max_pages(lib, 1 << 30);
    const ingest_report retried = add_paths(lib, paths);
    EXPECT_EQ(retried.updated, 1u);
    EXPECT_NE(lib.document_by_path(doc_path.string())->content_hash, before->content_hash);
}

TEST(ingest_unlucky, a_real_full_disk_loses_nothing) {
    if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
    std::mt19937 rng(std::random_device{}());
    epic::test::scratch_dir dir;
    const fs::path mnt = dir / "disk";
    fs::create_directories(mnt);
    if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=1m") != 0) GTEST_SKIP() << "mount not permitted here";
    struct unmount {
        fs::path p;
        ~unmount() { ::umount2(p.c_str(), MNT_DETACH); }
    } guard{mnt};

    const fs::path big = dir / "docs" / "big.txt";
    write(big, random_text(rng, 250000));  // ~1.6 MB of text: its chunks cannot fit in 1 MB
    std::vector<fs::path> paths{big};
    {
        library lib(mnt / "library.db");
        const ingest_report full = add_paths(lib, paths);
        EXPECT_EQ(full.failed, 1u);
        EXPECT_EQ(full.added, 0u);
    }
    // Free the space: the same library, a smaller document in place of the big one's text.
    write(big, random_text(rng, 3000));
    library lib(mnt / "library.db");
    const ingest_report retried = add_paths(lib, paths);
    EXPECT_EQ(retried.added, 1u) << "failed " << retried.failed << ", unchanged " << retried.unchanged;
    EXPECT_EQ(lib.document_by_path(big.string())->status, doc_status::ready);
}

TEST(ingest_unlucky, a_known_file_that_becomes_unreadable_keeps_its_chunks) {
    std::mt19937 rng(std::random_device{}());
    epic::test::scratch_dir dir;
    const fs::path doc_path = dir / "docs" / "notes.txt";
    write(doc_path, random_text(rng, 400));
    std::int64_t id = 0;
    std::size_t n = 0;
    {
        library lib(dir / "library.db");
        const std::vector<fs::path> paths{doc_path};
        ASSERT_EQ(add_paths(lib, paths).added, 1u);
        id = lib.document_by_path(doc_path.string())->id;
        n = lib.chunks_of(id).size();
    }
    fs::permissions(doc_path, fs::perms::none);
    // Root reads anything: as root the add runs in a child that has dropped to an unprivileged user
    // (the library folder opened to it), so the file is unreadable there as it is for a user.
    const auto add_unreadable = [&] {
        library lib(dir / "library.db");
        const std::vector<fs::path> paths{doc_path};
        const ingest_report r = add_paths(lib, paths);
        const bool ok = r.failed == 1 && r.failures.size() == 1 &&
                        r.failures[0].error.find(doc_path.string()) != std::string::npos &&
                        lib.chunks_of(id).size() == n && lib.document(id)->status == doc_status::ready;
        if (!ok)
            std::fprintf(stderr, "failed %zu, chunks %zu of %zu, status %s\n", r.failed, lib.chunks_of(id).size(), n,
                         std::string(to_string(lib.document(id)->status)).c_str());
        return ok;
    };
    if (::geteuid() != 0) {
        EXPECT_TRUE(add_unreadable());
        return;
    }
    for (const auto& p : fs::recursive_directory_iterator(dir.path()))
        if (p.path() != doc_path) fs::permissions(p.path(), fs::perms::all, fs::perm_options::add);
    fs::permissions(dir.path(), fs::perms::all, fs::perm_options::add);
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(
        {
            if (::setegid(65534) != 0 || ::seteuid(65534) != 0) std::exit(2);
            std::exit(add_unreadable() ? 0 : 1);
        },
        testing::ExitedWithCode(0), "");
}
