#include "SettingsDialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace {

QWidget* withBrowse(QLineEdit* edit, QWidget* parent, const std::function<void()>& browse) {
    auto* w = new QWidget(parent);
    auto* l = new QHBoxLayout(w);
    l->setContentsMargins(0, 0, 0, 0);
    l->addWidget(edit, 1);
    auto* b = new QPushButton(QObject::tr("Browse…"), w);
    QObject::connect(b, &QPushButton::clicked, w, browse);
    l->addWidget(b);
    return w;
}

} // namespace

SettingsDialog::SettingsDialog(const AppSettings& s, QWidget* parent) : QDialog(parent), base_(s) {
    setWindowTitle(tr("Settings"));
    library_ = new QLineEdit(s.libraryDir, this);
    model_ = new QLineEdit(s.modelPath, this);
    model_->setPlaceholderText(tr("a GGUF model file (llama architecture)"));
    device_ = new QComboBox(this);
    device_->addItems({"auto", "cpu", "cuda"});
    device_->setCurrentText(s.device);
    threads_ = new QSpinBox(this);
    threads_->setRange(0, 256);
    threads_->setSpecialValueText(tr("all cores"));
    threads_->setValue(s.threads);

    algorithm_ = new QComboBox(this);
    algorithm_->addItem(tr("EPIC default (%1: chunks open with their document's title; the first and "
                           "last tokens of each are recomputed)").arg(QString::fromLatin1(epic::link_policy::app_default_name)),
                        "default");
    algorithm_->addItem(tr("LegoLink-k (recompute the first k tokens of each chunk)"), "legolink");
    algorithm_->addItem(tr("CacheBlend-r (recompute the r most deviating tokens)"), "cacheblend");
    algorithm_->addItem(tr("Naive (reuse every chunk as compiled)"), "naive");
    algorithm_->addItem(tr("Full recompute (no reuse; the accuracy reference)"), "full");
    algorithm_->setCurrentIndex(qMax(0, algorithm_->findData(s.linkAlgorithm)));
    k_ = new QSpinBox(this);
    k_->setRange(0, 512);
    k_->setValue(s.legolinkK);
    k_->setToolTip(tr("0 selects the sink variant (LegoLink-0)"));
    ratio_ = new QDoubleSpinBox(this);
    ratio_->setRange(0.0, 1.0);
    ratio_->setSingleStep(0.01);
    ratio_->setDecimals(3);
    ratio_->setValue(s.cacheblendRatio);
    chunks_ = new QSpinBox(this);
    chunks_->setRange(1, 64);
    chunks_->setValue(s.retrievedChunks);
    retrieval_ = new QComboBox(this);
    retrieval_->addItem(tr("Default (%1)").arg(QString::fromLatin1(epic::retrieval_mode_name(epic::default_retrieval_mode).data())), "default");
    retrieval_->addItem(tr("Words and meaning (hybrid)"), "hybrid");
    retrieval_->addItem(tr("Meaning (embedding model)"), "dense");
    retrieval_->addItem(tr("Words (BM25)"), "bm25");
    retrieval_->setCurrentIndex(qMax(0, retrieval_->findData(s.retrievalMode)));
    retrieval_->setToolTip(tr("Meaning finds passages that answer a question in other words; it needs the embedding "
                              "model (all-MiniLM-L6-v2, 90 MB) in the models folder, else questions search by words"));
    chunkTokens_ = new QSpinBox(this);
    chunkTokens_->setRange(16, 4096);
    chunkTokens_->setValue(s.chunkTokens);
    chunkTokens_->setToolTip(tr("Applies to documents added from now on"));
    budget_ = new QSpinBox(this);
    budget_->setRange(0, 1024 * 1024);
    budget_->setSuffix(tr(" MiB"));
    budget_->setSpecialValueText(tr("no limit"));
    budget_->setValue(s.cacheBudgetMb);
    cacheFormat_ = new QComboBox(this);
    cacheFormat_->addItem(tr("Default (%1)").arg(QString::fromLatin1(epic::kv_format_name(epic::default_cache_format))), "default");
    cacheFormat_->addItem(tr("f16 (as computed)"), "f16");
    cacheFormat_->addItem(tr("q8 (8-bit groups)"), "q8");
    cacheFormat_->addItem(tr("k8v4 (8-bit keys, 4-bit values)"), "k8v4");
    cacheFormat_->addItem(tr("q4 (4-bit groups)"), "q4");
    cacheFormat_->setCurrentIndex(qMax(0, cacheFormat_->findData(s.cacheFormat)));
    cacheFormat_->setToolTip(tr("How chunk caches are stored on disk. Caches of another format are compiled again "
                                "when needed (never mixed in one answer); Cache → Clean up removes the old ones"));
    compileMode_ = new QComboBox(this);
    compileMode_->addItem(tr("When a document is added"), true);
    compileMode_->addItem(tr("When a question first needs them; the rest when idle"), false);
    compileMode_->setCurrentIndex(qMax(0, compileMode_->findData(s.compileOnAdd)));
    compileMode_->setToolTip(tr("On demand, adding only reads and indexes documents; with a disk budget the caches "
                                "kept are those questions use"));
    idleCompile_ = new QSpinBox(this);
    idleCompile_->setRange(0, 24 * 3600);
    idleCompile_->setSuffix(tr(" s idle"));
    idleCompile_->setValue(s.idleCompileSeconds);
    idleCompile_->setToolTip(tr("Compile the remaining caches in the background after this long without a question "
                                "or an add (a question or an add pauses it)"));

    maxTokens_ = new QSpinBox(this);
    maxTokens_->setRange(1, 8192);
    maxTokens_->setValue(s.maxTokens);
    temperature_ = new QDoubleSpinBox(this);
    temperature_->setRange(0.0, 2.0);
    temperature_->setSingleStep(0.05);
    temperature_->setValue(s.temperature);
    temperature_->setToolTip(tr("0 = greedy"));
    topK_ = new QSpinBox(this);
    topK_->setRange(0, 1000);
    topK_->setSpecialValueText(tr("off"));
    topK_->setValue(s.topK);
    topP_ = new QDoubleSpinBox(this);
    topP_->setRange(0.0, 1.0);
    topP_->setSingleStep(0.05);
    topP_->setValue(s.topP);
    seed_ = new QSpinBox(this);
    seed_->setRange(0, 2147483647);
    seed_->setValue((int)s.seed);
    stopAtEos_ = new QCheckBox(tr("Stop at the end-of-sequence token"), this);
    stopAtEos_->setChecked(s.stopAtEos);

    auto* modelBox = new QGroupBox(tr("Model and library"), this);
    auto* mf = new QFormLayout(modelBox);
    mf->addRow(tr("Model file"), withBrowse(model_, this, [this] {
                   const QString f = QFileDialog::getOpenFileName(this, tr("Model file"), model_->text(), tr("GGUF models (*.gguf);;All files (*)"));
                   if (!f.isEmpty()) model_->setText(f);
               }));
    mf->addRow(tr("Device"), device_);
    mf->addRow(tr("CPU threads"), threads_);
    mf->addRow(tr("Library folder"), withBrowse(library_, this, [this] {
                   const QString d = QFileDialog::getExistingDirectory(this, tr("Library folder"), library_->text());
                   if (!d.isEmpty()) library_->setText(d);
               }));
    mf->addRow(tr("Chunk size (tokens)"), chunkTokens_);
    mf->addRow(tr("Cache disk budget"), budget_);
    mf->addRow(tr("Cache format"), cacheFormat_);
    mf->addRow(tr("Compile caches"), compileMode_);
    mf->addRow(tr("Background compile after"), idleCompile_);

    auto* linkBox = new QGroupBox(tr("Retrieval and linking"), this);
    auto* lf = new QFormLayout(linkBox);
    lf->addRow(tr("Link algorithm"), algorithm_);
    lf->addRow(tr("LegoLink k"), k_);
    lf->addRow(tr("CacheBlend r"), ratio_);
    lf->addRow(tr("Retrieved chunks"), chunks_);
    lf->addRow(tr("Search by"), retrieval_);

    auto* sampleBox = new QGroupBox(tr("Sampling"), this);
    auto* sf = new QFormLayout(sampleBox);
    sf->addRow(tr("Answer length (tokens)"), maxTokens_);
    sf->addRow(tr("Temperature"), temperature_);
    sf->addRow(tr("Top-k"), topK_);
    sf->addRow(tr("Top-p"), topP_);
    sf->addRow(tr("Seed"), seed_);
    sf->addRow(QString(), stopAtEos_);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(algorithm_, &QComboBox::currentIndexChanged, this, &SettingsDialog::updateParameter);
    connect(compileMode_, &QComboBox::currentIndexChanged, this, &SettingsDialog::updateParameter);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(modelBox);
    layout->addWidget(linkBox);
    layout->addWidget(sampleBox);
    layout->addWidget(buttons);
    updateParameter();
}

void SettingsDialog::updateParameter() {
    const QString a = algorithm_->currentData().toString();
    k_->setEnabled(a == "legolink");
    ratio_->setEnabled(a == "cacheblend");
    idleCompile_->setEnabled(!compileMode_->currentData().toBool());
}

AppSettings SettingsDialog::settings() const {
    AppSettings s = base_;
    s.libraryDir = library_->text().trimmed();
    s.modelPath = model_->text().trimmed();
    s.device = device_->currentText();
    s.threads = threads_->value();
    s.linkAlgorithm = algorithm_->currentData().toString();
    s.legolinkK = k_->value();
    s.cacheblendRatio = ratio_->value();
    s.retrievedChunks = chunks_->value();
    s.retrievalMode = retrieval_->currentData().toString();
    s.chunkTokens = chunkTokens_->value();
    s.cacheBudgetMb = budget_->value();
    s.cacheFormat = cacheFormat_->currentData().toString();
    s.compileOnAdd = compileMode_->currentData().toBool();
    s.idleCompileSeconds = idleCompile_->value();
    s.maxTokens = maxTokens_->value();
    s.temperature = temperature_->value();
    s.topK = topK_->value();
    s.topP = topP_->value();
    s.seed = seed_->value();
    s.stopAtEos = stopAtEos_->isChecked();
    return s;
}
