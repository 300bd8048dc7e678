// GIVEN/WHEN/THEN tests of sim/sensor.hpp: noise statistics and the stuck and drift faults,
// which change readings but never the true room temperature.
#include "sim/sensor.hpp"

#include <gtest/gtest.h>

#include <cmath>

using namespace consentrig::sim;

namespace {
constexpr TimeMs kStart = 1767571200000;  // 2026-01-05T00:00:00Z
}

TEST(Sensor, GivenNoFault_WhenReadManyTimes_ThenNoiseHasConfiguredSigma) {
    const SensorParams params;  // σ = 0.1 °C
    const SensorState sensor;
    Rng rng(11, "thermostat-1", "sensor");
    constexpr int kN = 100000;
    double sum = 0;
    double sum_sq = 0;
    for (int i = 0; i < kN; ++i) {
        const double e = read_sensor(rng, params, sensor, 20.0, kStart) - 20.0;
        sum += e;
        sum_sq += e * e;
    }
    const double mean = sum / kN;
    // mean 0 (s.e. 3.2e-4 °C), σ 0.1 °C (s.e. of σ ≈ 2.2e-4 °C); tolerance 0.002 °C ≥ 6 s.e.
    EXPECT_NEAR(mean, 0.0, 0.002);
    EXPECT_NEAR(std::sqrt(sum_sq / kN - mean * mean), 0.1, 0.002);
}

TEST(Sensor, GivenZeroSigma_WhenRead_ThenReadingIsTheTruth) {
    SensorParams params;
    params.noise_sigma_c = 0;
    Rng rng(1);
    EXPECT_FLOAT_EQ(read_sensor(rng, params, SensorState{}, 21.25, kStart), 21.25F);
}

TEST(Sensor, GivenStuckFault_WhenTemperatureChanges_ThenReadingStaysFrozenAndTruthMoves) {
    const SensorParams params;
    const HouseParams house_params;
    HouseState house{kStart, 19.0F, true};
    SensorState sensor;
    inject_stuck(sensor, kStart, 19.04F);
    Rng rng(12, "thermostat-2", "sensor");
    advance(house, house_params, kStart + 2 * kMsPerHour);
    EXPECT_GT(house.temperature_c, 21.0F);  // the truth warmed by > 2 °C
    EXPECT_EQ(read_sensor(rng, params, sensor, house.temperature_c, house.updated_ms), 19.04F);
    // A stuck reading never crosses a band edge (except one it already sits on).
    EXPECT_FALSE(time_to_reading(house, house_params, sensor, house.updated_ms, 22.0, kMsPerDay));
    clear_fault(sensor);
    EXPECT_NEAR(read_sensor(rng, params, sensor, house.temperature_c, house.updated_ms), house.temperature_c, 0.6);
}

TEST(Sensor, GivenDriftFault_WhenHoursPass_ThenOffsetGrowsAtItsRate) {
    SensorParams params;
    params.noise_sigma_c = 0;
    SensorState sensor;
    inject_drift(sensor, kStart, 0.5);
    Rng rng(13);
    EXPECT_FLOAT_EQ(read_sensor(rng, params, sensor, 20.0, kStart), 20.0F);
    EXPECT_FLOAT_EQ(read_sensor(rng, params, sensor, 20.0, kStart + 3 * kMsPerHour), 21.5F);  // 3 h × 0.5
    EXPECT_NEAR(noiseless_reading(sensor, 20.0, kStart + 90 * kMsPerMinute), 20.75, 1e-9);
    inject_drift(sensor, kStart, -1.0);  // drifting down
    EXPECT_NEAR(noiseless_reading(sensor, 20.0, kStart + 2 * kMsPerHour), 18.0, 1e-9);
}

TEST(Sensor, GivenDriftFault_WhenAskedWhenReadingCrosses_ThenExactForTheDriftingReading) {
    // GIVEN a free-floating house (true temperature falls) and a sensor drifting upwards faster:
    // the reading rises although the room cools.
    const HouseParams house_params;
    const HouseState house{kStart, 20.0F, false};
    SensorState sensor;
    inject_drift(sensor, kStart, 1.5);  // the room loses ~0.6 °C/h at night: the reading still rises
    const TimeMs from = kStart + 10 * kMsPerMinute;  // asked after onset: the offset so far counts
    const auto t = time_to_reading(house, house_params, sensor, from, 21.0, kMsPerDay);
    ASSERT_TRUE(t.has_value());
    auto reading = [&](TimeMs u) { return noiseless_reading(sensor, temperature_at(house, house_params, u), u); };
    EXPECT_LT(reading(*t - 1), 21.0);
    EXPECT_GE(reading(*t), 21.0);
    EXPECT_LT(temperature_at(house, house_params, *t), 20.0);  // the room itself got colder
    // Without the fault the reading would never reach 21 °C.
    EXPECT_FALSE(time_to_reading(house, house_params, SensorState{}, from, 21.0, kMsPerDay));
}

TEST(Sensor, GivenParams_WhenValidated_ThenNegativeOrNanSigmaRejected) {
    EXPECT_TRUE(validate(SensorParams{}).ok());
    EXPECT_FALSE(validate(SensorParams{-0.1}).ok());
    EXPECT_FALSE(validate(SensorParams{std::nan("")}).ok());
}

TEST(Sensor, GivenEachFault_WhenAskedForEitherBandEdge_ThenTheEarlierOfTheTwoSingleAnswers) {
    // GIVEN a heated room and a band 19.5–21.5 °C around it, for a healthy, a drifting (both
    // directions) and a stuck sensor.
    const HouseParams house_params;
    const HouseState house{kStart, 20.0F, true};
    const TimeMs from = kStart + 1;
    SensorState drifting_down;
    inject_drift(drifting_down, kStart, -3.0);  // faster than the room warms
    SensorState drifting_up;
    inject_drift(drifting_up, kStart, 1.0);
    SensorState stuck_on_edge;
    inject_stuck(stuck_on_edge, kStart, 21.5F);
    for (const SensorState& sensor : {SensorState{}, drifting_down, drifting_up, stuck_on_edge}) {
        const auto low = time_to_reading(house, house_params, sensor, from, 19.5, kMsPerDay);
        const auto high = time_to_reading(house, house_params, sensor, from, 21.5, kMsPerDay);
        std::optional<TimeMs> earlier = low;
        if (high && (!earlier || *high < *earlier)) earlier = high;
        // WHEN asked for either edge; THEN exactly the earlier single answer.
        EXPECT_EQ(time_to_reading_either(house, house_params, sensor, from, 19.5, 21.5, kMsPerDay), earlier);
    }
    // The drifting-down reading leaves through the low edge while the room warms.
    const auto t = time_to_reading_either(house, house_params, drifting_down, from, 19.5, 21.5, kMsPerDay);
    ASSERT_TRUE(t.has_value());
    EXPECT_LE(noiseless_reading(drifting_down, temperature_at(house, house_params, *t), *t), 19.5);
    EXPECT_EQ(time_to_reading_either(house, house_params, stuck_on_edge, from, 19.5, 21.5, kMsPerDay), from);
}
