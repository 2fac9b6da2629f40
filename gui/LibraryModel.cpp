#include "LibraryModel.h"

#include <QBrush>
#include <QColor>
#include <QFileInfo>
#include <QHash>
#include <QLocale>

LibraryModel::LibraryModel(QObject* parent) : QAbstractTableModel(parent) {}

int LibraryModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : (int)rows_.size(); }
int LibraryModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QString LibraryModel::stateText(int row) const {
    const DocumentInfo& d = rows_.at(row);
    if (d.state == "compiling" && haveProgress_ && progress_.current == d.path && d.chunks > 0) {
        const int pct = (int)qBound<qint64>(qint64(0), progress_.currentDocumentChunksDone * 100 / d.chunks, qint64(100));
        return tr("compiling %1%").arg(pct);
    }
    return d.state;
}

QVariant LibraryModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rows_.size()) return {};
    const DocumentInfo& d = rows_.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case NameColumn: return d.title.isEmpty() ? QFileInfo(d.path).fileName() : d.title;
        case StateColumn: return stateText(index.row());
        case ChunksColumn: return d.state == "queued" ? QVariant() : QVariant(d.chunks);
        case SizeColumn: return d.size > 0 ? QLocale().formattedDataSize(d.size) : QString();
        }
        return {};
    case Qt::ToolTipRole:
        if (d.state == "failed") return tr("%1\nFailed: %2").arg(d.path, d.error);
        return d.path;
    case Qt::ForegroundRole:
        if (index.column() == StateColumn) {
            if (d.state == "failed") return QBrush(QColor(0xc0, 0x20, 0x20));
            if (d.state == "ready") return QBrush(QColor(0x20, 0x80, 0x30));
            return QBrush(QColor(0x80, 0x60, 0x10));
        }
        return {};
    case IdRole: return d.id;
    case PathRole: return d.path;
    case StateRole: return d.state;
    case ErrorRole: return d.error;
    }
    return {};
}

QVariant LibraryModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (section) {
    case NameColumn: return tr("Document");
    case StateColumn: return tr("State");
    case ChunksColumn: return tr("Chunks");
    case SizeColumn: return tr("Size");
    }
    return {};
}

int LibraryModel::rowOfPath(const QString& path) const { return rowByPath_.value(path, -1); }

void LibraryModel::reindex() {
    rowByPath_.clear();
    for (int i = 0; i < rows_.size(); ++i) rowByPath_.insert(rows_[i].path, i);
}

static bool sameRow(const DocumentInfo& a, const DocumentInfo& b) {
    return a.id == b.id && a.state == b.state && a.error == b.error && a.chunks == b.chunks && a.size == b.size &&
           a.title == b.title && a.kind == b.kind;
}

int LibraryModel::countInState(const QString& state) const {
    int n = 0;
    for (const auto& d : rows_) n += d.state == state;
    return n;
}

void LibraryModel::setDocuments(const QVector<DocumentInfo>& documents) {
    // Updated row by row (not reset) so the view keeps its selection and scroll position.
    QHash<QString, int> incoming;
    for (int i = 0; i < documents.size(); ++i) incoming.insert(documents[i].path, i);
    for (const auto& d : documents) queued_.remove(d.path);
    for (int r = (int)rows_.size() - 1; r >= 0; --r) {
        const QString& p = rows_[r].path;
        if (!incoming.contains(p) && !queued_.contains(p)) {
            beginRemoveRows({}, r, r);
            rows_.removeAt(r);
            endRemoveRows();
        }
    }
    reindex();
    // Only rows that really changed are announced: a refresh of an idle library costs no repaint.
    int first = -1, last = -1;
    for (const auto& d : documents) {
        const int r = rowOfPath(d.path);
        if (r < 0) {
            beginInsertRows({}, (int)rows_.size(), (int)rows_.size());
            rows_.push_back(d);
            rowByPath_.insert(d.path, (int)rows_.size() - 1);
            endInsertRows();
        } else if (!sameRow(rows_[r], d)) {
            rows_[r] = d;
            first = first < 0 ? r : qMin(first, r);
            last = qMax(last, r);
        }
    }
    if (first >= 0) emit dataChanged(index(first, 0), index(last, ColumnCount - 1));
}

void LibraryModel::addQueued(const QStringList& files) {
    for (const QString& f : files) {
        if (rowOfPath(f) >= 0) continue;
        DocumentInfo d;
        d.path = f;
        d.state = "queued";
        d.size = QFileInfo(f).size();
        queued_.insert(f);
        beginInsertRows({}, (int)rows_.size(), (int)rows_.size());
        rows_.push_back(d);
        rowByPath_.insert(f, (int)rows_.size() - 1);
        endInsertRows();
    }
}

void LibraryModel::clearQueued() {
    for (int r = (int)rows_.size() - 1; r >= 0; --r) {
        if (rows_[r].id == 0 && queued_.contains(rows_[r].path)) {
            beginRemoveRows({}, r, r);
            rows_.removeAt(r);
            endRemoveRows();
        }
    }
    queued_.clear();
    reindex();
}

void LibraryModel::setProgress(const IngestProgress& progress) {
    const QString before = haveProgress_ ? progress_.current : QString();
    progress_ = progress;
    haveProgress_ = true;
    for (const QString& p : {before, progress.current}) {
        const int r = rowOfPath(p);
        if (r >= 0) emit dataChanged(index(r, StateColumn), index(r, StateColumn));
    }
}

void LibraryModel::clearProgress() {
    haveProgress_ = false;
    if (rows_.isEmpty()) return;
    emit dataChanged(index(0, StateColumn), index((int)rows_.size() - 1, StateColumn));
}
