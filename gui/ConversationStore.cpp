#include "ConversationStore.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

namespace {

QJsonObject toJson(const AnswerSource& s) {
    return QJsonObject{{"documentId", s.documentId}, {"chunkId", s.chunkId}, {"path", s.path},   {"title", s.title},
                       {"text", s.text},             {"pageBegin", s.pageBegin}, {"pageEnd", s.pageEnd}, {"score", s.score},
                       {"used", s.used}};
}

AnswerSource sourceFromJson(const QJsonObject& o) {
    AnswerSource s;
    s.documentId = o["documentId"].toInteger();
    s.chunkId = o["chunkId"].toInteger();
    s.path = o["path"].toString();
    s.title = o["title"].toString();
    s.text = o["text"].toString();
    s.pageBegin = o["pageBegin"].toInt();
    s.pageEnd = o["pageEnd"].toInt();
    s.score = o["score"].toDouble();
    s.used = o["used"].toBool(); // false in conversations saved before sources were marked
    return s;
}

QJsonObject toJson(const AnswerStats& s) {
    return QJsonObject{{"policy", s.policy},         {"firstTokenSeconds", s.firstTokenSeconds}, {"tokensPerSecond", s.tokensPerSecond},
                       {"rowsTotal", s.rowsTotal},    {"rowsRecomputed", s.rowsRecomputed},       {"rowsReused", s.rowsReused},
                       {"chunksLoaded", s.chunksLoaded}, {"chunksCompiled", s.chunksCompiled}};
}

AnswerStats statsFromJson(const QJsonObject& o) {
    AnswerStats s;
    s.policy = o["policy"].toString();
    s.firstTokenSeconds = o["firstTokenSeconds"].toDouble();
    s.tokensPerSecond = o["tokensPerSecond"].toDouble();
    s.rowsTotal = o["rowsTotal"].toInt();
    s.rowsRecomputed = o["rowsRecomputed"].toInt();
    s.rowsReused = o["rowsReused"].toInt();
    s.chunksLoaded = o["chunksLoaded"].toInt();
    s.chunksCompiled = o["chunksCompiled"].toInt();
    return s;
}

} // namespace

bool ConversationStore::load(const QString& file, QString* error) {
    file_ = file;
    conversations_.clear();
    QFile f(file);
    if (!f.exists()) return true;
    if (!f.open(QIODevice::ReadOnly)) {
        if (error) *error = QObject::tr("%1: %2").arg(file, f.errorString());
        return false;
    }
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &pe);
    if (pe.error != QJsonParseError::NoError) {
        if (error) *error = QObject::tr("%1: not valid JSON (%2)").arg(file, pe.errorString());
        return false;
    }
    for (const QJsonValue& cv : doc.object()["conversations"].toArray()) {
        const QJsonObject co = cv.toObject();
        Conversation c;
        c.title = co["title"].toString();
        c.created = QDateTime::fromString(co["created"].toString(), Qt::ISODate);
        for (const QJsonValue& tv : co["turns"].toArray()) {
            const QJsonObject to = tv.toObject();
            ChatTurn t;
            t.question = to["question"].toString();
            t.answer = to["answer"].toString();
            t.error = to["error"].toString();
            t.cancelled = to["cancelled"].toBool();
            t.regenerations = to["regenerations"].toInt();
            for (const QJsonValue& sv : to["sources"].toArray()) t.sources.push_back(sourceFromJson(sv.toObject()));
            t.stats = statsFromJson(to["stats"].toObject());
            c.turns.push_back(t);
        }
        conversations_.push_back(c);
    }
    return true;
}

bool ConversationStore::save(QString* error) const {
    if (file_.isEmpty()) return true;
    QJsonArray list;
    for (const Conversation& c : conversations_) {
        QJsonArray turns;
        for (const ChatTurn& t : c.turns) {
            QJsonArray sources;
            for (const AnswerSource& s : t.sources) sources.append(toJson(s));
            turns.append(QJsonObject{{"question", t.question},   {"answer", t.answer},   {"error", t.error},
                                     {"cancelled", t.cancelled}, {"regenerations", t.regenerations},
                                     {"sources", sources},       {"stats", toJson(t.stats)}});
        }
        list.append(QJsonObject{{"title", c.title}, {"created", c.created.toString(Qt::ISODate)}, {"turns", turns}});
    }
    // QSaveFile writes a temporary file and renames it: a crash never leaves half a file.
    QSaveFile f(file_);
    if (!f.open(QIODevice::WriteOnly)) {
        if (error) *error = QObject::tr("%1: %2").arg(file_, f.errorString());
        return false;
    }
    f.write(QJsonDocument(QJsonObject{{"version", 1}, {"conversations", list}}).toJson(QJsonDocument::Indented));
    if (!f.commit()) {
        if (error) *error = QObject::tr("%1: %2").arg(file_, f.errorString());
        return false;
    }
    return true;
}

int ConversationStore::create() {
    Conversation c;
    c.title = QObject::tr("New conversation");
    c.created = QDateTime::currentDateTime();
    conversations_.push_back(c);
    return (int)conversations_.size() - 1;
}

void ConversationStore::remove(int i) {
    if (i >= 0 && i < conversations_.size()) conversations_.removeAt(i);
}
