#include "ChatWorker.h"

#include "service/shared_model.h"

ChatWorker::ChatWorker(QObject* parent) : QObject(parent) {}
ChatWorker::~ChatWorker() = default;

void ChatWorker::openService(const AppSettings& settings) {
    try {
        open(settings);
    } catch (const std::exception& e) {
        openError_ = QString::fromStdString(e.what());
        emit serviceOpened(false, openError_, QString(), QString(), ModelHandle());
    }
}

void ChatWorker::open(const AppSettings& settings) {
    service_.reset(); // release the old model before mapping a new one
    openError_.clear();
    if (settings.modelPath.isEmpty()) {
        openError_ = tr("No model is chosen: pick a GGUF file in Settings.");
        emit serviceOpened(false, openError_, QString(), QString(), ModelHandle());
        return;
    }
    auto opened = epic::service::open(settings.serviceParams(true));
    if (opened) service_ = std::move(opened.value());
    if (!service_) {
        openError_ = QString::fromStdString(opened.error());
        emit serviceOpened(false, openError_, QString(), QString(), ModelHandle());
        return;
    }
    emit serviceOpened(true, QString(), QString::fromStdString(service_->model_fingerprint()),
                       QString::fromStdString(service_->backend_name()), service_->loaded_model());
}

void ChatWorker::closeService() { service_.reset(); }

void ChatWorker::ask(quint64 requestId, const QString& question, const AppSettings& settings, int seedOffset) {
    cancel_.begin(requestId);
    AnswerResult out;
    try {
        out = runAsk(requestId, question, settings, seedOffset);
    } catch (const std::exception& e) {
        // The service returns its failures as results; this only catches allocation failures and the like.
        out.error = QString::fromStdString(e.what());
    }
    emit answerFinished(requestId, out);
}

AnswerResult ChatWorker::runAsk(quint64 requestId, const QString& question, const AppSettings& settings, int seedOffset) {
    AnswerResult out;
    epic::ask_options options;
    QString optionError;
    if (!service_) {
        out.error = openError_.isEmpty() ? tr("No model is loaded.") : tr("No model is loaded: %1").arg(openError_);
    } else if (!settings.askOptions(&options, seedOffset, &optionError)) {
        out.error = optionError;
    } else if (cancel_.cancelled()) {
        out.cancelled = true;
    } else {
        out.stats.policy = QString::fromStdString(options.policy.name());
        // Runs on this thread inside ask(); the queued signal copies the piece to the GUI thread.
        const auto onToken = [this, requestId](int32_t, const std::string& piece) {
            if (cancel_.cancelled()) return false;
            emit tokenReady(requestId, QString::fromStdString(piece));
            return true;
        };
        const auto asked = service_->ask(question.toStdString(), options, onToken, cancel_.flag());
        if (!asked) {
            out.error = QString::fromStdString(asked.error());
            out.cancelled = cancel_.cancelled();
            return out;
        }
        const epic::ask_result& r = *asked;
        out.answer = QString::fromStdString(r.answer);
        out.cancelled = r.cancelled || cancel_.cancelled();
        for (const auto& w : r.warnings) out.warnings << QString::fromStdString(w);
        for (const auto& s : r.sources) {
            AnswerSource a;
            a.documentId = s.document_id;
            a.chunkId = s.chunk_id;
            a.path = QString::fromStdString(s.document_path);
            a.title = QString::fromStdString(s.document_title);
            a.text = QString::fromStdString(s.text);
            a.pageBegin = s.page_begin;
            a.pageEnd = s.page_end;
            a.score = s.score;
            a.used = s.used;
            out.sources.push_back(a);
        }
        const epic::ask_timing& t = r.timing;
        out.stats.firstTokenSeconds = t.first_token_seconds;
        out.stats.tokensPerSecond = t.decode_tokens_per_second;
        out.stats.rowsTotal = t.rows_total;
        out.stats.rowsRecomputed = t.rows_recomputed;
        out.stats.rowsReused = t.rows_reused;
        out.stats.chunksLoaded = t.chunks_loaded;
        out.stats.chunksCompiled = t.chunks_compiled;
    }
    return out;
}
