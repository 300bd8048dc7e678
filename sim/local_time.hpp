#pragma once
/// sim/local_time.hpp — local wall-clock helpers shared by the occupancy and customer models.
///
/// The models never look up time zones. A *local instant* is `utc_ms + offset_ms`, counted in
/// ms from 1970-01-01T00:00 local wall-clock time; callers convert with the scenario timezone.
/// Where a model needs to go back and forth between UTC and local time itself it takes an
/// `OffsetRef`: anything callable as `DurationMs(TimeMs utc_ms)` (e.g. a lambda over
/// date::time_zone), or simply a fixed offset.
#include <cstdint>
#include <type_traits>

#include "core/time.hpp"

namespace consentrig::sim {

using core::DurationMs;
using core::kMsPerDay;
using core::kMsPerHour;
using core::kMsPerMinute;
using core::kMsPerSecond;
using core::TimeMs;

inline constexpr int kDaysPerWeek = 7;
inline constexpr int kMinutesPerDay = 24 * 60;
/// 1970-01-01 was a Thursday; with Monday = 0 that is weekday 3.
inline constexpr std::int64_t kEpochWeekday = 3;

enum class Weekday : std::uint8_t { mon, tue, wed, thu, fri, sat, sun };

/// Bit set of weekdays, bit 0 = Monday.
using WeekdayMask = std::uint8_t;
inline constexpr WeekdayMask kMonToFri = 0b0011111;
inline constexpr WeekdayMask kEveryDay = 0b1111111;
[[nodiscard]] constexpr bool has_day(WeekdayMask mask, Weekday d) {
    return ((mask >> static_cast<unsigned>(d)) & 1U) != 0;
}

/// Floor division and the matching non-negative remainder (C++ `/` truncates toward zero).
[[nodiscard]] constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    const std::int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
[[nodiscard]] constexpr std::int64_t floor_mod(std::int64_t a, std::int64_t b) {
    return a - floor_div(a, b) * b;
}

/// Day number of a local instant (0 = 1970-01-01 local).
[[nodiscard]] constexpr std::int64_t local_day(TimeMs local_ms) { return floor_div(local_ms, kMsPerDay); }
/// ms since local midnight, in [0, kMsPerDay).
[[nodiscard]] constexpr DurationMs time_of_day(TimeMs local_ms) { return floor_mod(local_ms, kMsPerDay); }
[[nodiscard]] constexpr Weekday weekday_of_day(std::int64_t day) {
    return static_cast<Weekday>(floor_mod(day + kEpochWeekday, kDaysPerWeek));
}
[[nodiscard]] constexpr Weekday weekday(TimeMs local_ms) { return weekday_of_day(local_day(local_ms)); }

/// A non-owning reference to "the UTC offset in force at a UTC instant" (local = utc + offset).
/// Implicit from a fixed offset or from any callable `DurationMs(TimeMs)`; the callable must
/// outlive the OffsetRef (binding a temporary in a call argument is fine).
class OffsetRef {
public:
    constexpr OffsetRef(DurationMs fixed_offset_ms = 0) : fixed_(fixed_offset_ms) {}  // NOLINT

    template <class F>
        requires(!std::is_same_v<std::remove_cvref_t<F>, OffsetRef> &&
                 std::is_invocable_r_v<DurationMs, const F&, TimeMs>)
    OffsetRef(const F& fn)  // NOLINT(google-explicit-constructor)
        : ctx_(&fn), call_([](const void* ctx, TimeMs utc) -> DurationMs {
              return (*static_cast<const F*>(ctx))(utc);
          }) {}

    [[nodiscard]] DurationMs operator()(TimeMs utc_ms) const {
        return call_ != nullptr ? call_(ctx_, utc_ms) : fixed_;
    }
    [[nodiscard]] TimeMs to_local(TimeMs utc_ms) const { return utc_ms + (*this)(utc_ms); }

private:
    DurationMs fixed_ = 0;
    const void* ctx_ = nullptr;
    DurationMs (*call_)(const void*, TimeMs) = nullptr;
};

}  // namespace consentrig::sim
