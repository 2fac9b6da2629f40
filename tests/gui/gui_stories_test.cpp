// stories260K (a real tiny model) through the GUI end to end, when ../shared/models has it.
#include "gui_test_support.h"

#include "ChatPanel.h"
#include "LibraryModel.h"

namespace epic::guitest {
namespace {

using GuiStories = GuiTest;

TEST_F(GuiStories, AddAskAndAnswerWithARealModel) {
    const fs::path model = test::shared_model("stories260K/stories260K.gguf");
    EPIC_REQUIRE_SHARED(model);
    {
        QSettings q(settingsFile_, QSettings::IniFormat);
        q.setValue("model/path", QString::fromStdString(model.string()));
        q.setValue("sampling/maxTokens", 40);
        q.setValue("model/contextTokens", 2048);  // past the toy model's 128 trained positions: its chunks must fit
        q.setValue("sampling/stopAtEos", true);
    }
    writeText(dir_ / "story" / "lily.txt",
              "Lily was a little girl who loved to play in the park. One day she found a shiny red ball under a big tree.\n\n"
              "She shared the ball with her friend Tom and they played until the sun went down.\n");
    auto w = openWindow();
    ASSERT_TRUE(w->modelReady()) << w->modelError().toStdString();
    ASSERT_TRUE(dropFiles(w.get(), {QString::fromStdString((dir_ / "story").string()), docsDir()}));
    ASSERT_TRUE(waitUntil([&] { return !w->isIngesting() && w->libraryModel()->countInState("ready") == 7; }, 120000));
    ASSERT_TRUE(w->chatPanel()->ask("What did Lily find under the tree?"));
    ASSERT_TRUE(waitUntil([&] { return !w->isAnswering(); }, 120000));
    const ChatTurn* t = w->chatPanel()->lastTurn();
    ASSERT_NE(t, nullptr);
    EXPECT_TRUE(t->error.isEmpty()) << t->error.toStdString();
    EXPECT_FALSE(t->answer.trimmed().isEmpty());
    ASSERT_FALSE(t->sources.isEmpty());
    EXPECT_TRUE(t->sources[0].path.endsWith("lily.txt")) << t->sources[0].path.toStdString();
    std::printf("stories260K answered: %s\n", qPrintable(t->answer.simplified()));
}

} // namespace
} // namespace epic::guitest
