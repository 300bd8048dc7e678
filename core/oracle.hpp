#pragma once
/// core/oracle.hpp — the leak checker: judges every message of a trace against consent.
///
/// Streaming: feed records in trace order, collect findings, call finish(). Memory holds the
/// consent state (per device × recipient × category), interaction history and, per device ×
/// recipient, the constant-size side-channel statistics — never the messages themselves.
/// The rules are PROTOCOL.md §4, applied in its order; records sharing a millisecond take
/// effect before a message of that millisecond ("a send in the same millisecond as an unlink
/// is after it").
///
///   Oracle oracle(policy, taxonomy);
///   oracle.begin(meta);
///   for each record: oracle.feed(record);
///   std::vector<Finding> findings = oracle.finish();
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/finding_list.hpp"
#include "core/findings.hpp"
#include "core/policy.hpp"
#include "core/taxonomy.hpp"
#include "core/trace.hpp"

namespace consentrig::core {

struct OracleOptions {
    /// cause_mismatch: an interaction through the claimed channel (voice/app via the message's
    /// recipient, or physical) must lie within this long before the message, or in its
    /// millisecond.
    DurationMs cause_tolerance_ms = 60 * kMsPerSecond;
    /// side_channel: a state-free message "follows" a state change when it is sent within this
    /// lag after it.
    DurationMs side_channel_lag_ms = 10 * kMsPerSecond;
    /// side_channel: minimum messages that follow a change, and the significance level of the
    /// one-sided binomial test against the chance rate.
    std::uint64_t side_channel_min_hits = 5;
    double side_channel_alpha = 1e-3;
};

class Oracle {
public:
    Oracle(const Policy& policy, const Taxonomy& taxonomy, OracleOptions options = {});
    ~Oracle();
    Oracle(const Oracle&) = delete;
    Oracle& operator=(const Oracle&) = delete;

    /// Trace start (resolves `from`/`until` offsets): meta.start, else the first record's time.
    void begin(const TraceMeta& meta);
    /// Records must come in non-decreasing time; an earlier time is an error naming the line.
    [[nodiscard]] Status feed(const Record& record);
    /// Live capture (consentrig-gui): no record earlier than `t` will follow, so the messages
    /// held back for their millisecond are judged now instead of at the next record. Later
    /// records must not be earlier than `t`. A no-op before the first record or for an earlier t.
    void advance(TimeMs t);
    /// Flushes pending records, judges side channels, returns all findings in finding_less
    /// order (when no sink is set). `end` is the end of the observation (a simulated run's
    /// end); by default the time of the last record. Side-channel chance rates use it.
    [[nodiscard]] std::vector<Finding> finish(std::optional<TimeMs> end = std::nullopt);

    /// Optional: receive findings as they are made instead of collecting them (benchmarks,
    /// huge traces). side_channel findings arrive from finish().
    void set_sink(std::function<void(Finding&&)> sink);

    struct Stats {
        std::uint64_t records = 0;
        std::uint64_t messages = 0;
        std::uint64_t gaps = 0;
    };
    [[nodiscard]] const Stats& stats() const;
    /// Every device the trace mentioned (except "*"), sorted.
    [[nodiscard]] std::vector<std::string> devices() const;

    // The consent state the oracle derived, for reports and the GUI (timelines). Valid for any
    // time up to the last record fed; answers exactly what the rules of PROTOCOL.md §4 used.
    /// A grant covers `c` for `recipient` at `t` (validity, basis, not withdrawn) and the
    /// recipient is linked.
    [[nodiscard]] bool consented_at(std::string_view device, std::string_view recipient, Category c, TimeMs t) const;
    [[nodiscard]] bool linked_at(std::string_view device, std::string_view recipient, TimeMs t) const;
    /// Interactions with `device` through `recipient`, in time order.
    [[nodiscard]] std::vector<TimeMs> interactions(std::string_view device, std::string_view recipient) const;
    /// Recipients the trace or the policy names for `device`, sorted.
    [[nodiscard]] std::vector<std::string> recipients(std::string_view device) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Convenience: open, judge, and collect. Errors name file and line.
struct CheckResult {
    TraceMeta meta;
    FindingList findings;  ///< sorted
    std::vector<std::string> warnings;
    std::vector<std::string> devices;  ///< sorted
    Oracle::Stats stats;
};
/// `progress`, when set, is called every kProgressRecords records with the count so far.
/// `findings`: where the findings go (FindingList::on_disk for a big trace); in memory by default.
inline constexpr std::uint64_t kProgressRecords = 100'000;
[[nodiscard]] Result<CheckResult> check_trace(const Policy& policy, const Taxonomy& taxonomy,
                                              TraceSource& source, OracleOptions options = {},
                                              const std::function<void(std::uint64_t)>& progress = {},
                                              FindingList findings = {});

}  // namespace consentrig::core
