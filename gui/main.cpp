// consentrig-gui — the bench-control window (docs/gui.md).
#include <QApplication>
#include <QComboBox>
#include <QCommandLineParser>
#include <QLabel>
#include <QPalette>
#include <QStyle>
#include <QPixmap>
#include <QTableView>
#include <QTimer>

#include <cstdio>

#include "core/policy.hpp"
#include "gui/main_window.hpp"
#include "gui/scenario_panel.hpp"

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setOrganizationName("consentrig");
    QApplication::setApplicationName("consentrig-gui");
    QApplication::setApplicationVersion(CONSENTRIG_VERSION);

    QCommandLineParser p;
    p.setApplicationDescription("Bench control: connect a board (or start an emulated one), watch what it sends to "
                                "partner clouds with the oracle's verdict, and steer it. docs/gui.md.");
    p.addHelpOption();
    p.addVersionOption();
    QCommandLineOption port({"p", "port"}, "Connect to this serial port or pty at start.", "PATH");
    QCommandLineOption emulate({"e", "emulate"}, "Start an emulated board (host stub) at start: thermostat or lock.", "KIND");
    QCommandLineOption qemu("qemu", "With --emulate: the Cortex-M3 image on QEMU (mps2-an385) closed against a Modbus "
                                    "plant, instead of the host stub.");
    QCommandLineOption profile("profile", "Firmware profile of the emulated board (default compliant).", "NAME", "compliant");
    QCommandLineOption stub_arg("stub-arg", "Extra host-stub argument (repeatable), e.g. --stub-arg=--set "
                                            "--stub-arg=flush_delay_ms=5000.", "ARG");
    QCommandLineOption stub("stub", "Host-stub program (default: consentrig-board next to consentrig-gui).", "PROGRAM");
    QCommandLineOption policy("policy", "Consent policy (or scenario) YAML the live oracle judges against "
                                        "(default: the host stub's partners).", "FILE");
    QCommandLineOption out("out", "Folder for the capture (trace.db), default out/gui.", "DIR", "out/gui");
    QCommandLineOption capacity("rows", "Rows the egress table keeps (a ring; the trace keeps all).", "N", "50000");
    QCommandLineOption palette("palette", "system (default: follow the desktop), light or dark (Fusion style).", "NAME",
                               "system");
    QCommandLineOption shot("screenshot", "Grab the window to FILE once connected (after --screenshot-delay), then quit.", "FILE");
    QCommandLineOption shot_delay("screenshot-delay", "Milliseconds after connecting before the screenshot.", "MS", "8000");
    QCommandLineOption scenario("scenario", "Open this scenario file in the Scenarios dock at start.", "FILE");
    QCommandLineOption run("run", "With --scenario: run it at start on the simulator (sim) or the bench (bench); the "
                                  "verdict and the run's folder are printed when it ends.", "sim|bench");
    for (const auto* o : {&port, &emulate, &qemu, &profile, &stub_arg, &stub, &policy, &out, &capacity, &palette, &shot,
                          &shot_delay, &scenario, &run}) {
        p.addOption(*o);
    }
    p.process(app);
    if (p.isSet(run) && (!p.isSet(scenario) || (p.value(run) != "sim" && p.value(run) != "bench"))) {
        std::fprintf(stderr, "consentrig-gui: --run takes sim or bench, with --scenario FILE\n");
        return 2;
    }

    if (const QString pal = p.value(palette); pal == "dark" || pal == "light") {
        // for desktops without a platform theme (and screenshots): Fusion with a fixed palette
        QApplication::setStyle("Fusion");
        QPalette pp = QApplication::style()->standardPalette();
        if (pal == "dark") {
            const QColor window(45, 45, 48), base(30, 30, 32), text(230, 230, 230);
            pp.setColor(QPalette::Window, window);
            pp.setColor(QPalette::WindowText, text);
            pp.setColor(QPalette::Base, base);
            pp.setColor(QPalette::AlternateBase, window);
            pp.setColor(QPalette::Text, text);
            pp.setColor(QPalette::Button, window);
            pp.setColor(QPalette::ButtonText, text);
            pp.setColor(QPalette::ToolTipBase, base);
            pp.setColor(QPalette::ToolTipText, text);
            pp.setColor(QPalette::Highlight, QColor(42, 130, 218));
            pp.setColor(QPalette::HighlightedText, Qt::white);
            pp.setColor(QPalette::Mid, QColor(90, 90, 95));
            pp.setColor(QPalette::PlaceholderText, QColor(150, 150, 150));
            pp.setColor(QPalette::Disabled, QPalette::Text, QColor(130, 130, 130));
            pp.setColor(QPalette::Disabled, QPalette::ButtonText, QColor(130, 130, 130));
            pp.setColor(QPalette::Disabled, QPalette::WindowText, QColor(130, 130, 130));
        }
        QApplication::setPalette(pp);
    } else if (pal != "system") {
        std::fprintf(stderr, "consentrig-gui: --palette is system, light or dark, not '%s'\n", qPrintable(pal));
        return 2;
    }

    consentrig::gui::WindowOptions wo;
    wo.out_dir = p.value(out).toStdString();
    for (const auto& a : p.values(stub_arg)) wo.stub_args.push_back(a.toStdString());
    wo.stub_program = p.value(stub).toStdString();
    wo.capacity = p.value(capacity).toULongLong();
    if (wo.capacity == 0) wo.capacity = consentrig::gui::EgressModel::kDefaultCapacity;
    wo.restore_state = !p.isSet(shot);

    consentrig::gui::MainWindow w(wo);
    if (p.isSet(policy)) {
        auto pol = consentrig::core::load_policy_file(p.value(policy).toStdString());
        if (!pol) {
            std::fprintf(stderr, "consentrig-gui: %s\n", pol.error().message.c_str());
            return 2;
        }
        w.controller().set_policy(std::move(*pol));
    }
    w.show();

    if (p.isSet(scenario)) {
        auto* panel = w.findChild<consentrig::gui::ScenarioPanel*>();
        panel->show();
        panel->raise();
        const QString file = p.value(scenario);
        if (!panel->open_scenario(file)) {
            // the dock shows the error with its file:line:col; say so where the command was typed
            std::fprintf(stderr, "consentrig-gui: %s: the scenario did not load (see the Scenarios dock)\n", qPrintable(file));
        } else if (p.isSet(run)) {
            QObject::connect(panel, &consentrig::gui::ScenarioPanel::run_finished, panel, [panel] {
                const auto* verdict = panel->findChild<QLabel*>("scenarioVerdict");
                std::fprintf(stderr, "consentrig-gui: run finished: %s (%s)\n", qPrintable(verdict->text()),
                             panel->last_run_dir().string().c_str());
            });
            panel->run(p.value(run) == "bench" ? consentrig::gui::ScenarioPanel::Mode::bench
                                                : consentrig::gui::ScenarioPanel::Mode::simulator);
        }
    }

    if (p.isSet(shot)) {
        const QString file = p.value(shot);
        const int delay = p.value(shot_delay).toInt();
        QObject::connect(&w.controller(), &consentrig::gui::BenchController::connected, &w, [&w, file, delay] {
            QTimer::singleShot(delay, &w, [&w, file] {
                if (auto* t = w.findChild<QTableView*>("egress")) {
                    // show a leak in the detail pane when there is one, else the latest message
                    int pick = -1;
                    for (int i = t->model()->rowCount() - 1; i >= 0 && pick < 0; --i) {
                        if (t->model()->index(i, 0).data(consentrig::gui::EgressModel::kLeakRole).toUInt() != 0) pick = i;
                    }
                    if (pick < 0) pick = t->model()->rowCount() - 1;
                    if (pick >= 0) t->selectRow(pick);
                }
                // a young session: the timeline's shortest span shows its first minute in full
                if (auto* span = w.findChild<QComboBox*>("timelineSpan")) span->setCurrentIndex(0);
                QApplication::processEvents();
                const bool ok = w.grab().save(file);
                std::fprintf(stderr, "consentrig-gui: screenshot %s %s\n", qPrintable(file), ok ? "saved" : "FAILED");
                QApplication::exit(ok ? 0 : 1);
            });
        });
        QObject::connect(&w.controller(), &consentrig::gui::BenchController::connect_failed, &w, [](const QString& e) {
            std::fprintf(stderr, "consentrig-gui: connect failed: %s\n", qPrintable(e));
            QApplication::exit(1);
        });
    }
    if (p.isSet(port)) w.connect_port(p.value(port));
    else if (p.isSet(emulate)) {
        w.start_emulated(p.value(emulate), p.value(profile),
                         p.isSet(qemu) ? consentrig::gui::Emulator::qemu : consentrig::gui::Emulator::host_stub);
    }
    return app.exec();
}
