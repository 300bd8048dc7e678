// Behaviour profiles: what each one sends, to whom, when — the compliant reference and each
// deliberately leaky variant's distinctive leak (docs/firmware.md, "Behaviour profiles").
#include "fw_harness.hpp"

#include <algorithm>

using namespace fwtest;

namespace {

/// Alternates the room between 20.0 and 21.0 °C once a minute from `from` for `minutes`.
void wiggle(Harness& h, std::uint64_t from, int minutes) {
    for (int i = 0; i < minutes; ++i) {
        h.run_until(from + static_cast<std::uint64_t>(i) * kMin);
        h.sensor(FW_SENSOR_TEMPERATURE, i % 2 == 0 ? 2100 : 2000);
    }
}

bool has(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

std::string cause_of(const Uplink& u) {
    if (u.format == "alexa") return u.json.at("event").at("payload").at("change").at("cause").at("type");
    return u.json.at("cause");
}

}  // namespace

// ---- compliant ------------------------------------------------------------------------

TEST(FwCompliant, GivenOnlyInteractionConsentWhenAnHourOfChangesPassesThenNothingIsSent) {
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    wiggle(h, 10 * kS, 60);
    h.run_until(3600 * kS);
    EXPECT_TRUE(h.uplinks.empty()) << h.uplinks.size() << " messages, first to "
                                   << (h.uplinks.empty() ? "" : h.uplinks[0].to);
    EXPECT_GT(h.truths.size(), 50u) << "the device did see the changes";
}

TEST(FwCompliant, GivenVoiceQueryWhenWindowIsOpenThenAnswersAndReportsOnlyInsideTheWindow) {
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    wiggle(h, 10 * kS, 59);
    h.run_until(3600 * kS);
    h.command(R"({"id":1,"op":"interact","via":"voice","recipient":"voice-partner","action":"query"})");
    h.run_until(3650 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2200);  // inside the 120 s window
    h.run_until(3800 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2300);  // after it
    h.run_until(4000 * kS);
    const auto v = h.to("voice-partner");
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(v[0].t, 3600 * kS);
    EXPECT_EQ(v[0].json.at("event").at("header").at("name"), "StateReport");
    EXPECT_EQ(categories_in(v[0]),
              (std::vector<std::string>{"hvac_mode", "setpoint", "temperature"}));
    EXPECT_EQ(v[1].t, 3650 * kS);
    EXPECT_EQ(cause_of(v[1]), "PERIODIC_POLL");
    for (const auto& u : h.uplinks) {
        EXPECT_GE(u.t, 3600 * kS);
        EXPECT_LT(u.t, 3720 * kS);
    }
}

TEST(FwCompliant, GivenSampleTakenWithoutConsentWhenWindowOpensLaterThenOnlyAFreshSampleIsSent) {
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    h.run_until(100 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2150);  // sampled outside any window: dropped
    h.run_until(200 * kS);
    h.command(R"({"id":1,"op":"interact","via":"voice","recipient":"voice-partner","action":"query"})");
    ASSERT_EQ(h.uplinks.size(), 1u);
    for (const auto& p : h.uplinks[0].json.at("context").at("properties"))
        EXPECT_EQ(p.at("timeOfSample"), wall_at(200 * kS)) << p.dump();
}

TEST(FwCompliant, GivenVoiceSetpointWhenItChangesThenTheReportToThatPartnerSaysVoiceInteraction) {
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    h.run_until(50 * kS);
    h.command(R"({"id":1,"op":"interact","via":"voice","recipient":"voice-partner","action":"set_setpoint","value":22.5})");
    const auto v = h.to("voice-partner");
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].json.at("event").at("header").at("name"), "ChangeReport");
    EXPECT_EQ(cause_of(v[0]), "VOICE_INTERACTION");
    EXPECT_EQ(categories_in(v[0]), (std::vector<std::string>{"hvac_mode", "setpoint"}));
    EXPECT_TRUE(h.to("google-partner").empty()) << "no window was opened for google";
}

TEST(FwCompliant, GivenSetpointAlreadyThereWhenVoiceSetsItThenTheInteractionIsStillAnswered) {
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    h.command(R"({"id":1,"op":"interact","via":"app","recipient":"google-partner","action":"set_setpoint","value":20})");
    const auto g = h.to("google-partner");
    ASSERT_EQ(g.size(), 1u);
    EXPECT_TRUE(has(categories_in(g[0]), "setpoint"));
}

TEST(FwCompliant, GivenWithdrawnTemperatureWhenThingsChangeThenTemperatureIsNeverSentUntilRegranted) {
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    h.allow(kVendor, FW_CATS_ALL);
    h.run_until(50 * kS);
    h.command(R"({"id":1,"op":"consent","recipient":"vendor-cloud","categories":["temperature"],"granted":false})");
    EXPECT_EQ(fw_allowed_now(&h.dev, h.now, kVendor) & FW_CAT_BIT(FW_CAT_TEMPERATURE), 0);
    h.run_until(100 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2100);
    h.run_until(150 * kS);
    h.sensor(FW_SENSOR_SETPOINT_DIAL, 2200);
    h.sensor(FW_SENSOR_TEMPERATURE, 2300);
    auto v = h.to("vendor-cloud");
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].t, 150 * kS);
    EXPECT_EQ(categories_in(v[0]), (std::vector<std::string>{"setpoint"}));
    h.run_until(200 * kS);
    h.command(R"({"id":2,"op":"consent","recipient":"vendor-cloud","categories":["all"],"granted":true})");
    h.run_until(250 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2400);
    v = h.to("vendor-cloud");
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(categories_in(v[1]), (std::vector<std::string>{"temperature"}));
}

TEST(FwCompliant, GivenUnlinkedPartnerWhenStateChangesThenItReceivesNothingUntilRelinked) {
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    h.allow(kVendor, FW_CATS_ALL);
    h.command(R"({"id":1,"op":"link","recipient":"vendor-cloud","linked":false})");
    EXPECT_FALSE(fw_is_linked(&h.dev, kVendor));
    wiggle(h, 10 * kS, 10);
    EXPECT_TRUE(h.to("vendor-cloud").empty());
    h.command(R"({"id":2,"op":"link","recipient":"vendor-cloud","linked":true})");
    h.run_until(20 * kMin);
    h.sensor(FW_SENSOR_TEMPERATURE, 2500);
    EXPECT_EQ(h.to("vendor-cloud").size(), 1u);
}

TEST(FwCompliant, GivenNetworkOutageWhenItEndsThenChangesAreResentAsFreshSamplesUnderTodaysConsent) {
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    h.allow(kVendor, FW_CATS_ALL);
    h.run_until(10 * kS);
    h.command(R"({"id":1,"op":"network","up":false})");
    h.run_until(20 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2100);
    h.run_until(60 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2200);
    EXPECT_TRUE(h.uplinks.empty());
    h.run_until(120 * kS);
    h.command(R"({"id":2,"op":"network","up":true})");
    const auto v = h.to("vendor-cloud");
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].t, 120 * kS);
    EXPECT_EQ(v[0].json.at("sampled_at"), wall_at(120 * kS));
    EXPECT_EQ(v[0].json.at("state"), nlohmann::json({{"temperature", 22.0}}));
}

// ---- proactive ------------------------------------------------------------------------

TEST(FwProactive, GivenOnlyInteractionConsentWhenTemperatureChangesThenEveryLinkedPartnerGetsIt) {
    Harness h(FW_KIND_THERMOSTAT, FW_PROFILE_PROACTIVE);
    h.boot();
    h.run_until(10 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2100);
    for (const char* r : {"voice-partner", "vendor-cloud", "google-partner", "matter-ctrl"}) {
        const auto v = h.to(r);
        ASSERT_EQ(v.size(), 1u) << r;
        EXPECT_EQ(v[0].t, 10 * kS) << r;
        EXPECT_TRUE(has(categories_in(v[0]), "temperature")) << r;
    }
    EXPECT_EQ(cause_of(h.to("voice-partner")[0]), "PERIODIC_POLL");
}

TEST(FwProactive, GivenWithdrawalWhenStateChangesThenItIsIgnoredButUnlinkIsHonoured) {
    Harness h(FW_KIND_THERMOSTAT, FW_PROFILE_PROACTIVE);
    h.boot();
    h.command(R"({"id":1,"op":"consent","recipient":"voice-partner","categories":["all"],"granted":false})");
    h.run_until(10 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2100);
    EXPECT_EQ(h.to("voice-partner").size(), 1u);
    h.command(R"({"id":2,"op":"link","recipient":"voice-partner","linked":false})");
    h.run_until(100 * kS);
    h.sensor(FW_SENSOR_SETPOINT_DIAL, 2300);
    EXPECT_EQ(h.to("voice-partner").size(), 1u);
    ASSERT_EQ(h.to("vendor-cloud").size(), 2u);
    EXPECT_EQ(cause_of(h.to("vendor-cloud")[1]), "PHYSICAL_INTERACTION");
}

// ---- flush_after_revoke ---------------------------------------------------------------

TEST(FwFlushAfterRevoke, GivenReportInFlightWhenPartnerIsUnlinkedThenItIsStillSentAfterTheUnlink) {
    for (fw_profile p : {FW_PROFILE_FLUSH_AFTER_REVOKE, FW_PROFILE_COMPLIANT}) {
        Harness h(FW_KIND_THERMOSTAT, p);
        h.boot();
        h.allow(kVendor, FW_CATS_ALL);
        h.run_until(100 * kS);
        h.sensor(FW_SENSOR_TEMPERATURE, 2100);
        h.run_until(100500);
        h.command(R"({"id":1,"op":"link","recipient":"vendor-cloud","linked":false})");
        h.run_until(200 * kS);
        const auto v = h.to("vendor-cloud");
        ASSERT_EQ(v.size(), 1u) << fw_profile_name(p);
        if (p == FW_PROFILE_FLUSH_AFTER_REVOKE) {
            EXPECT_EQ(v[0].t, 101 * kS) << "queued at 100 s, flushed 1 s later, after the unlink";
        } else {
            EXPECT_EQ(v[0].t, 100 * kS) << "compliant sends at once, before the unlink";
        }
    }
}

TEST(FwFlushAfterRevoke, GivenQueuedDuringOutageWhenConsentIsWithdrawnThenReconnectStillSendsIt) {
    for (fw_profile p : {FW_PROFILE_FLUSH_AFTER_REVOKE, FW_PROFILE_COMPLIANT}) {
        Harness h(FW_KIND_THERMOSTAT, p);
        h.boot();
        h.allow(kVendor, FW_CATS_ALL);
        h.command(R"({"id":1,"op":"network","up":false})");
        h.run_until(20 * kS);
        h.sensor(FW_SENSOR_TEMPERATURE, 2100);
        h.run_until(30 * kS);
        h.command(R"({"id":2,"op":"consent","recipient":"vendor-cloud","categories":["temperature"],"granted":false})");
        h.run_until(40 * kS);
        h.command(R"({"id":3,"op":"network","up":true})");
        h.run_until(60 * kS);
        const auto v = h.to("vendor-cloud");
        if (p == FW_PROFILE_FLUSH_AFTER_REVOKE) {
            ASSERT_EQ(v.size(), 1u);
            EXPECT_EQ(v[0].t, 40 * kS);
            EXPECT_EQ(v[0].json.at("state"), nlohmann::json({{"temperature", 21.0}}));
        } else {
            EXPECT_TRUE(v.empty()) << v[0].body;
        }
    }
}

// ---- store_and_forward ----------------------------------------------------------------

TEST(FwStoreAndForward, GivenSamplesTakenOutsideConsentDuringOutageWhenNetworkReturnsThenTheyGoWithOldSampleTimes) {
    Harness h(FW_KIND_THERMOSTAT, FW_PROFILE_STORE_AND_FORWARD);
    h.boot();
    h.run_until(10 * kS);
    h.command(R"({"id":1,"op":"network","up":false})");
    h.run_until(20 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2100);  // no consent now
    h.run_until(60 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2200);
    h.run_until(100 * kS);
    h.allow(kVendor, FW_CATS_ALL);  // a schedule window opens
    h.run_until(120 * kS);
    h.command(R"({"id":2,"op":"network","up":true})");
    const auto v = h.to("vendor-cloud");
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(v[0].t, 120 * kS);
    EXPECT_EQ(v[0].json.at("sampled_at"), wall_at(20 * kS));
    EXPECT_EQ(v[0].json.at("state").at("temperature"), 21.0);
    EXPECT_EQ(v[1].json.at("sampled_at"), wall_at(60 * kS));
    EXPECT_EQ(v[1].json.at("state").at("temperature"), 22.0);
}

TEST(FwStoreAndForward, GivenAlexaPartnerWhenBufferedSamplesAreSentThenTimeOfSampleIsTheOldOne) {
    Harness h(FW_KIND_THERMOSTAT, FW_PROFILE_STORE_AND_FORWARD);
    h.boot();
    h.command(R"({"id":1,"op":"network","up":false})");
    h.run_until(30 * kS);
    h.sensor(FW_SENSOR_TEMPERATURE, 2100);
    h.run_until(300 * kS);
    h.allow(kVoice, FW_CAT_BIT(FW_CAT_TEMPERATURE));
    h.command(R"({"id":2,"op":"network","up":true})");
    const auto v = h.to("voice-partner");
    ASSERT_EQ(v.size(), 1u);
    const auto& p = v[0].json.at("event").at("payload").at("change").at("properties").at(0);
    EXPECT_EQ(p.at("name"), "temperature");
    EXPECT_EQ(p.at("timeOfSample"), wall_at(30 * kS));
}

TEST(FwStoreAndForward, GivenSixSamplesDuringOutageWhenNetworkReturnsThenOnlyTheLastFourAreSent) {
    Harness h(FW_KIND_THERMOSTAT, FW_PROFILE_STORE_AND_FORWARD);
    h.boot();
    h.allow(kVendor, FW_CATS_ALL);
    h.command(R"({"id":1,"op":"network","up":false})");
    for (int i = 0; i < 6; ++i) {
        h.run_until(static_cast<std::uint64_t>(i + 1) * kMin);
        h.sensor(FW_SENSOR_TEMPERATURE, 2000 + 100 * i);
    }
    h.command(R"({"id":2,"op":"network","up":true})");
    const auto v = h.to("vendor-cloud");
    ASSERT_EQ(v.size(), static_cast<std::size_t>(FW_SAF_SLOTS));
    EXPECT_EQ(v[0].json.at("sampled_at"), wall_at(3 * kMin));
    EXPECT_EQ(v[3].json.at("sampled_at"), wall_at(6 * kMin));
}

TEST(FwStoreAndForward, GivenDevicesThatNeverBufferWhenTheyRunThenTheHostIsNeverAskedForARing) {
    // GIVEN a store_and_forward device online all along, and a compliant one through an outage
    Harness online(FW_KIND_THERMOSTAT, FW_PROFILE_STORE_AND_FORWARD);
    Harness compliant(FW_KIND_THERMOSTAT, FW_PROFILE_COMPLIANT);
    for (Harness* h : {&online, &compliant}) {
        h->boot();
        h->allow(kVendor, FW_CATS_ALL);
    }
    compliant.command(R"({"id":1,"op":"network","up":false})");
    // WHEN both take readings for ten minutes and the outage ends
    for (int i = 1; i <= 10; ++i) {
        for (Harness* h : {&online, &compliant}) {
            h->run_until(static_cast<std::uint64_t>(i) * kMin);
            h->sensor(FW_SENSOR_TEMPERATURE, 2000 + 100 * i);
        }
    }
    compliant.command(R"({"id":2,"op":"network","up":true})");
    // THEN neither asked its host for storage: the ring costs RAM only where it is used
    EXPECT_EQ(online.saf_ring_calls, 0);
    EXPECT_EQ(compliant.saf_ring_calls, 0);
    EXPECT_FALSE(online.to("vendor-cloud").empty());
}

TEST(FwStoreAndForward, GivenAHostWithoutARingWhenSamplesAreTakenOfflineThenTheyAreDroppedWithAWarning) {
    // GIVEN a store_and_forward device whose host gives it no buffer
    Harness h(FW_KIND_THERMOSTAT, FW_PROFILE_STORE_AND_FORWARD);
    h.give_saf_ring = false;
    h.boot();
    h.allow(kVendor, FW_CATS_ALL);
    h.command(R"({"id":1,"op":"network","up":false})");
    // WHEN a sample is taken during the outage and the network returns
    h.run_until(kMin);
    h.sensor(FW_SENSOR_TEMPERATURE, 2100);
    h.run_until(2 * kMin);
    h.command(R"({"id":2,"op":"network","up":true})");
    // THEN the log says the sample was dropped, and only the current state is sent (sampled now)
    bool warned = false;
    for (const auto& l : h.logs) warned |= l.find("store_and_forward: the host gave no buffer") != std::string::npos;
    EXPECT_TRUE(warned);
    ASSERT_FALSE(h.to("vendor-cloud").empty());
    for (const auto& u : h.to("vendor-cloud")) EXPECT_EQ(u.json.at("sampled_at"), wall_at(2 * kMin));
}

// ---- scope_creep ----------------------------------------------------------------------

TEST(FwScopeCreep, GivenTemperatureOnlyConsentWhenTemperatureIsReportedThenOccupancyRidesAlong) {
    for (fw_profile p : {FW_PROFILE_SCOPE_CREEP, FW_PROFILE_COMPLIANT}) {
        Harness h(FW_KIND_THERMOSTAT, p);
        h.boot();
        h.allow(kVendor, FW_CAT_BIT(FW_CAT_TEMPERATURE));
        h.run_until(10 * kS);
        h.command(R"({"id":1,"op":"interact","via":"physical","action":"set_mode","value":"eco"})");
        h.run_until(50 * kS);  // past the 30 s report interval
        h.sensor(FW_SENSOR_TEMPERATURE, 2100);
        h.command(R"({"id":2,"op":"interact","via":"voice","recipient":"voice-partner","action":"query"})");
        const auto v = h.to("vendor-cloud");
        const auto a = h.to("voice-partner");
        ASSERT_EQ(v.size(), 1u);
        ASSERT_EQ(a.size(), 1u);
        if (p == FW_PROFILE_SCOPE_CREEP) {
            EXPECT_EQ(categories_in(v[0]), (std::vector<std::string>{"occupancy", "temperature"}));
            EXPECT_EQ(v[0].json.at("state").at("occupancy"), false) << "eco mode reads as away";
            EXPECT_TRUE(has(categories_in(a[0]), "occupancy"));
        } else {
            EXPECT_EQ(categories_in(v[0]), (std::vector<std::string>{"temperature"}));
            EXPECT_FALSE(has(categories_in(a[0]), "occupancy"));
        }
    }
}

// ---- keepalive_leak -------------------------------------------------------------------

TEST(FwKeepaliveLeak, GivenNoConsentWhenLockStateChangesThenAStateFreeKeepaliveFollowsWithinThreeSeconds) {
    for (fw_profile p : {FW_PROFILE_KEEPALIVE_LEAK, FW_PROFILE_COMPLIANT}) {
        Harness h(FW_KIND_LOCK, p);
        h.id = "lock-front";
        h.cfg.auto_relock_ms = 0;
        h.boot();
        h.run_until(10 * kS);
        h.sensor(FW_SENSOR_KEYPAD, 0);  // unlocked at 12 s
        h.run_until(100 * kS);
        h.sensor(FW_SENSOR_DOOR, 0);
        h.run_until(200 * kS);
        if (p == FW_PROFILE_COMPLIANT) {
            EXPECT_TRUE(h.uplinks.empty());
            continue;
        }
        ASSERT_EQ(h.uplinks.size(), 8u);  // two changes x four linked partners
        for (std::size_t i = 0; i < h.uplinks.size(); ++i) {
            const auto& u = h.uplinks[i];
            const std::uint64_t change_at = i < 4 ? 12 * kS : 100 * kS;
            EXPECT_GE(u.t, change_at + 1 * kS);
            EXPECT_LE(u.t, change_at + 3 * kS);
            EXPECT_EQ(u.format, "json");
            EXPECT_EQ(u.body, std::string(R"({"type":"keepalive","seq":)") + (i < 4 ? "0" : "1") + "}");
            EXPECT_TRUE(categories_in(u).empty());
        }
    }
}

// ---- cause_lie ------------------------------------------------------------------------

TEST(FwCauseLie, GivenNoInteractionWhenTemperatureIsReportedThenTheCauseClaimsVoiceInteraction) {
    for (fw_profile p : {FW_PROFILE_CAUSE_LIE, FW_PROFILE_PROACTIVE}) {
        Harness h(FW_KIND_THERMOSTAT, p);
        h.boot();
        h.run_until(10 * kS);
        h.sensor(FW_SENSOR_TEMPERATURE, 2100);
        const auto a = h.to("voice-partner");
        const auto j = h.to("vendor-cloud");
        ASSERT_EQ(a.size(), 1u);
        ASSERT_EQ(j.size(), 1u);
        const char* want = p == FW_PROFILE_CAUSE_LIE ? "VOICE_INTERACTION" : "PERIODIC_POLL";
        EXPECT_EQ(cause_of(a[0]), want);
        EXPECT_EQ(cause_of(j[0]), want);
    }
}

TEST(FwProfiles, GivenProfileCommandWhenAppliedThenTheDeviceReportsTheNewProfile) {
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    for (int p = 0; p < FW_PROFILE_COUNT; ++p) {
        const std::string name = fw_profile_name(static_cast<fw_profile>(p));
        h.command(R"({"id":1,"op":"profile","name":")" + name + "\"}");
        EXPECT_EQ(fw_get_profile(&h.dev), p) << name;
    }
}

TEST(FwCompliant, GivenVoiceUnlockWhenTheMotorFinishesThenTheVoicePartnerGetsTheNewLockStateWithVoiceCause) {
    Harness h(FW_KIND_LOCK);
    h.id = "lock-front";
    h.cfg.auto_relock_ms = 0;
    h.boot();
    h.run_until(10 * kS);
    h.command(R"({"id":1,"op":"interact","via":"voice","recipient":"voice-partner","action":"unlock"})");
    EXPECT_TRUE(h.uplinks.empty()) << "nothing before the bolt has moved";
    h.run_until(20 * kS);
    const auto v = h.to("voice-partner");
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].t, 12 * kS);
    EXPECT_EQ(cause_of(v[0]), "VOICE_INTERACTION");
    EXPECT_EQ(v[0].json.at("event").at("payload").at("change").at("properties").at(0).at("value"),
              "UNLOCKED");
    EXPECT_EQ(categories_in(v[0]), (std::vector<std::string>{"lock_state"}));
    EXPECT_EQ(h.uplinks.size(), 1u) << "no other partner had a basis";
}

TEST(FwScopeCreep, GivenLockStateOnlyConsentWhenLockStateIsReportedThenTheDoorContactRidesAlong) {
    for (fw_profile p : {FW_PROFILE_SCOPE_CREEP, FW_PROFILE_COMPLIANT}) {
        Harness h(FW_KIND_LOCK, p);
        h.cfg.auto_relock_ms = 0;
        h.boot();
        h.allow(kGoogle, FW_CAT_BIT(FW_CAT_LOCK_STATE));
        h.sensor(FW_SENSOR_THUMB_TURN, 0);
        const auto g = h.to("google-partner");
        ASSERT_EQ(g.size(), 1u);
        EXPECT_EQ(has(categories_in(g[0]), "door_state"), p == FW_PROFILE_SCOPE_CREEP)
            << fw_profile_name(p) << ": " << g[0].body;
        EXPECT_TRUE(has(categories_in(g[0]), "lock_state"));
    }
}

TEST(FwCompliant, GivenVoiceQueryAtTenSecondsWhenChangesComeNearTheWindowEndThenTheWindowNeverOutlastsW) {
    // W = 120 s: the policy covers [10 s, 130 s). The device ends its window early (guard
    // 500 ms, whole seconds) so latency between the rig and the board cannot stretch it.
    for (std::uint64_t at : {128900ULL, 129200ULL}) {
        Harness h(FW_KIND_THERMOSTAT);
        h.boot();
        h.run_until(10 * kS);
        h.command(R"({"id":1,"op":"interact","via":"voice","recipient":"voice-partner","action":"query"})");
        h.run_until(at);
        h.sensor(FW_SENSOR_TEMPERATURE, 2100);
        EXPECT_EQ(h.to("voice-partner").size(), at < 129 * kS ? 2u : 1u) << at;
    }
}

TEST(FwCompliant, GivenVoiceSetpointWhenOtherPartnersAlsoGetTheChangeThenOnlyTheVoicePartnerIsToldItWasVoice) {
    Harness h(FW_KIND_THERMOSTAT);
    h.boot();
    h.allow(kVendor, FW_CATS_ALL);
    h.allow(kMatter, FW_CATS_ALL);
    h.run_until(50 * kS);
    h.command(R"({"id":1,"op":"interact","via":"voice","recipient":"voice-partner","action":"set_setpoint","value":22})");
    ASSERT_EQ(h.to("voice-partner").size(), 1u);
    ASSERT_EQ(h.to("vendor-cloud").size(), 1u);
    EXPECT_EQ(cause_of(h.to("voice-partner")[0]), "VOICE_INTERACTION");
    EXPECT_EQ(cause_of(h.to("vendor-cloud")[0]), "PERIODIC_POLL")
        << "no voice interaction went through vendor-cloud";
    EXPECT_EQ(h.to("matter-ctrl").size(), 1u);
}

TEST(FwCompliant, GivenAppUnlockViaGoogleWhenTheMotorFinishesThenOnlyGoogleIsToldItWasTheApp) {
    Harness h(FW_KIND_LOCK);
    h.id = "lock-front";
    h.cfg.auto_relock_ms = 0;
    h.boot();
    h.allow(kVendor, FW_CATS_ALL);
    h.command(R"({"id":1,"op":"interact","via":"app","recipient":"google-partner","action":"unlock"})");
    h.run_until(5 * kS);
    ASSERT_EQ(h.to("vendor-cloud").size(), 1u);
    EXPECT_EQ(cause_of(h.to("vendor-cloud")[0]), "PERIODIC_POLL");
    const auto g = h.to("google-partner");
    ASSERT_EQ(g.size(), 1u);  // google has no cause field; the report itself must arrive
    EXPECT_EQ(g[0].json.at("payload").at("devices").at("states").at("lock-front").at("isLocked"), false);
}

TEST(FwLock, GivenOpenDoorWhenAskedToLockThenTheLockRefusesAndTheMotorStaysStill) {
    Harness h(FW_KIND_LOCK);
    h.cfg.auto_relock_ms = 0;
    h.boot();
    h.sensor(FW_SENSOR_THUMB_TURN, 0);
    h.sensor(FW_SENSOR_DOOR, 0);
    EXPECT_STREQ(h.command_result(R"({"id":1,"op":"interact","via":"app","recipient":"google-partner","action":"lock"})"),
                 "cannot lock: the door is open");
    EXPECT_STREQ(fw_on_sensor(&h.dev, h.now, FW_SENSOR_KEYPAD, 1), "cannot lock: the door is open");
    EXPECT_TRUE(h.actuations_of(FW_ACT_LOCK_MOTOR).empty());
    h.sensor(FW_SENSOR_DOOR, 1);
    h.sensor(FW_SENSOR_KEYPAD, 1);
    EXPECT_TRUE(fw_motor_running(&h.dev));
}
