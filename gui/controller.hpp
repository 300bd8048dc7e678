#pragma once
/// gui/controller.hpp — the GUI's link to one board: a rig::BoardSession (and, for an emulated
/// board, the consentrig-board host stub it runs on), the capture written to a TraceStore as it
/// happens, and a live core::Oracle judging every message. No logic of its own: it wires the
/// libraries the way `consentrig bench` does (docs/bench.md, timing rules).
///
/// Threads: the session's reader hands captures to the CaptureJudge (gui/capture_judge.hpp),
/// whose thread keeps the reorder window, writes trace.db, feeds the oracle and samples consent;
/// a second worker runs the blocking calls (handshake, commands). The GUI thread only applies
/// the judge's finished batches to the model, live state and timeline (one model notification
/// per batch) and samples the plant.
#include <QObject>
#include <QTimer>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/oracle.hpp"
#include "core/policy.hpp"
#include "core/taxonomy.hpp"
#include "core/trace.hpp"
#include "gui/capture_judge.hpp"
#include "gui/consent_timeline.hpp"
#include "gui/live_state.hpp"
#include "rig/session.hpp"
#include "rig/stub.hpp"

namespace consentrig::gui {

class EgressModel;

/// What "start emulated board" starts.
enum class Emulator : std::uint8_t {
    host_stub,  ///< consentrig-board on a pty (its own room model)
    qemu,       ///< the Cortex-M3 image on qemu-system-arm mps2-an385, closed against a plant::Plant
};

struct ConnectOptions {
    std::string port;                    ///< serial port or pty path; empty: start an emulated board
    std::uint32_t baud = 115200;
    Emulator emulator = Emulator::host_stub;
    std::string kind = "thermostat";     ///< emulated: thermostat / lock
    std::string profile = "compliant";   ///< emulated: firmware behaviour profile
    /// Extra board arguments in the host stub's vocabulary (e.g. --set flush_delay_ms=5000); a
    /// QEMU board takes --id, --seed, --set and --recipient (rig::m3_setup: configuration lines,
    /// or the plant's for a --set describing the house).
    std::vector<std::string> stub_args;
    std::string stub_program;            ///< default rig::default_stub_program()
    std::string qemu_program;            ///< default rig::default_qemu_program()
    std::filesystem::path m3_image;      ///< default rig::default_m3_image()
};

struct Health {
    bool connected = false;
    rig::FrameCounters counters;
    core::TimeMs last_seen = 0;  ///< arrival of the latest frame (0: none yet)
    std::uint64_t records = 0;   ///< written to the trace
    std::uint64_t findings = 0;
    std::uint64_t lost_events = 0;
};

/// An `env` command (PROTOCOL.md §1): plant stimuli; only what is set is sent.
struct EnvChange {
    std::optional<double> outdoor_c;
    std::optional<bool> occupied;
    std::optional<bool> door_closed;
};

/// A fault of the plant behind a QEMU board (docs/plant-modbus.md §Faults), as a scenario's
/// `fault` event sets it on the bench.
enum class PlantFault : std::uint8_t {
    stuck,           ///< the temperature sensor freezes at its reading
    drift,           ///< its readings drift away from the room at a rate
    modbus_timeout,  ///< the plant stops answering Modbus: the board sees timeouts
};

/// Recipients and categories the policy lists (what the consent switches start from).
struct PolicyView {
    std::vector<std::string> recipients;
    std::vector<core::CategorySet> listed;  ///< per recipient
};

class BenchController final : public QObject {
    Q_OBJECT
public:
    explicit BenchController(EgressModel* model, QObject* parent = nullptr);
    ~BenchController() override;

    /// The consent policy the live oracle judges against (before connecting). Default: the host
    /// stub's default partners — voice-partner (interaction, 120 s, all) and vendor-cloud
    /// (always, all).
    void set_policy(core::Policy policy);
    [[nodiscard]] static core::Result<core::Policy> default_policy();
    [[nodiscard]] PolicyView policy_view() const;
    /// Where trace.db goes (created on connect).
    void set_out_dir(std::filesystem::path dir) { out_dir_ = std::move(dir); }
    [[nodiscard]] std::filesystem::path trace_path() const { return out_dir_ / "trace.db"; }
    /// Every record as it arrives, one line per write (core/trace_journal.hpp): what a crash of
    /// the window would otherwise lose. Deleted when the session ends cleanly; recovered into
    /// OUT/trace-recovered-<UTC>.db by the next connect if it is still there.
    [[nodiscard]] std::filesystem::path journal_path() const { return out_dir_ / "trace.journal.jsonl"; }

    /// Asynchronous: emits connected() or connect_failed().
    void connect_board(const ConnectOptions& options);
    /// Stops the session (and the stub), writes out everything captured, judges side channels.
    void disconnect_board();
    [[nodiscard]] bool busy() const { return board_ || connecting_ || session_open_; }
    [[nodiscard]] bool is_connected() const;
    [[nodiscard]] rig::BoardInfo info() const { return info_; }
    [[nodiscard]] Health health() const;
    [[nodiscard]] std::string stub_pty() const { return stub_pty_; }
    /// The plant the board is closed against (QEMU boards), else null.
    [[nodiscard]] std::shared_ptr<plant::Plant> plant() const;

    // ---- controls: each a COMMAND through the session and a record in the trace ----
    /// via: voice/app/physical; action: query/set_setpoint/set_mode/lock/unlock.
    void interact(const std::string& via, const std::string& action, const std::string& recipient,
                  std::optional<double> value = std::nullopt, const std::string& mode = {});
    void set_consent(const std::string& recipient, core::Category category, bool granted);
    void set_link(const std::string& recipient, bool linked);
    void set_network(bool up);
    void set_profile(const std::string& name);
    /// The board's `env` command; with a plant (QEMU boards) the plant is changed too, since
    /// the board's next sensor reading would override the command (docs/m3-board.md). The
    /// effect lands in the trace as the board's TRUTH.
    void set_env(const EnvChange& change);
    /// Injects a fault into the plant (QEMU boards; else a status says there is none). `drift`:
    /// °C per hour; `modbus_timeout`: for `duration_ms` (<= 0: until cleared). Its effect lands in
    /// the trace as the board's TRUTH and egress (the trace has no record kind of its own for it).
    void set_plant_fault(PlantFault fault, double drift_c_per_h = 0, core::DurationMs duration_ms = 0);
    /// The sensor reads the room again and the plant answers again.
    void clear_plant_faults();

    /// The board's TRUTH and the plant (GUI thread).
    [[nodiscard]] const LiveState& live_state() const { return live_; }
    /// The live consent timeline (GUI thread).
    [[nodiscard]] const ConsentTimeline& timeline() const { return timeline_; }

    /// Writes out every record still held (reorder window included), commits, and shows what
    /// that released; returns once it is on disk.
    void flush_now();

signals:
    void connected(const QString& summary);
    void connect_failed(const QString& error);
    void disconnected();
    void link_event(const QString& text);
    void command_done(const QString& op, bool ok, const QString& error);
    void board_log(const QString& line);
    void status(const QString& text);

private:
    /// Before a new capture: recovers a journal left by a session that did not close, or keeps
    /// the previous trace.db as trace-<UTC>.db; says what it did (empty: nothing there).
    [[nodiscard]] core::Result<std::string> keep_previous_capture() const;
    void run_on_worker(std::function<void()> job);
    void worker_loop();
    struct Board;
    void send(std::string op, nlohmann::json args, std::optional<core::Record> record, bool restricting, bool state);
    void connect_result(std::uint64_t gen, std::shared_ptr<Board> b, const rig::BoardInfo& info, const QString& error);
    void reapply();
    [[nodiscard]] static core::Status set_board_clock(rig::BoardSession& s);
    void tick();
    /// While a QEMU board's link is down: starts QEMU again if it died (checked on the worker).
    void restart_dead_qemu();
    /// Applies the judge's finished batches (GUI thread).
    void apply_batches();
    void stop_worker();
    void finish_session();

    EgressModel* model_;
    core::Policy policy_;
    std::optional<core::Taxonomy> taxonomy_;
    std::filesystem::path out_dir_ = "out/gui";

    // the board (GUI thread; the worker's jobs hold their own reference)
    std::shared_ptr<Board> board_;
    bool connecting_ = false;
    std::string stub_pty_;
    std::vector<std::pair<std::string, nlohmann::json>> state_cmds_;  ///< re-sent after a reconnect
    rig::BoardInfo info_;
    std::uint64_t generation_ = 0;  ///< bumps per connect; stale worker results are dropped

    // worker
    std::mutex wm_;
    std::condition_variable wcv_;
    std::deque<std::function<void()>> jobs_;
    bool wstop_ = false;
    std::thread worker_;

    // reader → GUI hand-over
    mutable std::mutex pm_;
    std::vector<std::string> logs_in_;
    core::TimeMs last_seen_ = 0;
    std::optional<core::TimeMs> lost_at_;
    std::uint64_t lost_events_ = 0;

    // GUI thread
    bool session_open_ = false;  ///< a trace is open (connect … disconnect finished)
    bool qemu_check_pending_ = false;  ///< restart_dead_qemu()'s job is queued
    LiveState live_;
    ConsentTimeline timeline_;
    std::chrono::steady_clock::time_point last_plant_sample_{};
    QTimer timer_;

    CaptureJudge judge_;  ///< last: its thread stops first
};

}  // namespace consentrig::gui
