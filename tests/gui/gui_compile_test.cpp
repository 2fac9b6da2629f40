// The cache format setting and compile on demand, driven offscreen on a real library: the setting is
// saved and reaches the services; with compile on demand an add only indexes, the app compiles the
// rest when idle (status line, Cancel), and a question preempts that compile, which resumes afterwards.
#include "gui_test_support.h"

#include "LibraryModel.h"
#include "SettingsDialog.h"
#include "embed/embedder_files.h"
#include "sqlite/database.h"
#include "sqlite/statement.h"
#include "sqlite/transaction.h"

#include <QComboBox>
#include <QPushButton>
#include <QSpinBox>

#include <chrono>
#include <thread>

namespace epic::guitest {
namespace {

class GuiCompile : public GuiTest {
protected:
    // Compile on demand with this idle delay (seconds), in the settings file the window reads.
    void setOnDemand(int idleSeconds) {
        QSettings q(settingsFile_, QSettings::IniFormat);
        q.setValue("library/compileOnAdd", false);
        q.setValue("library/idleCompileSeconds", idleSeconds);
    }
    // A service with the model, as the app's ingest worker has: what is still to compile.
    size_t chunksPending(kv_format format = default_cache_format) {
        service_params p = service_default_params();
        p.library_dir = dir_ / "library";
        p.model_path = modelPath_;
        p.backend.n_threads = 1;
        p.gpu_cache_budget_bytes = 0;
        p.cache_format = format;
        return service::open(p).value()->chunks_pending().value();
    }
    // Counts the background compiles that start and finish after the latest add finished: the one the
    // window may start on opening (over a library still empty) is preempted by the add and not counted.
    // Reset in the add's own signal, which comes after that compile's report and before the idle
    // timer the add armed can fire.
    void watchCompiles(MainWindow* w, int* started, QVector<CompileSummary>* finished) {
        QObject::connect(w, &MainWindow::ingestionFinished, [=] {
            *started = 0;
            finished->clear();
        });
        QObject::connect(w, &MainWindow::backgroundCompileStarted, [=] { ++*started; });
        QObject::connect(w, &MainWindow::backgroundCompileFinished, [=](const CompileSummary& s) { *finished << s; });
    }
    QString manyDir() const { return QString::fromStdString((dir_ / "many").string()); }
    // Runs `action` while the background compile is mid-run, however the machine schedules the
    // threads: once it has linked `linked` chunks, this holds the library's write lock, so its next
    // write waits (the busy timeout is 5 s) until `action` returned and the lock is released. Polls
    // the database without running the event loop (queued progress is not needed to know). `action`
    // must be quick: the lock must not outlive the busy timeout.
    bool whileCompileIsMidRun(int64_t linked, const std::function<void()>& action) {
        storage::sqlite::database db(dir_ / "library" / "library.db");
        QElapsedTimer t;
        t.start();
        for (;;) {
            auto st = db.prepare("SELECT count(*) FROM chunk_kv");
            st.step();
            if (st.column_int64(0) >= linked) break;
            if (t.elapsed() > 60000) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        storage::sqlite::transaction hold(db);
        action();
        return true; // hold rolls back: the compile goes on to its next cancel check
    }
};

TEST_F(GuiCompile, TheCacheFormatAndCompileModeAreSettingsOfTheServices) {
    app();
    AppSettings s;
    EXPECT_EQ(s.cacheFormat, "default");
    EXPECT_EQ(s.kvFormat(), default_cache_format);
    EXPECT_TRUE(s.compileOnAdd);
    s.cacheFormat = "q8";
    s.compileOnAdd = false;
    s.idleCompileSeconds = 7;
    SettingsDialog d(s);
    EXPECT_EQ(d.cacheFormatBox()->currentData().toString(), "q8");
    EXPECT_FALSE(d.compileModeBox()->currentData().toBool());
    EXPECT_TRUE(d.idleCompileBox()->isEnabled());
    EXPECT_EQ(d.settings().cacheFormat, "q8");
    EXPECT_EQ(d.settings().idleCompileSeconds, 7);
    d.cacheFormatBox()->setCurrentIndex(d.cacheFormatBox()->findData("q4"));
    d.compileModeBox()->setCurrentIndex(d.compileModeBox()->findData(true));
    EXPECT_FALSE(d.idleCompileBox()->isEnabled()) << "the idle delay only matters when compiling on demand";
    const AppSettings edited = d.settings();
    EXPECT_EQ(edited.cacheFormat, "q4");
    EXPECT_TRUE(edited.compileOnAdd);
    EXPECT_EQ(edited.serviceParams(false).cache_format, kv_format::q4);
    EXPECT_TRUE(edited.serviceParams(false).compile_on_add);
    EXPECT_FALSE(edited.sameServiceAs(s)) << "another format needs the services reopened";
    AppSettings onlyDelay = s;
    onlyDelay.idleCompileSeconds = 99;
    EXPECT_TRUE(onlyDelay.sameServiceAs(s)) << "the idle delay is the window's, not the services'";
    AppSettings spelledDefault = s;
    spelledDefault.cacheFormat = QString::fromLatin1(kv_format_name(default_cache_format));
    AppSettings viaDefault = s;
    viaDefault.cacheFormat = "default";
    EXPECT_TRUE(spelledDefault.sameServiceAs(viaDefault));

    // Saved and read back; an unknown name (a newer version's) falls back to the default.
    {
        QSettings q(settingsFile_, QSettings::IniFormat);
        edited.save(q);
    }
    AppSettings loaded;
    {
        QSettings q(settingsFile_, QSettings::IniFormat);
        loaded.load(q);
        EXPECT_EQ(loaded.cacheFormat, "q4");
        EXPECT_TRUE(loaded.compileOnAdd);
        q.setValue("cache/format", "q3");
        loaded.load(q);
    }
    EXPECT_EQ(loaded.kvFormat(), default_cache_format);
}

TEST_F(GuiCompile, HowQuestionsSearchIsASettingOfTheServices) {
    app();
    AppSettings s;
    EXPECT_EQ(s.retrievalMode, "default");
    EXPECT_EQ(s.retrieval(), default_retrieval_mode);
    SettingsDialog d(s);
    EXPECT_EQ(d.retrievalBox()->currentData().toString(), "default");
    d.retrievalBox()->setCurrentIndex(d.retrievalBox()->findData("bm25"));
    const AppSettings edited = d.settings();
    EXPECT_EQ(edited.retrievalMode, "bm25");
    EXPECT_EQ(edited.serviceParams(false).retrieval, retrieval_mode::bm25);
    EXPECT_FALSE(edited.sameServiceAs(s)) << "another retrieval needs the services reopened";
    // The embedding model is looked for where get-models.sh puts it.
    EXPECT_EQ(edited.serviceParams(false).embedder_dir.filename(), default_embedder_folder);
    {
        QSettings q(settingsFile_, QSettings::IniFormat);
        edited.save(q);
    }
    AppSettings loaded;
    {
        QSettings q(settingsFile_, QSettings::IniFormat);
        loaded.load(q);
        EXPECT_EQ(loaded.retrieval(), retrieval_mode::bm25);
        q.setValue("retrieval/mode", "telepathy");
        loaded.load(q);
    }
    EXPECT_EQ(loaded.retrieval(), default_retrieval_mode) << "a newer version's mode falls back to the default";
}

TEST_F(GuiCompile, AddingOnlyIndexesAndIdleTimeCompilesTheRest) {
    setOnDemand(0);
    auto w = openWindow();
    ASSERT_TRUE(w->modelReady()) << w->modelError().toStdString();
    int started = 0;
    QVector<CompileSummary> finished;
    watchCompiles(w.get(), &started, &finished);
    // When the add reports, no compile has been sent yet (the idle timer fires from the event loop):
    // the store is what the add alone left.
    int64_t entriesAfterAdd = -1;
    QObject::connect(w.get(), &MainWindow::ingestionFinished, [&] { entriesAfterAdd = secondService()->cache_stats().value().entries; });
    ASSERT_TRUE(addAndWait(w.get(), {docsDir()}));
    EXPECT_EQ(w->lastAddSummary().added, 6);
    EXPECT_EQ(w->lastAddSummary().chunksCompiled, 0);
    EXPECT_EQ(entriesAfterAdd, 0) << "adding on demand compiles nothing";
    ASSERT_TRUE(waitUntil([&] { return !finished.isEmpty() && !w->isCompilingInBackground(); }));
    const CompileSummary& s = finished.last();
    EXPECT_TRUE(s.error.isEmpty()) << s.error.toStdString();
    EXPECT_FALSE(s.cancelled);
    EXPECT_GT(s.chunksCompiled, 0);
    EXPECT_EQ(s.chunksLeft, 0);
    EXPECT_EQ(chunksPending(), 0u);
    EXPECT_TRUE(w->statusText().contains("in the background")) << w->statusText().toStdString();
    ASSERT_TRUE(waitUntil([&] { return w->libraryModel()->countInState("ready") == 6; })) << "refreshed after the compile";
    // Nothing is left: idle time starts nothing more.
    waitUntil([] { return false; }, 300);
    EXPECT_EQ(started, 1);
    EXPECT_EQ(finished.size(), 1);
}

TEST_F(GuiCompile, TheBackgroundCompileWaitsForTheIdleDelay) {
    setOnDemand(3);
    auto w = openWindow();
    int started = 0;
    QVector<CompileSummary> compiles;
    watchCompiles(w.get(), &started, &compiles);
    auto finished = [&] { return !compiles.isEmpty() && !compiles.last().cancelled; };
    QElapsedTimer sinceAdd;
    ASSERT_TRUE(addAndWait(w.get(), {docsDir()}));
    sinceAdd.start();
    waitUntil([] { return false; }, 500);
    if (sinceAdd.elapsed() < 2500) {
        EXPECT_EQ(started, 0) << "started before the idle delay";
    }
    ASSERT_TRUE(waitUntil(finished, 60000));
    EXPECT_GE(sinceAdd.elapsed(), 2900) << "the idle delay is 3 s";
    EXPECT_EQ(chunksPending(), 0u);
}

TEST_F(GuiCompile, AQuestionPreemptsTheBackgroundCompileWhichResumesWhenIdle) {
    makeDocuments(dir_ / "many", 40, 5);
    setOnDemand(0);
    auto w = openWindow();
    int started = 0;
    QVector<CompileSummary> finished;
    watchCompiles(w.get(), &started, &finished);
    ASSERT_TRUE(addAndWait(w.get(), {manyDir()}));
    ASSERT_TRUE(waitUntil([&] { return started == 1; }));
    EXPECT_TRUE(w->cancelButton()->isVisible());
    EXPECT_TRUE(w->ingestText().contains("Compiling in the background")) << w->ingestText().toStdString();
    // The question is sent while the compile is mid-run (Enter: askRequested preempts at once).
    ASSERT_TRUE(whileCompileIsMidRun(2, [&] {
        QuestionEdit* edit = w->chatPanel()->questionEdit();
        type(edit, "Which document mentions zebra7 and the copper lantern?");
        key(edit, Qt::Key_Return);
    }));
    ASSERT_TRUE(waitUntil([&] { return !w->isAnswering() && w->chatPanel()->lastTurn() && !w->chatPanel()->lastTurn()->streaming; }));
    const ChatTurn* t = w->chatPanel()->lastTurn();
    ASSERT_NE(t, nullptr);
    EXPECT_TRUE(t->error.isEmpty()) << t->error.toStdString();
    EXPECT_FALSE(t->answer.isEmpty());
    ASSERT_FALSE(finished.isEmpty());
    EXPECT_TRUE(finished.first().cancelled) << "the question preempts the background compile";
    EXPECT_GT(finished.first().chunksLeft, 0);
    EXPECT_TRUE(finished.first().error.isEmpty()) << finished.first().error.toStdString();

    // Idle again: it resumes and finishes.
    ASSERT_TRUE(waitUntil([&] { return !finished.last().cancelled && !w->isCompilingInBackground(); }));
    EXPECT_GE(finished.size(), 2);
    EXPECT_EQ(finished.last().chunksLeft, 0);
    EXPECT_EQ(chunksPending(), 0u);
    ASSERT_TRUE(waitUntil([&] { return w->libraryModel()->countInState("ready") == 40; }));
}

TEST_F(GuiCompile, CancelStopsTheBackgroundCompileUntilSomethingIsAdded) {
    makeDocuments(dir_ / "many", 40, 9);
    setOnDemand(0);
    auto w = openWindow();
    int started = 0;
    QVector<CompileSummary> finished;
    watchCompiles(w.get(), &started, &finished);
    ASSERT_TRUE(addAndWait(w.get(), {manyDir()}));
    ASSERT_TRUE(waitUntil([&] { return started == 1; }));
    QString progress;
    ASSERT_TRUE(whileCompileIsMidRun(2, [&] {
        // What it reported before waiting for the lock reaches the status line (a short event loop,
        // well inside the busy timeout)...
        waitUntil([&] {
            progress = w->ingestText();
            return progress.contains(" chunks, ");
        }, 2000);
        EXPECT_TRUE(w->cancelButton()->isVisible());
        w->cancelButton()->click(); // ...and Cancel stops it mid-run
    }));
    EXPECT_TRUE(progress.contains("Compiling in the background: ")) << progress.toStdString();
    ASSERT_TRUE(waitUntil([&] { return !finished.isEmpty() && !w->isCompilingInBackground(); }));
    EXPECT_TRUE(finished.first().cancelled);
    EXPECT_FALSE(w->cancelButton()->isVisible());
    EXPECT_TRUE(w->statusText().contains("cancelled")) << w->statusText().toStdString();
    const size_t left = chunksPending();
    EXPECT_GT(left, 0u);
    waitUntil([] { return false; }, 500);
    EXPECT_EQ(started, 1) << "a cancelled background compile does not restart by itself";
    EXPECT_TRUE(waitUntil([&] { return w->libraryModel()->countInState("compiling") == 0; }));

    // Adding something wants the rest compiled again.
    ASSERT_TRUE(addAndWait(w.get(), {docsDir()}));
    ASSERT_TRUE(waitUntil([&] { return !finished.isEmpty() && !finished.last().cancelled && !w->isCompilingInBackground(); }));
    EXPECT_EQ(finished.last().chunksLeft, 0);
    EXPECT_EQ(chunksPending(), 0u);
}

} // namespace
} // namespace epic::guitest
