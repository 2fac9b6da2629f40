// Library index: BM25 retrieval with hostile questions, document removal cascades.
#include "library/fts_query.h"
#include "library/library.h"
#include "library/schema.h"
#include "sqlite/statement.h"
#include "storage_error.h"
#include "support/shared_models.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

using namespace epic::storage;

namespace {

chunk_record make_chunk(std::string text) {
    chunk_record c;
    c.char_end = static_cast<std::int64_t>(text.size());
    c.token_count = static_cast<int>(text.size() / 5);
    c.text = std::move(text);
    return c;
}

std::int64_t add_document(library& lib, const std::string& path, const std::vector<std::string>& texts) {
    const auto id = lib.ensure_document(path, "txt");
    std::vector<chunk_record> chunks;
    for (const auto& t : texts) chunks.push_back(make_chunk(t));
    EXPECT_TRUE(lib.replace_chunks(id, document_meta{"h:" + path, 1, 2, path, "txt"}, chunks));
    return id;
}

// Random strings over a hostile alphabet: FTS5 operators, quotes, punctuation, multi-byte letters,
// emoji, combining marks, invalid bytes.
std::string random_hostile(std::mt19937& rng) {
    static const std::vector<std::string> alphabet{
        "\"", "'", "(", ")", "*", "^", ":", "-", "+", "{", "}", "[", "]", ",", ".", ";", "\\", "/", "%", "_", " ",
        "AND", "OR", "NOT", "NEAR", "NEAR(", "col:", "\xF0\x9F\x98\x80", "\xE2\x80\x8B", "\xCC\x81", "\xC3\xA9",
        "\xE4\xB8\xAD\xE6\x96\x87", "\xFF", "\xC3", "\xED\xA0\x80", "a", "zebra", "\t", "\n", "0", "9"};
    std::string s;
    const int n = static_cast<int>(rng() % 24);
    for (int i = 0; i < n; ++i) s += alphabet[rng() % alphabet.size()];
    return s;
}

} // namespace

TEST(fts_query, quotes_every_word_and_drops_operators_syntax) {
    EXPECT_EQ(build_fts_query(""), "");
    EXPECT_EQ(build_fts_query("?!  ..."), "");
    EXPECT_EQ(build_fts_query("Hello, world"), "\"hello\" OR \"world\"");
    // Operators become plain quoted words; syntax characters vanish.
    EXPECT_EQ(build_fts_query("a AND (b OR \"c\") NOT d*"), "\"a\" OR \"and\" OR \"b\" OR \"or\" OR \"c\" OR \"not\" OR \"d\"");
    EXPECT_EQ(build_fts_query("col:x ^y NEAR(z)"), "\"col\" OR \"x\" OR \"y\" OR \"near\" OR \"z\"");
    // Duplicates (case-insensitively) once; at most max_terms words.
    EXPECT_EQ(build_fts_query("Cat cat CAT dog", 32), "\"cat\" OR \"dog\"");
    EXPECT_EQ(build_fts_query("a b c d e", 2), "\"a\" OR \"b\"");
}

TEST(library_search, hostile_questions_never_fail) {
    std::random_device rd;
    const unsigned seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    epic::test::scratch_dir dir;
    library lib(dir / "library.db");
    add_document(lib, "/docs/a.txt", {"The zebra grazes near the river AND the lion sleeps.",
                                      "Quoted \"text\" with col: colons and (parens) and stars*",
                                      "caf\xC3\xA9 na\xC3\xAFve \xE4\xB8\xAD\xE6\x96\x87 emoji \xF0\x9F\x98\x80 here"});

    std::vector<std::string> nasty{
        "", " ", "\"", "\"\"", "\"\"\"", "'", "AND", "OR", "NOT", "NEAR", "NEAR(a b, 3)", "a AND", "OR b",
        "NOT NOT NOT", "(", ")", "(()", "*", "a*", "*a", "^", "^zebra", ":", "text:zebra", "col:", "{a b}:c",
        "-zebra", "+zebra", "zebra -lion", "\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80\xF0\x9F\x98\x81 zebra",
        "?!?!.,;", "\xFF\xFE", "\xC3", "\xED\xA0\x80", std::string(1, '\0') + "zebra", "a\"b", "\"zebra\"",
        "zebra\" OR \"lion", "'; DROP TABLE chunks; --", std::string(5000, 'x'), std::string(2000, '"'),
        "\xCC\x81\xCC\x81", "\xE2\x80\x8B", "caf\xC3\xA9", "\xE4\xB8\xAD\xE6\x96\x87"};
    for (int i = 0; i < 300; ++i) nasty.push_back(random_hostile(rng));
    for (const auto& q : nasty) {
        SCOPED_TRACE("question bytes: " + std::to_string(q.size()));
        std::vector<search_hit> hits;
        EXPECT_NO_THROW(hits = lib.search(q, 5)) << q;
        EXPECT_LE(hits.size(), 5u);
        for (std::size_t k = 1; k < hits.size(); ++k) EXPECT_GE(hits[k - 1].score, hits[k].score);
    }
    // Operator words are searched as words, not obeyed: "NOT zebra" still finds the zebra chunk.
    const auto hits = lib.search("NOT zebra", 5);
    ASSERT_FALSE(hits.empty());
    EXPECT_NE(hits[0].text.find("zebra"), std::string::npos);
    EXPECT_TRUE(lib.search("", 5).empty());
    EXPECT_TRUE(lib.search("zebra", 0).empty());
}

TEST(library_search, bm25_ranks_the_chunk_with_the_rare_word_first) {
    std::random_device rd;
    const unsigned seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    epic::test::scratch_dir dir;
    library lib(dir / "library.db");

    // Filler chunks of common words; one chunk mentions a random made-up word twice, another once
    // among many more words.
    static const std::vector<std::string> common{"the", "model", "cache", "chunk", "answer", "question", "document",
                                                 "river", "table", "system", "value", "layer"};
    const auto filler = [&](int n) {
        std::string s;
        for (int i = 0; i < n; ++i) s += common[rng() % common.size()] + " ";
        return s;
    };
    std::string rare = "q";
    for (int i = 0; i < 8; ++i) rare += static_cast<char>('a' + rng() % 26);

    std::vector<std::string> texts;
    for (int i = 0; i < 40; ++i) texts.push_back(filler(60));
    const int best = static_cast<int>(rng() % 40);
    int weak = (best + 1 + static_cast<int>(rng() % 39)) % 40;
    texts[best] = filler(20) + rare + " " + filler(5) + rare + " " + filler(10);
    texts[weak] = filler(150) + rare + " " + filler(150);
    add_document(lib, "/docs/x.txt", {texts.begin(), texts.begin() + 20});
    add_document(lib, "/docs/y.txt", {texts.begin() + 20, texts.end()});

    const auto hits = lib.search("Where is the " + rare + "?", 10);
    ASSERT_GE(hits.size(), 2u);
    EXPECT_NE(hits[0].text.find(rare), std::string::npos);
    EXPECT_EQ(hits[0].text, texts[best]);
    EXPECT_EQ(hits[1].text, texts[weak]);
    EXPECT_GT(hits[0].score, hits[1].score);
    EXPECT_EQ(hits[0].document_path, best < 20 ? "/docs/x.txt" : "/docs/y.txt");
    const auto c = lib.chunk(hits[0].chunk_id);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->text, texts[best]);
}

TEST(rank_texts, ranks_texts_as_the_library_ranks_them_and_keeps_the_rest_in_order) {
    const std::vector<std::string> texts = {"Bob read a report on tides.", "Nothing relevant at all.",
                                            "The Harbor Gauge is led by Ann. Harbor gauges measure water.",
                                            "Harbor news, and more harbor news.", "Gauge calibration notes.", "Tea and cake."};
    const std::string question = "Who leads the Harbor Gauge?";
    const std::vector<int> rank = rank_texts(question, texts);
    // The library's own search over the same texts, one document each, names the same order.
    epic::test::scratch_dir dir;
    library lib(dir / "library.db");
    for (size_t i = 0; i < texts.size(); ++i) add_document(lib, "doc" + std::to_string(i), {texts[i]});
    const auto hits = lib.search(question, 10);
    ASSERT_EQ(hits.size(), 3u); // texts 2, 3 and 4 hold a word of the question
    for (size_t i = 0; i < hits.size(); ++i) EXPECT_EQ("doc" + std::to_string(rank[i]), hits[i].document_path) << i;
    EXPECT_EQ(rank[0], 2);
    // The texts that match nothing follow in their own order.
    EXPECT_EQ(std::vector<int>(rank.begin() + 3, rank.end()), (std::vector<int>{0, 1, 5}));
    EXPECT_EQ(rank_texts("?!", texts), (std::vector<int>{0, 1, 2, 3, 4, 5})) << "no words: the given order";
    EXPECT_TRUE(rank_texts(question, {}).empty());
}

TEST(rank_texts, uses_the_tokenizer_of_the_library_index) {
    EXPECT_NE(library_migrations()[0].sql.find(std::string("tokenize='") + chunks_fts_tokenizer + "'"), std::string_view::npos);
}

TEST(library, remove_document_removes_chunks_fts_rows_and_links) {
    epic::test::scratch_dir dir;
    library lib(dir / "library.db");
    const auto a = add_document(lib, "/docs/a.txt", {"alpha walrus one", "alpha walrus two"});
    const auto b = add_document(lib, "/docs/b.txt", {"beta walrus three"});
    lib.db().exec("INSERT INTO kv_entries (cache_key, model_fingerprint, blob_path, raw_bytes, compressed_bytes, checksum) "
                  "VALUES ('k', 'm', 'p', 1, 1, '0')");
    const auto a_chunks = lib.chunks_of(a);
    ASSERT_EQ(a_chunks.size(), 2u);
    EXPECT_EQ(a_chunks[0].ordinal, 0);
    EXPECT_EQ(a_chunks[1].ordinal, 1);
    lib.link_chunk_kv(a_chunks[0].id, "m", "k");
    EXPECT_EQ(lib.chunks_missing_kv(a, "m"), std::vector<std::int64_t>{a_chunks[1].id});
    EXPECT_EQ(lib.search("walrus", 10).size(), 3u);

    EXPECT_TRUE(lib.remove_document(a));
    EXPECT_FALSE(lib.remove_document(a));
    EXPECT_FALSE(lib.document(a));
    EXPECT_FALSE(lib.chunk(a_chunks[0].id));
    const auto hits = lib.search("walrus", 10);
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].document_id, b);
    EXPECT_FALSE(lib.chunk_kv(a_chunks[0].id, "m"));
    // The KV entry itself stays (content-keyed; gc or eviction decides), and the FTS index is intact.
    auto st = lib.db().prepare("SELECT count(*) FROM kv_entries");
    st.step();
    EXPECT_EQ(st.column_int64(0), 1);
    EXPECT_NO_THROW(lib.db().exec("INSERT INTO chunks_fts(chunks_fts) VALUES ('integrity-check')"));
}

TEST(library, replace_chunks_is_all_or_nothing_on_cancel) {
    epic::test::scratch_dir dir;
    library lib(dir / "library.db");
    const auto id = add_document(lib, "/docs/a.txt", {"first version one", "first version two"});
    const auto before = lib.chunks_of(id);
    std::atomic<bool> cancel{true};
    std::vector<chunk_record> next{make_chunk("second version")};
    EXPECT_FALSE(lib.replace_chunks(id, document_meta{"h2", 1, 2, "t", "txt"}, next, &cancel));
    const auto after = lib.chunks_of(id);
    ASSERT_EQ(after.size(), before.size());
    EXPECT_EQ(after[0].id, before[0].id);
    EXPECT_EQ(lib.document(id)->content_hash, "h:/docs/a.txt");
    EXPECT_TRUE(lib.search("second", 5).empty());
}

TEST(library_search, words_in_most_chunks_are_left_out_of_the_query_without_changing_the_order) {
    epic::test::scratch_dir dir;
    std::vector<std::string> texts;
    std::mt19937 rng(std::random_device{}());
    const char* filler[] = {"harbor", "gauge", "tide", "salt", "buoy", "sensor"};
    for (int i = 0; i < 12; ++i) {
        std::string t = "the report of the station";
        for (int w = 0; w < 6; ++w) t += std::string(" ") + filler[rng() % 6];
        if (i == 4) t += " zebra";
        if (i == 7) t += " zebra zebra quagga";
        texts.push_back(t);
    }
    std::vector<std::int64_t> order_full;
    {
        library lib(dir / "lib.db");
        add_document(lib, "/d/a.txt", texts);
        // The order of the chunks that match the rare words is BM25's with every word in the query.
        auto st = lib.db().prepare("SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?1 ORDER BY bm25(chunks_fts), rowid");
        st.bind_text(1, build_fts_query("the zebra of the quagga"));
        while (st.step()) order_full.push_back(st.column_int64(0));
        const auto hits = lib.search("the zebra of the quagga", 12);
        // "the" and "of" are in every chunk: only the two chunks with a rare word come back, in BM25's order.
        ASSERT_EQ(hits.size(), 2u);
        EXPECT_EQ(hits[0].chunk_id, order_full[0]);
        EXPECT_EQ(hits[1].chunk_id, order_full[1]);
        EXPECT_NE(hits[0].text.find("quagga"), std::string::npos);
        // A question of nothing but common words still finds chunks.
        EXPECT_EQ(lib.search("the of", 5).size(), 5u);
    }
    // A read-only library searches the same way.
    epic::storage::sqlite::open_options ro;
    ro.read_only = true;
    library lib(dir / "lib.db", ro);
    const auto hits = lib.search("the zebra of the quagga", 12);
    ASSERT_EQ(hits.size(), 2u);
    EXPECT_EQ(hits[0].chunk_id, order_full[0]);
}

TEST(library, kv_entry_owners_name_the_first_document_a_cache_serves) {
    epic::test::scratch_dir dir;
    library lib(dir / "lib.db");
    const auto a = add_document(lib, "/d/a.txt", {"alpha one", "alpha two"});
    const auto b = add_document(lib, "/d/b.txt", {"beta one"});
    for (const char* key : {"k-shared", "k-b", "k-unlinked"})
        lib.db().exec(std::string("INSERT INTO kv_entries (cache_key, model_fingerprint, blob_path, raw_bytes, compressed_bytes, checksum) "
                                  "VALUES ('") + key + "', 'm', 'x', 1, 1, '0')");
    const auto ca = lib.chunks_of(a), cb = lib.chunks_of(b);
    lib.link_chunk_kv(cb[0].id, "m", "k-shared"); // the same text in two documents: one cache
    lib.link_chunk_kv(ca[1].id, "m", "k-shared");
    lib.link_chunk_kv(cb[0].id, "m2", "k-b");
    std::map<std::string, kv_entry_owner> owners;
    for (auto& o : lib.kv_entry_owners()) owners.emplace(o.cache_key, o);
    ASSERT_EQ(owners.size(), 2u) << "an entry no chunk links has no owner";
    EXPECT_EQ(owners["k-shared"].document_id, a); // the first document by id
    EXPECT_EQ(owners["k-shared"].document_name, "/d/a.txt"); // its title (the fixture titles documents by path)
    EXPECT_EQ(owners["k-b"].document_id, b);
}
