// Unit tests of the plant without a Modbus link: framing helpers, configuration checks, the
// plant clock (manual and time-scaled real time), stimuli and sensor faults on the snapshot.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>

#include "plant/modbus_rtu.hpp"
#include "plant/plant.hpp"
#include "sim/thermal.hpp"

namespace cp = consentrig::plant;
namespace sim = consentrig::sim;

namespace {

constexpr cp::TimeMs kStart = 1767567600000;  // 2026-01-05T00:00:00+01:00

cp::PlantConfig quiet_config() {
    cp::PlantConfig c;
    c.sensor.noise_sigma_c = 0.0;
    c.initial_temperature_c = 18.0;
    return c;
}

std::int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

TEST(ModbusRtu, Crc16OfTheTextbookRequest) {
    // "01 03 00 00 00 0A C5 CD": read 10 holding registers from unit 1.
    const std::uint8_t req[] = {0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD};
    EXPECT_EQ(cp::modbus_crc16(req, 6), 0xCDC5);
    EXPECT_TRUE(cp::rtu_crc_ok(req, 8));
    std::uint8_t bad[8];
    std::copy(std::begin(req), std::end(req), bad);
    bad[3] ^= 1;
    EXPECT_FALSE(cp::rtu_crc_ok(bad, 8));
}

TEST(ModbusRtu, RequestLengthByFunctionCode) {
    const std::uint8_t read[] = {1, 0x04};
    EXPECT_EQ(cp::rtu_request_length(read, 1), 0U);
    EXPECT_EQ(cp::rtu_request_length(read, 2), 8U);
    const std::uint8_t write_multi[] = {1, 0x10, 0, 0, 0, 2, 4};
    EXPECT_EQ(cp::rtu_request_length(write_multi, 6), 0U);
    EXPECT_EQ(cp::rtu_request_length(write_multi, 7), 13U);
    const std::uint8_t coils[] = {1, 0x0F, 0, 0, 0, 4, 1};
    EXPECT_EQ(cp::rtu_request_length(coils, 7), 10U);
    const std::uint8_t mask[] = {1, 0x16};
    EXPECT_EQ(cp::rtu_request_length(mask, 2), 10U);
    const std::uint8_t mei[] = {1, 0x2B};
    EXPECT_EQ(cp::rtu_request_length(mei, 2), 7U);
    const std::uint8_t unknown[] = {1, 0x41};
    EXPECT_EQ(cp::rtu_request_length(unknown, 2), 4U);
}

TEST(PlantConfig, ValidateRejectsOutOfRange) {
    EXPECT_TRUE(cp::validate(cp::PlantConfig{}));
    cp::PlantConfig c;
    c.humidity_pct = 101;
    EXPECT_FALSE(cp::validate(c));
    c = {};
    c.battery_pct = -1;
    EXPECT_FALSE(cp::validate(c));
    c = {};
    c.cool_rate_c_per_h = std::nan("");
    EXPECT_FALSE(cp::validate(c));
    c = {};
    c.house.time_constant_ms = 0;
    EXPECT_FALSE(cp::validate(c));
    c = {};
    c.sensor.noise_sigma_c = -0.1;
    EXPECT_FALSE(cp::validate(c));
}

TEST(PlantClock, ManualTimeMovesOnlyByAdvance) {
    cp::Plant p(quiet_config(), kStart);
    p.use_manual_time();
    const cp::TimeMs t0 = p.now();
    EXPECT_GE(t0, kStart);
    EXPECT_EQ(p.now(), t0);
    p.advance(1234);
    EXPECT_EQ(p.now(), t0 + 1234);
    p.advance(-5);  // time never goes back
    EXPECT_EQ(p.now(), t0 + 1234);
    // Back to the wall clock: it continues from the manual time.
    p.use_real_time();
    EXPECT_GE(p.now(), t0 + 1234);
    EXPECT_LT(p.now(), t0 + 1234 + 60'000);
    p.advance(3'600'000);  // ignored on the wall clock
    EXPECT_LT(p.now(), t0 + 1234 + 60'000);
}

TEST(PlantClock, RealTimeRunsScaledAndStaysContinuous) {
    cp::Plant p(quiet_config(), kStart);
    ASSERT_TRUE(p.set_time_scale(1000.0));
    EXPECT_FALSE(p.set_time_scale(0.0));
    EXPECT_FALSE(p.set_time_scale(std::nan("")));
    EXPECT_EQ(p.time_scale(), 1000.0);
    // Sandwich the plant readings between wall-clock readings: the plant advanced by the wall
    // time between them × 1000, give or take the bracketing intervals.
    const std::int64_t w0 = steady_ns();
    const cp::TimeMs p0 = p.now();
    const std::int64_t w1 = steady_ns();
    while (steady_ns() - w1 < 20'000'000) {
    }
    const std::int64_t w2 = steady_ns();
    const cp::TimeMs p1 = p.now();
    const std::int64_t w3 = steady_ns();
    const double lo = static_cast<double>(w2 - w1) / 1e6 * 1000.0 - 1;
    const double hi = static_cast<double>(w3 - w0) / 1e6 * 1000.0 + 1;
    EXPECT_GE(static_cast<double>(p1 - p0), lo);
    EXPECT_LE(static_cast<double>(p1 - p0), hi);
    // Changing the scale does not jump the clock.
    const cp::TimeMs before = p.now();
    ASSERT_TRUE(p.set_time_scale(1.0));
    const cp::TimeMs after = p.now();
    EXPECT_GE(after, before);
    EXPECT_LE(after - before, 1000);  // at most a second of plant time at the old scale passed
}

TEST(Plant, BootStateAndStimuliShowInTheSnapshot) {
    cp::PlantConfig c = quiet_config();
    c.occupied = false;
    c.door_closed = true;
    c.bolt_locked = false;
    c.battery_pct = 80;
    cp::Plant p(c, kStart);
    p.use_manual_time();
    auto s = p.snapshot();
    EXPECT_NEAR(s.room_c, 18.0, 1e-9);
    EXPECT_NEAR(s.sensor_c, 18.0, 1e-9);
    EXPECT_FALSE(s.occupied);
    EXPECT_TRUE(s.door_closed);
    EXPECT_EQ(s.bolt, sim::Bolt::unlocked);
    EXPECT_NEAR(s.battery_pct, 80, 1e-4);
    EXPECT_FALSE(s.heat);
    EXPECT_TRUE(s.answering);
    EXPECT_NEAR(s.outdoor_c, sim::outdoor_temperature_c(c.house, s.t), 1e-12);
    p.set_occupied(true);
    p.set_door_closed(false);
    p.set_humidity_pct(130);
    p.set_battery_pct(55.5);
    s = p.snapshot();
    EXPECT_TRUE(s.occupied);
    EXPECT_FALSE(s.door_closed);
    EXPECT_EQ(s.humidity_pct, 100.0);
    EXPECT_NEAR(s.battery_pct, 55.5, 1e-4);
}

TEST(Plant, WithoutHeatTheRoomFollowsTheClosedFormAndCools) {
    cp::PlantConfig c = quiet_config();
    cp::Plant p(c, kStart);
    p.use_manual_time();
    const auto s0 = p.snapshot();
    p.advance(2 * 3600 * 1000);
    const auto s1 = p.snapshot();
    sim::HouseState h;
    h.updated_ms = kStart;
    h.temperature_c = 18.0F;
    EXPECT_NEAR(s1.room_c, sim::temperature_at(h, c.house, s1.t), 1e-9);
    EXPECT_LT(s1.room_c, s0.room_c);  // 18 °C inside, ~0 °C outside: it cools
}

TEST(Plant, StuckSensorFreezesWhileTheRoomChanges) {
    cp::Plant p(quiet_config(), kStart);
    p.use_manual_time();
    p.inject_sensor_stuck();
    p.set_room_temperature_c(25.0);
    auto s = p.snapshot();
    EXPECT_EQ(s.sensor_fault, sim::SensorFault::stuck);
    EXPECT_NEAR(s.room_c, 25.0, 1e-6);
    EXPECT_NEAR(s.sensor_c, 18.0, 1e-6);
    p.clear_sensor_fault();
    s = p.snapshot();
    EXPECT_NEAR(s.sensor_c, s.room_c, 1e-9);
}

TEST(Plant, DriftingSensorWalksAwayFromTheTruth) {
    cp::Plant p(quiet_config(), kStart);
    p.use_manual_time();
    p.inject_sensor_drift(0.5);
    p.advance(3 * 3600 * 1000);
    const auto s = p.snapshot();
    EXPECT_EQ(s.sensor_fault, sim::SensorFault::drift);
    EXPECT_NEAR(s.sensor_c - s.room_c, 1.5, 1e-4);
}

TEST(Plant, StopAnsweringLastsItsPlantTime) {
    cp::Plant p(quiet_config(), kStart);
    p.use_manual_time();
    p.stop_answering(5000);
    EXPECT_FALSE(p.snapshot().answering);
    p.advance(4999);
    EXPECT_FALSE(p.snapshot().answering);
    p.advance(1);
    EXPECT_TRUE(p.snapshot().answering);
    p.stop_answering();
    p.advance(24 * 3600 * 1000);
    EXPECT_FALSE(p.snapshot().answering);
    p.resume_answering();
    EXPECT_TRUE(p.snapshot().answering);
}
