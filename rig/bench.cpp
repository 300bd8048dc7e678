#include "rig/bench.hpp"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <queue>
#include <variant>

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
    enum class Kind : std::uint8_t { command, kill, restart } kind = Kind::command;
    std::string op;
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
    std::string port;
    std::vector<std::string> args;  ///< host stub only
    std::optional<StubProcess> stub;
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
        // the sessions' reader threads call into this object: stop them before anything goes
        for (auto& b : boards_) {
            if (b.session) b.session->stop();
        }
    }
    Result<BenchStats> run();

private:
    Status setup();
    Status build_stimuli();
    Status start_stub(Board& b);
    void execute(Stimulus& st, Clock::time_point due);
    void apply_link_events();
    void reapply(Board& b);
    Status set_clock(Board& b);
    Status release(bool all);
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

Status Bench::start_stub(Board& b) {
    const std::string program = o_.stub_program.empty() ? default_stub_program() : o_.stub_program;
    auto args = b.args;
    args.insert(args.end(), {"--link", b.port, "--quiet"});
    if (o_.pace) args.emplace_back("--pace");
    auto p = StubProcess::spawn(program, args, (o_.work_dir / (b.device + ".log")).string());
    if (!p) return p.error();
    b.stub = std::move(*p);
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
        if (spec != o_.boards.end() && !spec->port.empty()) {
            b.port = spec->port;
            baud = spec->baud;
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
            if (auto st = start_stub(b); !st) return st;
        }
        b.report.port = b.stub ? b.stub->pty() : b.port;
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
        if (!info) return Error{b.device + ": " + info.error().message};
        b.report.info = *info;
        if (info->device_id != b.device) return Error{b.device + ": the board on " + b.port + " is " + info->device_id};
        if (scale_ > 1 && !info->has_cap("time_scale")) {
            return Error{b.device + ": the board does not advertise time_scale; run with --time-scale 1"};
        }
    }
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
                            stats_.warnings.push_back(core::to_string(e.where) + ": " + std::string(core::to_string(a.kind)) +
                                                      " fault needs a plant (Modbus); a host stub cannot apply it");
                            return;
                        }
                        if (!boards_[i].stub) {
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
        if (!boards_[*i].stub) return Error{"--kill: " + k.device + " is not a host stub"};
        Stimulus st;
        st.at_ms = k.at_ms;
        st.order = order++;
        st.board = *i;
        st.kind = Stimulus::Kind::kill;
        st.down_ms = k.down_ms.value_or(span);
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
        if (b.stub) b.stub->kill();
        return;
    }
    if (st.kind == Stimulus::Kind::restart) {
        if (auto s = start_stub(b); !s) error(b, "restart: " + s.error().message);
        else b.report.port = b.stub->pty();
        return;
    }
    if (st.state) b.state.emplace_back(st.op, st.args);
    ++b.report.commands;
    auto reply = b.session->command(st.op, st.args);
    if (!reply) {
        error(b, st.op + ": " + reply.error().message);
        // The board is away: the stimulus still happened (the customer acted) — record it at
        // its due time; the board gets the state when it reconnects.
        if (st.record) push(*st.record, to_scenario(std::max(due, Clock::now())));
        return;
    }
    lateness_us_.push_back(std::chrono::duration<double, std::micro>(reply->sent - due).count());
    if (!reply->ok) error(b, st.op + ": board refused: " + reply->error);
    if (!st.record) return;
    // Widening stimuli count from the moment the COMMAND left; restricting ones from just after
    // the REPLY arrived — every frame the board sent before applying the command arrived before
    // its REPLY (one serial line, in order). docs/bench.md, "Timing rules".
    const TimeMs t = st.restricting ? to_scenario(reply->received) + 1 : to_scenario(reply->sent);
    push(*st.record, t);
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
        if (auto st = set_clock(b); !st) return st.error();
    }

    const DurationMs span = end_ - s_.start;
    const DurationMs step = std::max<DurationMs>(1, span / 100);
    TimeMs next_progress = s_.start + step;
    std::size_t next = 0;
    while (true) {
        apply_link_events();
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
        wake = std::min(wake, now + std::chrono::milliseconds(20));
        std::unique_lock lock(m_);
        cv_.wait_until(lock, wake, [&] { return !link_events_.empty(); });
    }
    // Let in-flight frames arrive, then stop the boards and flush everything.
    const auto settle = Clock::now() + std::chrono::milliseconds(50);
    while (Clock::now() < settle) {
        std::unique_lock lock(m_);
        cv_.wait_until(lock, settle);
    }
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
        stats_.boards.push_back(b.report);
        if (b.stub) b.stub->terminate();
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
