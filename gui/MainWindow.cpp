#include "MainWindow.h"

#include "CachePanel.h"
#include "ChatPanel.h"
#include "ChatWorker.h"
#include "IngestWorker.h"
#include "LibraryModel.h"
#include "LibraryPanel.h"
#include "LibraryWorker.h"
#include "SettingsDialog.h"

#include <QAction>
#include <QCloseEvent>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QThread>
#include <QTimer>
#include <QVBoxLayout>

#include <limits>
#include <memory>

namespace {

std::unique_ptr<QSettings> openSettings(const QString& file) {
    if (file.isEmpty()) return std::make_unique<QSettings>();
    return std::make_unique<QSettings>(file, QSettings::IniFormat);
}

QString conversationFile(const AppSettings& s) { return QDir(s.libraryDir).filePath("conversations.json"); }

constexpr quint64 everyRequest = std::numeric_limits<quint64>::max();

// Queues `f` to run on the worker's thread; after shutdown (worker gone) it is dropped.
template <class F> void post(QObject* worker, F&& f) {
    if (worker) QMetaObject::invokeMethod(worker, std::forward<F>(f), Qt::QueuedConnection);
}

} // namespace

MainWindow::MainWindow(const QString& settingsFile, QWidget* parent)
    : QMainWindow(parent), settingsFile_(settingsFile.isEmpty() ? AppSettings::defaultSettingsFile() : settingsFile) {
    qRegisterMetaType<AppSettings>();
    qRegisterMetaType<DocumentInfo>();
    qRegisterMetaType<CacheEntryInfo>();
    qRegisterMetaType<CacheSummaryInfo>();
    qRegisterMetaType<IngestProgress>();
    qRegisterMetaType<AddSummary>();
    qRegisterMetaType<CompileSummary>();
    qRegisterMetaType<AnswerResult>();
    qRegisterMetaType<QVector<DocumentInfo>>();
    qRegisterMetaType<QVector<CacheEntryInfo>>();
    qRegisterMetaType<ModelHandle>();

    settings_.load(*openSettings(settingsFile_));
    setWindowTitle(tr("EPIC desktop"));
    setAcceptDrops(true);
    resize(1200, 760);
    buildUi();
    buildMenus();
    startThreads();
    // Deferred to the event loop so command-line overrides given right after construction are
    // applied before the first open (no model is loaded twice).
    QTimer::singleShot(0, this, &MainWindow::openServices);
}

MainWindow::~MainWindow() { shutdown(); }

void MainWindow::buildUi() {
    libraryModel_ = new LibraryModel(this);
    libraryPanel_ = new LibraryPanel(libraryModel_, this);
    chatPanel_ = new ChatPanel(this);
    cachePanel_ = new CachePanel(this);
    tabs_ = new QTabWidget(this);
    tabs_->addTab(chatPanel_, tr("Chat"));
    tabs_->addTab(cachePanel_, tr("Cache"));
    banner_ = new QLabel(this);
    banner_->setWordWrap(true);
    banner_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    banner_->setStyleSheet("QLabel { background: #fde2e1; color: #8a1212; border: 1px solid #e5a3a0; padding: 6px; }");
    banner_->hide();

    auto* middle = new QWidget(this);
    auto* ml = new QVBoxLayout(middle);
    ml->setContentsMargins(0, 0, 0, 0);
    ml->addWidget(banner_);
    ml->addWidget(tabs_, 1);
    auto* split = new QSplitter(Qt::Horizontal, this);
    split->addWidget(libraryPanel_);
    split->addWidget(middle);
    split->setStretchFactor(1, 1);
    split->setSizes({330, 870});
    setCentralWidget(split);

    status_ = new QLabel(this);
    status_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred); // long text must not widen the window
    ingestLabel_ = new QLabel(this);
    ingestBar_ = new QProgressBar(this);
    ingestBar_->setMaximumWidth(180);
    cancel_ = new QPushButton(tr("Cancel"), this);
    cancel_->setToolTip(tr("Stop adding documents (what is done stays done)"));
    statusBar()->addWidget(status_, 1);
    statusBar()->addPermanentWidget(ingestLabel_);
    statusBar()->addPermanentWidget(ingestBar_);
    statusBar()->addPermanentWidget(cancel_);
    ingestBar_->hide();
    cancel_->hide();

    pollTimer_ = new QTimer(this);
    pollTimer_->setInterval(300);
    connect(pollTimer_, &QTimer::timeout, this, &MainWindow::refreshDocuments);
    idleCompileTimer_ = new QTimer(this);
    idleCompileTimer_->setSingleShot(true);
    connect(idleCompileTimer_, &QTimer::timeout, this, &MainWindow::startIdleCompile);

    connect(cancel_, &QPushButton::clicked, this, &MainWindow::cancelIngestion);
    connect(libraryPanel_, &LibraryPanel::addFilesRequested, this, [this] {
        const QStringList files = QFileDialog::getOpenFileNames(this, tr("Add documents"), QString(),
                                                                tr("Documents (*.txt *.md *.markdown *.html *.htm *.pdf);;All files (*)"));
        if (!files.isEmpty()) addPaths(files);
    });
    connect(libraryPanel_, &LibraryPanel::addFolderRequested, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Add a folder"));
        if (!dir.isEmpty()) addPaths({dir});
    });
    connect(libraryPanel_, &LibraryPanel::removeRequested, this, [this](const QList<qint64>& ids) {
        post(library_, [w = library_, ids] { w->removeDocuments(ids); });
    });
    connect(chatPanel_, &ChatPanel::askRequested, this, [this](quint64 id, const QString& q, int seedOffset) {
        preemptIdleCompile(); // the question gets the model: the compile stops after its chunk in hand
        post(chat_, [w = chat_, id, q, s = settings_, seedOffset] { w->ask(id, q, s, seedOffset); });
        updateStatus();
    });
    connect(chatPanel_, &ChatPanel::stopRequested, this, [this](quint64 id) {
        if (chat_) chat_->requestStop(id); // direct: an atomic flag, read by the worker per token
    });
    connect(chatPanel_, &ChatPanel::busyChanged, this, &MainWindow::updateStatus);
    connect(cachePanel_, &CachePanel::refreshRequested, this, &MainWindow::refreshCache);
    connect(cachePanel_, &CachePanel::pinRequested, this, [this](const QString& key, bool pinned) {
        post(library_, [w = library_, key, pinned] { w->pin(key, pinned); });
    });
    connect(cachePanel_, &CachePanel::evictRequested, this, [this](const QStringList& keys) {
        post(library_, [w = library_, keys] { w->evict(keys); });
    });
    connect(cachePanel_, &CachePanel::verifyRequested, this, [this] {
        post(library_, [w = library_] { w->verify(); });
    });
    connect(cachePanel_, &CachePanel::recompileRequested, this, &MainWindow::recompile);
    connect(cachePanel_, &CachePanel::removeDocumentsRequested, this, [this](const QList<qint64>& ids) {
        post(library_, [w = library_, ids] { w->removeDocuments(ids); });
    });
    connect(tabs_, &QTabWidget::currentChanged, this, [this](int i) {
        if (tabs_->widget(i) == cachePanel_) refreshCache();
    });
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("Add &files…"), QKeySequence::Open, libraryPanel_, &LibraryPanel::addFilesRequested);
    file->addAction(tr("Add f&older…"), libraryPanel_, &LibraryPanel::addFolderRequested);
    file->addSeparator();
    file->addAction(tr("&Settings…"), QKeySequence::Preferences, this, &MainWindow::openSettingsDialog);
    file->addAction(tr("First-run &setup…"), this, [this] { showFirstRun(FirstRunDialog::findLocations()); });
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
    QMenu* chat = menuBar()->addMenu(tr("&Chat"));
    chat->addAction(tr("&New conversation"), QKeySequence::New, chatPanel_, &ChatPanel::newConversation);
    chat->addAction(tr("&Stop answering"), QKeySequence(Qt::Key_Escape), chatPanel_, &ChatPanel::stop);
    QMenu* cache = menuBar()->addMenu(tr("C&ache"));
    cache->addAction(tr("&Refresh"), this, &MainWindow::refreshCache);
    cache->addAction(tr("&Verify all caches"), cachePanel_, &CachePanel::verifyRequested);
    cache->addAction(tr("Enforce the disk &budget"), this, [this] {
        post(library_, [w = library_] { w->enforceBudget(); });
    });
    cache->addAction(tr("&Clean up orphan files"), this, [this] {
        post(library_, [w = library_] { w->collectGarbage(); });
    });
}

void MainWindow::startThreads() {
    ingestThread_ = new QThread(this);
    ingestThread_->setObjectName("epic-ingest");
    chatThread_ = new QThread(this);
    chatThread_->setObjectName("epic-chat");
    libraryThread_ = new QThread(this);
    libraryThread_->setObjectName("epic-library");
    ingest_ = new IngestWorker;
    chat_ = new ChatWorker;
    library_ = new LibraryWorker;
    ingest_->moveToThread(ingestThread_);
    chat_->moveToThread(chatThread_);
    library_->moveToThread(libraryThread_);

    // Worker -> window: different threads, so these connections are queued.
    connect(ingest_, &IngestWorker::serviceOpened, this, [this](bool ok, const QString& e) { onModelOpened(ok, e, false); });
    connect(ingest_, &IngestWorker::filesQueued, this, [this](const QStringList& files) { libraryModel_->addQueued(files); });
    connect(ingest_, &IngestWorker::progress, this, &MainWindow::onIngestProgress);
    connect(ingest_, &IngestWorker::addFinished, this, &MainWindow::onAddFinished);
    connect(ingest_, &IngestWorker::recompileFinished, this, [this](quint64, qint64 id, bool ok, const QString& e) {
        --recompilesActive_;
        onAction(tr("recompile"), ok, ok ? tr("Recompiled the caches of document %1").arg(id) : e);
        scheduleIdleCompile();
    });
    connect(ingest_, &IngestWorker::compileFinished, this, &MainWindow::onCompileFinished);
    connect(chat_, &ChatWorker::serviceOpened, this,
            [this](bool ok, const QString& e, const QString& fp, const QString& backendName, const ModelHandle& model) {
                if (ok) modelName_ = tr("%1 [%2] on %3").arg(QFileInfo(settings_.modelPath).fileName(), fp.left(12), backendName);
                // The ingest worker shares the model the chat worker just loaded: one copy of the weights.
                post(ingest_, [w = ingest_, s = settings_, model, e] { w->openService(s, model, e); });
                onModelOpened(ok, e, true);
            });
    // The old model is released by the ingest worker before the chat worker loads the new one, so
    // two models never sit in (GPU) memory at once.
    connect(ingest_, &IngestWorker::modelReleased, this, [this] { post(chat_, [w = chat_, s = settings_] { w->openService(s); }); });
    connect(chat_, &ChatWorker::tokenReady, chatPanel_, &ChatPanel::appendToken);
    connect(chat_, &ChatWorker::answerFinished, this, [this](quint64 id, const AnswerResult& r) {
        chatPanel_->finishAnswer(id, r);
        refreshCache(); // hits and last-used changed
        refreshDocuments();
        updateStatus();
        scheduleIdleCompile(); // idle again: the background compile may resume
    });
    connect(library_, &LibraryWorker::serviceOpened, this, [this](bool ok, const QString& e) {
        libraryReady_ = ok;
        if (!ok) showModelError(tr("The library folder could not be opened: %1").arg(e));
        refreshDocuments();
        refreshCache();
        // The model workers open after the library exists and is migrated (no two first-time
        // migrations race on a fresh folder): ingest lets go of the old model, chat loads the new
        // one, ingest opens on it.
        --openPending_;
        post(ingest_, [w = ingest_] { w->releaseModel(); });
    });
    connect(library_, &LibraryWorker::documentsReady, this, &MainWindow::onDocuments);
    connect(library_, &LibraryWorker::cacheReady, this, &MainWindow::onCache);
    connect(library_, &LibraryWorker::actionFinished, this, &MainWindow::onAction);

    ingestThread_->start();
    chatThread_->start();
    libraryThread_->start();
}

void MainWindow::openServices() {
    if (shutDown_) return;
    opened_ = true;
    // Three answers to wait for: the library worker's, then the chat worker's (which loads the model)
    // and the ingest worker's (which opens on that model).
    openPending_ += 3;
    libraryReady_ = chatReady_ = ingestReady_ = false;
    modelError_.clear();
    banner_->hide();
    chatPanel_->setConversationFile(conversationFile(settings_));
    chatPanel_->setModelReady(false, tr("Loading the model…"));
    post(library_, [w = library_, s = settings_] { w->openService(s); });
    updateStatus();
}

void MainWindow::onModelOpened(bool ok, const QString& error, bool chat) {
    (chat ? chatReady_ : ingestReady_) = ok;
    if (!ok && !error.isEmpty()) showModelError(error);
    if (ok && chatReady_ && ingestReady_) {
        modelError_.clear();
        banner_->hide();
    }
    chatPanel_->setModelReady(chatReady_, chatReady_ ? QString() : tr("No model: %1").arg(modelError_));
    if (openPending_ > 0 && --openPending_ == 0) {
        // Opened on compile on demand (or a new format or scheme): whatever the library lacks is
        // compiled in the background once the app is idle.
        compileWanted_ = !settings_.compileOnAdd;
        compileStoppedByUser_ = false;
        updateStatus();
        startNextAdd();
        scheduleIdleCompile();
        emit servicesOpened();
    }
    updateStatus();
}

void MainWindow::showModelError(const QString& error) {
    if (modelError_ == error) return;
    modelError_ = error;
    if (settings_.modelPath.isEmpty()) {
        // Not chosen yet is not a failure (a fresh install): say what to do, without the error colours.
        banner_->setStyleSheet("QLabel { background: #e3eefb; color: #15406b; border: 1px solid #a9c6e8; padding: 6px; }");
        banner_->setText(tr("No model chosen yet. Choose one to download with File → First-run setup, or pick a "
                            "GGUF file in File → Settings."));
    } else {
        banner_->setStyleSheet("QLabel { background: #fde2e1; color: #8a1212; border: 1px solid #e5a3a0; padding: 6px; }");
        banner_->setText(tr("The model could not be loaded: %1\nChoose another GGUF file in File → Settings. "
                            "The library and the cache panel still work.")
                             .arg(error));
    }
    banner_->show();
}

void MainWindow::overrideSettings(const AppSettings& s) {
    const AppSettings old = settings_;
    settings_ = s;
    if (!old.sameServiceAs(s) && opened_) {
        // Already opened once: reopen like a settings change.
        AppSettings again = settings_;
        settings_ = old;
        applySettings(again);
        return;
    }
}

void MainWindow::applySettings(const AppSettings& s) {
    const AppSettings old = settings_;
    settings_ = s;
    settings_.save(*openSettings(settingsFile_));
    if (old.sameServiceAs(s)) {
        updateStatus();
        scheduleIdleCompile(); // the idle delay may have changed
        return;
    }
    if (shutDown_) return;
    idleCompileTimer_->stop();
    // Stop what runs against the old services; the workers pick up the reopen right after.
    pendingPaths_.clear();
    if (chatPanel_->isBusy()) {
        chat_->requestStop(chatPanel_->activeRequest());
        chatPanel_->abandonActive(tr("stopped: the settings changed"));
    }
    // Requests sent after the reopen get new ids; this cancel only covers the ones before it.
    ingest_->requestCancel(nextIngestRequest_ - 1);
    if (old.libraryDir != s.libraryDir) libraryModel_->setDocuments({});
    openServices();
}

void MainWindow::openSettingsDialog() {
    auto* dialog = new SettingsDialog(settings_, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] { applySettings(dialog->settings()); });
    dialog->open(); // window-modal but not a nested event loop: answers keep streaming
}

FirstRunDialog* MainWindow::showFirstRun(const FirstRunDialog::Locations& locations) {
    auto* dialog = new FirstRunDialog(locations, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::finished, this, [this, dialog] {
        // Closed either way: do not ask again on the next start (File → First-run setup reopens it).
        AppSettings s = settings_;
        s.firstRunDone = true;
        if (!dialog->modelPath().isEmpty()) s.modelPath = dialog->modelPath();
        applySettings(s);
        // Queued behind the reopen: startNextAdd waits until the new model is open.
        addPaths(dialog->documentPaths());
    });
    dialog->open(); // window-modal but no nested event loop: the window keeps painting
    return dialog;
}

void MainWindow::addPaths(const QStringList& paths) {
    if (shutDown_ || paths.isEmpty()) return;
    preemptIdleCompile(); // the add runs right after the compile's chunk in hand
    pendingPaths_ << paths;
    startNextAdd();
    updateStatus();
}

void MainWindow::startNextAdd() {
    if (ingestActive_ != 0 || pendingPaths_.isEmpty() || openPending_ > 0) return;
    const QStringList paths = pendingPaths_;
    pendingPaths_.clear();
    ingestActive_ = nextIngestRequest_++;
    lastProgress_ = IngestProgress{};
    post(ingest_, [w = ingest_, id = ingestActive_, paths] { w->addPaths(id, paths); });
    pollTimer_->start();
    updateStatus();
}

void MainWindow::cancelIngestion() {
    pendingPaths_.clear();
    if (ingestActive_ != 0 && ingest_) ingest_->requestCancel(ingestActive_);
    if (compileActive_ != 0) {
        compileStoppedByUser_ = true;
        preemptIdleCompile();
    }
    cancel_->setEnabled(false);
    updateStatus();
}

bool MainWindow::idleForCompile() const {
    return !shutDown_ && openPending_ == 0 && modelReady() && ingestActive_ == 0 && pendingPaths_.isEmpty() &&
           recompilesActive_ == 0 && compileActive_ == 0 && !chatPanel_->isBusy();
}

void MainWindow::scheduleIdleCompile() {
    if (settings_.compileOnAdd || !compileWanted_ || compileStoppedByUser_ || !idleForCompile()) {
        idleCompileTimer_->stop();
        return;
    }
    // (Re)started: the idle period counts from the last thing that happened.
    idleCompileTimer_->start(qMax(0, settings_.idleCompileSeconds) * 1000);
}

void MainWindow::startIdleCompile() {
    if (settings_.compileOnAdd || !compileWanted_ || compileStoppedByUser_ || !idleForCompile()) return;
    compileActive_ = nextIngestRequest_++;
    compileCancelRequested_ = false;
    lastProgress_ = IngestProgress{};
    post(ingest_, [w = ingest_, id = compileActive_] { w->compilePending(id); });
    pollTimer_->start();
    updateStatus();
    emit backgroundCompileStarted();
}

void MainWindow::preemptIdleCompile() {
    idleCompileTimer_->stop();
    if (compileActive_ == 0 || compileCancelRequested_ || !ingest_) return;
    // Only this request and earlier ones: the add or question that preempts it is not touched.
    ingest_->requestCancel(compileActive_);
    compileCancelRequested_ = true;
}

void MainWindow::onCompileFinished(quint64 requestId, const CompileSummary& s) {
    if (requestId != compileActive_) return; // an older open's
    compileActive_ = 0;
    lastCompile_ = s;
    libraryModel_->clearProgress();
    // Preempted: resume when idle again. Finished, stopped at the budget, failed or cancelled by the
    // user: nothing more until the library or the settings change.
    compileWanted_ = s.cancelled && s.error.isEmpty() && !compileStoppedByUser_;
    if (!s.error.isEmpty())
        lastAction_ = tr("Background compile failed: %1").arg(s.error);
    else if (s.chunksCompiled > 0 || s.chunksLeft > 0 || !s.warnings.isEmpty())
        lastAction_ = tr("Compiled %n chunk cache(s) in the background", nullptr, (int)s.chunksCompiled) +
                      (s.chunksLeft > 0 ? tr("; %1 left").arg(s.chunksLeft) : QString()) +
                      (s.budgetFull ? tr(" (the disk budget is full: they are compiled when asked about)")
                       : s.cancelled ? (compileStoppedByUser_ ? tr(" (cancelled)") : tr(" (paused)"))
                                     : QString()) +
                      (s.warnings.isEmpty() ? QString() : " — " + s.warnings.mid(0, 3).join("; "));
    refreshDocuments();
    refreshCache();
    if (ingestActive_ == 0 && recompilesActive_ == 0) pollTimer_->stop();
    updateStatus();
    scheduleIdleCompile();
    emit backgroundCompileFinished(s);
}

void MainWindow::recompile(qint64 documentId) {
    preemptIdleCompile();
    ++recompilesActive_;
    const quint64 id = nextIngestRequest_++;
    post(ingest_, [w = ingest_, id, documentId] { w->recompileDocument(id, documentId); });
    pollTimer_->start();
    updateStatus();
}

void MainWindow::onIngestProgress(const IngestProgress& p) {
    lastProgress_ = p;
    libraryModel_->setProgress(p);
    updateStatus();
}

void MainWindow::onAddFinished(quint64 requestId, const AddSummary& s) {
    if (requestId == ingestActive_) ingestActive_ = 0;
    lastAdd_ = s;
    libraryModel_->clearQueued();
    libraryModel_->clearProgress();
    QString msg;
    if (!s.error.isEmpty()) msg = tr("Adding failed: %1").arg(s.error);
    else
        msg = tr("%1 added, %2 updated, %3 unchanged, %4 failed, %5 skipped; %6 chunk caches compiled%7")
                  .arg(s.added)
                  .arg(s.updated)
                  .arg(s.unchanged)
                  .arg(s.failed)
                  .arg(s.skipped)
                  .arg(s.chunksCompiled)
                  .arg(s.cancelled ? tr(" (cancelled)") : QString());
    // Which files and why: the first few problems in the status line (the library panel lists failed documents).
    const QStringList problems = s.failures + s.skips + s.warnings;
    if (!problems.isEmpty())
        msg += " — " + problems.mid(0, 3).join("; ") + (problems.size() > 3 ? tr("; and %1 more").arg(problems.size() - 3) : QString());
    lastAction_ = msg;
    refreshDocuments();
    refreshCache();
    startNextAdd();
    if (ingestActive_ == 0 && recompilesActive_ == 0 && compileActive_ == 0) pollTimer_->stop();
    // Compile on demand: what this add indexed (and anything a preempted compile left) when idle.
    if (!settings_.compileOnAdd && s.error.isEmpty()) {
        compileWanted_ = true;
        compileStoppedByUser_ = false;
    }
    updateStatus();
    scheduleIdleCompile();
    emit ingestionFinished(s);
}

void MainWindow::refreshDocuments() {
    // At most one request in flight; a request while one runs is remembered and sent after it, so a
    // slow library never collects a queue of refreshes.
    if (shutDown_) return;
    if (docsInFlight_) {
        docsDirty_ = true;
        return;
    }
    docsInFlight_ = true;
    docsDirty_ = false;
    post(library_, [w = library_] { w->refreshDocuments(); });
}

void MainWindow::refreshCache() {
    if (shutDown_) return;
    if (cacheInFlight_) {
        cacheDirty_ = true;
        return;
    }
    cacheInFlight_ = true;
    cacheDirty_ = false;
    post(library_, [w = library_] { w->refreshCache(); });
}

void MainWindow::onDocuments(const QVector<DocumentInfo>& docs, const QString& error) {
    docsInFlight_ = false;
    if (error.isEmpty() || !docs.isEmpty()) libraryModel_->setDocuments(docs);
    if (docsDirty_) refreshDocuments();
    updateStatus();
    emit documentsRefreshed();
}

void MainWindow::onCache(const QVector<CacheEntryInfo>& entries, const CacheSummaryInfo& summary, const QString& error) {
    cacheInFlight_ = false;
    cachePanel_->setEntries(entries, summary, error);
    if (cacheDirty_) refreshCache();
    emit cacheRefreshed();
}

void MainWindow::onAction(const QString& action, bool ok, const QString& message) {
    lastAction_ = message;
    cachePanel_->showMessage(message);
    refreshCache();
    refreshDocuments();
    if (ingestActive_ == 0 && recompilesActive_ == 0 && compileActive_ == 0) pollTimer_->stop();
    updateStatus();
    emit actionFinished(message);
}

bool MainWindow::isAnswering() const { return chatPanel_->isBusy(); }

QString MainWindow::ingestText() const { return ingestLabel_->text(); }

QString MainWindow::statusText() const { return status_->text(); }

void MainWindow::updateStatus() {
    QStringList parts;
    if (openPending_ > 0 || (!libraryReady_ && modelError_.isEmpty())) parts << tr("Opening…");
    else if (chatReady_) parts << tr("Model: %1").arg(modelName_);
    else parts << tr("No model loaded");
    const int n = libraryModel_->rowCount();
    const int ready = libraryModel_->countInState("ready");
    const int failed = libraryModel_->countInState("failed");
    parts << tr("%n document(s)", nullptr, n) + tr(" (%1 ready, %2 failed)").arg(ready).arg(failed);
    parts << (chatPanel_->isBusy() ? tr("answering…") : tr("idle"));
    // The last outcome (an add, an action) stays on the line until the next one replaces it.
    status_->setText(parts.join("  ·  ") + (lastAction_.isEmpty() ? QString() : "  —  " + lastAction_));
    libraryPanel_->setSummary(tr("%1 ready, %2 failed, %3 in progress").arg(ready).arg(failed).arg(n - ready - failed));

    const bool busy = ingestActive_ != 0 || recompilesActive_ > 0 || compileActive_ != 0;
    ingestBar_->setVisible(busy);
    cancel_->setVisible(ingestActive_ != 0 || compileActive_ != 0);
    if (!busy) {
        ingestLabel_->clear();
        cancel_->setEnabled(true);
        return;
    }
    const IngestProgress& p = lastProgress_;
    if (ingestActive_ == 0 && compileActive_ != 0 && recompilesActive_ == 0) {
        if (p.phase == "compiling" && p.chunksTotal > 0) {
            ingestLabel_->setText(tr("Compiling in the background: %1/%2 chunks, %3 tok/s")
                                      .arg(p.chunksDone)
                                      .arg(p.chunksTotal)
                                      .arg(p.tokensPerSecond, 0, 'f', 0));
            ingestBar_->setRange(0, (int)qMax<qint64>(1, p.chunksTotal));
            ingestBar_->setValue((int)p.chunksDone);
        } else {
            ingestLabel_->setText(tr("Compiling in the background…"));
            ingestBar_->setRange(0, 0);
        }
    } else if (ingestActive_ == 0) {
        ingestLabel_->setText(tr("Recompiling…"));
        ingestBar_->setRange(0, 0);
    } else if (p.phase == "compiling") {
        ingestLabel_->setText(tr("Compiling: %1/%2 documents, %3/%4 chunks, %5 tok/s")
                                  .arg(p.documentsDone)
                                  .arg(p.documentsTotal)
                                  .arg(p.chunksDone)
                                  .arg(p.chunksTotal)
                                  .arg(p.tokensPerSecond, 0, 'f', 0));
        ingestBar_->setRange(0, (int)qMax<qint64>(1, p.chunksTotal));
        ingestBar_->setValue((int)p.chunksDone);
    } else if (p.phase == "embedding") {
        ingestLabel_->setText(tr("Indexing meaning: %1/%2 chunks").arg(p.chunksDone).arg(p.chunksTotal));
        ingestBar_->setRange(0, (int)qMax<qint64>(1, p.chunksTotal));
        ingestBar_->setValue((int)p.chunksDone);
    } else if (p.phase == "extracting") {
        ingestLabel_->setText(tr("Reading: %1/%2 documents").arg(p.documentsDone).arg(p.documentsTotal));
        ingestBar_->setRange(0, (int)qMax<qint64>(1, p.documentsTotal));
        ingestBar_->setValue((int)p.documentsDone);
    } else {
        ingestLabel_->setText(tr("Adding…"));
        ingestBar_->setRange(0, 0);
    }
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    if (event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void MainWindow::dragMoveEvent(QDragMoveEvent* event) {
    if (event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
    QStringList paths;
    for (const QUrl& u : event->mimeData()->urls())
        if (u.isLocalFile()) paths << u.toLocalFile();
    if (paths.isEmpty()) return;
    event->acceptProposedAction();
    addPaths(paths);
}

void MainWindow::closeEvent(QCloseEvent* event) {
    shutdown();
    event->accept();
}

void MainWindow::shutdown() {
    if (shutDown_) return;
    shutDown_ = true;
    pollTimer_->stop();
    idleCompileTimer_->stop();
    pendingPaths_.clear();
    // Running work stops at its next token or chunk; queued requests are dropped with the event loops.
    ingest_->requestCancel(everyRequest);
    chat_->requestStop(everyRequest);
    chatPanel_->abandonActive(tr("stopped: the window was closed"));
    for (QThread* t : {ingestThread_, chatThread_, libraryThread_}) t->quit();
    for (QThread* t : {ingestThread_, chatThread_, libraryThread_}) t->wait();
    // The threads are finished: nothing runs in the workers any more, so deleting them here (which
    // releases the services, the model mapping and the database connections) is safe.
    delete ingest_;
    delete chat_;
    delete library_;
    ingest_ = nullptr;
    chat_ = nullptr;
    library_ = nullptr;
}
