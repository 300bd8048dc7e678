#include "core/time.hpp"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>

#include <date/date.h>

namespace consentrig::core {
namespace {

/// Reads exactly `width` decimal digits at `pos`.
bool read_digits(std::string_view s, std::size_t& pos, std::size_t width, int& out) {
    if (pos + width > s.size()) return false;
    int v = 0;
    for (std::size_t i = 0; i < width; ++i) {
        const char c = s[pos + i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    pos += width;
    return true;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
    if (pos >= s.size() || s[pos] != c) return false;
    ++pos;
    return true;
}

}  // namespace

std::optional<TimeMs> parse_rfc3339(std::string_view s) {
    std::size_t pos = 0;
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!read_digits(s, pos, 4, year) || !expect(s, pos, '-') || !read_digits(s, pos, 2, month) ||
        !expect(s, pos, '-') || !read_digits(s, pos, 2, day)) {
        return std::nullopt;
    }
    if (pos >= s.size() || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ')) return std::nullopt;
    ++pos;
    if (!read_digits(s, pos, 2, hour) || !expect(s, pos, ':') || !read_digits(s, pos, 2, minute) ||
        !expect(s, pos, ':') || !read_digits(s, pos, 2, second)) {
        return std::nullopt;
    }
    // RFC 3339 allows a leap second (60); it is folded into the next second's start.
    if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
    std::int64_t millis = 0;
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        std::size_t digits = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
            if (digits < 3) millis = millis * 10 + (s[pos] - '0');
            ++digits;
            ++pos;
        }
        if (digits == 0) return std::nullopt;
        for (std::size_t d = digits; d < 3; ++d) millis *= 10;
    }
    std::int64_t offset_minutes = 0;
    if (pos >= s.size()) return std::nullopt;
    if (s[pos] == 'Z' || s[pos] == 'z') {
        ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
        const int sign = s[pos] == '-' ? -1 : 1;
        ++pos;
        int oh = 0, om = 0;
        if (!read_digits(s, pos, 2, oh) || !expect(s, pos, ':') || !read_digits(s, pos, 2, om) ||
            oh > 23 || om > 59) {
            return std::nullopt;
        }
        offset_minutes = sign * (oh * 60 + om);
    } else {
        return std::nullopt;
    }
    if (pos != s.size()) return std::nullopt;

    const date::year_month_day ymd{date::year{year}, date::month{static_cast<unsigned>(month)},
                                   date::day{static_cast<unsigned>(day)}};
    if (!ymd.ok()) return std::nullopt;
    const std::int64_t days = date::sys_days{ymd}.time_since_epoch().count();
    const std::int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    return seconds * kMsPerSecond + millis;
}

std::string format_rfc3339(TimeMs t) {
    const auto tp = date::sys_time<std::chrono::milliseconds>{std::chrono::milliseconds{t}};
    const auto day = date::floor<date::days>(tp);
    const date::year_month_day ymd{day};
    const date::hh_mm_ss<std::chrono::milliseconds> tod{tp - day};
    const int year = static_cast<int>(ymd.year());
    if (year < 0 || year > 9999) {
        char buf[40];
        std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", year, static_cast<unsigned>(ymd.month()),
                      static_cast<unsigned>(ymd.day()), static_cast<int>(tod.hours().count()),
                      static_cast<int>(tod.minutes().count()), static_cast<int>(tod.seconds().count()),
                      static_cast<int>(tod.subseconds().count()));
        return buf;
    }
    // Every record of a trace carries one of these: digits by hand, not snprintf (3x faster).
    std::string out = "0000-00-00T00:00:00.000Z";
    auto put = [&out](std::size_t at, unsigned value, std::size_t width) {
        for (std::size_t i = width; i-- > 0; value /= 10) out[at + i] = static_cast<char>('0' + value % 10);
    };
    put(0, static_cast<unsigned>(year), 4);
    put(5, static_cast<unsigned>(ymd.month()), 2);
    put(8, static_cast<unsigned>(ymd.day()), 2);
    put(11, static_cast<unsigned>(tod.hours().count()), 2);
    put(14, static_cast<unsigned>(tod.minutes().count()), 2);
    put(17, static_cast<unsigned>(tod.seconds().count()), 2);
    put(20, static_cast<unsigned>(tod.subseconds().count()), 3);
    return out;
}

std::optional<DurationMs> parse_duration(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    if (s.empty()) return std::nullopt;
    std::size_t unit_at = 0;
    while (unit_at < s.size() && ((s[unit_at] >= '0' && s[unit_at] <= '9') || s[unit_at] == '.')) ++unit_at;
    const std::string_view number = s.substr(0, unit_at);
    const std::string_view unit = s.substr(unit_at);
    if (number.empty()) return std::nullopt;
    double value = 0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc{} || end != number.data() + number.size() || !std::isfinite(value)) return std::nullopt;
    double scale = 0;
    if (unit.empty() || unit == "s") scale = kMsPerSecond;
    else if (unit == "ms") scale = 1;
    else if (unit == "m" || unit == "min") scale = kMsPerMinute;
    else if (unit == "h") scale = kMsPerHour;
    else if (unit == "d") scale = kMsPerDay;
    else return std::nullopt;
    const double ms = value * scale;
    if (ms < 0 || ms > 9.0e15) return std::nullopt;
    return static_cast<DurationMs>(std::llround(ms));
}

std::string format_duration(DurationMs d) {
    std::string out;
    if (d < 0) {
        out = "-";
        d = -d;
    }
    const auto days = d / kMsPerDay;
    const auto hours = d % kMsPerDay / kMsPerHour;
    const auto minutes = d % kMsPerHour / kMsPerMinute;
    const auto ms = d % kMsPerMinute;
    char buf[64];
    if (days > 0) {
        std::snprintf(buf, sizeof buf, "%lldd %lldh %lldm", static_cast<long long>(days),
                      static_cast<long long>(hours), static_cast<long long>(minutes));
    } else if (hours > 0) {
        std::snprintf(buf, sizeof buf, "%lldh %lldm", static_cast<long long>(hours), static_cast<long long>(minutes));
    } else if (minutes > 0) {
        std::snprintf(buf, sizeof buf, "%lldm %.3gs", static_cast<long long>(minutes), static_cast<double>(ms) / 1000.0);
    } else {
        std::snprintf(buf, sizeof buf, "%.3fs", static_cast<double>(ms) / 1000.0);
    }
    return out + buf;
}

}  // namespace consentrig::core
