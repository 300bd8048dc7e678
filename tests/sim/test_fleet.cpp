// The fleet runner end to end in-process: real firmware, real plant models, real oracle.
#include "sim/fleet.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "core/oracle.hpp"

using namespace consentrig;
using ::testing::HasSubstr;

namespace {

class Collect final : public sim::RecordSink {
public:
    core::Status write(const core::Record& r) override {
        records.push_back(r);
        return {};
    }
    std::vector<core::Record> records;
};

core::Scenario scenario(const std::string& yaml) {
    auto s = core::parse_scenario(yaml, "test.yaml");
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return s.ok() ? std::move(*s) : core::Scenario{};
}

std::vector<core::Finding> judge(const core::Scenario& s, const std::vector<core::Record>& records) {
    auto taxonomy = core::Taxonomy::builtin();
    core::Oracle oracle(s.policy, *taxonomy);
    oracle.begin(sim::fleet_meta(s));
    for (const auto& r : records) EXPECT_TRUE(oracle.feed(r).ok());
    return oracle.finish(s.end());
}

const std::string kHome = R"(
name: home
seed: 3
start: 2026-01-05T00:00:00Z
duration: 24h
timezone: Europe/Berlin
recipients: {voice-partner: alexa, vendor-cloud: json}
consent:
  - recipient: voice-partner
    categories: [temperature, setpoint, hvac_mode, lock_state]
    basis: interaction
    within: 120s
  - recipient: vendor-cloud
    categories: [all]
    basis: schedule
    windows: ["Mon-Fri 08:00-20:00"]
customers:
  - {devices: "*", via: voice, recipient: voice-partner, action: query, rate: 8/day, hours: "07:00-23:00"}
)";

std::string with_devices(const std::string& devices) { return kHome + devices; }

}  // namespace

TEST(Fleet, GivenCompliantHome_WhenSimulatedForADay_ThenMessagesFlowAndTheOracleFindsNothing) {
    const auto s = scenario(with_devices(R"(
devices:
  - {id: thermo-1, kind: thermostat, profile: compliant}
  - {id: lock-front, kind: lock, profile: compliant}
)"));
    Collect sink;
    auto stats = sim::run_fleet(s, sink);
    ASSERT_TRUE(stats.ok()) << stats.error().message;
    EXPECT_EQ(stats->devices, 2u);
    EXPECT_GT(stats->messages, 20u);  // voice answers and office-hours reports did go out
    const auto findings = judge(s, sink.records);
    EXPECT_TRUE(findings.empty()) << core::findings_to_json(findings).dump(1).substr(0, 2000);
}

TEST(Fleet, GivenProactiveThermostat_WhenSimulated_ThenOutOfWindowToTheVoicePartner) {
    const auto s = scenario(with_devices("devices:\n  - {id: thermo-1, kind: thermostat, profile: proactive}\n"));
    Collect sink;
    ASSERT_TRUE(sim::run_fleet(s, sink).ok());
    const auto findings = judge(s, sink.records);
    const auto n = std::count_if(findings.begin(), findings.end(), [](const core::Finding& f) {
        return f.type == core::FindingType::out_of_window && f.recipient == "voice-partner" &&
               f.category == core::Category::temperature;
    });
    EXPECT_GT(n, 10);
}

TEST(Fleet, GivenHeatedHouse_WhenSimulated_ThenTruthShowsTheClosedLoopAroundTheSetpoint) {
    const auto s = scenario(with_devices(
        "devices:\n  - {id: thermo-1, kind: thermostat, profile: compliant, params: {setpoint_c: 21, initial_c: 17}}\n"));
    Collect sink;
    ASSERT_TRUE(sim::run_fleet(s, sink).ok());
    int heating_on = 0;
    double min_after_warmup = 100, max_after_warmup = -100;
    for (const auto& r : sink.records) {
        if (r.kind != core::RecordKind::truth) continue;
        const auto state = nlohmann::json::parse(r.payload);
        if (state.value("hvac_state", "") == "heating") ++heating_on;
        if (state.contains("temperature") && r.t > s.start + 6 * core::kMsPerHour) {
            min_after_warmup = std::min(min_after_warmup, state["temperature"].get<double>());
            max_after_warmup = std::max(max_after_warmup, state["temperature"].get<double>());
        }
    }
    EXPECT_GT(heating_on, 3);                      // the heating cycled
    EXPECT_NEAR(min_after_warmup, 20.5, 0.6);      // °C: switched on near setpoint − hysteresis
    EXPECT_NEAR(max_after_warmup, 21.5, 0.6);      // °C: switched off near setpoint + hysteresis
}

TEST(Fleet, GivenSameSeed_WhenRunTwice_ThenRecordsIdentical_AndAnotherSeedDiffers) {
    const auto s = scenario(with_devices(R"(
fleets:
  - {prefix: home, count: 20, kind: thermostat, profiles: {compliant: 0.5, proactive: 0.5}, params: {time_constant: {uniform: [15h, 55h]}}}
)"));
    Collect a, b, c;
    ASSERT_TRUE(sim::run_fleet(s, a).ok());
    ASSERT_TRUE(sim::run_fleet(s, b).ok());
    sim::FleetOptions other;
    other.seed = 99;
    ASSERT_TRUE(sim::run_fleet(s, c, other).ok());
    EXPECT_EQ(a.records, b.records);
    EXPECT_NE(a.records, c.records);
}

TEST(Fleet, GivenThreeShards_WhenJoined_ThenEachDeviceHasExactlyTheRecordsOfTheWholeRun) {
    const auto s = scenario(with_devices(R"(
fleets:
  - {prefix: home, count: 12, kind: thermostat, profiles: {compliant: 0.5, keepalive_leak: 0.5}}
  - {prefix: door, count: 7, kind: lock, profiles: {compliant: 0.5, keepalive_leak: 0.5}}
)"));
    auto by_device = [](const std::vector<core::Record>& records) {
        std::map<std::string, std::vector<core::Record>> out;
        for (const auto& r : records) out[r.device].push_back(r);
        return out;
    };
    Collect whole;
    ASSERT_TRUE(sim::run_fleet(s, whole).ok());
    std::map<std::string, std::vector<core::Record>> joined;
    for (std::uint32_t i = 0; i < 3; ++i) {
        Collect part;
        sim::FleetOptions o;
        o.shard = {i, 3};
        ASSERT_TRUE(sim::run_fleet(s, part, o).ok());
        for (auto& [device, records] : by_device(part.records)) {
            if (device == "*") continue;  // shared lines are written by every shard
            joined[device] = records;
        }
    }
    auto expected = by_device(whole.records);
    expected.erase("*");
    EXPECT_EQ(joined.size(), 19u);
    EXPECT_EQ(joined, expected);
}

TEST(Fleet, GivenDisconnectFault_WhenSimulated_ThenAGapIsRecordedAndNothingIsCapturedInside) {
    const auto s = scenario(with_devices(R"(
devices:
  - {id: thermo-1, kind: thermostat, profile: proactive}
timeline:
  - {at: 10h, fault: {device: thermo-1, kind: disconnect, duration: 2h}}
)"));
    Collect sink;
    ASSERT_TRUE(sim::run_fleet(s, sink).ok());
    const core::TimeMs from = s.start + 10 * core::kMsPerHour, to = s.start + 12 * core::kMsPerHour;
    int gaps = 0, inside = 0, after = 0;
    for (const auto& r : sink.records) {
        if (r.kind == core::RecordKind::gap) {
            ++gaps;
            EXPECT_EQ(r.t, from);
            EXPECT_EQ(r.t_end, to);
        } else if (r.t >= from && r.t < to && r.kind != core::RecordKind::interaction) {
            ++inside;  // the customer still talks to the assistant; the device's output is lost
        } else if (r.kind == core::RecordKind::egress && r.t >= to) {
            ++after;
        }
    }
    EXPECT_EQ(gaps, 1);
    EXPECT_EQ(inside, 0);
    EXPECT_GT(after, 0);  // capture resumes
}

TEST(Fleet, GivenNetworkOutage_WhenCompliantThermostatRuns_ThenNothingIsSentDuringIt) {
    const auto s = scenario(with_devices(R"(
devices:
  - {id: thermo-1, kind: thermostat, profile: compliant}
network:
  outages: [{at: 9h, duration: 3h}]
)"));
    Collect sink;
    ASSERT_TRUE(sim::run_fleet(s, sink).ok());
    const core::TimeMs from = s.start + 9 * core::kMsPerHour, to = s.start + 12 * core::kMsPerHour;
    int during = 0, office_hours = 0;
    for (const auto& r : sink.records) {
        if (r.kind != core::RecordKind::egress) continue;
        if (r.t >= from && r.t < to) ++during;
        if (r.t >= to && r.t < s.start + 19 * core::kMsPerHour) ++office_hours;
    }
    EXPECT_EQ(during, 0);
    EXPECT_GT(office_hours, 0);
}

TEST(Fleet, GivenUnknownParameter_WhenRun_ThenErrorNamesFileLineAndTheKnownNames) {
    const auto s = scenario(with_devices("devices:\n  - {id: t, kind: thermostat, params: {setpiont_c: 21}}\n"));
    Collect sink;
    auto r = sim::run_fleet(s, sink);
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.error().message, HasSubstr("test.yaml:"));
    EXPECT_THAT(r.error().message, HasSubstr("setpiont_c"));
    EXPECT_THAT(r.error().message, HasSubstr("setpoint_c"));
}
