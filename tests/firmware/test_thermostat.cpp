// Thermostat behaviour of the firmware core: hysteresis control, short-cycle protection,
// report-on-change thresholds, maximum silence, TRUTH frames.
#include "fw_harness.hpp"

using namespace fwtest;

namespace {

std::vector<std::pair<std::uint64_t, std::int32_t>> relay(const Harness& h) {
    std::vector<std::pair<std::uint64_t, std::int32_t>> out;
    for (const auto& a : h.actuations_of(FW_ACT_HVAC_RELAY)) out.emplace_back(a.t, a.value);
    return out;
}

using Relay = std::vector<std::pair<std::uint64_t, std::int32_t>>;

}  // namespace

TEST(FwThermostat, GivenHeatAt20CWhenRoomIsJustAboveLowerBandThenHeaterStaysOffAndStartsAtTheBand) {
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    h.run_until(400 * kS);  // past the power-up min-off time
    h.sensor(FW_SENSOR_TEMPERATURE, 1951);
    EXPECT_EQ(fw_get_hvac_state(&h.dev), FW_HVAC_IDLE);
    h.run_until(401 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 1950);
    EXPECT_EQ(fw_get_hvac_state(&h.dev), FW_HVAC_HEATING);
    EXPECT_EQ(relay(h), (Relay{{0, FW_RELAY_OFF}, {401 * kS, FW_RELAY_HEAT}}));
}

TEST(FwThermostat, GivenHeatingWhenRoomReachesUpperBandBeforeMinOnThenHeaterStopsExactlyAtMinOn) {
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    h.run_until(401 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 1900);  // on at 401 s
    h.run_until(450 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2049);  // below sp + 0.5: keeps heating
    EXPECT_EQ(fw_get_hvac_state(&h.dev), FW_HVAC_HEATING);
    h.run_until(460 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2050);  // upper band, but min-on runs until 581 s
    EXPECT_EQ(fw_get_hvac_state(&h.dev), FW_HVAC_HEATING);
    EXPECT_EQ(fw_next_wakeup(&h.dev), 581 * kS);
    h.run_until(580999);
    EXPECT_EQ(fw_get_hvac_state(&h.dev), FW_HVAC_HEATING);
    h.run_until(600 * kS);
    EXPECT_EQ(fw_get_hvac_state(&h.dev), FW_HVAC_IDLE);
    EXPECT_EQ(relay(h), (Relay{{0, FW_RELAY_OFF}, {401 * kS, FW_RELAY_HEAT},
                               {581 * kS, FW_RELAY_OFF}}));
}

TEST(FwThermostat, GivenHeaterJustStoppedWhenRoomIsColdAgainThenItRestartsOnlyAfterMinOff) {
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    h.run_until(401 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 1900);  // on at 401
    h.run_until(700 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2100);  // off at 700
    h.run_until(710 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 1800);  // cold, but min-off until 1000 s
    EXPECT_EQ(fw_get_hvac_state(&h.dev), FW_HVAC_IDLE);
    h.run_until(999999);
    EXPECT_EQ(fw_get_hvac_state(&h.dev), FW_HVAC_IDLE);
    h.run_until(1200 * kS);
    EXPECT_EQ(relay(h), (Relay{{0, FW_RELAY_OFF}, {401 * kS, FW_RELAY_HEAT},
                               {700 * kS, FW_RELAY_OFF}, {1000 * kS, FW_RELAY_HEAT}}));
}

TEST(FwThermostat, GivenPowerUpWhenRoomIsColdAtOnceThenFirstHeatWaitsTheDefaultFiveMinutes) {
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    h.run_until(1 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 1800);
    h.run_until(1000 * kS);
    EXPECT_EQ(relay(h), (Relay{{0, FW_RELAY_OFF}, {300 * kS, FW_RELAY_HEAT}}));
}

TEST(FwThermostat, GivenMinOffConfiguredTo600sWhenRoomIsColdThenHeatStartsAt600s) {
    Harness h(FW_KIND_THERMOSTAT);
    h.cfg.min_off_ms = 600000;
    h.cfg.min_on_ms = 240000;
    h.boot();
    h.sensor(FW_SENSOR_TEMPERATURE, 1800);
    h.run_until(1000 * kS);
    EXPECT_EQ(relay(h), (Relay{{0, FW_RELAY_OFF}, {600 * kS, FW_RELAY_HEAT}}));
}

TEST(FwThermostat, GivenMinOffOutside240To900sWhenConfigIsCheckedThenItIsRejected) {
    Harness h(FW_KIND_THERMOSTAT);
    h.cfg.min_off_ms = 239999;
    ASSERT_NE(fw_config_check(&h.cfg), nullptr);
    EXPECT_STREQ(fw_config_check(&h.cfg), "min_off_ms out of range 240000...900000");
    h.cfg.min_off_ms = 900001;
    EXPECT_NE(fw_config_check(&h.cfg), nullptr);
    h.cfg.min_off_ms = 240000;
    EXPECT_EQ(fw_config_check(&h.cfg), nullptr);
    h.cfg.min_off_ms = 900000;
    EXPECT_EQ(fw_config_check(&h.cfg), nullptr);
    fw_device_storage d;
    h.cfg.min_off_ms = 100;
    EXPECT_NE(fw_init(fw_device_in(&d), &h.cfg, 1, 1, 0), nullptr);
}

TEST(FwThermostat, GivenCoolModeWhenRoomIsAboveUpperBandThenCompressorRunsAndStopsBelowLowerBand) {
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    h.run_until(400 * kS);
    h.command(R"({"id":1,"op":"interact","via":"physical","action":"set_mode","value":"cool"})");
    h.sensor(FW_SENSOR_TEMPERATURE, 2049);
    EXPECT_EQ(fw_get_hvac_state(&h.dev), FW_HVAC_IDLE);
    h.sensor(FW_SENSOR_TEMPERATURE, 2050);
    EXPECT_EQ(fw_get_hvac_state(&h.dev), FW_HVAC_COOLING);
    h.run_until(600 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 1950);
    EXPECT_EQ(relay(h), (Relay{{0, FW_RELAY_OFF}, {400 * kS, FW_RELAY_COOL},
                               {600 * kS, FW_RELAY_OFF}}));
}

TEST(FwThermostat, GivenEcoModeWhenRoomIsAtSetpointMinusOneThenNoHeatUntilTheSetback) {
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    h.run_until(400 * kS);
    h.command(R"({"id":1,"op":"interact","via":"physical","action":"set_mode","value":"eco"})");
    h.sensor(FW_SENSOR_TEMPERATURE, 1900);  // heat mode would start at 19.5; eco targets 17.0
    EXPECT_EQ(fw_get_hvac_state(&h.dev), FW_HVAC_IDLE);
    h.sensor(FW_SENSOR_TEMPERATURE, 1650);
    EXPECT_EQ(fw_get_hvac_state(&h.dev), FW_HVAC_HEATING);
}

TEST(FwThermostat, GivenVendorAllowedWhenTemperatureMovesThenReportsFollowDeltaAndRateLimit) {
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    h.allow(kVendor, FW_CATS_ALL);
    h.run_until(10 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2100);  // first reading: reported at once
    h.run_until(20 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2140);  // 0.4 °C: below the threshold
    h.run_until(25 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2150);  // 0.5 °C, but only 15 s since the last report
    EXPECT_EQ(h.to("vendor-cloud").size(), 1u);
    EXPECT_EQ(fw_next_wakeup(&h.dev), 40 * kS);
    h.run_until(39999);
    EXPECT_EQ(h.to("vendor-cloud").size(), 1u);
    h.run_until(40 * kS);
    h.run_until(50 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2160);  // 0.1 °C from the last report
    h.run_until(100 * kS);
    const auto v = h.to("vendor-cloud");
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(v[0].t, 10 * kS);
    EXPECT_EQ(v[0].json.at("state"), nlohmann::json({{"temperature", 21.0}}));
    EXPECT_EQ(v[1].t, 40 * kS);
    EXPECT_EQ(v[1].json.at("state"), nlohmann::json({{"temperature", 21.5}}));
    EXPECT_EQ(v[1].json.at("sampled_at"), wall_at(40 * kS));
}

TEST(FwThermostat, GivenNoChangeWhenFifteenMinutesPassThenAFullReportIsSentAnyway) {
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    h.allow(kVendor, FW_CATS_ALL);
    h.run_until(40 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2150);  // report at 40 s
    h.run_until(40 * kS + 900 * kS - 1);
    EXPECT_EQ(h.to("vendor-cloud").size(), 1u);
    h.run_until(40 * kS + 900 * kS);
    h.run_until(40 * kS + 1800 * kS);
    const auto v = h.to("vendor-cloud");
    ASSERT_EQ(v.size(), 3u);
    EXPECT_EQ(v[1].t, 940 * kS);
    EXPECT_EQ(v[2].t, 1840 * kS);
    EXPECT_EQ(v[1].json.at("cause"), "PERIODIC_POLL");
    EXPECT_EQ(categories_in(v[1]),
              (std::vector<std::string>{"connectivity", "hvac_mode", "hvac_state", "occupancy",
                                        "setpoint", "temperature"}));
}

TEST(FwThermostat, GivenHumidityReadingsWhenTheyMoveThreePercentThenTheyAreReported) {
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    h.allow(kVendor, FW_CATS_ALL);
    h.run_until(10 * kS);
    h.sensor(FW_SENSOR_HUMIDITY, 40);
    h.run_until(50 * kS);
    h.sensor(FW_SENSOR_HUMIDITY, 42);
    h.run_until(90 * kS);
    h.sensor(FW_SENSOR_HUMIDITY, 43);
    const auto v = h.to("vendor-cloud");
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(v[0].json.at("state"), nlohmann::json({{"humidity", 40}}));
    EXPECT_EQ(v[1].t, 90 * kS);
    EXPECT_EQ(v[1].json.at("state"), nlohmann::json({{"humidity", 43}}));
}

TEST(FwThermostat, GivenRateLimitedTemperatureWhenSetpointChangesThenReportGoesAtOnceCarryingBoth) {
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    h.allow(kVendor, FW_CATS_ALL);
    h.run_until(10 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2100);
    h.run_until(15 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2200);  // pending until 40 s
    h.sensor(FW_SENSOR_SETPOINT_DIAL, 2250);
    const auto v = h.to("vendor-cloud");
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(v[1].t, 15 * kS);
    EXPECT_EQ(v[1].json.at("cause"), "PHYSICAL_INTERACTION");
    EXPECT_EQ(v[1].json.at("state"),
              nlohmann::json({{"setpoint", 22.5}, {"temperature", 22.0}}));
    h.run_until(60 * kS);
    EXPECT_EQ(h.to("vendor-cloud").size(), 2u) << "the pending temperature went with the setpoint";
}

TEST(FwThermostat, GivenStateChangesWhenTheyHappenThenTruthCarriesTheNewStateEachTime) {
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    ASSERT_EQ(h.truths.size(), 1u);
    EXPECT_EQ(h.truths[0].state,
              nlohmann::json({{"setpoint", 20.0}, {"hvac_mode", "heat"}, {"hvac_state", "idle"},
                              {"occupancy", true}}));
    h.run_until(400 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 1900);
    ASSERT_EQ(h.truths.size(), 2u);
    EXPECT_EQ(h.truths[1].t, 400 * kS);
    EXPECT_EQ(h.truths[1].state.at("temperature"), 19.0);
    EXPECT_EQ(h.truths[1].state.at("hvac_state"), "heating");
    h.sensor(FW_SENSOR_TEMPERATURE, 1900);  // same value: no change, no TRUTH
    EXPECT_EQ(h.truths.size(), 2u);
    h.command(R"({"id":2,"op":"env","occupied":false})");
    ASSERT_EQ(h.truths.size(), 3u);
    EXPECT_EQ(h.truths[2].state.at("occupancy"), false);
    h.command(R"({"id":3,"op":"interact","via":"physical","action":"set_setpoint","value":21})");
    ASSERT_EQ(h.truths.size(), 4u);
    EXPECT_EQ(h.truths[3].state.at("setpoint"), 21.0);
}
