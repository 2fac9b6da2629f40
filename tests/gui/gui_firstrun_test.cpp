// The first-run dialog on a fresh setup: offered only when nothing is configured; it offers the
// catalog's models (core/model_catalog.h) with the recommended one preselected; a choice runs a
// get-models.sh stand-in with its name in a QProcess (output shown, failure and Cancel handled) or
// uses the file already there; the chosen model is saved and the chosen documents are added.
#include "gui_test_support.h"

#include "FirstRunDialog.h"
#include "LibraryModel.h"
#include "core/model_catalog.h"

#include <QElapsedTimer>
#include <QLabel>
#include <QPushButton>
#include <QRadioButton>

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
        l.getModelsScript = QString::fromStdString(script.string());
        l.sampleLibrary = docsDir();
        return l;
    }

    // A stand-in that "downloads" the test model under the catalog file name of the model it is asked for.
    FirstRunDialog::Locations fetchingLocations() {
        std::string body = "mkdir -p \"$EPIC_MODELS_DIR\"\ncase \"$1\" in\n";
        for (const catalog_model& m : model_catalog())
            body += std::string("  ") + m.name + ") cp '" + modelPath_ + "' \"$EPIC_MODELS_DIR/" + m.file + "\" ;;\n";
        body += "  *) echo \"unknown model $1\" >&2; exit 2 ;;\nesac";
        return locations(body);
    }

    static QString fileIn(const QString& dir, const catalog_model& m) { return dir + "/" + QString::fromUtf8(m.file); }
};

TEST_F(FirstRunTest, downloads_the_model_saves_it_and_adds_the_chosen_documents) {
    auto w = openWindow();
    ASSERT_TRUE(w->needsFirstRun());
    const auto loc = fetchingLocations();
    FirstRunDialog* d = w->showFirstRun(loc);
    EXPECT_EQ(d->currentStep(), 0);
    EXPECT_EQ(d->chosenModel().toStdString(), recommended_model_name) << "the recommended model is preselected";
    const QString expected = fileIn(loc.modelsDir, recommended_model());
    bool finished = false, ok = false;
    QObject::connect(d, &FirstRunDialog::downloadFinished, [&](bool o, const QString&) { finished = true, ok = o; });
    auto* use = d->findChild<QPushButton*>("useChosenModel");
    ASSERT_TRUE(use);
    EXPECT_TRUE(use->text().startsWith("Download")) << use->text().toStdString();
    use->click();
    EXPECT_TRUE(d->isDownloading());
    EXPECT_FALSE(use->isEnabled()) << "one download at a time";
    ASSERT_TRUE(waitUntil([&] { return finished; }, 30000));
    EXPECT_TRUE(ok) << d->downloadOutput().toStdString();
    EXPECT_TRUE(d->downloadOutput().contains(QString("fetching into %1 (%2)").arg(loc.modelsDir, recommended_model().name)))
        << d->downloadOutput().toStdString();
    EXPECT_EQ(d->currentStep(), 1) << "a finished download moves on to the documents";
    EXPECT_EQ(d->modelPath(), expected);

    bool added = false;
    QObject::connect(w.get(), &MainWindow::ingestionFinished, [&added] { added = true; });
    d->chooseDocuments({loc.sampleLibrary});
    ASSERT_TRUE(waitUntil([&] { return added && !w->isIngesting(); }, 120000));
    EXPECT_EQ(w->settings().modelPath, expected);
    EXPECT_TRUE(w->modelReady()) << w->modelError().toStdString();
    EXPECT_EQ(w->lastAddSummary().added, 6);

    // Saved: the next start does not ask again.
    AppSettings again;
    QSettings q(settingsFile_, QSettings::IniFormat);
    again.load(q);
    EXPECT_EQ(again.modelPath, expected);
    EXPECT_TRUE(again.firstRunDone);
}

TEST_F(FirstRunTest, offers_every_catalog_model_with_its_size_and_expectation_and_fetches_the_chosen_one) {
    app();
    const auto loc = fetchingLocations();
    for (const catalog_model& m : model_catalog()) {
        SCOPED_TRACE(m.name);
        FirstRunDialog d(loc);
        auto* radio = d.findChild<QRadioButton*>(QString("model_") + m.name);
        ASSERT_TRUE(radio);
        EXPECT_TRUE(radio->text().contains(QString::fromUtf8(m.title))) << radio->text().toStdString();
        EXPECT_TRUE(radio->text().contains(QString::fromStdString(size_text(m.bytes)))) << radio->text().toStdString();
        EXPECT_EQ(radio->text().contains("recommended"), m.name == recommended_model_name);
        auto* expect = d.findChild<QLabel*>(QString("expect_") + m.name);
        ASSERT_TRUE(expect);
        EXPECT_TRUE(expect->text().contains(QString::fromUtf8(m.expectation)));

        radio->click();
        EXPECT_EQ(d.chosenModel(), QString::fromUtf8(m.name));
        auto* use = d.findChild<QPushButton*>("useChosenModel");
        EXPECT_TRUE(use->text().contains(QString::fromUtf8(m.title))) << use->text().toStdString();
        bool finished = false, ok = false;
        QObject::connect(&d, &FirstRunDialog::downloadFinished, [&](bool o, const QString&) { finished = true, ok = o; });
        use->click();
        ASSERT_TRUE(waitUntil([&] { return finished; }, 30000));
        EXPECT_TRUE(ok) << d.downloadOutput().toStdString();
        EXPECT_TRUE(d.downloadOutput().contains(QString("bash %1 %2").arg(loc.getModelsScript, m.name)))
            << "the command line shown names the model: " << d.downloadOutput().toStdString();
        EXPECT_TRUE(d.downloadOutput().contains(QString("(%1)").arg(m.name))) << "get-models.sh got the model's name";
        EXPECT_EQ(d.modelPath(), fileIn(loc.modelsDir, m));
        EXPECT_TRUE(fs::exists(fileIn(loc.modelsDir, m).toStdString()));
        EXPECT_EQ(d.currentStep(), 1);
    }
}

TEST_F(FirstRunTest, a_model_already_present_is_used_in_place_without_downloading) {
    app();
    auto loc = locations("exit 1"); // a download would fail
    loc.modelsInTree = QString::fromStdString((dir_ / "tree-models").string());
    // Two models other than the recommended one (which stays absent).
    std::vector<const catalog_model*> others;
    for (const catalog_model& m : model_catalog())
        if (m.name != recommended_model_name) others.push_back(&m);
    ASSERT_GE(others.size(), 2u);
    const catalog_model& big = *others.back();
    const catalog_model& small = *others.front();
    fs::create_directories(dir_ / "tree-models");
    fs::create_directories(dir_ / "models");
    fs::copy_file(modelPath_, fileIn(loc.modelsInTree, big).toStdString());
    fs::copy_file(modelPath_, fileIn(loc.modelsDir, small).toStdString());
    fs::copy_file(modelPath_, fileIn(loc.modelsInTree, small).toStdString());
    FirstRunDialog d(loc);
    EXPECT_EQ(d.presentFile(big.name), fileIn(loc.modelsInTree, big)) << "found in the build tree";
    EXPECT_EQ(d.presentFile(small.name), fileIn(loc.modelsDir, small)) << "the models folder comes first";
    EXPECT_TRUE(d.presentFile(recommended_model().name).isEmpty());
    auto* bigLabel = d.findChild<QLabel*>(QString("expect_") + big.name);
    EXPECT_TRUE(bigLabel->text().contains("Already on this computer"));
    EXPECT_EQ(bigLabel->toolTip(), fileIn(loc.modelsInTree, big));

    d.chooseModel(big.name);
    auto* use = d.findChild<QPushButton*>("useChosenModel");
    EXPECT_TRUE(use->text().startsWith("Use ")) << use->text().toStdString();
    use->click();
    EXPECT_FALSE(d.isDownloading());
    EXPECT_TRUE(d.downloadOutput().isEmpty()) << "nothing ran";
    EXPECT_EQ(d.currentStep(), 1);
    EXPECT_EQ(d.modelPath(), fileIn(loc.modelsInTree, big));
}

TEST_F(FirstRunTest, without_get_models_only_present_models_and_a_file_can_be_chosen) {
    app();
    auto loc = locations("exit 1");
    loc.getModelsScript.clear();
    fs::create_directories(dir_ / "models");
    const catalog_model& small = model_catalog().front();
    fs::copy_file(modelPath_, fileIn(loc.modelsDir, small).toStdString());
    FirstRunDialog d(loc);
    auto* use = d.findChild<QPushButton*>("useChosenModel");
    EXPECT_FALSE(use->isEnabled()) << "the recommended model is absent and cannot be downloaded";
    d.chooseModel(small.name);
    EXPECT_TRUE(use->isEnabled());
    EXPECT_TRUE(d.findChild<QPushButton*>("pickModel")->isEnabled());
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

TEST_F(FirstRunTest, a_configured_model_skips_the_first_run) {
    auto w = openWindow();
    auto loc = locations("exit 1");
    fs::create_directories(dir_ / "models");
    fs::copy_file(modelPath_, fileIn(loc.modelsDir, recommended_model()).toStdString());
    FirstRunDialog* d = w->showFirstRun(loc);
    d->findChild<QPushButton*>("useChosenModel")->click();
    EXPECT_EQ(d->currentStep(), 1);
    d->chooseDocuments({});
    ASSERT_TRUE(waitUntil([&] { return w->settings().modelPath == fileIn(loc.modelsDir, recommended_model()); }, 5000));
    EXPECT_FALSE(w->needsFirstRun());
}

} // namespace
} // namespace epic::guitest
