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
    quint64 rawBytes = 0;
    quint64 compressedBytes = 0;
    qint64 hits = 0;
    qint64 lastUsedMs = 0;
    bool pinned = false;
    qint64 documentId = 0;   // a document one of whose chunks uses this cache (0: none any more)
    QString documentTitle;
};

struct CacheSummaryInfo {
    qint64 entries = 0;
    qint64 pinned = 0;
    quint64 rawBytes = 0;
    quint64 compressedBytes = 0;
    quint64 budgetBytes = 0;
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

struct AnswerSource {
    qint64 documentId = 0;
    qint64 chunkId = 0;
    QString path;
    QString title;
    QString text;
    int pageBegin = 0;
    int pageEnd = 0;
    double score = 0.0;
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
Q_DECLARE_METATYPE(AnswerSource)
Q_DECLARE_METATYPE(AnswerResult)
Q_DECLARE_METATYPE(ModelHandle)
