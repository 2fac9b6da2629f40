// epic-desktop: the Qt desktop app. Options override the saved settings for this run only; the
// --add/--ask/--screenshots options make it drive itself (gui/tools/screenshots.sh).
#include "MainWindow.h"
#include "ScriptRunner.h"

#include <QApplication>
#include <QCommandLineParser>

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setOrganizationName("EPIC");
    QApplication::setApplicationName("epic-desktop");
    QApplication::setApplicationVersion(EPIC_VERSION);

    QCommandLineParser cli;
    cli.setApplicationDescription("EPIC desktop: ask questions about your documents, answered by a local model.");
    cli.addHelpOption();
    cli.addVersionOption();
    const QCommandLineOption settingsOpt("settings", "Keep the settings in this INI file.", "file");
    const QCommandLineOption libraryOpt("library", "Library folder (this run only).", "dir");
    const QCommandLineOption modelOpt("model", "GGUF model file (this run only).", "file");
    const QCommandLineOption deviceOpt("device", "auto, cpu or cuda (this run only).", "device");
    const QCommandLineOption addOpt("add", "Add this file or folder at start (repeatable).", "path");
    const QCommandLineOption askOpt("ask", "Ask this question once the documents are added (repeatable).", "question");
    const QCommandLineOption shotsOpt("screenshots", "Run --add and --ask, save chat.png and cache.png here, and quit.", "dir");
    const QCommandLineOption tokensOpt("tokens", "Answer length in tokens (this run only).", "n");
    cli.addOptions({settingsOpt, libraryOpt, modelOpt, deviceOpt, addOpt, askOpt, shotsOpt, tokensOpt});
    cli.process(app);

    MainWindow window(cli.value(settingsOpt));
    AppSettings s = window.settings();
    if (cli.isSet(libraryOpt)) s.libraryDir = cli.value(libraryOpt);
    if (cli.isSet(modelOpt)) s.modelPath = cli.value(modelOpt);
    if (cli.isSet(deviceOpt)) s.device = cli.value(deviceOpt);
    if (cli.isSet(tokensOpt)) s.maxTokens = cli.value(tokensOpt).toInt();
    window.overrideSettings(s);
    window.show();

    if (cli.isSet(shotsOpt) || cli.isSet(addOpt) || cli.isSet(askOpt)) {
        ScriptRunner::Options o;
        o.addPaths = cli.values(addOpt);
        o.questions = cli.values(askOpt);
        o.screenshotDir = cli.value(shotsOpt);
        auto* runner = new ScriptRunner(&window, o, &window);
        const bool quitAfter = cli.isSet(shotsOpt);
        QObject::connect(runner, &ScriptRunner::finished, &app, [&window, quitAfter](int code) {
            if (!quitAfter) return;
            window.close();
            QCoreApplication::exit(code);
        });
        runner->start();
    }
    return app.exec();
}
