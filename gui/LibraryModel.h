#pragma once
// The documents of the library for the side panel (GUI thread only). Rows come from the database
// (through LibraryWorker) plus "queued" placeholders for files dropped but not reached yet; the
// compile percentage of the document being compiled comes from the ingestion progress.
#include "GuiTypes.h"

#include <QAbstractTableModel>
#include <QHash>
#include <QSet>

class LibraryModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { NameColumn, StateColumn, ChunksColumn, SizeColumn, ColumnCount };
    enum Role { IdRole = Qt::UserRole + 1, PathRole, StateRole, ErrorRole };

    explicit LibraryModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    void setDocuments(const QVector<DocumentInfo>& documents);
    void addQueued(const QStringList& files);
    void clearQueued();          // the ingestion ended: placeholders not reached are dropped
    void setProgress(const IngestProgress& progress);
    void clearProgress();

    const DocumentInfo& document(int row) const { return rows_.at(row); }
    int rowOfPath(const QString& path) const;
    int countInState(const QString& state) const;
    // "compiling 40%" etc.: what the state column shows.
    QString stateText(int row) const;

private:
    void reindex();

    QVector<DocumentInfo> rows_;
    QHash<QString, int> rowByPath_; // path -> row, rebuilt when rows move
    QSet<QString> queued_;       // paths shown as placeholders (no database row yet)
    IngestProgress progress_;
    bool haveProgress_ = false;
};
