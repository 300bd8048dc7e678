#include "gui/scenario_panel.hpp"

#include <QAction>
#include <QButtonGroup>
#include <QComboBox>
#include <QDateTime>
#include <QDesktopServices>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QKeySequence>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMenu>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRadioButton>
#include <QSettings>
#include <QShortcut>
#include <QSignalBlocker>
#include <QSplitter>
#include <QStandardPaths>
#include <QTableView>
#include <QToolButton>
#include <QUrl>
#include <QVBoxLayout>

#include <algorithm>
#include <system_error>

#include "gui/controller.hpp"
#include "gui/findings_model.hpp"
#include "gui/palette.hpp"
#include "gui/scenario_runner.hpp"
#include "rig/bench_config.hpp"
#include "rig/qemu.hpp"

namespace consentrig::gui {

namespace fs = std::filesystem;

namespace {
QString qs(const std::string& s) { return QString::fromStdString(s); }
QString path_text(const fs::path& p) { return QString::fromStdString(p.string()); }
constexpr int kRecentMax = 8;
constexpr int kBarSteps = 1000;
/// The files of a run that "Export reports" hands over (the trace goes by "Save trace").
const char* const kReportFiles[] = {"report.html", "report.json", "summary.md", "report.pdf",
                                    "findings.json", "junit.xml",  "run.json",   "board-log.jsonl"};

QString count_text(std::uint64_t n) { return QLocale().toString(static_cast<qulonglong>(n)); }

/// QEMU boards can be started: qemu-system-arm and the cross-built image are there.
bool qemu_available() {
    std::error_code ec;
    const auto image = rig::default_m3_image();
    return !rig::default_qemu_program().empty() && !image.empty() && fs::exists(image, ec);
}
}  // namespace

ScenarioPanel::ScenarioPanel(BenchController* controller, ScenarioPanelOptions options, QWidget* parent)
    : QDockWidget(tr("Scenarios"), parent), controller_(controller), options_(std::move(options)) {
    setObjectName("scenarioDock");
    runner_ = new ScenarioRunner(this);
    model_ = new FindingsModel(this);
    filter_ = new FindingsFilter(this);
    filter_->setSourceModel(model_);
    setWidget(build());

    connect(runner_, &ScenarioRunner::progressed, this, &ScenarioPanel::refresh_progress);
    connect(runner_, &ScenarioRunner::warned, this, [this](const QString& w) {
        problems_->appendPlainText(tr("warning: %1").arg(w));
        problems_->setVisible(true);
    });
    connect(runner_, &ScenarioRunner::finished, this, &ScenarioPanel::on_finished);
    connect(controller_, &BenchController::connected, this, &ScenarioPanel::refresh_board_choice);
    connect(controller_, &BenchController::disconnected, this, &ScenarioPanel::refresh_board_choice);

    // shortcuts live on the window, so they work wherever the focus is in it
    QWidget* window = parent ? parent : this;
    auto add = [this, window](const QKeySequence& k, auto f) {
        auto* s = new QShortcut(k, window);
        connect(s, &QShortcut::activated, this, f);
        return s;
    };
    add(QKeySequence(Qt::CTRL | Qt::Key_O), [this] { open_dialog(); });
    add(QKeySequence(Qt::CTRL | Qt::Key_R), [this] { run_selected_mode(); });
    add(QKeySequence(Qt::CTRL | Qt::Key_Period), [this] { cancel(); });
    // Esc cancels only while a run is going (it keeps its usual meaning otherwise)
    auto* esc = add(QKeySequence(Qt::Key_Escape), [this] { cancel(); });
    esc->setEnabled(false);
    connect(runner_, &ScenarioRunner::started, esc, [esc] { esc->setEnabled(true); });
    connect(runner_, &ScenarioRunner::finished, esc, [esc] { esc->setEnabled(false); });
    add(QKeySequence(Qt::CTRL | Qt::Key_H), [this] { open_report(); });
    add(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S), [this] { save_trace_dialog(); });
    add(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E), [this] { export_dialog(); });
    toggleViewAction()->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_3));

    if (options_.use_settings) {
        QSettings s;
        bench_->setChecked(s.value("scenarios/mode").toString() == "bench");
        time_scale_->setValue(s.value("scenarios/time_scale", time_scale_->value()).toDouble());
        duration_->setText(s.value("scenarios/duration").toString());
    }
    rebuild_recent_menu();
    refresh_board_choice();
    set_running_ui(false);
}

ScenarioPanel::~ScenarioPanel() {
    if (options_.use_settings) {
        QSettings s;
        s.setValue("scenarios/mode", bench_->isChecked() ? "bench" : "simulator");
        s.setValue("scenarios/time_scale", time_scale_->value());
        s.setValue("scenarios/duration", duration_->text());
    }
}

// ---- layout ---------------------------------------------------------------------------------

QWidget* ScenarioPanel::build() {
    auto* root = new QWidget;
    auto* v = new QVBoxLayout(root);

    // the scenario
    auto* frow = new QHBoxLayout;
    auto* open = new QPushButton(tr("Open scenario…"));
    open->setObjectName("scenarioOpen");
    open->setToolTip(tr("Ctrl+O"));
    connect(open, &QPushButton::clicked, this, &ScenarioPanel::open_dialog);
    auto* recent_btn = new QToolButton;
    recent_btn->setText(tr("Recent"));
    recent_btn->setPopupMode(QToolButton::InstantPopup);
    recent_ = new QMenu(recent_btn);
    recent_btn->setMenu(recent_);
    file_ = new QLabel(tr("no scenario open"));
    file_->setObjectName("scenarioFile");
    file_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    frow->addWidget(open);
    frow->addWidget(recent_btn);
    frow->addWidget(file_, 1);
    v->addLayout(frow);
    about_ = new QLabel;
    about_->setObjectName("scenarioAbout");
    about_->setWordWrap(true);
    about_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    v->addWidget(about_);

    // where it runs
    auto* mrow = new QHBoxLayout;
    sim_ = new QRadioButton(tr("Simulator"));
    sim_->setObjectName("scenarioSim");
    sim_->setChecked(true);
    bench_ = new QRadioButton(tr("Bench"));
    bench_->setObjectName("scenarioBench");
    auto* group = new QButtonGroup(this);
    group->addButton(sim_);
    group->addButton(bench_);
    mrow->addWidget(new QLabel(tr("Run on:")));
    mrow->addWidget(sim_);
    mrow->addWidget(bench_);
    bench_box_ = new QWidget;
    auto* brow = new QHBoxLayout(bench_box_);
    brow->setContentsMargins(0, 0, 0, 0);
    time_scale_ = new QDoubleSpinBox;
    time_scale_->setObjectName("scenarioTimeScale");
    time_scale_->setRange(1, 1000);  // the firmware's limit (docs/bench.md)
    time_scale_->setDecimals(0);
    time_scale_->setValue(60);
    time_scale_->setSuffix(QStringLiteral(" ×"));
    time_scale_->setToolTip(tr("Scenario time per wall time; above 1 every board must advertise the time_scale cap"));
    duration_ = new QLineEdit;
    duration_->setObjectName("scenarioDuration");
    duration_->setPlaceholderText(tr("whole scenario"));
    duration_->setToolTip(tr("Replay only this much scenario time, e.g. 2h or 90m (the run is then incomplete and "
                             "its expectations are not checked)"));
    duration_->setMaximumWidth(110);
    boards_ = new QComboBox;
    boards_->setObjectName("scenarioBoards");
    emulator_ = new QComboBox;
    emulator_->setObjectName("scenarioEmulator");
    emulator_->addItem(tr("host stubs"), static_cast<int>(rig::BoardType::stub));
    emulator_->addItem(tr("QEMU Cortex-M3"), static_cast<int>(rig::BoardType::qemu));
    emulator_->setToolTip(tr("The emulated board each scenario device gets (unless a BENCH.yaml says otherwise)"));
    if (!qemu_available()) {
        emulator_->setItemData(1, 0, Qt::UserRole - 1);  // shown, but cannot be chosen
        emulator_->setItemData(1, tr("needs qemu-system-arm and the cross-built board.elf (docs/m3-board.md)"), Qt::ToolTipRole);
    }
    bench_config_btn_ = new QPushButton(tr("BENCH.yaml…"));
    bench_config_btn_->setObjectName("scenarioBenchConfig");
    bench_config_btn_->setToolTip(tr("Which board runs each device and the rig settings (docs/bench.md); "
                                     "right-click to stop using it"));
    bench_config_btn_->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(bench_config_btn_, &QPushButton::clicked, this, [this] {
        QString dir = bench_config_.isEmpty() ? QFileInfo(scenario_path_).absolutePath() : QFileInfo(bench_config_).absolutePath();
        const QString f = QFileDialog::getOpenFileName(this, tr("BENCH.yaml"), dir, tr("Bench configuration (*.yaml *.yml);;All files (*)"));
        if (!f.isEmpty()) set_bench_config(f);
    });
    connect(bench_config_btn_, &QPushButton::customContextMenuRequested, this, [this] { set_bench_config({}); });
    brow->addWidget(new QLabel(tr("time scale")));
    brow->addWidget(time_scale_);
    brow->addWidget(new QLabel(tr("replay")));
    brow->addWidget(duration_);
    brow->addWidget(new QLabel(tr("boards")));
    brow->addWidget(emulator_);
    brow->addWidget(boards_, 1);
    brow->addWidget(bench_config_btn_);
    mrow->addWidget(bench_box_, 1);
    v->addLayout(mrow);
    board_note_ = new QLabel;
    board_note_->setObjectName("scenarioBoardNote");
    board_note_->setWordWrap(true);
    v->addWidget(board_note_);
    connect(bench_, &QRadioButton::toggled, this, [this](bool on) {
        bench_box_->setEnabled(on && !running());
        board_note_->setVisible(on);
    });
    bench_box_->setEnabled(false);
    board_note_->setVisible(false);

    // run, progress, verdict
    auto* rrow = new QHBoxLayout;
    run_btn_ = new QPushButton(tr("Run"));
    run_btn_->setObjectName("scenarioRun");
    run_btn_->setToolTip(tr("Ctrl+R"));
    connect(run_btn_, &QPushButton::clicked, this, &ScenarioPanel::run_selected_mode);
    cancel_btn_ = new QPushButton(tr("Cancel"));
    cancel_btn_->setObjectName("scenarioCancel");
    cancel_btn_->setToolTip(tr("Esc or Ctrl+. — stops at the next record; what was captured is judged and reported "
                               "as incomplete"));
    connect(cancel_btn_, &QPushButton::clicked, this, &ScenarioPanel::cancel);
    bar_ = new QProgressBar;
    bar_->setObjectName("scenarioProgressBar");
    bar_->setRange(0, kBarSteps);
    bar_->setValue(0);
    bar_->setFormat(QStringLiteral("%p %"));
    rrow->addWidget(run_btn_);
    rrow->addWidget(cancel_btn_);
    rrow->addWidget(bar_, 1);
    v->addLayout(rrow);
    progress_ = new QLabel;
    progress_->setObjectName("scenarioProgress");
    v->addWidget(progress_);
    verdict_ = new QLabel;
    verdict_->setObjectName("scenarioVerdict");
    verdict_->setWordWrap(true);
    QFont big = verdict_->font();
    big.setBold(true);
    big.setPointSizeF(big.pointSizeF() * 1.35);
    verdict_->setFont(big);
    v->addWidget(verdict_);
    problems_ = new QPlainTextEdit;
    problems_->setObjectName("scenarioProblems");
    problems_->setReadOnly(true);
    problems_->setMaximumHeight(80);
    problems_->setVisible(false);
    v->addWidget(problems_);

    // hand-over
    auto* orow = new QHBoxLayout;
    report_btn_ = new QPushButton(tr("Open HTML report"));
    report_btn_->setObjectName("scenarioReport");
    report_btn_->setToolTip(tr("Ctrl+H"));
    connect(report_btn_, &QPushButton::clicked, this, &ScenarioPanel::open_report);
    trace_btn_ = new QPushButton(tr("Save trace…"));
    trace_btn_->setObjectName("scenarioSaveTrace");
    trace_btn_->setToolTip(tr("Ctrl+Shift+S — a copy of the run's trace.db"));
    connect(trace_btn_, &QPushButton::clicked, this, &ScenarioPanel::save_trace_dialog);
    export_btn_ = new QPushButton(tr("Export reports…"));
    export_btn_->setObjectName("scenarioExport");
    export_btn_->setToolTip(tr("Ctrl+Shift+E — report.html/json/pdf, summary.md, findings.json, junit.xml, run.json"));
    connect(export_btn_, &QPushButton::clicked, this, &ScenarioPanel::export_dialog);
    out_label_ = new QLabel;
    out_label_->setObjectName("scenarioOut");
    out_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    orow->addWidget(report_btn_);
    orow->addWidget(trace_btn_);
    orow->addWidget(export_btn_);
    orow->addWidget(out_label_, 1);
    v->addLayout(orow);

    // findings
    auto* crow = new QHBoxLayout;
    class_ = new QComboBox;
    class_->setObjectName("findingsClass");
    class_->addItem(tr("all classes"));
    for (auto n : core::kFindingTypeNames) class_->addItem(QString::fromUtf8(n.data(), static_cast<qsizetype>(n.size())));
    device_ = new QComboBox;
    device_->setObjectName("findingsDevice");
    recipient_ = new QComboBox;
    recipient_->setObjectName("findingsRecipient");
    text_ = new QLineEdit;
    text_->setObjectName("findingsText");
    text_->setPlaceholderText(tr("search findings"));
    text_->setClearButtonEnabled(true);
    count_ = new QLabel;
    count_->setObjectName("findingsCount");
    crow->addWidget(class_);
    crow->addWidget(device_);
    crow->addWidget(recipient_);
    crow->addWidget(text_, 1);
    crow->addWidget(count_);
    v->addLayout(crow);
    connect(class_, &QComboBox::currentIndexChanged, this, [this](int i) {
        filter_->set_type(i <= 0 ? std::nullopt : std::optional(static_cast<core::FindingType>(i - 1)));
    });
    connect(device_, &QComboBox::currentIndexChanged, this,
            [this](int i) { filter_->set_device(i <= 0 ? QString() : device_->itemText(i)); });
    connect(recipient_, &QComboBox::currentIndexChanged, this,
            [this](int i) { filter_->set_recipient(i <= 0 ? QString() : recipient_->itemText(i)); });
    connect(text_, &QLineEdit::textChanged, filter_, &FindingsFilter::set_text);
    auto update_count = [this] {
        count_->setText(tr("%1 of %2").arg(count_text(static_cast<std::uint64_t>(filter_->rowCount())),
                                           count_text(model_->findings().size())));
    };
    connect(filter_, &QAbstractItemModel::rowsInserted, this, update_count);
    connect(filter_, &QAbstractItemModel::rowsRemoved, this, update_count);
    connect(filter_, &QAbstractItemModel::modelReset, this, update_count);
    connect(filter_, &QAbstractItemModel::layoutChanged, this, update_count);

    table_ = new QTableView;
    table_->setObjectName("findings");
    table_->setModel(filter_);
    table_->setSortingEnabled(true);
    table_->sortByColumn(-1, Qt::AscendingOrder);  // the run's order until a header is clicked
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->verticalHeader()->setVisible(false);
    table_->verticalHeader()->setDefaultSectionSize(table_->fontMetrics().height() + 6);
    table_->horizontalHeader()->setStretchLastSection(true);
    table_->setAlternatingRowColors(true);
    table_->setColumnWidth(FindingsModel::kTime, 190);
    table_->setColumnWidth(FindingsModel::kClass, 150);
    connect(table_->selectionModel(), &QItemSelectionModel::currentRowChanged, this, &ScenarioPanel::show_detail);
    detail_ = new QPlainTextEdit;
    detail_->setObjectName("findingDetail");
    detail_->setReadOnly(true);
    detail_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    detail_->setPlaceholderText(tr("select a finding: its evidence as findings.json has it"));
    auto* split = new QSplitter(Qt::Horizontal);
    split->setObjectName("findingsSplit");
    split->addWidget(table_);
    split->addWidget(detail_);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    v->addWidget(split, 1);
    return root;
}

// ---- scenario file --------------------------------------------------------------------------

void ScenarioPanel::open_dialog() {
    if (running()) return;
    QString dir;
    if (options_.use_settings) dir = QSettings().value("scenarios/last_dir").toString();
    if (dir.isEmpty() && !scenario_path_.isEmpty()) dir = QFileInfo(scenario_path_).absolutePath();
    const QString f = QFileDialog::getOpenFileName(this, tr("Open scenario"), dir, tr("Scenarios (*.yaml *.yml);;All files (*)"));
    if (!f.isEmpty()) open_scenario(f);
}

bool ScenarioPanel::open_scenario(const QString& path) {
    if (running()) return false;
    auto s = core::load_scenario(path.toStdString());
    if (!s) {
        show_problem(tr("Cannot open the scenario"), qs(s.error().message));
        return false;
    }
    scenario_ = std::move(*s);
    scenario_path_ = QFileInfo(path).absoluteFilePath();
    file_->setText(scenario_path_);
    const auto& sc = *scenario_;
    QString expect;
    if (sc.expect.findings.empty()) {
        expect = tr("expects no findings");
    } else {
        QStringList parts;
        for (const auto& e : sc.expect.findings) parts << qs(e.describe());
        expect = tr("expects %1%2").arg(parts.join("; "), sc.expect.allow_other ? tr(" (others allowed)") : QString());
    }
    about_->setText(tr("<b>%1</b> — %2<br>%3 devices · %4 from %5 · seed %6 · %7")
                        .arg(qs(sc.name).toHtmlEscaped(), qs(sc.description).toHtmlEscaped(),
                             count_text(core::device_count(sc)), qs(core::format_duration(sc.duration_ms)),
                             qs(core::format_rfc3339(sc.start)), QString::number(sc.seed), expect.toHtmlEscaped()));
    verdict_->clear();
    problems_->clear();
    problems_->setVisible(false);
    if (options_.use_settings) QSettings().setValue("scenarios/last_dir", QFileInfo(path).absolutePath());
    add_recent(scenario_path_);
    refresh_board_choice();
    set_running_ui(false);
    return true;
}

void ScenarioPanel::add_recent(const QString& path) {
    if (!options_.use_settings) return;
    QSettings s;
    QStringList r = s.value("scenarios/recent").toStringList();
    r.removeAll(path);
    r.prepend(path);
    while (r.size() > kRecentMax) r.removeLast();
    s.setValue("scenarios/recent", r);
    rebuild_recent_menu();
}

void ScenarioPanel::rebuild_recent_menu() {
    recent_->clear();
    const QStringList r = options_.use_settings ? QSettings().value("scenarios/recent").toStringList() : QStringList();
    for (const auto& p : r) {
        auto* a = recent_->addAction(p);
        connect(a, &QAction::triggered, this, [this, p] { open_scenario(p); });
    }
    if (r.isEmpty()) recent_->addAction(tr("(none yet)"))->setEnabled(false);
}

// ---- the bench's boards ---------------------------------------------------------------------

void ScenarioPanel::set_board_port(const QString& port) {
    board_port_ = port;
    refresh_board_choice();
}

void ScenarioPanel::refresh_board_choice() {
    boards_->clear();
    boards_->addItem(bench_config_.isEmpty() ? tr("emulated, every device") : tr("as BENCH.yaml says"));
    emulator_->setEnabled(bench_config_.isEmpty());
    QString note = bench_config_.isEmpty()
                       ? tr("Each scenario device gets an emulated board (a consentrig-board host stub on a pty, or the "
                            "Cortex-M3 image on QEMU), configured from the scenario (kind, profile, partners, parameters).")
                       : tr("Boards and rig settings from %1 (right-click BENCH.yaml… to stop using it).").arg(bench_config_);
    if (!borrowed_port_.isEmpty()) {
        note = tr("The window's board on %1 is lent to the running bench run; it is reconnected when the run ends.")
                   .arg(borrowed_port_);
    } else if (controller_->is_connected()) {
        const auto info = controller_->info();
        const QString id = qs(info.device_id);
        bool in_scenario = false;
        if (scenario_) {
            for (const auto& d : scenario_->devices) in_scenario = in_scenario || d.id == info.device_id;
        }
        if (!controller_->stub_pty().empty()) {
            note += " " + tr("The connected board (%1) is an emulated board started by this window with its own "
                             "partners; a bench run starts its own, so it is not used.").arg(id);
        } else if (board_port_.isEmpty()) {
            note += " " + tr("The connected board (%1): its port is not known to this panel.").arg(id);
        } else if (!scenario_) {
            note += " " + tr("Open a scenario to run it on the connected board (%1 on %2).").arg(id, board_port_);
        } else if (!in_scenario) {
            QStringList names;
            for (const auto& d : scenario_->devices) names << qs(d.id);
            note += " " + tr("The connected board reports device id %1; the scenario names %2 — a board plays the "
                             "device whose id it reports, so it cannot take part.")
                              .arg(id, names.isEmpty() ? tr("no named devices") : names.join(", "));
        } else {
            boards_->addItem(tr("connected board on %1 plays %2, the rest as above").arg(board_port_, id),
                             QStringList{board_port_, id});
            boards_->setCurrentIndex(1);
            note = tr("The connected board %1 on %2 plays scenario device %1 (the window disconnects it for the run "
                      "and reconnects afterwards); the other devices as above.").arg(id, board_port_);
        }
    }
    board_note_->setText(note);
}

// ---- running --------------------------------------------------------------------------------

bool ScenarioPanel::running() const { return runner_->running() || !borrowed_port_.isEmpty(); }

void ScenarioPanel::run_selected_mode() { run(bench_->isChecked() ? Mode::bench : Mode::simulator); }

fs::path ScenarioPanel::runs_dir() const {
    if (!options_.runs_dir.empty()) return options_.runs_dir;
    return fs::path(QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation).toStdString()) / "runs";
}

void ScenarioPanel::run(Mode mode) {
    if (running()) return;
    if (!scenario_) {
        verdict_->setText(tr("Open a scenario first (Ctrl+O)"));
        verdict_->setStyleSheet({});
        return;
    }
    if (mode == Mode::bench && boards_->currentIndex() > 0) {
        const QStringList d = boards_->currentData().toStringList();
        const QString port = d.value(0);
        const QString device = d.value(1);
        // the board's port must be free for the run: the window lets go of it first
        borrowed_port_ = port;
        set_running_ui(true);
        refresh_board_choice();
        progress_->setText(tr("disconnecting the window's board on %1…").arg(port));
        if (controller_->busy()) {
            connect(controller_, &BenchController::disconnected, this,
                    [this, port, device] { start_run(Mode::bench, port, device); }, Qt::SingleShotConnection);
            controller_->disconnect_board();
        } else {
            start_run(Mode::bench, port, device);
        }
        return;
    }
    start_run(mode, {}, {});
}

void ScenarioPanel::start_run(Mode mode, const QString& board_port, const QString& board_device) {
    const auto& sc = *scenario_;
    QString name = qs(sc.name) + "-" + QDateTime::currentDateTime().toString("yyyyMMdd-HHmmss");
    if (mode == Mode::bench) name += "-bench";
    fs::path out = runs_dir() / name.toStdString();
    for (int i = 2; fs::exists(out); ++i) out = runs_dir() / (name + "-" + QString::number(i)).toStdString();

    ScenarioRequest req;
    req.scenario = sc;
    req.out = out;
    req.free_space = options_.free_space;
    if (mode == Mode::bench) {
        // the same order as `consentrig bench`: BENCH.yaml, then what the dock sets
        rig::BenchOptions bo;
        if (!bench_config_.isEmpty()) {
            auto cfg = rig::load_bench_config(bench_config_.toStdString(), sc);
            if (!cfg) return refuse_start(tr("BENCH.yaml cannot be used"), qs(cfg.error().message));
            rig::apply(*cfg, bo);
        } else {
            bo.default_board = static_cast<rig::BoardType>(emulator_->currentData().toInt());
        }
        bo.time_scale = time_scale_->value();
        if (const QString d = duration_->text().trimmed(); !d.isEmpty()) {
            const auto ms = core::parse_scenario_duration(d.toStdString());
            if (!ms || *ms <= 0) return refuse_start(tr("Replay: “%1” is not a duration such as 2h or 90m").arg(d), {});
            bo.duration_ms = *ms;
        }
        if (!board_port.isEmpty()) {
            std::erase_if(bo.boards, [&](const rig::BoardSpec& b) { return b.device == board_device.toStdString(); });
            rig::BoardSpec spec;
            spec.device = board_device.toStdString();
            spec.port = board_port.toStdString();
            spec.type = rig::BoardType::serial;
            bo.boards.push_back(std::move(spec));
        }
        bo.work_dir = out / "boards";
        req.bench = std::move(bo);
    }
    last_out_ = out;
    last_on_bench_ = mode == Mode::bench;
    model_->set_findings({});
    refresh_filter_choices();
    detail_->clear();
    problems_->clear();
    problems_->setVisible(false);
    verdict_->setText(mode == Mode::bench ? tr("Running on the bench…") : tr("Running on the simulator…"));
    verdict_->setStyleSheet({});
    out_label_->setText(path_text(out));
    bar_->setValue(0);
    runner_->start(std::move(req));
    set_running_ui(true);
    refresh_progress();
}

void ScenarioPanel::show_problem(const QString& what, const QString& detail) {
    verdict_->setText(what);
    verdict_->setStyleSheet(QString("color: %1").arg(colors(palette()).leak.name()));
    problems_->setPlainText(detail);
    problems_->setVisible(!detail.isEmpty());
}

void ScenarioPanel::refuse_start(const QString& what, const QString& detail) {
    show_problem(what, detail);
    if (!borrowed_port_.isEmpty() && options_.reconnect) options_.reconnect(borrowed_port_);
    borrowed_port_.clear();
    set_running_ui(false);
    refresh_board_choice();
}

bool ScenarioPanel::set_bench_config(const QString& path) {
    if (running()) return false;
    if (path.isEmpty()) {
        bench_config_.clear();
        bench_config_btn_->setText(tr("BENCH.yaml…"));
        refresh_board_choice();
        return true;
    }
    const QString abs = QFileInfo(path).absoluteFilePath();
    if (scenario_) {
        auto cfg = rig::load_bench_config(abs.toStdString(), *scenario_);
        if (!cfg) {
            show_problem(tr("BENCH.yaml cannot be used with this scenario"), qs(cfg.error().message));
            return false;
        }
        if (cfg->time_scale) time_scale_->setValue(*cfg->time_scale);
    }
    bench_config_ = abs;
    bench_config_btn_->setText(QFileInfo(abs).fileName());
    bench_->setChecked(true);
    refresh_board_choice();
    return true;
}

void ScenarioPanel::cancel() {
    if (!runner_->running()) return;
    runner_->cancel();
    progress_->setText(progress_->text() + tr(" — cancelling…"));
}

void ScenarioPanel::refresh_progress() {
    const auto& p = runner_->progress();
    bar_->setValue(static_cast<int>(p.fraction * kBarSteps));
    const QString when = p.now > 0 ? qs(core::format_rfc3339(p.now)).left(19).replace('T', ' ') : QStringLiteral("—");
    QString text = tr("scenario time %1 UTC · %2 devices · %3 messages · %4 findings so far")
                       .arg(when, count_text(p.devices), count_text(p.messages), count_text(p.findings));
    if (!p.writing.empty()) text += tr(" · writing %1…").arg(qs(std::string(p.writing)));
    progress_->setText(text);
}

void ScenarioPanel::on_finished() {
    const auto r = runner_->result();
    refresh_progress();
    if (!borrowed_port_.isEmpty()) {
        const QString port = borrowed_port_;
        borrowed_port_.clear();
        if (options_.reconnect) options_.reconnect(port);
    }
    const Colors c = colors(palette());
    auto paint = [this](const QColor& col) { verdict_->setStyleSheet(QString("color: %1").arg(col.name())); };
    // What the panel lists under the verdict: the error or the unmet expectations, then warnings
    // (the run's own, already shown as they came, and the bench's).
    QStringList lines;
    if (!r->outcome) {
        verdict_->setText(tr("Run failed"));
        paint(c.leak);
        lines << r->error;
    } else {
        const auto& o = *r->outcome;
        model_->set_findings(std::shared_ptr<const core::FindingList>(r, &o.findings));
        refresh_filter_choices();
        const QString found = tr("%1 findings").arg(count_text(o.findings.size()));
        if (!o.complete) {
            const QString why = o.cancelled ? tr("cancelled") : tr("only part of the scenario replayed");
            verdict_->setText(tr("Incomplete run (%1 at %2) — expectations not checked · %3")
                                  .arg(why, qs(core::format_rfc3339(o.replayed_to)), found));
            paint(c.revoke);
        } else if (o.expectations_met) {
            verdict_->setText(tr("Expectations met · %1").arg(found));
            paint(c.grant);
        } else {
            verdict_->setText(tr("Expectations NOT met · %1").arg(found));
            paint(c.leak);
        }
        for (const auto& p : o.expectation_problems) lines << qs(p);
        progress_->setText(progress_->text() + tr(" · %1 s").arg(o.seconds, 0, 'f', 1));
    }
    for (const auto& w : r->warnings) lines << tr("warning: %1").arg(w);
    if (r->outcome && r->outcome->bench) {
        for (const auto& w : r->outcome->bench->warnings) lines << tr("warning: %1").arg(qs(w));
    }
    problems_->setPlainText(lines.join('\n'));
    problems_->setVisible(!lines.isEmpty());
    set_running_ui(false);
    refresh_board_choice();
    emit run_finished();
}

void ScenarioPanel::set_running_ui(bool on) {
    run_btn_->setEnabled(!on && scenario_.has_value());
    cancel_btn_->setEnabled(on);
    sim_->setEnabled(!on);
    bench_->setEnabled(!on);
    bench_box_->setEnabled(!on && bench_->isChecked());
    const bool have = !on && !last_out_.empty();
    report_btn_->setEnabled(have && fs::exists(last_out_ / "report.html"));
    trace_btn_->setEnabled(have && fs::exists(last_out_ / "trace.db"));
    export_btn_->setEnabled(have && fs::exists(last_out_ / "findings.json"));
}

// ---- findings -------------------------------------------------------------------------------

void ScenarioPanel::refresh_filter_choices() {
    auto fill = [](QComboBox* box, const QString& any, const QStringList& items) {
        const QString keep = box->currentIndex() > 0 ? box->currentText() : QString();
        const QSignalBlocker block(box);
        box->clear();
        box->addItem(any);
        box->addItems(items);
        box->setCurrentIndex(std::max(0, static_cast<int>(box->findText(keep))));
    };
    fill(device_, tr("all devices"), model_->devices());
    fill(recipient_, tr("all recipients"), model_->recipients());
    filter_->set_device(device_->currentIndex() > 0 ? device_->currentText() : QString());
    filter_->set_recipient(recipient_->currentIndex() > 0 ? recipient_->currentText() : QString());
}

void ScenarioPanel::show_detail() {
    const QModelIndex i = table_->currentIndex();
    detail_->setPlainText(i.isValid() ? i.data(FindingsModel::kJsonRole).toString() : QString());
}

// ---- hand-over ------------------------------------------------------------------------------

void ScenarioPanel::open_report() {
    if (last_out_.empty() || running()) return;
    const fs::path html = last_out_ / "report.html";
    if (!QDesktopServices::openUrl(QUrl::fromLocalFile(path_text(html)))) {
        progress_->setText(tr("no program opens %1").arg(path_text(html)));
    }
}

void ScenarioPanel::save_trace_dialog() {
    if (last_out_.empty() || running()) return;
    const QString start = QFileInfo(scenario_path_).absolutePath() + "/" + path_text(last_out_.filename()) + "-trace.db";
    const QString f = QFileDialog::getSaveFileName(this, tr("Save trace"), start, tr("SQLite trace (*.db);;All files (*)"));
    if (!f.isEmpty()) save_trace_to(f);
}

bool ScenarioPanel::save_trace_to(const QString& file) {
    std::error_code ec;
    fs::copy_file(last_out_ / "trace.db", file.toStdString(), fs::copy_options::overwrite_existing, ec);
    progress_->setText(ec ? tr("saving the trace to %1 failed: %2").arg(file, qs(ec.message()))
                          : tr("trace saved to %1").arg(file));
    return !ec;
}

void ScenarioPanel::export_dialog() {
    if (last_out_.empty() || running()) return;
    const QString d = QFileDialog::getExistingDirectory(this, tr("Export reports to"), QFileInfo(scenario_path_).absolutePath());
    if (!d.isEmpty()) export_reports_to(d);
}

bool ScenarioPanel::export_reports_to(const QString& dir) {
    std::error_code ec;
    const fs::path to = dir.toStdString();
    fs::create_directories(to, ec);
    QStringList copied;
    for (const char* f : kReportFiles) {
        if (ec) break;
        if (!fs::exists(last_out_ / f)) continue;
        fs::copy_file(last_out_ / f, to / f, fs::copy_options::overwrite_existing, ec);
        if (!ec) copied << f;
    }
    progress_->setText(ec ? tr("exporting to %1 failed: %2").arg(dir, qs(ec.message()))
                          : tr("exported %1 to %2").arg(copied.join(", "), dir));
    return !ec;
}

}  // namespace consentrig::gui
