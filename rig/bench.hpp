#pragma once
/// rig/bench.hpp — replays a scenario in wall-clock time against boards and captures them.
///
/// Each named device of the scenario gets a board: a host stub (firmware-stubs/host,
/// consentrig-board) started on a pty with the device's kind, profile, partners and firmware
/// parameters, or a serial port given by the caller. The rig handshakes, sets `time_scale`
/// (when > 1; every board must advertise the cap) and the clock, then sends the scenario's
/// stimuli when they are due: timeline events (interact, consent, link, network, env, profile,
/// fault disconnect = the board vanishes for the fault's duration), network outages, and the
/// customers' random interactions. Everything the boards send is captured with its arrival time
/// and handed to the record callback in time order together with the rig's own interaction /
/// consent / link records (PROTOCOL.md §2). docs/bench.md describes the timing rules.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/scenario.hpp"
#include "core/trace.hpp"
#include "rig/frame.hpp"
#include "rig/session.hpp"

namespace consentrig::rig {

using core::DurationMs;

/// Where a scenario device's board is.
struct BoardSpec {
    std::string device;      ///< scenario device id
    std::string port;        ///< empty: start a host stub; else a serial port / pty path
    std::uint32_t baud = 115200;
};

/// Kill a board's stub at scenario offset `at_ms`; it comes back after `down_ms` (scenario
/// time; nullopt: never).
struct BoardKill {
    std::string device;
    DurationMs at_ms = 0;
    std::optional<DurationMs> down_ms;
};

struct BenchProgress {
    double fraction = 0;
    core::TimeMs scenario_now = 0;
    std::uint64_t records = 0;
    std::uint64_t messages = 0;
};

struct BenchOptions {
    double time_scale = 1;                     ///< 1 = real time; > 1 needs the boards' cap
    std::optional<DurationMs> duration_ms;     ///< replay only this much of the scenario
    std::vector<BoardSpec> boards;             ///< devices not listed get host stubs
    std::vector<BoardKill> kills;
    std::string stub_program;                  ///< default: default_stub_program()
    std::filesystem::path work_dir = ".";      ///< pty links and stub logs
    bool pace = false;                         ///< pace writes at the baud rate (both sides)
    SessionOptions session;
    std::function<void(const BenchProgress&)> progress;  ///< about every 1 % (main thread)
};

/// Percentiles of a set of samples (microseconds).
struct Percentiles {
    std::uint64_t count = 0;
    double p50_us = 0;
    double p99_us = 0;
    double max_us = 0;
};
[[nodiscard]] Percentiles percentiles(std::vector<double> samples_us);

struct BoardReport {
    std::string device;
    std::string port;          ///< pty path or serial port
    BoardInfo info;
    FrameCounters counters;
    std::uint64_t hellos = 0;
    std::uint64_t gaps = 0;
    std::uint64_t commands = 0;
    std::uint64_t command_errors = 0;  ///< timeouts, write failures, ok:false replies
    std::vector<std::string> errors;   ///< the first few, as text
    double drift_ppm = 0;
    double max_delay_ms = 0;   ///< worst arrival − mapped board time
    std::uint64_t captured = 0;
};

struct BenchStats {
    double wall_seconds = 0;
    double time_scale = 1;
    core::TimeMs start = 0;
    core::TimeMs end = 0;        ///< scenario time replayed up to
    Percentiles lateness;        ///< stimulus sent − scheduled (wall)
    Percentiles capture_uncertainty;  ///< per capture: read-chunk spread (µs between the first
                                      ///< byte's poll wake-up and the stamp), see docs/bench.md
    std::uint64_t records = 0;
    std::uint64_t messages = 0;  ///< egress records
    std::uint64_t logs = 0;      ///< LOG frames (not in the trace)
    std::uint64_t reordered = 0; ///< records that arrived too late for time order (clamped)
    std::vector<BoardReport> boards;
    std::vector<std::string> warnings;  ///< stimuli the bench cannot apply (plant faults…)
};

/// Receives each record in non-decreasing `t` (`gap` records carry their start and are written
/// when the gap ends). A failing sink stops the run.
using BenchSink = std::function<core::Status(const core::Record&)>;
/// Receives LOG frames (device, capture).
using LogSink = std::function<void(const std::string&, const Capture&)>;

[[nodiscard]] core::Result<BenchStats> run_bench(const core::Scenario& scenario, const BenchSink& sink,
                                                 const BenchOptions& options, const LogSink& logs = {});

/// The meta record of a bench run (source "bench").
[[nodiscard]] core::TraceMeta bench_meta(const core::Scenario& scenario);

/// The host-stub command line for a scenario device (kind, profile, id, partners with their
/// interaction windows and standing `always` bases, firmware parameters). Error when the
/// device uses something a board cannot be given.
[[nodiscard]] core::Result<std::vector<std::string>> stub_args(const core::Scenario& scenario,
                                                               const core::DeviceSpec& device,
                                                               std::vector<std::string>* warnings = nullptr);

}  // namespace consentrig::rig
