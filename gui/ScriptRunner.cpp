#include "ScriptRunner.h"

#include "CachePanel.h"
#include "ChatPanel.h"
#include "GuiTypes.h"
#include "LatencyProbe.h"
#include "MainWindow.h"

#include <QDir>
#include <QPixmap>
#include <QTabWidget>
#include <QTableView>
#include <QTimer>

#include <cstdio>

ScriptRunner::ScriptRunner(MainWindow* window, const Options& options, QObject* parent)
    : QObject(parent), window_(window), options_(options), probe_(new LatencyProbe(5, this)) {}

void ScriptRunner::start() {
    connect(window_, &MainWindow::servicesOpened, this, &ScriptRunner::onServicesOpened);
    connect(window_, &MainWindow::ingestionFinished, this, &ScriptRunner::onIngestionFinished);
    connect(window_->chatPanel(), &ChatPanel::answerShown, this, &ScriptRunner::onAnswerShown);
    connect(window_, &MainWindow::cacheRefreshed, this, &ScriptRunner::onCacheShown);
    QTimer::singleShot(options_.timeoutSeconds * 1000, this, [this] { finish(2, "timed out"); });
    probe_->start();
}

void ScriptRunner::onServicesOpened() {
    if (step_ != Step::Opening) return;
    if (!window_->modelError().isEmpty()) std::fprintf(stderr, "model error: %s\n", qPrintable(window_->modelError()));
    step_ = Step::Adding;
    if (options_.addPaths.isEmpty()) {
        onIngestionFinished();
        return;
    }
    std::fprintf(stderr, "adding %lld path(s)\n", (long long)options_.addPaths.size());
    window_->addPaths(options_.addPaths);
}

void ScriptRunner::onIngestionFinished() {
    if (step_ != Step::Adding || window_->isIngesting()) return;
    std::fprintf(stderr, "%s\n", qPrintable(window_->lastActionMessage()));
    step_ = Step::Asking;
    onAnswerShown();
}

void ScriptRunner::onAnswerShown() {
    if (step_ != Step::Asking) return;
    if (asked_ < options_.questions.size() && window_->modelReady()) {
        const QString q = options_.questions.at(asked_++);
        std::fprintf(stderr, "asking: %s\n", qPrintable(q));
        window_->chatPanel()->ask(q);
        return;
    }
    // A moment for the last Markdown render and the status line, then the picture.
    QTimer::singleShot(400, this, [this] {
        save("chat.png");
        step_ = Step::Cache;
        window_->tabs()->setCurrentWidget(window_->cachePanel()); // refreshes the cache table
    });
}

void ScriptRunner::onCacheShown() {
    if (step_ != Step::Cache) return;
    step_ = Step::Done;
    window_->cachePanel()->view()->selectRow(0);
    QTimer::singleShot(400, this, [this] {
        save("cache.png");
        finish(0, "done");
    });
}

void ScriptRunner::save(const QString& name) {
    if (options_.screenshotDir.isEmpty()) return;
    QDir().mkpath(options_.screenshotDir);
    const QString path = QDir(options_.screenshotDir).filePath(name);
    const bool ok = window_->grab().save(path);
    std::fprintf(stderr, "%s %s\n", ok ? "saved" : "could not save", qPrintable(path));
    if (!ok) exitCode_ = 3;
}

void ScriptRunner::finish(int code, const QString& message) {
    probe_->stop();
    std::printf("GUI-thread worst event-loop gap: %.1f ms, GUI thread busy %.1f ms of it (mean %.2f ms over %lld ticks of a 5 ms timer)\n",
                probe_->worstGapMs(), probe_->worstGapCpuMs(), probe_->meanGapMs(), (long long)probe_->ticks());
    std::fprintf(stderr, "script %s\n", qPrintable(message));
    std::fflush(stdout);
    if (exitCode_ == 0) exitCode_ = code;
    emit finished(exitCode_);
}
