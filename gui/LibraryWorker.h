#pragma once
// Library and cache management on its own thread with a model-less service of the same library
// folder: listing documents and caches, pin, evict, verify, remove, budget. It never waits for an
// answer or an ingestion to finish, so the side panel and the cache panel stay current while both run.
#include "AppSettings.h"
#include "GuiTypes.h"

#include <QObject>

#include <memory>

class LibraryWorker : public QObject {
    Q_OBJECT
public:
    explicit LibraryWorker(QObject* parent = nullptr);
    ~LibraryWorker() override;

public slots:
    void openService(const AppSettings& settings);
    void refreshDocuments();
    void refreshCache();
    void pin(const QString& key, bool pinned);
    void evict(const QStringList& keys);
    void verify();
    void collectGarbage();
    void enforceBudget();
    void removeDocuments(const QList<qint64>& ids);
    void closeService();

signals:
    void serviceOpened(bool ok, const QString& error);
    void documentsReady(const QVector<DocumentInfo>& documents, const QString& error);
    void cacheReady(const QVector<CacheEntryInfo>& entries, const CacheSummaryInfo& summary, const QString& error);
    // The outcome of pin/evict/verify/remove/gc/budget, one line for the status bar.
    void actionFinished(const QString& action, bool ok, const QString& message);

private:
    QVector<DocumentInfo> listDocuments(QString* error);
    QVector<CacheEntryInfo> listCache(CacheSummaryInfo* summary, QString* error);
    bool ready(const QString& action);

    std::unique_ptr<epic::service> service_;
    QString openError_;
};
