#include "CachePanel.h"

#include "CacheTableModel.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QProgressBar>
#include <QPushButton>
#include <QSet>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>

CachePanel::CachePanel(QWidget* parent) : QWidget(parent) {
    model_ = new CacheTableModel(this);
    proxy_ = new QSortFilterProxyModel(this);
    proxy_->setSourceModel(model_);
    proxy_->setSortRole(CacheTableModel::SortRole);
    proxy_->setFilterKeyColumn(-1); // any column
    proxy_->setFilterCaseSensitivity(Qt::CaseInsensitive);

    view_ = new QTableView(this);
    view_->setModel(proxy_);
    view_->setSortingEnabled(true);
    view_->sortByColumn(CacheTableModel::LastUsedColumn, Qt::DescendingOrder);
    view_->setSelectionBehavior(QAbstractItemView::SelectRows);
    view_->setSelectionMode(QAbstractItemView::ExtendedSelection);
    view_->setAlternatingRowColors(true);
    view_->verticalHeader()->hide();
    view_->setWordWrap(false);
    view_->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed); // no per-row measuring
    view_->verticalHeader()->setDefaultSectionSize(view_->fontMetrics().height() + 8);
    view_->horizontalHeader()->setStretchLastSection(true);
    view_->horizontalHeader()->setSectionResizeMode(CacheTableModel::DocumentColumn, QHeaderView::Interactive);
    view_->setColumnWidth(CacheTableModel::DocumentColumn, 200);

    filter_ = new QLineEdit(this);
    filter_->setPlaceholderText(tr("Filter by document, model or key"));
    filter_->setClearButtonEnabled(true);
    connect(filter_, &QLineEdit::textChanged, proxy_, &QSortFilterProxyModel::setFilterFixedString);

    usage_ = new QLabel(this);
    usageBar_ = new QProgressBar(this);
    usageBar_->setMaximumWidth(220);
    usageBar_->setTextVisible(true);
    message_ = new QLabel(this);
    message_->setWordWrap(true);
    message_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    pin_ = new QPushButton(tr("Pin"), this);
    evict_ = new QPushButton(tr("Evict"), this);
    recompile_ = new QPushButton(tr("Recompile document"), this);
    remove_ = new QPushButton(tr("Remove document"), this);
    verify_ = new QPushButton(tr("Verify all"), this);
    refresh_ = new QPushButton(tr("Refresh"), this);
    pin_->setToolTip(tr("Pinned caches are never evicted by the disk budget"));
    evict_->setToolTip(tr("Delete the selected caches; they are compiled again when next needed"));
    verify_->setToolTip(tr("Check every cache file against its checksum; bad ones are removed"));

    auto* top = new QHBoxLayout;
    top->addWidget(filter_, 1);
    top->addWidget(usage_);
    top->addWidget(usageBar_);
    auto* buttons = new QHBoxLayout;
    for (QPushButton* b : {pin_, evict_, recompile_, remove_}) buttons->addWidget(b);
    buttons->addStretch(1);
    buttons->addWidget(verify_);
    buttons->addWidget(refresh_);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(view_, 1);
    layout->addLayout(buttons);
    layout->addWidget(message_);

    connect(view_->selectionModel(), &QItemSelectionModel::selectionChanged, this, &CachePanel::updateButtons);
    connect(refresh_, &QPushButton::clicked, this, &CachePanel::refreshRequested);
    connect(verify_, &QPushButton::clicked, this, &CachePanel::verifyRequested);
    connect(pin_, &QPushButton::clicked, this, [this] {
        const QList<int> rows = selectedSourceRows();
        if (rows.isEmpty()) return;
        // One button toggles: pin when any selected cache is unpinned, otherwise unpin them all.
        bool anyUnpinned = false;
        for (int r : rows) anyUnpinned |= !model_->entry(r).pinned;
        for (int r : rows) emit pinRequested(model_->entry(r).key, anyUnpinned);
    });
    connect(evict_, &QPushButton::clicked, this, [this] {
        const QStringList keys = selectedKeys();
        if (!keys.isEmpty()) emit evictRequested(keys);
    });
    connect(recompile_, &QPushButton::clicked, this, [this] {
        QSet<qint64> seen;
        for (int r : selectedSourceRows()) {
            const qint64 id = model_->entry(r).documentId;
            if (id > 0 && !seen.contains(id)) {
                seen.insert(id);
                emit recompileRequested(id);
            }
        }
    });
    connect(remove_, &QPushButton::clicked, this, [this] {
        QList<qint64> ids;
        for (int r : selectedSourceRows()) {
            const qint64 id = model_->entry(r).documentId;
            if (id > 0 && !ids.contains(id)) ids << id;
        }
        if (!ids.isEmpty()) emit removeDocumentsRequested(ids);
    });
    updateButtons();
}

QList<int> CachePanel::selectedSourceRows() const {
    QList<int> rows;
    for (const QModelIndex& i : view_->selectionModel()->selectedRows()) rows << proxy_->mapToSource(i).row();
    return rows;
}

QStringList CachePanel::selectedKeys() const {
    QStringList keys;
    for (int r : selectedSourceRows()) keys << model_->entry(r).key;
    return keys;
}

bool CachePanel::selectKey(const QString& key) {
    const int r = model_->rowOfKey(key);
    if (r < 0) return false;
    const QModelIndex i = proxy_->mapFromSource(model_->index(r, 0));
    if (!i.isValid()) return false;
    view_->selectionModel()->select(i, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    view_->scrollTo(i);
    return true;
}

void CachePanel::updateButtons() {
    const QList<int> rows = selectedSourceRows();
    bool anyUnpinned = false, anyDocument = false;
    for (int r : rows) {
        anyUnpinned |= !model_->entry(r).pinned;
        anyDocument |= model_->entry(r).documentId > 0;
    }
    pin_->setText(rows.isEmpty() || anyUnpinned ? tr("Pin") : tr("Unpin"));
    pin_->setEnabled(!rows.isEmpty());
    evict_->setEnabled(!rows.isEmpty());
    recompile_->setEnabled(anyDocument);
    remove_->setEnabled(anyDocument);
}

void CachePanel::setEntries(const QVector<CacheEntryInfo>& entries, const CacheSummaryInfo& summary, const QString& error) {
    const QStringList keep = selectedKeys();
    const bool first = model_->rowCount() == 0;
    model_->setEntries(entries);
    if (first && !entries.isEmpty()) {
        view_->resizeColumnsToContents();
        view_->setColumnWidth(CacheTableModel::DocumentColumn, qMin(view_->columnWidth(CacheTableModel::DocumentColumn), 260));
    }
    for (const QString& k : keep) {
        const int r = model_->rowOfKey(k);
        if (r < 0) continue;
        const QModelIndex i = proxy_->mapFromSource(model_->index(r, 0));
        if (i.isValid()) view_->selectionModel()->select(i, QItemSelectionModel::Select | QItemSelectionModel::Rows);
    }
    const QLocale loc;
    // Per format: how many, and what one token costs on disk (the figure that compares formats).
    QStringList formats;
    for (const CacheFormatInfo& f : summary.formats) {
        QString part = tr("%1: %2").arg(f.format).arg(f.entries);
        if (f.bytesPerToken > 0) part += tr(", %1 B/token, ratio %2").arg(f.bytesPerToken, 0, 'f', 0).arg(f.ratio, 0, 'f', 2);
        formats << part;
    }
    const QString byFormat = formats.isEmpty() ? QString() : " (" + formats.join("; ") + ")";
    if (summary.budgetBytes > 0) {
        usage_->setText(tr("%1 caches%2, %3 pinned, %4 of %5 budget on disk")
                            .arg(summary.entries)
                            .arg(byFormat)
                            .arg(summary.pinned)
                            .arg(loc.formattedDataSize((qint64)summary.compressedBytes), loc.formattedDataSize((qint64)summary.budgetBytes)));
        usageBar_->setVisible(true);
        usageBar_->setRange(0, 1000);
        usageBar_->setValue((int)qMin<quint64>(1000, summary.compressedBytes * 1000 / summary.budgetBytes));
        usageBar_->setFormat(QString("%1%").arg(100.0 * (double)summary.compressedBytes / (double)summary.budgetBytes, 0, 'f', 1));
    } else {
        usage_->setText(tr("%1 caches%2, %3 pinned, %4 on disk; no disk budget")
                            .arg(summary.entries)
                            .arg(byFormat)
                            .arg(summary.pinned)
                            .arg(loc.formattedDataSize((qint64)summary.compressedBytes)));
        usageBar_->setVisible(false);
    }
    if (!error.isEmpty()) message_->setText(error);
    updateButtons();
}

QString CachePanel::usageText() const { return usage_->text(); }

void CachePanel::showMessage(const QString& text) { message_->setText(text); }
