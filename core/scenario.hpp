#pragma once
/// core/scenario.hpp — a scenario file (docs/scenarios.md) as plain data.
///
/// A scenario says which devices exist (named devices and generated fleets), which partner
/// clouds they talk to and in which wire format, what the customer consented to (PROTOCOL.md §3,
/// parsed by core/policy), how the network behaves, how customers interact, what happens when
/// (the timeline), and what a passing run finds (the expectations).
///
/// Units: instants are `TimeMs` (ms since the Unix epoch, UTC); every duration is `DurationMs`
/// (ms) and its field name ends in `_ms`; offsets (`at_ms`) count from `Scenario::start`.
/// Device parameters are doubles: plain numbers keep the unit their name carries (`setpoint_c`
/// is °C, `min_off_s` is seconds), values written as durations are converted to ms and marked
/// `ParamUnit::duration_ms`.
///
/// The loader validates everything it can know (references, ranges, units) and reports the first
/// problem as `file:line:col: <plain words>`. What it cannot know — which parameter names a device
/// model understands — is left to the simulator, which gets each parameter's source location for
/// its own message.
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/category.hpp"
#include "core/findings.hpp"
#include "core/policy.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace consentrig::core {

// ---------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------

enum class DeviceKind : std::uint8_t { thermostat, lock };
inline constexpr std::size_t kDeviceKindCount = 2;

/// Firmware behaviour profiles (firmware-stubs; docs/firmware.md says what each one leaks).
enum class Profile : std::uint8_t {
    compliant,
    proactive,
    flush_after_revoke,
    store_and_forward,
    scope_creep,
    keepalive_leak,
    cause_lie,
};
inline constexpr std::size_t kProfileCount = 7;

/// The format a recipient receives (PROTOCOL.md §1 UPLINK `format`).
enum class WireFormat : std::uint8_t { alexa, google, matter, json };

enum class Via : std::uint8_t { voice, app, physical };
enum class Action : std::uint8_t { set_setpoint, set_mode, lock, unlock, query };
enum class DoorPosition : std::uint8_t { open, closed };
/// `modbus_timeout`: the device's sensor bus stops answering — its firmware keeps the last
/// readings (a QEMU board's plant stops answering; in the simulator the readings freeze).
enum class FaultKind : std::uint8_t { stuck, drift, disconnect, modbus_timeout };

/// Names exactly as written in YAML (and in trace/board-protocol JSON).
[[nodiscard]] std::string_view to_string(DeviceKind k);
[[nodiscard]] std::string_view to_string(Profile p);
[[nodiscard]] std::string_view to_string(WireFormat f);
[[nodiscard]] std::string_view to_string(Via v);
[[nodiscard]] std::string_view to_string(Action a);
[[nodiscard]] std::string_view to_string(DoorPosition d);
[[nodiscard]] std::string_view to_string(FaultKind f);
[[nodiscard]] std::optional<Profile> profile_from_string(std::string_view name);

/// True when `action` makes sense for a device of `kind` (query: both; set_setpoint, set_mode:
/// thermostats; lock, unlock: locks).
[[nodiscard]] bool action_applies(Action action, DeviceKind kind);

// ---------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------

/// A value or a random draw. The simulator draws once per device from (seed, device id).
struct Distribution {
    enum class Kind : std::uint8_t { constant, uniform, normal };
    Kind kind = Kind::constant;
    double a = 0;  ///< constant: the value · uniform: low (inclusive) · normal: mean
    double b = 0;  ///< constant: equal to a · uniform: high (≥ a) · normal: standard deviation (≥ 0)

    [[nodiscard]] static Distribution constant(double value) { return {Kind::constant, value, value}; }
    [[nodiscard]] double mean() const { return kind == Kind::uniform ? (a + b) / 2 : a; }
    friend bool operator==(const Distribution&, const Distribution&) = default;
};

enum class ParamUnit : std::uint8_t {
    number,       ///< written as a number; the unit is the one in the parameter's name
    duration_ms,  ///< written as durations (`30h`, `{uniform: [15h, 55h]}`); values are ms
};

struct Param {
    Distribution value;
    ParamUnit unit = ParamUnit::number;
    SourceLocation where;  ///< the parameter's key, for "unknown parameter" messages
};

/// Parameter name → value. Names are not checked here; the device model decides.
using ParamTable = std::map<std::string, Param, std::less<>>;

/// `base` with every entry of `overrides` put over it (same name: the override wins).
[[nodiscard]] ParamTable merge_params(const ParamTable& base, const ParamTable& overrides);

// ---------------------------------------------------------------------------------------------
// Devices
// ---------------------------------------------------------------------------------------------

struct DeviceSpec {
    std::string id;
    DeviceKind kind = DeviceKind::thermostat;
    Profile profile = Profile::compliant;
    std::vector<std::string> linked;  ///< recipients linked at start (default: every recipient)
    ParamTable params;                ///< overrides of Scenario::parameters for this device
    SourceLocation where;             ///< the `- id:` item
};

struct ProfileWeight {
    Profile profile = Profile::compliant;
    double weight = 0;  ///< normalised: a fleet's weights sum to 1
};

/// `count` generated devices with ids `<prefix>-<n>`, n = 1…count, zero-padded to the width of
/// `count` (count 1000: `home-0001` … `home-1000`).
struct FleetSpec {
    std::string prefix;
    std::uint64_t count = 0;
    DeviceKind kind = DeviceKind::thermostat;
    std::vector<ProfileWeight> profiles;  ///< in Profile order, zero weights dropped, sum 1
    std::vector<std::string> linked;      ///< as DeviceSpec::linked, for every member
    ParamTable params;                    ///< each member draws its own value from these
    SourceLocation where;                 ///< the `- prefix:` item

    [[nodiscard]] std::string device_id(std::uint64_t member) const;  ///< member in 1…count
    /// The member number of `id` when it is one of this fleet's ids, else nullopt.
    [[nodiscard]] std::optional<std::uint64_t> member_of(std::string_view id) const;
    /// The profile for a uniform draw `u` in [0, 1) (cumulative weights in `profiles` order).
    [[nodiscard]] Profile pick_profile(double u) const;
};

/// `<prefix>-<member>` zero-padded to the number of digits of `count`.
[[nodiscard]] std::string fleet_device_id(std::string_view prefix, std::uint64_t count, std::uint64_t member);
/// The same into `out`, reusing its storage (the simulator names devices on every message).
void assign_fleet_device_id(std::string& out, std::string_view prefix, std::uint64_t count, std::uint64_t member);
/// Inverse of fleet_device_id: the member number (1…count) or nullopt.
[[nodiscard]] std::optional<std::uint64_t> fleet_member(std::string_view prefix, std::uint64_t count,
                                                        std::string_view id);

/// One name in a device selector, resolved against the scenario's devices and fleets.
struct DeviceRef {
    enum class Kind : std::uint8_t {
        all,           ///< "*"
        device,        ///< a named device: Scenario::devices[index]
        fleet,         ///< a fleet prefix, every member: Scenario::fleets[index]
        fleet_member,  ///< one generated device, e.g. home-0042: Scenario::fleets[index], `member`
    };
    Kind kind = Kind::all;
    std::string name;          ///< as written
    std::size_t index = 0;
    std::uint64_t member = 0;  ///< fleet_member only, 1-based
};

/// `"*"`, one name, or a list of names (device ids, fleet prefixes, generated ids).
struct DeviceSelector {
    std::vector<DeviceRef> refs;
    SourceLocation where;

    [[nodiscard]] bool all() const;
    [[nodiscard]] bool selects_device(std::size_t device_index) const;
    [[nodiscard]] bool selects_fleet_member(std::size_t fleet_index, std::uint64_t member) const;
    /// True when the selector names the whole fleet, "*", or any member of it.
    [[nodiscard]] bool touches_fleet(std::size_t fleet_index) const;
    /// Selector text for messages and traces: `*`, `thermo-1`, `[thermo-1, home]`.
    [[nodiscard]] std::string text() const;
};

// ---------------------------------------------------------------------------------------------
// Network
// ---------------------------------------------------------------------------------------------

/// Per-attempt latency is lognormal: median_ms · exp(sigma · Z), Z standard normal, with
/// sigma = ln(1 + jitter_ms / median_ms) — so median + jitter is one sigma above the median.
/// jitter_ms = 0 (or median_ms = 0) gives a constant latency.
struct LatencySpec {
    DurationMs median_ms = 80;
    DurationMs jitter_ms = 30;
    [[nodiscard]] double sigma() const;
};

struct OutageSpec {
    DurationMs at_ms = 0;        ///< offset from start
    DurationMs duration_ms = 0;  ///< > 0; may run past the end of the scenario
    DeviceSelector devices;      ///< default "*"
    SourceLocation where;
};

/// Every attempt is lost with probability `loss`; after the k-th lost attempt (k = 1…retries)
/// the device waits backoff_ms · 2^(k-1) and tries again; after `retries` retries the message is
/// dropped. During an outage every attempt is lost.
struct NetworkSpec {
    LatencySpec latency;
    double loss = 0;               ///< 0…1
    std::uint32_t retries = 3;
    DurationMs backoff_ms = 2000;
    std::vector<OutageSpec> outages;  ///< file order
};

// ---------------------------------------------------------------------------------------------
// Customers and the timeline
// ---------------------------------------------------------------------------------------------

/// A customer action (PROTOCOL.md §1 op `interact`).
struct Interaction {
    Via via = Via::app;
    std::string recipient;                   ///< voice/app: the partner it goes through; physical: empty
    Action action = Action::query;
    std::optional<Distribution> setpoint_c;  ///< set_setpoint only (required there), °C
    std::string mode;                        ///< set_mode only (required there): heat|cool|auto|eco|off
};

/// Random interactions: a Poisson process per selected device with `rate_per_day`, thinned to
/// `hours` when given. Devices the action does not apply to (action_applies) are skipped.
struct CustomerSpec {
    DeviceSelector devices;             ///< default "*"
    Interaction interaction;
    double rate_per_day = 0;            ///< events per day per device, > 0
    std::vector<ScheduleWindow> hours;  ///< local time (Scenario::timezone); empty = any time
    SourceLocation where;

    /// True when `hours` is empty or `t` lies inside one of its windows (policy's timezone).
    [[nodiscard]] bool in_hours(const Policy& policy, TimeMs t) const;
};

struct InteractEvent {
    Interaction interaction;
};
/// The customer's consent switch (PROTOCOL.md §1 op `consent`).
struct ConsentEvent {
    std::string recipient;
    CategorySet categories;
    bool all_categories = false;  ///< written as [all] (the trace line then says ["all"])
    bool granted = false;
};
struct LinkEvent {
    std::string recipient;
    bool linked = false;
};
struct NetworkEvent {
    bool up = true;
};
/// Plant stimuli; at least one is set.
struct EnvEvent {
    std::optional<double> outdoor_c;
    std::optional<bool> occupied;
    std::optional<DoorPosition> door;
};
struct FaultEvent {
    FaultKind kind = FaultKind::stuck;
    std::optional<DurationMs> duration_ms;  ///< nullopt: until the end of the run
    double rate_c_per_h = 0;                ///< drift only (required there), may be negative
};
struct ProfileEvent {
    Profile profile = Profile::compliant;
};

using TimelineAction =
    std::variant<InteractEvent, ConsentEvent, LinkEvent, NetworkEvent, EnvEvent, FaultEvent, ProfileEvent>;

struct TimelineEvent {
    DurationMs at_ms = 0;     ///< offset from start, 0 ≤ at_ms < duration_ms
    DeviceSelector devices;   ///< the event's `device:`
    TimelineAction action;
    SourceLocation where;     ///< the `- at:` item

    /// The YAML key: interact, consent, link, network, env, fault or profile.
    [[nodiscard]] std::string_view kind_name() const;
};

// ---------------------------------------------------------------------------------------------
// Expectations
// ---------------------------------------------------------------------------------------------

/// Matches findings by type and, when set, device, recipient and category; the number of
/// matching findings must lie in [min, max].
struct ExpectedFinding {
    FindingType type = FindingType::out_of_window;
    std::string device;             ///< empty: any; a device id, a generated id, or a fleet prefix
    std::uint64_t fleet_count = 0;  ///< > 0 when `device` is a fleet prefix (any member matches)
    std::string recipient;          ///< empty: any
    std::optional<Category> category;  ///< nullopt: any (including none)
    std::uint64_t min = 1;
    std::optional<std::uint64_t> max;  ///< nullopt: no upper bound; `count: n` sets min = max = n
    SourceLocation where;

    [[nodiscard]] bool matches(const FindingHead& finding) const;
    /// `exactly 3 out_of_window for thermo-1 → voice-partner (temperature)`.
    [[nodiscard]] std::string describe() const;
};

struct Expectations {
    /// Empty (the default, and `findings: []`): a passing run finds nothing at all.
    std::vector<ExpectedFinding> findings;
    /// When false, a finding matched by no entry fails the run.
    bool allow_other = false;
    SourceLocation where;  ///< the `expect:` key, or file:1:1 when absent
};

/// Compares a run's findings with the expectations. Ok when they agree; otherwise an Error
/// whose message is the problems, one per line, and (when `problems` is not null) the same
/// problems appended to `*problems`:
///   `expected exactly 3 out_of_window for thermo-1 → voice-partner (temperature), found 1 (s.yaml:40:7)`
///   `unexpected finding: after_revocation thermo-1 → vendor-cloud temperature at 2026-01-05T18:00:02.500Z`
/// At most kMaxUnexpectedListed unexpected findings are listed one by one; the rest are
/// summed up in one line (`… and 1234 more unexpected findings`).
inline constexpr std::size_t kMaxUnexpectedListed = 20;
[[nodiscard]] Status check_expectations(const Expectations& expect, std::span<const FindingHead> findings,
                                        std::vector<std::string>* problems = nullptr);

// ---------------------------------------------------------------------------------------------
// The scenario
// ---------------------------------------------------------------------------------------------

struct Scenario {
    std::string name;         ///< [a-z0-9_-]+
    std::string description;  ///< may be empty
    std::string file;         ///< as given to the loader (messages, report metadata)
    std::string sha256;       ///< lowercase hex SHA-256 of the file's bytes (== `sha256sum FILE`)
    std::uint64_t seed = 1;
    TimeMs start = 0;
    DurationMs duration_ms = 0;  ///< > 0; the run covers [start, start + duration_ms)
    SourceLocation duration_where;  ///< the `duration:` value (limits of a runner name it)
    std::string timezone = "UTC";  ///< == policy.timezone_name()
    Policy policy;                 ///< the `consent:` section (PROTOCOL.md §3)
    std::map<std::string, WireFormat, std::less<>> recipients;  ///< at least one
    std::vector<DeviceSpec> devices;  ///< file order
    std::vector<FleetSpec> fleets;    ///< file order
    /// `parameters:` defaults, indexed by DeviceKind (static_cast<std::size_t>(kind)).
    std::array<ParamTable, kDeviceKindCount> parameters;
    NetworkSpec network;
    std::vector<CustomerSpec> customers;  ///< file order
    std::vector<TimelineEvent> timeline;  ///< sorted by at_ms; equal times keep file order
    Expectations expect;

    [[nodiscard]] TimeMs end() const { return start + duration_ms; }
    [[nodiscard]] const ParamTable& defaults(DeviceKind kind) const {
        return parameters[static_cast<std::size_t>(kind)];
    }
    /// The kind defaults with the device's (or fleet's) own parameters over them.
    [[nodiscard]] ParamTable params_for(const DeviceSpec& device) const;
    [[nodiscard]] ParamTable params_for(const FleetSpec& fleet) const;
    /// True when `selector` selects the device with this id (named or generated).
    [[nodiscard]] bool selects(const DeviceSelector& selector, std::string_view device_id) const;
};

/// Named devices plus every fleet's count.
[[nodiscard]] std::uint64_t device_count(const Scenario& scenario);

/// Reads and validates a scenario file. Errors: `file:line:col: <what is wrong, what was expected>`.
[[nodiscard]] Result<Scenario> load_scenario(const std::filesystem::path& path);

/// The same from text; `file_name` is used in messages and stored in Scenario::file.
[[nodiscard]] Result<Scenario> parse_scenario(std::string_view yaml_text, std::string_view file_name);

/// Lowercase hex SHA-256 of `bytes` (FIPS 180-4).
[[nodiscard]] std::string sha256_hex(std::string_view bytes);

/// Scenario durations: `90m`, `2h30m`, `1d 2h`, `1.5h`, `500ms`, `7200` (a bare number is
/// seconds). Units ms, s, m/min, h, d. nullopt when malformed or negative.
[[nodiscard]] std::optional<DurationMs> parse_scenario_duration(std::string_view text);

}  // namespace consentrig::core
