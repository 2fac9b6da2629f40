#pragma once
// The settings dialog: edits a copy of AppSettings; MainWindow saves it to QSettings and reopens the
// services when something they depend on changed.
#include "AppSettings.h"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLineEdit;
class QSpinBox;

class SettingsDialog : public QDialog {
    Q_OBJECT
public:
    explicit SettingsDialog(const AppSettings& settings, QWidget* parent = nullptr);
    AppSettings settings() const;

    QLineEdit* modelEdit() const { return model_; }
    QLineEdit* libraryEdit() const { return library_; }
    QComboBox* algorithmBox() const { return algorithm_; }
    QComboBox* cacheFormatBox() const { return cacheFormat_; }
    QComboBox* retrievalBox() const { return retrieval_; }
    QComboBox* compileModeBox() const { return compileMode_; }
    QSpinBox* idleCompileBox() const { return idleCompile_; }

private:
    void updateParameter();

    AppSettings base_;
    QLineEdit* library_;
    QLineEdit* model_;
    QComboBox* device_;
    QSpinBox* threads_;
    QComboBox* algorithm_;
    QSpinBox* k_;
    QDoubleSpinBox* ratio_;
    QSpinBox* chunks_;
    QSpinBox* chunkTokens_;
    QSpinBox* budget_;
    QComboBox* cacheFormat_;
    QComboBox* retrieval_;
    QComboBox* compileMode_;  // data: true = compile when added, false = on demand
    QSpinBox* idleCompile_;
    QSpinBox* maxTokens_;
    QDoubleSpinBox* temperature_;
    QSpinBox* topK_;
    QDoubleSpinBox* topP_;
    QSpinBox* seed_;
    QCheckBox* stopAtEos_;
};
