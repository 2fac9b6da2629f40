#include "ChatPanel.h"

#include "QuestionEdit.h"

#include <QApplication>
#include <QClipboard>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollBar>
#include <QSplitter>
#include <QTextBrowser>
#include <QTextCursor>
#include <QTextDocument>
#include <QTimer>
#include <QUrl>
#include <QVBoxLayout>

ChatPanel::ChatPanel(QWidget* parent) : QWidget(parent) {
    list_ = new QListWidget(this);
    list_->setMinimumWidth(140);
    newConversation_ = new QPushButton(tr("New"), this);
    deleteConversation_ = new QPushButton(tr("Delete"), this);
    auto* left = new QWidget(this);
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    leftLayout->addWidget(new QLabel(tr("Conversations"), left));
    leftLayout->addWidget(list_, 1);
    auto* convButtons = new QHBoxLayout;
    convButtons->addWidget(newConversation_);
    convButtons->addWidget(deleteConversation_);
    leftLayout->addLayout(convButtons);

    transcript_ = new QTextBrowser(this);
    transcript_->setOpenLinks(false); // source:, copy: and regen: links are handled here
    transcript_->setPlaceholderText(tr("Drop files or folders anywhere on the window, then ask about them."));
    input_ = new QuestionEdit(this);
    send_ = new QPushButton(tr("Send"), this);
    stop_ = new QPushButton(tr("Stop"), this);
    send_->setDefault(true);
    hint_ = new QLabel(this);
    hint_->setWordWrap(true);
    auto* right = new QWidget(this);
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    rightLayout->addWidget(transcript_, 1);
    rightLayout->addWidget(hint_);
    auto* inputRow = new QHBoxLayout;
    inputRow->addWidget(input_, 1);
    auto* sendStop = new QVBoxLayout;
    sendStop->addWidget(send_);
    sendStop->addWidget(stop_);
    sendStop->addStretch(1);
    inputRow->addLayout(sendStop);
    rightLayout->addLayout(inputRow);

    auto* split = new QSplitter(Qt::Horizontal, this);
    split->addWidget(left);
    split->addWidget(right);
    split->setStretchFactor(1, 1);
    split->setSizes({170, 600});
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(split);

    renderTimer_ = new QTimer(this);
    renderTimer_->setSingleShot(true);
    renderTimer_->setInterval(40);
    connect(renderTimer_, &QTimer::timeout, this, [this] {
        if (isBusy() && activeConversation_ == current_) renderFrom(activeTurn_);
    });

    connect(input_, &QuestionEdit::submitted, this, &ChatPanel::submit);
    connect(send_, &QPushButton::clicked, this, &ChatPanel::submit);
    connect(stop_, &QPushButton::clicked, this, &ChatPanel::stop);
    connect(newConversation_, &QPushButton::clicked, this, &ChatPanel::newConversation);
    connect(deleteConversation_, &QPushButton::clicked, this, &ChatPanel::deleteConversation);
    connect(list_, &QListWidget::currentRowChanged, this, [this](int row) {
        if (row >= 0 && row != current_) selectConversation(row);
    });
    connect(transcript_, &QTextBrowser::anchorClicked, this, &ChatPanel::onAnchor);
    updateButtons();
}

void ChatPanel::setConversationFile(const QString& file) {
    if (file == store_.file()) return;
    if (isBusy()) abandonActive(tr("the library changed"));
    saveStore();
    QString error;
    if (!store_.load(file, &error)) hint_->setText(tr("Conversations could not be read: %1").arg(error));
    current_ = -1;
    refreshList();
    selectConversation(store_.count() > 0 ? store_.count() - 1 : -1);
}

void ChatPanel::setModelReady(bool ready, const QString& why) {
    modelReady_ = ready;
    modelProblem_ = why;
    hint_->setText(ready ? QString() : why);
    updateButtons();
}

const ChatTurn* ChatPanel::lastTurn() const {
    if (current_ < 0 || current_ >= store_.count() || store_.at(current_).turns.isEmpty()) return nullptr;
    return &store_.at(current_).turns.back();
}

void ChatPanel::saveStore() {
    QString error;
    if (!store_.save(&error)) hint_->setText(tr("Conversations could not be saved: %1").arg(error));
}

void ChatPanel::refreshList() {
    const QSignalBlocker block(list_);
    list_->clear();
    for (int i = 0; i < store_.count(); ++i) list_->addItem(store_.at(i).title);
    if (current_ >= 0) list_->setCurrentRow(current_);
}

void ChatPanel::selectConversation(int index) {
    current_ = index;
    {
        const QSignalBlocker block(list_);
        list_->setCurrentRow(index);
    }
    render();
    transcript_->verticalScrollBar()->setValue(transcript_->verticalScrollBar()->maximum());
    updateButtons();
}

void ChatPanel::newConversation() {
    // An empty conversation is reused rather than piling up empty ones.
    if (current_ >= 0 && store_.at(current_).turns.isEmpty()) return;
    const int i = store_.create();
    saveStore();
    refreshList();
    selectConversation(i);
}

void ChatPanel::deleteConversation() {
    if (isBusy() || current_ < 0) return;
    store_.remove(current_);
    saveStore();
    current_ = -1;
    refreshList();
    selectConversation(store_.count() > 0 ? store_.count() - 1 : -1);
}

void ChatPanel::updateButtons() {
    send_->setEnabled(!isBusy() && modelReady_);
    stop_->setEnabled(isBusy());
    deleteConversation_->setEnabled(!isBusy() && current_ >= 0);
}

void ChatPanel::submit() {
    const QString q = input_->toPlainText().trimmed();
    if (q.isEmpty() || isBusy() || !modelReady_) return;
    if (ask(q)) input_->clear();
}

bool ChatPanel::ask(const QString& question) {
    if (isBusy() || question.trimmed().isEmpty()) return false;
    if (current_ < 0) {
        current_ = store_.create();
        refreshList();
    }
    Conversation& c = store_.at(current_);
    if (c.turns.isEmpty()) {
        c.title = question.simplified().left(48);
        refreshList();
    }
    ChatTurn t;
    t.question = question.trimmed();
    c.turns.push_back(t);
    startRequest((int)c.turns.size() - 1, 0);
    return true;
}

bool ChatPanel::regenerate(int turn) {
    if (isBusy() || current_ < 0) return false;
    Conversation& c = store_.at(current_);
    if (turn != c.turns.size() - 1) return false; // only the last answer: later turns built on the others
    ChatTurn& t = c.turns[turn];
    t.answer.clear();
    t.error.clear();
    t.sources.clear();
    t.stats = AnswerStats{};
    t.cancelled = false;
    ++t.regenerations;
    startRequest(turn, t.regenerations);
    return true;
}

void ChatPanel::startRequest(int turn, int seedOffset) {
    ChatTurn& t = store_.at(current_).turns[turn];
    t.streaming = true;
    t.streamedPieces = 0;
    activeRequest_ = nextRequest_++;
    activeConversation_ = current_;
    activeTurn_ = turn;
    // From the turn before: its Regenerate link goes away now that it is no longer the last answer.
    renderFrom(qMax(0, turn - 1));
    transcript_->verticalScrollBar()->setValue(transcript_->verticalScrollBar()->maximum());
    updateButtons();
    emit busyChanged(true);
    emit askRequested(activeRequest_, t.question, seedOffset);
}

void ChatPanel::stop() {
    if (!isBusy()) return;
    // The worker stops at its next token; the turn ends when its (cancelled) result arrives.
    emit stopRequested(activeRequest_);
    stop_->setEnabled(false);
}

void ChatPanel::appendToken(quint64 requestId, const QString& piece) {
    if (requestId != activeRequest_) return; // a late token of an abandoned request
    ChatTurn& t = store_.at(activeConversation_).turns[activeTurn_];
    t.answer += piece;
    ++t.streamedPieces;
    if (activeConversation_ == current_) scheduleRender();
    emit tokenAppended(requestId, t.streamedPieces);
}

void ChatPanel::finishAnswer(quint64 requestId, const AnswerResult& result) {
    if (requestId != activeRequest_) return;
    ChatTurn& t = store_.at(activeConversation_).turns[activeTurn_];
    t.streaming = false;
    // The result's text is authoritative (the streamed pieces are the same text, flushed per token).
    if (!result.answer.isEmpty() || result.error.isEmpty()) t.answer = result.answer;
    t.error = result.error;
    t.warnings = result.warnings;
    t.cancelled = result.cancelled;
    t.sources = result.sources;
    t.stats = result.stats;
    const bool here = activeConversation_ == current_;
    const int turn = activeTurn_;
    activeRequest_ = 0;
    activeConversation_ = activeTurn_ = -1;
    saveStore();
    renderTimer_->stop();
    // Only the finished turn is laid out again (sources, numbers, links), not the whole conversation.
    if (here) renderFrom(turn);
    updateButtons();
    emit busyChanged(false);
    emit answerShown(requestId);
}

void ChatPanel::abandonActive(const QString& why) {
    if (!isBusy()) return;
    ChatTurn& t = store_.at(activeConversation_).turns[activeTurn_];
    t.streaming = false;
    t.cancelled = true;
    t.error = why;
    const quint64 id = activeRequest_;
    activeRequest_ = 0;
    activeConversation_ = activeTurn_ = -1;
    saveStore();
    render();
    updateButtons();
    emit busyChanged(false);
    emit answerShown(id);
}

void ChatPanel::scheduleRender() {
    if (!renderTimer_->isActive()) renderTimer_->start();
}

static QString escapeMarkdown(QString s) {
    static const QString special = QStringLiteral("\\`*_{}[]()#+-.!<>|");
    QString out;
    for (QChar c : s) {
        if (special.contains(c)) out += '\\';
        out += c;
    }
    return out;
}

QString ChatPanel::turnMarkdown(int index, const ChatTurn& t) const {
    QString md;
    md += "**" + tr("You") + ":** " + escapeMarkdown(t.question).replace("\n", "  \n") + "\n\n";
    QString answer = t.answer;
    // While streaming, a code fence may still be open: close it so the rest of the page renders.
    if (answer.count("```") % 2 == 1) answer += "\n```";
    if (answer.trimmed().isEmpty() && t.streaming) answer = "*" + tr("thinking…") + "*";
    md += answer + "\n\n";
    if (t.cancelled) md += "*(" + tr("stopped") + ")*\n\n";
    if (!t.error.isEmpty()) md += "> **" + tr("Error") + ":** " + escapeMarkdown(t.error) + "\n\n";
    for (const QString& w : t.warnings) md += "> " + tr("Note") + ": " + escapeMarkdown(w) + "\n\n";
    if (!t.streaming && !t.sources.isEmpty()) {
        QStringList links;
        for (int i = 0; i < t.sources.size(); ++i) {
            const AnswerSource& s = t.sources[i];
            QString label = s.title.isEmpty() ? QFileInfo(s.path).fileName() : s.title;
            if (s.pageBegin > 0)
                label += s.pageEnd > s.pageBegin ? tr(", pages %1–%2").arg(s.pageBegin).arg(s.pageEnd) : tr(", page %1").arg(s.pageBegin);
            // Sources the answer drew on are bold and marked, so the passage to check comes first to the eye.
            const QString link = QString("[\\[%1\\] %2](source:%3/%4)").arg(i + 1).arg(escapeMarkdown(label)).arg(index).arg(i);
            links << (s.used ? "**" + link + " ✓**" : link);
        }
        md += tr("Sources") + ": " + links.join(" · ") + "\n\n";
    }
    if (!t.streaming && t.stats.rowsTotal > 0) {
        md += "*" + tr("%1 · first token %2 ms · rows recomputed %3 / reused %4 of %5 · %6 tok/s · caches loaded %7, compiled %8")
                        .arg(t.stats.policy)
                        .arg(t.stats.firstTokenSeconds * 1e3, 0, 'f', 0)
                        .arg(t.stats.rowsRecomputed)
                        .arg(t.stats.rowsReused)
                        .arg(t.stats.rowsTotal)
                        .arg(t.stats.tokensPerSecond, 0, 'f', 1)
                        .arg(t.stats.chunksLoaded)
                        .arg(t.stats.chunksCompiled) +
              "*\n\n";
    }
    if (!t.streaming) {
        md += QString("[%1](copy:%2)").arg(tr("Copy")).arg(index);
        if (current_ >= 0 && index == store_.at(current_).turns.size() - 1 && !isBusy())
            md += QString(" · [%1](regen:%2)").arg(tr("Regenerate")).arg(index);
        md += "\n\n";
    }
    return md;
}

void ChatPanel::render() {
    transcript_->clear();
    turnStarts_.clear();
    renderFrom(0);
}

void ChatPanel::renderFrom(int turn) {
    QScrollBar* bar = transcript_->verticalScrollBar();
    const bool atBottom = bar->value() >= bar->maximum() - 4;
    const int keep = bar->value();
    if (current_ < 0 || current_ >= store_.count()) {
        transcript_->clear();
        turnStarts_.clear();
        return;
    }
    const Conversation& c = store_.at(current_);
    turn = qBound(0, turn, (int)turnStarts_.size());
    QTextCursor cursor(transcript_->document());
    if (turn < turnStarts_.size()) {
        cursor.setPosition(turnStarts_[turn]);
        cursor.movePosition(QTextCursor::End, QTextCursor::KeepAnchor);
        cursor.removeSelectedText();
        turnStarts_.resize(turn);
    } else {
        cursor.movePosition(QTextCursor::End);
    }
    // Turn by turn with insertMarkdown, remembering where each begins, so a later update can cut
    // the document at a turn and lay out only what follows.
    for (int i = turn; i < c.turns.size(); ++i) {
        turnStarts_.push_back(cursor.position());
        cursor.insertMarkdown((i > 0 ? QStringLiteral("\n---\n\n") : QString()) + turnMarkdown(i, c.turns[i]));
    }
    bar->setValue(atBottom ? bar->maximum() : keep);
}

void ChatPanel::onAnchor(const QUrl& url) {
    const QString scheme = url.scheme();
    const QStringList parts = url.path().split('/');
    if (scheme == "source" && parts.size() == 2) showSource(parts[0].toInt(), parts[1].toInt());
    else if (scheme == "copy") copyAnswer(parts.value(0).toInt());
    else if (scheme == "regen") regenerate(parts.value(0).toInt());
}

void ChatPanel::copyAnswer(int turn) {
    if (current_ < 0 || turn < 0 || turn >= store_.at(current_).turns.size()) return;
    QApplication::clipboard()->setText(store_.at(current_).turns[turn].answer);
}

void ChatPanel::showSource(int turn, int source) {
    if (current_ < 0 || turn < 0 || turn >= store_.at(current_).turns.size()) return;
    const ChatTurn& t = store_.at(current_).turns[turn];
    if (source < 0 || source >= t.sources.size()) return;
    const AnswerSource& s = t.sources[source];
    if (sourceDialog_) sourceDialog_->close();
    auto* dialog = new QDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    QString title = s.title.isEmpty() ? QFileInfo(s.path).fileName() : s.title;
    if (s.pageBegin > 0) title += tr(" — page %1").arg(s.pageBegin);
    dialog->setWindowTitle(tr("Source [%1]: %2").arg(source + 1).arg(title));
    auto* text = new QPlainTextEdit(dialog);
    text->setReadOnly(true);
    text->setPlainText(s.text);
    auto* where = new QLabel(tr("%1 (chunk %2, score %3)").arg(s.path).arg(s.chunkId).arg(s.score, 0, 'f', 2), dialog);
    where->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, dialog);
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::close);
    auto* layout = new QVBoxLayout(dialog);
    layout->addWidget(where);
    layout->addWidget(text, 1);
    layout->addWidget(buttons);
    dialog->resize(560, 400);
    sourceDialog_ = dialog;
    dialog->show(); // not exec(): the chat keeps streaming behind it
}
