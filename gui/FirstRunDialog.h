#pragma once
// The first-run dialog, shown when nothing is configured yet (no model, first start). Two steps:
//   1. a model: use the default model when it is already there, download it by running the packaged
//      get-models.sh in a QProcess (its output shown as it comes), or pick any GGUF file;
//   2. documents: the bundled sample library, the user's own files or folder, or nothing for now.
// It only collects choices; MainWindow applies them (settings saved, paths added) when it closes.
#include <QDialog>
#include <QProcess>
#include <QStringList>

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
        QString modelsDir;          // the download goes here ($XDG_DATA_HOME/epic-desktop/models)
        QString defaultModelFile;   // the file get-models.sh produces, inside modelsDir
        QString existingModel;      // the default model when already present (models dir or build tree)
        QString getModelsScript;    // <prefix>/share/epic-desktop/get-models.sh or installer/get-models.sh
        QString sampleLibrary;      // <prefix>/share/epic-desktop/sample-library or resources/sample-library
    };
    // From core/paths.h: the XDG folders and the resources beside this executable or in the source tree.
    static Locations findLocations();

    explicit FirstRunDialog(const Locations& locations, QWidget* parent = nullptr);
    ~FirstRunDialog() override;

    QString modelPath() const { return modelPath_; }         // empty: none chosen
    QStringList documentPaths() const { return documents_; } // to add once the model is open

    // Also the buttons' actions; public so tests drive them without a file dialog.
    void startDownload();
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

    Locations loc_;
    QString modelPath_;
    QStringList documents_;
    QProcess* process_ = nullptr;
    bool cancelled_ = false;

    QStackedWidget* pages_ = nullptr;
    QPushButton* useExisting_ = nullptr;
    QPushButton* download_ = nullptr;
    QPushButton* pickFile_ = nullptr;
    QPushButton* cancelDownload_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QPlainTextEdit* output_ = nullptr;
    QLabel* downloadStatus_ = nullptr;
    QLabel* modelChosen_ = nullptr;
    QPushButton* addSample_ = nullptr;
};
