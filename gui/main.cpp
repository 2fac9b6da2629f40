// epic-desktop: the Qt desktop app. Options override the saved settings for this run only; the
// --add/--ask/--screenshots options make it drive itself (gui/tools/screenshots.sh). With nothing
// configured (no model, first start) it opens the first-run dialog.
#include "FirstRunDialog.h"
#include "MainWindow.h"
#include "ScriptRunner.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QIcon>
#include <QPainter>
#include <QPixmap>
#include <QScreen>
#include <QTimer>

#include <cstdio>

namespace {

QIcon appIcon() {
    // The installed theme icon when there is one (it follows the user's theme), else the built-in PNGs.
    QIcon builtIn;
    for (int size : {16, 32, 48, 64, 128, 256}) builtIn.addFile(QString(":/icons/epic-desktop-%1.png").arg(size));
    return QIcon::fromTheme("io.github.epicdesktop.EpicDesktop", builtIn);
}

// What the user sees: the window with the dialog over it. Under X11 (Xvfb) the screen itself is grabbed;
// on platforms without a screen to grab (offscreen) the two widgets are painted together.
QPixmap grabWindowWithDialog(QWidget* window, QWidget* dialog) {
    const QRect area = window->frameGeometry().united(dialog->frameGeometry());
    if (QGuiApplication::platformName() == "xcb")
        if (QScreen* screen = window->screen()) {
            const QPixmap shot = screen->grabWindow(0, area.x(), area.y(), area.width(), area.height());
            if (!shot.isNull()) return shot;
        }
    QPixmap out(area.size());
    out.fill(Qt::white);
    QPainter p(&out);
    p.drawPixmap(window->geometry().topLeft() - area.topLeft(), window->grab());
    p.drawPixmap(dialog->geometry().topLeft() - area.topLeft(), dialog->grab());
    return out;
}

} // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setOrganizationName("EPIC");
    QApplication::setApplicationName("epic-desktop");
    QApplication::setApplicationVersion(EPIC_VERSION);
    QGuiApplication::setDesktopFileName("io.github.epicdesktop.EpicDesktop");
    QApplication::setWindowIcon(appIcon());

    QCommandLineParser cli;
    cli.setApplicationDescription(
        "EPIC desktop: ask questions about your documents, answered by a local model.\n"
        "Settings: $XDG_CONFIG_HOME/epic-desktop/epic-desktop.conf; library and models: $XDG_DATA_HOME/epic-desktop.");
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
    const QCommandLineOption firstRunOpt("first-run", "Open the first-run dialog even when a model is configured.");
    const QCommandLineOption firstRunShotOpt("first-run-screenshot",
                                             "Open the first-run dialog, save a screenshot of it over the window here, and quit.",
                                             "png");
    const QCommandLineOption quitAfterOpt("quit-after", "Close the window and quit after this many milliseconds.", "ms");
    cli.addOptions({settingsOpt, libraryOpt, modelOpt, deviceOpt, addOpt, askOpt, shotsOpt, tokensOpt, firstRunOpt,
                    firstRunShotOpt, quitAfterOpt});
    cli.process(app);

    MainWindow window(cli.value(settingsOpt));
    AppSettings s = window.settings();
    const bool overridden = cli.isSet(libraryOpt) || cli.isSet(modelOpt);
    if (cli.isSet(libraryOpt)) s.libraryDir = cli.value(libraryOpt);
    if (cli.isSet(modelOpt)) s.modelPath = cli.value(modelOpt);
    if (cli.isSet(deviceOpt)) s.device = cli.value(deviceOpt);
    if (cli.isSet(tokensOpt)) s.maxTokens = cli.value(tokensOpt).toInt();
    const bool scripted = cli.isSet(shotsOpt) || cli.isSet(addOpt) || cli.isSet(askOpt);
    // Decided before the overrides: the first run is about what is saved, and a scripted or overridden
    // run must not save its one-off settings through the dialog.
    const bool firstRun = cli.isSet(firstRunOpt) || cli.isSet(firstRunShotOpt) ||
                          (window.needsFirstRun() && !scripted && !overridden);
    window.overrideSettings(s);
    window.show();

    if (firstRun) {
        FirstRunDialog* dialog = window.showFirstRun(FirstRunDialog::findLocations());
        if (cli.isSet(firstRunShotOpt)) {
            const QString path = cli.value(firstRunShotOpt);
            // A moment for the services to open and the status line to settle, then the picture.
            QTimer::singleShot(1500, &window, [&window, dialog, path] {
                const bool ok = grabWindowWithDialog(&window, dialog).save(path);
                std::fprintf(stderr, "%s %s\n", ok ? "saved" : "could not save", qPrintable(path));
                dialog->disconnect(&window); // quitting is not an answer: nothing gets saved
                window.close();
                QCoreApplication::exit(ok ? 0 : 3);
            });
        }
    }

    if (cli.isSet(quitAfterOpt)) {
        const int ms = cli.value(quitAfterOpt).toInt();
        QTimer::singleShot(ms, &window, [&window] {
            window.close();
            QCoreApplication::exit(0);
        });
    }

    if (scripted) {
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
