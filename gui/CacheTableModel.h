#pragma once
// The chunk caches of the KV store for the cache panel (GUI thread only). Display text is formatted,
// SortRole gives the raw number so QSortFilterProxyModel sorts bytes and dates correctly.
#include "GuiTypes.h"

#include <QAbstractTableModel>

class CacheTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    // Raw .. Hits are the right-aligned numbers.
    enum Column { DocumentColumn, ModelColumn, FormatColumn, RawColumn, CompressedColumn, BytesPerTokenColumn, RatioColumn,
                  HitsColumn, LastUsedColumn, PinnedColumn, KeyColumn, ColumnCount };
    enum Role { SortRole = Qt::UserRole + 1, KeyRole, PinnedRole, DocumentIdRole };

    explicit CacheTableModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    void setEntries(const QVector<CacheEntryInfo>& entries);
    const CacheEntryInfo& entry(int row) const { return entries_.at(row); }
    int rowOfKey(const QString& key) const;

private:
    QVector<CacheEntryInfo> entries_;
};
