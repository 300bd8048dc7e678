#pragma once
/// sim/sensor.hpp — the thermostat's temperature sensor: noise and injected faults on READINGS.
///
/// The true room temperature comes from sim/thermal.hpp and is never altered here; a reading is
///   none:   T + N(0, σ)
///   stuck:  the value frozen at fault onset (no noise: the register no longer updates)
///   drift:  T + N(0, σ) + drift_rate_c_per_h · (t − onset)
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
inline constexpr double kDefaultSensorDriftRateCPerH = 0.5;

struct SensorParams {
    double noise_sigma_c = kDefaultSensorNoiseSigmaC;            ///< σ of Gaussian reading noise
    double drift_rate_c_per_h = kDefaultSensorDriftRateCPerH;    ///< offset growth in drift faults
};
[[nodiscard]] core::Status validate(const SensorParams& params);

enum class SensorFault : std::uint8_t { none, stuck, drift };

/// Per-device fault state (16 bytes).
struct SensorState {
    TimeMs fault_since_ms = 0;
    float stuck_c = 0.0F;  ///< the frozen reading (stuck only)
    SensorFault fault = SensorFault::none;
};
static_assert(sizeof(SensorState) <= 16, "SensorState is per device: keep it at 16 bytes");

/// Starts a fault at `now_ms`. `frozen_reading_c` is what a stuck sensor keeps reporting
/// (typically the last reading); it is ignored for other faults.
void inject_fault(SensorState& sensor, SensorFault fault, TimeMs now_ms, float frozen_reading_c = 0.0F);
void clear_fault(SensorState& sensor);

/// The reading at `now_ms` for a true temperature `true_c`. Draws one normal variate from `rng`
/// unless the sensor is stuck.
[[nodiscard]] float read_sensor(Rng& rng, const SensorParams& params, const SensorState& sensor,
                                double true_c, TimeMs now_ms);

/// The reading without noise (the offset a fault adds to the truth, or the frozen value).
[[nodiscard]] double noiseless_reading(const SensorParams& params, const SensorState& sensor,
                                       double true_c, TimeMs now_ms);

/// When the noiseless reading first reaches `target_c` within the horizon (see time_to_reach):
/// none → the true temperature's crossing; drift → the crossing of a linearly moving target;
/// stuck → `from_ms` if the frozen value is exactly the target, else never.
[[nodiscard]] std::optional<TimeMs> time_to_reading(const HouseState& house, const HouseParams& house_params,
                                                    const SensorParams& params, const SensorState& sensor,
                                                    TimeMs from_ms, double target_c, DurationMs horizon_ms);

}  // namespace consentrig::sim
