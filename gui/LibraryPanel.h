#pragma once
// The library side panel: every document with its state (queued, extracting, compiling n%, ready,
// failed; the reason shows as a tooltip and below the list when a failed row is clicked).
#include <QWidget>

class LibraryModel;
class QLabel;
class QPushButton;
class QTreeView;

class LibraryPanel : public QWidget {
    Q_OBJECT
public:
    explicit LibraryPanel(LibraryModel* model, QWidget* parent = nullptr);

    QTreeView* view() const { return view_; }
    QString detailText() const;
    void setSummary(const QString& text);

signals:
    void addFilesRequested();
    void addFolderRequested();
    void removeRequested(const QList<qint64>& documentIds);

private:
    void showDetail();

    LibraryModel* model_;
    QTreeView* view_;
    QLabel* summary_;
    QLabel* detail_;
    QPushButton* addFiles_;
    QPushButton* addFolder_;
    QPushButton* remove_;
};
