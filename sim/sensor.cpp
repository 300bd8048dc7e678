#include "sim/sensor.hpp"

#include <cmath>
#include <limits>

namespace consentrig::sim {

namespace {
double drift_offset_c(const SensorState& sensor, TimeMs now_ms) {
    const auto elapsed_ms = static_cast<double>(now_ms - sensor.fault_since_ms);
    return static_cast<double>(sensor.value) * elapsed_ms / static_cast<double>(kMsPerHour);
}
}  // namespace

core::Status validate(const SensorParams& p) {
    if (!std::isfinite(p.noise_sigma_c) || p.noise_sigma_c < 0)
        return core::Error{"sensor: noise_sigma_c must be finite and >= 0"};
    if (p.sample_period_ms <= 0 || p.sample_period_ms > kMsPerHour)
        return core::Error{"sensor: sample_period_ms must be within 1 ms … 1 h"};
    return {};
}

void inject_stuck(SensorState& sensor, TimeMs now_ms, float frozen_reading_c) {
    sensor = SensorState{now_ms, frozen_reading_c, SensorFault::stuck};
}

void inject_drift(SensorState& sensor, TimeMs now_ms, double rate_c_per_h) {
    sensor = SensorState{now_ms, static_cast<float>(rate_c_per_h), SensorFault::drift};
}

void clear_fault(SensorState& sensor) { sensor = SensorState{}; }

double noiseless_reading(const SensorState& sensor, double true_c, TimeMs now_ms) {
    switch (sensor.fault) {
        case SensorFault::stuck: return static_cast<double>(sensor.value);
        case SensorFault::drift: return true_c + drift_offset_c(sensor, now_ms);
        case SensorFault::none: break;
    }
    return true_c;
}

float read_sensor(Rng& rng, const SensorParams& params, const SensorState& sensor, double true_c,
                  TimeMs now_ms) {
    if (sensor.fault == SensorFault::stuck) return sensor.value;
    const double noise = rng.normal(0.0, params.noise_sigma_c);
    return static_cast<float>(noiseless_reading(sensor, true_c, now_ms) + noise);
}

std::optional<TimeMs> time_to_reading(const HouseState& house, const HouseParams& house_params,
                                      const SensorState& sensor, TimeMs from_ms, double target_c,
                                      DurationMs horizon_ms) {
    return time_to_reading_either(house, house_params, sensor, from_ms, target_c,
                                  std::numeric_limits<double>::infinity(), horizon_ms);
}

std::optional<TimeMs> time_to_reading_either(const HouseState& house, const HouseParams& house_params,
                                             const SensorState& sensor, TimeMs from_ms, double first_target_c,
                                             double second_target_c, DurationMs horizon_ms) {
    switch (sensor.fault) {
        case SensorFault::stuck: {
            const auto frozen = static_cast<double>(sensor.value);
            if (horizon_ms >= 0 && (frozen == first_target_c || frozen == second_target_c)) return from_ms;
            return std::nullopt;
        }
        case SensorFault::drift: {
            // T(t) + offset(t) = target  ⇔  T(t) = target − offset(from) − rate·(t − from)
            const double offset_c = drift_offset_c(sensor, from_ms);
            return time_to_reach_either(house, house_params, from_ms, first_target_c - offset_c,
                                        second_target_c - offset_c, horizon_ms, -static_cast<double>(sensor.value));
        }
        case SensorFault::none: break;
    }
    return time_to_reach_either(house, house_params, from_ms, first_target_c, second_target_c, horizon_ms);
}

}  // namespace consentrig::sim
