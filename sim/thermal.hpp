#pragma once
/// sim/thermal.hpp — the house: a first-order RC thermal model solved in closed form.
///
///   dT/dt = (T_out(t) − T) / τ + heating · H
///   T_out(t) = outdoor_mean_c − outdoor_amplitude_c · cos(2π (t_local − coldest) / 24 h)
///
/// The sinusoidal outdoor term is solved exactly (no piecewise-constant approximation), so
/// `advance` is exact between events for any step length and the fleet pays per event, not per
/// tick. `time_to_reach` tells the fleet runner when the room will next cross a temperature the
/// firmware cares about, to the millisecond. Equations, defaults and their sources:
/// docs/sim-models.md §2.
///
/// Per-device state is `HouseState` (16 bytes); everything else lives in a `HouseParams` shared
/// by all houses of a kind and passed by reference (the runner keeps an index per device).
#include <optional>

#include "core/result.hpp"
#include "core/time.hpp"
#include "sim/local_time.hpp"

namespace consentrig::sim {

inline constexpr DurationMs kDefaultTimeConstantMs = 30 * kMsPerHour;   ///< τ, winter (15–55 h)
inline constexpr double kDefaultHeatRateCPerH = 2.2;                    ///< H with heat on
inline constexpr double kDefaultOutdoorMeanC = 0.0;                     ///< winter day mean
inline constexpr double kDefaultOutdoorAmplitudeC = 3.0;                ///< half the daily range
inline constexpr DurationMs kDefaultColdestLocalMs = 8 * kMsPerHour;    ///< just after a winter sunrise
inline constexpr float kDefaultIndoorC = 20.0F;

struct HouseParams {
    DurationMs time_constant_ms = kDefaultTimeConstantMs;  ///< τ = R·C of the house, > 0
    /// H: warming rate the heating adds (°C per hour) before losses; the net rate with heat on is
    /// H − (T − T_out)/τ (1.5 °C/h at 20 °C inside, 0 °C outside with the defaults).
    double heat_rate_c_per_h = kDefaultHeatRateCPerH;
    double outdoor_mean_c = kDefaultOutdoorMeanC;
    double outdoor_amplitude_c = kDefaultOutdoorAmplitudeC;  ///< ≥ 0; 0 = constant outdoors
    DurationMs outdoor_coldest_local_ms = kDefaultColdestLocalMs;  ///< time of day, [0, 24 h)
    DurationMs utc_offset_ms = 0;  ///< local = UTC + offset for the daily cycle (fixed; no DST)
};

/// Checks ranges (τ > 0, H ≥ 0, amplitude ≥ 0, coldest time within a day, all finite).
[[nodiscard]] core::Status validate(const HouseParams& params);

/// One house's state: the room temperature at `updated_ms` and whether the heat is on since then.
struct HouseState {
    TimeMs updated_ms = 0;
    float temperature_c = kDefaultIndoorC;
    bool heating = false;
};
static_assert(sizeof(HouseState) <= 16, "HouseState is per device: keep it at 16 bytes");

/// Outdoor air temperature at a UTC instant.
[[nodiscard]] double outdoor_temperature_c(const HouseParams& params, TimeMs t_ms);

/// The exact room temperature at `t_ms` (double precision; t may be before or after updated_ms),
/// with the heating flag held as it is in `state`.
[[nodiscard]] double temperature_at(const HouseState& state, const HouseParams& params, TimeMs t_ms);

/// dT/dt at `t_ms`, in °C per hour.
[[nodiscard]] double warming_rate_c_per_h(const HouseState& state, const HouseParams& params,
                                          TimeMs t_ms);

/// Moves the state forward to `to_ms` (exact closed form). A `to_ms` before `updated_ms` leaves
/// the state unchanged: time only moves forward.
void advance(HouseState& state, const HouseParams& params, TimeMs to_ms);

/// Advances to `now_ms`, then switches the heating on or off from that instant.
void set_heating(HouseState& state, const HouseParams& params, TimeMs now_ms, bool on);

/// The first instant t in [from_ms, from_ms + horizon_ms] at which the room temperature reaches
/// the target, i.e. the first millisecond at which it is no longer strictly on the side of the
/// target it was on at `from_ms` (`from_ms` itself if it is exactly at the target). nullopt if it
/// does not happen within the horizon. The heating flag is held as in `state`: the runner asks
/// again after every event that changes it.
///
/// `target_slope_c_per_h` lets the target move linearly, target(t) = target_c + slope·(t − from)
/// — that is how a drifting sensor's reading is tracked (sim/sensor.hpp).
///
/// Exact to 1 ms: the first millisecond at which temperature_at has crossed, as evaluated in
/// double (so temperature_at(t − 1) is strictly on the starting side and temperature_at(t) is
/// not). Method: certified steps — closed-form bounds on the derivatives keep every millisecond
/// before the next evaluation strictly on its side, rounding of the evaluation included — that
/// land on the crossing in about two evaluations; docs/sim-models.md §2.3.
[[nodiscard]] std::optional<TimeMs> time_to_reach(const HouseState& state, const HouseParams& params,
                                                  TimeMs from_ms, double target_c,
                                                  DurationMs horizon_ms,
                                                  double target_slope_c_per_h = 0.0);

/// The first instant at which either target is reached: min(time_to_reach(first),
/// time_to_reach(second)) in one search — how the runner watches both edges of a band. A
/// non-finite target is never reached (pass ±infinity for a band without that edge).
[[nodiscard]] std::optional<TimeMs> time_to_reach_either(const HouseState& state, const HouseParams& params,
                                                         TimeMs from_ms, double first_target_c,
                                                         double second_target_c, DurationMs horizon_ms,
                                                         double target_slope_c_per_h = 0.0);

}  // namespace consentrig::sim
