#pragma once
// Answers questions on its own thread with its own service (library + the model). It loads the model,
// the one copy the app holds: serviceOpened hands it on for the ingest worker to share. Tokens and
// results go back to the GUI thread through queued signals; requestStop() is the only call from other
// threads.
#include "AppSettings.h"
#include "CancelSwitch.h"
#include "GuiTypes.h"

#include <QObject>

#include <memory>

class ChatWorker : public QObject {
    Q_OBJECT
public:
    explicit ChatWorker(QObject* parent = nullptr);
    ~ChatWorker() override;

    // Thread-safe: the running (or queued) request `id` stops at its next token.
    void requestStop(quint64 id) { cancel_.cancel(id); }

public slots:
    void openService(const AppSettings& settings);
    void ask(quint64 requestId, const QString& question, const AppSettings& settings, int seedOffset);
    void closeService();

signals:
    // model: null when !ok. backendName: where the model runs ("cpu (8 threads)", "cuda (...)").
    void serviceOpened(bool ok, const QString& error, const QString& modelFingerprint, const QString& backendName,
                       const ModelHandle& model);
    void tokenReady(quint64 requestId, const QString& piece);
    void answerFinished(quint64 requestId, const AnswerResult& result);

private:
    void open(const AppSettings& settings);
    AnswerResult runAsk(quint64 requestId, const QString& question, const AppSettings& settings, int seedOffset);

    std::unique_ptr<epic::service> service_;
    QString openError_;
    CancelSwitch cancel_;
};
