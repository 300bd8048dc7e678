#pragma once
/// reports/model.hpp — one report, computed once, rendered by every format.
///
/// `build_report` turns what a run or a check produced — the consent policy, the oracle after
/// finish() (its consent-state queries), the findings, and the stored trace — into a `Report`:
/// the verdict, per-provision verdicts, aggregates over the fleet, per-device timelines for the
/// worst devices, coverage of the policy's boundaries, and run metadata. HTML, report.json,
/// Markdown and PDF render this model; none of them recomputes it.
///
///   auto report = reports::build_report(input, options);   // after oracle.finish()
///   reports::write_reports(*report, out_dir, {});           // reports/write.hpp
///
/// Everything here is plain data; strings that came from a device (ids, recipients, bodies) are
/// kept as captured (possibly invalid UTF-8) and escaped by each renderer for its format.
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/finding_list.hpp"
#include "core/oracle.hpp"
#include "core/policy.hpp"
#include "core/taxonomy.hpp"
#include "reports/provisions.hpp"

namespace consentrig::reports {

/// Schema version of report.json (docs/reports.md, "report.json").
inline constexpr int kReportSchemaVersion = 1;

/// What the caller knows about the run; everything optional except what a check always has.
struct RunInfo {
    std::string scenario;          ///< scenario name (or the trace meta's)
    std::string description;       ///< the scenario's description
    std::string scenario_file;
    std::string scenario_sha256;
    std::optional<std::uint64_t> seed;
    std::string version;           ///< consentrig version
    std::string source;            ///< "sim", "bench", … (trace meta)
    std::string trace;             ///< trace file
    std::string policy;            ///< policy file (check/report --policy)
    std::string command;           ///< run, check, report
    std::optional<core::TimeMs> start;  ///< observation start (default: trace meta start, else first record)
    std::optional<core::TimeMs> end;    ///< observation end (default: last record)
    std::optional<double> seconds;      ///< how long the run or check took
    std::optional<std::pair<std::uint32_t, std::uint32_t>> shard;  ///< index, count
    /// Set: the run stopped before the scenario's end (cancelled, --duration, a rig killed
    /// mid-run) and the trace covers it up to here; the reports say INCOMPLETE.
    std::optional<core::TimeMs> incomplete_to;
    struct Expectations {
        bool checked = false;
        bool met = false;
        std::vector<std::string> problems;
    } expectations;
    /// Anything else worth showing as key → value: board identities and the rig's timing
    /// figures for bench runs, simulator statistics for fleet runs. Rendered escaped.
    nlohmann::json extra = nlohmann::json::object();
};

struct ReportInput {
    const core::Policy* policy = nullptr;
    const core::Taxonomy* taxonomy = nullptr;
    const core::Oracle* oracle = nullptr;     ///< finished; its queries answer the timelines
    const core::FindingList* findings = nullptr;  ///< sorted (core::finding_less); required; must outlive the Report
    std::filesystem::path trace;              ///< streamed once for ticks, gaps and coverage; empty: none
    RunInfo info;
    /// Optional: the behaviour profile / kind of a device (the scenario knows; a bare trace not).
    std::function<std::string(std::string_view device)> profile_of;
    std::function<std::string(std::string_view device)> kind_of;
};

struct ReportOptions {
    std::size_t max_timelines = 50;         ///< full timelines for at most this many (worst) devices
    std::size_t max_listed_findings = 2000; ///< findings listed with evidence in HTML/PDF
    std::size_t max_ranked = 100;           ///< devices in the ranking table
    core::DurationMs edge_tolerance_ms = 15 * core::kMsPerMinute;  ///< "near" a boundary
    std::size_t max_ticks_per_device = 200000;  ///< message ticks kept per timeline device
};

struct Interval {
    core::TimeMs from = 0;
    core::TimeMs to = 0;  ///< exclusive
};

/// One row of a timeline: a recipient × category (or the recipient's own strip).
struct Band {
    std::optional<core::Category> category;  ///< nullopt: the recipient strip (state-free messages)
    std::vector<Interval> consent;            ///< when consent held (Oracle::consented_at)
    std::vector<core::TimeMs> sends;          ///< messages carrying the category, not leaks
    std::vector<std::pair<core::TimeMs, std::size_t>> leaks;  ///< (time, finding index)
};

struct ConsentMark {
    core::TimeMs t = 0;
    std::string text;     ///< "withdrawn: temperature, setpoint", "unlinked", "linked", "granted: all"
    bool revokes = false;
    bool all_devices = false;  ///< a "*" line
    std::uint64_t line = 0;
};

struct Lane {
    std::string recipient;
    std::vector<Interval> unlinked;
    std::vector<core::TimeMs> interactions;  ///< through this recipient
    std::vector<ConsentMark> marks;
    Band strip;                 ///< state-free messages; cause_mismatch / side_channel / unclassified leaks
    std::vector<Band> bands;    ///< one per category, in category order
    std::uint64_t messages = 0;
};

struct Gap {
    core::TimeMs from = 0;
    core::TimeMs to = 0;
    std::string reason;
};

struct DeviceTimeline {
    std::string device;
    std::string kind;
    std::string profile;
    std::uint64_t messages = 0;
    std::uint64_t findings = 0;
    core::FindingCounts counts{};
    std::vector<Lane> lanes;
    std::vector<Gap> gaps;
    std::vector<core::TimeMs> physical;  ///< physical interactions (keypad, thermostat dial)
    bool truncated = false;              ///< more messages than max_ticks_per_device
};

struct DeviceRank {
    std::string device;
    std::string kind;
    std::string profile;
    std::uint64_t findings = 0;
    std::uint64_t messages = 0;
    core::FindingCounts counts{};
    std::optional<std::size_t> timeline;  ///< index into Report::timelines
};

struct ProfileRow {
    std::uint64_t devices = 0;
    std::uint64_t with_findings = 0;
    std::uint64_t findings = 0;
    core::FindingCounts counts{};
};

struct Aggregates {
    core::FindingCounts by_type{};
    std::map<std::string, core::FindingCounts> by_recipient;  ///< recipients with findings or messages
    std::map<std::string, std::uint64_t> messages_by_recipient;
    std::array<std::uint64_t, core::kCategoryCount> by_category{};  ///< findings per category
    std::map<std::string, ProfileRow> by_profile;  ///< only when profiles are known
    std::uint64_t devices = 0;
    std::uint64_t devices_with_findings = 0;
    std::vector<DeviceRank> ranked;  ///< worst first, at most max_ranked
};

struct ProvisionResult {
    ProvisionId id = ProvisionId::en_6_1;
    Verdict verdict = Verdict::inconclusive;
    std::string reason;
    std::uint64_t findings = 0;
    core::FindingCounts counts{};
    std::vector<std::size_t> examples;  ///< finding indices (listed ones), at most 20
};

/// A boundary the run could have probed, and whether it did.
struct CoverageEdge {
    core::TimeMs t = 0;
    std::string what;  ///< "opens", "closes", "valid from", "valid until"
    std::uint64_t sends = 0;    ///< state messages to the recipient within ± tolerance
    std::uint64_t changes = 0;  ///< true-state changes of a covered category within ± tolerance
    [[nodiscard]] bool exercised() const { return sends + changes > 0; }
};

struct CoverageItem {
    std::string kind;       ///< schedule, validity, interaction, always, never, withdrawal, unlink, restore, categories
    std::string recipient;
    std::string where;      ///< policy.yaml:12:5, or `trace line 812` / the time for trace events
    std::string subject;    ///< what the boundary is, in words
    std::uint64_t total = 0;
    std::uint64_t exercised = 0;
    std::string detail;     ///< how it was (not) exercised
    std::vector<CoverageEdge> edges;  ///< schedule/validity edges (at most 200 kept)
    [[nodiscard]] std::string_view status() const {
        return total == 0 ? "n/a" : exercised == total ? "exercised" : exercised == 0 ? "never exercised" : "partly exercised";
    }
};

struct Coverage {
    core::DurationMs tolerance_ms = 0;
    std::vector<CoverageItem> items;
    std::vector<std::string> untested;  ///< plain sentences: what the run never tested
    std::uint64_t revocations = 0;           ///< withdrawal/unlink lines in the trace
    std::uint64_t revocations_exercised = 0;
};

struct ReportMeta {
    RunInfo info;
    core::TimeMs start = 0;
    core::TimeMs end = 0;
    std::string timezone;
    std::uint64_t records = 0;
    std::uint64_t messages = 0;
    std::uint64_t state_messages = 0;      ///< carrying at least one category
    std::uint64_t sensitive_messages = 0;  ///< carrying occupancy, lock_state or door_state
    std::uint64_t interactions = 0;
    std::uint64_t gaps = 0;
    std::vector<std::string> warnings;
};

/// A label on the time axis, in the policy's timezone (schedule windows are local times).
struct AxisMark {
    core::TimeMs t = 0;
    std::string label;   ///< `Mon 01-05` at local midnight, `06:00` otherwise
    bool major = false;  ///< local midnight
};

struct Report {
    ReportMeta meta;
    std::vector<AxisMark> axis;
    Verdict verdict = Verdict::inconclusive;
    std::string verdict_reason;
    std::array<ProvisionResult, kProvisionCount> provisions{};
    Aggregates aggregates;
    std::vector<DeviceTimeline> timelines;  ///< worst devices first
    Coverage coverage;
    const core::FindingList* findings = nullptr;  ///< all, finding_less order (not owned, never null)
    std::vector<std::size_t> listed;          ///< indices of findings listed with evidence, in order
    std::map<std::size_t, nlohmann::json> evidence;  ///< of each listed finding, read back from the list
    /// The captured body (verbatim trace text) of each listed finding's message: finding index
    /// → index into `messages`. Findings whose message was not found in the trace have none
    /// (their evidence still holds the message, re-serialised).
    std::map<std::size_t, std::size_t> message_of;
    std::vector<std::string> messages;
    double build_seconds = 0;
};

/// Builds the report. Streams `input.trace` once (when given). Errors: an unreadable trace, the
/// evidence of a listed finding that cannot be read back.
[[nodiscard]] core::Result<Report> build_report(const ReportInput& input, const ReportOptions& options = {});

/// Everything a report needs from a stored trace alone: judges it with a fresh oracle (the
/// same rules as `consentrig check`), then builds the report. `findings` receives the findings
/// (the Report points into it, so it must outlive the Report).
struct JudgedTrace {
    std::unique_ptr<core::Oracle> oracle;
    core::FindingList findings;  ///< sorted
    core::TraceMeta meta;
    std::vector<std::string> warnings;
    core::TimeMs first = 0;
    core::TimeMs last = 0;
    core::Oracle::Stats stats;
};
struct JudgeOptions {
    /// End of the observation (side-channel chance rates); default: the last record's time.
    std::optional<core::TimeMs> end;
    /// Judge as if the records had no line numbers, as a live simulator run does (so findings
    /// rebuilt from a run's trace.db are byte-identical to the run's findings.json).
    bool without_lines = false;
    /// Where the findings' evidence goes (core::FindingList::on_disk); empty: kept in memory.
    std::filesystem::path spill_dir;
    /// False: only the oracle's consent state is wanted; the findings are not kept.
    bool keep_findings = true;
};
[[nodiscard]] core::Result<JudgedTrace> judge_trace(const core::Policy& policy, const core::Taxonomy& taxonomy,
                                                    const std::filesystem::path& trace, const JudgeOptions& options = {});

}  // namespace consentrig::reports
