#pragma once
// Drives the window by itself for gui/tools/screenshots.sh: add documents, ask a question, save a
// screenshot of the chat with its answer and of the cache panel, print the GUI-thread latency, quit.
#include <QObject>
#include <QStringList>

class LatencyProbe;
class MainWindow;

class ScriptRunner : public QObject {
    Q_OBJECT
public:
    struct Options {
        QStringList addPaths;
        QStringList questions;   // asked one after the other
        QString screenshotDir;   // chat.png and cache.png go here
        int timeoutSeconds = 600;
    };

    ScriptRunner(MainWindow* window, const Options& options, QObject* parent = nullptr);
    void start();
    int exitCode() const { return exitCode_; }

signals:
    void finished(int exitCode);

private:
    void onServicesOpened();
    void onIngestionFinished();
    void onAnswerShown();
    void onCacheShown();
    void save(const QString& name);
    void finish(int code, const QString& message);

    MainWindow* window_;
    Options options_;
    LatencyProbe* probe_;
    enum class Step { Opening, Adding, Asking, Cache, Done } step_ = Step::Opening;
    int exitCode_ = 0;
    int asked_ = 0;
};
