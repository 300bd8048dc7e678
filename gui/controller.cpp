#include "gui/controller.hpp"

#include <QMetaObject>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iterator>
#include <limits>

#include "gui/egress_model.hpp"
#include "plant/server.hpp"
#include "rig/link.hpp"
#include "rig/qemu.hpp"

namespace consentrig::gui {

/// One connected board: the session and, for an emulated board, its host stub. Shared with the
/// worker's jobs so a command in flight never outlives its session.
struct BenchController::Board {
    std::optional<rig::StubProcess> stub;
    std::optional<rig::QemuProcess> qemu;
    rig::QemuOptions qemu_options;        ///< to start it again when it dies (the port returns)
    std::shared_ptr<plant::Plant> plant;  ///< QEMU boards: the house, served on UART1
    std::unique_ptr<plant::Server> plant_server;
    std::unique_ptr<rig::BoardSession> session;
    ~Board() {
        if (session) session->stop();
        if (stub) stub->terminate();
        if (qemu) qemu->terminate();
        if (plant_server) plant_server->stop();
    }
};

BenchController::BenchController(EgressModel* model, QObject* parent)
    : QObject(parent),
      model_(model),
      judge_([this] { QMetaObject::invokeMethod(this, [this] { apply_batches(); }, Qt::QueuedConnection); }) {
    if (auto t = core::Taxonomy::builtin()) taxonomy_.emplace(std::move(*t));
    if (auto p = default_policy()) policy_ = std::move(*p);
    worker_ = std::thread([this] { worker_loop(); });
    timer_.setInterval(50);
    connect(&timer_, &QTimer::timeout, this, &BenchController::tick);
    timer_.start();
}

BenchController::~BenchController() {
    timer_.stop();
    disconnect_board();
    stop_worker();
    finish_session();
}

core::Result<core::Policy> BenchController::default_policy() {
    // the host stub's default partners (firmware-stubs/host, docs/bench.md)
    return core::parse_policy(
        "timezone: UTC\n"
        "consent:\n"
        "  - {recipient: voice-partner, categories: [all], basis: interaction, within: 120s}\n"
        "  - {recipient: vendor-cloud, categories: [all], basis: always}\n",
        "<consentrig-gui default policy>");
}

void BenchController::set_policy(core::Policy policy) { policy_ = std::move(policy); }

PolicyView BenchController::policy_view() const {
    PolicyView v;
    for (const auto& g : policy_.grants()) {
        auto it = std::find(v.recipients.begin(), v.recipients.end(), g.recipient);
        if (it == v.recipients.end()) {
            v.recipients.push_back(g.recipient);
            v.listed.emplace_back();
            it = v.recipients.end() - 1;
        }
        if (g.basis != core::Basis::never) v.listed[static_cast<std::size_t>(it - v.recipients.begin())] |= g.categories;
    }
    return v;
}

// ---- worker ---------------------------------------------------------------------------------

void BenchController::run_on_worker(std::function<void()> job) {
    {
        std::lock_guard lock(wm_);
        jobs_.push_back(std::move(job));
    }
    wcv_.notify_one();
}

void BenchController::worker_loop() {
    for (;;) {
        std::function<void()> job;
        {
            std::unique_lock lock(wm_);
            wcv_.wait(lock, [&] { return wstop_ || !jobs_.empty(); });
            if (jobs_.empty()) return;  // stopping, nothing left
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        job();
    }
}

void BenchController::stop_worker() {
    {
        std::lock_guard lock(wm_);
        wstop_ = true;
    }
    wcv_.notify_one();
    if (worker_.joinable()) worker_.join();
}

// ---- connect / disconnect -------------------------------------------------------------------

bool BenchController::is_connected() const { return board_ && board_->session->connected(); }

Health BenchController::health() const {
    Health h;
    if (board_) {
        h.connected = board_->session->connected();
        h.counters = board_->session->counters();
    }
    {
        std::lock_guard lock(pm_);
        h.last_seen = last_seen_;
        h.lost_events = lost_events_;
    }
    h.records = judge_.records();
    h.findings = judge_.findings();
    return h;
}

namespace {

/// "20261129T181502Z": a UTC time for file names.
std::string file_stamp(std::chrono::system_clock::time_point t) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    ::gmtime_r(&tt, &tm);
    char buf[32];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return std::string(buf, n);
}

/// dir/<stem>-<stamp>.db, with -2, -3 … when that name is taken.
std::filesystem::path free_name(const std::filesystem::path& dir, const std::string& stem, const std::string& stamp) {
    std::filesystem::path p = dir / (stem + "-" + stamp + ".db");
    for (int i = 2; std::filesystem::exists(p); ++i) p = dir / (stem + "-" + stamp + "-" + std::to_string(i) + ".db");
    return p;
}

}  // namespace

core::Result<std::string> BenchController::keep_previous_capture() const {
    namespace fs = std::filesystem;
    std::error_code ec;
    std::string said;
    if (fs::exists(journal_path())) {
        // A session that did not close (the window crashed or was killed): its journal has
        // every record that arrived; its trace.db only what was committed (kept below as well).
        const fs::path recovered = free_name(out_dir_, "trace-recovered", file_stamp(std::chrono::system_clock::now()));
        auto r = core::recover_journal(journal_path(), recovered);
        if (!r) {
            return core::Error{"a previous session did not close and its capture journal could not be recovered (" +
                               r.error().message + "); move " + journal_path().string() +
                               " away to start a new capture here"};
        }
        fs::remove(journal_path(), ec);
        said = "a session that did not close was recovered: " + std::to_string(r->records) + " records in " +
               recovered.string() + (r->dropped_partial_line ? " (its last, half-written line left out)" : "");
    }
    const fs::path db = trace_path();
    if (!fs::exists(db)) return said;
    // The previous session's capture is evidence: keep it under the time it was last written.
    const auto mtime = fs::last_write_time(db, ec);
    const auto written = ec ? std::chrono::system_clock::now()
                            : std::chrono::time_point_cast<std::chrono::system_clock::duration>(
                                  std::chrono::file_clock::to_sys(mtime));
    const fs::path kept = free_name(out_dir_, "trace", file_stamp(written));
    fs::rename(db, kept, ec);
    if (ec) return core::Error{"cannot keep the previous capture " + db.string() + " as " + kept.string() + ": " + ec.message()};
    for (const char* suffix : {"-wal", "-shm"}) {
        const fs::path side = db.string() + suffix;
        if (fs::exists(side)) fs::rename(side, kept.string() + suffix, ec);
    }
    return (said.empty() ? "" : said + "; ") + "the previous capture is kept as " + kept.string();
}

void BenchController::connect_board(const ConnectOptions& options) {
    if (busy()) {
        emit connect_failed(tr("already connected or connecting"));
        return;
    }
    if (!taxonomy_) {
        emit connect_failed(tr("the built-in taxonomy did not load"));
        return;
    }
    std::error_code ec;
    std::filesystem::create_directories(out_dir_, ec);
    auto kept = keep_previous_capture();
    if (!kept) {
        emit connect_failed(QString::fromStdString(kept.error().message));
        return;
    }
    if (!kept->empty()) emit status(QString::fromStdString(*kept));
    auto store = core::TraceStore::create(trace_path());
    if (!store) {
        emit connect_failed(QString::fromStdString(store.error().message));
        return;
    }
    store->set_batch(64);
    core::TraceMeta meta;
    meta.scenario = "consentrig-gui";
    meta.source = "bench";
    meta.start = rig::wall_now_ms();
    meta.timezone = policy_.timezone_name();
    if (auto st = store->write_meta(meta); !st) {
        emit connect_failed(QString::fromStdString(st.error().message));
        return;
    }
    auto journal = core::TraceJournal::create(journal_path(), meta);
    if (!journal) {
        emit connect_failed(QString::fromStdString(journal.error().message));
        return;
    }
    (void)store->commit();
    auto oracle = std::make_unique<core::Oracle>(policy_, *taxonomy_);
    oracle->begin(meta);
    state_cmds_.clear();
    model_->clear();
    live_.clear();
    timeline_.reset(*meta.start, &policy_);
    {
        std::lock_guard lock(pm_);
        logs_in_.clear();
        last_seen_ = 0;
        lost_at_.reset();
        lost_events_ = 0;
    }
    judge_.begin(std::move(*store), std::move(*journal), std::move(oracle), *meta.start, policy_, *taxonomy_);
    session_open_ = true;
    connecting_ = true;
    const std::uint64_t gen = ++generation_;
    run_on_worker([this, options, gen] {
        auto b = std::make_shared<Board>();
        std::string port = options.port;
        auto fail = [this, gen](const std::string& message) {
            const QString err = QString::fromStdString(message);
            QMetaObject::invokeMethod(this, [this, err, gen] { connect_result(gen, nullptr, {}, err); }, Qt::QueuedConnection);
        };
        if (port.empty() && options.emulator == Emulator::qemu) {
            // QEMU starts paused; the plant answers on UART1 before the CPU runs, so the
            // board's first Modbus poll is answered (docs/m3-board.md)
            std::vector<std::string> args{"--kind", options.kind, "--profile", options.profile};
            args.insert(args.end(), options.stub_args.begin(), options.stub_args.end());
            auto setup = rig::m3_setup(args, {"consentrig-gui", true});
            if (!setup) return fail(setup.error().message);
            rig::QemuOptions qo;
            qo.program = options.qemu_program;
            qo.image = options.m3_image;
            qo.config_text = std::move(setup->config);
            qo.work_dir = out_dir_;
            qo.name = "qemu-board";
            auto q = rig::QemuProcess::spawn(qo);
            if (!q) return fail(q.error().message);
            b->qemu.emplace(std::move(*q));
            b->qemu_options = std::move(qo);
            b->plant = std::make_shared<plant::Plant>(setup->plant, rig::wall_now_ms());
            // by the stable links: a restarted QEMU (new ptys) is found where both look
            const std::string plant_link = b->qemu->plant_link().string();
            auto server = plant::Server::rtu(plant_link);
            if (!server) return fail("plant on " + plant_link + ": " + server.error().message);
            b->plant_server = std::move(*server);
            b->plant_server->add_plant(plant::kDefaultUnitId, b->plant);
            if (auto st = b->plant_server->start(); !st) return fail("plant: " + st.error().message);
            if (auto st = b->qemu->cont(); !st) return fail(st.error().message);
            port = b->qemu->link().string();
        } else if (port.empty()) {
            std::vector<std::string> args{"--kind", options.kind, "--profile", options.profile};
            args.insert(args.end(), options.stub_args.begin(), options.stub_args.end());
            const std::string program = options.stub_program.empty() ? rig::default_stub_program() : options.stub_program;
            auto stub = rig::StubProcess::spawn(program, args, (out_dir_ / "board-stderr.log").string());
            if (!stub) return fail(stub.error().message);
            b->stub.emplace(std::move(*stub));
            port = b->stub->pty();
        }
        rig::LinkOptions lo;
        lo.path = port;
        lo.baud = options.baud;
        b->session = std::make_unique<rig::BoardSession>(rig::make_link(lo));
        rig::BoardSession* s = b->session.get();
        s->on_capture([this, s](rig::Capture&& c) {
            {
                std::lock_guard lock(pm_);
                last_seen_ = c.arrival_ms;
                if (c.type == rig::FrameType::log) {
                    logs_in_.push_back(c.level + ": " + c.msg);
                    return;
                }
            }
            auto rec = rig::to_record(c, s->info().device_id, c.arrival_ms);
            if (!rec) return;
            Captured p;
            p.egress = c.type == rig::FrameType::uplink;
            if (p.egress) {
                p.frame_payload = std::move(c.payload);
                p.frame_seq = c.seq;
            }
            p.record = std::move(*rec);
            judge_.submit(std::move(p));
        });
        s->on_link_event([this, gen](const rig::LinkEvent& e) {
            QString text;
            {
                std::lock_guard lock(pm_);
                if (e.kind == rig::LinkEvent::Kind::lost) {
                    lost_at_ = e.at_ms;
                    ++lost_events_;
                    text = tr("link lost: %1").arg(QString::fromStdString(e.reason));
                } else {
                    if (lost_at_) {
                        Captured p;
                        p.record.kind = core::RecordKind::gap;
                        p.record.device = e.info.device_id;
                        p.record.t = *lost_at_;
                        p.record.t_end = e.at_ms;
                        p.record.payload = "board disconnected";
                        judge_.submit(std::move(p));
                        lost_at_.reset();
                    }
                    text = tr("link restored: %1").arg(QString::fromStdString(e.info.device_id));
                }
            }
            const bool restored = e.kind == rig::LinkEvent::Kind::restored;
            QMetaObject::invokeMethod(
                this,
                [this, text, restored, gen] {
                    if (gen != generation_) return;
                    emit link_event(text);
                    if (restored) reapply();
                },
                Qt::QueuedConnection);
        });
        auto info = s->start();
        if (!info) return fail(info.error().message);  // b (session, stub, QEMU) goes here, on the worker
        QString warn;
        if (auto st = set_board_clock(*s); !st) warn = QString::fromStdString(st.error().message);
        QMetaObject::invokeMethod(
            this, [this, b, info = *info, warn, gen] { connect_result(gen, b, info, warn); }, Qt::QueuedConnection);
    });
}

core::Status BenchController::set_board_clock(rig::BoardSession& s) {
    // as the bench does: a first set_clock measures the round trip, the second sets the clock as
    // of one round trip (+1 ms) later, so the board never runs behind the rig's records
    auto first = s.command("set_clock", {{"epoch_ms", rig::wall_now_ms()}});
    if (!first) return first.error();
    if (!first->ok) return core::Error{"set_clock refused: " + first->error};
    const auto rtt = std::chrono::duration_cast<std::chrono::milliseconds>(first->received - first->sent).count() + 1;
    auto second = s.command("set_clock", {{"epoch_ms", rig::wall_now_ms() + rtt}});
    if (!second) return second.error();
    if (!second->ok) return core::Error{"set_clock refused: " + second->error};
    return {};
}

void BenchController::connect_result(std::uint64_t gen, std::shared_ptr<Board> b, const rig::BoardInfo& info,
                                     const QString& error) {
    if (gen != generation_) {  // disconnected meanwhile
        if (b) run_on_worker([b] { b->session->stop(); });
        return;
    }
    connecting_ = false;
    if (!b) {
        finish_session();
        emit connect_failed(error);
        return;
    }
    board_ = std::move(b);
    qemu_check_pending_ = false;
    info_ = info;
    timeline_.set_device(info.device_id);
    judge_.set_device(info.device_id);
    stub_pty_ = board_->stub ? board_->stub->pty() : std::string{};
    if (!error.isEmpty()) emit status(tr("warning: %1").arg(error));
    QString summary = QStringLiteral("%1 %2 · %3 %4 · %5 · proto %6")
                          .arg(QString::fromStdString(info.kind), QString::fromStdString(info.device_id),
                               QString::fromStdString(info.firmware), QString::fromStdString(info.version),
                               QString::fromStdString(info.board))
                          .arg(info.proto);
    emit connected(summary);
}

void BenchController::disconnect_board() {
    const bool had = busy();
    ++generation_;
    connecting_ = false;
    if (!board_) {
        if (had) finish_session();
        return;
    }
    auto b = std::move(board_);
    board_.reset();
    run_on_worker([this, b] {
        b->session->stop();
        if (b->stub) b->stub->terminate();
        QMetaObject::invokeMethod(this, [this] { finish_session(); }, Qt::QueuedConnection);
    });
}

void BenchController::finish_session() {
    if (!session_open_) return;
    tick();
    judge_.finish();
    apply_batches();
    session_open_ = false;
    emit disconnected();
}

// ---- controls -------------------------------------------------------------------------------

void BenchController::send(std::string op, nlohmann::json args, std::optional<core::Record> record, bool restricting,
                           bool state) {
    if (!board_) {
        emit command_done(QString::fromStdString(op), false, tr("no board connected"));
        return;
    }
    if (state) state_cmds_.emplace_back(op, args);
    auto b = board_;
    const std::uint64_t gen = generation_;
    run_on_worker([this, b, op = std::move(op), args = std::move(args), record = std::move(record), restricting, gen] {
        auto r = b->session->command(op, args);
        bool ok = false;
        QString err;
        if (!r) {
            err = QString::fromStdString(r.error().message);
        } else if (!r->ok) {
            err = QString::fromStdString(r->error);
        } else {
            ok = true;
        }
        // The customer acted whether or not the board heard it; a refused command (ok:false)
        // changed nothing. Widening: when the COMMAND left; restricting: 1 ms after its REPLY.
        if (record && (ok || !r)) {
            core::Record rec = *record;
            if (r) rec.t = restricting ? r->received_ms + 1 : r->sent_ms;
            else rec.t = rig::wall_now_ms() + (restricting ? 1 : 0);
            Captured p;
            p.record = std::move(rec);
            judge_.submit(std::move(p));
        }
        QMetaObject::invokeMethod(
            this,
            [this, op, ok, err, gen] {
                if (gen == generation_) emit command_done(QString::fromStdString(op), ok, err);
            },
            Qt::QueuedConnection);
    });
}

void BenchController::reapply() {
    if (!board_) return;
    auto b = board_;
    auto cmds = state_cmds_;
    run_on_worker([this, b, cmds] {
        QString err;
        if (auto st = set_board_clock(*b->session); !st) err = QString::fromStdString(st.error().message);
        for (const auto& [op, args] : cmds) {
            auto r = b->session->command(op, args);
            if (!r || !r->ok) err = QString::fromStdString("re-handshake " + op + ": " + (r ? r->error : r.error().message));
        }
        if (!err.isEmpty()) QMetaObject::invokeMethod(this, [this, err] { emit status(err); }, Qt::QueuedConnection);
    });
}

void BenchController::interact(const std::string& via, const std::string& action, const std::string& recipient,
                               std::optional<double> value, const std::string& mode) {
    nlohmann::json args{{"via", via}, {"action", action}};
    if (via != "physical") args["recipient"] = recipient;
    if (action == "set_setpoint" && value) args["value"] = *value;
    if (action == "set_mode") args["value"] = mode;
    core::Record r;
    r.kind = core::RecordKind::interaction;
    r.device = info_.device_id;
    r.recipient = via == "physical" ? std::string{} : recipient;
    r.via = via;
    r.action = action;
    send("interact", std::move(args), std::move(r), false, false);
}

void BenchController::set_consent(const std::string& recipient, core::Category category, bool granted) {
    nlohmann::json args{{"recipient", recipient},
                        {"categories", nlohmann::json::array({std::string(core::to_string(category))})},
                        {"granted", granted}};
    core::Record r;
    r.kind = core::RecordKind::consent;
    r.device = info_.device_id;
    r.recipient = recipient;
    core::insert(r.categories, category);
    r.flag = granted;
    send("consent", std::move(args), std::move(r), !granted, true);
}

void BenchController::set_link(const std::string& recipient, bool linked) {
    core::Record r;
    r.kind = core::RecordKind::link;
    r.device = info_.device_id;
    r.recipient = recipient;
    r.flag = linked;
    send("link", {{"recipient", recipient}, {"linked", linked}}, std::move(r), !linked, true);
}

void BenchController::set_network(bool up) { send("network", {{"up", up}}, std::nullopt, false, true); }

void BenchController::set_profile(const std::string& name) { send("profile", {{"name", name}}, std::nullopt, false, true); }

std::shared_ptr<plant::Plant> BenchController::plant() const { return board_ ? board_->plant : nullptr; }

void BenchController::set_env(const EnvChange& change) {
    nlohmann::json args = nlohmann::json::object();
    if (const auto p = plant()) {
        // the board reads its sensors from the plant: a reading that changes overrides env
        if (change.occupied) p->set_occupied(*change.occupied);
        if (change.door_closed) p->set_door_closed(*change.door_closed);
        if (change.outdoor_c) emit status(tr("outdoor temperature: the plant's house model sets it on a QEMU board"));
        live_.apply_plant(rig::wall_now_ms(), p->snapshot());
    } else if (change.outdoor_c) {
        live_.note_outdoor(rig::wall_now_ms(), *change.outdoor_c);  // what the host stub's room model now uses
    }
    if (change.outdoor_c) args["outdoor_c"] = *change.outdoor_c;
    if (change.occupied) args["occupied"] = *change.occupied;
    if (change.door_closed) args["door"] = *change.door_closed ? "closed" : "open";
    send("env", std::move(args), std::nullopt, false, true);
}

void BenchController::set_plant_fault(PlantFault fault, double drift_c_per_h, core::DurationMs duration_ms) {
    const auto p = plant();
    if (!p) {
        emit status(tr("plant faults: only a QEMU board started here has a plant"));
        return;
    }
    switch (fault) {
        case PlantFault::stuck: p->inject_sensor_stuck(); break;
        case PlantFault::drift: p->inject_sensor_drift(drift_c_per_h); break;
        case PlantFault::modbus_timeout: p->stop_answering(duration_ms > 0 ? duration_ms : -1); break;
    }
    live_.apply_plant(rig::wall_now_ms(), p->snapshot());
}

void BenchController::clear_plant_faults() {
    const auto p = plant();
    if (!p) return;
    p->clear_sensor_fault();
    p->resume_answering();
    live_.apply_plant(rig::wall_now_ms(), p->snapshot());
}

// ---- the judge's batches → model, live state, timeline (GUI thread) --------------------------

void BenchController::restart_dead_qemu() {
    if (!board_ || !board_->qemu || qemu_check_pending_ || board_->session->connected()) return;
    // The link is down: if QEMU died, start it again on the same links, as rig's bench does
    // ("the port returns"); the session and the plant server reopen them, the window writes the
    // gap and re-applies the board's state when the session is restored.
    qemu_check_pending_ = true;
    auto b = board_;
    const std::uint64_t gen = generation_;
    run_on_worker([this, b, gen] {
        QString note;
        if (!b->qemu->running()) {
            auto q = rig::QemuProcess::spawn(b->qemu_options);
            if (!q) {
                note = tr("QEMU board died; starting it again failed: %1").arg(QString::fromStdString(q.error().message));
            } else {
                b->qemu.emplace(std::move(*q));
                if (auto st = b->qemu->cont(); !st) note = tr("QEMU board restarted but not running: %1").arg(QString::fromStdString(st.error().message));
                else note = tr("QEMU board died; started again");
            }
        }
        QMetaObject::invokeMethod(
            this,
            [this, gen, note] {
                if (gen != generation_) return;
                qemu_check_pending_ = false;
                if (!note.isEmpty()) emit link_event(note);
            },
            Qt::QueuedConnection);
    });
}

void BenchController::tick() {
    restart_dead_qemu();
    if (const auto p = plant()) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_plant_sample_ >= std::chrono::seconds(1)) {
            last_plant_sample_ = now;
            live_.apply_plant(rig::wall_now_ms(), p->snapshot());
        }
    }
    std::vector<std::string> logs;
    {
        std::lock_guard lock(pm_);
        logs.swap(logs_in_);
    }
    for (const auto& l : logs) emit board_log(QString::fromStdString(l));
}

void BenchController::flush_now() {
    judge_.flush();
    apply_batches();
}

void BenchController::apply_batches() {
    std::vector<JudgedBatch> batches = judge_.take();
    if (batches.empty()) return;
    // the timeline and live state follow each batch in order; the model hears once for them all
    std::vector<EgressRow> rows;
    std::vector<JudgedFinding> findings;
    for (JudgedBatch& b : batches) {
        for (auto& [r, cats] : b.records) {
            if (r.kind == core::RecordKind::truth) cats = live_.apply_truth(r);
            timeline_.on_record(r, cats);
        }
        if (b.sample) timeline_.apply(*b.sample);
        for (auto& f : b.findings) timeline_.on_finding(f.finding);
        if (rows.empty()) rows = std::move(b.rows);
        else std::move(b.rows.begin(), b.rows.end(), std::back_inserter(rows));
        std::move(b.findings.begin(), b.findings.end(), std::back_inserter(findings));
        for (const auto& e : b.errors) emit status(QString::fromStdString(e));
    }
    model_->append(std::move(rows));
    for (const auto& f : findings) model_->add_finding(f.finding.line, f.finding.type, f.reason);
    model_->set_judged_before(batches.back().judged_before);
}

}  // namespace consentrig::gui
