#pragma once
// Conversations and their turns, kept across restarts in <library>/conversations.json (beside the
// library they talk about, so switching library folders switches conversations too). GUI thread only;
// the file is small and written only when a turn ends or a conversation is created or deleted.
#include "GuiTypes.h"

#include <QDateTime>
#include <QString>
#include <QVector>

struct ChatTurn {
    QString question;
    QString answer;
    QString error;
    bool cancelled = false;
    bool streaming = false;     // not saved: a turn being answered
    int regenerations = 0;      // seed offset of the latest answer
    int streamedPieces = 0;     // not saved: token pieces received for the latest answer
    QVector<AnswerSource> sources;
    AnswerStats stats;
    QStringList warnings;       // not saved: what the answer's ask reported
};

struct Conversation {
    QString title;
    QDateTime created;
    QVector<ChatTurn> turns;
};

class ConversationStore {
public:
    // Reads the file (missing: empty list; unreadable: empty list and *error).
    bool load(const QString& file, QString* error = nullptr);
    bool save(QString* error = nullptr) const;
    QString file() const { return file_; }

    int count() const { return (int)conversations_.size(); }
    Conversation& at(int i) { return conversations_[i]; }
    const Conversation& at(int i) const { return conversations_[i]; }
    // Appends a new empty conversation and returns its index (indices of the others never move, so a
    // streaming answer keeps pointing at its turn).
    int create();
    void remove(int i);

private:
    QString file_;
    QVector<Conversation> conversations_;
};
