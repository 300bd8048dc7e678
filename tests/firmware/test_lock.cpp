// Lock behaviour of the firmware core: motor timing, auto-relock, door contact, host-timed
// motor with jam detection, battery drain, hourly heartbeat.
#include "fw_harness.hpp"

using namespace fwtest;

namespace {

using Motor = std::vector<std::pair<std::uint64_t, std::int32_t>>;

Motor motor(const Harness& h) {
    Motor out;
    for (const auto& a : h.actuations_of(FW_ACT_LOCK_MOTOR)) out.emplace_back(a.t, a.value);
    return out;
}

}  // namespace

TEST(FwLock, GivenLockedDoorWhenAppUnlocksThenMotorRunsTwoSecondsBeforeStateChanges) {
    Harness h(FW_KIND_LOCK);
    h.id = "lock-front";
    h.cfg.auto_relock_ms = 0;
    h.boot();
    h.run_until(10 * kS);
    h.command(R"({"id":1,"op":"interact","via":"app","recipient":"google-partner","action":"unlock"})");
    EXPECT_TRUE(fw_motor_running(&h.dev));
    EXPECT_EQ(fw_get_lock_state(&h.dev), FW_LOCK_LOCKED);
    EXPECT_EQ(fw_next_wakeup(&h.dev), 12 * kS);
    h.run_until(11999);
    EXPECT_EQ(fw_get_lock_state(&h.dev), FW_LOCK_LOCKED);
    h.run_until(12 * kS);
    EXPECT_EQ(fw_get_lock_state(&h.dev), FW_LOCK_UNLOCKED);
    EXPECT_FALSE(fw_motor_running(&h.dev));
    EXPECT_EQ(motor(h), (Motor{{10 * kS, FW_MOTOR_UNLOCK}, {12 * kS, FW_MOTOR_STOP}}));
    ASSERT_FALSE(h.truths.empty());
    EXPECT_EQ(h.truths.back().t, 12 * kS);
    EXPECT_EQ(h.truths.back().state.at("lock_state"), "unlocked");
    EXPECT_EQ(fw_next_wakeup(&h.dev), FW_NO_WAKEUP);  // relock off, no heartbeat
}

TEST(FwLock, GivenUnlockedWithDoorClosedWhenThirtySecondsPassThenItRelocksByItself) {
    Harness h(FW_KIND_LOCK);
    h.boot();
    h.run_until(10 * kS);
    h.sensor(FW_SENSOR_KEYPAD, 0);
    h.run_until(100 * kS);
    EXPECT_EQ(motor(h), (Motor{{10 * kS, FW_MOTOR_UNLOCK}, {12 * kS, FW_MOTOR_STOP},
                               {42 * kS, FW_MOTOR_LOCK}, {44 * kS, FW_MOTOR_STOP}}));
    EXPECT_EQ(fw_get_lock_state(&h.dev), FW_LOCK_LOCKED);
}

TEST(FwLock, GivenUnlockedWhenDoorOpensThenRelockWaitsUntilThirtySecondsAfterItCloses) {
    Harness h(FW_KIND_LOCK);
    h.boot();
    h.run_until(10 * kS);
    h.sensor(FW_SENSOR_KEYPAD, 0);  // unlocked at 12 s
    h.run_until(20 * kS);
    h.sensor(FW_SENSOR_DOOR, 0);    // open: no relock
    h.run_until(50 * kS);
    EXPECT_EQ(fw_get_lock_state(&h.dev), FW_LOCK_UNLOCKED);
    h.sensor(FW_SENSOR_DOOR, 1);    // closed at 50 s: relock at 80 s
    EXPECT_EQ(fw_next_wakeup(&h.dev), 80 * kS);
    h.run_until(200 * kS);
    const Motor m = motor(h);
    ASSERT_EQ(m.size(), 4u);
    EXPECT_EQ(m[2], (std::pair<std::uint64_t, std::int32_t>{80 * kS, FW_MOTOR_LOCK}));
    EXPECT_EQ(fw_get_lock_state(&h.dev), FW_LOCK_LOCKED);
}

TEST(FwLock, GivenThumbTurnWhenTurnedThenStateChangesAtOnceWithoutMotorOrBatteryDrain) {
    Harness h(FW_KIND_LOCK);
    h.cfg.auto_relock_ms = 0;
    h.boot();
    h.sensor(FW_SENSOR_THUMB_TURN, 0);
    EXPECT_EQ(fw_get_lock_state(&h.dev), FW_LOCK_UNLOCKED);
    EXPECT_TRUE(motor(h).empty());
    EXPECT_EQ(fw_battery_centi_pct(&h.dev), 10000);
}

TEST(FwLock, GivenHostTimedMotorWhenMotorDoneArrivesThenStateChangesThenAndMissingDoneMeansJammed) {
    Harness h(FW_KIND_LOCK);
    h.cfg.motor_done_by_host = true;
    h.cfg.auto_relock_ms = 0;
    h.boot();
    h.run_until(1 * kS);
    h.sensor(FW_SENSOR_KEYPAD, 0);
    h.run_until(2500);
    EXPECT_EQ(fw_get_lock_state(&h.dev), FW_LOCK_LOCKED);
    h.sensor(FW_SENSOR_MOTOR_DONE, 0);
    EXPECT_EQ(fw_get_lock_state(&h.dev), FW_LOCK_UNLOCKED);
    EXPECT_STREQ(fw_on_sensor(&h.dev, h.now, FW_SENSOR_MOTOR_DONE, 0),
                 "motor_done: the motor is not running");
    h.run_until(10 * kS);
    h.sensor(FW_SENSOR_KEYPAD, 1);
    EXPECT_EQ(fw_next_wakeup(&h.dev), 16 * kS);  // motor_timeout_ms = 6 s
    h.run_until(16 * kS);
    EXPECT_EQ(fw_get_lock_state(&h.dev), FW_LOCK_JAMMED);
    EXPECT_EQ(h.truths.back().state.at("lock_state"), "jammed");
}

TEST(FwLock, GivenOwnTimedMotorWhenHostSendsMotorDoneThenItIsRefused) {
    Harness h(FW_KIND_LOCK);
    h.boot();
    h.sensor(FW_SENSOR_KEYPAD, 0);
    EXPECT_STREQ(fw_on_sensor(&h.dev, h.now, FW_SENSOR_MOTOR_DONE, 0),
                 "motor_done: the core times the motor itself");
    EXPECT_STREQ(fw_on_sensor(&h.dev, h.now, FW_SENSOR_KEYPAD, 1), "lock motor busy");
}

TEST(FwLock, GivenBatteryAtOneHundredPercentWhenMotorRunsThenEachActuationDrainsAndWholePercentIsReported) {
    Harness h(FW_KIND_LOCK);
    h.cfg.auto_relock_ms = 0;
    h.boot();
    h.allow(kVendor, FW_CATS_ALL);
    for (int i = 0; i < 4; ++i) {
        h.run_until(h.now + 10 * kS);
        h.sensor(FW_SENSOR_KEYPAD, i % 2 == 0 ? 0 : 1);
    }
    h.run_until(h.now + 10 * kS);
    EXPECT_EQ(fw_battery_centi_pct(&h.dev), 10000 - 4 * 3);
    const auto v = h.to("vendor-cloud");
    ASSERT_EQ(v.size(), 4u);
    // 100.00 % -> 99.97 %: the whole percent changed with the first actuation only
    EXPECT_EQ(v[0].json.at("state"),
              nlohmann::json({{"lock_state", "unlocked"}, {"battery", 99}}));
    EXPECT_EQ(v[1].json.at("state"), nlohmann::json({{"lock_state", "locked"}}));
    EXPECT_EQ(h.truths.back().state.at("battery"), 99);
}

TEST(FwLock, GivenHeartbeatHourlyWhenFiveHoursPassThenVendorGetsOneStateFreeBeatPerHour) {
    Harness h(FW_KIND_LOCK);
    h.cfg.heartbeat_interval_ms = 3600 * kS;
    h.boot();
    h.allow(kVendor, FW_CAT_BIT(FW_CAT_CONNECTIVITY));
    h.run_until(5 * 3600 * kS);
    const auto v = h.to("vendor-cloud");
    ASSERT_EQ(v.size(), 5u);
    EXPECT_GE(v[0].t, 1 * kS);
    EXPECT_LE(v[0].t, 3600 * kS);
    for (std::size_t i = 0; i < v.size(); ++i) {
        EXPECT_EQ(v[i].format, "json");
        EXPECT_EQ(v[i].body, R"({"type":"heartbeat","seq":)" + std::to_string(i) + "}");
        if (i > 0) {
            EXPECT_EQ(v[i].t - v[i - 1].t, 3600 * kS);
        }
    }
    EXPECT_TRUE(h.to("voice-partner").empty()) << "only heartbeat recipients get heartbeats";
}

TEST(FwLock, GivenConnectivityNotAllowedWhenHoursPassThenCompliantSendsNoHeartbeatButProactiveDoes) {
    Harness c(FW_KIND_LOCK);
    c.cfg.heartbeat_interval_ms = 3600 * kS;
    c.boot();
    c.run_until(3 * 3600 * kS);
    EXPECT_TRUE(c.uplinks.empty());

    Harness p(FW_KIND_LOCK, FW_PROFILE_PROACTIVE);
    p.cfg.heartbeat_interval_ms = 3600 * kS;
    p.boot();
    p.run_until(3 * 3600 * kS);
    EXPECT_EQ(p.to("vendor-cloud").size(), 3u);
}
