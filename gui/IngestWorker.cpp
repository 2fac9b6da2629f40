#include "IngestWorker.h"

#include "ingest/extract.h"

#include <QDirIterator>
#include <QFileInfo>

IngestWorker::IngestWorker(QObject* parent) : QObject(parent) {}
IngestWorker::~IngestWorker() = default;

void IngestWorker::openService(const AppSettings& settings, const ModelHandle& model, const QString& modelError) {
    try {
        open(settings, model, modelError);
    } catch (const std::exception& e) {
        service_.reset();
        openError_ = QString::fromStdString(e.what());
        emit serviceOpened(false, openError_);
    }
}

void IngestWorker::open(const AppSettings& settings, const ModelHandle& model, const QString& modelError) {
    service_.reset();
    openError_.clear();
    if (!model) {
        // The chat worker could not load it; the same reason applies here.
        openError_ = modelError.isEmpty() ? tr("No model is chosen: pick a GGUF file in Settings.") : modelError;
        emit serviceOpened(false, openError_);
        return;
    }
    epic::service_params params = settings.serviceParams(true);
    params.loaded_model = model;
    auto opened = epic::service::open(params);
    if (opened) service_ = std::move(opened.value());
    else openError_ = QString::fromStdString(opened.error());
    emit serviceOpened(service_ != nullptr, openError_);
}

void IngestWorker::closeService() { service_.reset(); }

void IngestWorker::releaseModel() {
    service_.reset();
    openError_ = tr("The model is being reloaded.");
    emit modelReleased();
}

QStringList IngestWorker::listDocuments(const QStringList& paths) const {
    // Only for showing "queued" rows at once; the service walks the folders again and decides.
    QStringList out;
    for (const QString& p : paths) {
        const QFileInfo fi(p);
        if (fi.isDir()) {
            QDirIterator it(fi.absoluteFilePath(), QDir::Files, QDirIterator::Subdirectories);
            while (it.hasNext()) {
                const QString f = it.next();
                if (epic::storage::document_kind(f.toStdString())) out << QFileInfo(f).absoluteFilePath();
            }
        } else if (fi.isFile() && epic::storage::document_kind(p.toStdString())) {
            out << fi.absoluteFilePath();
        }
    }
    return out;
}

void IngestWorker::addPaths(quint64 requestId, const QStringList& paths) {
    cancel_.begin(requestId);
    AddSummary summary;
    try {
        summary = runAdd(paths);
    } catch (const std::exception& e) {
        summary.error = QString::fromStdString(e.what());
    }
    emit addFinished(requestId, summary);
}

AddSummary IngestWorker::runAdd(const QStringList& paths) {
    AddSummary summary;
    if (!service_) {
        summary.error = openError_.isEmpty() ? tr("No model is loaded.") : tr("No model is loaded: %1").arg(openError_);
        return summary;
    }
    if (cancel_.cancelled()) {
        summary.cancelled = true;
        return summary;
    }
    emit filesQueued(listDocuments(paths));

    std::vector<std::filesystem::path> files;
    for (const QString& p : paths) files.emplace_back(p.toStdString());
    const auto added = service_->add(files, progressForwarder(), cancel_.flag());
    if (!added) {
        summary.error = QString::fromStdString(added.error());
        return summary;
    }
    const epic::add_report& r = *added;
    summary.added = (qint64)r.added;
    summary.updated = (qint64)r.updated;
    summary.unchanged = (qint64)r.unchanged;
    summary.failed = (qint64)r.failed;
    summary.skipped = (qint64)r.skipped;
    summary.chunksCompiled = (qint64)r.chunks_compiled;
    summary.cancelled = r.cancelled;
    for (const auto& [path, why] : r.failures) summary.failures << QString::fromStdString(path + ": " + why);
    for (const auto& [path, why] : r.skips) summary.skips << QString::fromStdString(path + ": " + why);
    for (const auto& w : r.warnings) summary.warnings << QString::fromStdString(w);
    return summary;
}

std::function<void(const epic::add_progress&)> IngestWorker::progressForwarder() {
    sinceProgress_.start();
    // Called on this thread from inside the service. Throttled so a folder of tiny files does not
    // flood the GUI thread's queue: at most one update per 30 ms, plus every change of document.
    return [this, current = QString(), currentStart = qint64(0)](const epic::add_progress& p) mutable {
        const QString now = QString::fromStdString(p.current);
        const bool changed = now != current;
        if (changed) {
            current = now;
            currentStart = (qint64)p.chunks_done;
        }
        const bool last = p.documents_done == p.documents_total;
        if (!changed && !last && sinceProgress_.elapsed() < 30) return;
        sinceProgress_.restart();
        IngestProgress ip;
        ip.phase = QString::fromStdString(p.phase);
        ip.current = now;
        ip.documentsDone = (qint64)p.documents_done;
        ip.documentsTotal = (qint64)p.documents_total;
        ip.chunksDone = (qint64)p.chunks_done;
        ip.chunksTotal = (qint64)p.chunks_total;
        ip.currentDocumentChunksDone = (qint64)p.chunks_done - currentStart;
        ip.tokensPerSecond = p.tokens_per_second;
        emit progress(ip);
    };
}

void IngestWorker::compilePending(quint64 requestId) {
    cancel_.begin(requestId);
    CompileSummary summary;
    try {
        if (!service_) {
            summary.error = openError_.isEmpty() ? tr("No model is loaded.") : tr("No model is loaded: %1").arg(openError_);
        } else if (cancel_.cancelled()) {
            summary.cancelled = true; // preempted before it began: nothing to report but that
        } else {
            const auto compiled = service_->compile_pending(progressForwarder(), cancel_.flag());
            summary.error = QString::fromStdString(compiled.error());
            const epic::compile_report r = compiled.value_or({});
            summary.chunksCompiled = (qint64)r.chunks_compiled;
            summary.chunksLeft = (qint64)r.chunks_left;
            summary.cancelled = r.cancelled;
            summary.budgetFull = r.budget_full;
            for (const auto& w : r.warnings) summary.warnings << QString::fromStdString(w);
        }
    } catch (const std::exception& e) {
        summary.error = QString::fromStdString(e.what());
    }
    emit compileFinished(requestId, summary);
}

void IngestWorker::recompileDocument(quint64 requestId, qint64 documentId) {
    cancel_.begin(requestId);
    bool ok = false;
    QString error;
    try {
        if (!service_) {
            error = openError_.isEmpty() ? tr("No model is loaded.") : tr("No model is loaded: %1").arg(openError_);
        } else {
            const auto done = service_->recompile_document(documentId);
            ok = done.ok();
            error = QString::fromStdString(done.error());
        }
    } catch (const std::exception& e) {
        error = QString::fromStdString(e.what());
    }
    emit recompileFinished(requestId, documentId, ok, error);
}
