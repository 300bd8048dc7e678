#pragma once
/// sim/lock.hpp — the door lock as a plant: bolt motor, door contact, battery, door usage.
///
/// The plant only does physics: a commanded bolt movement takes `actuation_ms` and costs
/// battery; the door opens and closes when people use it. Policy — auto-relock, refusing to lock
/// an open door, reporting — belongs to the firmware. People use the door as a Poisson process
/// whose rate depends on whether anyone is home (sim/occupancy.hpp). Sources: docs/sim-models.md §3.
#include <cstdint>
#include <optional>

#include "core/result.hpp"
#include "sim/local_time.hpp"
#include "sim/occupancy.hpp"
#include "sim/rng.hpp"

namespace consentrig::sim {

inline constexpr DurationMs kDefaultLockActuationMs = 2 * kMsPerSecond;
inline constexpr double kFullBatteryPct = 100.0;
/// 100 % over ~5,000 motor actuations per set of batteries.
inline constexpr double kDefaultBatteryPctPerActuation = kFullBatteryPct / 5000.0;
inline constexpr DurationMs kDefaultDoorOpenMs = 8 * kMsPerSecond;
/// ~10 door openings a day spread over the ~16 h someone is home and awake-ish.
inline constexpr double kDefaultDoorOpensPerHourHome = 0.6;
inline constexpr double kDefaultDoorOpensPerHourAway = 0.0;

struct LockParams {
    DurationMs actuation_ms = kDefaultLockActuationMs;                 ///< bolt travel, either way
    double battery_pct_per_actuation = kDefaultBatteryPctPerActuation;  ///< drain per motor run
    DurationMs door_open_ms = kDefaultDoorOpenMs;                      ///< how long a use keeps it open
    double door_opens_per_h_occupied = kDefaultDoorOpensPerHourHome;
    double door_opens_per_h_unoccupied = kDefaultDoorOpensPerHourAway;
};
[[nodiscard]] core::Status validate(const LockParams& params);

enum class Bolt : std::uint8_t { unlocked, locked, locking, unlocking };
enum class Door : std::uint8_t { closed, open };

/// Per-device lock state (16 bytes).
struct LockState {
    TimeMs motion_done_ms = 0;  ///< when the current bolt movement ends (locking/unlocking)
    float battery_pct = static_cast<float>(kFullBatteryPct);
    Bolt bolt = Bolt::locked;
    Door door = Door::closed;
};
static_assert(sizeof(LockState) <= 16, "LockState is per device: keep it at 16 bytes");

/// Finishes a bolt movement whose time has come (locking → locked at motion_done_ms).
void settle(LockState& lock, TimeMs now_ms);
/// The bolt as it is at `now_ms` (without modifying the state).
[[nodiscard]] Bolt bolt_at(const LockState& lock, TimeMs now_ms);

/// Commands the motor towards locked (`lock == true`) or unlocked at `now_ms`. Returns when the
/// bolt will get there: `now_ms` if it is already there (no motor run, no drain), now + actuation
/// otherwise (a movement in the other direction is reversed and takes a full actuation).
/// nullopt if the battery cannot pay for one actuation: nothing moves.
std::optional<TimeMs> actuate(LockState& lock, const LockParams& params, TimeMs now_ms, bool lock_bolt);

inline void open_door(LockState& lock) { lock.door = Door::open; }
inline void close_door(LockState& lock) { lock.door = Door::closed; }

/// The next time someone opens the door, strictly after `after_ms`, at a constant occupancy:
/// after + Exp(rate). nullopt if that rate is 0. If occupancy changes first, draw again from the
/// change (the exponential is memoryless, so that is exact) — or use the overload below.
[[nodiscard]] std::optional<TimeMs> next_door_open(Rng& rng, const LockParams& params, TimeMs after_ms,
                                                   bool occupied);

/// The next door opening strictly after `after_utc_ms` with the rate following the household's
/// occupancy schedule (occupancy changes are found with `offset` from UTC to local time). Looks at
/// most `horizon_ms` ahead; nullopt if nothing happens by then.
[[nodiscard]] std::optional<TimeMs> next_door_open(Rng& rng, const LockParams& params,
                                                   const OccupancySchedule& schedule,
                                                   const OccupancyParams& occupancy, TimeMs after_utc_ms,
                                                   OffsetRef offset, DurationMs horizon_ms);

}  // namespace consentrig::sim
