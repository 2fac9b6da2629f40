#pragma once
// The main window: library side panel, chat and cache panel in the middle, status line with the
// ingestion progress and its Cancel button. It owns three worker threads:
//   ingest  - IngestWorker: add documents, compile caches, recompile, and with compile on demand the
//             background compile when the app is idle (own service on the chat's model)
//   chat    - ChatWorker: answer questions, token by token (own service; loads the model, once for both)
//   library - LibraryWorker: list documents and caches, pin/evict/verify/remove (model-less service)
// All talk to this window through queued signals; item models live here, on the GUI thread.
#include "AppSettings.h"
#include "FirstRunDialog.h"
#include "GuiTypes.h"

#include <QMainWindow>

class CachePanel;
class ChatPanel;
class ChatWorker;
class IngestWorker;
class LibraryModel;
class LibraryPanel;
class LibraryWorker;
class QLabel;
class QProgressBar;
class QPushButton;
class QTabWidget;
class QThread;
class QTimer;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    // settingsFile: an INI file to keep the settings in; empty = AppSettings::defaultSettingsFile() (XDG).
    explicit MainWindow(const QString& settingsFile = QString(), QWidget* parent = nullptr);
    ~MainWindow() override;

    const AppSettings& settings() const { return settings_; }
    // Applies new settings (saved at once); reopens the services when the model, library folder,
    // device, chunking or budget changed. The library stays; caches for a new model compile on demand.
    void applySettings(const AppSettings& s);
    // Overrides for this run only (command line): not written to the settings file.
    void overrideSettings(const AppSettings& s);

    // Nothing configured yet: no model and the first-run dialog never closed.
    bool needsFirstRun() const { return !settings_.firstRunDone && settings_.modelPath.isEmpty(); }
    // Opens the first-run dialog (window-modal, no nested event loop); when it closes, its model is saved
    // in the settings and its documents are added. The app passes FirstRunDialog::findLocations(); tests
    // their own.
    FirstRunDialog* showFirstRun(const FirstRunDialog::Locations& locations);

    void addPaths(const QStringList& paths);
    void cancelIngestion();
    void refreshDocuments();
    void refreshCache();
    // Cancels all work, stops and joins the worker threads. Called by closeEvent; safe to call twice.
    void shutdown();

    bool isIngesting() const { return ingestActive_ != 0 || !pendingPaths_.isEmpty(); }
    // Compile on demand: the background compile of what questions have not compiled yet is running.
    bool isCompilingInBackground() const { return compileActive_ != 0; }
    const CompileSummary& lastCompileSummary() const { return lastCompile_; }
    bool isAnswering() const;
    bool modelReady() const { return chatReady_ && ingestReady_; }
    bool libraryReady() const { return libraryReady_; }
    QString modelError() const { return modelError_; }
    QString statusText() const;
    QString ingestText() const;
    const AddSummary& lastAddSummary() const { return lastAdd_; }
    QString lastActionMessage() const { return lastAction_; }

    LibraryModel* libraryModel() const { return libraryModel_; }
    LibraryPanel* libraryPanel() const { return libraryPanel_; }
    ChatPanel* chatPanel() const { return chatPanel_; }
    CachePanel* cachePanel() const { return cachePanel_; }
    QTabWidget* tabs() const { return tabs_; }
    QPushButton* cancelButton() const { return cancel_; }

public slots:
    void openSettingsDialog();

signals:
    void servicesOpened();              // every worker answered its open (successfully or not)
    void ingestionFinished(const AddSummary& summary);
    void backgroundCompileStarted();
    void backgroundCompileFinished(const CompileSummary& summary);
    void documentsRefreshed();
    void cacheRefreshed();
    void actionFinished(const QString& message);

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dragMoveEvent(QDragMoveEvent* event) override;
    void dropEvent(QDropEvent* event) override;
    void closeEvent(QCloseEvent* event) override;

private:
    void buildUi();
    void buildMenus();
    void startThreads();
    void openServices();
    void startNextAdd();
    void onIngestProgress(const IngestProgress& p);
    void onAddFinished(quint64 requestId, const AddSummary& s);
    void onDocuments(const QVector<DocumentInfo>& docs, const QString& error);
    void onCache(const QVector<CacheEntryInfo>& entries, const CacheSummaryInfo& summary, const QString& error);
    void onModelOpened(bool ok, const QString& error, bool chat);
    void onAction(const QString& action, bool ok, const QString& message);
    void recompile(qint64 documentId);
    // The background compile (compile on demand): after settings_.idleCompileSeconds with no question,
    // add or recompile running, the ingest worker compiles what is missing; a question, an add or a
    // recompile preempts it (cancelled after the chunk in hand) and it resumes when idle again.
    bool idleForCompile() const;
    void scheduleIdleCompile();
    void startIdleCompile();
    void preemptIdleCompile();
    void onCompileFinished(quint64 requestId, const CompileSummary& s);
    void updateStatus();
    void showModelError(const QString& error);

    QString settingsFile_;
    AppSettings settings_;

    QThread* ingestThread_ = nullptr;
    QThread* chatThread_ = nullptr;
    QThread* libraryThread_ = nullptr;
    IngestWorker* ingest_ = nullptr;
    ChatWorker* chat_ = nullptr;
    LibraryWorker* library_ = nullptr;
    bool shutDown_ = false;
    bool opened_ = false;               // openServices ran at least once

    // Open state: each reopen bumps the generation, so late answers of an older open are ignored.
    int openPending_ = 0;
    bool libraryReady_ = false;
    bool chatReady_ = false;
    bool ingestReady_ = false;
    QString modelError_;
    QString modelName_;                 // "file [fingerprint] on backend"

    quint64 nextIngestRequest_ = 1;
    quint64 ingestActive_ = 0;           // add request running (0: none)
    QStringList pendingPaths_;           // dropped while another add ran
    int recompilesActive_ = 0;
    QTimer* idleCompileTimer_ = nullptr;
    quint64 compileActive_ = 0;          // background compile request running (0: none)
    bool compileCancelRequested_ = false; // its cancel was sent (sent once: a later cancel could hit the next request)
    bool compileStoppedByUser_ = false;  // Cancel pressed: do not resume until something new is added
    bool compileWanted_ = false;         // something may be left to compile in the background
    CompileSummary lastCompile_;
    IngestProgress lastProgress_;
    AddSummary lastAdd_;
    QString lastAction_;

    bool docsInFlight_ = false, docsDirty_ = false;
    bool cacheInFlight_ = false, cacheDirty_ = false;

    LibraryModel* libraryModel_ = nullptr;
    LibraryPanel* libraryPanel_ = nullptr;
    ChatPanel* chatPanel_ = nullptr;
    CachePanel* cachePanel_ = nullptr;
    QTabWidget* tabs_ = nullptr;
    QLabel* banner_ = nullptr;
    QLabel* status_ = nullptr;
    QLabel* ingestLabel_ = nullptr;
    QProgressBar* ingestBar_ = nullptr;
    QPushButton* cancel_ = nullptr;
    QTimer* pollTimer_ = nullptr;
};
