// library::search: BM25 retrieval over chunks_fts with a query built only from quoted words.
#include "library/fts_query.h"
#include "library/library.h"
#include "library/schema.h"
#include "sqlite/statement.h"

namespace epic::storage {

std::vector<search_hit> library::search(std::string_view question, int top_n) {
    std::vector<search_hit> out;
    if (top_n <= 0) return out;
    const std::string query = build_fts_query(question);
    if (query.empty()) return out;
    // bm25() is smaller for better matches; ORDER BY rank uses it directly, and the chunk id breaks
    // ties so equal scores come back in a stable order.
    auto st = db_.prepare(
        "SELECT c.id, c.document_id, d.path, d.title, c.text, c.page_begin, c.page_end, bm25(chunks_fts) AS score "
        "FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid JOIN documents d ON d.id = c.document_id "
        "WHERE chunks_fts MATCH ?1 ORDER BY score, c.id LIMIT ?2");
    st.bind_text(1, query).bind_int64(2, top_n);
    while (st.step()) {
        search_hit h;
        h.chunk_id = st.column_int64(0);
        h.document_id = st.column_int64(1);
        h.document_path = st.column_text(2);
        h.document_title = st.column_text(3);
        h.text = st.column_text(4);
        h.page_begin = static_cast<int>(st.column_int64(5));
        h.page_end = static_cast<int>(st.column_int64(6));
        h.score = -st.column_double(7);
        out.push_back(std::move(h));
    }
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
