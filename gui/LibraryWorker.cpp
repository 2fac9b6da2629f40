#include "LibraryWorker.h"

#include "kvstore/kv_store.h"
#include "library/records.h"

LibraryWorker::LibraryWorker(QObject* parent) : QObject(parent) {}
LibraryWorker::~LibraryWorker() = default;

namespace {

// Every action slot runs through this: the service returns its failures as results, but an
// allocation failure here must still not unwind through Qt's event loop.
template <class F> void slotGuarded(LibraryWorker* w, const QString& action, F&& body) {
    try {
        body();
    } catch (const std::exception& e) {
        emit w->actionFinished(action, false, QString::fromStdString(e.what()));
    }
}

} // namespace

void LibraryWorker::openService(const AppSettings& settings) {
    try {
        service_.reset();
        auto opened = epic::service::open(settings.serviceParams(false));
        openError_ = QString::fromStdString(opened.error());
        if (opened) service_ = std::move(opened.value());
    } catch (const std::exception& e) {
        openError_ = QString::fromStdString(e.what());
    }
    emit serviceOpened(service_ != nullptr, openError_);
}

void LibraryWorker::closeService() { service_.reset(); }

bool LibraryWorker::ready(const QString& action) {
    if (service_) return true;
    emit actionFinished(action, false, tr("The library could not be opened: %1").arg(openError_));
    return false;
}

QVector<DocumentInfo> LibraryWorker::listDocuments(QString* error) {
    QVector<DocumentInfo> out;
    const auto docs = service_->documents();
    *error = QString::fromStdString(docs.error());
    if (!docs) return out;
    for (const auto& d : *docs) {
        DocumentInfo i;
        i.id = d.id;
        i.path = QString::fromStdString(d.path);
        i.title = QString::fromStdString(d.title);
        i.kind = QString::fromStdString(d.kind);
        i.state = QString::fromUtf8(epic::storage::to_string(d.status).data(), (qsizetype)epic::storage::to_string(d.status).size());
        i.error = QString::fromStdString(d.error);
        i.size = d.size;
        i.chunks = d.chunk_count;
        out.push_back(i);
    }
    return out;
}

void LibraryWorker::refreshDocuments() {
    QVector<DocumentInfo> docs;
    QString error = openError_;
    try {
        if (service_) docs = listDocuments(&error);
    } catch (const std::exception& e) {
        error = QString::fromStdString(e.what());
    }
    emit documentsReady(docs, error);
}

QVector<CacheEntryInfo> LibraryWorker::listCache(CacheSummaryInfo* summary, QString* error) {
    const auto entries = service_->cache_entry_infos();
    if (!entries) {
        *error = QString::fromStdString(entries.error());
        return {};
    }
    // The totals are a summary: the entries are worth showing without them.
    const epic::cache_summary st = service_->cache_stats().value_or({});
    summary->entries = st.entries;
    summary->pinned = st.pinned;
    summary->rawBytes = st.raw_bytes;
    summary->compressedBytes = st.compressed_bytes;
    summary->budgetBytes = st.budget_bytes;
    for (const auto& f : st.by_format) {
        CacheFormatInfo fi;
        fi.format = QString::fromStdString(f.format);
        fi.entries = f.entries;
        fi.compressedBytes = f.compressed_bytes;
        fi.bytesPerToken = f.bytes_per_token();
        fi.ratio = f.ratio();
        summary->formats.push_back(fi);
    }

    QVector<CacheEntryInfo> out;
    out.reserve((qsizetype)entries->size());
    for (const auto& info : *entries) {
        const epic::storage::kv_entry& e = info.entry;
        CacheEntryInfo i;
        i.format = QString::fromStdString(info.format);
        i.rows = info.rows;
        i.decodedBytes = info.decoded_bytes;
        i.key = QString::fromStdString(e.cache_key);
        i.fingerprint = QString::fromStdString(e.model_fingerprint);
        i.compileOptions = QString::fromStdString(e.compile_options);
        i.rawBytes = e.raw_bytes;
        i.compressedBytes = e.compressed_bytes;
        i.hits = e.hits;
        i.lastUsedMs = e.last_used;
        i.pinned = e.pinned;
        // Which document the cache serves (one is enough to offer "recompile" and "remove document").
        if (info.document_id != 0) {
            i.documentId = info.document_id;
            i.documentTitle = QString::fromStdString(info.document_name);
        }
        out.push_back(i);
    }
    return out;
}

void LibraryWorker::refreshCache() {
    QVector<CacheEntryInfo> entries;
    CacheSummaryInfo summary;
    QString error = openError_;
    try {
        if (service_) entries = listCache(&summary, &error);
    } catch (const std::exception& e) {
        error = QString::fromStdString(e.what());
    }
    emit cacheReady(entries, summary, error);
}

void LibraryWorker::pin(const QString& key, bool pinned) {
    const QString action = pinned ? tr("pin") : tr("unpin");
    if (!ready(action)) return;
    slotGuarded(this, action, [&] {
        const auto done = service_->pin(key.toStdString(), pinned);
        emit actionFinished(action, done.ok(),
                            done ? (pinned ? tr("Pinned %1").arg(key.left(16)) : tr("Unpinned %1").arg(key.left(16)))
                                 : QString::fromStdString(done.error()));
    });
}

void LibraryWorker::evict(const QStringList& keys) {
    const QString action = tr("evict");
    if (!ready(action)) return;
    slotGuarded(this, action, [&] {
        QStringList problems;
        for (const QString& k : keys) {
            if (const auto done = service_->evict(k.toStdString()); !done) problems << QString::fromStdString(done.error());
        }
        emit actionFinished(action, problems.isEmpty(),
                            problems.isEmpty() ? tr("Evicted %n cache(s)", nullptr, (int)keys.size()) : problems.join("; "));
    });
}

void LibraryWorker::verify() {
    const QString action = tr("verify");
    if (!ready(action)) return;
    slotGuarded(this, action, [&] {
        const auto bad = service_->verify();
        if (!bad) {
            emit actionFinished(action, false, QString::fromStdString(bad.error()));
            return;
        }
        QStringList lines;
        for (const auto& b : *bad) lines << QString::fromStdString(b);
        emit actionFinished(action, true,
                            bad->empty() ? tr("Verified: every cache is sound")
                                         : tr("Verified: %n bad cache(s) removed (they are recompiled when next needed): ", nullptr,
                                              (int)bad->size()) + lines.join("; "));
    });
}

void LibraryWorker::collectGarbage() {
    const QString action = tr("clean up");
    if (!ready(action)) return;
    slotGuarded(this, action, [&] {
        const auto summary = service_->gc();
        emit actionFinished(action, summary.ok(), QString::fromStdString(summary ? *summary : summary.error()));
    });
}

void LibraryWorker::enforceBudget() {
    const QString action = tr("budget");
    if (!ready(action)) return;
    slotGuarded(this, action, [&] {
        const auto n = service_->enforce_budget();
        emit actionFinished(action, n.ok(),
                            n ? tr("Evicted %n cache(s) to fit the budget", nullptr, (int)*n) : QString::fromStdString(n.error()));
    });
}

void LibraryWorker::removeDocuments(const QList<qint64>& ids) {
    const QString action = tr("remove");
    if (!ready(action)) return;
    slotGuarded(this, action, [&] {
        QStringList problems;
        for (qint64 id : ids) {
            if (const auto done = service_->remove_document(id); !done) problems << QString::fromStdString(done.error());
        }
        emit actionFinished(action, problems.isEmpty(),
                            problems.isEmpty() ? tr("Removed %n document(s)", nullptr, (int)ids.size()) : problems.join("; "));
    });
}
