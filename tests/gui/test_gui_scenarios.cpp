// The real consentrig-gui window's Scenarios dock on the offscreen platform: open a shipped
// scenario, run it on the simulator, and see the findings list agree with the run's
// findings.json row for row and the expectations verdict; cancel a bench run (host stubs) and
// see it reported incomplete; lend a board connected in the window (a host stub on a pty) to a
// bench run and get it back afterwards; start consentrig-gui itself with --scenario and --run sim
// and see the run end with its verdict. Conditions are awaited with QTRY_* / QSignalSpy under a
// 120 s ceiling, never fixed sleeps.
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProcess>
#include <QPushButton>
#include <QRadioButton>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/findings.hpp"
#include "core/scenario.hpp"
#include "gui/findings_model.hpp"
#include "gui/main_window.hpp"
#include "gui/scenario_panel.hpp"
#include "gui/scenario_runner.hpp"
#include "rig/bench.hpp"
#include "rig/stub.hpp"

using namespace consentrig;
namespace fs = std::filesystem;

namespace {
constexpr int kLong = 120'000;  // generous: a loaded 2-core machine builds next to us
const QString kDefault = QStringLiteral(CONSENTRIG_SOURCE_DIR "/scenarios/default.yaml");

nlohmann::json read_json(const fs::path& p) {
    std::ifstream in(p);
    return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
}

struct Window {
    QTemporaryDir dir;
    gui::MainWindow w;
    gui::ScenarioPanel* panel = nullptr;

    Window() : w(options(dir)) {
        w.show();
        panel = w.findChild<gui::ScenarioPanel*>();
        if (panel) panel->set_runs_dir(fs::path(dir.path().toStdString()) / "runs");
    }
    static gui::WindowOptions options(const QTemporaryDir& d) {
        gui::WindowOptions o;
        o.out_dir = (fs::path(d.path().toStdString()) / "live").string();
        o.restore_state = false;
        return o;
    }
    template <class T>
    T* get(const char* name) {
        return w.findChild<T*>(name);
    }
};
}  // namespace

class GuiScenariosTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { ::setenv("CONSENTRIG_PDF", "off", 1); }  // Chromium is not the point here
    void simulatorRunShowsFindingsAndVerdict();
    void runWhoseTraceMayNotFitWarns();
    void cancelledBenchRunIsIncomplete();
    void connectedBoardIsLentToBenchRun();
    void benchConfigCheckedAndUsed();
    void commandLineOpensAndRunsScenario();
};

void GuiScenariosTest::simulatorRunShowsFindingsAndVerdict() {
    // GIVEN the window with the shipped default scenario open
    Window win;
    QVERIFY(win.dir.isValid());
    QVERIFY(win.panel);
    QVERIFY(win.panel->open_scenario(kDefault));
    auto* run = win.get<QPushButton>("scenarioRun");
    auto* verdict = win.get<QLabel>("scenarioVerdict");
    auto* table = win.get<QTableView>("findings");
    QVERIFY(run && verdict && table);
    QVERIFY(run->isEnabled());
    QVERIFY(win.get<QRadioButton>("scenarioSim")->isChecked());

    // WHEN it is run on the simulator
    QSignalSpy done(win.panel, &gui::ScenarioPanel::run_finished);
    QTest::mouseClick(run, Qt::LeftButton);
    QVERIFY(win.panel->running());
    QVERIFY(!run->isEnabled());
    QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, kLong);

    // THEN the findings list holds exactly the run's findings.json, in its order
    const fs::path out = win.panel->last_run_dir();
    QVERIFY2(out.parent_path() == fs::path(win.dir.path().toStdString()) / "runs", out.c_str());
    const auto fj = read_json(out / "findings.json");
    QVERIFY(fj.is_object());
    const auto& expected = fj["findings"];
    QVERIFY(expected.size() > 0);  // default.yaml: the proactive thermostat leaks all day
    const auto& model = win.panel->findings();
    QCOMPARE(static_cast<std::size_t>(model.rowCount()), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        QCOMPARE(core::finding_to_json(*model.findings().load(i)), expected[i]);
    }
    QCOMPARE(static_cast<std::size_t>(table->model()->rowCount()), expected.size());
    QCOMPARE(table->model()->index(0, gui::FindingsModel::kClass).data().toString(),
             QString::fromStdString(expected[0]["type"].get<std::string>()));

    // the verdict: default.yaml's expectations hold (the same verdict the report carries)
    const auto rep = read_json(out / "report.json");
    QVERIFY(rep.is_object());
    QVERIFY2(verdict->text().startsWith("Expectations met"), qPrintable(verdict->text()));
    const auto run_json = read_json(out / "run.json");
    QCOMPARE(run_json["complete"], nlohmann::json(true));

    // filtering by class / device / recipient narrows the list to what findings.json counts
    std::size_t ooo_thermo = 0, lock = 0;
    for (const auto& f : expected) {
        if (f["type"] == "out_of_window" && f["device"] == "thermo-1" && f["recipient"] == "voice-partner") ++ooo_thermo;
        if (f["device"] == "lock-front") ++lock;
    }
    QCOMPARE(ooo_thermo, expected.size());  // "and nothing else" (default.yaml's header)
    auto* cls = win.get<QComboBox>("findingsClass");
    auto* dev = win.get<QComboBox>("findingsDevice");
    auto* rcp = win.get<QComboBox>("findingsRecipient");
    cls->setCurrentText("after_revocation");
    QCOMPARE(table->model()->rowCount(), 0);
    cls->setCurrentText("out_of_window");
    QCOMPARE(static_cast<std::size_t>(table->model()->rowCount()), ooo_thermo);
    QVERIFY(dev->findText("thermo-1") > 0);
    QCOMPARE(dev->findText("lock-front"), -1);  // only devices with findings are offered
    dev->setCurrentText("thermo-1");
    rcp->setCurrentText("voice-partner");
    QCOMPARE(static_cast<std::size_t>(table->model()->rowCount()), ooo_thermo);
    win.get<QLineEdit>("findingsText")->setText("no-such-text");
    QCOMPARE(table->model()->rowCount(), 0);
    win.get<QLineEdit>("findingsText")->clear();

    // sorting by time, descending, puts the last finding first
    table->sortByColumn(gui::FindingsModel::kTime, Qt::DescendingOrder);
    QCOMPARE(table->model()->index(0, 0).data(gui::FindingsModel::kSortRole).toLongLong(),
             static_cast<qlonglong>(model.findings()[model.findings().size() - 1].t));

    // the detail pane is the selected finding with its evidence, as findings.json has it
    table->selectRow(0);
    const int picked = table->model()->index(0, 0).data(gui::FindingsModel::kIndexRole).toInt();
    const auto detail = nlohmann::json::parse(win.get<QPlainTextEdit>("findingDetail")->toPlainText().toStdString(),
                                              nullptr, false);
    QCOMPARE(detail, expected[static_cast<std::size_t>(picked)]);
    QVERIFY(detail.contains("evidence"));

    // docs/gui-scenarios.png is this window under Xvfb (docs/gui.md, "Building and tests")
    if (const char* shot = std::getenv("CONSENTRIG_GUI_SCREENSHOT")) {
        cls->setCurrentIndex(0);
        win.panel->raise();
        win.w.resize(1600, 1000);
        win.w.resizeDocks({win.panel}, {620}, Qt::Vertical);
        table->selectRow(0);
        QApplication::processEvents();
        QVERIFY(win.w.grab().save(QString::fromLocal8Bit(shot)));
    }

    // hand-over: trace and report files copied byte for byte
    QVERIFY(win.get<QPushButton>("scenarioReport")->isEnabled());
    const fs::path keep = fs::path(win.dir.path().toStdString()) / "handover";
    QVERIFY(win.panel->save_trace_to(QString::fromStdString((keep / "t.db").string())) == false);  // no folder yet
    QVERIFY(win.panel->export_reports_to(QString::fromStdString(keep.string())));
    QVERIFY(win.panel->save_trace_to(QString::fromStdString((keep / "t.db").string())));
    QCOMPARE(fs::file_size(keep / "t.db"), fs::file_size(out / "trace.db"));
    QVERIFY(!fs::exists(out / "trace.db-wal"));  // the run closed its trace: trace.db alone is all of it
    for (const char* f : {"report.html", "report.json", "summary.md", "findings.json", "junit.xml", "run.json"}) {
        QVERIFY2(fs::exists(keep / f), f);
        QCOMPARE(fs::file_size(keep / f), fs::file_size(out / f));
    }
}

void GuiScenariosTest::runWhoseTraceMayNotFitWarns() {
    // GIVEN 200 thermostats for a day (an 11.6 MB trace, committed in 38 batches as it grows),
    // and a run folder whose file system has 1 MB free (a fake: the test must not fill the disk)
    Window win;
    QVERIFY(win.panel && win.panel->open_scenario(QStringLiteral(CONSENTRIG_SOURCE_DIR "/tests/runner/space-fleet.yaml")));
    win.panel->set_free_space([](const fs::path&) -> std::optional<std::uint64_t> { return 1'000'000; });
    auto* problems = win.get<QPlainTextEdit>("scenarioProblems");
    auto* verdict = win.get<QLabel>("scenarioVerdict");
    QVERIFY(problems && verdict);
    // WHEN it runs on the simulator
    QSignalSpy warned(&win.panel->runner(), &gui::ScenarioRunner::warned);
    QSignalSpy done(win.panel, &gui::ScenarioPanel::run_finished);
    QTest::mouseClick(win.get<QPushButton>("scenarioRun"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, kLong);
    // THEN one warning came while it ran, the panel still lists it under the verdict, and the
    // run itself went on to the end
    QCOMPARE(warned.count(), 1);
    const QString w = warned.at(0).at(0).toString();
    QVERIFY2(w.contains("trace.db: at this rate the trace will reach about") && w.contains("but only 1.0 MB are free"),
             qPrintable(w));
    QVERIFY(problems->isVisible());
    QCOMPARE(problems->toPlainText(), "warning: " + w);
    QVERIFY2(verdict->text().startsWith("Expectations met"), qPrintable(verdict->text()));
}

void GuiScenariosTest::cancelledBenchRunIsIncomplete() {
    // GIVEN the default scenario (24 h) on host stubs at 1000× — about 86 s of wall time
    Window win;
    QVERIFY(win.panel && win.panel->open_scenario(kDefault));
    win.get<QRadioButton>("scenarioBench")->setChecked(true);
    QCOMPARE(win.get<QComboBox>("scenarioBoards")->count(), 1);  // nothing connected: host stubs
    win.get<QDoubleSpinBox>("scenarioTimeScale")->setValue(1000);
    QSignalSpy done(win.panel, &gui::ScenarioPanel::run_finished);
    win.w.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&win.w));  // window shortcuts need the active window
    QTest::keyClick(&win.w, Qt::Key_R, Qt::ControlModifier);  // Ctrl+R runs
    QTRY_VERIFY_WITH_TIMEOUT(win.panel->running(), 5'000);

    // WHEN the first messages have been captured, Esc cancels
    QTRY_VERIFY_WITH_TIMEOUT(win.panel->runner().progress().messages > 0, kLong);
    QVERIFY(win.panel->runner().progress().fraction < 0.5);
    QVERIFY2(win.get<QLabel>("scenarioProgress")->text().contains("messages"),
             qPrintable(win.get<QLabel>("scenarioProgress")->text()));
    QTest::keyClick(&win.w, Qt::Key_Escape);
    QVERIFY(win.panel->runner().cancel_requested());
    QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, kLong);

    // THEN the run is reported incomplete, its expectations unchecked, and what was captured kept
    auto* verdict = win.get<QLabel>("scenarioVerdict");
    QVERIFY2(verdict->text().startsWith("Incomplete run (cancelled"), qPrintable(verdict->text()));
    const auto result = win.panel->runner().result();
    QVERIFY(result && result->outcome);
    QVERIFY(result->outcome->cancelled);
    QVERIFY(!result->outcome->complete);
    QVERIFY(result->outcome->messages > 0);
    const fs::path out = win.panel->last_run_dir();
    const auto run_json = read_json(out / "run.json");
    QCOMPARE(run_json["complete"], nlohmann::json(false));
    QCOMPARE(run_json["source"], nlohmann::json("bench"));
    QVERIFY(run_json.contains("cancelled_at"));
    const auto fj = read_json(out / "findings.json");
    QCOMPARE(static_cast<std::size_t>(win.panel->findings().rowCount()), fj["findings"].size());
    QVERIFY(!win.panel->running());
    QVERIFY(win.get<QPushButton>("scenarioRun")->isEnabled());
}

void GuiScenariosTest::connectedBoardIsLentToBenchRun() {
    // GIVEN a thermostat board configured as default.yaml's thermo-1, connected in the window by
    // its pty path
    auto scenario = core::load_scenario(kDefault.toStdString());
    QVERIFY(scenario);
    const auto& thermo = scenario->devices.at(0);
    QCOMPARE(thermo.id, std::string("thermo-1"));
    auto args = rig::stub_args(*scenario, thermo);
    QVERIFY2(static_cast<bool>(args), args ? "" : args.error().message.c_str());
    auto stub = rig::StubProcess::spawn(rig::default_stub_program(), *args);
    QVERIFY2(static_cast<bool>(stub), stub ? "" : stub.error().message.c_str());
    Window win;
    QVERIFY(win.panel);
    QSignalSpy connected(&win.w.controller(), &gui::BenchController::connected);
    win.w.connect_port(QString::fromStdString(stub->pty()));
    QTRY_COMPARE_WITH_TIMEOUT(connected.count(), 1, kLong);
    QVERIFY(win.panel->open_scenario(kDefault));
    auto* boards = win.get<QComboBox>("scenarioBoards");
    QCOMPARE(boards->count(), 2);
    QCOMPARE(boards->currentIndex(), 1);  // the connected board is offered for thermo-1
    QVERIFY2(boards->currentText().contains("thermo-1"), qPrintable(boards->currentText()));

    // WHEN ten scenario minutes run on the bench at 1000×
    win.get<QRadioButton>("scenarioBench")->setChecked(true);
    win.get<QDoubleSpinBox>("scenarioTimeScale")->setValue(1000);
    win.get<QLineEdit>("scenarioDuration")->setText("10m");
    QSignalSpy done(win.panel, &gui::ScenarioPanel::run_finished);
    QTest::mouseClick(win.get<QPushButton>("scenarioRun"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, kLong);

    // THEN thermo-1 ran on the window's board (its pty), lock-front on a host stub, the run says
    // it replayed only part of the scenario, and the window has its board back
    const auto result = win.panel->runner().result();
    QVERIFY2(result && result->outcome, result ? qPrintable(result->error) : "no result");
    QVERIFY(result->outcome->bench);
    bool on_pty = false;
    for (const auto& b : result->outcome->bench->boards) on_pty = on_pty || (b.device == "thermo-1" && b.port == stub->pty());
    QVERIFY(on_pty);
    QVERIFY(!result->outcome->complete && !result->outcome->cancelled);
    QVERIFY2(win.get<QLabel>("scenarioVerdict")->text().contains("only part of the scenario"),
             qPrintable(win.get<QLabel>("scenarioVerdict")->text()));
    QTRY_COMPARE_WITH_TIMEOUT(connected.count(), 2, kLong);
    QVERIFY(win.w.controller().is_connected());
    QCOMPARE(win.w.controller().info().device_id, std::string("thermo-1"));
}

void GuiScenariosTest::benchConfigCheckedAndUsed() {
    // GIVEN the default scenario open and two BENCH.yaml files: one naming a device the scenario
    // does not have, one putting both devices on host stubs at 250×
    Window win;
    QVERIFY(win.panel && win.panel->open_scenario(kDefault));
    const fs::path bad = fs::path(win.dir.path().toStdString()) / "bad.yaml";
    const fs::path good = fs::path(win.dir.path().toStdString()) / "BENCH.yaml";
    std::ofstream(bad) << "time_scale: 250\nboards:\n  thermo-9: stub\n";
    std::ofstream(good) << "time_scale: 250\ndefault: stub\nboards:\n  lock-front: stub\n";

    // WHEN the bad one is chosen THEN it is refused with its file:line:col
    QVERIFY(!win.panel->set_bench_config(QString::fromStdString(bad.string())));
    const QString problem = win.get<QPlainTextEdit>("scenarioProblems")->toPlainText();
    QVERIFY2(problem.contains("bad.yaml:3:") && problem.contains("thermo-9"), qPrintable(problem));

    // WHEN the good one is chosen THEN the bench mode and its time scale are taken, and a short
    // bench run uses it
    QVERIFY(win.panel->set_bench_config(QString::fromStdString(good.string())));
    QVERIFY(win.get<QRadioButton>("scenarioBench")->isChecked());
    QCOMPARE(win.get<QDoubleSpinBox>("scenarioTimeScale")->value(), 250.0);
    QVERIFY(!win.get<QComboBox>("scenarioEmulator")->isEnabled());  // BENCH.yaml decides the boards
    win.get<QLineEdit>("scenarioDuration")->setText("5m");
    QSignalSpy done(win.panel, &gui::ScenarioPanel::run_finished);
    QTest::mouseClick(win.get<QPushButton>("scenarioRun"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, kLong);
    const auto result = win.panel->runner().result();
    QVERIFY2(result && result->outcome, result ? qPrintable(result->error) : "no result");
    QVERIFY(result->outcome->bench);
    QCOMPARE(result->outcome->bench->time_scale, 250.0);
    QCOMPARE(result->outcome->bench->boards.size(), std::size_t{2});
    QVERIFY(!result->outcome->complete);
}

void GuiScenariosTest::commandLineOpensAndRunsScenario() {
    // GIVEN consentrig-gui started as a user would, to open the default scenario and run it on
    // the simulator, with its data folder (where runs go) and settings in a temporary folder
    QTemporaryDir home;
    const QString program = QStringLiteral(CONSENTRIG_BINARY_DIR "/bin/consentrig-gui");
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("QT_QPA_PLATFORM", "offscreen");
    env.insert("XDG_DATA_HOME", home.path() + "/data");
    env.insert("XDG_CONFIG_HOME", home.path() + "/config");
    QProcess gui;
    gui.setProcessEnvironment(env);
    gui.start(program, {"--scenario", kDefault, "--run", "sim", "--out", home.path() + "/live"});
    QVERIFY2(gui.waitForStarted(30'000), qPrintable(gui.errorString()));
    // WHEN the run ends THEN it says so with the verdict and the run's own folder
    QByteArray err;
    QTRY_VERIFY_WITH_TIMEOUT((err += gui.readAllStandardError()).contains("run finished:") || gui.state() == QProcess::NotRunning,
                             kLong);
    err += gui.readAllStandardError();
    QVERIFY2(err.contains("run finished:"), err.constData());
    const QString line = QString::fromUtf8(err.mid(err.indexOf("run finished:")));
    QVERIFY2(line.contains("Expectations met"), qPrintable(line));
    const qsizetype open = line.lastIndexOf('('), close = line.lastIndexOf(')');
    QVERIFY2(open >= 0 && close > open, qPrintable(line));
    const fs::path run_dir = line.mid(open + 1, close - open - 1).toStdString();
    QVERIFY2(run_dir.string().rfind((home.path() + "/data").toStdString(), 0) == 0, run_dir.c_str());
    // and the folder holds the run's files, the run complete
    QVERIFY(fs::exists(run_dir / "findings.json"));
    QCOMPARE(read_json(run_dir / "run.json").value("complete", false), true);
    gui.terminate();
    QVERIFY(gui.waitForFinished(30'000));

    // GIVEN --run without a scenario, or with an unknown mode THEN it is refused before any window
    for (const QStringList& args : {QStringList{"--run", "sim"}, QStringList{"--scenario", kDefault, "--run", "fleet"}}) {
        QProcess bad;
        bad.setProcessEnvironment(env);
        bad.start(program, args);
        QVERIFY(bad.waitForFinished(30'000));
        QCOMPARE(bad.exitCode(), 2);
        QVERIFY(bad.readAllStandardError().contains("--run takes sim or bench, with --scenario FILE"));
    }
}

QTEST_MAIN(GuiScenariosTest)
#include "test_gui_scenarios.moc"
