// The app holds one copy of the model: the chat and ingest workers share what the chat worker loaded
// (on the CUDA backend a second copy would double the GPU memory and the load time). Seen from outside
// through /proc/self/maps: every load of a GGUF maps the file once.
#include "gui_test_support.h"

#include "BackgroundPriority.h"
#include "ChatPanel.h"
#include "LibraryModel.h"

#include <fstream>
#include <map>
#include <sstream>

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

// Every thread of this process by its name (Linux names a thread after its QThread's objectName,
// and a thread it creates inherits the name): name -> the nice values of the threads so named.
std::multimap<std::string, int> threadNiceByName() {
    std::multimap<std::string, int> out;
    for (const auto& task : fs::directory_iterator("/proc/self/task")) {
        std::ifstream comm(task.path() / "comm"), stat(task.path() / "stat");
        std::string name, line;
        if (!std::getline(comm, name) || !std::getline(stat, line)) continue; // the thread ended meanwhile
        // stat: "tid (comm) state ppid ..." with nice the 19th field; comm may hold spaces, so count
        // the fields after the last ')'.
        std::istringstream rest(line.substr(line.rfind(')') + 2));
        std::string field;
        for (int i = 3; i <= 19 && rest >> field; ++i) {
        }
        out.emplace(name, std::stoi(field));
    }
    return out;
}

using GuiModel = GuiTest;

TEST_F(GuiModel, WorkerAndModelThreadsYieldToTheWindowsThread) {
    auto w = openWindow();
    ASSERT_TRUE(w->modelReady()) << w->modelError().toStdString();
    const int gui = currentThreadNice();
    int workers = 0, chat = 0;
    for (const auto& [name, nice] : threadNiceByName()) {
        if (name.rfind("epic-", 0) != 0) continue;
        ++workers;
        chat += name == "epic-chat";
        EXPECT_EQ(nice, gui + backgroundNiceIncrement) << name << " runs at the window's priority";
    }
    // The chat, ingest and library workers, and the CPU backend's pool threads the chat worker made
    // when it loaded the model (named after it, and as nice as it).
    EXPECT_GE(workers, 4);
    EXPECT_GE(chat, 2) << "the model's compute threads inherit the chat worker's priority";
    EXPECT_EQ(currentThreadNice(), gui) << "the window's own thread keeps its priority";
}

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
