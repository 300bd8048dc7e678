#pragma once
/// core/time.hpp — the one representation of time in consentrig.
///
/// Instants are milliseconds since the Unix epoch, UTC (`TimeMs`); durations are `DurationMs`.
/// Text forms: RFC 3339 (`2026-01-05T03:12:09.120Z`, offsets like `+01:00` accepted on input,
/// always `Z` with milliseconds on output) and durations like `120s`, `30h`, `1d`, `500ms`, `90m`.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace consentrig::core {

using TimeMs = std::int64_t;      ///< ms since 1970-01-01T00:00:00Z
using DurationMs = std::int64_t;  ///< ms

inline constexpr DurationMs kMsPerSecond = 1000;
inline constexpr DurationMs kMsPerMinute = 60 * kMsPerSecond;
inline constexpr DurationMs kMsPerHour = 60 * kMsPerMinute;
inline constexpr DurationMs kMsPerDay = 24 * kMsPerHour;

/// Parses RFC 3339 with optional fractional seconds (any number of digits, truncated to ms)
/// and `Z` or `±HH:MM`. nullopt when malformed (including invalid dates like Feb 30).
[[nodiscard]] std::optional<TimeMs> parse_rfc3339(std::string_view text);

/// `2026-01-05T03:12:09.120Z` — always UTC, always three fraction digits.
[[nodiscard]] std::string format_rfc3339(TimeMs t);

/// `120s`, `2m`, `30h`, `1d`, `500ms`, `1.5h`; a bare number means seconds. nullopt when malformed
/// or negative.
[[nodiscard]] std::optional<DurationMs> parse_duration(std::string_view text);

/// `2h 5m 3.250s`-style readable form for summaries.
[[nodiscard]] std::string format_duration(DurationMs d);

}  // namespace consentrig::core
