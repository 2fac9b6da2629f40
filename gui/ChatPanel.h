#pragma once
// The chat: a list of conversations, the transcript of the current one (Markdown; while an answer
// streams only its own turn is re-rendered, at most every 40 ms), the question box and Send / Stop. It asks through signals and
// is fed tokens and results by MainWindow; it never talks to a worker directly.
#include "ConversationStore.h"
#include "GuiTypes.h"

#include <QDialog>
#include <QPointer>
#include <QWidget>


class QLabel;
class QListWidget;
class QPushButton;
class QTextBrowser;
class QTimer;
class QUrl;
class QuestionEdit;

class ChatPanel : public QWidget {
    Q_OBJECT
public:
    explicit ChatPanel(QWidget* parent = nullptr);

    // Loads the conversations kept beside this library (saving the current ones first).
    void setConversationFile(const QString& file);
    void setModelReady(bool ready, const QString& why);

    bool isBusy() const { return activeRequest_ != 0; }
    quint64 activeRequest() const { return activeRequest_; }
    int currentConversation() const { return current_; }
    const ConversationStore& store() const { return store_; }
    // The last turn of the current conversation (nullptr when it has none).
    const ChatTurn* lastTurn() const;

    QuestionEdit* questionEdit() const { return input_; }
    QPushButton* sendButton() const { return send_; }
    QPushButton* stopButton() const { return stop_; }
    QTextBrowser* transcript() const { return transcript_; }
    QListWidget* conversationList() const { return list_; }
    QDialog* sourceDialog() const { return sourceDialog_; }

public slots:
    bool ask(const QString& question);
    void stop();
    bool regenerate(int turn);
    void copyAnswer(int turn);
    void showSource(int turn, int source);
    void newConversation();
    void deleteConversation();
    void appendToken(quint64 requestId, const QString& piece);
    void finishAnswer(quint64 requestId, const AnswerResult& result);
    // The chat worker went away (model reopened or window closing): end the active turn.
    void abandonActive(const QString& why);

signals:
    void askRequested(quint64 requestId, const QString& question, int seedOffset);
    void stopRequested(quint64 requestId);
    void busyChanged(bool busy);
    void answerShown(quint64 requestId); // after a finished answer is rendered
    void tokenAppended(quint64 requestId, int piecesSoFar);

private:
    void selectConversation(int index);
    void refreshList();
    void render();                 // the whole current conversation
    void renderFrom(int turn);     // replaces turns turn.. only (a streaming answer, a finished one)
    void scheduleRender();
    void onAnchor(const QUrl& url);
    void submit();
    void updateButtons();
    QString turnMarkdown(int index, const ChatTurn& t) const;
    void startRequest(int turn, int seedOffset);
    void saveStore();

    ConversationStore store_;
    int current_ = -1;
    quint64 nextRequest_ = 1;
    quint64 activeRequest_ = 0;
    int activeConversation_ = -1;
    int activeTurn_ = -1;
    bool modelReady_ = false;
    QString modelProblem_;

    QListWidget* list_;
    QPushButton* newConversation_;
    QPushButton* deleteConversation_;
    QTextBrowser* transcript_;
    QuestionEdit* input_;
    QPushButton* send_;
    QPushButton* stop_;
    QLabel* hint_;
    QTimer* renderTimer_;
    QPointer<QDialog> sourceDialog_;
    QVector<int> turnStarts_;     // document position where each rendered turn begins
};
