#pragma once
// Every user setting in one value type, read from and written to QSettings in one place. Workers get a
// copy with each request, so a setting never changes under a running answer.
#include <QMetaType>
#include <QString>

#include "service/service.h"

class QSettings;

class AppSettings {
public:
    QString libraryDir;          // library.db, kv/ and conversations.json live here
    QString modelPath;           // GGUF; empty: library and cache management only
    QString device = "auto";     // auto | cpu | cuda
    int threads = 0;             // CPU threads; 0 = all cores
    QString linkAlgorithm = "default"; // default (epic::link_policy::app_default_name) | legolink | cacheblend | naive | full
    int legolinkK = 16;
    double cacheblendRatio = 0.15;
    int retrievedChunks = 8;
    // How questions find chunks: "default" (epic::default_retrieval_mode) or bm25 | dense | hybrid.
    // Dense and hybrid use the embedding model in the models folder (get-models.sh minilm).
    QString retrievalMode = "default";
    int chunkTokens = 512;
    int contextTokens = 0;  // 0: the model's trained context length (service_params::context_tokens)
    int cacheBudgetMb = 0;       // 0 = no limit
    // How chunk caches are stored: "default" (epic::default_cache_format, which may change with a
    // release) or f16 | q8 | q4. Changing it recompiles caches as they are needed.
    QString cacheFormat = "default";
    // False (compile on demand): adding only extracts, chunks and indexes; a chunk is compiled the first
    // time a question retrieves it, and after idleCompileSeconds without a question or an add the
    // rest are compiled in the background (up to the disk budget).
    bool compileOnAdd = true;
    int idleCompileSeconds = 30;
    int maxTokens = 256;
    double temperature = 0.7;
    int topK = 40;
    double topP = 0.95;
    qint64 seed = 42;
    bool stopAtEos = true;
    bool firstRunDone = false;   // the first-run dialog was shown and closed (File → First-run setup reopens it)

    // $XDG_DATA_HOME/epic-desktop/library: the same library the `epic` CLI uses by default.
    static QString defaultLibraryDir();
    // $XDG_CONFIG_HOME/epic-desktop/epic-desktop.conf; empty when neither XDG_CONFIG_HOME nor HOME is usable.
    static QString defaultSettingsFile();

    void load(QSettings& s);
    void save(QSettings& s) const;

    // "legolink-16", "cacheblend-0.15", "naive", "full": the runtime's link_policy::parse syntax.
    QString policyName() const;
    // cacheFormat resolved: "default" and anything not understood are epic::default_cache_format.
    epic::kv_format kvFormat() const;
    // retrievalMode resolved the same way.
    epic::retrieval_mode retrieval() const;
    // Settings that need the services reopened when they change (model, library, chunking, budget).
    bool sameServiceAs(const AppSettings& other) const;

    epic::service_params serviceParams(bool withModel) const;
    // False + *error when the link policy text is not understood (nothing throws past here).
    bool askOptions(epic::ask_options* out, int seedOffset, QString* error) const;
};

Q_DECLARE_METATYPE(AppSettings)
