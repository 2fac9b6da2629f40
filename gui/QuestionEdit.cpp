#include "QuestionEdit.h"

#include <QKeyEvent>

QuestionEdit::QuestionEdit(QWidget* parent) : QPlainTextEdit(parent) {
    setPlaceholderText(tr("Ask a question about your documents (Enter sends, Shift+Enter for a new line)"));
    setTabChangesFocus(true);
}

QSize QuestionEdit::sizeHint() const {
    const int lines = 3;
    return {QPlainTextEdit::sizeHint().width(), fontMetrics().lineSpacing() * lines + 2 * frameWidth() + 12};
}

void QuestionEdit::keyPressEvent(QKeyEvent* event) {
    const bool enter = event->key() == Qt::Key_Return || event->key() == Qt::Key_Enter;
    if (enter && !(event->modifiers() & Qt::ShiftModifier)) {
        event->accept();
        emit submitted();
        return;
    }
    if (enter) {
        insertPlainText("\n"); // Shift+Enter: a plain newline, not a paragraph separator
        event->accept();
        return;
    }
    QPlainTextEdit::keyPressEvent(event);
}
