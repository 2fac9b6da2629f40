// The cache panel on a real library: it lists what the KV store holds, sorts it, and pin / unpin /
// evict / verify / recompile / remove act on the store (checked through a second service object).
#include "gui_test_support.h"

#include "CachePanel.h"
#include "CacheTableModel.h"
#include "LibraryModel.h"
#include "kvstore/kv_store.h"
#include "library/records.h"

#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QTabWidget>
#include <QTableView>

#include <algorithm>

namespace epic::guitest {
namespace {

class GuiCache : public GuiTest {
protected:
    // Triggers a refresh and waits for the table to show `expected` rows.
    bool refreshed(MainWindow* w, int expected) {
        w->refreshCache();
        return waitUntil([&] { return w->cachePanel()->model()->rowCount() == expected; });
    }
    // Runs an action from the panel and waits until the worker reported it and the table refreshed.
    QString act(MainWindow* w, QPushButton* button) {
        QString message;
        bool refreshedAfter = false, done = false;
        auto a = QObject::connect(w, &MainWindow::actionFinished, [&](const QString& m) {
            message = m;
            done = true;
        });
        auto b = QObject::connect(w, &MainWindow::cacheRefreshed, [&] { refreshedAfter = done; });
        button->click();
        EXPECT_TRUE(waitUntil([&] { return done && refreshedAfter; })) << "no answer to " << button->text().toStdString();
        QObject::disconnect(a);
        QObject::disconnect(b);
        return message;
    }
    const storage::kv_entry* find(const std::vector<storage::kv_entry>& entries, const QString& key) {
        for (const auto& e : entries)
            if (e.cache_key == key.toStdString()) return &e;
        return nullptr;
    }
};

TEST_F(GuiCache, ListsSortsAndActsOnTheStore) {
    auto w = openWindow();
    ASSERT_TRUE(addAndWait(w.get(), {docsDir()}));
    auto other = secondService();
    auto entries = other->cache_entries().value();
    ASSERT_GT(entries.size(), 3u);

    CachePanel* panel = w->cachePanel();
    w->tabs()->setCurrentWidget(panel);
    ASSERT_TRUE(refreshed(w.get(), (int)entries.size()));
    const CacheTableModel* model = panel->model();
    int withDocument = 0;
    for (int r = 0; r < model->rowCount(); ++r) {
        const CacheEntryInfo& e = model->entry(r);
        const auto* real = find(entries, e.key);
        ASSERT_NE(real, nullptr);
        EXPECT_EQ(e.rawBytes, real->raw_bytes);
        EXPECT_EQ(e.compressedBytes, real->compressed_bytes);
        EXPECT_EQ(e.fingerprint.toStdString(), real->model_fingerprint);
        withDocument += e.documentId > 0;
    }
    EXPECT_GE(withDocument, (int)entries.size() - 1) << "every chunk cache names its document (the system prompt's does not)";
    EXPECT_TRUE(panel->usageText().contains(QString::number(entries.size()))) << panel->usageText().toStdString();

    // Sorting by on-disk bytes, both ways.
    panel->view()->sortByColumn(CacheTableModel::CompressedColumn, Qt::AscendingOrder);
    auto bytesAt = [&](int row) {
        return panel->proxy()->data(panel->proxy()->index(row, CacheTableModel::CompressedColumn), CacheTableModel::SortRole).toULongLong();
    };
    for (int r = 1; r < panel->proxy()->rowCount(); ++r) EXPECT_LE(bytesAt(r - 1), bytesAt(r));
    panel->view()->sortByColumn(CacheTableModel::CompressedColumn, Qt::DescendingOrder);
    for (int r = 1; r < panel->proxy()->rowCount(); ++r) EXPECT_GE(bytesAt(r - 1), bytesAt(r));

    // Pin, then unpin, the first row.
    QString key;
    for (int r = 0; r < model->rowCount() && key.isEmpty(); ++r)
        if (model->entry(r).documentId > 0) key = model->entry(r).key;
    ASSERT_TRUE(panel->selectKey(key));
    EXPECT_EQ(panel->pinButton()->text(), "Pin");
    act(w.get(), panel->pinButton());
    ASSERT_TRUE(find(other->cache_entries().value(), key));
    EXPECT_TRUE(find(other->cache_entries().value(), key)->pinned);
    EXPECT_TRUE(model->entry(model->rowOfKey(key)).pinned);
    ASSERT_TRUE(panel->selectKey(key));
    EXPECT_EQ(panel->pinButton()->text(), "Unpin");
    act(w.get(), panel->pinButton());
    EXPECT_FALSE(find(other->cache_entries().value(), key)->pinned);

    // Evict: gone from the store and from the table.
    ASSERT_TRUE(panel->selectKey(key));
    act(w.get(), panel->evictButton());
    EXPECT_EQ(find(other->cache_entries().value(), key), nullptr);
    EXPECT_EQ(model->rowOfKey(key), -1);
    EXPECT_EQ(model->rowCount(), (int)entries.size() - 1);

    // Recompile the document of a row: its missing cache comes back.
    QString docKey;
    qint64 docId = 0;
    for (int r = 0; r < model->rowCount() && !docId; ++r)
        if (model->entry(r).documentId > 0) {
            docKey = model->entry(r).key;
            docId = model->entry(r).documentId;
        }
    ASSERT_TRUE(panel->selectKey(docKey));
    const QString recompiled = act(w.get(), panel->recompileButton());
    EXPECT_TRUE(recompiled.contains("Recompiled")) << recompiled.toStdString();

    // Verify finds a damaged blob and removes it.
    entries = other->cache_entries().value();
    const storage::kv_entry victim = entries.back();
    const fs::path blob = dir_ / "library" / "kv" / victim.blob_path;
    ASSERT_TRUE(fs::exists(blob)) << blob;
    {
        std::fstream f(blob, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp((std::streamoff)fs::file_size(blob) / 2);
        const std::string junk(64, '\x5a');
        f.write(junk.data(), (std::streamsize)junk.size());
    }
    const QString verified = act(w.get(), panel->verifyButton());
    EXPECT_TRUE(verified.contains("1 bad")) << verified.toStdString();
    EXPECT_EQ(find(other->cache_entries().value(), QString::fromStdString(victim.cache_key)), nullptr);

    // Remove the document of a row: the library no longer lists it.
    const size_t docsBefore = other->documents().value().size();
    for (int r = 0; r < model->rowCount(); ++r)
        if (model->entry(r).documentId > 0) {
            ASSERT_TRUE(panel->selectKey(model->entry(r).key));
            break;
        }
    const QString removed = act(w.get(), panel->removeButton());
    EXPECT_TRUE(removed.contains("Removed")) << removed.toStdString();
    EXPECT_EQ(other->documents().value().size(), docsBefore - 1);
    ASSERT_TRUE(waitUntil([&] { return w->libraryModel()->rowCount() == (int)docsBefore - 1; }));
}

TEST_F(GuiCache, TheBudgetIsShownWithWhatIsUsed) {
    {
        QSettings q(settingsFile_, QSettings::IniFormat);
        q.setValue("cache/budgetMb", 50);
    }
    auto w = openWindow();
    ASSERT_TRUE(addAndWait(w.get(), {docsDir()}));
    auto other = secondService();
    ASSERT_TRUE(refreshed(w.get(), (int)other->cache_entries().value().size()));
    const QString usage = w->cachePanel()->usageText();
    EXPECT_TRUE(usage.contains("budget")) << usage.toStdString();
    EXPECT_TRUE(usage.contains("50")) << usage.toStdString();
}

TEST_F(GuiCache, ShowsEachCachesFormatBytesPerTokenAndRatio) {
    {
        QSettings q(settingsFile_, QSettings::IniFormat);
        q.setValue("cache/format", "q8");
    }
    auto w = openWindow();
    ASSERT_TRUE(addAndWait(w.get(), {docsDir()}));
    ASSERT_TRUE(askAndWait(w.get(), "Which document mentions zebra3?")); // the system segment's cache too
    auto other = secondService();
    auto infos = other->cache_entry_infos().value();
    ASSERT_GT(infos.size(), 3u);
    CachePanel* panel = w->cachePanel();
    ASSERT_TRUE(refreshed(w.get(), (int)infos.size()));
    const CacheTableModel* model = panel->model();
    EXPECT_EQ(model->headerData(CacheTableModel::FormatColumn, Qt::Horizontal).toString(), "Format");
    EXPECT_EQ(model->headerData(CacheTableModel::BytesPerTokenColumn, Qt::Horizontal).toString(), "Bytes/token");
    EXPECT_EQ(model->headerData(CacheTableModel::RatioColumn, Qt::Horizontal).toString(), "Ratio");
    auto shown = [&](int row, int column) { return model->data(model->index(row, column)).toString(); };
    for (int r = 0; r < model->rowCount(); ++r) {
        const CacheEntryInfo& e = model->entry(r);
        const cache_entry_info* real = nullptr;
        for (const auto& i : infos)
            if (i.entry.cache_key == e.key.toStdString()) real = &i;
        ASSERT_NE(real, nullptr);
        EXPECT_EQ(real->format, "q8") << "every cache of this library was compiled in the format set";
        EXPECT_EQ(shown(r, CacheTableModel::FormatColumn), "q8");
        ASSERT_GT(real->rows, 0);
        EXPECT_EQ(e.rows, real->rows);
        EXPECT_EQ(shown(r, CacheTableModel::BytesPerTokenColumn), QString::number(real->bytes_per_token(), 'f', 1));
        EXPECT_EQ(shown(r, CacheTableModel::RatioColumn), QString::number(real->ratio(), 'f', 2));
        EXPECT_DOUBLE_EQ(model->data(model->index(r, CacheTableModel::RatioColumn), CacheTableModel::SortRole).toDouble(), real->ratio());
    }
    EXPECT_TRUE(panel->usageText().contains("q8: " + QString::number(infos.size()))) << panel->usageText().toStdString();

    // Another format: the services reopen, a question compiles its chunks in it (the q8 caches stay,
    // unused), and the panel lists both.
    AppSettings s = w->settings();
    s.cacheFormat = "f16";
    bool reopened = false;
    QObject::connect(w.get(), &MainWindow::servicesOpened, [&] { reopened = true; });
    w->applySettings(s);
    ASSERT_TRUE(waitUntil([&] { return reopened; }));
    ASSERT_TRUE(askAndWait(w.get(), "Which document mentions zebra3?"));
    EXPECT_GT(w->chatPanel()->lastTurn()->stats.chunksCompiled, 0) << "q8 caches are stale for an f16 library";
    infos = other->cache_entry_infos().value();
    ASSERT_TRUE(refreshed(w.get(), (int)infos.size()));
    int f16 = 0, q8 = 0;
    for (int r = 0; r < model->rowCount(); ++r) {
        f16 += shown(r, CacheTableModel::FormatColumn) == "f16";
        q8 += shown(r, CacheTableModel::FormatColumn) == "q8";
    }
    EXPECT_GT(f16, 0);
    EXPECT_GT(q8, 0);
    EXPECT_EQ(f16 + q8, model->rowCount());
    EXPECT_TRUE(panel->usageText().contains("f16: ")) << panel->usageText().toStdString();
}

} // namespace
} // namespace epic::guitest
