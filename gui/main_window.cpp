#include "gui/main_window.hpp"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QDateTime>
#include <QDockWidget>
#include <QMenu>
#include <QMenuBar>
#include <QScrollBar>
#include <QDoubleSpinBox>
#include <QFontDatabase>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QKeySequence>
#include <QLabel>
#include <QLineEdit>
#include <QPalette>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QShortcut>
#include <QSpinBox>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>

#include "gui/palette.hpp"
#include "gui/scenario_panel.hpp"
#include "gui/timeline_view.hpp"
#include "gui/trend_chart.hpp"
#include "rig/link.hpp"
#include "rig/qemu.hpp"

namespace consentrig::gui {

namespace {
const QStringList kProfiles = {"compliant",   "proactive",      "flush_after_revoke", "store_and_forward",
                               "scope_creep", "keepalive_leak", "cause_lie"};
QString qs(const std::string& s) { return QString::fromStdString(s); }
QString heads_name(std::size_t c) {
    return QString::fromUtf8(core::kCategoryNames[c].data(), static_cast<qsizetype>(core::kCategoryNames[c].size()));
}
}  // namespace

MainWindow::MainWindow(WindowOptions options, QWidget* parent)
    : QMainWindow(parent), options_(std::move(options)) {
    setWindowTitle(tr("consentrig — bench control"));
    model_ = new EgressModel(this, options_.capacity);
    filter_ = new EgressFilter(this);
    filter_->setSourceModel(model_);
    controller_ = new BenchController(model_, this);
    controller_->set_out_dir(options_.out_dir);

    auto* left = new QWidget;
    auto* lv = new QVBoxLayout(left);
    lv->setContentsMargins(0, 0, 0, 0);
    lv->addWidget(build_connect_panel());
    lv->addWidget(build_controls_panel(), 1);
    auto* left_scroll = new QScrollArea;
    left_scroll->setWidget(left);
    left_scroll->setWidgetResizable(true);
    left_scroll->setMinimumWidth(450);

    auto* split = new QSplitter(Qt::Horizontal);
    split->setObjectName("mainSplit");
    split->addWidget(left_scroll);
    split->addWidget(build_egress_panel());
    split->setStretchFactor(1, 1);
    setCentralWidget(split);

    view_menu_ = menuBar()->addMenu(tr("&View"));
    add_panel(build_state_dock(), Qt::RightDockWidgetArea);
    timeline_dock_ = build_timeline_dock();
    add_panel(timeline_dock_, Qt::BottomDockWidgetArea);
    {
        ScenarioPanelOptions so;  // the Scenarios dock (gui/scenario_panel.hpp), tabbed with the timeline
        so.use_settings = options_.restore_state;
        so.reconnect = [this](const QString& port) { connect_port(port); };
        auto* scenarios = new ScenarioPanel(controller_, std::move(so), this);
        add_panel(scenarios, Qt::BottomDockWidgetArea);
        tabifyDockWidget(timeline_dock_, scenarios);
        timeline_dock_->raise();
    }
    apply_palette();

    connect(controller_, &BenchController::connected, this, [this](const QString& summary) {
        identity_->setText(summary);
        set_connected_ui(true);
        rebuild_consent_table();
        statusBar()->showMessage(tr("connected; capturing to %1").arg(qs(controller_->trace_path().string())));
    });
    connect(controller_, &BenchController::connect_failed, this, [this](const QString& err) {
        identity_->setText(tr("not connected"));
        set_connected_ui(false);
        statusBar()->showMessage(tr("connect failed: %1").arg(err));
    });
    connect(controller_, &BenchController::disconnected, this, [this] {
        set_connected_ui(false);
        statusBar()->showMessage(tr("disconnected; trace written to %1").arg(qs(controller_->trace_path().string())));
    });
    connect(controller_, &BenchController::link_event, this, [this](const QString& t) {
        statusBar()->showMessage(t);
        log_->appendPlainText(QDateTime::currentDateTime().toString("HH:mm:ss.zzz ") + t);
    });
    connect(controller_, &BenchController::command_done, this, [this](const QString& op, bool ok, const QString& err) {
        statusBar()->showMessage(ok ? tr("%1: ok").arg(op) : tr("%1 failed: %2").arg(op, err), 5000);
    });
    connect(controller_, &BenchController::board_log, this, [this](const QString& l) { log_->appendPlainText(l); });
    connect(controller_, &BenchController::status, this, [this](const QString& t) { statusBar()->showMessage(t); });

    auto* health_timer = new QTimer(this);
    connect(health_timer, &QTimer::timeout, this, &MainWindow::refresh_health);
    connect(health_timer, &QTimer::timeout, this, &MainWindow::refresh_live);
    health_timer->start(250);

    // shortcuts for the common actions
    auto add = [this](const QKeySequence& k, auto f) {
        auto* s = new QShortcut(k, this);
        connect(s, &QShortcut::activated, this, f);
    };
    add(QKeySequence(Qt::CTRL | Qt::Key_E), [this] { start_emulated(kind_->currentText(), profile_->currentText(), selected_emulator()); });
    add(QKeySequence(Qt::CTRL | Qt::Key_D), [this] { disconnect_board(); });
    add(QKeySequence(Qt::CTRL | Qt::Key_F), [this] { filter_edit_->setFocus(); filter_edit_->selectAll(); });
    add(QKeySequence(Qt::CTRL | Qt::Key_L), [this] { leaks_only_->toggle(); });
    add(QKeySequence(Qt::Key_F5), [this] { refresh_ports(); });
    add(QKeySequence(Qt::CTRL | Qt::Key_Return), [this] { send_interaction(); });
    add(QKeySequence(Qt::CTRL | Qt::Key_U), [this] { controller_->set_link(selected_recipient(link_recipient_), false); });
    add(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_U), [this] { controller_->set_link(selected_recipient(link_recipient_), true); });
    add(QKeySequence(Qt::CTRL | Qt::Key_N), [this] { controller_->set_network(false); });
    add(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_N), [this] { controller_->set_network(true); });
    add(QKeySequence(Qt::Key_Space), [this] {
        if (!filter_edit_->hasFocus()) pause_->toggle();
    });

    set_connected_ui(false);
    resize(1600, 980);
    resizeDocks({timeline_dock_}, {300}, Qt::Vertical);
    resizeDocks({findChild<QDockWidget*>("stateDock")}, {430}, Qt::Horizontal);
    if (options_.restore_state) {
        QSettings s;
        restoreGeometry(s.value("window/geometry").toByteArray());
        restoreState(s.value("window/docks").toByteArray());
        split->restoreState(s.value("window/split").toByteArray());
        kind_->setCurrentText(s.value("connect/kind", kind_->currentText()).toString());
        if (s.value("connect/qemu").toBool() && qemu_available()) emulator_->setCurrentIndex(1);
        profile_->setCurrentText(s.value("connect/profile", profile_->currentText()).toString());
        path_->setText(s.value("connect/path").toString());
    }
}

MainWindow::~MainWindow() {
    // the controller writes out the capture into the model and trace first; the model goes after
    delete controller_;
    controller_ = nullptr;
}

void MainWindow::closeEvent(QCloseEvent* e) {
    if (options_.restore_state) {
        QSettings s;
        s.setValue("window/geometry", saveGeometry());
        s.setValue("window/docks", saveState());
        if (auto* split = findChild<QSplitter*>("mainSplit")) s.setValue("window/split", split->saveState());
        s.setValue("connect/kind", kind_->currentText());
        s.setValue("connect/qemu", selected_emulator() == Emulator::qemu);
        s.setValue("connect/profile", profile_->currentText());
        s.setValue("connect/path", path_->text());
    }
    controller_->flush_now();  // the trace on disk has everything that arrived
    QMainWindow::closeEvent(e);
}

void MainWindow::changeEvent(QEvent* e) {
    if (e->type() == QEvent::PaletteChange || e->type() == QEvent::ApplicationPaletteChange) apply_palette();
    QMainWindow::changeEvent(e);
}

void MainWindow::apply_palette() {
    model_->set_leak_row(colors(palette()).leak_row);
    if (table_) table_->viewport()->update();
}

void MainWindow::add_panel(QDockWidget* dock, Qt::DockWidgetArea area) {
    addDockWidget(area, dock);
    view_menu_->addAction(dock->toggleViewAction());
}

// ---- connect --------------------------------------------------------------------------------

QWidget* MainWindow::build_connect_panel() {
    auto* box = new QGroupBox(tr("Board"));
    auto* form = new QFormLayout(box);
    ports_ = new QComboBox;
    ports_->setObjectName("ports");
    auto* refresh = new QPushButton(tr("Refresh"));
    refresh->setToolTip(tr("List serial ports again (F5)"));
    connect(refresh, &QPushButton::clicked, this, &MainWindow::refresh_ports);
    auto* prow = new QHBoxLayout;
    prow->addWidget(ports_, 1);
    prow->addWidget(refresh);
    form->addRow(tr("Serial port"), prow);
    path_ = new QLineEdit;
    path_->setObjectName("path");
    path_->setPlaceholderText(tr("or a path: /dev/pts/7, /dev/ttyUSB0"));
    form->addRow(tr("Path"), path_);
    connect(ports_, &QComboBox::activated, this, [this](int i) {
        const QString p = ports_->itemData(i).toString();
        if (!p.isEmpty()) path_->setText(p);
    });
    connect_btn_ = new QPushButton(tr("Connect"));
    connect_btn_->setObjectName("connect");
    connect(connect_btn_, &QPushButton::clicked, this, [this] { connect_port(path_->text().trimmed()); });
    form->addRow(QString(), connect_btn_);

    kind_ = new QComboBox;
    kind_->setObjectName("kind");
    kind_->addItems({"thermostat", "lock"});
    profile_ = new QComboBox;
    profile_->setObjectName("profile");
    profile_->addItems(kProfiles);
    emulator_ = new QComboBox;
    emulator_->setObjectName("emulator");
    emulator_->addItem(tr("host stub"), static_cast<int>(Emulator::host_stub));
    emulator_->addItem(tr("QEMU Cortex-M3"), static_cast<int>(Emulator::qemu));
    if (!qemu_available()) {
        // an item that cannot be chosen, saying why
        emulator_->setItemData(1, 0, Qt::UserRole - 1);
        emulator_->setItemData(1, tr("needs qemu-system-arm and the cross-built board.elf (scripts/bootstrap, docs/m3-board.md)"),
                               Qt::ToolTipRole);
    } else {
        emulator_->setItemData(1, tr("board.elf on qemu-system-arm mps2-an385, its sensors and relays served by a plant over Modbus"),
                               Qt::ToolTipRole);
    }
    auto* erow = new QHBoxLayout;
    erow->addWidget(emulator_);
    erow->addWidget(kind_);
    erow->addWidget(profile_, 1);
    form->addRow(tr("Emulated"), erow);
    emulate_btn_ = new QPushButton(tr("Start emulated board"));
    emulate_btn_->setObjectName("emulate");
    emulate_btn_->setToolTip(tr("Start a consentrig-board host stub on a pty and connect (Ctrl+E)"));
    connect(emulate_btn_, &QPushButton::clicked, this, [this] { start_emulated(kind_->currentText(), profile_->currentText(), selected_emulator()); });
    disconnect_btn_ = new QPushButton(tr("Disconnect"));
    disconnect_btn_->setObjectName("disconnect");
    disconnect_btn_->setToolTip(tr("Ctrl+D"));
    connect(disconnect_btn_, &QPushButton::clicked, this, &MainWindow::disconnect_board);
    auto* brow = new QHBoxLayout;
    brow->addWidget(emulate_btn_, 1);
    brow->addWidget(disconnect_btn_);
    form->addRow(QString(), brow);

    identity_ = new QLabel(tr("not connected"));
    identity_->setObjectName("identity");
    identity_->setWordWrap(true);
    identity_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    form->addRow(tr("Identity"), identity_);
    health_ = new QLabel;
    health_->setObjectName("health");
    health_->setWordWrap(true);
    form->addRow(tr("Link"), health_);
    refresh_ports();
    return box;
}

void MainWindow::refresh_ports() {
    ports_->clear();
    auto list = rig::list_ports();
    if (!list) {
        ports_->addItem(tr("(cannot list ports: %1)").arg(qs(list.error().message)));
        return;
    }
    if (list->empty()) ports_->addItem(tr("(no serial ports; type a pty path or start an emulated board)"));
    for (const auto& p : *list) {
        QString text = qs(p.name);
        if (!p.vid_pid().empty()) text += "  " + qs(p.vid_pid());
        if (!p.serial.empty()) text += "  serial " + qs(p.serial);
        text += "  " + (p.description.empty() ? qs(p.transport) : qs(p.description));
        ports_->addItem(text, qs(p.name));
    }
}

void MainWindow::connect_port(const QString& path) {
    if (path.isEmpty()) {
        statusBar()->showMessage(tr("choose a serial port or type a path"));
        return;
    }
    ConnectOptions o;
    o.port = path.toStdString();
    if (auto* s = findChild<ScenarioPanel*>()) s->set_board_port(path);  // a bench run may borrow it
    identity_->setText(tr("connecting to %1…").arg(path));
    set_connected_ui(false);
    connect_btn_->setEnabled(false);
    emulate_btn_->setEnabled(false);
    controller_->connect_board(o);
}

bool MainWindow::qemu_available() { return !rig::default_qemu_program().empty() && !rig::default_m3_image().empty(); }

Emulator MainWindow::selected_emulator() const { return static_cast<Emulator>(emulator_->currentData().toInt()); }

void MainWindow::start_emulated(const QString& kind, const QString& profile, Emulator emulator) {
    ConnectOptions o;
    o.emulator = emulator;
    emulator_->setCurrentIndex(emulator_->findData(static_cast<int>(emulator)));
    o.kind = kind.toStdString();
    o.profile = profile.toStdString();
    o.stub_args = options_.stub_args;
    o.stub_program = options_.stub_program;
    kind_->setCurrentText(kind);
    profile_->setCurrentText(profile);
    live_profile_->setCurrentText(profile);
    identity_->setText(tr("starting an emulated %1 (%2) on %3…").arg(kind, profile, emulator_->currentText()));
    connect_btn_->setEnabled(false);
    emulate_btn_->setEnabled(false);
    controller_->connect_board(o);
}

void MainWindow::disconnect_board() { controller_->disconnect_board(); }

void MainWindow::set_connected_ui(bool on) {
    controls_->setEnabled(on);
    disconnect_btn_->setEnabled(on);
    connect_btn_->setEnabled(!on && !controller_->busy());
    emulate_btn_->setEnabled(!on && !controller_->busy());
}

void MainWindow::refresh_health() {
    const Health h = controller_->health();
    const auto& c = h.counters;
    QString seen = tr("never");
    if (h.last_seen > 0) {
        const double ago = static_cast<double>(rig::wall_now_ms() - h.last_seen) / 1000.0;
        seen = tr("%1 s ago").arg(ago, 0, 'f', 1);
    }
    health_->setText(tr("%1 · %2 frames · %3 bad CRC · %4 dropped · %5 lost by sequence · last seen %6\n"
                        "%7 records captured · %8 findings · %9 messages (%10 shown)")
                         .arg(h.connected ? tr("up") : (controller_->busy() ? tr("DOWN") : tr("closed")))
                         .arg(c.frames)
                         .arg(c.bad_crc)
                         .arg(c.dropped())
                         .arg(c.lost_by_sequence_gap)
                         .arg(seen)
                         .arg(h.records)
                         .arg(h.findings)
                         .arg(model_->total())
                         .arg(model_->rowCount()));
    if (!controller_->busy()) set_connected_ui(false);
}

// ---- live egress ----------------------------------------------------------------------------

QWidget* MainWindow::build_egress_panel() {
    auto* w = new QWidget;
    auto* v = new QVBoxLayout(w);
    v->setContentsMargins(0, 0, 0, 0);
    auto* bar = new QHBoxLayout;
    filter_edit_ = new QLineEdit;
    filter_edit_->setObjectName("filter");
    filter_edit_->setPlaceholderText(tr("Filter: recipient, format, category, verdict, body text (Ctrl+F)"));
    filter_edit_->setClearButtonEnabled(true);
    connect(filter_edit_, &QLineEdit::textChanged, filter_, &EgressFilter::set_text);
    leaks_only_ = new QCheckBox(tr("Leaks only"));
    leaks_only_->setObjectName("leaksOnly");
    leaks_only_->setToolTip(tr("Ctrl+L"));
    connect(leaks_only_, &QCheckBox::toggled, filter_, &EgressFilter::set_leaks_only);
    follow_ = new QCheckBox(tr("Follow"));
    follow_->setObjectName("follow");
    follow_->setChecked(true);
    pause_ = new QPushButton(tr("Pause"));
    pause_->setObjectName("pause");
    pause_->setCheckable(true);
    pause_->setToolTip(tr("Hold new rows back (they are still captured); Space"));
    connect(pause_, &QPushButton::toggled, this, [this](bool on) {
        model_->set_paused(on);
        pause_->setText(on ? tr("Resume") : tr("Pause"));
    });
    bar->addWidget(filter_edit_, 1);
    bar->addWidget(leaks_only_);
    bar->addWidget(follow_);
    bar->addWidget(pause_);
    v->addLayout(bar);

    table_ = new QTableView;
    table_->setObjectName("egress");
    table_->setModel(filter_);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->verticalHeader()->setVisible(false);
    table_->verticalHeader()->setDefaultSectionSize(table_->fontMetrics().height() + 6);
    table_->horizontalHeader()->setStretchLastSection(true);
    table_->setColumnWidth(EgressModel::kTime, 100);
    table_->setColumnWidth(EgressModel::kDevice, 80);
    table_->setColumnWidth(EgressModel::kRecipient, 110);
    table_->setColumnWidth(EgressModel::kFormat, 60);
    table_->setColumnWidth(EgressModel::kCategories, 260);
    table_->setWordWrap(false);
    connect(filter_, &QAbstractItemModel::rowsInserted, this, [this] {
        if (follow_->isChecked()) table_->scrollToBottom();
    });
    connect(table_->selectionModel(), &QItemSelectionModel::currentRowChanged, this, &MainWindow::show_detail);

    const QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);
    auto make_text = [&](const char* name) {
        auto* t = new QPlainTextEdit;
        t->setObjectName(name);
        t->setReadOnly(true);
        t->setFont(mono);
        return t;
    };
    json_ = make_text("detailJson");
    hex_ = make_text("detailHex");
    reasons_ = make_text("detailReasons");
    log_ = make_text("boardLog");
    log_->setMaximumBlockCount(2000);
    auto* tabs = new QTabWidget;
    tabs->addTab(json_, tr("Body (JSON)"));
    tabs->addTab(hex_, tr("Frame (hex)"));
    tabs->addTab(reasons_, tr("Verdict"));
    tabs->addTab(log_, tr("Board log"));

    auto* split = new QSplitter(Qt::Vertical);
    split->addWidget(table_);
    split->addWidget(tabs);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 1);
    v->addWidget(split, 1);
    return w;
}

void MainWindow::show_detail() {
    const QModelIndex i = filter_->mapToSource(table_->currentIndex());
    if (!i.isValid()) return;
    json_->setPlainText(i.data(EgressModel::kBodyRole).toString());
    hex_->setPlainText(i.data(EgressModel::kRawHexRole).toString());
    const QString reasons = i.data(EgressModel::kReasonsRole).toString();
    reasons_->setPlainText(reasons.isEmpty() ? model_->index(i.row(), EgressModel::kVerdict).data().toString() : reasons);
}

// ---- controls -------------------------------------------------------------------------------

QWidget* MainWindow::build_controls_panel() {
    controls_ = new QWidget;
    auto* v = new QVBoxLayout(controls_);
    v->setContentsMargins(0, 0, 0, 0);

    auto* ia = new QGroupBox(tr("Customer interaction"));
    auto* f = new QFormLayout(ia);
    via_ = new QComboBox;
    via_->setObjectName("via");
    via_->addItems({"voice", "app", "physical"});
    ia_recipient_ = new QComboBox;
    ia_recipient_->setObjectName("iaRecipient");
    ia_recipient_->setEditable(true);
    action_ = new QComboBox;
    action_->setObjectName("action");
    action_->addItems({"query", "set_setpoint", "set_mode", "lock", "unlock"});
    value_ = new QDoubleSpinBox;
    value_->setObjectName("value");
    value_->setRange(5, 35);
    value_->setSingleStep(0.5);
    value_->setValue(21);
    value_->setSuffix(" °C");
    mode_ = new QComboBox;
    mode_->setObjectName("mode");
    mode_->addItems({"heat", "eco", "auto", "cool", "off"});
    f->addRow(tr("Via"), via_);
    f->addRow(tr("Recipient"), ia_recipient_);
    f->addRow(tr("Action"), action_);
    f->addRow(tr("Setpoint"), value_);
    f->addRow(tr("Mode"), mode_);
    connect(via_, &QComboBox::currentTextChanged, this, [this](const QString& t) { ia_recipient_->setEnabled(t != "physical"); });
    auto* send = new QPushButton(tr("Send interaction"));
    send->setObjectName("sendInteraction");
    send->setToolTip(tr("Ctrl+Return"));
    connect(send, &QPushButton::clicked, this, &MainWindow::send_interaction);
    f->addRow(QString(), send);
    v->addWidget(ia);

    auto* lk = new QGroupBox(tr("Account link, network, profile"));
    auto* lf = new QFormLayout(lk);
    link_recipient_ = new QComboBox;
    link_recipient_->setObjectName("linkRecipient");
    link_recipient_->setEditable(true);
    auto* link = new QPushButton(tr("Link"));
    link->setObjectName("link");
    link->setToolTip(tr("Ctrl+Shift+U"));
    auto* unlink = new QPushButton(tr("Unlink"));
    unlink->setObjectName("unlink");
    unlink->setToolTip(tr("Ctrl+U"));
    connect(link, &QPushButton::clicked, this, [this] { controller_->set_link(selected_recipient(link_recipient_), true); });
    connect(unlink, &QPushButton::clicked, this, [this] { controller_->set_link(selected_recipient(link_recipient_), false); });
    auto* lrow = new QHBoxLayout;
    lrow->addWidget(link_recipient_, 1);
    lrow->addWidget(link);
    lrow->addWidget(unlink);
    lf->addRow(tr("Partner"), lrow);
    auto* up = new QPushButton(tr("Network up"));
    up->setObjectName("networkUp");
    up->setToolTip(tr("Ctrl+Shift+N"));
    auto* down = new QPushButton(tr("Network down"));
    down->setObjectName("networkDown");
    down->setToolTip(tr("Ctrl+N"));
    connect(up, &QPushButton::clicked, this, [this] { controller_->set_network(true); });
    connect(down, &QPushButton::clicked, this, [this] { controller_->set_network(false); });
    auto* nrow = new QHBoxLayout;
    nrow->addWidget(up);
    nrow->addWidget(down);
    lf->addRow(tr("Network"), nrow);
    live_profile_ = new QComboBox;
    live_profile_->setObjectName("liveProfile");
    live_profile_->addItems(kProfiles);
    auto* apply = new QPushButton(tr("Apply"));
    apply->setObjectName("applyProfile");
    connect(apply, &QPushButton::clicked, this, [this] { controller_->set_profile(live_profile_->currentText().toStdString()); });
    auto* prow = new QHBoxLayout;
    prow->addWidget(live_profile_, 1);
    prow->addWidget(apply);
    lf->addRow(tr("Profile"), prow);
    v->addWidget(lk);

    v->addWidget(build_env_panel());

    auto* cg = new QGroupBox(tr("Consent (recipient × category)"));
    auto* cv = new QVBoxLayout(cg);
    consent_ = new QTableWidget;
    consent_->setObjectName("consent");
    consent_->setColumnCount(static_cast<int>(core::kCategoryCount));
    QStringList heads;
    for (const auto& n : core::kCategoryNames) heads << QString::fromUtf8(n.data(), static_cast<qsizetype>(n.size()));
    consent_->setHorizontalHeaderLabels(heads);
    consent_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    consent_->setMinimumHeight(110);
    connect(consent_, &QTableWidget::itemChanged, this, [this](QTableWidgetItem* item) {
        if (consent_updating_) return;
        const std::string recipient = consent_->verticalHeaderItem(item->row())->text().toStdString();
        controller_->set_consent(recipient, static_cast<core::Category>(item->column()), item->checkState() == Qt::Checked);
    });
    cv->addWidget(consent_);
    v->addWidget(cg, 1);
    rebuild_consent_table();
    return controls_;
}

void MainWindow::rebuild_consent_table() {
    const PolicyView pv = controller_->policy_view();
    consent_updating_ = true;
    consent_->setRowCount(static_cast<int>(pv.recipients.size()));
    QStringList names;
    for (std::size_t r = 0; r < pv.recipients.size(); ++r) {
        names << qs(pv.recipients[r]);
        consent_->setVerticalHeaderItem(static_cast<int>(r), new QTableWidgetItem(qs(pv.recipients[r])));
        for (std::size_t c = 0; c < core::kCategoryCount; ++c) {
            auto* item = new QTableWidgetItem;
            item->setFlags(Qt::ItemIsUserCheckable | Qt::ItemIsEnabled);
            item->setCheckState(pv.listed[r].test(c) ? Qt::Checked : Qt::Unchecked);
            item->setToolTip(tr("%1 may receive %2 (as the policy grants it); uncheck to withdraw")
                                 .arg(qs(pv.recipients[r]), heads_name(c)));
            consent_->setItem(static_cast<int>(r), static_cast<int>(c), item);
        }
    }
    consent_updating_ = false;
    for (auto* box : {ia_recipient_, link_recipient_}) {
        const QString cur = box->currentText();
        box->clear();
        box->addItems(names);
        if (!cur.isEmpty() && names.contains(cur)) box->setCurrentText(cur);
    }
}

std::string MainWindow::selected_recipient(QComboBox* box) const { return box->currentText().trimmed().toStdString(); }

void MainWindow::send_interaction() {
    const std::string action = action_->currentText().toStdString();
    std::optional<double> value;
    if (action == "set_setpoint") value = value_->value();
    controller_->interact(via_->currentText().toStdString(), action, selected_recipient(ia_recipient_), value,
                          mode_->currentText().toStdString());
}

// ---- environment ----------------------------------------------------------------------------

QWidget* MainWindow::build_env_panel() {
    auto* box = new QGroupBox(tr("Environment (env: the plant's stimuli)"));
    auto* f = new QFormLayout(box);
    outdoor_ = new QDoubleSpinBox;
    outdoor_->setObjectName("outdoor");
    outdoor_->setRange(-30, 45);
    outdoor_->setSingleStep(1);
    outdoor_->setValue(5);
    outdoor_->setSuffix(" °C");
    auto* set_outdoor = new QPushButton(tr("Set"));
    set_outdoor->setObjectName("setOutdoor");
    connect(set_outdoor, &QPushButton::clicked, this, [this] { controller_->set_env({outdoor_->value(), std::nullopt, std::nullopt}); });
    auto* orow = new QHBoxLayout;
    orow->addWidget(outdoor_, 1);
    orow->addWidget(set_outdoor);
    f->addRow(tr("Outdoor"), orow);
    occupied_ = new QComboBox;
    occupied_->setObjectName("occupied");
    occupied_->addItems({tr("someone home"), tr("away")});
    occupied_->setToolTip(tr("Thermostats: the occupancy sensor"));
    auto* set_occ = new QPushButton(tr("Set"));
    set_occ->setObjectName("setOccupied");
    connect(set_occ, &QPushButton::clicked, this, [this] { controller_->set_env({std::nullopt, occupied_->currentIndex() == 0, std::nullopt}); });
    auto* crow = new QHBoxLayout;
    crow->addWidget(occupied_, 1);
    crow->addWidget(set_occ);
    f->addRow(tr("Occupancy"), crow);
    door_ = new QComboBox;
    door_->setObjectName("door");
    door_->addItems({tr("closed"), tr("open")});
    door_->setToolTip(tr("Locks: the door contact"));
    auto* set_door = new QPushButton(tr("Set"));
    set_door->setObjectName("setDoor");
    connect(set_door, &QPushButton::clicked, this, [this] { controller_->set_env({std::nullopt, std::nullopt, door_->currentIndex() == 0}); });
    auto* drow = new QHBoxLayout;
    drow->addWidget(door_, 1);
    drow->addWidget(set_door);
    f->addRow(tr("Door"), drow);
    // the plant's faults (QEMU boards: the window serves their plant), as a scenario's `fault`
    auto* fault = new QComboBox;
    fault->setObjectName("plantFault");
    fault->addItems({tr("stuck sensor"), tr("sensor drift"), tr("Modbus timeout")});
    fault->setToolTip(tr("A QEMU board's plant: the temperature sensor freezes or drifts, or the plant stops "
                         "answering Modbus; the board's TRUTH and egress show the effect"));
    auto* rate = new QDoubleSpinBox;
    rate->setObjectName("driftRate");
    rate->setRange(-3600, 3600);
    rate->setValue(2);
    rate->setSuffix(" °C/h");
    rate->setToolTip(tr("Sensor drift: how fast the reading leaves the room's temperature"));
    auto* secs = new QSpinBox;
    secs->setObjectName("timeoutSeconds");
    secs->setRange(0, 86400);
    secs->setSuffix(" s");
    secs->setSpecialValueText(tr("until cleared"));
    secs->setToolTip(tr("Modbus timeout: how long the plant stays silent"));
    auto* inject = new QPushButton(tr("Inject"));
    inject->setObjectName("injectFault");
    connect(inject, &QPushButton::clicked, this, [this, fault, rate, secs] {
        controller_->set_plant_fault(static_cast<PlantFault>(fault->currentIndex()), rate->value(),
                                     core::DurationMs{secs->value()} * 1000);
    });
    auto* clear = new QPushButton(tr("Clear"));
    clear->setObjectName("clearFaults");
    connect(clear, &QPushButton::clicked, this, [this] { controller_->clear_plant_faults(); });
    auto* frow = new QHBoxLayout;
    frow->addWidget(fault, 1);
    frow->addWidget(rate);
    frow->addWidget(secs);
    f->addRow(tr("Plant fault"), frow);
    auto* brow = new QHBoxLayout;
    brow->addStretch(1);
    brow->addWidget(inject);
    brow->addWidget(clear);
    f->addRow(QString(), brow);
    return box;
}

// ---- live state -----------------------------------------------------------------------------

QDockWidget* MainWindow::build_state_dock() {
    auto* dock = new QDockWidget(tr("Live state"), this);
    dock->setObjectName("stateDock");
    dock->toggleViewAction()->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_1));
    auto* w = new QWidget;
    auto* v = new QVBoxLayout(w);
    auto* truth = new QGroupBox(tr("Board TRUTH (what the device says its state is)"));
    auto* f = new QFormLayout(truth);
    const std::pair<core::Category, QString> shown[] = {
        {core::Category::temperature, tr("Temperature")}, {core::Category::setpoint, tr("Setpoint")},
        {core::Category::hvac_mode, tr("HVAC mode")},     {core::Category::hvac_state, tr("HVAC")},
        {core::Category::occupancy, tr("Occupancy")},     {core::Category::humidity, tr("Humidity")},
        {core::Category::lock_state, tr("Lock")},         {core::Category::door_state, tr("Door")},
        {core::Category::battery, tr("Battery")},         {core::Category::connectivity, tr("Connectivity")}};
    for (const auto& [c, label] : shown) {
        auto* l = new QLabel(QStringLiteral("—"));
        l->setObjectName(QStringLiteral("truth_") + heads_name(static_cast<std::size_t>(c)));
        l->setTextInteractionFlags(Qt::TextSelectableByMouse);
        f->addRow(label, l);
        truth_labels_.emplace_back(c, l);
    }
    truth_time_ = new QLabel(tr("no TRUTH yet"));
    truth_time_->setObjectName("truthTime");
    f->addRow(tr("Reported"), truth_time_);
    v->addWidget(truth);

    auto* pg = new QGroupBox(tr("Plant (the house the board is closed against)"));
    auto* pv = new QVBoxLayout(pg);
    plant_ = new QLabel;
    plant_->setObjectName("plant");
    plant_->setWordWrap(true);
    plant_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    pv->addWidget(plant_);
    chart_ = new TrendChart(&controller_->live_state());
    pv->addWidget(chart_, 1);
    auto* span = new QComboBox;
    span->setObjectName("chartSpan");
    for (const auto& [text, ms] : {std::pair{tr("last 2 min"), 2 * 60'000}, {tr("last 10 min"), 10 * 60'000},
                                   {tr("last hour"), 60 * 60'000}, {tr("last 8 hours"), 8 * 3600'000}}) {
        span->addItem(text, ms);
    }
    span->setCurrentIndex(1);
    connect(span, &QComboBox::currentIndexChanged, this, [this, span] { chart_->set_span_ms(span->currentData().toLongLong()); });
    pv->addWidget(span);
    v->addWidget(pg, 1);
    dock->setWidget(w);
    return dock;
}

QDockWidget* MainWindow::build_timeline_dock() {
    auto* dock = new QDockWidget(tr("Consent timeline"), this);
    dock->setObjectName("timelineDock");
    dock->toggleViewAction()->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_2));
    auto* w = new QWidget;
    auto* v = new QVBoxLayout(w);
    v->setContentsMargins(4, 2, 4, 2);
    auto* bar = new QHBoxLayout;
    auto* legend = new QLabel;
    const Colors c = colors(palette());
    auto sw = [](const QColor& k, const QString& t) {
        return QStringLiteral("<span style=\"background:%1\">&nbsp;&nbsp;&nbsp;</span>&nbsp;%2&nbsp;&nbsp; ").arg(k.name(), t);
    };
    legend->setText(sw(c.consent, tr("consent held")) + sw(c.unlinked, tr("unlinked")) + sw(c.send, tr("message")) +
                    sw(c.leak, tr("leak")) + sw(c.interaction, tr("interaction")) + sw(c.physical, tr("physical interaction")) +
                    sw(c.revoke, tr("withdrawal / unlink")) +
                    sw(c.grant, tr("given back / linked")));
    bar->addWidget(legend, 1);
    auto* span = new QComboBox;
    span->setObjectName("timelineSpan");
    for (const auto& [text, ms] : {std::pair{tr("1 min"), 60'000}, {tr("5 min"), 5 * 60'000}, {tr("15 min"), 15 * 60'000},
                                   {tr("1 hour"), 60 * 60'000}, {tr("2 hours"), 2 * 3600'000}}) {
        span->addItem(text, ms);
    }
    span->setCurrentIndex(1);
    bar->addWidget(span);
    timeline_follow_ = new QCheckBox(tr("Follow"));
    timeline_follow_->setObjectName("timelineFollow");
    timeline_follow_->setChecked(true);
    bar->addWidget(timeline_follow_);
    v->addLayout(bar);

    timeline_ = new TimelineView(&controller_->timeline());
    connect(timeline_, &TimelineView::picked, this, [this](const QString& recipient, core::TimeMs t, core::DurationMs slack) {
        // select the message nearest the click in the egress table (its detail pane opens)
        const int row = model_->nearest(recipient.toStdString(), t, slack);
        if (row < 0) return;
        const QModelIndex i = filter_->mapFromSource(model_->index(row, 0));
        if (!i.isValid()) return;
        follow_->setChecked(false);
        table_->selectRow(i.row());
        table_->scrollTo(i);
    });
    auto* scroll = new QScrollArea;
    scroll->setWidget(timeline_);
    scroll->setWidgetResizable(true);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    v->addWidget(scroll, 1);
    timeline_scroll_ = new QScrollBar(Qt::Horizontal);
    timeline_scroll_->setObjectName("timelineScroll");
    timeline_scroll_->setToolTip(tr("Scroll back (up to 2 hours are kept in the window; the trace keeps all)"));
    v->addWidget(timeline_scroll_);
    connect(span, &QComboBox::currentIndexChanged, this, [this, span] {
        timeline_->set_span_ms(span->currentData().toLongLong());
        timeline_gen_ = 0;
        refresh_live();
    });
    connect(timeline_scroll_, &QScrollBar::sliderMoved, this, [this] { timeline_follow_->setChecked(false); });
    connect(timeline_scroll_, &QScrollBar::valueChanged, this, [this](int value) {
        if (!timeline_follow_->isChecked()) timeline_->set_end(controller_->timeline().start() + core::TimeMs{value} * 1000);
    });
    connect(timeline_follow_, &QCheckBox::toggled, this, [this] {
        timeline_gen_ = 0;
        refresh_live();
    });
    dock->setWidget(w);
    return dock;
}

void MainWindow::refresh_live() {
    const LiveState& st = controller_->live_state();
    for (const auto& [c, label] : truth_labels_) {
        const auto& v = st.value(c);
        QString text = QStringLiteral("—");
        if (v) {
            if (v->is_string()) text = qs(v->get<std::string>());
            else if (v->is_boolean()) text = v->get<bool>() ? tr("yes") : tr("no");
            else text = qs(v->dump());
            if (v->is_number() && (c == core::Category::temperature || c == core::Category::setpoint)) text += QStringLiteral(" °C");
            if (v->is_number() && (c == core::Category::battery || c == core::Category::humidity)) text += QStringLiteral(" %");
        }
        if (label->text() != text) label->setText(text);
    }
    if (st.truth_records() > 0) {
        truth_time_->setText(tr("%1 · %2 TRUTH frames")
                                 .arg(QDateTime::fromMSecsSinceEpoch(st.truth_t()).toString("HH:mm:ss.zzz"))
                                 .arg(st.truth_records()));
    }
    if (const auto& ps = st.plant()) {
        static const char* kBolt[] = {"unlocked", "locked", "locking", "unlocking"};
        static const char* kFault[] = {"", ", stuck", ", drifting"};
        plant_->setText(tr("plant::Plant over Modbus RTU (%1)\nroom air %2 °C (sensor %3 °C%15) · outdoor %4 °C · humidity %5 %\n"
                           "heat relay %6 · cool relay %7 · %8 · door %9 · bolt %10 · battery %11 %\n"
                           "Modbus: %12 requests, %13 exceptions, %14 unanswered")
                            .arg(ps->answering ? tr("answering") : tr("NOT answering"))
                            .arg(ps->room_c, 0, 'f', 2)
                            .arg(ps->sensor_c, 0, 'f', 2)
                            .arg(ps->outdoor_c, 0, 'f', 1)
                            .arg(ps->humidity_pct, 0, 'f', 0)
                            .arg(ps->heat ? tr("ON") : tr("off"))
                            .arg(ps->cool ? tr("ON") : tr("off"))
                            .arg(ps->occupied ? tr("occupied") : tr("away"))
                            .arg(ps->door_closed ? tr("closed") : tr("open"))
                            .arg(kBolt[static_cast<int>(ps->bolt) & 3])
                            .arg(ps->battery_pct, 0, 'f', 1)
                            .arg(ps->counters.requests)
                            .arg(ps->counters.exceptions)
                            .arg(ps->counters.dropped)
                            .arg(tr(kFault[static_cast<int>(ps->sensor_fault) % 3])));
    } else {
        plant_->setText(controller_->busy()
                            ? tr("the host stub's built-in room model (an RC model heated by the firmware's relay, "
                                 "outdoor temperature from env) — seen through the board's TRUTH")
                            : tr("not connected"));
    }
    const core::TimeMs now = std::max(controller_->timeline().now(), st.truth_t());
    chart_->set_now(now > 0 ? now : rig::wall_now_ms());

    const ConsentTimeline& tl = controller_->timeline();
    if (tl.generation() == timeline_gen_) return;
    timeline_gen_ = tl.generation();
    timeline_->relayout();
    const core::TimeMs kept_from = std::max(tl.start(), tl.now() - ConsentTimeline::kHorizonMs);
    const int lo = static_cast<int>((kept_from - tl.start()) / 1000);
    const int hi = static_cast<int>(std::max<core::TimeMs>(0, tl.now() - tl.start()) / 1000);
    timeline_scroll_->blockSignals(true);
    timeline_scroll_->setRange(lo, std::max(lo, hi));
    timeline_scroll_->setPageStep(static_cast<int>(timeline_->span_ms() / 1000));
    if (timeline_follow_->isChecked()) timeline_scroll_->setValue(hi);
    timeline_scroll_->blockSignals(false);
    // following: `now` at the right edge, or the session start at the left while it is young
    timeline_->set_end(timeline_follow_->isChecked() ? std::max(tl.now(), tl.start() + timeline_->span_ms())
                                                     : tl.start() + core::TimeMs{timeline_scroll_->value()} * 1000);
}

}  // namespace consentrig::gui
