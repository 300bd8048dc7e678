#include "rig/bench.hpp"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <queue>
#include <variant>

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include "plant/server.hpp"
#include "rig/qemu.hpp"
#include "rig/realtime.hpp"
#include "rig/stub.hpp"
#include "sim/interaction.hpp"
#include "sim/rng.hpp"

namespace consentrig::rig {

using core::Error;
using core::Record;
using core::RecordKind;
using core::Result;
using core::Status;
using core::TimeMs;
using Clock = std::chrono::steady_clock;

namespace {

std::string categories_arg(const core::CategorySet& set) {
    if (set == core::all_categories()) return "all";
    std::string out;
    for (std::size_t c = 0; c < core::kCategoryCount; ++c) {
        if (set.test(c)) out += (out.empty() ? "" : "+") + std::string(core::to_string(static_cast<core::Category>(c)));
    }
    return out;
}

nlohmann::json categories_json(const core::ConsentEvent& e) {
    if (e.all_categories) return nlohmann::json::array({"all"});
    nlohmann::json a = nlohmann::json::array();
    for (std::size_t c = 0; c < core::kCategoryCount; ++c) {
        if (e.categories.test(c)) a.push_back(std::string(core::to_string(static_cast<core::Category>(c))));
    }
    return a;
}

std::string number_arg(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

/// Opens a pty slave raw (8N1, no echo) and keeps it open: QEMU's pty backend drops what the
/// guest sends while nobody has the slave open.
int hold_open_raw(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -1;
    termios tio{};
    if (::tcgetattr(fd, &tio) == 0) {
        cfmakeraw(&tio);
        ::tcsetattr(fd, TCSANOW, &tio);
    }
    return fd;
}

}  // namespace

Percentiles percentiles(std::vector<double> s) {
    Percentiles p;
    p.count = s.size();
    if (s.empty()) return p;
    std::sort(s.begin(), s.end());
    auto at = [&](double q) {
        const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(s.size()))) - 1;
        return s[std::min(i, s.size() - 1)];
    };
    p.p50_us = at(0.50);
    p.p99_us = at(0.99);
    p.max_us = s.back();
    return p;
}

core::TraceMeta bench_meta(const core::Scenario& scenario) {
    core::TraceMeta meta;
    meta.scenario = scenario.name;
    meta.source = "bench";
    meta.start = scenario.start;
    meta.timezone = scenario.timezone;
    return meta;
}

Result<std::vector<std::string>> stub_args(const core::Scenario& s, const core::DeviceSpec& d,
                                           std::vector<std::string>* warnings) {
    auto warn = [&](const std::string& w) {
        if (warnings) warnings->push_back(d.id + ": " + w);
    };
    std::vector<std::string> a = {"--kind", std::string(core::to_string(d.kind)), "--profile",
                                  std::string(core::to_string(d.profile)), "--id", d.id};
    if (s.recipients.size() > 4) return Error{s.file + ": a board supports at most 4 recipients"};
    for (const auto& [name, format] : s.recipients) {
        std::string r = name + "=" + std::string(core::to_string(format));
        DurationMs window = 0;
        core::CategorySet ia, basis;
        for (const auto& g : s.policy.grants()) {
            if (g.recipient != name || !g.applies_to_device(d.id)) continue;
            if (g.basis == core::Basis::interaction) {
                window = std::max(window, g.within_ms);
                ia |= g.categories;
            } else if (g.basis == core::Basis::always) {
                // A board cannot be told when a standing basis starts or ends (PROTOCOL.md §1 has
                // no such op): only grants that hold for the whole run are given at boot.
                const auto from = g.from.resolve(s.start);
                const auto until = g.until.resolve(s.start);
                if ((!from || *from <= s.start) && (!until || *until >= s.end())) basis |= g.categories;
                else warn("grant for " + name + " with from/until is not given to the board (no protocol op)");
            } else if (g.basis == core::Basis::schedule) {
                warn("schedule grant for " + name + " is not given to the board (no protocol op): it sends less");
            }
        }
        if (window > 0 && ia.any()) r += ",window=" + number_arg(static_cast<double>(window) / 1000.0) + ",categories=" + categories_arg(ia);
        if (basis.any()) r += ",basis=" + categories_arg(basis);
        if (std::find(d.linked.begin(), d.linked.end(), name) == d.linked.end()) r += ",unlinked";
        a.push_back("--recipient");
        a.push_back(r);
    }
    static const std::map<std::string, std::pair<std::string, double>, std::less<>> kParams = {
        {"setpoint_c", {"setpoint_c", 1}},
        {"hysteresis_c", {"hysteresis_c", 1}},
        {"min_off", {"min_off_ms", 1}},
        {"min_on", {"min_on_ms", 1}},
        {"report_delta_c", {"report_delta_c", 1}},
        {"report_min_interval", {"report_min_interval_ms", 1}},
        {"report_max_silence", {"report_max_silence_ms", 1}},
        {"heartbeat_interval", {"heartbeat_interval_ms", 1}},
        {"motor", {"motor_ms", 1}},
        {"auto_relock", {"auto_relock_ms", 1}},
        {"battery_drain_pct", {"battery_drain_pct", 1}},
        {"keepalive_min_delay", {"keepalive_min_delay_ms", 1}},
        {"keepalive_max_delay", {"keepalive_max_delay_ms", 1}},
        {"time_constant", {"room_tau_h", 1.0 / 3'600'000.0}},
        {"heat_rate_c_per_h", {"heat_rate_c_per_h", 1}},
        {"initial_c", {"room_initial_c", 1}},
        {"outdoor_mean_c", {"outdoor_c", 1}},
    };
    for (const auto& [name, p] : s.params_for(d)) {
        const auto it = kParams.find(name);
        if (it == kParams.end()) {
            warn("parameter " + name + " has no effect on a host-stub board");
            continue;
        }
        if (p.value.kind != core::Distribution::Kind::constant) warn("parameter " + name + " uses its mean on a board");
        a.push_back("--set");
        a.push_back(it->second.first + "=" + number_arg(p.value.mean() * it->second.second));
    }
    return a;
}

namespace {

/// One thing the rig does at a scenario offset.
struct Stimulus {
    DurationMs at_ms = 0;
    std::uint64_t order = 0;
    std::size_t board = 0;
    enum class Kind : std::uint8_t { command, kill, restart, plant } kind = Kind::command;
    std::string op;
    std::function<void(plant::Plant&)> plant_action;  ///< Kind::plant
    nlohmann::json args;
    std::optional<Record> record;  ///< what the trace says the customer / rig did
    bool restricting = false;      ///< takes effect 1 ms after its REPLY arrives (docs/bench.md)
    bool state = false;            ///< re-applied after the board reconnects
    DurationMs down_ms = 0;        ///< kill: for how long (scenario)
};

struct Pending {
    TimeMs t = 0;
    std::uint64_t order = 0;
    Record record;
    friend bool operator>(const Pending& a, const Pending& b) { return std::tie(a.t, a.order) > std::tie(b.t, b.order); }
};

struct Board {
    std::string device;
    BoardType type = BoardType::stub;
    std::string port;
    std::vector<std::string> args;  ///< host stub only
    std::string m3_config;          ///< QEMU only
    // declared in teardown order, last first: session, plant server, plant, process
    std::unique_ptr<BoardProcess> process;  ///< a stub or QEMU the rig started
    std::shared_ptr<plant::Plant> plant;    ///< QEMU, or a serial board with a plant link
    std::unique_ptr<plant::Server> plant_server;
    std::unique_ptr<BoardSession> session;
    BoardReport report;
    std::vector<std::pair<std::string, nlohmann::json>> state;  ///< commands to re-apply
    std::optional<TimeMs> gap_from;
    std::string gap_reason;
};

class Bench {
public:
    Bench(const core::Scenario& s, const BenchSink& sink, const BenchOptions& o, const LogSink& logs)
        : s_(s), sink_(sink), o_(o), logs_(logs) {}
    Bench(const Bench&) = delete;
    Bench& operator=(const Bench&) = delete;
    ~Bench() {
        release_holds();
        // the sessions' reader threads call into this object: stop them before anything goes
        for (auto& b : boards_) {
            if (b.session) b.session->stop();
        }
    }
    Result<BenchStats> run();

private:
    Status setup();
    Status build_stimuli();
    Status start_board(Board& b);
    Status serve_plant(Board& b, const plant::PlantConfig& pc, const PlantLink& link);
    void execute(Stimulus& st, Clock::time_point due);
    /// Settles the COMMANDs whose REPLY has come (or timed out); `all`: waits for every one.
    void collect_replies(bool all);
    void apply_link_events();
    void reapply(Board& b);
    Status set_clock(Board& b);
    Status release(bool all);
    void release_holds() {
        for (const int fd : hold_fds_) ::close(fd);
        hold_fds_.clear();
    }
    void push(Record r, TimeMs t);
    [[nodiscard]] TimeMs to_scenario(Clock::time_point tp) const {
        const double us = static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(tp - t0_).count());
        return s_.start + static_cast<TimeMs>(std::floor(us * scale_ / 1000.0));
    }
    [[nodiscard]] Clock::time_point to_steady(TimeMs scenario_t) const {
        const double us = static_cast<double>(scenario_t - s_.start) * 1000.0 / scale_;
        return t0_ + std::chrono::microseconds(static_cast<std::int64_t>(std::llround(us)));
    }
    void error(Board& b, const std::string& e) {
        ++b.report.command_errors;
        if (b.report.errors.size() < 10) b.report.errors.push_back(e);
    }

    const core::Scenario& s_;
    const BenchSink& sink_;
    const BenchOptions& o_;
    const LogSink& logs_;
    double scale_ = 1;
    TimeMs end_ = 0;
    Clock::time_point t0_{};
    std::deque<Board> boards_;
    std::vector<Stimulus> stimuli_;
    BenchStats stats_;
    std::vector<double> lateness_us_;
    /// COMMANDs sent and not yet answered: stimuli go out when due, never behind a REPLY.
    struct InFlight {
        const Stimulus* stimulus = nullptr;
        SentCommand command;
        Clock::time_point due{};
    };
    std::vector<InFlight> in_flight_;
    std::vector<int> hold_fds_;  ///< QEMU serial0 ports held open until the sessions have them

    std::mutex m_;  ///< guards everything below
    std::condition_variable cv_;
    std::priority_queue<Pending, std::vector<Pending>, std::greater<>> heap_;
    std::uint64_t order_ = 0;
    std::vector<std::pair<std::size_t, LinkEvent>> link_events_;
    std::vector<double> delay_us_;
    std::vector<ClockMap> clocks_;
    TimeMs last_released_ = 0;
    static constexpr auto kHold = std::chrono::milliseconds(100);
};

/// Starts a host stub, or QEMU paused (the caller lets it run once its ports are open).
Status Bench::start_board(Board& b) {
    if (b.type == BoardType::qemu) {
        QemuOptions qo;
        qo.program = o_.qemu_program;
        qo.image = o_.m3_image;
        qo.config_text = b.m3_config;
        qo.work_dir = o_.work_dir;
        qo.name = b.device;
        auto q = QemuProcess::spawn(qo);
        if (!q) return Error{b.device + ": QEMU board: " + q.error().message};
        b.process = std::make_unique<QemuProcess>(std::move(*q));
        return {};
    }
    const std::string program = o_.stub_program.empty() ? default_stub_program() : o_.stub_program;
    auto args = b.args;
    args.insert(args.end(), {"--link", b.port, "--quiet"});
    if (o_.pace) args.emplace_back("--pace");
    auto p = StubProcess::spawn(program, args, (o_.work_dir / (b.device + ".log")).string());
    if (!p) return Error{b.device + ": host stub: " + p.error().message};
    b.process = std::make_unique<StubProcess>(std::move(*p));
    return {};
}

/// The board's plant, frozen at the scenario start until the replay begins (run()), served on
/// `link`.
Status Bench::serve_plant(Board& b, const plant::PlantConfig& pc, const PlantLink& link) {
    if (auto st = plant::validate(pc); !st) return Error{b.device + ": plant: " + st.error().message};
    b.plant = std::make_shared<plant::Plant>(pc, s_.start);
    b.plant->use_manual_time();
    core::Result<std::unique_ptr<plant::Server>> server =
        link.kind == PlantLink::Kind::tcp ? plant::Server::tcp(link.address, link.port)
                                          : plant::Server::rtu(link.path, static_cast<int>(link.baud));
    if (!server) return Error{b.device + ": plant on " + (link.kind == PlantLink::Kind::tcp ? link.address + ":" + std::to_string(link.port) : link.path) +
                              ": " + server.error().message};
    b.plant_server = std::move(*server);
    b.plant_server->add_plant(link.unit, b.plant);
    if (auto st = b.plant_server->start(); !st) return Error{b.device + ": plant server: " + st.error().message};
    b.report.plant_link = link.kind == PlantLink::Kind::tcp ? "tcp " + link.address + ":" + std::to_string(b.plant_server->port())
                                                            : "rtu " + link.path;
    return {};
}

Status Bench::setup() {
    if (!s_.fleets.empty()) {
        return Error{s_.file + ": the bench runs named devices only; fleet \"" + s_.fleets.front().prefix +
                     "\" is for the simulator (consentrig run)"};
    }
    if (s_.devices.empty()) return Error{s_.file + ": no devices"};
    std::error_code ec;
    std::filesystem::create_directories(o_.work_dir, ec);
    if (ec) return Error{o_.work_dir.string() + ": cannot create: " + ec.message()};
    clocks_.resize(s_.devices.size());
    for (std::size_t i = 0; i < s_.devices.size(); ++i) {
        const auto& d = s_.devices[i];
        Board& b = boards_.emplace_back();
        b.device = d.id;
        b.report.device = d.id;
        std::uint32_t baud = 115200;
        const auto spec = std::find_if(o_.boards.begin(), o_.boards.end(), [&](const BoardSpec& x) { return x.device == d.id; });
        b.type = spec != o_.boards.end() ? spec->type : o_.default_board;
        b.report.type = b.type;
        if (b.type == BoardType::serial) {
            if (spec->port.empty()) return Error{d.id + ": serial board without a port"};
            b.port = spec->port;
            baud = spec->baud;
            if (spec->plant.kind != PlantLink::Kind::none) {
                plant::PlantConfig pc;
                pc.device_id = d.id;
                pc.seed = s_.seed;
                if (auto st = serve_plant(b, pc, spec->plant); !st) return st;
            }
        } else {
            auto args = stub_args(s_, d, &stats_.warnings);
            if (!args) return args.error();
            b.args = std::move(*args);
            if (scale_ > 1) {
                // Board time has 1 ms resolution: at time scale k a board's clock and timers are
                // only good to about k ms of scenario time. Widen the firmware's interaction
                // guard to 5 ms of wall time so its windows still end before the policy's.
                const auto guard = static_cast<long long>(std::max(500.0, 5.0 * scale_));
                b.args.insert(b.args.end(), {"--set", "interaction_guard_ms=" + std::to_string(std::min(guard, 60000LL))});
            }
            b.port = (o_.work_dir / (d.id + ".pty")).string();
            M3Setup m3;
            if (b.type == BoardType::qemu) {
                // the scenario's seed; no humidity sensor, as the simulator's and the host
                // stub's thermostats (the scenario has none)
                auto args = b.args;
                args.insert(args.end(), {"--seed", std::to_string(s_.seed)});
                auto setup = m3_setup(args, {"written by the consentrig bench for " + d.id, false});
                if (!setup) return Error{d.id + ": " + setup.error().message};
                m3 = std::move(*setup);
                b.m3_config = m3.config;
            }
            if (auto st = start_board(b); !st) return st;
            if (b.type == BoardType::qemu) {
                // The plant answers on UART1 and the rig holds UART0 open before the CPU runs,
                // so neither the first Modbus requests nor the boot HELLO are lost.
                PlantLink link;
                link.kind = PlantLink::Kind::rtu;
                link.path = static_cast<QemuProcess&>(*b.process).plant_link().string();
                if (auto st = serve_plant(b, m3.plant, link); !st) return st;
                const int hold_fd = hold_open_raw(b.port);
                if (hold_fd < 0) return Error{d.id + ": cannot open QEMU's serial0 " + b.process->pty() + ": " + std::strerror(errno)};
                hold_fds_.push_back(hold_fd);
                if (auto st = static_cast<QemuProcess&>(*b.process).cont(); !st) return Error{d.id + ": " + st.error().message};
            }
        }
        b.report.port = b.process ? b.process->pty() : b.port;
        SessionOptions so = o_.session;
        so.expect_device = d.id;
        b.session = std::make_unique<BoardSession>(make_link(LinkOptions{b.port, baud, o_.pace}), so);
        b.session->on_capture([this, i](Capture&& c) {
            std::lock_guard lock(m_);
            Board& bb = boards_[i];
            ++bb.report.captured;
            if (c.board_ms) {
                ClockMap& cm = clocks_[i];
                cm.add(*c.board_ms, c.arrival_ms);
                delay_us_.push_back(1000.0 * static_cast<double>(c.arrival_ms - cm.to_wall(*c.board_ms)));
            }
            if (c.type == FrameType::log) {
                ++stats_.logs;
                if (logs_) logs_(bb.device, c);
                return;
            }
            const TimeMs t = to_scenario(c.arrival);
            if (auto r = to_record(c, bb.device, t)) {
                heap_.push(Pending{t, order_++, std::move(*r)});
            }
        });
        b.session->on_link_event([this, i](const LinkEvent& e) {
            std::lock_guard lock(m_);
            link_events_.emplace_back(i, e);
            cv_.notify_all();
        });
    }
    for (auto& b : boards_) {
        auto info = b.session->start();
        if (!info) {
            return Error{b.device + ": no HELLO from the " + std::string(to_string(b.type)) + " board on " + b.port + ": " +
                         info.error().message};
        }
        b.report.info = *info;
        if (info->device_id != b.device) return Error{b.device + ": the board on " + b.port + " is " + info->device_id};
        if (scale_ > 1 && !info->has_cap("time_scale")) {
            return Error{b.device + ": the board does not advertise time_scale; run with --time-scale 1"};
        }
    }
    release_holds();
    return {};
}

Status Bench::build_stimuli() {
    std::uint64_t order = 0;
    auto board_of = [&](std::string_view id) -> std::optional<std::size_t> {
        for (std::size_t i = 0; i < boards_.size(); ++i) {
            if (boards_[i].device == id) return i;
        }
        return std::nullopt;
    };
    auto record = [&](RecordKind kind, const std::string& device, const std::string& recipient) {
        Record r;
        r.kind = kind;
        r.device = device;
        r.recipient = recipient;
        return r;
    };
    auto interact = [&](std::size_t i, DurationMs at, const core::Interaction& ia, sim::Rng& rng) {
        Stimulus st;
        st.at_ms = at;
        st.order = order++;
        st.board = i;
        st.op = "interact";
        st.args = {{"via", std::string(core::to_string(ia.via))}, {"action", std::string(core::to_string(ia.action))}};
        if (ia.via != core::Via::physical) st.args["recipient"] = ia.recipient;
        if (ia.action == core::Action::set_setpoint && ia.setpoint_c) {
            double v = ia.setpoint_c->a;
            if (ia.setpoint_c->kind == core::Distribution::Kind::uniform) v = rng.uniform(ia.setpoint_c->a, ia.setpoint_c->b);
            if (ia.setpoint_c->kind == core::Distribution::Kind::normal) v = rng.normal(ia.setpoint_c->a, ia.setpoint_c->b);
            st.args["value"] = std::round(v * 10) / 10;
        } else if (ia.action == core::Action::set_mode) {
            st.args["value"] = ia.mode;
        }
        Record r = record(RecordKind::interaction, boards_[i].device, ia.recipient);
        r.via = std::string(core::to_string(ia.via));
        r.action = std::string(core::to_string(ia.action));
        st.record = std::move(r);
        stimuli_.push_back(std::move(st));
    };
    const DurationMs span = end_ - s_.start;
    for (const auto& e : s_.timeline) {
        if (e.at_ms >= span) continue;
        for (std::size_t i = 0; i < boards_.size(); ++i) {
            if (!s_.selects(e.devices, boards_[i].device)) continue;
            const core::DeviceKind kind = s_.devices[i].kind;
            sim::Rng rng(s_.seed, boards_[i].device, "bench-timeline-" + std::to_string(order));
            std::visit(
                [&](const auto& a) {
                    using T = std::decay_t<decltype(a)>;
                    Stimulus st;
                    st.at_ms = e.at_ms;
                    st.board = i;
                    if constexpr (std::is_same_v<T, core::InteractEvent>) {
                        if (core::action_applies(a.interaction.action, kind)) interact(i, e.at_ms, a.interaction, rng);
                        return;
                    } else if constexpr (std::is_same_v<T, core::ConsentEvent>) {
                        st.op = "consent";
                        st.args = {{"recipient", a.recipient}, {"categories", categories_json(a)}, {"granted", a.granted}};
                        Record r = record(RecordKind::consent, boards_[i].device, a.recipient);
                        r.categories = a.all_categories ? core::all_categories() : a.categories;
                        r.flag = a.granted;
                        st.record = std::move(r);
                        st.restricting = !a.granted;
                        st.state = true;
                    } else if constexpr (std::is_same_v<T, core::LinkEvent>) {
                        st.op = "link";
                        st.args = {{"recipient", a.recipient}, {"linked", a.linked}};
                        Record r = record(RecordKind::link, boards_[i].device, a.recipient);
                        r.flag = a.linked;
                        st.record = std::move(r);
                        st.restricting = !a.linked;
                        st.state = true;
                    } else if constexpr (std::is_same_v<T, core::NetworkEvent>) {
                        st.op = "network";
                        st.args = {{"up", a.up}};
                        st.state = true;
                    } else if constexpr (std::is_same_v<T, core::EnvEvent>) {
                        if (boards_[i].plant) {
                            // the house changes; the board reads it over Modbus
                            st.kind = Stimulus::Kind::plant;
                            st.plant_action = [a](plant::Plant& p) {
                                if (a.outdoor_c) p.set_outdoor_c(*a.outdoor_c);
                                if (a.occupied) p.set_occupied(*a.occupied);
                                if (a.door) p.set_door_closed(*a.door == core::DoorPosition::closed);
                            };
                            st.order = order++;
                            stimuli_.push_back(std::move(st));
                            return;
                        }
                        st.op = "env";
                        st.args = nlohmann::json::object();
                        if (a.outdoor_c) st.args["outdoor_c"] = *a.outdoor_c;
                        if (a.occupied) st.args["occupied"] = *a.occupied;
                        if (a.door) st.args["door"] = std::string(core::to_string(*a.door));
                        st.state = true;
                    } else if constexpr (std::is_same_v<T, core::ProfileEvent>) {
                        st.op = "profile";
                        st.args = {{"name", std::string(core::to_string(a.profile))}};
                        st.state = true;
                    } else if constexpr (std::is_same_v<T, core::FaultEvent>) {
                        if (a.kind != core::FaultKind::disconnect) {
                            if (!boards_[i].plant) {
                                stats_.warnings.push_back(core::to_string(e.where) + ": " + std::string(core::to_string(a.kind)) +
                                                          " fault on " + boards_[i].device + " needs a plant (Modbus): a " +
                                                          std::string(to_string(boards_[i].type)) + " board without one cannot apply it");
                                return;
                            }
                            st.kind = Stimulus::Kind::plant;
                            if (a.kind == core::FaultKind::modbus_timeout) {
                                // the plant stops answering for the fault's duration (scenario ms)
                                st.plant_action = [d = a.duration_ms.value_or(-1)](plant::Plant& p) { p.stop_answering(d); };
                                st.order = order++;
                                stimuli_.push_back(std::move(st));
                                return;
                            }
                            if (a.kind == core::FaultKind::stuck) {
                                st.plant_action = [](plant::Plant& p) { p.inject_sensor_stuck(); };
                            } else {
                                st.plant_action = [rate = a.rate_c_per_h](plant::Plant& p) { p.inject_sensor_drift(rate); };
                            }
                            if (a.duration_ms && e.at_ms + *a.duration_ms < span) {
                                Stimulus clear;
                                clear.kind = Stimulus::Kind::plant;
                                clear.at_ms = e.at_ms + *a.duration_ms;
                                clear.board = i;
                                clear.order = order++;
                                clear.plant_action = [](plant::Plant& p) { p.clear_sensor_fault(); };
                                stimuli_.push_back(std::move(clear));
                            }
                            st.order = order++;
                            stimuli_.push_back(std::move(st));
                            return;
                        }
                        if (!boards_[i].process) {
                            stats_.warnings.push_back(core::to_string(e.where) +
                                                      ": disconnect fault on a serial-port board: unplug it by hand");
                            return;
                        }
                        st.kind = Stimulus::Kind::kill;
                        st.down_ms = a.duration_ms.value_or(span);
                    }
                    st.order = order++;
                    stimuli_.push_back(std::move(st));
                },
                e.action);
        }
    }
    for (const auto& out : s_.network.outages) {
        for (std::size_t i = 0; i < boards_.size(); ++i) {
            if (!s_.selects(out.devices, boards_[i].device)) continue;
            for (const bool up : {false, true}) {
                const DurationMs at = out.at_ms + (up ? out.duration_ms : 0);
                if (at >= span) continue;
                Stimulus st;
                st.at_ms = at;
                st.order = order++;
                st.board = i;
                st.op = "network";
                st.args = {{"up", up}};
                st.state = true;
                stimuli_.push_back(std::move(st));
            }
        }
    }
    for (const auto& k : o_.kills) {
        const auto i = board_of(k.device);
        if (!i) return Error{"--kill: no device " + k.device + " in " + s_.file};
        if (!boards_[*i].process) return Error{"--kill: " + k.device + " is on a serial port; only boards the rig starts (stub, qemu) can be killed"};
        Stimulus st;
        st.at_ms = k.at_ms;
        st.order = order++;
        st.board = *i;
        st.kind = Stimulus::Kind::kill;
        st.down_ms = k.down_ms.value_or(span);
        stimuli_.push_back(std::move(st));
    }
    for (const auto& f : o_.plant_timeouts) {
        const auto i = board_of(f.device);
        if (!i) return Error{"modbus_timeout: no device " + f.device + " in " + s_.file};
        if (!boards_[*i].plant) return Error{"modbus_timeout: " + f.device + " has no plant (only qemu boards and serial boards with a plant link)"};
        if (f.at_ms >= span) continue;
        Stimulus st;
        st.kind = Stimulus::Kind::plant;
        st.at_ms = f.at_ms;
        st.order = order++;
        st.board = *i;
        st.plant_action = [d = f.duration_ms.value_or(-1)](plant::Plant& p) { p.stop_answering(d); };
        stimuli_.push_back(std::move(st));
    }
    // Customers: the scenario's random interactions, drawn per device (stream "bench-customers").
    for (std::size_t i = 0; i < boards_.size(); ++i) {
        sim::Rng rng(s_.seed, boards_[i].device, "bench-customers");
        for (const auto& c : s_.customers) {
            if (!core::action_applies(c.interaction.action, s_.devices[i].kind) || !s_.selects(c.devices, boards_[i].device)) continue;
            TimeMs t = s_.start;
            while (true) {
                const auto next = sim::next_interaction_where(rng, c.rate_per_day, t, end_ - t,
                                                              [&](TimeMs at) { return c.in_hours(s_.policy, at); });
                if (!next || *next >= end_) break;
                interact(i, *next - s_.start, c.interaction, rng);
                t = *next;
            }
        }
    }
    // kills bring their restart
    const std::size_t n = stimuli_.size();
    for (std::size_t k = 0; k < n; ++k) {
        if (stimuli_[k].kind != Stimulus::Kind::kill || stimuli_[k].at_ms + stimuli_[k].down_ms >= span) continue;
        Stimulus r;
        r.kind = Stimulus::Kind::restart;
        r.at_ms = stimuli_[k].at_ms + stimuli_[k].down_ms;
        r.order = order++;
        r.board = stimuli_[k].board;
        stimuli_.push_back(std::move(r));
    }
    std::stable_sort(stimuli_.begin(), stimuli_.end(),
                     [](const Stimulus& a, const Stimulus& b) { return std::tie(a.at_ms, a.order) < std::tie(b.at_ms, b.order); });
    return {};
}

void Bench::push(Record r, TimeMs t) {
    std::lock_guard lock(m_);
    r.t = t;
    heap_.push(Pending{t, order_++, std::move(r)});
}

void Bench::execute(Stimulus& st, Clock::time_point due) {
    Board& b = boards_[st.board];
    if (st.kind == Stimulus::Kind::kill) {
        lateness_us_.push_back(std::chrono::duration<double, std::micro>(Clock::now() - due).count());
        if (b.process) b.process->kill();
        return;
    }
    if (st.kind == Stimulus::Kind::plant) {
        lateness_us_.push_back(std::chrono::duration<double, std::micro>(Clock::now() - due).count());
        if (b.plant) st.plant_action(*b.plant);
        return;
    }
    if (st.kind == Stimulus::Kind::restart) {
        // the port returns: the session reopens the link and re-handshakes; a QEMU board runs at
        // once (the plant server reopens its UART1 link by itself)
        if (auto s = start_board(b); !s) {
            error(b, "restart: " + s.error().message);
            return;
        }
        b.report.port = b.process->pty();
        if (b.type == BoardType::qemu) {
            if (auto s = static_cast<QemuProcess&>(*b.process).cont(); !s) error(b, "restart: " + s.error().message);
        }
        return;
    }
    if (st.state) b.state.emplace_back(st.op, st.args);
    ++b.report.commands;
    auto sent = b.session->send_command(st.op, st.args);
    if (!sent) {
        error(b, st.op + ": " + sent.error().message);
        // The board is away: the stimulus still happened (the customer acted) — record it at
        // its due time; the board gets the state when it reconnects.
        if (st.record) push(*st.record, to_scenario(std::max(due, Clock::now())));
        return;
    }
    lateness_us_.push_back(std::chrono::duration<double, std::micro>(sent->sent - due).count());
    // Widening stimuli count from the moment the COMMAND left; restricting ones from just after
    // the REPLY arrived — every frame the board sent before applying the command arrived before
    // its REPLY (one serial line, in order). docs/bench.md, "Timing rules".
    if (st.record && !st.restricting) push(*st.record, to_scenario(sent->sent));
    in_flight_.push_back(InFlight{&st, std::move(*sent), due});
}

void Bench::collect_replies(bool all) {
    std::erase_if(in_flight_, [&](InFlight& f) {
        const Stimulus& st = *f.stimulus;
        Board& b = boards_[st.board];
        std::optional<Result<Reply>> reply;
        if (all) reply = b.session->wait_reply(f.command);
        else reply = b.session->poll_reply(f.command);
        if (!reply) return false;  // still on its way
        if (!*reply) {
            error(b, st.op + ": " + reply->error().message);
            if (st.record && st.restricting) push(*st.record, to_scenario(std::max(f.due, Clock::now())));
            return true;
        }
        if (!(*reply)->ok) error(b, st.op + ": board refused: " + (*reply)->error);
        if (st.record && st.restricting) push(*st.record, to_scenario((*reply)->received) + 1);
        return true;
    });
}

/// Sets the board's wall clock to scenario time. The COMMAND takes a moment to arrive, so a
/// clock set to "now" would lag by that delay (× the time scale) and date the board's samples
/// before the rig's records of the same instant. A first set_clock measures the round trip; the
/// second sets the clock as of one round trip (+ 2 ms for the board's ms resolution) later: the
/// board then runs at most that much ahead (inside the interaction guard the bench gives host
/// stubs), never behind.
Status Bench::set_clock(Board& b) {
    auto first = b.session->command("set_clock", {{"epoch_ms", to_scenario(Clock::now())}});
    if (!first) return first.error();
    if (!first->ok) return Error{b.device + ": set_clock refused: " + first->error};
    // + 2 ms: the board counts whole milliseconds, both when it sets its clock and when it reads
    // it later, so it may read up to 2 ms (wall) late
    const auto rtt = first->received - first->sent + std::chrono::milliseconds(2);
    auto second = b.session->command("set_clock", {{"epoch_ms", to_scenario(Clock::now() + rtt)}});
    if (!second) return second.error();
    if (!second->ok) return Error{b.device + ": set_clock refused: " + second->error};
    return {};
}

void Bench::reapply(Board& b) {
    if (scale_ > 1) {
        auto r = b.session->command("time_scale", {{"factor", scale_}});
        if (!r || !r->ok) error(b, "re-handshake time_scale: " + (r ? r->error : r.error().message));
    }
    if (auto st = set_clock(b); !st) error(b, "re-handshake set_clock: " + st.error().message);
    for (const auto& [op, args] : b.state) {
        auto r = b.session->command(op, args);
        if (!r || !r->ok) error(b, "re-handshake " + op + ": " + (r ? r->error : r.error().message));
    }
}

void Bench::apply_link_events() {
    std::vector<std::pair<std::size_t, LinkEvent>> events;
    {
        std::lock_guard lock(m_);
        events.swap(link_events_);
    }
    for (auto& [i, e] : events) {
        Board& b = boards_[i];
        // LinkEvent::at_ms is wall ms; map through the steady clock for the scenario time
        const auto tp = Clock::now() - std::chrono::milliseconds(std::max<TimeMs>(0, wall_now_ms() - e.at_ms));
        const TimeMs t = to_scenario(tp);
        if (e.kind == LinkEvent::Kind::lost) {
            b.gap_from = t;
            b.gap_reason = "board disconnected: " + e.reason;
            continue;
        }
        // restored: the board re-handshook (HELLO); it may have rebooted — give it back its state
        {
            std::lock_guard lock(m_);
            clocks_[i].reset();  // board time may have started again
        }
        reapply(b);
        if (b.gap_from) {
            Record g;
            g.kind = RecordKind::gap;
            g.device = b.device;
            g.t = *b.gap_from;
            g.t_end = std::max(t, *b.gap_from);
            g.payload = b.gap_reason;
            ++b.report.gaps;
            if (auto st = sink_(g); !st) stats_.warnings.push_back(st.error().message);
            ++stats_.records;
            b.gap_from.reset();
        }
    }
}

Status Bench::release(bool all) {
    std::vector<Pending> out;
    {
        std::lock_guard lock(m_);
        const TimeMs watermark = all ? std::numeric_limits<TimeMs>::max() : to_scenario(Clock::now() - kHold);
        while (!heap_.empty() && heap_.top().t <= watermark) {
            out.push_back(heap_.top());
            heap_.pop();
        }
    }
    for (auto& p : out) {
        if (p.t < last_released_) {
            ++stats_.reordered;
            p.record.t = last_released_;
        }
        last_released_ = p.record.t;
        if (p.record.kind == RecordKind::egress) ++stats_.messages;
        ++stats_.records;
        if (auto st = sink_(p.record); !st) return st;
    }
    return {};
}

Result<BenchStats> Bench::run() {
    const auto wall_start = Clock::now();
    const RealtimeScope realtime;  // stimuli on time on a busy machine (best effort)
    stats_.scheduling = realtime.obtained();
    scale_ = std::max(1.0, o_.time_scale);
    if (scale_ > 1000) return Error{"--time-scale: at most 1000 (the firmware's limit)"};
    end_ = o_.duration_ms ? std::min(s_.end(), s_.start + *o_.duration_ms) : s_.end();
    stats_.time_scale = scale_;
    stats_.start = s_.start;
    t0_ = Clock::now();  // provisional (setup records nothing)
    if (auto st = setup(); !st) return st.error();
    if (auto st = build_stimuli(); !st) return st.error();
    for (auto& b : boards_) {
        if (scale_ > 1) {
            auto r = b.session->command("time_scale", {{"factor", scale_}});
            if (!r) return Error{b.device + ": time_scale: " + r.error().message};
            if (!r->ok) return Error{b.device + ": time_scale refused: " + r->error};
        }
    }
    t0_ = Clock::now();
    for (auto& b : boards_) {
        if (!b.plant) continue;
        // plant time = scenario time from here on: start + (steady − t₀) × time scale
        if (auto st = b.plant->set_time_scale(scale_); !st) return st.error();
        b.plant->use_real_time();
    }
    for (auto& b : boards_) {
        if (auto st = set_clock(b); !st) return st.error();
    }

    const DurationMs span = end_ - s_.start;
    const DurationMs step = std::max<DurationMs>(1, span / 100);
    TimeMs next_progress = s_.start + step;
    std::size_t next = 0;
    while (true) {
        apply_link_events();
        collect_replies(false);
        if (auto st = release(false); !st) return st.error();
        const auto now = Clock::now();
        const TimeMs scen_now = to_scenario(now);
        if (o_.progress && scen_now >= next_progress) {
            o_.progress(BenchProgress{static_cast<double>(std::min(scen_now, end_) - s_.start) / static_cast<double>(span),
                                      std::min(scen_now, end_), stats_.records, stats_.messages});
            while (next_progress <= scen_now) next_progress += step;
        }
        if (next < stimuli_.size()) {
            const auto due = to_steady(s_.start + stimuli_[next].at_ms);
            if (due <= now) {
                execute(stimuli_[next], due);
                ++next;
                continue;
            }
        }
        if (scen_now >= end_) break;
        auto wake = to_steady(end_);
        if (next < stimuli_.size()) wake = std::min(wake, to_steady(s_.start + stimuli_[next].at_ms));
        // a REPLY awaited: look again soon, so a restricting stimulus is recorded well inside kHold
        wake = std::min(wake, now + (in_flight_.empty() ? std::chrono::milliseconds(20) : std::chrono::milliseconds(1)));
        std::unique_lock lock(m_);
        cv_.wait_until(lock, wake, [&] { return !link_events_.empty(); });
    }
    // Let in-flight frames arrive, then stop the boards and flush everything.
    const auto settle = Clock::now() + std::chrono::milliseconds(50);
    while (Clock::now() < settle) {
        std::unique_lock lock(m_);
        cv_.wait_until(lock, settle);
    }
    collect_replies(true);
    for (auto& b : boards_) b.session->stop();
    apply_link_events();
    if (auto st = release(true); !st) return st.error();
    stats_.end = end_;
    for (std::size_t i = 0; i < boards_.size(); ++i) {
        Board& b = boards_[i];
        if (b.gap_from) {
            Record g;
            g.kind = RecordKind::gap;
            g.device = b.device;
            g.t = *b.gap_from;
            g.t_end = std::max(end_, *b.gap_from);
            g.payload = b.gap_reason + " (not back before the end)";
            ++b.report.gaps;
            ++stats_.records;
            if (auto st = sink_(g); !st) return st.error();
        }
        b.report.counters = b.session->counters();
        b.report.hellos = b.session->hellos();
        {
            std::lock_guard lock(m_);
            b.report.drift_ppm = clocks_[i].drift_ppm();
            b.report.max_delay_ms = clocks_[i].max_delay_ms();
        }
        if (b.plant) b.report.plant = b.plant->snapshot();
        stats_.boards.push_back(b.report);
        if (b.plant_server) b.plant_server->stop();
        if (b.process) b.process->terminate();
    }
    stats_.lateness = percentiles(std::move(lateness_us_));
    {
        std::lock_guard lock(m_);
        stats_.capture_uncertainty = percentiles(std::move(delay_us_));
    }
    stats_.wall_seconds = std::chrono::duration<double>(Clock::now() - wall_start).count();
    return stats_;
}

}  // namespace

Result<BenchStats> run_bench(const core::Scenario& scenario, const BenchSink& sink, const BenchOptions& options,
                             const LogSink& logs) {
    Bench bench(scenario, sink, options, logs);
    return bench.run();
}

}  // namespace consentrig::rig
