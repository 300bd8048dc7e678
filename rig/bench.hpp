#pragma once
/// rig/bench.hpp — replays a scenario in wall-clock time against boards and captures them.
///
/// Each named device of the scenario gets a board: a host stub (firmware-stubs/host,
/// consentrig-board) started on a pty with the device's kind, profile, partners and firmware
/// parameters, a QEMU Cortex-M3 board (rig/qemu.hpp) configured the same way whose plant the rig
/// serves over Modbus RTU (plant/), or a serial port given by the caller (optionally with a
/// plant link). Environment events and sensor/Modbus faults act on a board's plant. The rig handshakes, sets `time_scale`
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
#include "plant/plant.hpp"
#include "rig/frame.hpp"
#include "rig/session.hpp"

namespace consentrig::rig {

using core::DurationMs;

/// What kind of board runs a scenario device.
enum class BoardType : std::uint8_t {
    stub,    ///< a host stub (consentrig-board) the rig starts on a pty
    qemu,    ///< the Cortex-M3 image on qemu-system-arm mps2-an385, plant served on its UART1
    serial,  ///< a board on a serial port (a real board, or anything speaking PROTOCOL.md §1)
};
[[nodiscard]] std::string_view to_string(BoardType t);

/// Where the rig serves a serial board's plant over Modbus (QEMU boards always get RTU on
/// their second UART).
struct PlantLink {
    enum class Kind : std::uint8_t { none, rtu, tcp } kind = Kind::none;
    std::string path;               ///< rtu: serial device (e.g. a USB-RS-485 adapter)
    std::uint32_t baud = 115200;    ///< rtu
    std::string address = "127.0.0.1";  ///< tcp: listen address
    int port = 0;                   ///< tcp: listen port (0: any free port)
    std::uint8_t unit = 1;          ///< Modbus unit id of the plant (1…247)
};

/// Where a scenario device's board is.
struct BoardSpec {
    std::string device;      ///< scenario device id
    BoardType type = BoardType::stub;
    std::string port;        ///< serial: the port (or a pty path)
    std::uint32_t baud = 115200;
    PlantLink plant;         ///< serial: optional plant; qemu: always RTU on UART1
};

/// Modbus timeout fault: the plant of `device` stops answering at scenario offset `at_ms` for
/// `duration_ms` (scenario time; nullopt: until the end).
struct PlantTimeout {
    std::string device;
    DurationMs at_ms = 0;
    std::optional<DurationMs> duration_ms;
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
    std::vector<BoardSpec> boards;             ///< devices not listed get `default_board`
    BoardType default_board = BoardType::stub; ///< stub or qemu
    std::vector<BoardKill> kills;              ///< host stubs and QEMU boards
    std::vector<PlantTimeout> plant_timeouts;  ///< plant-backed boards only
    std::string stub_program;                  ///< default: default_stub_program()
    std::string qemu_program;                  ///< default: default_qemu_program()
    std::filesystem::path m3_image;            ///< default: default_m3_image()
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
    BoardType type = BoardType::stub;
    std::string port;          ///< pty path or serial port
    std::string plant_link;    ///< where its plant was served ("" without one)
    std::optional<plant::PlantSnapshot> plant;  ///< the plant at the end of the replay
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
    std::string scheduling;      ///< of the stimulus loop: "SCHED_FIFO 10" or "normal (why)"
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
