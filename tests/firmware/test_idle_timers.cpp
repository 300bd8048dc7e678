// Idle timers: a silent-period report or heartbeat that no recipient may receive is slept
// through (fw_next_wakeup does not ask for it) and its deadline catches up at the next call,
// without changing a byte of what the device sends.
#include <string>
#include <vector>

#include "fw_harness.hpp"

using namespace fwtest;

namespace {

/// Runs the device when it asks and also at every whole second: every timer of the script below
/// (whose inputs all fall on whole seconds) then runs at its deadline, idle or not — the device
/// as it behaved before it could sleep through idle timers.
void run_until_polled(Harness& h, std::uint64_t t) {
    for (std::uint64_t s = h.now / kS + 1; s * kS <= t; ++s) {
        h.run_until(s * kS);
        fw_on_timer(&h.dev, h.now);
    }
    h.run_until(t);
}

/// Six hours of a thermostat's life: readings (one below the report threshold), a standing basis
/// for the vendor cloud granted and revoked, a voice interaction, an outage, an unlink. `advance`
/// runs the device up to a time.
template <class Advance>
void script(Harness& h, Advance advance) {
    h.cfg.heartbeat_interval_ms = 3600 * kS;
    h.boot();
    advance(10 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2100);
    advance(600 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2130);  // below the report threshold: the next full report marks it
    advance(1500 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2160);  // 0.6 °C from 2100 but 0.3 °C from 2130, reported at 910 s
    advance(2400 * kS);
    h.allow(kVendor, FW_CATS_ALL);
    advance(4000 * kS);
    h.command(R"({"id":1,"op":"interact","via":"voice","recipient":"voice-partner","action":"query"})");
    advance(5000 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2190);
    advance(6000 * kS);
    h.allow(kVendor, 0);
    advance(7000 * kS);
    h.command(R"({"id":2,"op":"network","up":false})");
    advance(7600 * kS);
    h.command(R"({"id":3,"op":"network","up":true})");
    advance(9000 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 1850);  // heating starts
    advance(12000 * kS);
    h.command(R"({"id":4,"op":"link","recipient":"voice-partner","linked":false})");
    advance(14000 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2150);
    advance(21600 * kS);
}

std::vector<std::string> uplinks_of(const Harness& h) {
    std::vector<std::string> out;
    for (const auto& u : h.uplinks) out.push_back(std::to_string(u.t) + " " + u.to + " " + u.format + " " + u.body);
    return out;
}

std::vector<std::string> truths_of(const Harness& h) {
    std::vector<std::string> out;
    for (const auto& x : h.truths) out.push_back(std::to_string(x.t) + " " + x.state.dump());
    return out;
}

std::vector<std::string> actuations_of(const Harness& h) {
    std::vector<std::string> out;
    for (const auto& a : h.actuations) {
        out.push_back(std::to_string(a.t) + " " + std::to_string(a.actuator) + " " + std::to_string(a.value));
    }
    return out;
}

class FwIdleTimersEveryProfile : public ::testing::TestWithParam<fw_profile> {};

}  // namespace

TEST(FwIdleTimers, GivenNobodyMayReceiveWhenSilentPeriodsPassThenTheDeviceSleepsAndKeepsTheirPhase) {
    // GIVEN a compliant thermostat whose partners may receive nothing (no basis, no interaction)
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    h.now = 10 * kS;
    h.sensor(FW_SENSOR_TEMPERATURE, 2100);  // reported to nobody at 10 s; the room needs no heat
    // WHEN it is asked for its next wake-up
    // THEN there is none: each 15-minute report would go to nobody and change nothing
    EXPECT_EQ(fw_next_wakeup(&h.dev), FW_NO_WAKEUP);
    // WHEN the vendor cloud is allowed everything at 3000 s
    h.now = 3000 * kS;
    h.allow(kVendor, FW_CATS_ALL);
    // THEN the next full report falls where the skipped ones (910, 1810, 2710 s) put it
    EXPECT_EQ(fw_next_wakeup(&h.dev), 3610 * kS);
    h.run_until(3700 * kS);
    const auto v = h.to("vendor-cloud");
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].t, 3610 * kS);
    EXPECT_EQ(v[0].json.at("cause"), "PERIODIC_POLL");
}

TEST_P(FwIdleTimersEveryProfile, GivenTheSameInputsWhenOneHostWakesTheDeviceOnlyWhenAskedThenItSendsWhatAPolledOneSends) {
    // GIVEN two identical thermostats with heartbeats, one run only when it asks, one also at every
    // whole second (every timer at its deadline, idle or not)
    Harness lazy(FW_KIND_THERMOSTAT, GetParam());
    Harness polled(FW_KIND_THERMOSTAT, GetParam());
    // WHEN both live the same six hours
    script(lazy, [&](std::uint64_t t) { lazy.run_until(t); });
    script(polled, [&](std::uint64_t t) { run_until_polled(polled, t); });
    // THEN they sent, told and switched the same, to the millisecond and byte
    ASSERT_FALSE(polled.uplinks.empty());
    EXPECT_EQ(uplinks_of(lazy), uplinks_of(polled));
    EXPECT_EQ(truths_of(lazy), truths_of(polled));
    EXPECT_EQ(actuations_of(lazy), actuations_of(polled));
    EXPECT_EQ(lazy.logs, polled.logs);
    // AND a compliant device, whose vendor cloud may receive for one hour of the six, slept
    // through most of its 24 silent periods and 6 heartbeats
    if (GetParam() == FW_PROFILE_COMPLIANT) {
        EXPECT_LT(lazy.wakes, 20);
    }
}

INSTANTIATE_TEST_SUITE_P(Profiles, FwIdleTimersEveryProfile,
                         ::testing::Values(FW_PROFILE_COMPLIANT, FW_PROFILE_PROACTIVE, FW_PROFILE_FLUSH_AFTER_REVOKE,
                                           FW_PROFILE_STORE_AND_FORWARD, FW_PROFILE_SCOPE_CREEP,
                                           FW_PROFILE_KEEPALIVE_LEAK, FW_PROFILE_CAUSE_LIE),
                         [](const auto& info) { return std::string(fw_profile_name(info.param)); });
