#pragma once
// The first-run dialog, shown when nothing is configured yet (no model, first start). Two steps:
//   1. a model: one of the catalog's (core/model_catalog.h: size and what to expect, the recommended one
//      preselected), used in place when already there, else downloaded by running the packaged
//      get-models.sh <name> in a QProcess (its output shown as it comes); or any GGUF file;
//   2. documents: the bundled sample library, the user's own files or folder, or nothing for now.
// It only collects choices; MainWindow applies them (settings saved, paths added) when it closes.
#include <QDialog>
#include <QProcess>
#include <QStringList>

class QButtonGroup;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QStackedWidget;

class FirstRunDialog : public QDialog {
    Q_OBJECT
public:
    // Where things are; empty strings mean "not available" (the matching button is disabled).
    struct Locations {
        QString modelsDir;          // downloads go here ($XDG_DATA_HOME/epic-desktop/models)
        QString modelsInTree;       // <source>/models in a build tree (a model there is used in place)
        QString getModelsScript;    // <prefix>/share/epic-desktop/get-models.sh or installer/get-models.sh
        QString sampleLibrary;      // <prefix>/share/epic-desktop/sample-library or resources/sample-library
    };
    // From core/paths.h: the XDG folders and the resources beside this executable or in the source tree.
    static Locations findLocations();

    explicit FirstRunDialog(const Locations& locations, QWidget* parent = nullptr);
    ~FirstRunDialog() override;

    QString modelPath() const { return modelPath_; }         // empty: none chosen
    QStringList documentPaths() const { return documents_; } // to add once the model is open

    // The catalog model chosen (its get-models.sh name); the recommended one until the user picks.
    QString chosenModel() const;
    void chooseModel(const QString& name);
    // Where the catalog model `name` is already (models dir first, then the build tree); empty if absent.
    QString presentFile(const QString& name) const;

    // Also the buttons' actions; public so tests drive them without a file dialog.
    void useChosenModel();                // the file when present, else startDownload()
    void startDownload();                 // get-models.sh <chosen model>
    void cancelDownload();
    void useModel(const QString& path);   // goes on to the documents step
    void chooseDocuments(const QStringList& paths); // accepts the dialog
    bool isDownloading() const;
    QString downloadOutput() const;
    int currentStep() const;               // 0: model, 1: documents

signals:
    void downloadFinished(bool ok, const QString& message);

public slots:
    void reject() override; // also stops a running download

private:
    void buildModelPage();
    void buildDocumentsPage();
    void onDownloadOutput();
    void onDownloadDone(int exitCode, QProcess::ExitStatus status);
    void updateChoice();

    Locations loc_;
    QString modelPath_;
    QStringList documents_;
    QProcess* process_ = nullptr;
    bool cancelled_ = false;
    QString downloadTarget_; // the file the running download must produce

    QStackedWidget* pages_ = nullptr;
    QButtonGroup* choices_ = nullptr;  // one radio button per catalog model, id = catalog index
    QPushButton* useChosen_ = nullptr; // "Download and use" or "Use this model"
    QPushButton* pickFile_ = nullptr;
    QPushButton* cancelDownload_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QPlainTextEdit* output_ = nullptr;
    QLabel* downloadStatus_ = nullptr;
    QLabel* modelChosen_ = nullptr;
    QPushButton* addSample_ = nullptr;
};
