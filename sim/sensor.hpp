#pragma once
/// sim/sensor.hpp — the thermostat's temperature sensor: noise and injected faults on READINGS.
///
/// The true room temperature comes from sim/thermal.hpp and is never altered here; a reading is
///   none:   T + N(0, σ)
///   stuck:  the value frozen at fault onset (no noise: the register no longer updates)
///   drift:  T + N(0, σ) + rate_c_per_h · (t − onset)
/// Faults are per device and carry their own numbers, as scenario `fault:` events do
/// (core/scenario.hpp: kind stuck | drift, rate_c_per_h); the runner clears them when they end.
/// `time_to_reading` is `time_to_reach` for what the firmware will read (noise aside), so the
/// fleet runner can schedule sensor events for drifting or stuck sensors too.
#include <cstdint>
#include <optional>

#include "core/result.hpp"
#include "sim/local_time.hpp"
#include "sim/rng.hpp"
#include "sim/thermal.hpp"

namespace consentrig::sim {

inline constexpr double kDefaultSensorNoiseSigmaC = 0.1;
/// A drift fault's rate when the scenario gives none (a fault-injection knob, not a measurement).
inline constexpr double kDefaultSensorDriftRateCPerH = 0.5;

/// How often the firmware samples the sensor (assumption, docs/sim-models.md §2.5): with noise,
/// the runner delivers a reading at most this often, so noise cannot chatter across a threshold.
inline constexpr DurationMs kDefaultSensorSamplePeriodMs = 30 * kMsPerSecond;

struct SensorParams {
    double noise_sigma_c = kDefaultSensorNoiseSigmaC;  ///< σ of Gaussian reading noise
    DurationMs sample_period_ms = kDefaultSensorSamplePeriodMs;
};
[[nodiscard]] core::Status validate(const SensorParams& params);

enum class SensorFault : std::uint8_t { none, stuck, drift };

/// Per-device fault state (16 bytes). `value` is the frozen reading (°C) of a stuck sensor or the
/// drift rate (°C per hour) of a drifting one — one float for both keeps the state at 16 bytes.
struct SensorState {
    TimeMs fault_since_ms = 0;
    float value = 0.0F;
    SensorFault fault = SensorFault::none;
};
static_assert(sizeof(SensorState) <= 16, "SensorState is per device: keep it at 16 bytes");

/// From `now_ms` on the sensor reports `frozen_reading_c` (typically its last reading).
void inject_stuck(SensorState& sensor, TimeMs now_ms, float frozen_reading_c);
/// From `now_ms` on the readings carry an offset growing at `rate_c_per_h` (may be negative).
void inject_drift(SensorState& sensor, TimeMs now_ms, double rate_c_per_h = kDefaultSensorDriftRateCPerH);
void clear_fault(SensorState& sensor);

/// The reading at `now_ms` for a true temperature `true_c`. Draws one normal variate from `rng`
/// unless the sensor is stuck.
[[nodiscard]] float read_sensor(Rng& rng, const SensorParams& params, const SensorState& sensor,
                                double true_c, TimeMs now_ms);

/// The reading without noise (the truth plus a drift offset, or the frozen value).
[[nodiscard]] double noiseless_reading(const SensorState& sensor, double true_c, TimeMs now_ms);

/// When the noiseless reading first reaches `target_c` within the horizon (see time_to_reach):
/// none → the true temperature's crossing; drift → the crossing of a linearly moving target;
/// stuck → `from_ms` if the frozen value is exactly the target, else never.
[[nodiscard]] std::optional<TimeMs> time_to_reading(const HouseState& house, const HouseParams& house_params,
                                                    const SensorState& sensor, TimeMs from_ms, double target_c,
                                                    DurationMs horizon_ms);

/// The first instant the noiseless reading reaches either target (see time_to_reach_either):
/// min(time_to_reading(first), time_to_reading(second)) in one search. A non-finite target is
/// never reached — ±infinity for a band without that edge.
[[nodiscard]] std::optional<TimeMs> time_to_reading_either(const HouseState& house, const HouseParams& house_params,
                                                           const SensorState& sensor, TimeMs from_ms,
                                                           double first_target_c, double second_target_c,
                                                           DurationMs horizon_ms);

}  // namespace consentrig::sim
