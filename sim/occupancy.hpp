#pragma once
/// sim/occupancy.hpp — when a household is at home: a weekday/weekend schedule in LOCAL time.
///
/// On away days (Mon–Fri by default) the home is empty on [leave, return) local time
/// (08:00–17:30 by default) and occupied otherwise; on other days it is occupied all day. Each
/// household gets its own fixed shift of both times (drawn once, σ 30 min) plus a small
/// day-to-day variation (σ 15 min) that is derived statelessly from (household seed, day), so
/// `occupied_at` and `next_change` need no per-day state and may be asked in any order.
///
/// All times here are local instants (ms since 1970-01-01T00:00 local wall clock); the caller
/// converts UTC with the scenario timezone (sim/local_time.hpp). Sources: docs/sim-models.md §4.
#include <cstdint>
#include <optional>

#include "core/result.hpp"
#include "sim/local_time.hpp"
#include "sim/rng.hpp"

namespace consentrig::sim {

inline constexpr DurationMs kDefaultLeaveLocalMs = 8 * kMsPerHour;
inline constexpr DurationMs kDefaultReturnLocalMs = 17 * kMsPerHour + 30 * kMsPerMinute;
inline constexpr DurationMs kDefaultHouseholdJitterSigmaMs = 30 * kMsPerMinute;
inline constexpr DurationMs kDefaultDailyJitterSigmaMs = 15 * kMsPerMinute;
/// Jitter draws are clipped to ±3σ so that no household leaves at midnight by accident.
inline constexpr double kJitterClipSigmas = 3.0;
/// A day's away window is kept at least this long after jitter (else nobody leaves that day).
inline constexpr DurationMs kMinAwayMs = 30 * kMsPerMinute;

struct OccupancyParams {
    DurationMs leave_local_ms = kDefaultLeaveLocalMs;    ///< time of day the home empties
    DurationMs return_local_ms = kDefaultReturnLocalMs;  ///< time of day someone comes back
    WeekdayMask away_days = kMonToFri;                   ///< days with an away window
    DurationMs household_jitter_sigma_ms = kDefaultHouseholdJitterSigmaMs;  ///< per household, fixed
    DurationMs daily_jitter_sigma_ms = kDefaultDailyJitterSigmaMs;          ///< per household and day
};
[[nodiscard]] core::Status validate(const OccupancyParams& params);

/// Per-household schedule (8 bytes): the fixed shifts, in minutes, and the seed of daily jitter.
struct OccupancySchedule {
    std::uint32_t daily_seed = 0;
    std::int16_t leave_shift_min = 0;
    std::int16_t return_shift_min = 0;
};
static_assert(sizeof(OccupancySchedule) <= 8, "OccupancySchedule is per device: keep it at 8 bytes");

/// Draws a household's schedule (three numbers from `rng`).
[[nodiscard]] OccupancySchedule make_occupancy(const OccupancyParams& params, Rng& rng);

/// [from, to) in local ms; the home is empty inside.
struct AwayWindow {
    TimeMs from_local_ms = 0;
    TimeMs to_local_ms = 0;
};

/// The away window of local day `day` (0 = 1970-01-01), or nullopt on a day at home.
[[nodiscard]] std::optional<AwayWindow> away_window(const OccupancySchedule& schedule,
                                                    const OccupancyParams& params, std::int64_t day);

[[nodiscard]] bool occupied_at(const OccupancySchedule& schedule, const OccupancyParams& params,
                               TimeMs local_ms);

/// The first local instant strictly after `after_local_ms` at which occupancy changes; nullopt
/// if it never changes (no away days).
[[nodiscard]] std::optional<TimeMs> next_change(const OccupancySchedule& schedule,
                                                const OccupancyParams& params, TimeMs after_local_ms);

/// occupied_at and next_change at one instant, with one draw of that day's window.
struct OccupancyAt {
    bool occupied = true;
    std::optional<TimeMs> next_change_local_ms;
};
[[nodiscard]] OccupancyAt occupancy_at(const OccupancySchedule& schedule, const OccupancyParams& params,
                                       TimeMs local_ms);

}  // namespace consentrig::sim
