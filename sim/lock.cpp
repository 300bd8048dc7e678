#include "sim/lock.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace consentrig::sim {

namespace {

double per_ms(double per_hour) { return per_hour / static_cast<double>(kMsPerHour); }

/// after + max(1, ceil(gap)): events land on whole milliseconds, strictly after `after_ms`.
std::optional<TimeMs> after_gap(TimeMs after_ms, double gap_ms, TimeMs limit_ms) {
    if (!std::isfinite(gap_ms) || gap_ms >= static_cast<double>(limit_ms - after_ms)) return std::nullopt;
    return after_ms + std::max<DurationMs>(1, static_cast<DurationMs>(std::ceil(gap_ms)));
}

}  // namespace

core::Status validate(const LockParams& p) {
    if (p.actuation_ms < 0) return core::Error{"lock: actuation_ms must be >= 0"};
    if (!std::isfinite(p.battery_pct_per_actuation) || p.battery_pct_per_actuation < 0 ||
        p.battery_pct_per_actuation > kFullBatteryPct)
        return core::Error{"lock: battery_pct_per_actuation must be within 0..100"};
    if (p.door_open_ms < 0) return core::Error{"lock: door_open_ms must be >= 0"};
    if (!std::isfinite(p.door_opens_per_h_occupied) || p.door_opens_per_h_occupied < 0 ||
        !std::isfinite(p.door_opens_per_h_unoccupied) || p.door_opens_per_h_unoccupied < 0)
        return core::Error{"lock: door opening rates must be finite and >= 0"};
    return {};
}

Bolt bolt_at(const LockState& lock, TimeMs now_ms) {
    if (now_ms >= lock.motion_done_ms) {
        if (lock.bolt == Bolt::locking) return Bolt::locked;
        if (lock.bolt == Bolt::unlocking) return Bolt::unlocked;
    }
    return lock.bolt;
}

void settle(LockState& lock, TimeMs now_ms) { lock.bolt = bolt_at(lock, now_ms); }

std::optional<TimeMs> actuate(LockState& lock, const LockParams& params, TimeMs now_ms, bool lock_bolt) {
    settle(lock, now_ms);
    const Bolt goal = lock_bolt ? Bolt::locked : Bolt::unlocked;
    const Bolt moving = lock_bolt ? Bolt::locking : Bolt::unlocking;
    if (lock.bolt == goal) return now_ms;
    if (lock.bolt == moving) return lock.motion_done_ms;
    if (static_cast<double>(lock.battery_pct) < params.battery_pct_per_actuation) return std::nullopt;
    lock.battery_pct = static_cast<float>(
        std::max(0.0, static_cast<double>(lock.battery_pct) - params.battery_pct_per_actuation));
    lock.bolt = moving;
    lock.motion_done_ms = now_ms + params.actuation_ms;
    if (params.actuation_ms == 0) lock.bolt = goal;
    return lock.motion_done_ms;
}

std::optional<TimeMs> next_door_open(Rng& rng, const LockParams& params, TimeMs after_ms, bool occupied) {
    const double rate_per_h = occupied ? params.door_opens_per_h_occupied : params.door_opens_per_h_unoccupied;
    if (!(rate_per_h > 0.0)) return std::nullopt;
    return after_gap(after_ms, rng.exponential(per_ms(rate_per_h)), std::numeric_limits<TimeMs>::max());
}

std::optional<TimeMs> next_door_open(Rng& rng, const LockParams& params, const OccupancySchedule& schedule,
                                     const OccupancyParams& occupancy, TimeMs after_utc_ms, OffsetRef offset,
                                     DurationMs horizon_ms) {
    const TimeMs limit = after_utc_ms + horizon_ms;
    TimeMs at = after_utc_ms;
    while (at < limit) {
        const DurationMs off = offset(at);
        const auto [home, change_local] = occupancy_at(schedule, occupancy, at + off);
        const TimeMs segment_end = change_local ? std::min(limit, *change_local - off) : limit;
        const double rate_per_h = home ? params.door_opens_per_h_occupied : params.door_opens_per_h_unoccupied;
        if (rate_per_h > 0.0) {
            // One exponential per constant-rate segment; memorylessness makes the restart exact.
            if (auto t = after_gap(at, rng.exponential(per_ms(rate_per_h)), segment_end)) return t;
        }
        if (segment_end <= at) break;  // offset jumped backwards across a change: give up safely
        at = segment_end;
    }
    return std::nullopt;
}

}  // namespace consentrig::sim
