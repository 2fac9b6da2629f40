#pragma once
// Plain values that cross from the worker threads to the GUI thread through queued signals. They are
// copies of the runtime's records in Qt types, so no runtime object is ever shared between threads,
// except the loaded model (ModelHandle), which exists to be shared and guards itself.
#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>

#include <memory>

namespace epic {
class shared_model;
}

// The model the chat worker loaded, handed to the ingest worker so both use one copy of the weights
// (epic::shared_model takes turns between the threads).
using ModelHandle = std::shared_ptr<epic::shared_model>;

struct DocumentInfo {
    qint64 id = 0;
    QString path;
    QString title;
    QString kind;
    QString state;   // "queued", "extracting", "compiling", "ready", "failed"
    QString error;   // why it failed
    qint64 size = 0;
    qint64 chunks = 0;
};

struct CacheEntryInfo {
    QString key;
    QString fingerprint;
    QString compileOptions;
    QString format;            // kv_format_name ("f16", "q8", "k8v4", "q4"); "?" for options this build does not understand
    qint64 rows = 0;           // rows (tokens) the cache holds; 0 = not recorded (an older build wrote it)
    quint64 decodedBytes = 0;  // its K and V as linked (f16); 0 = not recorded
    quint64 rawBytes = 0;
    quint64 compressedBytes = 0;
    qint64 hits = 0;
    qint64 lastUsedMs = 0;
    bool pinned = false;
    qint64 documentId = 0;   // a document one of whose chunks uses this cache (0: none any more)
    QString documentTitle;

    // Bytes on disk per row, and f16 bytes over bytes on disk (what format and zstd save together);
    // 0 when not recorded.
    double bytesPerToken() const { return rows > 0 ? (double)compressedBytes / (double)rows : 0.0; }
    double ratio() const { return decodedBytes > 0 && compressedBytes > 0 ? (double)decodedBytes / (double)compressedBytes : 0.0; }
};

// The caches of one format together (epic::cache_format_totals): bytes per token and ratio over
// the entries whose rows are recorded.
struct CacheFormatInfo {
    QString format;
    qint64 entries = 0;
    quint64 compressedBytes = 0;
    double bytesPerToken = 0.0; // 0: no entry of this format recorded yet
    double ratio = 0.0;
};

struct CacheSummaryInfo {
    qint64 entries = 0;
    qint64 pinned = 0;
    quint64 rawBytes = 0;
    quint64 compressedBytes = 0;
    quint64 budgetBytes = 0;
    QVector<CacheFormatInfo> formats; // by format name
};

struct IngestProgress {
    QString phase;          // "listing", "extracting", "compiling"
    QString current;        // the file being worked on
    qint64 documentsDone = 0;
    qint64 documentsTotal = 0;
    qint64 chunksDone = 0;
    qint64 chunksTotal = 0;
    qint64 currentDocumentChunksDone = 0; // chunks of `current` compiled so far in this run
    double tokensPerSecond = 0.0;
};

struct AddSummary {
    QString error;
    qint64 added = 0, updated = 0, unchanged = 0, failed = 0, skipped = 0, chunksCompiled = 0;
    bool cancelled = false;
    QStringList failures; // "path: reason"
    QStringList skips;    // "path: reason": paths given that are not documents
    QStringList warnings; // caches recompiled or not stored
};

// What one background compile run (epic::service::compile_pending) did.
struct CompileSummary {
    QString error;
    qint64 chunksCompiled = 0;
    qint64 chunksLeft = 0;  // chunks still without a cache of the current scheme and format
    bool cancelled = false; // preempted by a question or an add, or cancelled by the user
    bool budgetFull = false; // stopped before the disk budget: the rest compile when asked about
    QStringList warnings;
};

struct AnswerSource {
    qint64 documentId = 0;
    qint64 chunkId = 0;
    QString path;
    QString title;
    QString text;
    int pageBegin = 0;
    int pageEnd = 0;
    double score = 0.0;
    bool used = false; // the answer drew on this chunk (epic::answer_source::used)
};

struct AnswerStats {
    QString policy;
    double firstTokenSeconds = 0.0;
    double tokensPerSecond = 0.0;
    int rowsTotal = 0;
    int rowsRecomputed = 0;
    int rowsReused = 0;
    int chunksLoaded = 0;
    int chunksCompiled = 0;
};

struct AnswerResult {
    QString answer;
    QString error;
    bool cancelled = false;
    QVector<AnswerSource> sources;
    AnswerStats stats;
    QStringList warnings; // corrupt caches recompiled, caches not stored, chunks left out to fit the context
};

Q_DECLARE_METATYPE(DocumentInfo)
Q_DECLARE_METATYPE(CacheEntryInfo)
Q_DECLARE_METATYPE(CacheSummaryInfo)
Q_DECLARE_METATYPE(IngestProgress)
Q_DECLARE_METATYPE(AddSummary)
Q_DECLARE_METATYPE(CompileSummary)
Q_DECLARE_METATYPE(AnswerSource)
Q_DECLARE_METATYPE(AnswerResult)
Q_DECLARE_METATYPE(ModelHandle)
