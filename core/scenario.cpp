#include "core/scenario.hpp"

#include "core/text_file.hpp"
#include "core/yaml_source.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <exception>
#include <fstream>
#include <limits>
#include <map>
#include <span>
#include <sstream>
#include <system_error>
#include <utility>

#include <yaml-cpp/yaml.h>

namespace consentrig::core {
namespace {

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

constexpr std::array<std::string_view, kDeviceKindCount> kDeviceKindNames = {"thermostat", "lock"};
constexpr std::array<std::string_view, kProfileCount> kProfileNames = {
    "compliant", "proactive", "flush_after_revoke", "store_and_forward", "scope_creep", "keepalive_leak", "cause_lie",
};
constexpr std::array<std::string_view, 4> kWireFormatNames = {"alexa", "google", "matter", "json"};
constexpr std::array<std::string_view, 3> kViaNames = {"voice", "app", "physical"};
constexpr std::array<std::string_view, 5> kActionNames = {"set_setpoint", "set_mode", "lock", "unlock", "query"};
constexpr std::array<std::string_view, 2> kDoorNames = {"open", "closed"};
constexpr std::array<std::string_view, 4> kFaultNames = {"stuck", "drift", "disconnect", "modbus_timeout"};
constexpr std::array<std::string_view, 5> kModeNames = {"heat", "cool", "auto", "eco", "off"};

constexpr std::array<std::string_view, 15> kTopKeys = {
    "name",       "description", "seed",    "start",      "duration",  "timezone", "consent", "recipients",
    "devices",    "fleets",      "parameters", "network", "customers", "timeline", "expect",
};
constexpr std::array<std::string_view, 5> kDeviceKeys = {"id", "kind", "profile", "linked", "params"};
constexpr std::array<std::string_view, 7> kFleetKeys = {"prefix", "count", "kind", "profile",
                                                        "profiles", "linked", "params"};
constexpr std::array<std::string_view, 5> kNetworkKeys = {"latency", "loss", "retries", "backoff", "outages"};
constexpr std::array<std::string_view, 2> kLatencyKeys = {"median", "jitter"};
constexpr std::array<std::string_view, 3> kOutageKeys = {"at", "duration", "devices"};
constexpr std::array<std::string_view, 7> kCustomerKeys = {"devices", "via",   "recipient", "action",
                                                           "value",   "rate",  "hours"};
constexpr std::array<std::string_view, 8> kEventKeys = {"at",  "interact", "consent", "link",
                                                        "network", "env", "fault", "profile"};
constexpr std::array<std::string_view, 5> kInteractKeys = {"device", "via", "recipient", "action", "value"};
constexpr std::array<std::string_view, 4> kConsentKeys = {"device", "recipient", "categories", "granted"};
constexpr std::array<std::string_view, 3> kLinkKeys = {"device", "recipient", "linked"};
constexpr std::array<std::string_view, 2> kNetworkEventKeys = {"device", "up"};
constexpr std::array<std::string_view, 4> kEnvKeys = {"device", "outdoor_c", "occupied", "door"};
constexpr std::array<std::string_view, 4> kFaultKeys = {"device", "kind", "duration", "rate_c_per_h"};
constexpr std::array<std::string_view, 2> kProfileEventKeys = {"device", "name"};
constexpr std::array<std::string_view, 2> kExpectKeys = {"findings", "allow_other"};
constexpr std::array<std::string_view, 7> kExpectEntryKeys = {"type", "device", "recipient", "category",
                                                              "count", "min", "max"};
constexpr std::array<std::string_view, 3> kDistributionKeys = {"constant", "uniform", "normal"};

constexpr std::uint64_t kMaxFleetCount = 1'000'000'000'000ULL;  ///< 10^12 devices per fleet
constexpr std::uint32_t kMaxRetries = 1000;
constexpr std::size_t kMaxNamesListed = 12;  ///< in "expected one of …" lists of user names

template <std::size_t N>
std::string join(const std::array<std::string_view, N>& names, std::string_view sep = ", ") {
    std::string out;
    for (const auto name : names) {
        if (!out.empty()) out += sep;
        out += name;
    }
    return out;
}

/// `a, b or c`
template <std::size_t N>
std::string one_of(const std::array<std::string_view, N>& names) {
    std::string out;
    for (std::size_t i = 0; i < N; ++i) {
        if (i > 0) out += (i + 1 == N) ? " or " : ", ";
        out += names[i];
    }
    return out;
}

template <class E, std::size_t N>
std::optional<E> lookup(const std::array<std::string_view, N>& names, std::string_view name) {
    for (std::size_t i = 0; i < N; ++i) {
        if (names[i] == name) return static_cast<E>(i);
    }
    return std::nullopt;
}

template <class E, std::size_t N>
std::string_view name_of(const std::array<std::string_view, N>& names, E value) {
    const auto i = static_cast<std::size_t>(value);
    return i < N ? names[i] : std::string_view("unknown");
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_alpha(char c) { return is_lower(c) || (c >= 'A' && c <= 'Z'); }

/// Scenario names: [a-z0-9_-]+.
bool valid_scenario_name(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return is_lower(c) || is_digit(c) || c == '_' || c == '-';
    });
}

/// Device ids, fleet prefixes, recipient names: [A-Za-z0-9_.-]+.
bool valid_id(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return is_alpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.';
    });
}

/// Names the user wrote (device ids, recipients), at most kMaxNamesListed of them.
template <class Range>
std::string list_names(const Range& names) {
    std::string out;
    std::size_t n = 0;
    for (const auto& name : names) {
        if (n == kMaxNamesListed) {
            out += ", …";
            break;
        }
        if (n > 0) out += ", ";
        out += name;
        ++n;
    }
    return out.empty() ? std::string("none") : out;
}

/// A whole-string double; a leading `+` is allowed. nullopt unless finite.
std::optional<double> parse_number(std::string_view s) {
    s = trim(s);
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    if (s.empty()) return std::nullopt;
    double value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size() || !std::isfinite(value)) return std::nullopt;
    return value;
}

std::optional<std::uint64_t> parse_unsigned(std::string_view s) {
    s = trim(s);
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    if (s.empty() || !is_digit(s.front())) return std::nullopt;
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return value;
}

std::size_t digit_count(std::uint64_t n) {
    std::size_t digits = 1;
    while (n >= 10) {
        n /= 10;
        ++digits;
    }
    return digits;
}

/// `4/day`, `1/h`, `0.5/hour`, `3/week`, `1/30m` → events per day.
std::optional<double> parse_rate(std::string_view text) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    const auto count = parse_number(text.substr(0, slash));
    if (!count || *count < 0) return std::nullopt;
    const std::string_view per = trim(text.substr(slash + 1));
    struct Unit {
        std::string_view name;
        DurationMs ms;
    };
    constexpr DurationMs kMsPerWeek = 7 * kMsPerDay;
    constexpr std::array<Unit, 13> kUnits = {{
        {"s", kMsPerSecond}, {"sec", kMsPerSecond}, {"second", kMsPerSecond},
        {"m", kMsPerMinute}, {"min", kMsPerMinute}, {"minute", kMsPerMinute},
        {"h", kMsPerHour},   {"hour", kMsPerHour},
        {"d", kMsPerDay},    {"day", kMsPerDay},
        {"w", kMsPerWeek},   {"week", kMsPerWeek},
        {"ms", 1},
    }};
    std::optional<DurationMs> period;
    for (const Unit& unit : kUnits) {
        if (per == unit.name) period = unit.ms;
    }
    if (!period) period = parse_scenario_duration(per);
    if (!period || *period <= 0) return std::nullopt;
    const double per_day = *count * static_cast<double>(kMsPerDay) / static_cast<double>(*period);
    if (!std::isfinite(per_day)) return std::nullopt;
    return per_day;
}

// ---------------------------------------------------------------------------------------------
// SHA-256 (FIPS 180-4)
// ---------------------------------------------------------------------------------------------

constexpr std::array<std::uint32_t, 64> kSha256K = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

constexpr std::uint32_t rotr(std::uint32_t x, unsigned n) { return (x >> n) | (x << (32U - n)); }

void sha256_block(std::array<std::uint32_t, 8>& h, const unsigned char* block) {
    std::array<std::uint32_t, 64> w{};
    for (std::size_t i = 0; i < 16; ++i) {
        w[i] = (static_cast<std::uint32_t>(block[4 * i]) << 24U) | (static_cast<std::uint32_t>(block[4 * i + 1]) << 16U) |
               (static_cast<std::uint32_t>(block[4 * i + 2]) << 8U) | static_cast<std::uint32_t>(block[4 * i + 3]);
    }
    for (std::size_t i = 16; i < 64; ++i) {
        const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3U);
        const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10U);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (std::size_t i = 0; i < 64; ++i) {
        const std::uint32_t s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        const std::uint32_t ch = (e & f) ^ (~e & g);
        const std::uint32_t t1 = k + s1 + ch + kSha256K[i] + w[i];
        const std::uint32_t s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        const std::uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        const std::uint32_t t2 = s0 + maj;
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

}  // namespace

std::string sha256_hex(std::string_view bytes) {
    std::array<std::uint32_t, 8> h = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    constexpr std::size_t kBlock = 64;
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    std::size_t full = bytes.size() / kBlock;
    for (std::size_t i = 0; i < full; ++i) sha256_block(h, data + i * kBlock);
    // Padding: 0x80, zeros, then the bit length as a 64-bit big-endian number.
    std::array<unsigned char, 2 * kBlock> tail{};
    const std::size_t rest = bytes.size() - full * kBlock;
    std::copy(data + full * kBlock, data + bytes.size(), tail.begin());
    tail[rest] = 0x80;
    const std::size_t tail_len = rest + 1 + 8 <= kBlock ? kBlock : 2 * kBlock;
    const std::uint64_t bits = static_cast<std::uint64_t>(bytes.size()) * 8U;
    for (std::size_t i = 0; i < 8; ++i) tail[tail_len - 1 - i] = static_cast<unsigned char>(bits >> (8U * i));
    for (std::size_t off = 0; off < tail_len; off += kBlock) sha256_block(h, tail.data() + off);

    std::string out;
    out.reserve(64);
    constexpr std::string_view kHex = "0123456789abcdef";
    for (const std::uint32_t word : h) {
        for (int shift = 28; shift >= 0; shift -= 4) out += kHex[(word >> static_cast<unsigned>(shift)) & 0xFU];
    }
    return out;
}

std::optional<DurationMs> parse_scenario_duration(std::string_view text) {
    std::string_view s = trim(text);
    if (s.empty()) return std::nullopt;
    // A single component (including a bare number of seconds) is parse_duration's form.
    if (auto single = parse_duration(s)) return single;
    // Combined: number+unit components, optionally separated by spaces, each with a unit.
    DurationMs total = 0;
    std::size_t pos = 0;
    int components = 0;
    while (pos < s.size()) {
        while (pos < s.size() && s[pos] == ' ') ++pos;
        if (pos == s.size()) break;
        const std::size_t number_at = pos;
        while (pos < s.size() && (is_digit(s[pos]) || s[pos] == '.')) ++pos;
        const std::size_t unit_at = pos;
        while (pos < s.size() && is_lower(s[pos])) ++pos;
        if (unit_at == number_at || pos == unit_at) return std::nullopt;  // a number and a unit each
        const auto part = parse_duration(s.substr(number_at, pos - number_at));
        if (!part) return std::nullopt;
        if (total > std::numeric_limits<DurationMs>::max() - *part) return std::nullopt;
        total += *part;
        ++components;
    }
    if (components < 2) return std::nullopt;
    return total;
}

// ---------------------------------------------------------------------------------------------
// Small value functions
// ---------------------------------------------------------------------------------------------

std::string_view to_string(DeviceKind k) { return name_of(kDeviceKindNames, k); }
std::string_view to_string(Profile p) { return name_of(kProfileNames, p); }
std::string_view to_string(WireFormat f) { return name_of(kWireFormatNames, f); }
std::string_view to_string(Via v) { return name_of(kViaNames, v); }
std::string_view to_string(Action a) { return name_of(kActionNames, a); }
std::string_view to_string(DoorPosition d) { return name_of(kDoorNames, d); }
std::string_view to_string(FaultKind f) { return name_of(kFaultNames, f); }
std::optional<Profile> profile_from_string(std::string_view name) { return lookup<Profile>(kProfileNames, name); }

bool action_applies(Action action, DeviceKind kind) {
    switch (action) {
        case Action::query: return true;
        case Action::set_setpoint:
        case Action::set_mode: return kind == DeviceKind::thermostat;
        case Action::lock:
        case Action::unlock: return kind == DeviceKind::lock;
    }
    return false;
}

ParamTable merge_params(const ParamTable& base, const ParamTable& overrides) {
    ParamTable out = base;
    for (const auto& [name, param] : overrides) out.insert_or_assign(name, param);
    return out;
}

void assign_fleet_device_id(std::string& out, std::string_view prefix, std::uint64_t count, std::uint64_t member) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, member);
    const auto n = static_cast<std::size_t>(end - digits);
    const std::size_t width = digit_count(count);
    out.assign(prefix);
    out += '-';
    if (n < width) out.append(width - n, '0');
    out.append(digits, n);
}

std::string fleet_device_id(std::string_view prefix, std::uint64_t count, std::uint64_t member) {
    std::string out;
    assign_fleet_device_id(out, prefix, count, member);
    return out;
}

std::optional<std::uint64_t> fleet_member(std::string_view prefix, std::uint64_t count, std::string_view id) {
    const std::size_t width = digit_count(count);
    if (count == 0 || id.size() != prefix.size() + 1 + width || !id.starts_with(prefix) || id[prefix.size()] != '-') {
        return std::nullopt;
    }
    const std::string_view digits = id.substr(prefix.size() + 1);
    if (!std::all_of(digits.begin(), digits.end(), is_digit)) return std::nullopt;
    const auto member = parse_unsigned(digits);
    if (!member || *member < 1 || *member > count) return std::nullopt;
    return member;
}

std::string FleetSpec::device_id(std::uint64_t member) const { return fleet_device_id(prefix, count, member); }

std::optional<std::uint64_t> FleetSpec::member_of(std::string_view id) const {
    return fleet_member(prefix, count, id);
}

Profile FleetSpec::pick_profile(double u) const {
    if (profiles.empty()) return Profile::compliant;
    double cumulative = 0;
    for (const ProfileWeight& pw : profiles) {
        cumulative += pw.weight;
        if (u < cumulative) return pw.profile;
    }
    return profiles.back().profile;  // rounding: u just below 1 with weights summing to 0.999…
}

bool DeviceSelector::all() const {
    return std::any_of(refs.begin(), refs.end(), [](const DeviceRef& r) { return r.kind == DeviceRef::Kind::all; });
}

bool DeviceSelector::selects_device(std::size_t device_index) const {
    return std::any_of(refs.begin(), refs.end(), [&](const DeviceRef& r) {
        return r.kind == DeviceRef::Kind::all || (r.kind == DeviceRef::Kind::device && r.index == device_index);
    });
}

bool DeviceSelector::selects_fleet_member(std::size_t fleet_index, std::uint64_t member) const {
    return std::any_of(refs.begin(), refs.end(), [&](const DeviceRef& r) {
        switch (r.kind) {
            case DeviceRef::Kind::all: return true;
            case DeviceRef::Kind::device: return false;
            case DeviceRef::Kind::fleet: return r.index == fleet_index;
            case DeviceRef::Kind::fleet_member: return r.index == fleet_index && r.member == member;
        }
        return false;
    });
}

bool DeviceSelector::touches_fleet(std::size_t fleet_index) const {
    return std::any_of(refs.begin(), refs.end(), [&](const DeviceRef& r) {
        return r.kind == DeviceRef::Kind::all ||
               ((r.kind == DeviceRef::Kind::fleet || r.kind == DeviceRef::Kind::fleet_member) && r.index == fleet_index);
    });
}

std::string DeviceSelector::text() const {
    if (refs.size() == 1) return refs.front().name;
    std::string out = "[";
    for (std::size_t i = 0; i < refs.size(); ++i) {
        if (i > 0) out += ", ";
        out += refs[i].name;
    }
    return out + "]";
}

double LatencySpec::sigma() const {
    if (median_ms <= 0 || jitter_ms <= 0) return 0;
    return std::log1p(static_cast<double>(jitter_ms) / static_cast<double>(median_ms));
}

bool CustomerSpec::in_hours(const Policy& policy, TimeMs t) const {
    if (hours.empty()) return true;
    constexpr int kDaysPerWeek = 7;
    const Policy::LocalTime local = policy.to_local(t);
    const int yesterday = (local.weekday + kDaysPerWeek - 1) % kDaysPerWeek;
    const auto starts_on = [](const ScheduleWindow& w, int weekday) { return ((w.days >> weekday) & 1U) != 0; };
    for (const ScheduleWindow& w : hours) {
        const std::int64_t start_ms = w.start_minute * kMsPerMinute;
        const std::int64_t end_ms = w.end_minute * kMsPerMinute;
        if (w.end_minute > w.start_minute) {
            if (starts_on(w, local.weekday) && local.ms_of_day >= start_ms && local.ms_of_day < end_ms) return true;
        } else {
            if (starts_on(w, local.weekday) && local.ms_of_day >= start_ms) return true;
            if (starts_on(w, yesterday) && local.ms_of_day < end_ms) return true;
        }
    }
    return false;
}

std::string_view TimelineEvent::kind_name() const {
    constexpr std::array<std::string_view, 7> kNames = {"interact", "consent", "link", "network",
                                                        "env",      "fault",   "profile"};
    return kNames[action.index()];
}

bool ExpectedFinding::matches(const FindingHead& f) const {
    if (f.type != type) return false;
    if (!device.empty()) {
        if (fleet_count > 0) {
            if (!fleet_member(device, fleet_count, f.device)) return false;
        } else if (f.device != device) {
            return false;
        }
    }
    if (!recipient.empty() && f.recipient != recipient) return false;
    if (category && f.category != category) return false;
    return true;
}

std::string ExpectedFinding::describe() const {
    std::string out;
    if (max && *max == min) {
        out = "exactly " + std::to_string(min);
    } else if (!max) {
        out = "at least " + std::to_string(min);
    } else if (min == 0) {
        out = "at most " + std::to_string(*max);
    } else {
        out = "between " + std::to_string(min) + " and " + std::to_string(*max);
    }
    out += ' ';
    out += to_string(type);
    if (!device.empty()) {
        out += fleet_count > 0 ? " for fleet " : " for ";
        out += device;
    } else if (!recipient.empty()) {
        out += " for any device";
    }
    if (!recipient.empty()) out += " → " + recipient;
    if (category) out += " (" + std::string(to_string(*category)) + ")";
    return out;
}

Status check_expectations(const Expectations& expect, std::span<const FindingHead> findings,
                          std::vector<std::string>* problems) {
    std::vector<std::uint64_t> counts(expect.findings.size(), 0);
    std::vector<const FindingHead*> unexpected;
    for (const FindingHead& f : findings) {
        bool matched = false;
        for (std::size_t i = 0; i < expect.findings.size(); ++i) {
            if (expect.findings[i].matches(f)) {
                ++counts[i];
                matched = true;
            }
        }
        if (!matched && !expect.allow_other) unexpected.push_back(&f);
    }

    std::vector<std::string> found;
    for (std::size_t i = 0; i < expect.findings.size(); ++i) {
        const ExpectedFinding& e = expect.findings[i];
        const bool ok = counts[i] >= e.min && (!e.max || counts[i] <= *e.max);
        if (ok) continue;
        std::string line = "expected " + e.describe() + ", found " + std::to_string(counts[i]);
        if (e.where.line > 0) line += " (" + to_string(e.where) + ")";
        found.push_back(std::move(line));
    }
    std::sort(unexpected.begin(), unexpected.end(),
              [](const FindingHead* a, const FindingHead* b) { return finding_less(*a, *b); });
    for (std::size_t i = 0; i < unexpected.size() && i < kMaxUnexpectedListed; ++i) {
        const FindingHead& f = *unexpected[i];
        std::string line = "unexpected finding: " + std::string(to_string(f.type)) + " " + f.device + " → " + f.recipient;
        if (f.category) line += " " + std::string(to_string(*f.category));
        if (!f.field.empty()) line += " field " + f.field;
        line += " at " + format_rfc3339(f.t);
        found.push_back(std::move(line));
    }
    if (unexpected.size() > kMaxUnexpectedListed) {
        const std::size_t more = unexpected.size() - kMaxUnexpectedListed;
        found.push_back("… and " + std::to_string(more) + " more unexpected finding" + (more == 1 ? "" : "s"));
    }
    if (found.empty()) return {};
    std::string message;
    for (const std::string& line : found) {
        if (!message.empty()) message += '\n';
        message += line;
    }
    if (problems != nullptr) problems->insert(problems->end(), found.begin(), found.end());
    return Error{std::move(message)};
}

ParamTable Scenario::params_for(const DeviceSpec& device) const { return merge_params(defaults(device.kind), device.params); }
ParamTable Scenario::params_for(const FleetSpec& fleet) const { return merge_params(defaults(fleet.kind), fleet.params); }

bool Scenario::selects(const DeviceSelector& selector, std::string_view device_id) const {
    return std::any_of(selector.refs.begin(), selector.refs.end(), [&](const DeviceRef& r) {
        switch (r.kind) {
            case DeviceRef::Kind::all: return true;
            case DeviceRef::Kind::device: return r.index < devices.size() && devices[r.index].id == device_id;
            case DeviceRef::Kind::fleet: return r.index < fleets.size() && fleets[r.index].member_of(device_id).has_value();
            case DeviceRef::Kind::fleet_member: return r.name == device_id;
        }
        return false;
    });
}

std::uint64_t device_count(const Scenario& scenario) {
    std::uint64_t n = scenario.devices.size();
    for (const FleetSpec& fleet : scenario.fleets) n += fleet.count;
    return n;
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

namespace {

struct Entry {
    YAML::Node key;
    YAML::Node value;
};

/// The keys of one mapping, checked against the allowed names.
class Fields {
public:
    [[nodiscard]] const Entry* get(std::string_view name) const {
        for (const auto& [key, entry] : entries_) {
            if (key == name) return &entry;
        }
        return nullptr;
    }
    void add(std::string name, Entry entry) { entries_.emplace_back(std::move(name), std::move(entry)); }
    [[nodiscard]] const std::vector<std::pair<std::string, Entry>>& entries() const { return entries_; }

private:
    std::vector<std::pair<std::string, Entry>> entries_;
};

/// A number or a duration, as written in a parameter.
struct Quantity {
    double value = 0;
    ParamUnit unit = ParamUnit::number;
};

class Loader {
public:
    explicit Loader(std::string_view file) : file_(file) {}

    Result<Scenario> read(const YAML::Node& root);

private:
    // -- locations and errors ------------------------------------------------------------------
    [[nodiscard]] SourceLocation where(const YAML::Node& node, const SourceLocation* fallback = nullptr) const {
        return yaml_location(file_, node, fallback);
    }
    /// An empty value's mark points at the next token; use the parent's location then.
    [[nodiscard]] SourceLocation at_or(const YAML::Node& node, const SourceLocation& parent) const {
        return yaml_location_or(file_, node, parent);
    }
    [[nodiscard]] SourceLocation key_at(const Entry& e) const { return where(e.key); }
    [[nodiscard]] SourceLocation value_at(const Entry& e) const { return at_or(e.value, key_at(e)); }
    [[nodiscard]] static Error fail(const SourceLocation& at, std::string_view what) {
        return Error{to_string(at) + ": " + std::string(what)};
    }

    // -- generic readers -----------------------------------------------------------------------
    template <std::size_t N>
    Result<Fields> fields(const YAML::Node& node, const SourceLocation& at, std::string_view what,
                          const std::array<std::string_view, N>& allowed) const;
    Result<std::string> text(const Entry& e, std::string_view expected) const;
    Result<double> number(const Entry& e, std::string_view expected) const;
    Result<bool> boolean(const Entry& e) const;
    Result<std::uint64_t> whole(const Entry& e, std::string_view expected) const;
    Result<DurationMs> duration(const Entry& e) const;
    Result<DurationMs> offset(const Entry& e) const;
    template <class E, std::size_t N>
    Result<E> choice(const Entry& e, const std::array<std::string_view, N>& names) const;
    Result<std::string> id(const Entry& e, std::string_view what) const;

    Result<Quantity> quantity(const YAML::Node& node, const SourceLocation& at, std::string_view name) const;
    Result<Param> param(const Entry& e) const;
    Result<ParamTable> params(const Entry& e) const;
    Result<Distribution> number_distribution(const Entry& e, std::string_view unit_hint) const;

    Result<std::string> recipient(const Entry& e) const;
    Result<std::vector<std::string>> recipient_list(const Entry& e) const;
    Result<DeviceSelector> selector(const Entry& e, std::string_view what) const;
    Result<CategorySet> categories(const Entry& e, bool& all) const;
    Status check_targets(const DeviceSelector& sel, Action action, const SourceLocation& at) const;

    // -- sections ------------------------------------------------------------------------------
    Status read_recipients(const Entry& e);
    Status read_parameters(const Entry& e);
    Status read_devices(const Entry& e);
    Status read_fleets(const Entry& e);
    Status check_ids();
    Status read_network(const Entry& e);
    Status read_customers(const Entry& e);
    Status read_interaction(const Fields& f, const SourceLocation& at, std::string_view what, bool allow_random,
                            Interaction& out) const;
    Status read_timeline(const Entry& e);
    Result<TimelineEvent> read_event(const YAML::Node& item) const;
    Status read_expect(const Entry& e);
    Status check_grants(const YAML::Node& root) const;

    std::string file_;
    std::string duration_text_;  ///< `duration:` as written, for messages
    Scenario s_;
    std::map<std::string, std::size_t, std::less<>> device_index_;
    std::map<std::string, std::size_t, std::less<>> fleet_index_;
};

template <std::size_t N>
Result<Fields> Loader::fields(const YAML::Node& node, const SourceLocation& at, std::string_view what,
                              const std::array<std::string_view, N>& allowed) const {
    if (!node.IsMap()) {
        return fail(at_or(node, at), std::string(what) + " must be a mapping with keys " + join(allowed) +
                                         ", found " + describe(node));
    }
    Fields out;
    for (auto it = node.begin(); it != node.end(); ++it) {
        const YAML::Node key = it->first;
        const SourceLocation key_loc = where(key, &at);
        if (!key.IsScalar()) {
            return fail(key_loc, "a key in " + std::string(what) + " must be a plain name (one of " + join(allowed) +
                                     "), found " + describe(key));
        }
        const std::string& name = key.Scalar();
        if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
            return fail(key_loc, "unknown key " + quote_text(name) + " in " + std::string(what) + " (allowed: " +
                                     join(allowed) + ")");
        }
        if (const Entry* first = out.get(name)) {
            return fail(key_loc, "duplicate key `" + name + "` in " + std::string(what) + " (first at " +
                                     to_string(key_at(*first)) + ")");
        }
        out.add(name, Entry{key, it->second});
    }
    return out;
}

Result<std::string> Loader::text(const Entry& e, std::string_view expected) const {
    if (!e.value.IsScalar()) {
        return fail(value_at(e), "`" + e.key.Scalar() + "` must be " + std::string(expected) + ", found " +
                                     describe(e.value));
    }
    const std::string value{trim(e.value.Scalar())};
    if (value.empty()) return fail(value_at(e), "`" + e.key.Scalar() + "` is empty; expected " + std::string(expected));
    return value;
}

Result<double> Loader::number(const Entry& e, std::string_view expected) const {
    auto t = text(e, expected);
    if (!t) return t.error();
    const auto value = parse_number(*t);
    if (!value) {
        return fail(value_at(e), "`" + e.key.Scalar() + "` must be " + std::string(expected) + ", found " +
                                     describe(e.value));
    }
    return *value;
}

Result<bool> Loader::boolean(const Entry& e) const {
    auto t = text(e, "true or false");
    if (!t) return t.error();
    if (*t == "true" || *t == "True" || *t == "TRUE") return true;
    if (*t == "false" || *t == "False" || *t == "FALSE") return false;
    return fail(value_at(e), "`" + e.key.Scalar() + "` must be true or false, found " + describe(e.value));
}

Result<std::uint64_t> Loader::whole(const Entry& e, std::string_view expected) const {
    auto t = text(e, expected);
    if (!t) return t.error();
    const auto value = parse_unsigned(*t);
    if (!value) {
        return fail(value_at(e), "`" + e.key.Scalar() + "` must be " + std::string(expected) + ", found " +
                                     describe(e.value));
    }
    return *value;
}

Result<DurationMs> Loader::duration(const Entry& e) const {
    constexpr std::string_view kExpected = "a duration like 30h, 90m, 2h30m, 500ms or a number of seconds";
    auto t = text(e, kExpected);
    if (!t) return t.error();
    const auto value = parse_scenario_duration(*t);
    if (!value) {
        return fail(value_at(e), "`" + e.key.Scalar() + "` " + quote_text(*t) + " is not a duration (expected " +
                                     std::string(kExpected) + ")");
    }
    return *value;
}

Result<DurationMs> Loader::offset(const Entry& e) const {
    constexpr std::string_view kExpected =
        "an offset from the start like 2h, 2h30m or 7200 (seconds), or an RFC 3339 time like 2026-01-05T02:00:00Z";
    auto t = text(e, kExpected);
    if (!t) return t.error();
    const std::string& key = e.key.Scalar();
    DurationMs at = 0;
    if (const auto d = parse_scenario_duration(*t)) {
        at = *d;
    } else if (const auto instant = parse_rfc3339(*t)) {
        if (*instant < s_.start) {
            return fail(value_at(e), "`" + key + "` " + quote_text(*t) + " is before the start of the run (" +
                                         format_rfc3339(s_.start) + ")");
        }
        at = *instant - s_.start;
    } else {
        return fail(value_at(e), "`" + key + "` " + quote_text(*t) + " is not " + std::string(kExpected));
    }
    if (at >= s_.duration_ms) {
        return fail(value_at(e), "`" + key + "` " + quote_text(*t) + " is not before the end of the run (`duration: " +
                                     duration_text_ + "`; `" + key + "` must lie in [0, duration))");
    }
    return at;
}

template <class E, std::size_t N>
Result<E> Loader::choice(const Entry& e, const std::array<std::string_view, N>& names) const {
    auto t = text(e, "one of " + one_of(names));
    if (!t) return t.error();
    const auto value = lookup<E>(names, *t);
    if (!value) {
        return fail(value_at(e), "unknown " + e.key.Scalar() + " " + quote_text(*t) + " (expected " + one_of(names) + ")");
    }
    return *value;
}

Result<std::string> Loader::id(const Entry& e, std::string_view what) const {
    auto t = text(e, std::string(what) + " made of letters, digits, _ . and -");
    if (!t) return t.error();
    if (!valid_id(*t)) {
        return fail(value_at(e), "`" + e.key.Scalar() + "` " + quote_text(*t) + " is not a valid " + std::string(what) +
                                     " (use letters, digits, _ . and -, e.g. thermo-1)");
    }
    return t;
}

Result<Quantity> Loader::quantity(const YAML::Node& node, const SourceLocation& at, std::string_view name) const {
    constexpr std::string_view kExpected =
        "a number (its unit in the parameter's name, e.g. setpoint_c: 21) or a duration like 30h";
    if (!node.IsScalar() || trim(node.Scalar()).empty()) {
        return fail(at_or(node, at), "parameter `" + std::string(name) + "`: expected " + std::string(kExpected) +
                                         ", found " + describe(node));
    }
    const std::string_view t = trim(node.Scalar());
    if (const auto n = parse_number(t)) return Quantity{*n, ParamUnit::number};
    if (const auto d = parse_scenario_duration(t)) return Quantity{static_cast<double>(*d), ParamUnit::duration_ms};
    return fail(where(node, &at), "parameter `" + std::string(name) + "`: " + quote_text(t) + " is neither " +
                                      std::string(kExpected));
}

Result<Param> Loader::param(const Entry& e) const {
    const std::string name = e.key.Scalar();
    const SourceLocation at = value_at(e);
    Param p;
    p.where = key_at(e);
    if (!e.value.IsMap()) {
        auto q = quantity(e.value, at, name);
        if (!q) return q.error();
        p.value = Distribution::constant(q->value);
        p.unit = q->unit;
        return p;
    }
    if (e.value.size() != 1) {
        return fail(at, "parameter `" + name + "` must have exactly one of constant, uniform or normal, e.g. "
                                               "{uniform: [15h, 55h]} or {normal: [21, 1]}");
    }
    auto f = fields(e.value, at, "parameter `" + name + "`", kDistributionKeys);
    if (!f) return f.error();
    const auto& [kind_name, inner] = f->entries().front();
    if (kind_name == "constant") {
        auto q = quantity(inner.value, value_at(inner), name);
        if (!q) return q.error();
        p.value = Distribution::constant(q->value);
        p.unit = q->unit;
        return p;
    }
    const std::string shape = kind_name == "uniform" ? "[low, high]" : "[mean, standard deviation]";
    if (!inner.value.IsSequence() || inner.value.size() != 2) {
        return fail(value_at(inner), "parameter `" + name + "`: `" + kind_name + "` must be a list of two values " +
                                         shape + ", found " + describe(inner.value));
    }
    auto a = quantity(inner.value[0], value_at(inner), name);
    if (!a) return a.error();
    auto b = quantity(inner.value[1], value_at(inner), name);
    if (!b) return b.error();
    if (a->unit != b->unit) {
        return fail(value_at(inner), "parameter `" + name + "`: both values of `" + kind_name +
                                         "` must be numbers or both durations, not one of each");
    }
    p.unit = a->unit;
    if (kind_name == "uniform") {
        if (b->value < a->value) {
            return fail(value_at(inner), "parameter `" + name + "`: uniform low " + inner.value[0].Scalar() +
                                             " is above high " + inner.value[1].Scalar());
        }
        p.value = Distribution{Distribution::Kind::uniform, a->value, b->value};
    } else {
        if (b->value < 0) {
            return fail(value_at(inner), "parameter `" + name + "`: the standard deviation " +
                                             inner.value[1].Scalar() + " is negative");
        }
        p.value = Distribution{Distribution::Kind::normal, a->value, b->value};
    }
    return p;
}

Result<ParamTable> Loader::params(const Entry& e) const {
    const SourceLocation at = value_at(e);
    if (e.value.IsNull()) return ParamTable{};
    if (!e.value.IsMap()) {
        return fail(at, "`" + e.key.Scalar() + "` must be a mapping of parameter names to values, e.g. "
                                               "{setpoint_c: 21, time_constant: 30h}, found " + describe(e.value));
    }
    ParamTable table;
    for (auto it = e.value.begin(); it != e.value.end(); ++it) {
        const Entry item{it->first, it->second};
        if (!item.key.IsScalar() || trim(item.key.Scalar()).empty()) {
            return fail(where(item.key, &at), "a parameter name must be a plain name, found " + describe(item.key));
        }
        const std::string name = item.key.Scalar();
        if (const auto found = table.find(name); found != table.end()) {
            return fail(key_at(item), "duplicate parameter `" + name + "` (first at " + to_string(found->second.where) + ")");
        }
        auto p = param(item);
        if (!p) return p.error();
        table.emplace(name, std::move(*p));
    }
    return table;
}

Result<Distribution> Loader::number_distribution(const Entry& e, std::string_view unit_hint) const {
    auto p = param(e);
    if (!p) return p.error();
    if (p->unit != ParamUnit::number) {
        return fail(value_at(e), "`" + e.key.Scalar() + "` must be a number (" + std::string(unit_hint) +
                                     ") or {uniform: [a, b]} / {normal: [mean, sd]} of numbers, not a duration");
    }
    return p->value;
}

Result<std::string> Loader::recipient(const Entry& e) const {
    auto name = text(e, "a recipient declared under `recipients:`");
    if (!name) return name;
    if (!s_.recipients.contains(*name)) {
        std::vector<std::string> names;
        for (const auto& [n, format] : s_.recipients) names.push_back(n);
        return fail(value_at(e), "unknown recipient " + quote_text(*name) + " (declared under `recipients:`: " +
                                     list_names(names) + ")");
    }
    return name;
}

Result<std::vector<std::string>> Loader::recipient_list(const Entry& e) const {
    if (!e.value.IsSequence()) {
        return fail(value_at(e), "`" + e.key.Scalar() + "` must be a list of recipients like [voice-partner], found " +
                                     describe(e.value));
    }
    std::vector<std::string> out;
    for (const YAML::Node& item : e.value) {
        auto name = recipient(Entry{e.key, item});
        if (!name) return name.error();
        if (std::find(out.begin(), out.end(), *name) != out.end()) {
            return fail(at_or(item, value_at(e)), "recipient " + quote_text(*name) + " is listed twice in `" + e.key.Scalar() + "`");
        }
        out.push_back(std::move(*name));
    }
    return out;
}

Result<DeviceSelector> Loader::selector(const Entry& e, std::string_view what) const {
    DeviceSelector sel;
    sel.where = value_at(e);
    std::vector<YAML::Node> names;
    if (e.value.IsScalar()) {
        names.push_back(e.value);
    } else if (e.value.IsSequence() && e.value.size() > 0) {
        for (const YAML::Node& item : e.value) names.push_back(item);
    } else {
        return fail(sel.where, "`" + e.key.Scalar() + "` in " + std::string(what) +
                                   " must be \"*\", a device id, a fleet prefix, or a list of them, found " +
                                   (e.value.IsSequence() ? std::string("an empty list") : describe(e.value)));
    }
    for (const YAML::Node& node : names) {
        const SourceLocation at = at_or(node, sel.where);
        if (!node.IsScalar() || trim(node.Scalar()).empty()) {
            return fail(at, "each device in `" + e.key.Scalar() + "` must be a name, found " + describe(node));
        }
        DeviceRef ref;
        ref.name = std::string(trim(node.Scalar()));
        if (ref.name == "*") {
            ref.kind = DeviceRef::Kind::all;
        } else if (const auto d = device_index_.find(ref.name); d != device_index_.end()) {
            ref.kind = DeviceRef::Kind::device;
            ref.index = d->second;
        } else if (const auto f = fleet_index_.find(ref.name); f != fleet_index_.end()) {
            ref.kind = DeviceRef::Kind::fleet;
            ref.index = f->second;
        } else {
            bool found = false;
            for (std::size_t i = 0; i < s_.fleets.size() && !found; ++i) {
                if (const auto member = s_.fleets[i].member_of(ref.name)) {
                    ref.kind = DeviceRef::Kind::fleet_member;
                    ref.index = i;
                    ref.member = *member;
                    found = true;
                }
            }
            if (!found) {
                std::vector<std::string> known;
                for (const auto& d : s_.devices) known.push_back(d.id);
                std::vector<std::string> prefixes;
                for (const auto& fl : s_.fleets) prefixes.push_back(fl.prefix);
                std::string expected = "\"*\"";
                if (!known.empty()) expected += ", a device id (" + list_names(known) + ")";
                if (!prefixes.empty()) {
                    expected += ", a fleet prefix (" + list_names(prefixes) + ") or a generated id like " +
                                s_.fleets.front().device_id(1);
                }
                return fail(at, "unknown device " + quote_text(ref.name) + " in " + std::string(what) + " (expected " +
                                    expected + ")");
            }
        }
        sel.refs.push_back(std::move(ref));
    }
    return sel;
}

Result<CategorySet> Loader::categories(const Entry& e, bool& all) const {
    std::string names;
    for (const auto n : kCategoryNames) names += std::string(n) + ", ";
    names += "all";
    if (!e.value.IsSequence() || e.value.size() == 0) {
        return fail(value_at(e), "`categories` must be a non-empty list like [temperature, setpoint] or [all], found " +
                                     (e.value.IsSequence() ? std::string("an empty list") : describe(e.value)));
    }
    CategorySet set;
    all = false;
    for (const YAML::Node& item : e.value) {
        const SourceLocation at = at_or(item, value_at(e));
        if (!item.IsScalar()) return fail(at, "each category must be a name (one of " + names + "), found " + describe(item));
        const std::string name{trim(item.Scalar())};
        if (name == "all") {
            all = true;
            set = all_categories();
            continue;
        }
        const auto c = category_from_string(name);
        if (!c) return fail(at, "unknown category " + quote_text(name) + " (expected one of " + names + ")");
        insert(set, *c);
    }
    return set;
}

Status Loader::check_targets(const DeviceSelector& sel, Action action, const SourceLocation& at) const {
    const auto wrong = [&](std::string_view kind, const std::string& name) {
        return fail(at, "action `" + std::string(to_string(action)) + "` does not apply to " + std::string(kind) + " " +
                            quote_text(name) +
                            " (set_setpoint and set_mode apply to thermostats, lock and unlock to locks, query to both)");
    };
    for (const DeviceRef& ref : sel.refs) {
        switch (ref.kind) {
            case DeviceRef::Kind::all: {
                const bool any = std::any_of(s_.devices.begin(), s_.devices.end(),
                                             [&](const DeviceSpec& d) { return action_applies(action, d.kind); }) ||
                                 std::any_of(s_.fleets.begin(), s_.fleets.end(),
                                             [&](const FleetSpec& f) { return action_applies(action, f.kind); });
                if (!any) {
                    return fail(at, "action `" + std::string(to_string(action)) +
                                        "` applies to no device of this scenario (set_setpoint and set_mode apply to "
                                        "thermostats, lock and unlock to locks, query to both)");
                }
                break;
            }
            case DeviceRef::Kind::device: {
                const DeviceSpec& d = s_.devices[ref.index];
                if (!action_applies(action, d.kind)) return wrong(to_string(d.kind), ref.name);
                break;
            }
            case DeviceRef::Kind::fleet:
            case DeviceRef::Kind::fleet_member: {
                const FleetSpec& f = s_.fleets[ref.index];
                if (!action_applies(action, f.kind)) return wrong(to_string(f.kind), ref.name);
                break;
            }
        }
    }
    return {};
}

// -- sections ----------------------------------------------------------------------------------

Status Loader::read_recipients(const Entry& e) {
    const SourceLocation at = value_at(e);
    if (!e.value.IsMap() || e.value.size() == 0) {
        return fail(at, "`recipients` must be a mapping of partner names to wire formats, e.g. "
                        "{voice-partner: alexa, vendor-cloud: json}, found " +
                            (e.value.IsMap() ? std::string("an empty mapping") : describe(e.value)));
    }
    for (auto it = e.value.begin(); it != e.value.end(); ++it) {
        const Entry item{it->first, it->second};
        if (!item.key.IsScalar() || !valid_id(item.key.Scalar())) {
            return fail(where(item.key, &at), "a recipient name must use letters, digits, _ . and -, found " +
                                                  describe(item.key));
        }
        const std::string name = item.key.Scalar();
        if (s_.recipients.contains(name)) return fail(key_at(item), "recipient " + quote_text(name) + " is declared twice");
        auto format = choice<WireFormat>(item, kWireFormatNames);
        if (!format) {
            const bool written = item.value.IsScalar() && !trim(item.value.Scalar()).empty();
            return fail(value_at(item), "recipient " + quote_text(name) +
                                            (written ? ": unknown wire format " + quote_text(item.value.Scalar())
                                                     : " has no wire format, found " + describe(item.value)) +
                                            " (expected " + one_of(kWireFormatNames) + ")");
        }
        s_.recipients.emplace(name, *format);
    }
    return {};
}

Status Loader::read_parameters(const Entry& e) {
    auto f = fields(e.value, value_at(e), "`parameters`", kDeviceKindNames);
    if (!f) return f.error();
    for (const auto& [kind_name, entry] : f->entries()) {
        const auto kind = lookup<DeviceKind>(kDeviceKindNames, kind_name);
        auto table = params(entry);
        if (!table) return table.error();
        s_.parameters[static_cast<std::size_t>(*kind)] = std::move(*table);
    }
    return {};
}

Status Loader::read_devices(const Entry& e) {
    if (e.value.IsNull()) return {};
    if (!e.value.IsSequence()) {
        return fail(value_at(e), "`devices` must be a list of devices (each item `- id: thermo-1`), found " +
                                     describe(e.value));
    }
    for (const YAML::Node& item : e.value) {
        DeviceSpec d;
        d.where = at_or(item, value_at(e));
        auto f = fields(item, d.where, "a device", kDeviceKeys);
        if (!f) return f.error();
        const Entry* id_entry = f->get("id");
        if (id_entry == nullptr) return fail(d.where, "device has no `id:` (expected a name like thermo-1)");
        auto device_id = id(*id_entry, "device id");
        if (!device_id) return device_id.error();
        d.id = std::move(*device_id);
        const std::string what = "device " + quote_text(d.id);
        if (d.id == "*") return fail(value_at(*id_entry), "\"*\" cannot be a device id");

        const Entry* kind = f->get("kind");
        if (kind == nullptr) return fail(d.where, what + " has no `kind:` (expected " + one_of(kDeviceKindNames) + ")");
        auto k = choice<DeviceKind>(*kind, kDeviceKindNames);
        if (!k) return k.error();
        d.kind = *k;
        if (const Entry* profile = f->get("profile")) {
            auto p = choice<Profile>(*profile, kProfileNames);
            if (!p) return p.error();
            d.profile = *p;
        }
        if (const Entry* linked = f->get("linked")) {
            auto list = recipient_list(*linked);
            if (!list) return list.error();
            d.linked = std::move(*list);
        } else {
            for (const auto& [name, format] : s_.recipients) d.linked.push_back(name);
        }
        if (const Entry* p = f->get("params")) {
            auto table = params(*p);
            if (!table) return table.error();
            d.params = std::move(*table);
        }
        if (const auto dup = device_index_.find(d.id); dup != device_index_.end()) {
            return fail(value_at(*id_entry), "duplicate device id " + quote_text(d.id) + " (first at " +
                                                 to_string(s_.devices[dup->second].where) + ")");
        }
        device_index_.emplace(d.id, s_.devices.size());
        s_.devices.push_back(std::move(d));
    }
    return {};
}

Status Loader::read_fleets(const Entry& e) {
    if (e.value.IsNull()) return {};
    if (!e.value.IsSequence()) {
        return fail(value_at(e), "`fleets` must be a list of fleets (each item `- prefix: home`), found " +
                                     describe(e.value));
    }
    for (const YAML::Node& item : e.value) {
        FleetSpec fl;
        fl.where = at_or(item, value_at(e));
        auto f = fields(item, fl.where, "a fleet", kFleetKeys);
        if (!f) return f.error();
        const Entry* prefix = f->get("prefix");
        if (prefix == nullptr) return fail(fl.where, "fleet has no `prefix:` (expected a name like home)");
        auto p = id(*prefix, "fleet prefix");
        if (!p) return p.error();
        fl.prefix = std::move(*p);
        const std::string what = "fleet " + quote_text(fl.prefix);

        const Entry* count = f->get("count");
        if (count == nullptr) return fail(fl.where, what + " has no `count:` (expected how many devices, e.g. 1000)");
        auto n = whole(*count, "a whole number of devices, at least 1");
        if (!n) return n.error();
        if (*n == 0 || *n > kMaxFleetCount) {
            return fail(value_at(*count), what + ": `count` must be between 1 and " + std::to_string(kMaxFleetCount) +
                                              ", found " + std::to_string(*n));
        }
        fl.count = *n;

        const Entry* kind = f->get("kind");
        if (kind == nullptr) return fail(fl.where, what + " has no `kind:` (expected " + one_of(kDeviceKindNames) + ")");
        auto k = choice<DeviceKind>(*kind, kDeviceKindNames);
        if (!k) return k.error();
        fl.kind = *k;

        const Entry* profile = f->get("profile");
        const Entry* profiles = f->get("profiles");
        if (profile != nullptr && profiles != nullptr) {
            return fail(key_at(*profiles), what + " has both `profile` and `profiles`; use one");
        }
        if (profile != nullptr) {
            auto pr = choice<Profile>(*profile, kProfileNames);
            if (!pr) return pr.error();
            fl.profiles.push_back(ProfileWeight{*pr, 1.0});
        } else if (profiles != nullptr) {
            auto weights = fields(profiles->value, value_at(*profiles), what + " `profiles`", kProfileNames);
            if (!weights) return weights.error();
            if (weights->entries().empty()) {
                return fail(value_at(*profiles), what + ": `profiles` is empty; give weights like {compliant: 0.9, proactive: 0.1}");
            }
            std::array<double, kProfileCount> w{};
            double total = 0;
            for (const auto& [name, entry] : weights->entries()) {
                auto weight = number(entry, "a weight ≥ 0");
                if (!weight) return weight.error();
                if (*weight < 0) {
                    return fail(value_at(entry), what + ": weight of " + name + " is negative (" + entry.value.Scalar() + ")");
                }
                w[static_cast<std::size_t>(*lookup<Profile>(kProfileNames, name))] = *weight;
                total += *weight;
            }
            if (!(total > 0) || !std::isfinite(total)) {
                return fail(value_at(*profiles), what + ": the profile weights are all 0 (at least one must be above 0)");
            }
            for (std::size_t i = 0; i < kProfileCount; ++i) {
                if (w[i] > 0) fl.profiles.push_back(ProfileWeight{static_cast<Profile>(i), w[i] / total});
            }
        } else {
            fl.profiles.push_back(ProfileWeight{Profile::compliant, 1.0});
        }

        if (const Entry* linked = f->get("linked")) {
            auto list = recipient_list(*linked);
            if (!list) return list.error();
            fl.linked = std::move(*list);
        } else {
            for (const auto& [name, format] : s_.recipients) fl.linked.push_back(name);
        }
        if (const Entry* pe = f->get("params")) {
            auto table = params(*pe);
            if (!table) return table.error();
            fl.params = std::move(*table);
        }
        if (const auto dup = fleet_index_.find(fl.prefix); dup != fleet_index_.end()) {
            return fail(value_at(*prefix), "duplicate fleet prefix " + quote_text(fl.prefix) + " (first at " +
                                               to_string(s_.fleets[dup->second].where) + ")");
        }
        fleet_index_.emplace(fl.prefix, s_.fleets.size());
        s_.fleets.push_back(std::move(fl));
    }
    return {};
}

/// Names must stay unambiguous: no device id equals a fleet prefix or a generated id.
Status Loader::check_ids() {
    for (const DeviceSpec& d : s_.devices) {
        for (const FleetSpec& f : s_.fleets) {
            if (d.id == f.prefix) {
                return fail(d.where, "device id " + quote_text(d.id) + " is also the prefix of the fleet at " +
                                         to_string(f.where) + "; use different names");
            }
            if (f.member_of(d.id)) {
                return fail(d.where, "device id " + quote_text(d.id) + " is also a generated id of the fleet " +
                                         quote_text(f.prefix) + " at " + to_string(f.where) + "; use different names");
            }
        }
    }
    if (s_.devices.empty() && s_.fleets.empty()) {
        return fail(SourceLocation{file_, 1, 1}, "the scenario has no devices (add `devices:` or `fleets:`)");
    }
    return {};
}

Status Loader::read_network(const Entry& e) {
    auto f = fields(e.value, value_at(e), "`network`", kNetworkKeys);
    if (!f) return f.error();
    NetworkSpec& net = s_.network;
    if (const Entry* latency = f->get("latency")) {
        if (latency->value.IsScalar()) {
            auto median = duration(*latency);
            if (!median) return median.error();
            net.latency = LatencySpec{*median, 0};
        } else {
            auto lf = fields(latency->value, value_at(*latency), "`latency`", kLatencyKeys);
            if (!lf) return lf.error();
            if (const Entry* median = lf->get("median")) {
                auto d = duration(*median);
                if (!d) return d.error();
                net.latency.median_ms = *d;
            }
            if (const Entry* jitter = lf->get("jitter")) {
                auto d = duration(*jitter);
                if (!d) return d.error();
                net.latency.jitter_ms = *d;
            }
        }
    }
    if (const Entry* loss = f->get("loss")) {
        auto p = number(*loss, "a probability between 0 and 1");
        if (!p) return p.error();
        if (*p < 0 || *p > 1) return fail(value_at(*loss), "`loss` must be a probability between 0 and 1, found " + loss->value.Scalar());
        net.loss = *p;
    }
    if (const Entry* retries = f->get("retries")) {
        auto n = whole(*retries, "a whole number of retries (0 or more)");
        if (!n) return n.error();
        if (*n > kMaxRetries) {
            return fail(value_at(*retries), "`retries` must be at most " + std::to_string(kMaxRetries) + ", found " +
                                                std::to_string(*n));
        }
        net.retries = static_cast<std::uint32_t>(*n);
    }
    if (const Entry* backoff = f->get("backoff")) {
        auto d = duration(*backoff);
        if (!d) return d.error();
        net.backoff_ms = *d;
    }
    if (const Entry* outages = f->get("outages")) {
        if (!outages->value.IsSequence()) {
            return fail(value_at(*outages), "`outages` must be a list like [{at: 4h, duration: 20m, devices: \"*\"}], found " +
                                                describe(outages->value));
        }
        for (const YAML::Node& item : outages->value) {
            OutageSpec o;
            o.where = at_or(item, value_at(*outages));
            auto of = fields(item, o.where, "an outage", kOutageKeys);
            if (!of) return of.error();
            const Entry* at = of->get("at");
            if (at == nullptr) return fail(o.where, "outage has no `at:` (expected an offset like 4h)");
            auto when = offset(*at);
            if (!when) return when.error();
            o.at_ms = *when;
            const Entry* length = of->get("duration");
            if (length == nullptr) return fail(o.where, "outage has no `duration:` (expected e.g. 20m)");
            auto d = duration(*length);
            if (!d) return d.error();
            if (*d <= 0) return fail(value_at(*length), "outage `duration` must be longer than 0");
            o.duration_ms = *d;
            if (const Entry* devices = of->get("devices")) {
                auto sel = selector(*devices, "an outage");
                if (!sel) return sel.error();
                o.devices = std::move(*sel);
            } else {
                o.devices.refs.push_back(DeviceRef{DeviceRef::Kind::all, "*", 0, 0});
                o.devices.where = o.where;
            }
            net.outages.push_back(std::move(o));
        }
    }
    return {};
}

Status Loader::read_interaction(const Fields& f, const SourceLocation& at, std::string_view what, bool allow_random,
                                Interaction& out) const {
    const Entry* via = f.get("via");
    if (via == nullptr) return fail(at, std::string(what) + " has no `via:` (expected " + one_of(kViaNames) + ")");
    auto v = choice<Via>(*via, kViaNames);
    if (!v) return v.error();
    out.via = *v;

    const Entry* rec = f.get("recipient");
    if (out.via == Via::physical) {
        if (rec != nullptr) {
            return fail(key_at(*rec), std::string(what) + ": `recipient` only applies to via: voice or app "
                                                          "(a physical interaction goes through no partner)");
        }
    } else {
        if (rec == nullptr) {
            return fail(at, std::string(what) + " with via: " + std::string(to_string(out.via)) +
                                " has no `recipient:` (expected the partner it goes through, e.g. voice-partner)");
        }
        auto r = recipient(*rec);
        if (!r) return r.error();
        out.recipient = std::move(*r);
    }

    const Entry* action = f.get("action");
    if (action == nullptr) return fail(at, std::string(what) + " has no `action:` (expected " + one_of(kActionNames) + ")");
    auto a = choice<Action>(*action, kActionNames);
    if (!a) return a.error();
    out.action = *a;

    const Entry* value = f.get("value");
    if (out.action == Action::set_setpoint) {
        if (value == nullptr) {
            return fail(at, std::string(what) + " with action: set_setpoint has no `value:` (expected the new setpoint "
                                                "in °C, e.g. value: 21" +
                                (allow_random ? std::string(" or value: {normal: [21, 1]}") : std::string()) + ")");
        }
        if (!allow_random && !value->value.IsScalar()) {
            return fail(value_at(*value), std::string(what) + ": `value` must be a number (the setpoint in °C), found " +
                                              describe(value->value));
        }
        auto dist = number_distribution(*value, "the setpoint in °C");
        if (!dist) return dist.error();
        out.setpoint_c = *dist;
    } else if (out.action == Action::set_mode) {
        if (value == nullptr) {
            return fail(at, std::string(what) + " with action: set_mode has no `value:` (expected " + one_of(kModeNames) + ")");
        }
        auto mode = text(*value, "one of " + one_of(kModeNames));
        if (!mode) return mode.error();
        if (!lookup<std::size_t>(kModeNames, *mode)) {
            return fail(value_at(*value), "unknown mode " + quote_text(*mode) + " (expected " + one_of(kModeNames) + ")");
        }
        out.mode = std::move(*mode);
    } else if (value != nullptr) {
        return fail(key_at(*value), std::string(what) + ": `value` only applies to action: set_setpoint or set_mode "
                                                        "(this action is " + std::string(to_string(out.action)) + ")");
    }
    return {};
}

Status Loader::read_customers(const Entry& e) {
    if (!e.value.IsSequence()) {
        return fail(value_at(e), "`customers` must be a list (each item `- via: voice`), found " + describe(e.value));
    }
    for (const YAML::Node& item : e.value) {
        CustomerSpec c;
        c.where = at_or(item, value_at(e));
        auto f = fields(item, c.where, "a customer", kCustomerKeys);
        if (!f) return f.error();
        if (const Entry* devices = f->get("devices")) {
            auto sel = selector(*devices, "a customer");
            if (!sel) return sel.error();
            c.devices = std::move(*sel);
        } else {
            c.devices.refs.push_back(DeviceRef{DeviceRef::Kind::all, "*", 0, 0});
            c.devices.where = c.where;
        }
        if (auto s = read_interaction(*f, c.where, "customer", true, c.interaction); !s) return s.error();
        if (auto s = check_targets(c.devices, c.interaction.action, c.devices.where); !s) return s.error();

        const Entry* rate = f->get("rate");
        if (rate == nullptr) return fail(c.where, "customer has no `rate:` (expected events per device like 4/day or 1/h)");
        auto rt = text(*rate, "a rate like 4/day, 1/h or 1/30m");
        if (!rt) return rt.error();
        const auto per_day = parse_rate(*rt);
        if (!per_day) {
            return fail(value_at(*rate), "`rate` " + quote_text(*rt) + " is not a rate (expected events per device "
                                                                        "like 4/day, 1/h, 0.5/hour, 3/week or 1/30m)");
        }
        if (*per_day <= 0) return fail(value_at(*rate), "`rate` must be above 0 (leave the customer out instead)");
        c.rate_per_day = *per_day;

        if (const Entry* hours = f->get("hours")) {
            std::vector<YAML::Node> windows;
            if (hours->value.IsScalar()) {
                windows.push_back(hours->value);
            } else if (hours->value.IsSequence() && hours->value.size() > 0) {
                for (const YAML::Node& w : hours->value) windows.push_back(w);
            } else {
                return fail(value_at(*hours), "`hours` must be a local-time window like \"07:00-23:00\" or a list of "
                                              "them, found " + describe(hours->value));
            }
            for (const YAML::Node& w : windows) {
                const SourceLocation at = at_or(w, value_at(*hours));
                if (!w.IsScalar()) return fail(at, "each of `hours` must be text like \"07:00-23:00\", found " + describe(w));
                std::string why;
                auto window = parse_schedule_window(w.Scalar(), &why);
                if (!window) return fail(at, "bad `hours` window " + quote_text(w.Scalar()) + ": " + why);
                c.hours.push_back(std::move(*window));
            }
        }
        s_.customers.push_back(std::move(c));
    }
    return {};
}

Result<TimelineEvent> Loader::read_event(const YAML::Node& item) const {
    TimelineEvent ev;
    ev.where = where(item);
    auto f = fields(item, ev.where, "a timeline event", kEventKeys);
    if (!f) return f.error();
    const Entry* at = f->get("at");
    if (at == nullptr) return fail(ev.where, "timeline event has no `at:` (expected an offset from the start like 2h)");
    auto when = offset(*at);
    if (!when) return when.error();
    ev.at_ms = *when;

    const Entry* body = nullptr;
    std::string kind;
    for (const auto& [name, entry] : f->entries()) {
        if (name == "at") continue;
        if (body != nullptr) {
            return fail(key_at(entry), "timeline event has both `" + kind + "` and `" + name +
                                           "`; write one event per list item");
        }
        body = &entry;
        kind = name;
    }
    if (body == nullptr) {
        return fail(ev.where, "timeline event has no action (expected one of interact, consent, link, network, env, "
                              "fault, profile next to `at:`)");
    }
    const SourceLocation body_at = value_at(*body);
    const std::string what = "`" + kind + "` event";

    const auto read_fields = [&](const auto& allowed) { return fields(body->value, body_at, what, allowed); };
    const auto read_device = [&](const Fields& ef) -> Status {
        const Entry* device = ef.get("device");
        if (device == nullptr) {
            return fail(body_at, what + " has no `device:` (expected a device id, a fleet prefix or \"*\")");
        }
        auto sel = selector(*device, "a " + what);
        if (!sel) return sel.error();
        ev.devices = std::move(*sel);
        return {};
    };
    const auto required = [&](const Fields& ef, std::string_view key, std::string_view expected) -> Result<const Entry*> {
        const Entry* entry = ef.get(key);
        if (entry == nullptr) {
            return fail(body_at, what + " has no `" + std::string(key) + ":` (expected " + std::string(expected) + ")");
        }
        return entry;
    };

    if (kind == "interact") {
        auto ef = read_fields(kInteractKeys);
        if (!ef) return ef.error();
        if (auto s = read_device(*ef); !s) return s.error();
        InteractEvent e;
        if (auto s = read_interaction(*ef, body_at, what, false, e.interaction); !s) return s.error();
        if (auto s = check_targets(ev.devices, e.interaction.action, ev.devices.where); !s) return s.error();
        ev.action = std::move(e);
    } else if (kind == "consent") {
        auto ef = read_fields(kConsentKeys);
        if (!ef) return ef.error();
        if (auto s = read_device(*ef); !s) return s.error();
        ConsentEvent e;
        auto r = required(*ef, "recipient", "a recipient declared under `recipients:`");
        if (!r) return r.error();
        auto name = recipient(**r);
        if (!name) return name.error();
        e.recipient = std::move(*name);
        auto c = required(*ef, "categories", "a list like [temperature] or [all]");
        if (!c) return c.error();
        auto set = categories(**c, e.all_categories);
        if (!set) return set.error();
        e.categories = *set;
        auto g = required(*ef, "granted", "true or false");
        if (!g) return g.error();
        auto granted = boolean(**g);
        if (!granted) return granted.error();
        e.granted = *granted;
        ev.action = std::move(e);
    } else if (kind == "link") {
        auto ef = read_fields(kLinkKeys);
        if (!ef) return ef.error();
        if (auto s = read_device(*ef); !s) return s.error();
        LinkEvent e;
        auto r = required(*ef, "recipient", "a recipient declared under `recipients:`");
        if (!r) return r.error();
        auto name = recipient(**r);
        if (!name) return name.error();
        e.recipient = std::move(*name);
        auto l = required(*ef, "linked", "true or false");
        if (!l) return l.error();
        auto linked = boolean(**l);
        if (!linked) return linked.error();
        e.linked = *linked;
        ev.action = std::move(e);
    } else if (kind == "network") {
        auto ef = read_fields(kNetworkEventKeys);
        if (!ef) return ef.error();
        if (auto s = read_device(*ef); !s) return s.error();
        auto u = required(*ef, "up", "true or false");
        if (!u) return u.error();
        auto up = boolean(**u);
        if (!up) return up.error();
        ev.action = NetworkEvent{*up};
    } else if (kind == "env") {
        auto ef = read_fields(kEnvKeys);
        if (!ef) return ef.error();
        if (auto s = read_device(*ef); !s) return s.error();
        EnvEvent e;
        if (const Entry* outdoor = ef->get("outdoor_c")) {
            auto t = number(*outdoor, "a temperature in °C");
            if (!t) return t.error();
            e.outdoor_c = *t;
        }
        if (const Entry* occupied = ef->get("occupied")) {
            auto o = boolean(*occupied);
            if (!o) return o.error();
            e.occupied = *o;
        }
        if (const Entry* door = ef->get("door")) {
            auto d = choice<DoorPosition>(*door, kDoorNames);
            if (!d) return d.error();
            e.door = *d;
        }
        if (!e.outdoor_c && !e.occupied && !e.door) {
            return fail(body_at, what + " sets nothing (expected at least one of outdoor_c, occupied, door)");
        }
        ev.action = e;
    } else if (kind == "fault") {
        auto ef = read_fields(kFaultKeys);
        if (!ef) return ef.error();
        if (auto s = read_device(*ef); !s) return s.error();
        FaultEvent e;
        auto k = required(*ef, "kind", one_of(kFaultNames));
        if (!k) return k.error();
        auto fk = choice<FaultKind>(**k, kFaultNames);
        if (!fk) return fk.error();
        e.kind = *fk;
        if (const Entry* length = ef->get("duration")) {
            auto d = duration(*length);
            if (!d) return d.error();
            if (*d <= 0) return fail(value_at(*length), "fault `duration` must be longer than 0 (leave it out for "
                                                        "a fault that lasts to the end of the run)");
            e.duration_ms = *d;
        }
        const Entry* rate = ef->get("rate_c_per_h");
        if (e.kind == FaultKind::drift) {
            if (rate == nullptr) {
                return fail(body_at, what + " with kind: drift has no `rate_c_per_h:` (expected how fast the "
                                            "reading drifts, in °C per hour, e.g. 0.5)");
            }
            auto r = number(*rate, "a number of °C per hour");
            if (!r) return r.error();
            e.rate_c_per_h = *r;
        } else if (rate != nullptr) {
            return fail(key_at(*rate), "`rate_c_per_h` only applies to kind: drift (this fault is " +
                                           std::string(to_string(e.kind)) + ")");
        }
        ev.action = e;
    } else {  // profile
        auto ef = read_fields(kProfileEventKeys);
        if (!ef) return ef.error();
        if (auto s = read_device(*ef); !s) return s.error();
        auto n = required(*ef, "name", one_of(kProfileNames));
        if (!n) return n.error();
        auto p = choice<Profile>(**n, kProfileNames);
        if (!p) return p.error();
        ev.action = ProfileEvent{*p};
    }
    return ev;
}

Status Loader::read_timeline(const Entry& e) {
    if (e.value.IsNull()) return {};
    if (!e.value.IsSequence()) {
        return fail(value_at(e), "`timeline` must be a list of events (each item `- {at: 2h, …}`), found " +
                                     describe(e.value));
    }
    for (const YAML::Node& item : e.value) {
        auto ev = read_event(item);
        if (!ev) return ev.error();
        s_.timeline.push_back(std::move(*ev));
    }
    std::stable_sort(s_.timeline.begin(), s_.timeline.end(),
                     [](const TimelineEvent& a, const TimelineEvent& b) { return a.at_ms < b.at_ms; });
    return {};
}

Status Loader::read_expect(const Entry& e) {
    s_.expect.where = key_at(e);
    auto f = fields(e.value, value_at(e), "`expect`", kExpectKeys);
    if (!f) return f.error();
    if (const Entry* allow = f->get("allow_other")) {
        auto b = boolean(*allow);
        if (!b) return b.error();
        s_.expect.allow_other = *b;
    }
    const Entry* list = f->get("findings");
    if (list == nullptr) return {};
    if (!list->value.IsSequence()) {
        return fail(value_at(*list), "`findings` must be a list: [] for none, or entries like "
                                     "{type: out_of_window, device: thermo-1, count: 3}, found " + describe(list->value));
    }
    std::string types;
    for (const auto n : kFindingTypeNames) types += (types.empty() ? "" : ", ") + std::string(n);
    for (const YAML::Node& item : list->value) {
        ExpectedFinding x;
        x.where = at_or(item, value_at(*list));
        auto ef = fields(item, x.where, "an expected finding", kExpectEntryKeys);
        if (!ef) return ef.error();
        const Entry* type = ef->get("type");
        if (type == nullptr) return fail(x.where, "expected finding has no `type:` (expected one of " + types + ")");
        auto tt = text(*type, "one of " + types);
        if (!tt) return tt.error();
        const auto ft = finding_type_from_string(*tt);
        if (!ft) return fail(value_at(*type), "unknown finding type " + quote_text(*tt) + " (expected one of " + types + ")");
        x.type = *ft;
        if (const Entry* device = ef->get("device")) {
            auto sel = selector(*device, "an expected finding");
            if (!sel) return sel.error();
            if (sel->refs.size() != 1) {
                return fail(value_at(*device), "`device` in an expected finding must be one name (a device id, a "
                                               "fleet prefix or \"*\"); write one entry per device");
            }
            const DeviceRef& ref = sel->refs.front();
            if (ref.kind != DeviceRef::Kind::all) x.device = ref.name;
            if (ref.kind == DeviceRef::Kind::fleet) x.fleet_count = s_.fleets[ref.index].count;
        }
        if (const Entry* rec = ef->get("recipient")) {
            auto r = recipient(*rec);
            if (!r) return r.error();
            x.recipient = std::move(*r);
        }
        if (const Entry* cat = ef->get("category")) {
            auto name = text(*cat, "a category name");
            if (!name) return name.error();
            const auto c = category_from_string(*name);
            if (!c) {
                return fail(value_at(*cat), "unknown category " + quote_text(*name) + " (expected one of " +
                                                join(kCategoryNames) + "; leave `category` out to match any)");
            }
            x.category = *c;
        }
        const Entry* count = ef->get("count");
        const Entry* min = ef->get("min");
        const Entry* max = ef->get("max");
        if (count != nullptr && (min != nullptr || max != nullptr)) {
            return fail(key_at(count == nullptr ? *min : *count),
                        "an expected finding takes either `count` (exactly) or `min`/`max`, not both");
        }
        if (count != nullptr) {
            auto n = whole(*count, "a whole number (0 or more)");
            if (!n) return n.error();
            x.min = *n;
            x.max = *n;
        }
        if (min != nullptr) {
            auto n = whole(*min, "a whole number (0 or more)");
            if (!n) return n.error();
            x.min = *n;
        }
        if (max != nullptr) {
            auto n = whole(*max, "a whole number (0 or more)");
            if (!n) return n.error();
            x.max = *n;
            if (min == nullptr) x.min = 0;
            if (*n < x.min) {
                return fail(value_at(*max), "`max` " + std::to_string(*n) + " is below `min` " + std::to_string(x.min));
            }
        }
        s_.expect.findings.push_back(std::move(x));
    }
    return {};
}

/// Grants may only name declared recipients and existing devices (typos would silently grant
/// nothing).
Status Loader::check_grants(const YAML::Node& root) const {
    const YAML::Node consent = root["consent"];
    const auto& grants = s_.policy.grants();
    for (std::size_t i = 0; i < grants.size(); ++i) {
        const Grant& g = grants[i];
        const YAML::Node item = consent.IsSequence() && i < consent.size() ? consent[i] : YAML::Node();
        const YAML::Node rec = item.IsMap() ? item["recipient"] : YAML::Node();
        if (!s_.recipients.contains(g.recipient)) {
            std::vector<std::string> names;
            for (const auto& [n, format] : s_.recipients) names.push_back(n);
            return fail(at_or(rec, g.where), "grant for unknown recipient " + quote_text(g.recipient) +
                                                 " (declared under `recipients:`: " + list_names(names) + ")");
        }
        const YAML::Node devices = item.IsMap() ? item["devices"] : YAML::Node();
        for (std::size_t j = 0; j < g.devices.size(); ++j) {
            const std::string& d = g.devices[j];
            if (d == "*" || device_index_.contains(d)) continue;
            const SourceLocation at =
                devices.IsSequence() && j < devices.size() ? at_or(devices[j], g.where) : g.where;
            if (fleet_index_.contains(d)) {
                return fail(at, "grant for " + quote_text(g.recipient) + " names the fleet prefix " + quote_text(d) +
                                    "; a grant lists device ids (\"*\" for every device, or generated ids like " +
                                    s_.fleets[fleet_index_.at(d)].device_id(1) + ")");
            }
            const bool generated = std::any_of(s_.fleets.begin(), s_.fleets.end(),
                                               [&](const FleetSpec& f) { return f.member_of(d).has_value(); });
            if (generated) continue;
            std::vector<std::string> known;
            for (const auto& dev : s_.devices) known.push_back(dev.id);
            return fail(at, "grant for " + quote_text(g.recipient) + " names unknown device " + quote_text(d) +
                                " (devices: " + list_names(known) + ")");
        }
    }
    return {};
}

Result<Scenario> Loader::read(const YAML::Node& root) {
    const SourceLocation top{file_, 1, 1};
    if (!root.IsDefined() || root.IsNull()) {
        return fail(top, "the document is empty (a scenario needs at least name, start, duration, consent, "
                         "recipients and devices or fleets)");
    }
    auto f = fields(root, top, "the scenario's top level", kTopKeys);
    if (!f) return f.error();
    s_.file = file_;

    const Entry* name = f->get("name");
    if (name == nullptr) return fail(top, "the scenario has no `name:` (expected a name like proactive-state)");
    auto n = text(*name, "a name made of a-z, 0-9, _ and -");
    if (!n) return n.error();
    if (!valid_scenario_name(*n)) {
        return fail(value_at(*name), "`name` " + quote_text(*n) +
                                         " may only contain lowercase letters a-z, digits, _ and - (e.g. proactive-state)");
    }
    s_.name = std::move(*n);

    if (const Entry* description = f->get("description")) {
        if (!description->value.IsNull()) {
            if (!description->value.IsScalar()) {
                return fail(value_at(*description), "`description` must be text, found " + describe(description->value));
            }
            s_.description = description->value.Scalar();
        }
    }
    if (const Entry* seed = f->get("seed")) {
        auto v = whole(*seed, "a whole number between 0 and 18446744073709551615");
        if (!v) return v.error();
        s_.seed = *v;
    }

    const Entry* start = f->get("start");
    if (start == nullptr) return fail(top, "the scenario has no `start:` (expected an RFC 3339 time like 2026-01-05T00:00:00Z)");
    auto st = text(*start, "an RFC 3339 time like 2026-01-05T00:00:00Z");
    if (!st) return st.error();
    const auto t0 = parse_rfc3339(*st);
    if (!t0) {
        return fail(value_at(*start), "`start` " + quote_text(*st) +
                                          " is not an RFC 3339 time (expected e.g. 2026-01-05T00:00:00Z or "
                                          "2026-01-05T01:00:00+01:00)");
    }
    s_.start = *t0;

    const Entry* length = f->get("duration");
    if (length == nullptr) return fail(top, "the scenario has no `duration:` (expected e.g. 24h)");
    auto d = duration(*length);
    if (!d) return d.error();
    if (*d <= 0) return fail(value_at(*length), "`duration` must be longer than 0");
    s_.duration_ms = *d;
    s_.duration_where = value_at(*length);
    duration_text_ = trim(length->value.Scalar());

    // consent: + timezone: belong to the policy loader (PROTOCOL.md §3).
    auto policy = policy_from_yaml(root, file_);
    if (!policy) return policy.error();
    s_.policy = std::move(*policy);
    s_.policy.set_source(file_);
    s_.timezone = s_.policy.timezone_name();

    const Entry* recipients = f->get("recipients");
    if (recipients == nullptr) {
        return fail(top, "the scenario has no `recipients:` (expected the partner clouds and their wire formats, "
                         "e.g. {voice-partner: alexa, vendor-cloud: json})");
    }
    if (auto s = read_recipients(*recipients); !s) return s.error();
    if (const Entry* e = f->get("parameters")) {
        if (auto s = read_parameters(*e); !s) return s.error();
    }
    if (const Entry* e = f->get("devices")) {
        if (auto s = read_devices(*e); !s) return s.error();
    }
    if (const Entry* e = f->get("fleets")) {
        if (auto s = read_fleets(*e); !s) return s.error();
    }
    if (auto s = check_ids(); !s) return s.error();
    std::uint64_t total = s_.devices.size();
    for (const FleetSpec& fl : s_.fleets) {
        if (fl.count > std::numeric_limits<std::uint64_t>::max() - total) {
            return fail(fl.where, "too many devices in total");
        }
        total += fl.count;
    }
    if (auto s = check_grants(root); !s) return s.error();
    if (const Entry* e = f->get("network")) {
        if (auto s = read_network(*e); !s) return s.error();
    }
    if (const Entry* e = f->get("customers")) {
        if (!e->value.IsNull()) {
            if (auto s = read_customers(*e); !s) return s.error();
        }
    }
    if (const Entry* e = f->get("timeline")) {
        if (auto s = read_timeline(*e); !s) return s.error();
    }
    s_.expect.where = top;
    if (const Entry* e = f->get("expect")) {
        if (auto s = read_expect(*e); !s) return s.error();
    }
    return std::move(s_);
}

Error yaml_error(const YAML::Exception& e, std::string_view file) {
    return Error{to_string(yaml_location(file, e)) + ": malformed YAML: " + e.msg};
}

}  // namespace

Result<Scenario> parse_scenario(std::string_view yaml_text, std::string_view file_name) {
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml_text));
    } catch (const YAML::Exception& e) {
        return yaml_error(e, file_name);
    } catch (const std::exception& e) {
        return Error{std::string(file_name) + ": cannot parse YAML: " + e.what()};
    }
    try {
        Loader loader(file_name);
        auto scenario = loader.read(root);
        if (!scenario) return scenario;
        scenario->sha256 = sha256_hex(yaml_text);
        return scenario;
    } catch (const YAML::Exception& e) {
        return yaml_error(e, file_name);
    } catch (const std::exception& e) {
        return Error{std::string(file_name) + ": cannot read the scenario: " + e.what()};
    }
}

Result<Scenario> load_scenario(const std::filesystem::path& path) {
    const std::string name = path.string();
    auto text = read_text_file(path);
    if (!text) return text.error();
    return parse_scenario(*text, name);
}

}  // namespace consentrig::core
