#pragma once
/// core/policy.hpp — the consent policy of PROTOCOL.md §3, loaded from YAML.
///
/// A policy is a list of grants (recipient × devices × categories × basis). It is the static
/// half of consent; the dynamic half (interactions, withdrawals, links) comes from the trace and
/// is tracked by the oracle. `from`/`until` may be offsets from the trace start, so a grant's
/// validity is resolved against a start time by `Policy::resolve`.
///
/// Load with `load_policy_file("policy.yaml")`; a scenario file works too (its top-level
/// `timezone:` and `consent:` keys are read, other top-level keys ignored).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/category.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace YAML {
class Node;
}
namespace date {
class time_zone;
}

namespace consentrig::core {

enum class Basis : std::uint8_t { always, schedule, interaction, never };
[[nodiscard]] std::string_view to_string(Basis b);

/// Where something came from in a YAML file, for error messages and evidence.
struct SourceLocation {
    std::string file;
    int line = 0;    ///< 1-based
    int column = 0;  ///< 1-based
};
[[nodiscard]] std::string to_string(const SourceLocation& where);  ///< `file:line:col`

/// A recurring weekly window in local time, e.g. `Mon-Fri 08:00-20:00`. Includes its start,
/// excludes its end. An end at or before the start runs past midnight into the next day
/// (`Fri 22:00-06:00` is Friday 22:00 to Saturday 06:00). `24:00` is allowed as an end.
struct ScheduleWindow {
    std::uint8_t days = 0;          ///< bit d set = starts on weekday d (0 = Sunday … 6 = Saturday)
    std::int32_t start_minute = 0;  ///< minutes after local midnight, 0…1439
    std::int32_t end_minute = 0;    ///< 1…1440
    std::string text;               ///< as written, for evidence
};

/// `from`/`until` as written: an offset from the trace start or an absolute instant.
struct TimeBound {
    enum class Kind : std::uint8_t { none, offset, absolute };
    Kind kind = Kind::none;
    std::int64_t value_ms = 0;  ///< DurationMs for offset, TimeMs for absolute
    std::string text;           ///< as written
    [[nodiscard]] std::optional<TimeMs> resolve(TimeMs trace_start) const;
};

struct Grant {
    std::string recipient;
    std::vector<std::string> devices;  ///< empty or containing "*" = every device
    CategorySet categories;            ///< `[all]` sets every bit
    Basis basis = Basis::always;
    DurationMs within_ms = 0;          ///< interaction basis only
    std::vector<ScheduleWindow> windows;  ///< schedule basis only
    TimeBound from;
    TimeBound until;
    SourceLocation where;              ///< the grant's `- recipient:` item in the YAML

    [[nodiscard]] bool applies_to_device(std::string_view device) const;
};

class Policy {
public:
    Policy() = default;

    [[nodiscard]] const std::string& timezone_name() const { return timezone_name_; }
    [[nodiscard]] const std::vector<Grant>& grants() const { return grants_; }
    [[nodiscard]] const std::string& source() const { return source_; }

    /// True when `t` lies inside one of the grant's schedule windows, in the policy's timezone
    /// (DST-correct: windows are local wall-clock times). Only meaningful for `schedule` grants.
    [[nodiscard]] bool in_schedule(const Grant& grant, TimeMs t) const;

    /// Local weekday (0 = Sunday) and milliseconds since local midnight of `t`.
    struct LocalTime {
        int weekday = 0;
        std::int64_t ms_of_day = 0;
    };
    [[nodiscard]] LocalTime to_local(TimeMs t) const;

    // Built by the loader.
    void set_timezone(std::string name, const date::time_zone* zone);
    void add_grant(Grant grant) { grants_.push_back(std::move(grant)); }
    void set_source(std::string source) { source_ = std::move(source); }

private:
    std::string timezone_name_ = "UTC";
    const date::time_zone* zone_ = nullptr;  ///< nullptr = UTC
    std::vector<Grant> grants_;
    std::string source_;  ///< file name, for evidence
};

/// Reads a policy (or scenario) YAML file. Errors name `file:line:col` and what was expected,
/// e.g. `policy.yaml:7:14: unknown category "temprature" (expected one of temperature, …, all)`.
[[nodiscard]] Result<Policy> load_policy_file(const std::filesystem::path& path);

/// The same from text; `file_name` is only used in messages.
[[nodiscard]] Result<Policy> parse_policy(std::string_view yaml_text, std::string_view file_name);

/// From an already-parsed YAML document (a scenario loader passes its root here).
[[nodiscard]] Result<Policy> policy_from_yaml(const YAML::Node& root, std::string_view file_name);

/// Parses `Mon-Fri 08:00-20:00`, `Sat 10:00-12:00`, `Mon,Wed,Fri 07:30-09:00`, `08:00-20:00`
/// (every day), `Fri-Mon 22:00-06:00`. nullopt with `why` filled when malformed.
[[nodiscard]] std::optional<ScheduleWindow> parse_schedule_window(std::string_view text,
                                                                  std::string* why);

}  // namespace consentrig::core
