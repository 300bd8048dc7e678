#pragma once
/// runner/ — one scenario run, end to end: simulate the fleet (sim/) or replay the scenario on
/// boards in wall-clock time (rig/), store every record in trace.db as it is made, judge it with
/// the oracle, and write findings.json, run.json, junit.xml and the reports (reports/).
///
/// `consentrig run`, `suite` and `bench` and the GUI's scenario runs all call `run_scenario`, so
/// a run started from the window writes the same files, byte for byte, as one started from CI.
///
///     auto taxonomy = runner::load_taxonomy({});
///     runner::RunOptions o;  o.out = "out/x";
///     auto outcome = runner::run_scenario(scenario, *taxonomy, o);
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/finding_list.hpp"
#include "core/result.hpp"
#include "core/taxonomy.hpp"
#include "core/time.hpp"
#include "rig/bench.hpp"
#include "sim/fleet.hpp"

namespace consentrig::core {
class Oracle;
class Policy;
struct Scenario;
}  // namespace consentrig::core

namespace consentrig::runner {

/// Where a run is; sent about every 1 % of scenario time.
struct Progress {
    double fraction = 0;
    core::TimeMs now = 0;         ///< scenario time reached
    std::uint64_t devices = 0;
    std::uint64_t messages = 0;
    std::uint64_t findings = 0;   ///< found so far
    /// Once the scenario has run: what is being written ("findings.json", "reports"), which
    /// takes a while for hundreds of thousands of findings. Empty while the scenario runs.
    std::string_view writing;
};

/// Bytes free to this process on the file system that holds `path`; nullopt when unknown.
using FreeSpace = std::function<std::optional<std::uint64_t>(const std::filesystem::path&)>;
/// The operating system's answer (std::filesystem::space).
[[nodiscard]] std::optional<std::uint64_t> os_free_space(const std::filesystem::path& path);

struct RunOptions {
    std::filesystem::path out;              ///< output folder (created; a previous trace there is replaced)
    std::optional<std::uint64_t> seed;      ///< overrides the scenario's seed
    sim::Shard shard;
    /// Set: replay on boards in wall-clock time (host stubs, serial ports, QEMU) instead of
    /// simulating. Its `progress` is replaced by the runner's.
    std::optional<rig::BenchOptions> bench;
    std::function<void(const Progress&)> progress;
    /// Set to true from any thread to stop the run at the next record; what was captured is
    /// kept and judged, and the reports say the run is incomplete.
    const std::atomic<bool>* cancel = nullptr;
    /// Told once, as soon as trace.db's growth so far, carried on to the end of the scenario,
    /// would need more than the space left in `out` (a million-device day writes about 77 GB).
    /// The run goes on: a full disk later stops it with an error and keeps what was committed.
    std::function<void(const std::string&)> warn;
    FreeSpace free_space = os_free_space;
};

struct RunOutcome {
    /// Sorted (core::finding_less); their evidence is in a spill file in `out` (never named).
    core::FindingList findings;
    std::vector<std::string> devices;      ///< that the oracle saw
    std::uint64_t device_count = 0;        ///< simulated / boards
    std::uint64_t events = 0;
    std::uint64_t messages = 0;
    std::uint64_t records = 0;
    core::TimeMs replayed_to = 0;          ///< scenario time the run reached
    bool complete = true;                  ///< the whole scenario ran (not cancelled, no --duration)
    bool cancelled = false;
    std::optional<rig::BenchStats> bench;  ///< bench runs: boards, counters, timings
    std::optional<sim::FleetStats> fleet;  ///< simulated runs: events, network retries and losses
    std::filesystem::path out;
    double seconds = 0;
    /// Only meaningful when `complete`: the scenario's expectations hold.
    bool expectations_met = false;
    std::vector<std::string> expectation_problems;
};

/// The built-in taxonomy with `extra` YAML files merged over it, in order.
[[nodiscard]] core::Result<core::Taxonomy> load_taxonomy(const std::vector<std::string>& extra);

/// Runs `scenario` into `options.out` (see the file comment); a bench run also writes the boards'
/// LOG frames to board-log.jsonl and keeps pty links and stub logs in `boards/`. Errors: bad output folder, a trace
/// that cannot be written, a simulator or bench failure (boards that cannot be started).
[[nodiscard]] core::Result<RunOutcome> run_scenario(const core::Scenario& scenario, const core::Taxonomy& taxonomy,
                                                    const RunOptions& options);

/// Builds the report model and writes report.html, report.json, summary.md and report.pdf into
/// `out`. `info`: run.json-style metadata; `oracle` null: the trace is judged again.
[[nodiscard]] core::Status write_reports(const nlohmann::json& info, const core::Policy& policy,
                                         const core::Taxonomy& taxonomy, const core::Oracle* oracle,
                                         const core::FindingList& findings, const std::filesystem::path& trace,
                                         const core::Scenario* scenario, const std::filesystem::path& out);

/// Writes a whole file via a temporary and rename, so a reader never sees half a file; a device
/// or pipe that already exists (`/dev/stdout`) is written in place.
[[nodiscard]] core::Status write_file(const std::filesystem::path& path, std::string_view content);
/// The same, for content written as a stream (findings.json of a million findings).
[[nodiscard]] core::Status write_file(const std::filesystem::path& path,
                                      const std::function<core::Status(std::ostream&)>& write);
/// findings.json of `findings` (sorted) with the `head` metadata (core::write_findings_json).
[[nodiscard]] core::Status write_findings_file(const std::filesystem::path& path, const core::FindingList& findings,
                                               const nlohmann::json& head);

/// JSON as every output file of a run writes it (2-space indent, invalid UTF-8 replaced).
[[nodiscard]] std::string dump_json(const nlohmann::json& j);

}  // namespace consentrig::runner
