#include "CacheTableModel.h"

#include <QDateTime>
#include <QLocale>

CacheTableModel::CacheTableModel(QObject* parent) : QAbstractTableModel(parent) {}

int CacheTableModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : (int)entries_.size(); }
int CacheTableModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant CacheTableModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= entries_.size()) return {};
    const CacheEntryInfo& e = entries_.at(index.row());
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case DocumentColumn: return e.documentTitle.isEmpty() ? tr("(system prompt or unlinked)") : e.documentTitle;
        case ModelColumn: return e.fingerprint.left(12);
        case FormatColumn: return e.format;
        case RawColumn: return QLocale().formattedDataSize((qint64)e.rawBytes);
        case CompressedColumn: return QLocale().formattedDataSize((qint64)e.compressedBytes);
        // Not recorded (an older build wrote the cache): a dash until it is next loaded.
        case BytesPerTokenColumn: return e.rows > 0 ? QString::number(e.bytesPerToken(), 'f', 1) : QStringLiteral("–");
        case RatioColumn: return e.decodedBytes > 0 ? QString::number(e.ratio(), 'f', 2) : QStringLiteral("–");
        case HitsColumn: return e.hits;
        case LastUsedColumn:
            return e.lastUsedMs > 0 ? QDateTime::fromMSecsSinceEpoch(e.lastUsedMs).toString("yyyy-MM-dd hh:mm:ss") : tr("never");
        case PinnedColumn: return e.pinned ? tr("pinned") : QString();
        case KeyColumn: return e.key;
        }
        return {};
    }
    if (role == SortRole) {
        switch (index.column()) {
        case DocumentColumn: return e.documentTitle;
        case ModelColumn: return e.fingerprint;
        case FormatColumn: return e.format;
        case RawColumn: return (qulonglong)e.rawBytes;
        case CompressedColumn: return (qulonglong)e.compressedBytes;
        case BytesPerTokenColumn: return e.bytesPerToken();
        case RatioColumn: return e.ratio();
        case HitsColumn: return e.hits;
        case LastUsedColumn: return e.lastUsedMs;
        case PinnedColumn: return e.pinned;
        case KeyColumn: return e.key;
        }
        return {};
    }
    if (role == Qt::ToolTipRole)
        return tr("Model %1\nOptions %2\nKey %3\n%4 rows; ratio = K/V bytes as linked (f16) / bytes on disk")
            .arg(e.fingerprint, e.compileOptions, e.key, e.rows > 0 ? QString::number(e.rows) : tr("unrecorded"));
    if (role == Qt::TextAlignmentRole && index.column() >= RawColumn && index.column() <= HitsColumn)
        return int(Qt::AlignRight | Qt::AlignVCenter);
    if (role == KeyRole) return e.key;
    if (role == PinnedRole) return e.pinned;
    if (role == DocumentIdRole) return e.documentId;
    return {};
}

QVariant CacheTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (section) {
    case DocumentColumn: return tr("Document");
    case ModelColumn: return tr("Model");
    case FormatColumn: return tr("Format");
    case RawColumn: return tr("Raw");
    case CompressedColumn: return tr("On disk");
    case BytesPerTokenColumn: return tr("Bytes/token");
    case RatioColumn: return tr("Ratio");
    case HitsColumn: return tr("Hits");
    case LastUsedColumn: return tr("Last used");
    case PinnedColumn: return tr("Pinned");
    case KeyColumn: return tr("Key");
    }
    return {};
}

void CacheTableModel::setEntries(const QVector<CacheEntryInfo>& entries) {
    // A full reset is fine here: the panel restores the selection by key afterwards.
    beginResetModel();
    entries_ = entries;
    endResetModel();
}

int CacheTableModel::rowOfKey(const QString& key) const {
    for (int i = 0; i < entries_.size(); ++i)
        if (entries_[i].key == key) return i;
    return -1;
}
