#pragma once
// Shared by the GUI test binaries: one QApplication per binary, condition waits that run the event
// loop, a scratch library with documents and a random-weight model, and drop events.
#include "AppSettings.h"
#include "ChatPanel.h"
#include "MainWindow.h"
#include "QuestionEdit.h"
#include "model/random_model.h"
#include "service/service.h"
#include "support/shared_models.h"

#include <QApplication>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QKeyEvent>
#include <QMimeData>
#include <QSettings>
#include <QTimer>
#include <QUrl>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>

namespace epic::guitest {

namespace fs = std::filesystem;

// Created on first use and deliberately never destroyed: static destruction order at exit must not
// tear Qt down under objects gtest still holds.
inline QApplication* app() {
    static QApplication* a = [] {
        static int argc = 1;
        static char name[] = "epic_gui_test";
        static char* argv[] = {name, nullptr};
        qputenv("QT_QPA_PLATFORM", qgetenv("QT_QPA_PLATFORM").isEmpty() ? QByteArray("offscreen") : qgetenv("QT_QPA_PLATFORM"));
        return new QApplication(argc, argv);
    }();
    return a;
}

// Runs the event loop in 10 ms slices until pred() holds or timeoutMs passes; returns pred().
inline bool waitUntil(const std::function<bool()>& pred, int timeoutMs = 60000) {
    QElapsedTimer t;
    t.start();
    while (!pred()) {
        if (t.elapsed() > timeoutMs) return pred();
        QEventLoop loop;
        QTimer::singleShot(10, &loop, &QEventLoop::quit);
        loop.exec();
    }
    return true;
}

inline void writeText(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

// Short documents with distinctive words, so retrieval has something to find.
inline void makeDocuments(const fs::path& dir, int n, uint32_t seed = 7) {
    std::mt19937 rng(seed);
    const char* words[] = {"river", "mountain", "lantern", "harbor", "violin", "orchard", "glacier", "meadow", "copper", "falcon"};
    for (int i = 0; i < n; ++i) {
        std::string text;
        for (int p = 0; p < 3; ++p) {
            for (int w = 0; w < 30; ++w) text += std::string(words[rng() % 10]) + (w % 7 == 6 ? ". " : " ");
            text += "\n\n";
        }
        text += "Document " + std::to_string(i) + " mentions zebra" + std::to_string(i) + ".\n";
        writeText(dir / (i % 2 ? "sub" : ".") / ("doc" + std::to_string(i) + (i % 3 == 0 ? ".md" : ".txt")), text);
    }
}

inline std::string makeModel(const fs::path& path, uint64_t seed = 1) {
    random_model_params p = random_model_default_params();
    p.seed = seed;
    p.n_ctx = 4096;
    write_random_model(path.string(), p);
    return path.string();
}

// Sends the drag-enter and drop a file manager would send, with these paths as file URLs.
inline bool dropFiles(QWidget* target, const QStringList& paths) {
    QMimeData mime;
    QList<QUrl> urls;
    for (const QString& p : paths) urls << QUrl::fromLocalFile(p);
    mime.setUrls(urls);
    const QPoint at(target->width() / 2, target->height() / 2);
    QDragEnterEvent enter(at, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(target, &enter);
    if (!enter.isAccepted()) return false;
    QDropEvent drop(QPointF(at), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(target, &drop);
    return drop.isAccepted();
}

inline void type(QWidget* w, const QString& text) {
    for (QChar c : text) {
        QKeyEvent press(QEvent::KeyPress, 0, Qt::NoModifier, QString(c));
        QCoreApplication::sendEvent(w, &press);
    }
}

inline void key(QWidget* w, int k, Qt::KeyboardModifiers m = Qt::NoModifier) {
    QKeyEvent press(QEvent::KeyPress, k, m);
    QCoreApplication::sendEvent(w, &press);
}

// Asks through the question box and Enter; waits for the answer.
inline bool askAndWait(MainWindow* w, const QString& q, int timeoutMs = 120000) {
    QuestionEdit* edit = w->chatPanel()->questionEdit();
    edit->clear();
    type(edit, q);
    key(edit, Qt::Key_Return);
    return waitUntil([&] { return !w->isAnswering() && w->chatPanel()->lastTurn() && !w->chatPanel()->lastTurn()->streaming; },
                     timeoutMs);
}

// A scratch folder with a model, documents and a settings file; windows made from it share them.
class GuiTest : public ::testing::Test {
protected:
    void SetUp() override {
        app();
        modelPath_ = makeModel(dir_ / "model.gguf");
        makeDocuments(dir_ / "docs", 6);
        settingsFile_ = QString::fromStdString((dir_ / "settings.ini").string());
        AppSettings s;
        s.libraryDir = QString::fromStdString((dir_ / "library").string());
        s.modelPath = QString::fromStdString(modelPath_);
        s.device = "cpu";
        s.threads = 2;
        s.chunkTokens = 64;
        s.retrievedChunks = 4;
        s.maxTokens = 16;
        s.temperature = 0.0;
        s.stopAtEos = false;
        QSettings q(settingsFile_, QSettings::IniFormat);
        s.save(q);
    }

    std::unique_ptr<MainWindow> openWindow() {
        auto w = std::make_unique<MainWindow>(settingsFile_);
        w->show();
        bool opened = false;
        auto c = QObject::connect(w.get(), &MainWindow::servicesOpened, [&opened] { opened = true; });
        EXPECT_TRUE(waitUntil([&] { return opened; })) << "services never opened";
        // A later reopen (new model) emits again: the lambda must not write to this dead frame then.
        QObject::disconnect(c);
        return w;
    }

    // Adds the paths and waits until the add finished and the library lists them.
    bool addAndWait(MainWindow* w, const QStringList& paths, int timeoutMs = 120000) {
        bool done = false;
        auto c = QObject::connect(w, &MainWindow::ingestionFinished, [&done] { done = true; });
        w->addPaths(paths);
        const bool ok = waitUntil([&] { return done && !w->isIngesting(); }, timeoutMs);
        QObject::disconnect(c);
        return ok;
    }

    // A model-less service on the same library: what the CLI's "epic cache ls" / "docs ls" see.
    std::unique_ptr<service> secondService() {
        service_params p = service_default_params();
        p.library_dir = dir_ / "library";
        return service::open(p).value();
    }

    QString docsDir() const { return QString::fromStdString((dir_ / "docs").string()); }

    test::scratch_dir dir_;
    std::string modelPath_;
    QString settingsFile_;
};

} // namespace epic::guitest
