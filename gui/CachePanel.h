#pragma once
// The cache panel: a sortable, filterable table of chunk caches, the actions on them, and the disk
// budget with how much of it is used. It only emits requests; MainWindow routes them to the workers.
#include "GuiTypes.h"

#include <QWidget>

class CacheTableModel;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSortFilterProxyModel;
class QTableView;

class CachePanel : public QWidget {
    Q_OBJECT
public:
    explicit CachePanel(QWidget* parent = nullptr);

    void setEntries(const QVector<CacheEntryInfo>& entries, const CacheSummaryInfo& summary, const QString& error);
    void showMessage(const QString& text);

    CacheTableModel* model() const { return model_; }
    QSortFilterProxyModel* proxy() const { return proxy_; }
    QTableView* view() const { return view_; }
    QPushButton* pinButton() const { return pin_; }
    QPushButton* evictButton() const { return evict_; }
    QPushButton* verifyButton() const { return verify_; }
    QPushButton* recompileButton() const { return recompile_; }
    QPushButton* removeButton() const { return remove_; }
    QPushButton* refreshButton() const { return refresh_; }
    QString usageText() const;

    // Selects the row of `key` (in view order); false when it is not listed.
    bool selectKey(const QString& key);
    QStringList selectedKeys() const;

signals:
    void refreshRequested();
    void pinRequested(const QString& key, bool pinned);
    void evictRequested(const QStringList& keys);
    void verifyRequested();
    void recompileRequested(qint64 documentId);
    void removeDocumentsRequested(const QList<qint64>& documentIds);

private:
    void updateButtons();
    QList<int> selectedSourceRows() const;

    CacheTableModel* model_;
    QSortFilterProxyModel* proxy_;
    QTableView* view_;
    QLineEdit* filter_;
    QLabel* usage_;
    QProgressBar* usageBar_;
    QLabel* message_;
    QPushButton* pin_;
    QPushButton* evict_;
    QPushButton* recompile_;
    QPushButton* verify_;
    QPushButton* remove_;
    QPushButton* refresh_;
};
