// The fleet runner's temperature sensor noise (docs/sim-models.md §2.5): readings carry
// N(0, σ) held until the firmware's next reading, drawn per device and instant from the seed.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "sim/fleet.hpp"
#include "tests/sim/fleet_test_util.hpp"

using namespace consentrig;
using sim::testing::Collect;
using sim::testing::scenario;

namespace {

/// A fleet of rooms held at exactly 20 °C (outdoors 20 °C all day, no heating power): the
/// true temperature never moves, so every reading's difference from 20 °C is the noise.
std::string still_rooms(const std::string& params, int count = 300, const std::string& duration = "1h") {
    return R"(
name: still
seed: 11
start: 2026-01-05T00:00:00Z
duration: )" + duration + R"(
timezone: UTC
recipients: {vendor-cloud: json}
consent:
  - {recipient: vendor-cloud, categories: [all], basis: always}
fleets:
  - prefix: room
    count: )" + std::to_string(count) + R"(
    kind: thermostat
    params: {initial_c: 20, outdoor_mean_c: 20, outdoor_amplitude_c: 0, heat_rate_c_per_h: 0)" + params + R"(}
)";
}

/// Each device's temperature readings as the firmware took them (TRUTH records where the
/// temperature changed), with their times.
std::map<std::string, std::vector<std::pair<core::TimeMs, double>>> readings(const std::vector<core::Record>& records) {
    std::map<std::string, std::vector<std::pair<core::TimeMs, double>>> out;
    for (const auto& r : records) {
        if (r.kind != core::RecordKind::truth) continue;
        const auto state = nlohmann::json::parse(r.payload);
        if (!state.contains("temperature")) continue;
        auto& v = out[r.device];
        const double t = state["temperature"].get<double>();
        if (v.empty() || v.back().second != t) v.emplace_back(r.t, t);
    }
    return out;
}

}  // namespace

TEST(FleetSensor, GivenRoomsHeldAt20CAndNoise0_3_WhenTheyBoot_ThenTheFirstReadingsScatterAsN20And0_3) {
    // GIVEN 300 rooms at exactly 20 °C and sensor_noise_c 0.3
    const auto s = scenario(still_rooms(", sensor_noise_c: 0.3"));
    // WHEN they boot
    Collect sink;
    ASSERT_TRUE(sim::run_fleet(s, sink).ok());
    // THEN the first readings have mean 20 (±0.06 ≈ 3.5 σ/√n) and standard deviation 0.3
    // (±0.05 ≈ 4 standard errors)
    double sum = 0, sum2 = 0;
    int n = 0;
    for (const auto& [device, v] : readings(sink.records)) {
        ASSERT_FALSE(v.empty());
        sum += v.front().second;
        sum2 += v.front().second * v.front().second;
        ++n;
    }
    ASSERT_EQ(n, 300);
    const double mean = sum / n, sd = std::sqrt(sum2 / n - mean * mean);
    EXPECT_NEAR(mean, 20.0, 0.06);
    EXPECT_NEAR(sd, 0.3, 0.05);
}

TEST(FleetSensor, GivenNoiseZero_WhenRoomsRun_ThenEveryReadingIsExactlyTheRoom) {
    const auto s = scenario(still_rooms(", sensor_noise_c: 0", 20));
    Collect sink;
    ASSERT_TRUE(sim::run_fleet(s, sink).ok());
    const auto r = readings(sink.records);
    ASSERT_EQ(r.size(), 20u);
    for (const auto& [device, v] : r) {
        ASSERT_EQ(v.size(), 1u) << device;  // the boot reading, and the room never moves
        EXPECT_EQ(v.front().second, 20.0);
    }
}

TEST(FleetSensor, GivenNoiseWiderThanTheBands_WhenHeatedHousesRunADay_ThenReadingsComeAtMostOncePerSensorPeriod) {
    // GIVEN real heated houses whose sensor noise (1 °C) is wider than every band the firmware
    // watches, sampled every 45 s
    const auto s = scenario(R"(
name: noisy
seed: 4
start: 2026-01-05T00:00:00Z
duration: 24h
timezone: Europe/Berlin
recipients: {vendor-cloud: json}
consent:
  - {recipient: vendor-cloud, categories: [all], basis: always}
fleets:
  - {prefix: home, count: 10, kind: thermostat, params: {sensor_noise_c: 1, sensor_period: 45s, setpoint_c: 21}}
)");
    // WHEN a day runs
    Collect sink;
    ASSERT_TRUE(sim::run_fleet(s, sink).ok());
    // THEN the firmware's readings change, but never twice within 45 s
    int changes = 0;
    for (const auto& [device, v] : readings(sink.records)) {
        for (std::size_t k = 1; k < v.size(); ++k) {
            EXPECT_GE(v[k].first - v[k - 1].first, 45'000) << device;
            ++changes;
        }
    }
    EXPECT_GT(changes, 100);
}

TEST(FleetSensor, GivenNoise_WhenRunTwiceAndWithAnotherSeed_ThenSameSeedSameReadingsAndAnotherSeedOthers) {
    const auto s = scenario(still_rooms(", sensor_noise_c: 0.2", 30));
    Collect a, b, c;
    ASSERT_TRUE(sim::run_fleet(s, a).ok());
    ASSERT_TRUE(sim::run_fleet(s, b).ok());
    sim::FleetOptions other;
    other.seed = 12;
    ASSERT_TRUE(sim::run_fleet(s, c, other).ok());
    EXPECT_EQ(readings(a.records), readings(b.records));
    EXPECT_NE(readings(a.records), readings(c.records));
}

TEST(FleetSensor, GivenNegativeNoise_WhenRun_ThenTheErrorNamesTheParameters) {
    const auto s = scenario(still_rooms(", sensor_noise_c: -1", 2));
    Collect sink;
    const auto r = sim::run_fleet(s, sink);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("test.yaml:"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("noise_sigma_c"), std::string::npos) << r.error().message;
}
