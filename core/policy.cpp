#include "core/policy.hpp"

#include "core/text_file.hpp"
#include "core/yaml_source.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

#include <date/tz.h>
#include <yaml-cpp/yaml.h>

namespace consentrig::core {
namespace {

constexpr std::int32_t kMinutesPerHour = 60;
constexpr std::int32_t kHoursPerDay = 24;
constexpr std::int32_t kMinutesPerDay = kMinutesPerHour * kHoursPerDay;
constexpr int kDaysPerWeek = 7;
constexpr int kEpochWeekday = 4;  ///< 1970-01-01 was a Thursday (0 = Sunday)
constexpr std::uint8_t kEveryDay = (1U << kDaysPerWeek) - 1U;
constexpr std::int32_t kDecimalBase = 10;

/// Instants further than this from the epoch (about ±100 000 years) are clamped before the zone
/// lookup and the offset addition, so that neither can overflow.
constexpr TimeMs kLocalTimeLimitMs = 100'000LL * 366 * kMsPerDay;

constexpr std::string_view kUtcName = "UTC";

struct DayName {
    std::string_view abbreviation;
    std::string_view full;
};
/// Indexed by weekday, 0 = Sunday, matching ScheduleWindow::days.
constexpr std::array<DayName, kDaysPerWeek> kDayNames{{
    {"Sun", "Sunday"},
    {"Mon", "Monday"},
    {"Tue", "Tuesday"},
    {"Wed", "Wednesday"},
    {"Thu", "Thursday"},
    {"Fri", "Friday"},
    {"Sat", "Saturday"},
}};

constexpr std::string_view kWindowSyntax =
    R"(expected "[days ]HH:MM-HH:MM", e.g. "Mon-Fri 08:00-20:00", "Sat 10:00-12:00", )"
    R"("Mon,Wed,Fri 07:30-09:00" or "08:00-20:00")";

// ---------------------------------------------------------------------------------------------
// Small text helpers
// ---------------------------------------------------------------------------------------------

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

std::string clock_text(std::int32_t minute) {
    constexpr std::size_t kClockBuffer = 24;  // room for any int32 pair; minutes are < 1441
    std::array<char, kClockBuffer> buf{};
    std::snprintf(buf.data(), buf.size(), "%02d:%02d", minute / kMinutesPerHour, minute % kMinutesPerHour);
    return buf.data();
}

// ---------------------------------------------------------------------------------------------
// Schedule windows
// ---------------------------------------------------------------------------------------------

std::optional<int> weekday_from_name(std::string_view name) {
    for (std::size_t d = 0; d < kDayNames.size(); ++d) {
        if (iequals(name, kDayNames[d].abbreviation) || iequals(name, kDayNames[d].full)) {
            return static_cast<int>(d);
        }
    }
    return std::nullopt;
}

/// `H:MM` or `HH:MM`, 00:00…24:00, as minutes after midnight.
std::optional<std::int32_t> parse_clock(std::string_view s) {
    const auto colon = s.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 2 || s.size() != colon + 3) {
        return std::nullopt;
    }
    std::int32_t hour = 0;
    for (std::size_t i = 0; i < colon; ++i) {
        if (s[i] < '0' || s[i] > '9') return std::nullopt;
        hour = hour * kDecimalBase + (s[i] - '0');
    }
    const char m1 = s[colon + 1];
    const char m2 = s[colon + 2];
    if (m1 < '0' || m1 > '5' || m2 < '0' || m2 > '9') return std::nullopt;
    const std::int32_t minute = (m1 - '0') * kDecimalBase + (m2 - '0');
    if (hour > kHoursPerDay || (hour == kHoursPerDay && minute != 0)) return std::nullopt;
    return hour * kMinutesPerHour + minute;
}

void set_why(std::string* why, std::string text) {
    if (why != nullptr) *why = std::move(text);
}

/// `daily`, or a comma-separated list of days and day ranges (`Mon-Fri`, `Fri-Mon` wraps).
std::optional<std::uint8_t> parse_days(std::string_view spec, std::string* why) {
    if (iequals(spec, "daily")) return kEveryDay;
    std::uint8_t days = 0;
    while (true) {
        const auto comma = spec.find(',');
        const std::string_view item = trim(spec.substr(0, comma));
        if (item.empty()) {
            set_why(why, "empty day in " + quote_text(spec) + " (a comma with nothing around it?)");
            return std::nullopt;
        }
        const auto dash = item.find('-');
        const std::string_view first_name = trim(item.substr(0, dash));
        const std::string_view last_name =
            dash == std::string_view::npos ? first_name : trim(item.substr(dash + 1));
        const auto first = weekday_from_name(first_name);
        const auto last = weekday_from_name(last_name);
        if (!first || !last) {
            set_why(why, "unknown day " + quote_text(first ? last_name : first_name) +
                             " (expected Mon, Tue, Wed, Thu, Fri, Sat, Sun or full names, a range "
                             "like Mon-Fri, a list like Mon,Wed,Fri, or daily)");
            return std::nullopt;
        }
        // Walk forwards from the first to the last day, wrapping past Saturday (Fri-Mon).
        for (int d = *first;; d = (d + 1) % kDaysPerWeek) {
            days = static_cast<std::uint8_t>(days | (1U << d));
            if (d == *last) break;
        }
        if (comma == std::string_view::npos) break;
        spec.remove_prefix(comma + 1);
    }
    return days;
}

}  // namespace

std::optional<ScheduleWindow> parse_schedule_window(std::string_view text, std::string* why) {
    const std::string_view body = trim(text);
    if (body.empty()) {
        set_why(why, std::string("empty window; ") + std::string(kWindowSyntax));
        return std::nullopt;
    }
    // The time range is the last word; everything before it names the days.
    std::size_t split = body.size();
    while (split > 0 && !is_space(body[split - 1])) --split;
    const std::string_view range = body.substr(split);
    const std::string_view day_spec = trim(body.substr(0, split));

    const auto dash = range.find('-');
    const bool has_digit = std::any_of(range.begin(), range.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (dash == std::string_view::npos || !has_digit) {
        set_why(why, "no time range in " + quote_text(text) + "; " + std::string(kWindowSyntax));
        return std::nullopt;
    }
    const std::string_view start_text = range.substr(0, dash);
    const std::string_view end_text = range.substr(dash + 1);
    const auto start = parse_clock(start_text);
    const auto end = parse_clock(end_text);
    if (!start || !end) {
        set_why(why, "time " + quote_text(start ? end_text : start_text) +
                         " is not HH:MM between 00:00 and 24:00; " + std::string(kWindowSyntax));
        return std::nullopt;
    }
    if (*start >= kMinutesPerDay) {
        set_why(why, "a window cannot start at 24:00 (start at 00:00 on the next day instead)");
        return std::nullopt;
    }
    if (*start == *end) {
        set_why(why, "start and end are both " + clock_text(*start) +
                         ", which is ambiguous (write 00:00-24:00 for a whole day)");
        return std::nullopt;
    }

    ScheduleWindow window;
    window.days = kEveryDay;
    if (!day_spec.empty()) {
        const auto days = parse_days(day_spec, why);
        if (!days) return std::nullopt;
        window.days = *days;
    }
    window.start_minute = *start;
    // An end of 00:00 means "until midnight", the same as 24:00.
    window.end_minute = *end == 0 ? kMinutesPerDay : *end;
    window.text = std::string(text);
    return window;
}

// ---------------------------------------------------------------------------------------------
// Small value types
// ---------------------------------------------------------------------------------------------

std::string_view to_string(Basis b) {
    switch (b) {
        case Basis::always: return "always";
        case Basis::schedule: return "schedule";
        case Basis::interaction: return "interaction";
        case Basis::never: return "never";
    }
    return "unknown";
}

std::string to_string(const SourceLocation& where) {
    return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
}

std::optional<TimeMs> TimeBound::resolve(TimeMs trace_start) const {
    switch (kind) {
        case Kind::none: return std::nullopt;
        case Kind::offset: return trace_start + value_ms;
        case Kind::absolute: return value_ms;
    }
    return std::nullopt;
}

bool Grant::applies_to_device(std::string_view device) const {
    if (devices.empty()) return true;
    return std::any_of(devices.begin(), devices.end(),
                       [device](const std::string& d) { return d == "*" || d == device; });
}

// ---------------------------------------------------------------------------------------------
// Policy
// ---------------------------------------------------------------------------------------------

void Policy::set_timezone(std::string name, const date::time_zone* zone) {
    timezone_name_ = std::move(name);
    zone_ = zone;
}

Policy::LocalTime Policy::to_local(TimeMs t) const {
    const TimeMs clamped = std::clamp(t, -kLocalTimeLimitMs, kLocalTimeLimitMs);
    TimeMs local = clamped;
    if (zone_ != nullptr) {
        const auto info = zone_->get_info(date::sys_time<std::chrono::milliseconds>{std::chrono::milliseconds{clamped}});
        local += std::chrono::duration_cast<std::chrono::milliseconds>(info.offset).count();
    }
    TimeMs days = local / kMsPerDay;
    TimeMs ms_of_day = local % kMsPerDay;
    if (ms_of_day < 0) {  // floor division for instants before the epoch
        ms_of_day += kMsPerDay;
        --days;
    }
    int weekday = static_cast<int>((days + kEpochWeekday) % kDaysPerWeek);
    if (weekday < 0) weekday += kDaysPerWeek;
    return LocalTime{weekday, ms_of_day};
}

bool Policy::in_schedule(const Grant& grant, TimeMs t) const {
    if (grant.windows.empty()) return false;
    const LocalTime local = to_local(t);
    const int yesterday = (local.weekday + kDaysPerWeek - 1) % kDaysPerWeek;
    const auto starts_on = [](const ScheduleWindow& w, int weekday) { return (w.days >> weekday) & 1U; };
    for (const ScheduleWindow& w : grant.windows) {
        const std::int64_t start_ms = w.start_minute * kMsPerMinute;
        const std::int64_t end_ms = w.end_minute * kMsPerMinute;
        if (w.end_minute > w.start_minute) {
            if (starts_on(w, local.weekday) && local.ms_of_day >= start_ms && local.ms_of_day < end_ms) {
                return true;
            }
        } else {
            // Crosses midnight: the evening part belongs to a start day, the morning part to the
            // day after one.
            if (starts_on(w, local.weekday) && local.ms_of_day >= start_ms) return true;
            if (starts_on(w, yesterday) && local.ms_of_day < end_ms) return true;
        }
    }
    return false;
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

namespace {

enum class GrantKey : std::uint8_t { recipient, devices, categories, basis, within, windows, from, until };
constexpr std::size_t kGrantKeyCount = 8;
constexpr std::array<std::string_view, kGrantKeyCount> kGrantKeyNames = {
    "recipient", "devices", "categories", "basis", "within", "windows", "from", "until",
};

constexpr std::array<std::pair<std::string_view, Basis>, 4> kBasisNames = {{
    {"always", Basis::always},
    {"schedule", Basis::schedule},
    {"interaction", Basis::interaction},
    {"never", Basis::never},
}};

std::string allowed_grant_keys() {
    std::string out;
    for (const auto name : kGrantKeyNames) {
        if (!out.empty()) out += ", ";
        out += name;
    }
    return out;
}

std::string allowed_categories() {
    std::string out;
    for (const auto name : kCategoryNames) {
        out += name;
        out += ", ";
    }
    out += "all";
    return out;
}

/// One key: value pair of a mapping, with both nodes for their locations.
struct Entry {
    YAML::Node key;
    YAML::Node value;
};

class Reader {
public:
    explicit Reader(std::string_view file) : file_(file) {}

    [[nodiscard]] SourceLocation where(const YAML::Node& node, const SourceLocation* fallback = nullptr) const {
        return yaml_location(file_, node, fallback);
    }
    [[nodiscard]] SourceLocation at_or(const YAML::Node& node, const SourceLocation& parent) const {
        return yaml_location_or(file_, node, parent);
    }
    [[nodiscard]] SourceLocation value_at(const Entry& e) const { return at_or(e.value, where(e.key)); }

    [[nodiscard]] Error fail(const SourceLocation& at, std::string_view what) const {
        return Error{to_string(at) + ": " + std::string(what)};
    }
    [[nodiscard]] Error fail(const YAML::Node& at, std::string_view what) const { return fail(where(at), what); }

    [[nodiscard]] Result<Policy> read(const YAML::Node& root) const;

private:
    [[nodiscard]] Result<Grant> read_grant(const YAML::Node& item) const;
    [[nodiscard]] Result<std::string> scalar(const Entry& e, std::string_view expected) const;
    [[nodiscard]] Status read_devices(const Entry& e, Grant& grant) const;
    [[nodiscard]] Status read_categories(const Entry& e, Grant& grant) const;
    [[nodiscard]] Status read_windows(const Entry& e, Grant& grant) const;
    [[nodiscard]] Result<TimeBound> read_bound(const Entry& e) const;

    std::string file_;
};

Result<std::string> Reader::scalar(const Entry& e, std::string_view expected) const {
    const std::string name = e.key.Scalar();
    if (!e.value.IsScalar()) {
        return fail(value_at(e),
                    "`" + name + "` must be " + std::string(expected) + ", found " + describe(e.value));
    }
    std::string text = e.value.Scalar();
    if (trim(text).empty()) {
        return fail(e.value, "`" + name + "` is empty; expected " + std::string(expected));
    }
    return text;
}

Status Reader::read_devices(const Entry& e, Grant& grant) const {
    constexpr std::string_view kExpected = R"(a list of device ids like [thermo-1, lock-front] or "*")";
    if (e.value.IsScalar()) {
        if (e.value.Scalar() == "*") {
            grant.devices = {"*"};
            return {};
        }
        return fail(e.value, "`devices` must be " + std::string(kExpected) + ", found " + describe(e.value) +
                                 " (write [" + e.value.Scalar() + "] for a single device)");
    }
    if (!e.value.IsSequence()) {
        return fail(value_at(e), "`devices` must be " + std::string(kExpected) + ", found " +
                                                 describe(e.value));
    }
    if (e.value.size() == 0) {
        return fail(e.value, R"(`devices` is an empty list; leave it out or write "*" for every device)");
    }
    for (const YAML::Node& device : e.value) {
        if (!device.IsScalar() || trim(device.Scalar()).empty()) {
            return fail(at_or(device, value_at(e)),
                        "each device must be a device id like thermo-1, found " + describe(device));
        }
        grant.devices.push_back(device.Scalar());
    }
    return {};
}

Status Reader::read_categories(const Entry& e, Grant& grant) const {
    if (!e.value.IsSequence()) {
        return fail(value_at(e),
                    "`categories` must be a list like [temperature, setpoint] or [all], found " + describe(e.value));
    }
    if (e.value.size() == 0) {
        return fail(e.value, "`categories` is an empty list; name at least one category (" +
                                 allowed_categories() + ")");
    }
    for (const YAML::Node& item : e.value) {
        if (!item.IsScalar()) {
            return fail(at_or(item, value_at(e)), "each category must be a name (one of " + allowed_categories() +
                                                       "), found " + describe(item));
        }
        const std::string& name = item.Scalar();
        if (name == "all") {
            grant.categories = all_categories();
            continue;
        }
        const auto category = category_from_string(name);
        if (!category) {
            return fail(item, "unknown category " + quote_text(name) + " (expected one of " + allowed_categories() + ")");
        }
        insert(grant.categories, *category);
    }
    return {};
}

Status Reader::read_windows(const Entry& e, Grant& grant) const {
    constexpr std::string_view kExpected = R"(a list of windows like ["Mon-Fri 08:00-20:00", "Sat 10:00-12:00"])";
    if (!e.value.IsSequence()) {
        return fail(value_at(e),
                    "`windows` must be " + std::string(kExpected) + ", found " + describe(e.value));
    }
    if (e.value.size() == 0) {
        return fail(e.value, "`windows` is an empty list; a schedule grant needs at least one window, e.g. " +
                                 std::string(R"("Mon-Fri 08:00-20:00")"));
    }
    for (const YAML::Node& item : e.value) {
        if (!item.IsScalar()) {
            return fail(at_or(item, value_at(e)),
                        "each window must be text like \"Mon-Fri 08:00-20:00\", found " + describe(item));
        }
        std::string why;
        auto window = parse_schedule_window(item.Scalar(), &why);
        if (!window) return fail(item, "bad schedule window " + quote_text(item.Scalar()) + ": " + why);
        grant.windows.push_back(std::move(*window));
    }
    return {};
}

Result<TimeBound> Reader::read_bound(const Entry& e) const {
    const std::string name = e.key.Scalar();
    auto text = scalar(e, "an offset from the trace start like 30h or an RFC 3339 time like 2026-01-05T08:00:00Z");
    if (!text) return text.error();
    TimeBound bound;
    bound.text = *text;
    const std::string_view value = trim(*text);
    if (const auto offset = parse_duration(value)) {
        bound.kind = TimeBound::Kind::offset;
        bound.value_ms = *offset;
    } else if (const auto instant = parse_rfc3339(value)) {
        bound.kind = TimeBound::Kind::absolute;
        bound.value_ms = *instant;
    } else {
        return fail(e.value, "`" + name + "` " + quote_text(*text) +
                                 " is neither an offset from the trace start (like 30h, 90m, 120s or a number "
                                 "of seconds) nor an RFC 3339 time (like 2026-01-05T08:00:00Z)");
    }
    return bound;
}

Result<Grant> Reader::read_grant(const YAML::Node& item) const {
    Grant grant;
    grant.where = where(item);
    if (!item.IsMap()) {
        return fail(grant.where, "each `consent` item must be a mapping like `- recipient: voice-partner`, found " +
                                     describe(item));
    }

    std::array<std::optional<Entry>, kGrantKeyCount> entries;
    for (auto it = item.begin(); it != item.end(); ++it) {
        const YAML::Node key = it->first;
        if (!key.IsScalar()) {
            return fail(where(key, &grant.where), "a grant key must be a plain name (one of " + allowed_grant_keys() +
                                                      "), found " + describe(key));
        }
        const auto known = std::find(kGrantKeyNames.begin(), kGrantKeyNames.end(), key.Scalar());
        if (known == kGrantKeyNames.end()) {
            return fail(where(key, &grant.where),
                        "unknown key " + quote_text(key.Scalar()) + " in a grant (allowed: " + allowed_grant_keys() + ")");
        }
        auto& slot = entries[static_cast<std::size_t>(known - kGrantKeyNames.begin())];
        if (slot) {
            return fail(where(key, &grant.where), "duplicate key `" + key.Scalar() + "` in this grant (first at " +
                                                      to_string(where(slot->key, &grant.where)) + ")");
        }
        slot = Entry{key, it->second};
    }
    const auto entry = [&entries](GrantKey k) -> const std::optional<Entry>& {
        return entries[static_cast<std::size_t>(k)];
    };

    // recipient
    const auto& recipient = entry(GrantKey::recipient);
    if (!recipient) {
        return fail(grant.where, "grant has no `recipient:` (expected the partner's name, e.g. recipient: voice-partner)");
    }
    auto name = scalar(*recipient, "the partner's name, e.g. voice-partner");
    if (!name) return name.error();
    grant.recipient = trim(*name);
    const std::string subject = "grant for " + quote_text(grant.recipient);

    // basis
    constexpr std::string_view kBases = "always, schedule, interaction or never";
    const auto& basis = entry(GrantKey::basis);
    if (!basis) return fail(grant.where, subject + " has no `basis:` (expected " + std::string(kBases) + ")");
    auto basis_text = scalar(*basis, "one of " + std::string(kBases));
    if (!basis_text) return basis_text.error();
    const auto found = std::find_if(kBasisNames.begin(), kBasisNames.end(),
                                    [&](const auto& b) { return b.first == trim(*basis_text); });
    if (found == kBasisNames.end()) {
        return fail(basis->value, "unknown basis " + quote_text(*basis_text) + " (expected " + std::string(kBases) + ")");
    }
    grant.basis = found->second;

    // devices
    if (const auto& devices = entry(GrantKey::devices)) {
        if (auto s = read_devices(*devices, grant); !s) return s.error();
    }

    // categories
    const auto& categories = entry(GrantKey::categories);
    if (!categories) {
        return fail(grant.where, subject + " has no `categories:` (expected a list like [temperature, setpoint] or [all])");
    }
    if (auto s = read_categories(*categories, grant); !s) return s.error();

    // within
    const auto& within = entry(GrantKey::within);
    if (grant.basis == Basis::interaction) {
        if (!within) {
            return fail(grant.where, subject + " has basis: interaction but no `within:` (expected how long after an "
                                               "interaction sending is allowed, e.g. within: 120s)");
        }
        auto text = scalar(*within, "a duration like 120s or a number of seconds");
        if (!text) return text.error();
        const auto duration = parse_duration(trim(*text));
        if (!duration) {
            return fail(within->value, "`within` " + quote_text(*text) +
                                           " is not a duration (expected e.g. 120s, 2m, 500ms or a number of seconds)");
        }
        if (*duration <= 0) return fail(within->value, "`within` must be longer than 0");
        grant.within_ms = *duration;
    } else if (within) {
        return fail(where(within->key, &grant.where), "`within` only applies to basis: interaction (this grant's basis is " +
                                                          std::string(to_string(grant.basis)) + ")");
    }

    // windows
    const auto& windows = entry(GrantKey::windows);
    if (grant.basis == Basis::schedule) {
        if (!windows) {
            return fail(grant.where, subject + " has basis: schedule but no `windows:` (expected a list like "
                                               "[\"Mon-Fri 08:00-20:00\"])");
        }
        if (auto s = read_windows(*windows, grant); !s) return s.error();
    } else if (windows) {
        return fail(where(windows->key, &grant.where), "`windows` only applies to basis: schedule (this grant's basis is " +
                                                           std::string(to_string(grant.basis)) + ")");
    }

    // from / until
    if (const auto& from = entry(GrantKey::from)) {
        auto bound = read_bound(*from);
        if (!bound) return bound.error();
        grant.from = std::move(*bound);
    }
    if (const auto& until = entry(GrantKey::until)) {
        auto bound = read_bound(*until);
        if (!bound) return bound.error();
        grant.until = std::move(*bound);
        if (grant.from.kind == grant.until.kind && grant.until.value_ms <= grant.from.value_ms) {
            return fail(until->value, "`until` " + quote_text(grant.until.text) + " must be after `from` " +
                                          quote_text(grant.from.text));
        }
    }
    return grant;
}

Result<Policy> Reader::read(const YAML::Node& root) const {
    const SourceLocation top{file_, 1, 1};
    if (!root.IsDefined() || root.IsNull()) return fail(top, "no `consent:` section (the document is empty)");
    if (!root.IsMap()) {
        return fail(where(root, &top), "expected a mapping with a `consent:` section at the top level, found " +
                                           describe(root));
    }

    std::optional<Entry> timezone;
    std::optional<Entry> consent;
    for (auto it = root.begin(); it != root.end(); ++it) {
        const YAML::Node key = it->first;
        if (!key.IsScalar()) continue;  // other top-level keys are not ours
        std::optional<Entry>* slot = nullptr;
        if (key.Scalar() == "timezone") slot = &timezone;
        if (key.Scalar() == "consent") slot = &consent;
        if (slot == nullptr) continue;
        if (*slot) {
            return fail(where(key, &top), "duplicate top-level key `" + key.Scalar() + "` (first at " +
                                              to_string(where((*slot)->key, &top)) + ")");
        }
        *slot = Entry{key, it->second};
    }

    Policy policy;
    policy.set_source(file_);
    if (timezone) {
        auto name = scalar(*timezone, "an IANA timezone name like Europe/Berlin or UTC");
        if (!name) return name.error();
        const std::string zone_name{trim(*name)};
        if (zone_name == kUtcName) {
            policy.set_timezone(zone_name, nullptr);
        } else {
            const date::time_zone* zone = nullptr;
            try {
                zone = date::locate_zone(zone_name);
            } catch (const std::exception&) {
                zone = nullptr;
            }
            if (zone == nullptr) {
                return fail(timezone->value, "unknown timezone " + quote_text(zone_name) +
                                                 " (expected an IANA name like Europe/Berlin, America/New_York or UTC)");
            }
            policy.set_timezone(zone_name, zone);
        }
    }

    if (!consent) return fail(where(root, &top), "no `consent:` section (expected a list of grants)");
    const YAML::Node& grants = consent->value;
    if (grants.IsNull()) {
        return fail(where(consent->key, &top),
                    "`consent:` has no value; write `consent: []` if nothing is consented, or list the grants");
    }
    if (!grants.IsSequence()) {
        return fail(where(grants, &top), "`consent` must be a list of grants (each item `- recipient: …`), found " +
                                             describe(grants));
    }
    for (const YAML::Node& item : grants) {
        auto grant = read_grant(item);
        if (!grant) return grant.error();
        policy.add_grant(std::move(*grant));
    }
    return policy;
}

}  // namespace

Result<Policy> policy_from_yaml(const YAML::Node& root, std::string_view file_name) {
    const Reader reader(file_name);
    try {
        return reader.read(root);
    } catch (const YAML::Exception& e) {
        return Error{to_string(yaml_location(file_name, e)) + ": " + e.msg};
    } catch (const std::exception& e) {
        return Error{std::string(file_name) + ": cannot read the consent policy: " + e.what()};
    }
}

Result<Policy> parse_policy(std::string_view yaml_text, std::string_view file_name) {
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml_text));
    } catch (const YAML::Exception& e) {
        return Error{to_string(yaml_location(file_name, e)) + ": " + e.msg};
    } catch (const std::exception& e) {
        return Error{std::string(file_name) + ": cannot parse YAML: " + e.what()};
    }
    return policy_from_yaml(root, file_name);
}

Result<Policy> load_policy_file(const std::filesystem::path& path) {
    const std::string name = path.string();
    auto text = read_text_file(path);
    if (!text) return text.error();
    auto policy = parse_policy(*text, name);
    if (!policy) return policy;
    policy->set_source(name);
    return policy;
}

}  // namespace consentrig::core
