// The real consentrig-gui window on the offscreen platform against host-stub boards on ptys:
// connect (HELLO identity), live egress with verdicts, controls as COMMANDs, unlink → the next
// uplink to that partner flagged after_revocation and painted red on the consent timeline,
// the TRUTH panel following a command, env controls (occupancy, door, outdoor) reaching the
// board's TRUTH, the capture on disk, and a window killed mid-capture losing nothing that arrived.
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QLineEdit>
#include <QProcess>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>
#include <QImage>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/trace.hpp"
#include "gui/main_window.hpp"
#include "gui/palette.hpp"
#include "gui/timeline_view.hpp"
#include "rig/stub.hpp"

using namespace consentrig;

namespace {
constexpr int kLong = 60'000;  // generous: a loaded 2-core machine builds next to us

int rows_with(const gui::EgressModel& m, const std::string& recipient, core::FindingType type) {
    int n = 0;
    for (int i = 0; i < m.rowCount(); ++i) {
        const auto& r = m.row(i);
        if (r.recipient == recipient && (r.leaks & (1u << static_cast<unsigned>(type)))) ++n;
    }
    return n;
}

/// With CONSENTRIG_GUI_SHOTS=DIR (docs: run under xvfb-run with QT_QPA_PLATFORM=xcb), saves the
/// window as DIR/name with model row `select` selected and the timeline's shortest span.
void shoot(gui::MainWindow& w, const char* name, int select) {
    const QString dir = qEnvironmentVariable("CONSENTRIG_GUI_SHOTS");
    if (dir.isEmpty()) return;
    if (auto* span = w.findChild<QComboBox*>("timelineSpan")) span->setCurrentIndex(0);
    auto* table = w.findChild<QTableView*>("egress");
    if (select >= 0 && table) table->selectRow(select);
    // the link line (refreshed every 250 ms) counts every message the table holds
    QTRY_VERIFY_WITH_TIMEOUT(w.findChild<QLabel*>("health")->text().contains(QString("%1 messages").arg(w.model().total())),
                             kLong);
    QCoreApplication::processEvents();  // the span change repainted the timeline synchronously
    QVERIFY(w.grab().save(dir + "/" + name));
}

/// The window under test, capturing into `dir`, QSettings left alone; shown.
std::unique_ptr<gui::MainWindow> open_window(const QTemporaryDir& dir, std::vector<std::string> stub_args = {}) {
    gui::WindowOptions o;
    o.out_dir = dir.path().toStdString();
    o.restore_state = false;
    o.stub_args = std::move(stub_args);
    auto w = std::make_unique<gui::MainWindow>(o);
    w->show();
    return w;
}

std::vector<std::string> file_lines(const std::filesystem::path& p) {
    std::vector<std::string> out;
    std::ifstream in(p);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

/// A SQLite trace's lines, meta first, as `consentrig trace export` writes them.
std::vector<std::string> trace_lines(const std::filesystem::path& db) {
    const std::filesystem::path jsonl = db.string() + ".export.jsonl";
    auto n = core::export_jsonl(db, jsonl);
    if (!n) return {"export failed: " + n.error().message};
    auto lines = file_lines(jsonl);
    std::filesystem::remove(jsonl);
    return lines;
}

#ifdef CONSENTRIG_GUI_QEMU
/// The live qemu-system-arm whose command line names `dir` (the window's capture folder holds its
/// configuration), or -1.
pid_t qemu_pid(const QString& dir) {
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
        const std::string name = e.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream f(e.path() / "cmdline", std::ios::binary);
        const std::string cmd((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        if (cmd.find("qemu-system-arm") != std::string::npos && cmd.find(dir.toStdString()) != std::string::npos) {
            return static_cast<pid_t>(std::stol(name));
        }
    }
    return -1;
}

/// Starts the window's QEMU thermostat and waits for its first TRUTH (QVERIFY: check
/// QTest::currentTestFailed() after).
void start_qemu_thermostat(gui::MainWindow& w) {
    QVERIFY2(gui::MainWindow::qemu_available(), "qemu-system-arm or board.elf not found");
    QSignalSpy connected(&w.controller(), &gui::BenchController::connected);
    w.start_emulated("thermostat", "compliant", gui::Emulator::qemu);
    QTRY_VERIFY_WITH_TIMEOUT(connected.count() == 1, kLong);
    QTRY_VERIFY_WITH_TIMEOUT(w.controller().live_state().truth_records() > 0, kLong);
}

/// Disconnects, then hands every record of the trace on disk to `fn`, in order.
void disconnect_and_read_trace(gui::MainWindow& w, const std::function<void(const core::Record&)>& fn) {
    QSignalSpy gone(&w.controller(), &gui::BenchController::disconnected);
    w.disconnect_board();
    QTRY_VERIFY_WITH_TIMEOUT(gone.count() == 1, kLong);
    auto src = core::open_trace(w.controller().trace_path());
    QVERIFY2(static_cast<bool>(src), src ? "" : src.error().message.c_str());
    for (;;) {
        auto r = (*src)->next();
        QVERIFY(static_cast<bool>(r));
        if (!*r) break;
        fn(**r);
    }
}

#endif

bool wait_command(QSignalSpy& spy, const QString& op, int timeout_ms) {
    QElapsedTimer t;
    t.start();
    for (;;) {
        for (const auto& args : spy) {
            if (args.at(0).toString() == op) return args.at(1).toBool();
        }
        if (t.elapsed() > timeout_ms) return false;
        spy.wait(200);
    }
}
}  // namespace

class GuiWindowTest : public QObject {
    Q_OBJECT
private slots:
    void emulatedBoardUnlinkFlagsNextUplink();
    void connectByTypedPtyPath();
    void truthPanelFollowsCommandsAndEnvLandsInTrace();
    void killedWindowLosesNothingThatArrived();
#ifdef CONSENTRIG_GUI_QEMU
    void qemuBoardClosedAgainstThePlant();
    void qemuBoardStartedAgainWhenItDies();
    void plantFaultsFromTheWindowReachTheBoard();
#endif
};

void GuiWindowTest::emulatedBoardUnlinkFlagsNextUplink() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    // flush_after_revoke checks consent when it queues a report and sends it flush_delay later:
    // an unlink inside that delay makes the flushed report a leak
    auto window = open_window(dir, {"--set", "flush_delay_ms=5000"});
    gui::MainWindow& w = *window;

    auto* kind = w.findChild<QComboBox*>("kind");
    auto* profile = w.findChild<QComboBox*>("profile");
    auto* emulate = w.findChild<QPushButton*>("emulate");
    auto* identity = w.findChild<QLabel*>("identity");
    QVERIFY(kind && profile && emulate && identity);
    kind->setCurrentText("thermostat");
    profile->setCurrentText("flush_after_revoke");
    QSignalSpy connected(&w.controller(), &gui::BenchController::connected);
    QTest::mouseClick(emulate, Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(connected.count() == 1, kLong);
    QVERIFY2(identity->text().contains("thermo-1"), qPrintable(identity->text()));
    QVERIFY(identity->text().contains("thermostat"));

    // controls are live; the first uplinks arrive and are judged
    QTRY_VERIFY_WITH_TIMEOUT(w.model().rowCount() > 0, kLong);
    QTRY_VERIFY_WITH_TIMEOUT(w.model().verdict(w.model().row(0)) != "pending", kLong);
    QCOMPARE(rows_with(w.model(), "vendor-cloud", core::FindingType::after_revocation), 0);

    // the customer turns the dial, then unlinks the vendor cloud in the app
    QSignalSpy done(&w.controller(), &gui::BenchController::command_done);
    w.findChild<QComboBox*>("via")->setCurrentText("physical");
    w.findChild<QComboBox*>("action")->setCurrentText("set_setpoint");
    w.findChild<QDoubleSpinBox*>("value")->setValue(26.5);
    QTest::mouseClick(w.findChild<QPushButton*>("sendInteraction"), Qt::LeftButton);
    w.findChild<QComboBox*>("linkRecipient")->setCurrentText("vendor-cloud");
    QTest::mouseClick(w.findChild<QPushButton*>("unlink"), Qt::LeftButton);
    QVERIFY(wait_command(done, "interact", kLong));
    QVERIFY(wait_command(done, "link", kLong));

    // the queued report is flushed to the unlinked partner: flagged in the model
    QTRY_VERIFY_WITH_TIMEOUT(rows_with(w.model(), "vendor-cloud", core::FindingType::after_revocation) > 0, kLong);
    int leak = -1;
    for (int i = 0; i < w.model().rowCount() && leak < 0; ++i) {
        if (w.model().row(i).leaks != 0) leak = i;
    }
    QVERIFY(leak >= 0);
    const QModelIndex li = w.model().index(leak, gui::EgressModel::kVerdict);
    QVERIFY(li.data().toString().contains("after_revocation"));
    QVERIFY(li.data(Qt::BackgroundRole).isValid());
    QVERIFY(w.model().index(leak, 0).data(gui::EgressModel::kReasonsRole).toString().contains("unlinked"));
    QVERIFY(w.model().index(leak, 0).data(gui::EgressModel::kRawHexRole).toString().endsWith("00"));

    // the consent timeline: vendor-cloud's lane carries the unlink mark, its consent ends at
    // the unlink (the oracle's answer), and the leak is a tick painted red
    const gui::TimelineLane* lane = w.controller().timeline().lane("vendor-cloud");
    QVERIFY(lane != nullptr);
    QTRY_VERIFY_WITH_TIMEOUT(lane->leaks > 0, kLong);
    QVERIFY(!lane->linked);
    core::TimeMs unlinked_at = 0;
    for (const auto& m : lane->marks) {
        if (m.text == "unlinked") unlinked_at = m.t;
    }
    QVERIFY(unlinked_at > 0);
    int leaking_bands = 0;
    for (std::size_t c = 0; c < core::kCategoryCount; ++c) {
        const auto& band = lane->bands[c];
        if (band.leaks.empty()) continue;
        ++leaking_bands;
        QVERIFY(lane->shown.test(c));
        QVERIFY(band.leaks.back() >= unlinked_at);
        QVERIFY(!band.consent.empty());  // vendor-cloud's standing grant held until the unlink
        QCOMPARE(band.consent.back().to, unlinked_at);
    }
    QVERIFY(leaking_bands > 0);
    auto* view = w.findChild<gui::TimelineView*>("timelineView");
    QVERIFY(view);
    QTRY_VERIFY_WITH_TIMEOUT(view->visible_leaks() > 0, kLong);
    {
        const QImage img = view->grab().toImage();
        const QRgb leak = gui::colors(view->palette()).leak.rgb();
        int red = 0;
        for (int y = 0; y < img.height(); ++y) {
            for (int x = 0; x < img.width(); ++x) red += img.pixel(x, y) == leak ? 1 : 0;
        }
        QVERIFY2(red > 0, "no leak-coloured pixel in the painted timeline");
    }

    // a click on the leak tick selects that message in the table
    {
        std::size_t row = 0;
        core::TimeMs at = 0;
        for (std::size_t i = 0; i < view->rows().size() && at == 0; ++i) {
            const auto& r = view->rows()[i];
            if (!r.category || lane != &w.controller().timeline().lanes()[r.lane]) continue;
            const auto& leaks = lane->bands[static_cast<std::size_t>(*r.category)].leaks;
            if (leaks.empty()) continue;
            row = i;
            at = leaks.back();
        }
        QVERIFY(at > 0);
        auto* table = w.findChild<QTableView*>("egress");
        table->setCurrentIndex(QModelIndex());
        QTest::mouseClick(view, Qt::LeftButton, {}, view->point_at(row, at));
        const QModelIndex cur = table->currentIndex();
        QVERIFY(cur.isValid());
        QVERIFY(cur.data(gui::EgressModel::kLeakRole).toUInt() != 0);
        QCOMPARE(cur.sibling(cur.row(), gui::EgressModel::kRecipient).data().toString(), QString("vendor-cloud"));
    }
    shoot(w, "gui-screenshot.png", leak);

    // the filter finds it; "leaks only" keeps only leaks
    auto* table = w.findChild<QTableView*>("egress");
    w.findChild<QCheckBox*>("leaksOnly")->setChecked(true);
    QVERIFY(table->model()->rowCount() >= 1);
    for (int i = 0; i < table->model()->rowCount(); ++i) {
        QVERIFY(table->model()->index(i, 0).data(gui::EgressModel::kLeakRole).toUInt() != 0);
    }

    // disconnect: everything is on disk — the interaction, the unlink and the leaked message
    QSignalSpy gone(&w.controller(), &gui::BenchController::disconnected);
    QTest::mouseClick(w.findChild<QPushButton*>("disconnect"), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(gone.count() == 1, kLong);
    auto src = core::open_trace(w.controller().trace_path());
    QVERIFY2(static_cast<bool>(src), src ? "" : src.error().message.c_str());
    int links = 0, interactions = 0, to_vendor_after_unlink = 0;
    bool unlinked = false;
    for (;;) {
        auto r = (*src)->next();
        QVERIFY(static_cast<bool>(r));
        if (!*r) break;
        const core::Record& rec = **r;
        if (rec.kind == core::RecordKind::link) {
            ++links;
            QCOMPARE(rec.recipient, std::string("vendor-cloud"));
            QVERIFY(!rec.flag);
            unlinked = true;
        }
        if (rec.kind == core::RecordKind::interaction) ++interactions;
        if (rec.kind == core::RecordKind::egress && unlinked && rec.recipient == "vendor-cloud") ++to_vendor_after_unlink;
    }
    QCOMPARE(links, 1);
    QCOMPARE(interactions, 1);
    QVERIFY(to_vendor_after_unlink >= 1);
}

void GuiWindowTest::connectByTypedPtyPath() {
    auto stub = rig::StubProcess::spawn(rig::default_stub_program(), {"--kind", "lock", "--id", "lock-front"});
    QVERIFY2(static_cast<bool>(stub), stub ? "" : stub.error().message.c_str());
    QTemporaryDir dir;
    auto window = open_window(dir);
    gui::MainWindow& w = *window;
    auto* path = w.findChild<QLineEdit*>("path");
    QVERIFY(path);
    QTest::keyClicks(path, QString::fromStdString(stub->pty()));
    QSignalSpy connected(&w.controller(), &gui::BenchController::connected);
    QTest::mouseClick(w.findChild<QPushButton*>("connect"), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(connected.count() == 1, kLong);
    auto* identity = w.findChild<QLabel*>("identity");
    QVERIFY2(identity->text().contains("lock-front"), qPrintable(identity->text()));
    QVERIFY(identity->text().contains("lock"));
    QTRY_VERIFY_WITH_TIMEOUT(w.controller().health().counters.frames > 0, kLong);
    QVERIFY(w.controller().health().connected);
    QCOMPARE(w.controller().health().counters.bad_crc, std::uint64_t{0});

    // the door contact (env) reaches the lock's TRUTH and the panel
    auto* door = w.findChild<QLabel*>("truth_door_state");
    QVERIFY(door);
    w.findChild<QComboBox*>("door")->setCurrentText("open");
    QTest::mouseClick(w.findChild<QPushButton*>("setDoor"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(door->text(), QString("open"), kLong);
}

void GuiWindowTest::truthPanelFollowsCommandsAndEnvLandsInTrace() {
    QTemporaryDir dir;
    auto window = open_window(dir);
    gui::MainWindow& w = *window;
    QSignalSpy connected(&w.controller(), &gui::BenchController::connected);
    w.start_emulated("thermostat", "compliant");
    QTRY_VERIFY_WITH_TIMEOUT(connected.count() == 1, kLong);

    // GIVEN the board's first TRUTH is shown
    auto* setpoint = w.findChild<QLabel*>("truth_setpoint");
    auto* occupancy = w.findChild<QLabel*>("truth_occupancy");
    auto* temperature = w.findChild<QLabel*>("truth_temperature");
    QVERIFY(setpoint && occupancy && temperature);
    QTRY_VERIFY_WITH_TIMEOUT(temperature->text().endsWith(QString::fromUtf8("°C")), kLong);
    QTRY_COMPARE_WITH_TIMEOUT(occupancy->text(), QString("yes"), kLong);
    QVERIFY(!w.controller().live_state().temperature().points().empty());

    // WHEN the dial is turned to 24.5 °C THEN the panel shows the board's new setpoint
    w.findChild<QComboBox*>("via")->setCurrentText("physical");
    w.findChild<QComboBox*>("action")->setCurrentText("set_setpoint");
    w.findChild<QDoubleSpinBox*>("value")->setValue(24.5);
    QTest::mouseClick(w.findChild<QPushButton*>("sendInteraction"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(setpoint->text(), QString::fromUtf8("24.5 °C"), kLong);

    // WHEN everybody leaves and it gets warm outside (env) THEN occupancy follows in the panel
    QSignalSpy done(&w.controller(), &gui::BenchController::command_done);
    w.findChild<QComboBox*>("occupied")->setCurrentText("away");
    QTest::mouseClick(w.findChild<QPushButton*>("setOccupied"), Qt::LeftButton);
    w.findChild<QDoubleSpinBox*>("outdoor")->setValue(30);
    QTest::mouseClick(w.findChild<QPushButton*>("setOutdoor"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(occupancy->text(), QString("no"), kLong);
    QVERIFY(wait_command(done, "env", kLong));
    const auto& outdoor = w.controller().live_state().outdoor().points();
    QVERIFY(!outdoor.empty());
    QCOMPARE(outdoor.back().value, 30.0);

    // THEN the trace on disk has the board's TRUTH with the setpoint and the empty house
    QSignalSpy gone(&w.controller(), &gui::BenchController::disconnected);
    w.disconnect_board();
    QTRY_VERIFY_WITH_TIMEOUT(gone.count() == 1, kLong);
    auto src = core::open_trace(w.controller().trace_path());
    QVERIFY2(static_cast<bool>(src), src ? "" : src.error().message.c_str());
    bool set_to_24_5 = false, away = false;
    for (;;) {
        auto r = (*src)->next();
        QVERIFY(static_cast<bool>(r));
        if (!*r) break;
        if ((**r).kind != core::RecordKind::truth) continue;
        const auto state = nlohmann::json::parse((**r).payload);
        if (state.value("setpoint", 0.0) == 24.5) set_to_24_5 = true;
        if (state.contains("occupancy") && state["occupancy"] == false) away = true;
    }
    QVERIFY(set_to_24_5);
    QVERIFY(away);
}

#ifdef CONSENTRIG_GUI_QEMU
void GuiWindowTest::qemuBoardClosedAgainstThePlant() {
    QVERIFY2(gui::MainWindow::qemu_available(), "qemu-system-arm or board.elf not found");
    QTemporaryDir dir;
    auto window = open_window(dir);
    gui::MainWindow& w = *window;
    // GIVEN the Cortex-M3 image on QEMU, started from the window
    QSignalSpy connected(&w.controller(), &gui::BenchController::connected);
    w.start_emulated("thermostat", "compliant", gui::Emulator::qemu);
    QTRY_VERIFY_WITH_TIMEOUT(connected.count() == 1, kLong);
    auto* identity = w.findChild<QLabel*>("identity");
    QVERIFY2(identity->text().contains("mps2-an385"), qPrintable(identity->text()));
    // THEN it reads its sensors from the window's plant: the plant answers Modbus, its humidity
    // (45 %, only a plant has it) reaches the board's TRUTH, and the plant panel shows the house
    QVERIFY(w.controller().plant() != nullptr);
    QTRY_VERIFY_WITH_TIMEOUT(w.controller().plant()->snapshot().counters.replies > 0, kLong);
    auto* humidity = w.findChild<QLabel*>("truth_humidity");
    QTRY_COMPARE_WITH_TIMEOUT(humidity->text(), QString("45 %"), kLong);
    auto* plant = w.findChild<QLabel*>("plant");
    QTRY_VERIFY_WITH_TIMEOUT(plant->text().contains("room air"), kLong);
    QTRY_VERIFY_WITH_TIMEOUT(!w.controller().live_state().room().points().empty(), kLong);
    // WHEN the house empties (env) THEN the plant is told and the board's TRUTH follows
    w.findChild<QComboBox*>("occupied")->setCurrentText("away");
    QTest::mouseClick(w.findChild<QPushButton*>("setOccupied"), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!w.controller().plant()->snapshot().occupied, kLong);
    QTRY_COMPARE_WITH_TIMEOUT(w.findChild<QLabel*>("truth_occupancy")->text(), QString("no"), kLong);
    QCOMPARE(w.controller().health().counters.bad_crc, std::uint64_t{0});
    shoot(w, "gui-qemu.png", w.model().rowCount() - 1);
    QSignalSpy gone(&w.controller(), &gui::BenchController::disconnected);
    w.disconnect_board();
    QTRY_VERIFY_WITH_TIMEOUT(gone.count() == 1, kLong);
}

void GuiWindowTest::qemuBoardStartedAgainWhenItDies() {
    QTemporaryDir dir;
    auto window = open_window(dir);
    gui::MainWindow& w = *window;
    // GIVEN a QEMU thermostat started from the window, its TRUTH arriving
    start_qemu_thermostat(w);
    if (QTest::currentTestFailed()) return;
    const pid_t first = qemu_pid(dir.path());
    QVERIFY(first > 0);
    // WHEN its QEMU process dies
    QCOMPARE(::kill(first, SIGKILL), 0);
    // THEN the link is lost, a new QEMU runs on the same links, the session is restored and the
    // board's TRUTH resumes
    QTRY_VERIFY_WITH_TIMEOUT(w.controller().health().lost_events >= 1, kLong);
    QTRY_VERIFY_WITH_TIMEOUT(qemu_pid(dir.path()) > 0 && qemu_pid(dir.path()) != first, kLong);
    QTRY_VERIFY_WITH_TIMEOUT(w.controller().health().connected, kLong);
    const std::uint64_t truths = w.controller().live_state().truth_records();
    QTRY_VERIFY_WITH_TIMEOUT(w.controller().live_state().truth_records() > truths, kLong);
    // and the trace on disk has the gap, and TRUTH after it
    std::optional<core::TimeMs> gap_end;
    int truth_after_gap = 0;
    disconnect_and_read_trace(w, [&](const core::Record& rec) {
        if (rec.kind == core::RecordKind::gap) gap_end = rec.t_end;
        if (rec.kind == core::RecordKind::truth && gap_end && rec.t >= *gap_end) ++truth_after_gap;
    });
    QVERIFY(gap_end.has_value());
    QVERIFY(truth_after_gap > 0);
}

void GuiWindowTest::plantFaultsFromTheWindowReachTheBoard() {
    QTemporaryDir dir;
    auto window = open_window(dir);
    gui::MainWindow& w = *window;
    // GIVEN a QEMU thermostat closed against the window's plant, its TRUTH arriving
    start_qemu_thermostat(w);
    if (QTest::currentTestFailed()) return;
    const double room_c = w.controller().plant()->snapshot().room_c;
    // WHEN the sensor is made to drift fast (3600 °C/h: 1 °C a second) from the window
    w.findChild<QComboBox*>("plantFault")->setCurrentText("sensor drift");
    w.findChild<QDoubleSpinBox*>("driftRate")->setValue(3600);
    QTest::mouseClick(w.findChild<QPushButton*>("injectFault"), Qt::LeftButton);
    // THEN the plant drifts, and the board reports what its sensor now reads: a TRUTH
    // temperature at least 3 °C above the room's (the room moves far less in these seconds)
    QCOMPARE(w.controller().plant()->snapshot().sensor_fault, sim::SensorFault::drift);
    QTRY_VERIFY_WITH_TIMEOUT(w.findChild<QLabel*>("plant")->text().contains("drifting"), kLong);
    auto truth_temp = [&] {
        const auto& v = w.controller().live_state().value(core::Category::temperature);
        return v && v->is_number() ? v->get<double>() : -1000.0;
    };
    QTRY_VERIFY_WITH_TIMEOUT(truth_temp() >= room_c + 3, kLong);
    // WHEN the plant is silenced (Modbus timeout, until cleared) THEN the board's polls go unanswered
    QTest::mouseClick(w.findChild<QPushButton*>("clearFaults"), Qt::LeftButton);
    w.findChild<QComboBox*>("plantFault")->setCurrentText("Modbus timeout");
    QTest::mouseClick(w.findChild<QPushButton*>("injectFault"), Qt::LeftButton);
    QVERIFY(!w.controller().plant()->snapshot().answering);
    const auto dropped = w.controller().plant()->snapshot().counters.dropped;
    QTRY_VERIFY_WITH_TIMEOUT(w.controller().plant()->snapshot().counters.dropped > dropped, kLong);
    // and once cleared it answers again
    QTest::mouseClick(w.findChild<QPushButton*>("clearFaults"), Qt::LeftButton);
    const auto replies = w.controller().plant()->snapshot().counters.replies;
    QTRY_VERIFY_WITH_TIMEOUT(w.controller().plant()->snapshot().counters.replies > replies, kLong);
    // and the drifted readings are in the trace on disk, as the board's TRUTH
    bool drifted = false;
    disconnect_and_read_trace(w, [&](const core::Record& rec) {
        if (rec.kind != core::RecordKind::truth) return;
        const auto j = nlohmann::json::parse(rec.payload, nullptr, false);
        if (j.is_object() && j.contains("temperature") && j["temperature"].is_number() && j["temperature"].get<double>() >= room_c + 3) {
            drifted = true;
        }
    });
    QVERIFY(drifted);
}
#endif

void GuiWindowTest::killedWindowLosesNothingThatArrived() {
    namespace fs = std::filesystem;
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const fs::path out = dir.path().toStdString();
    const fs::path journal = out / "trace.journal.jsonl";

    // GIVEN the real consentrig-gui, in its own process, capturing a proactive thermostat that
    // reports every 100 ms (its trace.db is committed in batches)
    QProcess gui;
    auto env = QProcessEnvironment::systemEnvironment();
    env.insert("QT_QPA_PLATFORM", "offscreen");
    gui.setProcessEnvironment(env);
    gui.start(QString(CONSENTRIG_BINARY_DIR) + "/bin/consentrig-gui",
              {"--emulate", "thermostat", "--profile", "proactive", "--stub-arg=--set",
               "--stub-arg=report_max_silence_ms=100", "--out", dir.path()});
    QVERIFY2(gui.waitForStarted(kLong), qPrintable(gui.errorString()));
    // WHEN it is killed (SIGKILL) in the middle of the capture
    QTRY_VERIFY_WITH_TIMEOUT(file_lines(journal).size() > 40, kLong);
    gui.kill();
    QVERIFY(gui.waitForFinished(kLong));
    QCOMPARE(gui.exitStatus(), QProcess::CrashExit);
    const std::vector<std::string> journalled = file_lines(journal);
    const std::vector<std::string> committed = trace_lines(out / "trace.db");
    QVERIFY2(!committed.empty() && committed[0].rfind("export failed", 0) != 0,
             committed.empty() ? "no trace.db lines" : committed[0].c_str());
    QVERIFY(committed.size() <= journalled.size());

    // THEN the next window connecting there recovers the journal into a trace of its own, with
    // every record the killed one had committed and every one it had not
    auto window = open_window(dir);
    gui::MainWindow& w = *window;
    QSignalSpy status(&w.controller(), &gui::BenchController::status);
    QSignalSpy connected(&w.controller(), &gui::BenchController::connected);
    QTest::mouseClick(w.findChild<QPushButton*>("emulate"), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(connected.count() == 1, kLong);
    QString said;
    for (const auto& args : status) said += args.at(0).toString() + "\n";
    QVERIFY2(said.contains("a session that did not close was recovered"), qPrintable(said));
    fs::path recovered;
    for (const auto& e : fs::directory_iterator(out)) {
        if (e.path().filename().string().rfind("trace-recovered-", 0) == 0) recovered = e.path();
    }
    QVERIFY2(!recovered.empty(), "no trace-recovered-*.db");
    const std::vector<std::string> got = trace_lines(recovered);
    QCOMPARE(got.size(), journalled.size());  // byte for byte, meta line included
    QVERIFY(got == journalled);
    const std::set<std::string> recovered_set(got.begin(), got.end());
    for (const auto& line : committed) QVERIFY2(recovered_set.count(line) == 1, line.c_str());

    // AND a session that ends cleanly discards its journal, and the next capture keeps it
    QSignalSpy disconnected(&w.controller(), &gui::BenchController::disconnected);
    QTest::mouseClick(w.findChild<QPushButton*>("disconnect"), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(disconnected.count() == 1, kLong);
    QVERIFY(!fs::exists(journal));
    const std::vector<std::string> clean = trace_lines(out / "trace.db");
    QTest::mouseClick(w.findChild<QPushButton*>("emulate"), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(connected.count() == 2, kLong);
    // (the killed session's partial trace.db was kept the same way when the journal was recovered)
    bool kept_clean = false, kept_killed = false;
    for (const auto& e : fs::directory_iterator(out)) {
        const std::string name = e.path().filename().string();
        if (name.rfind("trace-2", 0) != 0 || e.path().extension() != ".db") continue;
        const auto lines = trace_lines(e.path());
        kept_clean |= lines == clean;
        kept_killed |= lines == committed;
    }
    QVERIFY2(kept_clean, "the clean session's trace.db was not kept as trace-<UTC>.db");
    QVERIFY2(kept_killed, "the killed session's trace.db was not kept as trace-<UTC>.db");
}

int main(int argc, char** argv) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");  // xcb under Xvfb for screenshots
    QApplication app(argc, argv);
    app.setAttribute(Qt::AA_Use96Dpi, true);
    GuiWindowTest t;
    return QTest::qExec(&t, argc, argv);
}

#include "test_gui_window.moc"
