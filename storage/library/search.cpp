// library::search: BM25 retrieval over chunks_fts with a query built only from quoted words.
#include "library/fts_query.h"
#include "library/library.h"
#include "library/schema.h"
#include "sqlite/statement.h"

namespace epic::storage {

namespace {

// The question's words without those in more than half of the chunks ("the", "of", "what"...):
// FTS5's BM25 gives such a word an IDF of 1e-6, so it cannot change the order of the chunks that
// match the other words, yet scoring it means walking a posting list as long as the library (at
// 100,000 chunks of prose, most of a query's time: README, "Retrieval"). Document frequencies come
// from the index's vocabulary (fts5vocab), looked up by the word as typed: a word the tokenizer
// changes (a stem, a folded accent) is not found there and is kept. A question of nothing but such
// words keeps them all. Counting a common word's chunks walks its posting list too, so the counts
// are kept until the database changes.
} // namespace

std::string library::selective_fts_query(std::string_view question) {
    const std::vector<std::string> words = fts_query_words(question);
    if (words.size() < 2) return fts_or_query(words);
    const std::int64_t n = chunk_count();
    auto& doc_freq = counts_.doc_freq; // chunk_count() has just checked the change stamp
    std::vector<std::string> kept;
    for (const auto& w : words) {
        auto it = doc_freq.find(w);
        if (it == doc_freq.end()) {
            db_.exec("CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunks_vocab USING fts5vocab(main, 'chunks_fts', 'row')");
            auto df = db_.prepare("SELECT doc FROM temp.chunks_vocab WHERE term = ?1");
            df.bind_text(1, w);
            it = doc_freq.emplace(w, df.step() ? df.column_int64(0) : 0).first;
        }
        if (2 * it->second <= n) kept.push_back(w);
    }
    return fts_or_query(kept.empty() ? words : kept);
}

search_hit library::read_hit(const sqlite::statement& st, double score) {
    search_hit h;
    h.chunk_id = st.column_int64(0);
    h.document_id = st.column_int64(1);
    h.document_path = st.column_text(2);
    h.document_title = st.column_text(3);
    h.text = st.column_text(4);
    h.page_begin = static_cast<int>(st.column_int64(5));
    h.page_end = static_cast<int>(st.column_int64(6));
    h.score = score;
    return h;
}

std::vector<search_hit> library::search(std::string_view question, int top_n) {
    std::vector<search_hit> out;
    if (top_n <= 0) return out;
    const std::string query = selective_fts_query(question);
    if (query.empty()) return out;
    // bm25() is smaller for better matches; ORDER BY rank uses it directly, and the chunk id breaks
    // ties so equal scores come back in a stable order.
    auto st = db_.prepare("SELECT " + std::string(hit_columns) +
                          ", bm25(chunks_fts) AS score "
                          "FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid JOIN documents d ON d.id = c.document_id "
                          "WHERE chunks_fts MATCH ?1 ORDER BY score, c.id LIMIT ?2");
    st.bind_text(1, query).bind_int64(2, top_n);
    while (st.step()) out.push_back(read_hit(st, -st.column_double(hit_column_count)));
    return out;
}

std::vector<int> rank_texts(std::string_view question, const std::vector<std::string>& texts) {
    std::vector<int> order;
    std::vector<char> ranked(texts.size(), 0);
    const std::string query = build_fts_query(question);
    if (!query.empty() && !texts.empty()) {
        sqlite::database db(":memory:");
        db.exec(std::string("CREATE VIRTUAL TABLE t USING fts5(text, tokenize='") + chunks_fts_tokenizer + "')");
        for (size_t i = 0; i < texts.size(); ++i) {
            auto ins = db.prepare("INSERT INTO t(rowid, text) VALUES (?1, ?2)");
            ins.bind_int64(1, (int64_t)i).bind_text(2, texts[i]);
            ins.step();
        }
        auto st = db.prepare("SELECT rowid FROM t WHERE t MATCH ?1 ORDER BY bm25(t), rowid");
        st.bind_text(1, query);
        while (st.step()) {
            const int i = (int)st.column_int64(0);
            order.push_back(i);
            ranked[(size_t)i] = 1;
        }
    }
    for (size_t i = 0; i < texts.size(); ++i)
        if (!ranked[i]) order.push_back((int)i);
    return order;
}

} // namespace epic::storage
