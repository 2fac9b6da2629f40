// The main window driven offscreen on a real library folder: drop to add, streamed answers with
// sources, Stop, conversations and settings across restarts, an unloadable model, model change,
// closing mid-work.
#include "gui_test_support.h"

#include <fstream>

#include "ChatPanel.h"
#include "LibraryModel.h"
#include "QuestionEdit.h"
#include "SettingsDialog.h"
#include "kvstore/kv_store.h"
#include "library/records.h"

#include <QClipboard>
#include <QComboBox>
#include <QListWidget>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTextBrowser>

#include <cstdio>
#include <set>

namespace epic::guitest {
namespace {

using GuiWindow = GuiTest;

TEST_F(GuiWindow, DroppedFilesAndFoldersBecomeReadyAndFailuresShowTheirReason) {
    writeText(dir_ / "extra" / "broken.pdf", "this is not a PDF at all");
    writeText(dir_ / "extra" / "notes.md", "# Notes\n\nThe lighthouse keeper counts seventeen gulls.\n");
    auto w = openWindow();
    ASSERT_TRUE(w->modelReady()) << w->modelError().toStdString();

    bool done = false;
    QObject::connect(w.get(), &MainWindow::ingestionFinished, [&done] { done = true; });
    ASSERT_TRUE(dropFiles(w.get(), {docsDir(), QString::fromStdString((dir_ / "extra" / "broken.pdf").string()),
                                    QString::fromStdString((dir_ / "extra" / "notes.md").string())}));
    EXPECT_TRUE(w->isIngesting());
    ASSERT_TRUE(waitUntil([&] { return done && !w->isIngesting(); }, 120000));
    LibraryModel* m = w->libraryModel();
    ASSERT_TRUE(waitUntil([&] { return m->rowCount() == 8 && m->countInState("ready") == 7; }))
        << "rows " << m->rowCount() << ", ready " << m->countInState("ready");
    EXPECT_EQ(w->lastAddSummary().added, 7);
    EXPECT_EQ(w->lastAddSummary().failed, 1);
    EXPECT_GT(w->lastAddSummary().chunksCompiled, 6);

    const int bad = m->rowOfPath(QString::fromStdString((dir_ / "extra" / "broken.pdf").string()));
    ASSERT_GE(bad, 0);
    EXPECT_EQ(m->document(bad).state, "failed");
    const QString tip = m->data(m->index(bad, LibraryModel::StateColumn), Qt::ToolTipRole).toString();
    EXPECT_TRUE(tip.contains("broken.pdf")) << tip.toStdString();
    EXPECT_FALSE(m->document(bad).error.isEmpty());
    EXPECT_TRUE(tip.contains(m->document(bad).error));

    // What the window shows is what the library holds (checked through a second service).
    auto other = secondService();
    const auto docs = other->documents().value();
    EXPECT_EQ(docs.size(), 8u);
    int ready = 0;
    for (const auto& d : docs) ready += d.status == storage::doc_status::ready;
    EXPECT_EQ(ready, 7);
}

TEST_F(GuiWindow, QuestionStreamsAnAnswerWithSourcesAndNumbers) {
    auto w = openWindow();
    ASSERT_TRUE(addAndWait(w.get(), {docsDir()}));
    ChatPanel* chat = w->chatPanel();

    // Shift+Enter is a newline, not a send.
    QuestionEdit* edit = chat->questionEdit();
    type(edit, "first line");
    key(edit, Qt::Key_Return, Qt::ShiftModifier);
    EXPECT_FALSE(w->isAnswering());
    EXPECT_TRUE(edit->toPlainText().contains('\n'));
    edit->clear();

    int piecesWhileBusy = 0;
    QObject::connect(chat, &ChatPanel::tokenAppended, [&](quint64, int) { piecesWhileBusy += chat->isBusy(); });
    ASSERT_TRUE(askAndWait(w.get(), "Which document mentions zebra3 and the copper lantern?"));
    const ChatTurn* t = chat->lastTurn();
    ASSERT_NE(t, nullptr);
    EXPECT_TRUE(t->error.isEmpty()) << t->error.toStdString();
    EXPECT_FALSE(t->cancelled);
    EXPECT_FALSE(t->answer.isEmpty());
    EXPECT_GT(piecesWhileBusy, 1) << "tokens must arrive one by one while the answer runs";
    EXPECT_EQ(t->streamedPieces, piecesWhileBusy);
    ASSERT_FALSE(t->sources.isEmpty());
    EXPECT_TRUE(t->sources[0].path.endsWith("doc3.md")) << t->sources[0].path.toStdString();
    EXPECT_FALSE(t->sources[0].text.isEmpty());
    EXPECT_GT(t->stats.rowsTotal, 0);
    EXPECT_GT(t->stats.rowsReused, 0);
    EXPECT_EQ(t->stats.rowsRecomputed + t->stats.rowsReused, t->stats.rowsTotal);
    EXPECT_GT(t->stats.firstTokenSeconds, 0.0);
    EXPECT_EQ(t->stats.policy, epic::link_policy::app_default_name);

    // The transcript shows the sources and the numbers; a source opens its chunk text.
    const QString shown = chat->transcript()->toPlainText();
    EXPECT_TRUE(shown.contains("doc3")) << shown.toStdString();
    EXPECT_TRUE(shown.contains("rows recomputed"));
    chat->showSource(0, 0);
    ASSERT_NE(chat->sourceDialog(), nullptr);
    EXPECT_TRUE(chat->sourceDialog()->isVisible());
    chat->sourceDialog()->close();

    // Copy puts the answer on the clipboard; regenerate answers the last question again.
    chat->copyAnswer(0);
    EXPECT_EQ(QApplication::clipboard()->text(), t->answer);
    const QString first = t->answer;
    ASSERT_TRUE(chat->regenerate(0));
    ASSERT_TRUE(waitUntil([&] { return !w->isAnswering(); }, 120000));
    EXPECT_EQ(chat->store().at(chat->currentConversation()).turns.size(), 1);
    EXPECT_EQ(chat->lastTurn()->regenerations, 1);
    EXPECT_FALSE(chat->lastTurn()->answer.isEmpty());
    EXPECT_GT(chat->lastTurn()->stats.chunksLoaded, 0) << "the second answer reuses the stored caches";
}

TEST_F(GuiWindow, StopEndsTheAnswerAtOnceAndReturnsToIdle) {
    {
        QSettings q(settingsFile_, QSettings::IniFormat);
        q.setValue("sampling/maxTokens", 3000);
    }
    auto w = openWindow();
    ASSERT_TRUE(addAndWait(w.get(), {docsDir()}));
    ChatPanel* chat = w->chatPanel();
    int pieces = 0, afterStop = 0;
    bool stopped = false;
    QObject::connect(chat, &ChatPanel::tokenAppended, [&](quint64, int n) {
        pieces = n;
        afterStop += stopped;
    });
    ASSERT_TRUE(chat->ask("Tell me everything about the orchard and the glacier."));
    ASSERT_TRUE(waitUntil([&] { return pieces >= 5; }));
    ASSERT_TRUE(chat->stopButton()->isEnabled());
    stopped = true;
    chat->stopButton()->click();
    ASSERT_TRUE(waitUntil([&] { return !w->isAnswering(); }, 30000));
    const ChatTurn* t = chat->lastTurn();
    ASSERT_NE(t, nullptr);
    EXPECT_TRUE(t->cancelled);
    EXPECT_TRUE(t->error.isEmpty()) << t->error.toStdString();
    EXPECT_LT(t->streamedPieces, 3000);
    std::printf("stop: %d pieces before Stop, %d already queued pieces arrived after it\n", pieces - afterStop, afterStop);
    EXPECT_FALSE(chat->stopButton()->isEnabled());
    EXPECT_TRUE(chat->sendButton()->isEnabled());
    EXPECT_TRUE(w->statusText().contains("idle")) << w->statusText().toStdString();
    // Idle again means a new question works.
    {
        QSettings q(settingsFile_, QSettings::IniFormat);
        q.setValue("sampling/maxTokens", 8);
    }
    AppSettings s = w->settings();
    s.maxTokens = 8;
    w->applySettings(s);
    ASSERT_TRUE(askAndWait(w.get(), "And the harbor?"));
    EXPECT_FALSE(chat->lastTurn()->cancelled);
}

TEST_F(GuiWindow, ConversationsAndSettingsSurviveARestart) {
    {
        auto w = openWindow();
        ASSERT_TRUE(addAndWait(w.get(), {docsDir()}));
        ASSERT_TRUE(askAndWait(w.get(), "What does document 2 mention?"));
        w->chatPanel()->newConversation();
        ASSERT_TRUE(askAndWait(w.get(), "Where is the falcon?"));
        AppSettings s = w->settings();
        s.linkAlgorithm = "cacheblend";
        s.cacheblendRatio = 0.1;
        s.retrievedChunks = 3;
        s.temperature = 0.35;
        s.topK = 7;
        s.topP = 0.8;
        s.seed = 1234;
        s.cacheBudgetMb = 64;
        w->applySettings(s); // budget changed: the services reopen
        bool reopened = false;
        QObject::connect(w.get(), &MainWindow::servicesOpened, [&] { reopened = true; });
        ASSERT_TRUE(waitUntil([&] { return reopened; }));
        EXPECT_TRUE(w->modelReady());
        w->close();
    }
    auto w = openWindow();
    const AppSettings& s = w->settings();
    EXPECT_EQ(s.linkAlgorithm, "cacheblend");
    EXPECT_DOUBLE_EQ(s.cacheblendRatio, 0.1);
    EXPECT_EQ(s.policyName(), "cacheblend-0.1");
    EXPECT_EQ(s.retrievedChunks, 3);
    EXPECT_DOUBLE_EQ(s.temperature, 0.35);
    EXPECT_EQ(s.topK, 7);
    EXPECT_DOUBLE_EQ(s.topP, 0.8);
    EXPECT_EQ(s.seed, 1234);
    EXPECT_EQ(s.cacheBudgetMb, 64);
    EXPECT_EQ(s.chunkTokens, 64);

    const ConversationStore& store = w->chatPanel()->store();
    ASSERT_EQ(store.count(), 2);
    EXPECT_EQ(store.at(0).turns.size(), 1);
    EXPECT_EQ(store.at(0).turns[0].question, "What does document 2 mention?");
    EXPECT_FALSE(store.at(0).turns[0].answer.isEmpty());
    EXPECT_FALSE(store.at(0).turns[0].sources.isEmpty());
    EXPECT_EQ(store.at(1).turns[0].question, "Where is the falcon?");
    EXPECT_EQ(w->chatPanel()->conversationList()->count(), 2);
    // The library is still there, every document ready.
    ASSERT_TRUE(waitUntil([&] { return w->libraryModel()->countInState("ready") == 6; }));

    // The dialog edits a copy and gives back what it shows.
    SettingsDialog d(s);
    const AppSettings back = d.settings();
    EXPECT_EQ(back.policyName(), s.policyName());
    EXPECT_EQ(back.modelPath, s.modelPath);
    EXPECT_EQ(back.cacheBudgetMb, 64);
    d.algorithmBox()->setCurrentIndex(d.algorithmBox()->findData("naive"));
    EXPECT_EQ(d.settings().policyName(), "naive");
}

TEST_F(GuiWindow, AnUnloadableModelShowsTheServiceErrorInsteadOfCrashing) {
    writeText(dir_ / "garbage.gguf", std::string(4096, 'x'));
    {
        QSettings q(settingsFile_, QSettings::IniFormat);
        q.setValue("model/path", QString::fromStdString((dir_ / "garbage.gguf").string()));
    }
    auto w = openWindow();
    EXPECT_FALSE(w->modelReady());
    EXPECT_TRUE(w->libraryReady()) << "the library works without a model";
    EXPECT_TRUE(w->modelError().contains("garbage.gguf")) << w->modelError().toStdString();
    std::printf("model error shown: %s\n", qPrintable(w->modelError()));
    const auto labels = w->findChildren<QLabel*>();
    bool bannerShown = false;
    for (QLabel* l : labels) bannerShown |= l->isVisible() && l->text().contains(w->modelError());
    EXPECT_TRUE(bannerShown);
    EXPECT_FALSE(w->chatPanel()->sendButton()->isEnabled());

    // Adding without a model reports it, and nothing hangs.
    ASSERT_TRUE(addAndWait(w.get(), {docsDir()}, 30000));
    EXPECT_FALSE(w->lastAddSummary().error.isEmpty());

    // Choosing a good model recovers without a restart.
    AppSettings s = w->settings();
    s.modelPath = QString::fromStdString(modelPath_);
    bool reopened = false;
    QObject::connect(w.get(), &MainWindow::servicesOpened, [&] { reopened = true; });
    w->applySettings(s);
    ASSERT_TRUE(waitUntil([&] { return reopened; }));
    EXPECT_TRUE(w->modelReady());
    EXPECT_TRUE(w->modelError().isEmpty());
    ASSERT_TRUE(addAndWait(w.get(), {docsDir()}));
    EXPECT_EQ(w->lastAddSummary().added, 6);
}

TEST_F(GuiWindow, ChangingTheModelKeepsTheLibraryAndCompilesCachesOnDemand) {
    auto w = openWindow();
    ASSERT_TRUE(addAndWait(w.get(), {docsDir()}));
    auto other = secondService();
    const size_t before = other->cache_entries().value().size();
    ASSERT_GT(before, 0u);

    const std::string second = makeModel(dir_ / "model-b.gguf", 99);
    AppSettings s = w->settings();
    s.modelPath = QString::fromStdString(second);
    bool reopened = false;
    QObject::connect(w.get(), &MainWindow::servicesOpened, [&] { reopened = true; });
    w->applySettings(s);
    ASSERT_TRUE(waitUntil([&] { return reopened; }));
    ASSERT_TRUE(w->modelReady()) << w->modelError().toStdString();
    ASSERT_TRUE(waitUntil([&] { return w->libraryModel()->countInState("ready") == 6; }));

    ASSERT_TRUE(askAndWait(w.get(), "What about the violin in the meadow?"));
    const ChatTurn* t = w->chatPanel()->lastTurn();
    EXPECT_TRUE(t->error.isEmpty()) << t->error.toStdString();
    EXPECT_GT(t->stats.chunksCompiled, 0) << "caches of the new model compile on demand";
    std::set<std::string> fingerprints;
    for (const auto& e : other->cache_entries().value()) fingerprints.insert(e.model_fingerprint);
    EXPECT_EQ(fingerprints.size(), 2u);
}

TEST_F(GuiWindow, TheStatusLineShowsProgressAndCancelStopsAnAdd) {
    makeDocuments(dir_ / "many", 80, 13);
    auto w = openWindow();
    bool done = false;
    QObject::connect(w.get(), &MainWindow::ingestionFinished, [&done] { done = true; });
    QString progressText;
    w->addPaths({QString::fromStdString((dir_ / "many").string())});
    ASSERT_TRUE(waitUntil([&] {
        progressText = w->ingestText();
        return progressText.contains("Compiling") || done;
    }));
    ASSERT_FALSE(done) << "the add finished before it could be cancelled";
    EXPECT_TRUE(progressText.contains("chunks")) << progressText.toStdString();
    EXPECT_TRUE(progressText.contains("tok/s")) << progressText.toStdString();
    EXPECT_TRUE(w->cancelButton()->isVisible());
    w->cancelButton()->click();
    ASSERT_TRUE(waitUntil([&] { return done && !w->isIngesting(); }, 30000));
    EXPECT_TRUE(w->lastAddSummary().cancelled);
    EXPECT_FALSE(w->cancelButton()->isVisible());
    ASSERT_TRUE(waitUntil([&] { return w->libraryModel()->countInState("compiling") == 0; }));
    // What was cancelled is completed by adding again.
    ASSERT_TRUE(addAndWait(w.get(), {QString::fromStdString((dir_ / "many").string())}));
    EXPECT_FALSE(w->lastAddSummary().cancelled);
    ASSERT_TRUE(waitUntil([&] { return w->libraryModel()->countInState("ready") == 80; }));
}

TEST_F(GuiWindow, ClosingMidWorkCancelsAndJoinsTheThreads) {
    makeDocuments(dir_ / "many", 60, 11);
    {
        QSettings q(settingsFile_, QSettings::IniFormat);
        q.setValue("sampling/maxTokens", 3000);
    }
    auto w = openWindow();
    ASSERT_TRUE(addAndWait(w.get(), {docsDir()}));
    w->addPaths({QString::fromStdString((dir_ / "many").string())});
    ASSERT_TRUE(w->chatPanel()->ask("Tell me about the copper falcon."));
    int pieces = 0;
    QObject::connect(w->chatPanel(), &ChatPanel::tokenAppended, [&](quint64, int n) { pieces = n; });
    ASSERT_TRUE(waitUntil([&] { return pieces >= 3; }));
    EXPECT_TRUE(w->isIngesting());
    EXPECT_TRUE(w->isAnswering());
    QElapsedTimer t;
    t.start();
    w->close();
    std::printf("close with an add and an answer running took %lld ms\n", (long long)t.elapsed());
    EXPECT_FALSE(w->isAnswering());
    EXPECT_TRUE(w->chatPanel()->lastTurn()->cancelled);
    w.reset(); // destroys the (already joined) threads
    // The library is consistent afterwards: a fresh window opens it and adding again finishes.
    auto again = openWindow();
    ASSERT_TRUE(addAndWait(again.get(), {QString::fromStdString((dir_ / "many").string())}));
    ASSERT_TRUE(waitUntil([&] { return again->libraryModel()->countInState("ready") == 66; }));
}

TEST_F(GuiWindow, SkippedPathsAndRecompiledCachesAreShownWithTheirReason) {
    writeText(dir_ / "extra" / "report.docx", "not a supported type");
    auto w = openWindow();
    ASSERT_TRUE(addAndWait(w.get(), {docsDir(), QString::fromStdString((dir_ / "extra" / "report.docx").string())}));
    const AddSummary& s = w->lastAddSummary();
    EXPECT_EQ(s.skipped, 1);
    ASSERT_EQ(s.skips.size(), 1);
    EXPECT_TRUE(s.skips[0].contains("report.docx: unsupported file type")) << s.skips[0].toStdString();

    // Damage every stored cache: the answer still comes, and says what was recompiled.
    for (const auto& e : fs::recursive_directory_iterator(dir_ / "library" / "kv")) {
        if (e.path().extension() != ".epkv") continue;
        std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(-5, std::ios::end);
        f.put('#');
    }
    ASSERT_TRUE(askAndWait(w.get(), "Which document mentions zebra3 and the copper lantern?"));
    const ChatTurn* t = w->chatPanel()->lastTurn();
    ASSERT_NE(t, nullptr);
    EXPECT_TRUE(t->error.isEmpty()) << t->error.toStdString();
    ASSERT_FALSE(t->warnings.isEmpty());
    EXPECT_TRUE(t->warnings[0].contains(".epkv")) << t->warnings[0].toStdString();
    EXPECT_TRUE(w->chatPanel()->transcript()->toPlainText().contains("recompiled"));
}

} // namespace
} // namespace epic::guitest

// Issue 17: sources the answer drew on are marked; the mark survives a restart (conversations.json)
// and conversations saved before it load unmarked.
TEST(ConversationStoreFile, SourcesKeepTheirUsedMarkAcrossSaveAndLoad) {
    epic::test::scratch_dir dir;
    const QString file = QString::fromStdString((dir / "conversations.json").string());
    {
        ConversationStore store;
        ASSERT_TRUE(store.load(file));
        const int c = store.create();
        ChatTurn t;
        t.question = "Who runs the company?";
        t.answer = "Marta Lindqvist.";
        for (bool used : {false, true, false}) {
            AnswerSource s;
            s.path = used ? "people/marta-lindqvist.txt" : "people/other.txt";
            s.used = used;
            t.sources.push_back(s);
        }
        store.at(c).turns.push_back(t);
        ASSERT_TRUE(store.save());
    }
    ConversationStore again;
    ASSERT_TRUE(again.load(file));
    ASSERT_EQ(again.count(), 1);
    const auto& sources = again.at(0).turns.at(0).sources;
    ASSERT_EQ(sources.size(), 3);
    EXPECT_FALSE(sources[0].used);
    EXPECT_TRUE(sources[1].used);
    EXPECT_FALSE(sources[2].used);
}
