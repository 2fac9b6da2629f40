// The first-run dialog on a fresh setup: offered only when nothing is configured; the model download
// runs a get-models.sh stand-in in a QProcess (output shown, failure and Cancel handled); the chosen
// model is saved and the chosen documents are added to the library.
#include "gui_test_support.h"

#include "FirstRunDialog.h"
#include "LibraryModel.h"

#include <QElapsedTimer>
#include <QPushButton>

#include <fstream>

namespace epic::guitest {
namespace {

class FirstRunTest : public GuiTest {
protected:
    void SetUp() override {
        GuiTest::SetUp();
        // A fresh install: settings with a library folder but no model.
        AppSettings s;
        s.libraryDir = QString::fromStdString((dir_ / "library").string());
        s.device = "cpu";
        s.threads = 2;
        s.chunkTokens = 64;
        QSettings q(settingsFile_, QSettings::IniFormat);
        q.clear();
        s.save(q);
        q.remove("app/firstRunDone");
        q.remove("model/path");
    }

    // A get-models.sh stand-in: prints, then runs `body` (EPIC_MODELS_DIR is set by the dialog).
    FirstRunDialog::Locations locations(const std::string& body) {
        const fs::path script = dir_ / "get-models.sh";
        std::ofstream(script) << "echo \"fetching into $EPIC_MODELS_DIR ($1)\"\n" << body << "\n";
        FirstRunDialog::Locations l;
        l.modelsDir = QString::fromStdString((dir_ / "models").string());
        l.defaultModelFile = l.modelsDir + "/default.gguf";
        l.getModelsScript = QString::fromStdString(script.string());
        l.sampleLibrary = docsDir();
        return l;
    }
};

TEST_F(FirstRunTest, downloads_the_model_saves_it_and_adds_the_chosen_documents) {
    auto w = openWindow();
    ASSERT_TRUE(w->needsFirstRun());
    const auto loc = locations("mkdir -p \"$EPIC_MODELS_DIR\" && cp '" + modelPath_ + "' \"$EPIC_MODELS_DIR/default.gguf\"");
    FirstRunDialog* d = w->showFirstRun(loc);
    EXPECT_EQ(d->currentStep(), 0);
    bool finished = false, ok = false;
    QObject::connect(d, &FirstRunDialog::downloadFinished, [&](bool o, const QString&) { finished = true, ok = o; });
    d->startDownload();
    EXPECT_TRUE(d->isDownloading());
    ASSERT_TRUE(waitUntil([&] { return finished; }, 30000));
    EXPECT_TRUE(ok);
    EXPECT_TRUE(d->downloadOutput().contains("fetching into " + loc.modelsDir + " (smollm2)")) << d->downloadOutput().toStdString();
    EXPECT_EQ(d->currentStep(), 1) << "a finished download moves on to the documents";
    EXPECT_EQ(d->modelPath(), loc.defaultModelFile);

    bool added = false;
    QObject::connect(w.get(), &MainWindow::ingestionFinished, [&added] { added = true; });
    d->chooseDocuments({loc.sampleLibrary});
    ASSERT_TRUE(waitUntil([&] { return added && !w->isIngesting(); }, 120000));
    EXPECT_EQ(w->settings().modelPath, loc.defaultModelFile);
    EXPECT_TRUE(w->modelReady()) << w->modelError().toStdString();
    EXPECT_EQ(w->lastAddSummary().added, 6);

    // Saved: the next start does not ask again.
    AppSettings again;
    QSettings q(settingsFile_, QSettings::IniFormat);
    again.load(q);
    EXPECT_EQ(again.modelPath, loc.defaultModelFile);
    EXPECT_TRUE(again.firstRunDone);
}

TEST_F(FirstRunTest, a_failed_download_says_so_and_stays_on_the_model_step) {
    auto w = openWindow();
    FirstRunDialog* d = w->showFirstRun(locations("echo 'pip could not download' >&2; exit 1"));
    bool finished = false, ok = true;
    QString message;
    QObject::connect(d, &FirstRunDialog::downloadFinished, [&](bool o, const QString& m) { finished = true, ok = o, message = m; });
    d->startDownload();
    ASSERT_TRUE(waitUntil([&] { return finished; }, 30000));
    EXPECT_FALSE(ok);
    EXPECT_TRUE(message.contains("exit code 1")) << message.toStdString();
    EXPECT_TRUE(d->downloadOutput().contains("pip could not download"));
    EXPECT_EQ(d->currentStep(), 0);
    EXPECT_TRUE(d->modelPath().isEmpty());
    d->reject();
    ASSERT_TRUE(waitUntil([&] { return w->settings().firstRunDone; }, 5000));
    EXPECT_TRUE(w->settings().modelPath.isEmpty()) << "nothing chosen, nothing set";
}

TEST_F(FirstRunTest, cancel_stops_the_download_and_its_children_at_once) {
    auto w = openWindow();
    const fs::path marker = dir_ / "child-still-running";
    // The child outlives a killed shell unless the whole process group is stopped.
    FirstRunDialog* d = w->showFirstRun(locations("(sleep 3; touch '" + marker.string() + "') & sleep 30"));
    bool finished = false, ok = true;
    QObject::connect(d, &FirstRunDialog::downloadFinished, [&](bool o, const QString&) { finished = true, ok = o; });
    d->startDownload();
    ASSERT_TRUE(waitUntil([&] { return d->downloadOutput().contains("fetching"); }, 10000));
    QElapsedTimer t;
    t.start();
    d->cancelDownload();
    EXPECT_LT(t.elapsed(), 4000);
    EXPECT_TRUE(finished);
    EXPECT_FALSE(ok);
    EXPECT_FALSE(d->isDownloading());
    waitUntil([] { return false; }, 3500); // past the moment the child would have written
    EXPECT_FALSE(fs::exists(marker)) << "a child of get-models.sh kept running after Cancel";
}

TEST_F(FirstRunTest, an_existing_default_model_is_offered_and_a_configured_model_skips_the_first_run) {
    auto w = openWindow();
    auto loc = locations("exit 1");
    loc.existingModel = QString::fromStdString(modelPath_);
    FirstRunDialog* d = w->showFirstRun(loc);
    auto* use = d->findChild<QPushButton*>("useExistingModel");
    ASSERT_TRUE(use);
    EXPECT_TRUE(use->isVisibleTo(d));
    EXPECT_FALSE(d->findChild<QPushButton*>("downloadModel")->isVisibleTo(d));
    use->click();
    EXPECT_EQ(d->currentStep(), 1);
    d->chooseDocuments({});
    ASSERT_TRUE(waitUntil([&] { return w->settings().modelPath == QString::fromStdString(modelPath_); }, 5000));
    EXPECT_FALSE(w->needsFirstRun());
}

} // namespace
} // namespace epic::guitest
