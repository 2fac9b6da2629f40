#pragma once
// Adds documents and compiles their chunk caches on its own thread with its own service, over the model
// the chat worker loaded (never a second copy of the weights); with compile on demand it also runs the
// background compile of what questions have not compiled yet. Progress, per-document compile counts and
// the final reports go to the GUI thread through queued signals.
#include "AppSettings.h"
#include "CancelSwitch.h"
#include "GuiTypes.h"

#include <QElapsedTimer>
#include <QObject>

#include <functional>
#include <memory>

class IngestWorker : public QObject {
    Q_OBJECT
public:
    explicit IngestWorker(QObject* parent = nullptr);
    ~IngestWorker() override;

    // Thread-safe: request `id` (and earlier ones) stop at the next chunk or document.
    void requestCancel(quint64 id) { cancel_.cancel(id); }

public slots:
    // model: the chat worker's (ModelHandle); null with modelError when it could not be loaded.
    void openService(const AppSettings& settings, const ModelHandle& model, const QString& modelError);
    // Drops the service and its hold on the model (before a reopen loads another one); answers modelReleased.
    void releaseModel();
    void addPaths(quint64 requestId, const QStringList& paths);
    void recompileDocument(quint64 requestId, qint64 documentId);
    // Compiles the caches the library's chunks lack (epic::service::compile_pending); cancelled through
    // requestCancel like an add, and then resumable by another request.
    void compilePending(quint64 requestId);
    void closeService();

signals:
    void serviceOpened(bool ok, const QString& error);
    void modelReleased();
    void filesQueued(const QStringList& files);
    void progress(const IngestProgress& progress);
    void addFinished(quint64 requestId, const AddSummary& summary);
    void recompileFinished(quint64 requestId, qint64 documentId, bool ok, const QString& error);
    void compileFinished(quint64 requestId, const CompileSummary& summary);

private:
    void open(const AppSettings& settings, const ModelHandle& model, const QString& modelError);
    AddSummary runAdd(const QStringList& paths);
    // The runtime's progress callback, throttled, as `progress` signals.
    std::function<void(const epic::add_progress&)> progressForwarder();
    QStringList listDocuments(const QStringList& paths) const;

    std::unique_ptr<epic::service> service_;
    QString openError_;
    CancelSwitch cancel_;
    QElapsedTimer sinceProgress_;
};
