#include "sim/occupancy.hpp"

#include <algorithm>
#include <cmath>

namespace consentrig::sim {

namespace {

double clipped_normal(Rng& rng, double sigma) {
    const double limit = kJitterClipSigmas * sigma;
    return std::clamp(rng.normal(0.0, sigma), -limit, limit);
}

std::int16_t to_minutes(double ms) {
    return static_cast<std::int16_t>(std::lround(ms / static_cast<double>(kMsPerMinute)));
}

}  // namespace

core::Status validate(const OccupancyParams& p) {
    auto in_day = [](DurationMs t) { return t >= 0 && t < kMsPerDay; };
    if (!in_day(p.leave_local_ms) || !in_day(p.return_local_ms))
        return core::Error{"occupancy: leave/return times must be within a day"};
    if (p.return_local_ms - p.leave_local_ms < kMinAwayMs)
        return core::Error{"occupancy: return must come at least 30 min after leave (same day)"};
    // Shifts are stored as int16 minutes: keep 3σ well inside that.
    constexpr DurationMs kMaxSigmaMs = 4 * kMsPerHour;
    if (p.household_jitter_sigma_ms < 0 || p.household_jitter_sigma_ms > kMaxSigmaMs ||
        p.daily_jitter_sigma_ms < 0 || p.daily_jitter_sigma_ms > kMaxSigmaMs)
        return core::Error{"occupancy: jitter sigmas must be between 0 and 4 h"};
    return {};
}

OccupancySchedule make_occupancy(const OccupancyParams& params, Rng& rng) {
    OccupancySchedule s;
    s.daily_seed = static_cast<std::uint32_t>(rng.next_u64() >> 32);
    const auto sigma = static_cast<double>(params.household_jitter_sigma_ms);
    s.leave_shift_min = to_minutes(clipped_normal(rng, sigma));
    s.return_shift_min = to_minutes(clipped_normal(rng, sigma));
    return s;
}

std::optional<AwayWindow> away_window(const OccupancySchedule& schedule, const OccupancyParams& params,
                                      std::int64_t day) {
    if (!has_day(params.away_days, weekday_of_day(day))) return std::nullopt;
    // Day-to-day variation from a generator seeded by (household, day): stateless and repeatable.
    Rng daily(mix64((static_cast<std::uint64_t>(schedule.daily_seed) << 32) ^ static_cast<std::uint64_t>(day)));
    const auto sigma = static_cast<double>(params.daily_jitter_sigma_ms);
    const double leave_jitter = clipped_normal(daily, sigma);
    const double return_jitter = clipped_normal(daily, sigma);
    constexpr DurationMs kLastMs = kMsPerDay - 1;
    const DurationMs leave = std::clamp<DurationMs>(
        params.leave_local_ms + schedule.leave_shift_min * kMsPerMinute + std::llround(leave_jitter), 0, kLastMs);
    DurationMs ret = std::clamp<DurationMs>(
        params.return_local_ms + schedule.return_shift_min * kMsPerMinute + std::llround(return_jitter), 0, kLastMs);
    ret = std::max(ret, std::min(leave + kMinAwayMs, kLastMs));
    if (ret <= leave) return std::nullopt;
    const TimeMs midnight = day * kMsPerDay;
    return AwayWindow{midnight + leave, midnight + ret};
}

namespace {

bool inside(const std::optional<AwayWindow>& w, TimeMs local_ms) {
    return w && local_ms >= w->from_local_ms && local_ms < w->to_local_ms;
}

/// next_change, given the window of the day `after_local_ms` falls on.
std::optional<TimeMs> next_change_from(const OccupancySchedule& schedule, const OccupancyParams& params,
                                       TimeMs after_local_ms, std::optional<AwayWindow> window) {
    // Windows never span midnight and never touch, so every window edge is a real change.
    const std::int64_t first_day = local_day(after_local_ms);
    for (std::int64_t day = first_day;;) {
        if (window) {
            if (window->from_local_ms > after_local_ms) return window->from_local_ms;
            if (window->to_local_ms > after_local_ms) return window->to_local_ms;
        }
        if (++day > first_day + kDaysPerWeek) return std::nullopt;
        window = away_window(schedule, params, day);
    }
}

}  // namespace

bool occupied_at(const OccupancySchedule& schedule, const OccupancyParams& params, TimeMs local_ms) {
    return !inside(away_window(schedule, params, local_day(local_ms)), local_ms);
}

std::optional<TimeMs> next_change(const OccupancySchedule& schedule, const OccupancyParams& params,
                                  TimeMs after_local_ms) {
    return next_change_from(schedule, params, after_local_ms,
                            away_window(schedule, params, local_day(after_local_ms)));
}

OccupancyAt occupancy_at(const OccupancySchedule& schedule, const OccupancyParams& params, TimeMs local_ms) {
    const auto window = away_window(schedule, params, local_day(local_ms));
    return {!inside(window, local_ms), next_change_from(schedule, params, local_ms, window)};
}

}  // namespace consentrig::sim
