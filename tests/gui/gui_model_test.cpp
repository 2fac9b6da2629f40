// The app holds one copy of the model: the chat and ingest workers share what the chat worker loaded
// (on the CUDA backend a second copy would double the GPU memory and the load time). Seen from outside
// through /proc/self/maps: every load of a GGUF maps the file once.
#include "gui_test_support.h"

#include "ChatPanel.h"
#include "LibraryModel.h"

#include <fstream>

namespace epic::guitest {
namespace {

int mappingsOf(const std::string& path) {
    std::ifstream maps("/proc/self/maps");
    const std::string canonical = fs::canonical(path).string();
    int n = 0;
    for (std::string line; std::getline(maps, line);)
        if (line.size() >= canonical.size() && line.compare(line.size() - canonical.size(), canonical.size(), canonical) == 0) ++n;
    return n;
}

using GuiModel = GuiTest;

TEST_F(GuiModel, ChatAndIngestionShareOneLoadedModelAndAReopenSwapsIt) {
    auto w = openWindow();
    ASSERT_TRUE(w->modelReady()) << w->modelError().toStdString();
    EXPECT_EQ(mappingsOf(modelPath_), 1) << "the model must be loaded once for chat and ingestion";
    EXPECT_TRUE(w->statusText().contains("on cpu (2 threads)")) << "the status names the backend: " << w->statusText().toStdString();

    // Both workers use it: adding compiles caches and a question is answered from them.
    ASSERT_TRUE(addAndWait(w.get(), {docsDir()}));
    EXPECT_EQ(w->lastAddSummary().added, 6);
    EXPECT_GT(w->lastAddSummary().chunksCompiled, 0);
    bool answered = false;
    QObject::connect(w->chatPanel(), &ChatPanel::answerShown, [&] { answered = true; });
    ASSERT_TRUE(w->chatPanel()->ask("Which document mentions zebra3?"));
    ASSERT_TRUE(waitUntil([&] { return answered && !w->isAnswering(); }));
    EXPECT_TRUE(w->chatPanel()->lastTurn()->error.isEmpty()) << w->chatPanel()->lastTurn()->error.toStdString();
    EXPECT_EQ(mappingsOf(modelPath_), 1);

    // Another model: the old one is let go, the new one is loaded once.
    const std::string second = makeModel(dir_ / "model-b.gguf", 99);
    AppSettings s = w->settings();
    s.modelPath = QString::fromStdString(second);
    bool reopened = false;
    QObject::connect(w.get(), &MainWindow::servicesOpened, [&] { reopened = true; });
    w->applySettings(s);
    ASSERT_TRUE(waitUntil([&] { return reopened; }));
    ASSERT_TRUE(w->modelReady()) << w->modelError().toStdString();
    EXPECT_EQ(mappingsOf(modelPath_), 0) << "the old model must be released";
    EXPECT_EQ(mappingsOf(second), 1);
    ASSERT_TRUE(addAndWait(w.get(), {docsDir()}));
    EXPECT_TRUE(w->lastAddSummary().error.isEmpty()) << w->lastAddSummary().error.toStdString();
    EXPECT_GT(w->lastAddSummary().chunksCompiled, 0) << "caches of the new model compile on the shared model";
    w->close();
    w.reset();
    EXPECT_EQ(mappingsOf(second), 0);
}

} // namespace
} // namespace epic::guitest
