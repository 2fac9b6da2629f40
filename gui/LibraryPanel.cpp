#include "LibraryPanel.h"

#include "LibraryModel.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTreeView>
#include <QVBoxLayout>

LibraryPanel::LibraryPanel(LibraryModel* model, QWidget* parent) : QWidget(parent), model_(model) {
    view_ = new QTreeView(this);
    view_->setModel(model);
    view_->setRootIsDecorated(false);
    view_->setUniformRowHeights(true); // cheap layout for thousands of rows
    view_->setSelectionMode(QAbstractItemView::ExtendedSelection);
    view_->setAlternatingRowColors(true);
    // Fixed widths from the font, not ResizeToContents: that re-measures every row on every change,
    // which with a large library turns each progress update into a long stall of the GUI thread.
    const QFontMetrics fm = view_->fontMetrics();
    view_->header()->setStretchLastSection(false);
    view_->header()->setSectionResizeMode(LibraryModel::NameColumn, QHeaderView::Stretch);
    for (int c : {LibraryModel::StateColumn, LibraryModel::ChunksColumn, LibraryModel::SizeColumn})
        view_->header()->setSectionResizeMode(c, QHeaderView::Interactive);
    view_->setColumnWidth(LibraryModel::StateColumn, fm.horizontalAdvance("compiling 100%") + 16);
    view_->setColumnWidth(LibraryModel::ChunksColumn, fm.horizontalAdvance("Chunks") + 16);
    view_->setColumnWidth(LibraryModel::SizeColumn, fm.horizontalAdvance("999.9 KiB") + 16);
    summary_ = new QLabel(this);
    detail_ = new QLabel(this);
    detail_->setWordWrap(true);
    detail_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    addFiles_ = new QPushButton(tr("Add files…"), this);
    addFolder_ = new QPushButton(tr("Add folder…"), this);
    remove_ = new QPushButton(tr("Remove"), this);

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(addFiles_);
    buttons->addWidget(addFolder_);
    buttons->addWidget(remove_);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(new QLabel(tr("<b>Library</b>"), this));
    layout->addWidget(view_, 1);
    layout->addWidget(summary_);
    layout->addWidget(detail_);
    layout->addLayout(buttons);

    connect(addFiles_, &QPushButton::clicked, this, &LibraryPanel::addFilesRequested);
    connect(addFolder_, &QPushButton::clicked, this, &LibraryPanel::addFolderRequested);
    connect(remove_, &QPushButton::clicked, this, [this] {
        QList<qint64> ids;
        for (const QModelIndex& i : view_->selectionModel()->selectedRows()) {
            const qint64 id = model_->document(i.row()).id;
            if (id > 0) ids << id;
        }
        if (!ids.isEmpty()) emit removeRequested(ids);
    });
    connect(view_, &QTreeView::clicked, this, &LibraryPanel::showDetail);
    connect(model_, &QAbstractItemModel::dataChanged, this, &LibraryPanel::showDetail);
}

void LibraryPanel::showDetail() {
    const QModelIndex i = view_->currentIndex();
    if (!i.isValid() || i.row() >= model_->rowCount()) {
        detail_->clear();
        return;
    }
    const auto& d = model_->document(i.row());
    if (d.state == "failed") detail_->setText(tr("<b>%1</b> failed: %2").arg(d.path.toHtmlEscaped(), d.error.toHtmlEscaped()));
    else detail_->setText(d.path.toHtmlEscaped());
}

QString LibraryPanel::detailText() const { return detail_->text(); }
void LibraryPanel::setSummary(const QString& text) { summary_->setText(text); }
