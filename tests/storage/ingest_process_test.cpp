// Multi-process behaviour: a SIGKILLed ingestion leaves a consistent library, and an ingesting
// process and a searching (and KV-writing) process share a library without SQLITE_BUSY failures.
#include "ingest/chunker.h"
#include "ingest/ingestor.h"
#include "kvstore/kv_store.h"
#include "library/library.h"
#include "sqlite/statement.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>

using namespace epic::storage;
namespace fs = std::filesystem;

namespace {

std::string random_text(std::mt19937& rng, int paragraphs) {
    std::string out;
    for (int p = 0; p < paragraphs; ++p) {
        const int words = 20 + static_cast<int>(rng() % 60);
        for (int w = 0; w < words; ++w) {
            const int len = 2 + static_cast<int>(rng() % 7);
            for (int c = 0; c < len; ++c) out += static_cast<char>('a' + rng() % 26);
            out += w + 1 < words ? (rng() % 9 == 0 ? ". " : " ") : ".\n\n";
        }
    }
    return out;
}

void make_corpus(const fs::path& root, std::mt19937& rng, int files, int paragraphs) {
    for (int i = 0; i < files; ++i) {
        const fs::path p = root / ("d" + std::to_string(i % 7)) / ("f" + std::to_string(i) + ".txt");
        fs::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << random_text(rng, paragraphs);
    }
}

// Runs fn in a child process; the child's exit status is 0 when fn returned true without throwing.
template <class Fn>
pid_t spawn(Fn fn) {
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        int code = 1;
        try {
            code = fn() ? 0 : 1;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "child %d: %s\n", static_cast<int>(::getpid()), e.what());
            code = 2;
        }
        std::fflush(nullptr);
        ::_exit(code);  // never return into gtest in the child
    }
    return pid;
}

int wait_exit(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

} // namespace

TEST(ingest_process, sigkill_mid_ingestion_leaves_whole_documents_only) {
    std::random_device rd;
    const unsigned seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    epic::test::scratch_dir dir;
    const int n_files = 120;
    make_corpus(dir / "corpus", rng, n_files, 40);
    const auto db_file = dir / "library.db";
    { library create(db_file); }

    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t child = spawn([&] {
        ::close(fds[0]);
        library lib(db_file);
        ingest_options opt;
        opt.chunking.target_tokens = 24;  // many chunks per document: long transactions to interrupt
        add_paths(lib, std::vector<fs::path>{dir / "corpus"}, opt, [&](const ingest_progress&) {
            const char one = 1;
            (void)!::write(fds[1], &one, 1);
        });
        return true;
    });
    ASSERT_GT(child, 0);
    ::close(fds[1]);
    const int wait_for = 3 + static_cast<int>(rng() % 10);
    for (int got = 0; got < wait_for;) {
        char c;
        const ssize_t n = ::read(fds[0], &c, 1);
        ASSERT_EQ(n, 1) << "child ended before reporting " << wait_for << " documents";
        ++got;
    }
    ::kill(child, SIGKILL);
    ::close(fds[0]);
    EXPECT_EQ(wait_exit(child), -SIGKILL);

    library lib(db_file);
    {
        auto st = lib.db().prepare("PRAGMA integrity_check");
        ASSERT_TRUE(st.step());
        EXPECT_EQ(st.column_text(0), "ok");
    }
    EXPECT_NO_THROW(lib.db().exec("INSERT INTO chunks_fts(chunks_fts) VALUES ('integrity-check')"));
    std::size_t ready = 0;
    for (const auto& d : lib.documents()) {
        const auto chunks = lib.chunks_of(d.id);
        if (d.status == doc_status::ready) {
            ++ready;
            // Fully ingested: exactly the chunks a fresh chunking of the file gives.
            std::ifstream f(d.path, std::ios::binary);
            const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
            const auto expect = chunk_text(text, {}, count_words, {24});
            ASSERT_EQ(chunks.size(), expect.size()) << d.path;
            for (std::size_t i = 0; i < chunks.size(); ++i) {
                EXPECT_EQ(chunks[i].char_begin, static_cast<std::int64_t>(expect[i].char_begin));
                EXPECT_EQ(chunks[i].text, text.substr(expect[i].char_begin, expect[i].char_end - expect[i].char_begin));
            }
        } else {
            EXPECT_TRUE(chunks.empty()) << d.path << " is " << to_string(d.status) << " with " << chunks.size() << " chunks";
        }
    }
    EXPECT_GE(ready, static_cast<std::size_t>(wait_for));
    EXPECT_LT(ready, static_cast<std::size_t>(n_files));
    // FTS holds exactly the chunks that exist.
    auto st = lib.db().prepare("SELECT count(*) FROM chunks_fts");
    st.step();
    EXPECT_EQ(st.column_int64(0), lib.chunk_count());

    // Running again finishes the job.
    const auto r = add_paths(lib, std::vector<fs::path>{dir / "corpus"}, ingest_options{{24}, {}});
    EXPECT_EQ(r.unchanged, ready);
    EXPECT_EQ(r.added + r.unchanged, static_cast<std::size_t>(n_files));
    for (const auto& d : lib.documents()) EXPECT_EQ(d.status, doc_status::ready);
}

TEST(ingest_process, ingesting_and_searching_processes_share_the_library) {
    std::random_device rd;
    const unsigned seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    epic::test::scratch_dir dir;
    const int n_files = 80;
    make_corpus(dir / "corpus", rng, n_files, 15);
    const auto db_file = dir / "library.db";
    { library create(db_file); }

    const pid_t writer = spawn([&] {
        library lib(db_file);
        const auto r = add_paths(lib, std::vector<fs::path>{dir / "corpus"}, ingest_options{{32}, {}});
        return r.added == static_cast<std::size_t>(n_files) && r.failed == 0;
    });
    const unsigned reader_seed = rng();
    const pid_t reader = spawn([&] {
        std::mt19937 r(reader_seed);
        std::optional<library> lib(std::in_place, db_file);
        std::optional<kv_store> store(std::in_place, *lib, dir / "kv");
        for (int i = 0; i < 400; ++i) {
            std::string q;
            for (int w = 0; w < 3; ++w) q += std::string(1, static_cast<char>('a' + r() % 26)) + static_cast<char>('a' + r() % 26) + "* ";
            lib->search(q, 8);
            if (i % 25 == 0) {
                // A second writer too: KV entries written while chunks are being inserted.
                kv_blob b;
                b.key = "k" + std::to_string(i);
                std::vector<std::byte> data(4096, std::byte{static_cast<unsigned char>(i)});
                b.add_tensor("t", kv_dtype::u8, {4096}, data);
                store->put(b, "m");
                if (!store->load(b.key)) return false;
            }
            if (i % 100 == 99) {  // reconnect: opening also contends with the writer
                store.reset();
                lib.emplace(db_file);
                store.emplace(*lib, dir / "kv");
            }
        }
        return true;
    });
    ASSERT_GT(writer, 0);
    ASSERT_GT(reader, 0);
    EXPECT_EQ(wait_exit(writer), 0);
    EXPECT_EQ(wait_exit(reader), 0);

    library lib(db_file);
    const auto docs = lib.documents();
    EXPECT_EQ(docs.size(), static_cast<std::size_t>(n_files));
    for (const auto& d : docs) EXPECT_EQ(d.status, doc_status::ready);
    auto st = lib.db().prepare("SELECT count(*) FROM kv_entries");
    st.step();
    EXPECT_EQ(st.column_int64(0), 16);
}

TEST(ingest_process, concurrent_adds_of_one_folder_count_each_document_once) {
    std::random_device rd;
    const unsigned seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    epic::test::scratch_dir dir;
    const int n_files = 60;
    make_corpus(dir / "corpus", rng, n_files, 15);
    const auto db_file = dir / "library.db";
    { library create(db_file); }

    // Three processes add the same folder at once; each writes its counts to a file.
    std::vector<pid_t> adders;
    for (int p = 0; p < 3; ++p) {
        adders.push_back(spawn([&, p] {
            library lib(db_file);
            const auto r = add_paths(lib, std::vector<fs::path>{dir / "corpus"}, ingest_options{{32}, {}});
            std::ofstream(dir / ("counts-" + std::to_string(p))) << r.added << " " << r.updated << " " << r.unchanged << " "
                                                                 << r.failed;
            return r.failed == 0;
        }));
    }
    std::size_t added = 0, updated = 0;
    for (int p = 0; p < 3; ++p) {
        ASSERT_GT(adders[p], 0);
        EXPECT_EQ(wait_exit(adders[p]), 0);
        std::size_t a = 0, u = 0, n = 0, f = 0;
        std::ifstream(dir / ("counts-" + std::to_string(p))) >> a >> u >> n >> f;
        EXPECT_EQ(a + u + n + f, static_cast<std::size_t>(n_files)) << "process " << p;
        added += a;
        updated += u;
    }
    EXPECT_EQ(added, static_cast<std::size_t>(n_files)) << "every document is added exactly once over all processes";
    EXPECT_EQ(updated, 0u);
    library lib(db_file);
    EXPECT_EQ(lib.documents().size(), static_cast<std::size_t>(n_files));
}
