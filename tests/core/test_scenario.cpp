#include "core/scenario.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>

using namespace consentrig::core;
using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace {

constexpr std::string_view kFile = "scenario.yaml";
constexpr TimeMs kStart = 1'767'571'200'000;  // 2026-01-05T00:00:00Z, a Monday

/// Every section of the schema, with values that are easy to check.
constexpr std::string_view kFull = R"(name: proactive-state
description: "Voice partner asks for proactive state"
seed: 42
start: 2026-01-05T00:00:00Z
duration: 24h
timezone: Europe/Berlin
consent:
  - recipient: voice-partner
    devices: [thermo-1, lock-front]
    categories: [temperature, setpoint]
    basis: interaction
    within: 120s
  - recipient: vendor-cloud
    categories: [all]
    basis: always
recipients:
  voice-partner: alexa
  vendor-cloud: json
devices:
  - id: thermo-1
    kind: thermostat
    profile: proactive
    linked: [voice-partner]
    params: {setpoint_c: 21.5, time_constant: 30h}
  - id: lock-front
    kind: lock
fleets:
  - prefix: home
    count: 1000
    kind: thermostat
    profiles: {proactive: 1, compliant: 3}
    params: {time_constant: {uniform: [15h, 55h]}, setpoint_c: {normal: [21, 1]}}
  - prefix: door
    count: 5
    kind: lock
    profile: keepalive_leak
    linked: []
parameters:
  thermostat: {hysteresis_c: 0.5, report_interval: 15m, min_off_s: 300, time_constant: 20h}
  lock: {battery_pct: {constant: 87}}
network:
  latency: {median: 80ms, jitter: 30ms}
  loss: 0.01
  retries: 4
  backoff: 1500ms
  outages:
    - {at: 4h, duration: 20m, devices: "*"}
    - {at: 2026-01-05T10:00:00Z, duration: 1h30m, devices: [home, lock-front]}
customers:
  - devices: "*"
    via: voice
    recipient: voice-partner
    action: query
    rate: 4/day
    hours: "07:00-23:00"
  - devices: [home-0042]
    via: app
    recipient: vendor-cloud
    action: set_setpoint
    value: {normal: [21, 1]}
    rate: 1/30m
  - devices: lock-front
    via: physical
    action: unlock
    rate: 2/day
timeline:
  - {at: 9h, profile: {device: thermo-1, name: compliant}}
  - {at: 2h, interact: {device: thermo-1, via: voice, recipient: voice-partner, action: set_mode, value: heat}}
  - {at: 2h30m, consent: {device: thermo-1, recipient: voice-partner, categories: [temperature], granted: false}}
  - {at: 5h, link: {device: "*", recipient: voice-partner, linked: false}}
  - {at: 2h, network: {device: thermo-1, up: false}}
  - {at: 7h, env: {device: lock-front, outdoor_c: -5, occupied: true, door: open}}
  - {at: 8h, fault: {device: thermo-1, kind: drift, duration: 1h, rate_c_per_h: 0.5}}
  - {at: 2026-01-05T08:30:00Z, fault: {device: home, kind: stuck}}
  - {at: 7200, consent: {device: home-0001, recipient: vendor-cloud, categories: [all], granted: true}}
expect:
  allow_other: true
  findings:
    - {type: out_of_window, device: thermo-1, recipient: voice-partner, category: temperature, count: 3}
    - {type: side_channel, device: door, min: 1}
    - {type: after_revocation, max: 2}
)";

/// Lines 1–10; sections appended by the tests start on line 11.
constexpr std::string_view kMinimal = R"(name: mini
start: 2026-01-05T00:00:00Z
duration: 24h
consent: []
recipients: {voice-partner: alexa, vendor-cloud: json}
devices:
  - id: thermo-1
    kind: thermostat
  - id: lock-front
    kind: lock
)";

Scenario load(std::string_view yaml) {
    auto scenario = parse_scenario(yaml, kFile);
    EXPECT_TRUE(scenario.ok()) << (scenario.ok() ? "" : scenario.error().message);
    return scenario.ok() ? std::move(scenario).value() : Scenario{};
}

std::string error_of(std::string_view yaml) {
    auto scenario = parse_scenario(yaml, kFile);
    return scenario.ok() ? std::string("<loaded without error>") : scenario.error().message;
}

std::string minimal_with(std::string_view extra) { return std::string(kMinimal) + std::string(extra); }

/// The full scenario with one line replaced (the line must occur exactly as given).
std::string full_with(std::string_view from, std::string_view to) {
    std::string text(kFull);
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << "test bug: " << from << " not in kFull";
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
}

using Heads = std::vector<FindingHead>;

FindingHead finding(FindingType type, std::string device, std::string recipient, std::optional<Category> category,
                    TimeMs t = kStart) {
    FindingHead f;
    f.type = type;
    f.device = std::move(device);
    f.recipient = std::move(recipient);
    f.category = category;
    f.t = t;
    return f;
}

}  // namespace

// =============================================================================================
// A full scenario
// =============================================================================================

TEST(ScenarioFull, GivenEverySectionWhenLoadedThenTopLevelValuesAreExact) {
    const Scenario s = load(kFull);
    EXPECT_EQ(s.name, "proactive-state");
    EXPECT_EQ(s.description, "Voice partner asks for proactive state");
    EXPECT_EQ(s.file, "scenario.yaml");
    EXPECT_EQ(s.seed, 42U);
    EXPECT_EQ(s.start, kStart);
    EXPECT_EQ(s.duration_ms, 24 * kMsPerHour);
    EXPECT_EQ(s.end(), kStart + 24 * kMsPerHour);
    EXPECT_EQ(s.timezone, "Europe/Berlin");
    EXPECT_EQ(s.sha256, sha256_hex(kFull));
    EXPECT_EQ(device_count(s), 2U + 1000U + 5U);
}

TEST(ScenarioFull, GivenConsentSectionWhenLoadedThenThePolicyLoaderReadIt) {
    const Scenario s = load(kFull);
    ASSERT_EQ(s.policy.grants().size(), 2U);
    EXPECT_EQ(s.policy.timezone_name(), "Europe/Berlin");
    EXPECT_EQ(s.policy.source(), "scenario.yaml");
    const Grant& g = s.policy.grants()[0];
    EXPECT_EQ(g.recipient, "voice-partner");
    EXPECT_EQ(g.basis, Basis::interaction);
    EXPECT_EQ(g.within_ms, 120 * kMsPerSecond);
    EXPECT_THAT(g.devices, ElementsAre("thermo-1", "lock-front"));
    EXPECT_EQ(s.policy.grants()[1].categories, all_categories());
}

TEST(ScenarioFull, GivenRecipientsAndDevicesWhenLoadedThenFormatsKindsProfilesAndLinksAreExact) {
    const Scenario s = load(kFull);
    ASSERT_EQ(s.recipients.size(), 2U);
    EXPECT_EQ(s.recipients.at("voice-partner"), WireFormat::alexa);
    EXPECT_EQ(s.recipients.at("vendor-cloud"), WireFormat::json);

    ASSERT_EQ(s.devices.size(), 2U);
    const DeviceSpec& thermo = s.devices[0];
    EXPECT_EQ(thermo.id, "thermo-1");
    EXPECT_EQ(thermo.kind, DeviceKind::thermostat);
    EXPECT_EQ(thermo.profile, Profile::proactive);
    EXPECT_THAT(thermo.linked, ElementsAre("voice-partner"));
    EXPECT_EQ(thermo.where.line, 20);
    EXPECT_EQ(thermo.where.column, 5);
    ASSERT_EQ(thermo.params.size(), 2U);
    EXPECT_EQ(thermo.params.at("setpoint_c").value, Distribution::constant(21.5));
    EXPECT_EQ(thermo.params.at("setpoint_c").unit, ParamUnit::number);
    EXPECT_EQ(thermo.params.at("time_constant").value, Distribution::constant(30.0 * kMsPerHour));
    EXPECT_EQ(thermo.params.at("time_constant").unit, ParamUnit::duration_ms);
    EXPECT_EQ(to_string(thermo.params.at("time_constant").where), "scenario.yaml:24:32");

    const DeviceSpec& lock = s.devices[1];
    EXPECT_EQ(lock.kind, DeviceKind::lock);
    EXPECT_EQ(lock.profile, Profile::compliant);
    EXPECT_THAT(lock.linked, ElementsAre("vendor-cloud", "voice-partner"));  // default: all, by name
    EXPECT_TRUE(lock.params.empty());
}

TEST(ScenarioFull, GivenFleetsWhenLoadedThenCountsWeightsAndDistributionsAreExact) {
    const Scenario s = load(kFull);
    ASSERT_EQ(s.fleets.size(), 2U);
    const FleetSpec& home = s.fleets[0];
    EXPECT_EQ(home.prefix, "home");
    EXPECT_EQ(home.count, 1000U);
    EXPECT_EQ(home.kind, DeviceKind::thermostat);
    // Normalised and in Profile order, whatever the order in the file.
    ASSERT_EQ(home.profiles.size(), 2U);
    EXPECT_EQ(home.profiles[0].profile, Profile::compliant);
    EXPECT_DOUBLE_EQ(home.profiles[0].weight, 0.75);
    EXPECT_EQ(home.profiles[1].profile, Profile::proactive);
    EXPECT_DOUBLE_EQ(home.profiles[1].weight, 0.25);
    EXPECT_EQ(home.pick_profile(0.0), Profile::compliant);
    EXPECT_EQ(home.pick_profile(0.7499), Profile::compliant);
    EXPECT_EQ(home.pick_profile(0.75), Profile::proactive);
    EXPECT_EQ(home.pick_profile(0.9999999), Profile::proactive);
    EXPECT_THAT(home.linked, ElementsAre("vendor-cloud", "voice-partner"));
    EXPECT_EQ(home.params.at("time_constant").value,
              (Distribution{Distribution::Kind::uniform, 15.0 * kMsPerHour, 55.0 * kMsPerHour}));
    EXPECT_EQ(home.params.at("time_constant").unit, ParamUnit::duration_ms);
    EXPECT_EQ(home.params.at("setpoint_c").value, (Distribution{Distribution::Kind::normal, 21.0, 1.0}));
    EXPECT_EQ(home.params.at("setpoint_c").unit, ParamUnit::number);

    const FleetSpec& door = s.fleets[1];
    EXPECT_EQ(door.kind, DeviceKind::lock);
    ASSERT_EQ(door.profiles.size(), 1U);
    EXPECT_EQ(door.profiles[0].profile, Profile::keepalive_leak);
    EXPECT_DOUBLE_EQ(door.profiles[0].weight, 1.0);
    EXPECT_TRUE(door.linked.empty());
}

TEST(ScenarioFull, GivenKindDefaultsWhenMergedWithDeviceParamsThenTheDeviceWins) {
    const Scenario s = load(kFull);
    const ParamTable& thermostat = s.defaults(DeviceKind::thermostat);
    ASSERT_EQ(thermostat.size(), 4U);
    EXPECT_EQ(thermostat.at("hysteresis_c").value, Distribution::constant(0.5));
    EXPECT_EQ(thermostat.at("report_interval").value, Distribution::constant(15.0 * kMsPerMinute));
    EXPECT_EQ(thermostat.at("report_interval").unit, ParamUnit::duration_ms);
    EXPECT_EQ(thermostat.at("min_off_s").value, Distribution::constant(300));
    EXPECT_EQ(thermostat.at("min_off_s").unit, ParamUnit::number);
    EXPECT_EQ(s.defaults(DeviceKind::lock).at("battery_pct").value, Distribution::constant(87));

    const ParamTable merged = s.params_for(s.devices[0]);
    EXPECT_EQ(merged.size(), 5U);
    EXPECT_EQ(merged.at("time_constant").value, Distribution::constant(30.0 * kMsPerHour));  // device over kind
    EXPECT_EQ(merged.at("hysteresis_c").value, Distribution::constant(0.5));
    EXPECT_EQ(s.params_for(s.fleets[0]).at("time_constant").value.kind, Distribution::Kind::uniform);
}

TEST(ScenarioFull, GivenNetworkWhenLoadedThenLatencyLossRetriesAndOutagesAreExact) {
    const Scenario s = load(kFull);
    const NetworkSpec& n = s.network;
    EXPECT_EQ(n.latency.median_ms, 80);
    EXPECT_EQ(n.latency.jitter_ms, 30);
    EXPECT_DOUBLE_EQ(n.latency.sigma(), std::log(110.0 / 80.0));
    EXPECT_DOUBLE_EQ(n.loss, 0.01);
    EXPECT_EQ(n.retries, 4U);
    EXPECT_EQ(n.backoff_ms, 1500);
    ASSERT_EQ(n.outages.size(), 2U);
    EXPECT_EQ(n.outages[0].at_ms, 4 * kMsPerHour);
    EXPECT_EQ(n.outages[0].duration_ms, 20 * kMsPerMinute);
    EXPECT_TRUE(n.outages[0].devices.all());
    EXPECT_EQ(n.outages[1].at_ms, 10 * kMsPerHour);  // RFC 3339 → offset from start
    EXPECT_EQ(n.outages[1].duration_ms, 90 * kMsPerMinute);
    const DeviceSelector& sel = n.outages[1].devices;
    EXPECT_FALSE(sel.all());
    EXPECT_EQ(sel.text(), "[home, lock-front]");
    EXPECT_TRUE(sel.selects_device(1));
    EXPECT_FALSE(sel.selects_device(0));
    EXPECT_TRUE(sel.selects_fleet_member(0, 777));
    EXPECT_FALSE(sel.selects_fleet_member(1, 1));
    EXPECT_TRUE(s.selects(sel, "home-0777"));
    EXPECT_TRUE(s.selects(sel, "lock-front"));
    EXPECT_FALSE(s.selects(sel, "thermo-1"));
    EXPECT_FALSE(s.selects(sel, "home-777"));  // not zero-padded: not a member
}

TEST(ScenarioFull, GivenCustomersWhenLoadedThenInteractionsRatesAndHoursAreExact) {
    const Scenario s = load(kFull);
    ASSERT_EQ(s.customers.size(), 3U);
    const CustomerSpec& voice = s.customers[0];
    EXPECT_TRUE(voice.devices.all());
    EXPECT_EQ(voice.interaction.via, Via::voice);
    EXPECT_EQ(voice.interaction.recipient, "voice-partner");
    EXPECT_EQ(voice.interaction.action, Action::query);
    EXPECT_DOUBLE_EQ(voice.rate_per_day, 4.0);
    ASSERT_EQ(voice.hours.size(), 1U);
    EXPECT_EQ(voice.hours[0].start_minute, 7 * 60);
    EXPECT_EQ(voice.hours[0].end_minute, 23 * 60);
    // Europe/Berlin is UTC+1 in January: 06:00Z is 07:00 local (inside), 22:00Z is 23:00 (outside).
    EXPECT_FALSE(voice.in_hours(s.policy, kStart + 5 * kMsPerHour + 59 * kMsPerMinute));
    EXPECT_TRUE(voice.in_hours(s.policy, kStart + 6 * kMsPerHour));
    EXPECT_TRUE(voice.in_hours(s.policy, kStart + 21 * kMsPerHour + 59 * kMsPerMinute));
    EXPECT_FALSE(voice.in_hours(s.policy, kStart + 22 * kMsPerHour));

    const CustomerSpec& app = s.customers[1];
    ASSERT_EQ(app.devices.refs.size(), 1U);
    EXPECT_EQ(app.devices.refs[0].kind, DeviceRef::Kind::fleet_member);
    EXPECT_EQ(app.devices.refs[0].member, 42U);
    EXPECT_EQ(app.interaction.action, Action::set_setpoint);
    ASSERT_TRUE(app.interaction.setpoint_c.has_value());
    EXPECT_EQ(*app.interaction.setpoint_c, (Distribution{Distribution::Kind::normal, 21.0, 1.0}));
    EXPECT_DOUBLE_EQ(app.rate_per_day, 48.0);  // 1/30m
    EXPECT_TRUE(app.hours.empty());
    EXPECT_TRUE(app.in_hours(s.policy, kStart));

    const CustomerSpec& hand = s.customers[2];
    EXPECT_EQ(hand.interaction.via, Via::physical);
    EXPECT_TRUE(hand.interaction.recipient.empty());
    EXPECT_EQ(hand.interaction.action, Action::unlock);
    EXPECT_EQ(hand.devices.text(), "lock-front");
}

TEST(ScenarioFull, GivenTimelineOutOfOrderWhenLoadedThenItIsSortedStablyWithExactPayloads) {
    const Scenario s = load(kFull);
    ASSERT_EQ(s.timeline.size(), 9U);
    std::vector<std::pair<DurationMs, std::string_view>> order;
    for (const auto& ev : s.timeline) order.emplace_back(ev.at_ms, ev.kind_name());
    const DurationMs h = kMsPerHour;
    EXPECT_THAT(order, ElementsAre(std::pair{2 * h, std::string_view("interact")},  // file order among 2h
                                   std::pair{2 * h, std::string_view("network")},
                                   std::pair{2 * h, std::string_view("consent")},  // `at: 7200`
                                   std::pair{2 * h + 30 * kMsPerMinute, std::string_view("consent")},
                                   std::pair{5 * h, std::string_view("link")},
                                   std::pair{7 * h, std::string_view("env")},
                                   std::pair{8 * h, std::string_view("fault")},
                                   std::pair{8 * h + 30 * kMsPerMinute, std::string_view("fault")},
                                   std::pair{9 * h, std::string_view("profile")}));

    const auto& interact = std::get<InteractEvent>(s.timeline[0].action).interaction;
    EXPECT_EQ(interact.via, Via::voice);
    EXPECT_EQ(interact.action, Action::set_mode);
    EXPECT_EQ(interact.mode, "heat");
    EXPECT_EQ(s.timeline[0].devices.text(), "thermo-1");
    EXPECT_EQ(s.timeline[0].where.line, 68);

    EXPECT_FALSE(std::get<NetworkEvent>(s.timeline[1].action).up);

    const auto& regrant = std::get<ConsentEvent>(s.timeline[2].action);
    EXPECT_TRUE(regrant.all_categories);
    EXPECT_TRUE(regrant.granted);
    EXPECT_EQ(s.timeline[2].devices.refs[0].kind, DeviceRef::Kind::fleet_member);

    const auto& withdraw = std::get<ConsentEvent>(s.timeline[3].action);
    EXPECT_EQ(withdraw.recipient, "voice-partner");
    EXPECT_FALSE(withdraw.all_categories);
    EXPECT_EQ(withdraw.categories, CategorySet{}.set(static_cast<std::size_t>(Category::temperature)));
    EXPECT_FALSE(withdraw.granted);

    const auto& unlink = std::get<LinkEvent>(s.timeline[4].action);
    EXPECT_EQ(unlink.recipient, "voice-partner");
    EXPECT_FALSE(unlink.linked);
    EXPECT_TRUE(s.timeline[4].devices.all());

    const auto& env = std::get<EnvEvent>(s.timeline[5].action);
    EXPECT_EQ(env.outdoor_c, -5.0);
    EXPECT_EQ(env.occupied, true);
    EXPECT_EQ(env.door, DoorPosition::open);

    const auto& drift = std::get<FaultEvent>(s.timeline[6].action);
    EXPECT_EQ(drift.kind, FaultKind::drift);
    EXPECT_EQ(drift.duration_ms, kMsPerHour);
    EXPECT_DOUBLE_EQ(drift.rate_c_per_h, 0.5);

    const auto& stuck = std::get<FaultEvent>(s.timeline[7].action);
    EXPECT_EQ(stuck.kind, FaultKind::stuck);
    EXPECT_FALSE(stuck.duration_ms.has_value());
    EXPECT_EQ(s.timeline[7].devices.refs[0].kind, DeviceRef::Kind::fleet);

    EXPECT_EQ(std::get<ProfileEvent>(s.timeline[8].action).profile, Profile::compliant);
}

TEST(ScenarioFull, GivenExpectationsWhenLoadedThenEntriesAndBoundsAreExact) {
    const Scenario s = load(kFull);
    EXPECT_TRUE(s.expect.allow_other);
    ASSERT_EQ(s.expect.findings.size(), 3U);
    const ExpectedFinding& exact = s.expect.findings[0];
    EXPECT_EQ(exact.type, FindingType::out_of_window);
    EXPECT_EQ(exact.device, "thermo-1");
    EXPECT_EQ(exact.fleet_count, 0U);
    EXPECT_EQ(exact.recipient, "voice-partner");
    EXPECT_EQ(exact.category, Category::temperature);
    EXPECT_EQ(exact.min, 3U);
    EXPECT_EQ(exact.max, 3U);
    EXPECT_EQ(exact.describe(), "exactly 3 out_of_window for thermo-1 → voice-partner (temperature)");

    const ExpectedFinding& at_least = s.expect.findings[1];
    EXPECT_EQ(at_least.device, "door");
    EXPECT_EQ(at_least.fleet_count, 5U);
    EXPECT_EQ(at_least.min, 1U);
    EXPECT_FALSE(at_least.max.has_value());
    EXPECT_EQ(at_least.describe(), "at least 1 side_channel for fleet door");

    const ExpectedFinding& at_most = s.expect.findings[2];
    EXPECT_TRUE(at_most.device.empty());
    EXPECT_EQ(at_most.min, 0U);
    EXPECT_EQ(at_most.max, 2U);
    EXPECT_EQ(at_most.describe(), "at most 2 after_revocation");
}

TEST(ScenarioFile, GivenAScenarioFileWhenLoadedThenFileNameAndHashAreThoseOfTheFile) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("consentrig-scenario-" + std::to_string(::getpid()) + ".yaml");
    {
        std::ofstream out(path, std::ios::binary);
        out << kFull;
    }
    auto s = load_scenario(path);
    std::filesystem::remove(path);
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_EQ(s->file, path.string());
    EXPECT_EQ(s->sha256, sha256_hex(kFull));
    EXPECT_EQ(s->policy.source(), path.string());
}

TEST(ScenarioFile, GivenAMissingFileWhenLoadedThenTheErrorNamesIt) {
    auto s = load_scenario("/nonexistent/consentrig/x.yaml");
    ASSERT_FALSE(s.ok());
    EXPECT_THAT(s.error().message, StartsWith("/nonexistent/consentrig/x.yaml: cannot open: "));
}

TEST(ScenarioFile, GivenTheReferenceDocumentWhenItsCompleteExampleIsLoadedThenItLoads) {
    std::ifstream in(std::string(CONSENTRIG_SOURCE_DIR) + "/docs/scenarios.md");
    ASSERT_TRUE(in) << "docs/scenarios.md is missing";
    const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto from = doc.find("```yaml\n");
    ASSERT_NE(from, std::string::npos);
    const auto to = doc.find("```", from + 8);
    ASSERT_NE(to, std::string::npos);
    const Scenario s = load(doc.substr(from + 8, to - from - 8));
    EXPECT_EQ(s.name, "proactive-state");
    EXPECT_EQ(device_count(s), 1002U);
    EXPECT_EQ(s.timeline.size(), 8U);
    EXPECT_EQ(s.expect.findings.size(), 2U);
}

// =============================================================================================
// Defaults
// =============================================================================================

TEST(ScenarioDefaults, GivenOnlyRequiredKeysWhenLoadedThenDocumentedDefaultsApply) {
    const Scenario s = load(kMinimal);
    EXPECT_EQ(s.seed, 1U);
    EXPECT_EQ(s.description, "");
    EXPECT_EQ(s.timezone, "UTC");
    EXPECT_TRUE(s.policy.grants().empty());
    ASSERT_EQ(s.devices.size(), 2U);
    EXPECT_EQ(s.devices[0].profile, Profile::compliant);
    EXPECT_THAT(s.devices[0].linked, ElementsAre("vendor-cloud", "voice-partner"));
    EXPECT_TRUE(s.fleets.empty());
    EXPECT_TRUE(s.defaults(DeviceKind::thermostat).empty());
    EXPECT_EQ(s.network.latency.median_ms, 80);
    EXPECT_EQ(s.network.latency.jitter_ms, 30);
    EXPECT_EQ(s.network.loss, 0.0);
    EXPECT_EQ(s.network.retries, 3U);
    EXPECT_EQ(s.network.backoff_ms, 2000);
    EXPECT_TRUE(s.network.outages.empty());
    EXPECT_TRUE(s.customers.empty());
    EXPECT_TRUE(s.timeline.empty());
    EXPECT_TRUE(s.expect.findings.empty());  // a passing run finds nothing
    EXPECT_FALSE(s.expect.allow_other);
    EXPECT_EQ(device_count(s), 2U);
}

TEST(ScenarioDefaults, GivenAFleetWithoutProfileWhenLoadedThenAllMembersAreCompliantAndIdsArePadded) {
    const Scenario s = load(minimal_with("fleets:\n  - {prefix: flat, count: 12, kind: lock}\n"));
    ASSERT_EQ(s.fleets.size(), 1U);
    const FleetSpec& f = s.fleets[0];
    ASSERT_EQ(f.profiles.size(), 1U);
    EXPECT_EQ(f.profiles[0].profile, Profile::compliant);
    EXPECT_EQ(f.device_id(1), "flat-01");
    EXPECT_EQ(f.device_id(12), "flat-12");
    EXPECT_EQ(f.member_of("flat-07"), 7U);
    EXPECT_FALSE(f.member_of("flat-13").has_value());
    EXPECT_FALSE(f.member_of("flat-00").has_value());
    EXPECT_FALSE(f.member_of("flat-7").has_value());
    EXPECT_EQ(fleet_device_id("home", 1000, 1), "home-0001");
    EXPECT_EQ(fleet_device_id("home", 1000, 1000), "home-1000");
    EXPECT_EQ(fleet_device_id("one", 9, 9), "one-9");
}

TEST(ScenarioDefaults, GivenLatencyAsOneDurationWhenLoadedThenJitterIsZero) {
    const Scenario s = load(minimal_with("network: {latency: 120ms}\n"));
    EXPECT_EQ(s.network.latency.median_ms, 120);
    EXPECT_EQ(s.network.latency.jitter_ms, 0);
    EXPECT_EQ(s.network.latency.sigma(), 0.0);
}

TEST(ScenarioDefaults, GivenExpectWithoutFindingsWhenLoadedThenNoneAreExpected) {
    const Scenario s = load(minimal_with("expect: {allow_other: false}\n"));
    EXPECT_TRUE(s.expect.findings.empty());
    EXPECT_FALSE(s.expect.allow_other);
}

TEST(ScenarioDurations, GivenCombinedFormsWhenParsedThenComponentsAdd) {
    EXPECT_EQ(parse_scenario_duration("2h30m"), 2 * kMsPerHour + 30 * kMsPerMinute);
    EXPECT_EQ(parse_scenario_duration("1d 2h"), kMsPerDay + 2 * kMsPerHour);
    EXPECT_EQ(parse_scenario_duration("1m30s500ms"), 90 * kMsPerSecond + 500);
    EXPECT_EQ(parse_scenario_duration("7200"), 2 * kMsPerHour);
    EXPECT_EQ(parse_scenario_duration("1.5h"), 90 * kMsPerMinute);
    EXPECT_FALSE(parse_scenario_duration("2h30").has_value());
    EXPECT_FALSE(parse_scenario_duration("h").has_value());
    EXPECT_FALSE(parse_scenario_duration("-5m").has_value());
    EXPECT_FALSE(parse_scenario_duration("2x").has_value());
    EXPECT_FALSE(parse_scenario_duration("").has_value());
}

TEST(ScenarioHash, GivenKnownInputsWhenHashedThenTheFipsVectorsCome) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_hex(std::string(55, 'x')), "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072");
    EXPECT_EQ(sha256_hex(std::string(56, 'x')), "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e");
    EXPECT_EQ(sha256_hex(std::string(200, 'a')), "c2a908d98f5df987ade41b5fce213067efbcc21ef2240212a41e54b5e7c28ae5");
}

// =============================================================================================
// Errors
// =============================================================================================

TEST(ScenarioErrors, GivenMalformedYamlWhenLoadedThenTheErrorHasFileLineAndColumn) {
    // yaml-cpp notices the unclosed list where the next line's mapping starts.
    EXPECT_EQ(error_of("name: x\ndevices: [a, b\nstart: 1\n"),
              "scenario.yaml:3:6: malformed YAML: end of sequence flow not found");
    EXPECT_THAT(error_of("name: x\n  bad: indent\n"), StartsWith("scenario.yaml:2:6: malformed YAML: "));
}

TEST(ScenarioErrors, GivenAnEmptyDocumentWhenLoadedThenItSaysWhatIsNeeded) {
    EXPECT_THAT(error_of(""), StartsWith("scenario.yaml:1:1: the document is empty"));
}

TEST(ScenarioErrors, GivenAnUnknownTopLevelKeyWhenLoadedThenItIsNamedWithItsPositionAndTheAllowedKeys) {
    const std::string message = error_of(minimal_with("timline: []\n"));
    EXPECT_THAT(message, StartsWith("scenario.yaml:11:1: unknown key \"timline\""));
    EXPECT_THAT(message, HasSubstr("allowed: name, description, seed, start, duration, timezone, consent"));
    EXPECT_THAT(message, HasSubstr("timeline"));
}

TEST(ScenarioErrors, GivenAnUnknownKeyInADeviceWhenLoadedThenItIsNamedWithItsPosition) {
    const std::string message = error_of(R"(name: mini
start: 2026-01-05T00:00:00Z
duration: 24h
consent: []
recipients: {voice-partner: alexa}
devices:
  - id: thermo-1
    kind: thermostat
    profle: proactive
)");
    EXPECT_EQ(message, "scenario.yaml:9:5: unknown key \"profle\" in a device (allowed: id, kind, profile, linked, params)");
}

TEST(ScenarioErrors, GivenADuplicateKeyWhenLoadedThenBothPlacesAreNamed) {
    EXPECT_EQ(error_of(minimal_with("seed: 3\nseed: 4\n")),
              "scenario.yaml:12:1: duplicate key `seed` in the scenario's top level (first at scenario.yaml:11:1)");
}

TEST(ScenarioErrors, GivenABadDurationWhenLoadedThenTheKeyAndTheTextAreNamed) {
    const std::string message = error_of(full_with("duration: 24h", "duration: 24hours"));
    EXPECT_THAT(message, StartsWith("scenario.yaml:5:11: `duration` \"24hours\" is not a duration"));
    EXPECT_THAT(message, HasSubstr("2h30m"));
    EXPECT_THAT(error_of(minimal_with("network: {backoff: soon}\n")),
                StartsWith("scenario.yaml:11:20: `backoff` \"soon\" is not a duration"));
}

TEST(ScenarioErrors, GivenABadStartWhenLoadedThenItAsksForRfc3339) {
    EXPECT_THAT(error_of(full_with("start: 2026-01-05T00:00:00Z", "start: 2026-01-05")),
                StartsWith("scenario.yaml:4:8: `start` \"2026-01-05\" is not an RFC 3339 time"));
}

TEST(ScenarioErrors, GivenAnUnknownProfileWhenLoadedThenTheProfilesAreListed) {
    const std::string message = error_of(full_with("profile: proactive", "profile: sneaky"));
    EXPECT_THAT(message, StartsWith("scenario.yaml:22:14: unknown profile \"sneaky\""));
    EXPECT_THAT(message, HasSubstr("compliant, proactive, flush_after_revoke, store_and_forward, scope_creep, "
                                   "keepalive_leak or cause_lie"));
    EXPECT_THAT(error_of(full_with("profiles: {proactive: 1, compliant: 3}", "profiles: {proactiv: 1, compliant: 3}")),
                StartsWith("scenario.yaml:31:16: unknown key \"proactiv\" in fleet \"home\" `profiles`"));
}

TEST(ScenarioErrors, GivenAnUnknownDeviceInTheTimelineWhenLoadedThenTheKnownNamesAreListed) {
    const std::string message =
        error_of(full_with("{at: 9h, profile: {device: thermo-1, name: compliant}}",
                           "{at: 9h, profile: {device: thermo-2, name: compliant}}"));
    EXPECT_THAT(message, StartsWith("scenario.yaml:67:32: unknown device \"thermo-2\" in a `profile` event"));
    EXPECT_THAT(message, HasSubstr("thermo-1, lock-front"));
    EXPECT_THAT(message, HasSubstr("a fleet prefix (home, door) or a generated id like home-0001"));
    // Without fleets the message does not offer fleet prefixes.
    EXPECT_EQ(error_of(minimal_with("timeline:\n  - {at: 2h, network: {device: thermo-2, up: false}}\n")),
              "scenario.yaml:12:32: unknown device \"thermo-2\" in a `network` event (expected \"*\", a device id "
              "(thermo-1, lock-front))");
    // A generated id out of the fleet's range is unknown too.
    EXPECT_THAT(error_of(full_with("devices: [home-0042]", "devices: [home-1001]")),
                HasSubstr("unknown device \"home-1001\" in a customer"));
}

TEST(ScenarioErrors, GivenAnUnknownRecipientWhenLoadedThenTheDeclaredOnesAreListed) {
    EXPECT_EQ(error_of(full_with("linked: [voice-partner]", "linked: [voice-partnr]")),
              "scenario.yaml:23:14: unknown recipient \"voice-partnr\" (declared under `recipients:`: vendor-cloud, "
              "voice-partner)");
    EXPECT_THAT(error_of(full_with("{at: 5h, link: {device: \"*\", recipient: voice-partner, linked: false}}",
                                   "{at: 5h, link: {device: \"*\", recipient: alexa, linked: false}}")),
                StartsWith("scenario.yaml:70:45: unknown recipient \"alexa\""));
    EXPECT_THAT(error_of(full_with("  - recipient: vendor-cloud\n", "  - recipient: analytics\n")),
                StartsWith("scenario.yaml:13:16: grant for unknown recipient \"analytics\""));
}

TEST(ScenarioErrors, GivenAGrantForAnUnknownDeviceWhenLoadedThenItIsAnError) {
    EXPECT_THAT(error_of(full_with("devices: [thermo-1, lock-front]", "devices: [thermo-1, lock-back]")),
                StartsWith("scenario.yaml:9:25: grant for \"voice-partner\" names unknown device \"lock-back\""));
    EXPECT_THAT(error_of(full_with("devices: [thermo-1, lock-front]", "devices: [thermo-1, home]")),
                HasSubstr("names the fleet prefix \"home\""));
    EXPECT_EQ(error_of(full_with("devices: [thermo-1, lock-front]", "devices: [thermo-1, home-0003]")),
              "<loaded without error>");
}

TEST(ScenarioErrors, GivenBadExpectationsWhenLoadedThenEachIsExplained) {
    EXPECT_THAT(error_of(full_with("type: side_channel", "type: side_chanel")),
                StartsWith("scenario.yaml:80:14: unknown finding type \"side_chanel\" (expected one of after_revocation"));
    EXPECT_THAT(error_of(full_with("device: door, min: 1", "device: door, min: 1, count: 2")),
                StartsWith("scenario.yaml:80:50: an expected finding takes either `count` (exactly) or `min`/`max`"));
    EXPECT_THAT(error_of(full_with("category: temperature, count: 3", "category: warmth, count: 3")),
                HasSubstr("unknown category \"warmth\""));
    EXPECT_THAT(error_of(full_with("{type: after_revocation, max: 2}", "{type: after_revocation, min: 3, max: 2}")),
                HasSubstr("`max` 2 is below `min` 3"));
    EXPECT_THAT(error_of(full_with("{type: after_revocation, max: 2}", "{type: after_revocation, mx: 2}")),
                HasSubstr("unknown key \"mx\" in an expected finding (allowed: type, device, recipient, category, "
                          "count, min, max)"));
    EXPECT_THAT(error_of(minimal_with("expect: {findings: none}\n")),
                StartsWith("scenario.yaml:11:20: `findings` must be a list"));
}

TEST(ScenarioErrors, GivenAnEventAtOrBeyondTheDurationWhenLoadedThenItIsRejected) {
    EXPECT_THAT(error_of(full_with("{at: 9h, profile:", "{at: 25h, profile:")),
                Eq("scenario.yaml:67:10: `at` \"25h\" is not before the end of the run (`duration: 24h`; `at` must lie in [0, duration))"));
    EXPECT_THAT(error_of(full_with("{at: 9h, profile:", "{at: 24h, profile:")), HasSubstr("not before the end"));
    EXPECT_THAT(error_of(full_with("{at: 9h, profile:", "{at: 2026-01-04T23:00:00Z, profile:")),
                HasSubstr("is before the start of the run (2026-01-05T00:00:00.000Z)"));
    EXPECT_THAT(error_of(full_with("{at: 4h, duration: 20m", "{at: 30h, duration: 20m")),
                StartsWith("scenario.yaml:47:12: `at` \"30h\" is not before the end"));
}

TEST(ScenarioErrors, GivenADuplicateDeviceIdWhenLoadedThenBothPlacesAreNamed) {
    EXPECT_EQ(error_of(minimal_with("  - id: thermo-1\n    kind: lock\n")),
              "scenario.yaml:11:9: duplicate device id \"thermo-1\" (first at scenario.yaml:7:5)");
    EXPECT_THAT(error_of(minimal_with("fleets:\n  - {prefix: thermo, count: 9, kind: lock}\n"
                                      "  - {prefix: thermo, count: 9, kind: lock}\n")),
                StartsWith("scenario.yaml:13:14: duplicate fleet prefix \"thermo\""));
    EXPECT_THAT(error_of(minimal_with("fleets:\n  - {prefix: thermo, count: 9, kind: lock}\n")),
                HasSubstr("device id \"thermo-1\" is also a generated id of the fleet \"thermo\""));
}

TEST(ScenarioErrors, GivenBadFleetsWhenLoadedThenCountsAndWeightsAreChecked) {
    EXPECT_THAT(error_of(minimal_with("fleets:\n  - {prefix: h, count: 0, kind: lock}\n")),
                StartsWith("scenario.yaml:12:24: fleet \"h\": `count` must be between 1 and"));
    EXPECT_THAT(error_of(minimal_with("fleets:\n  - {prefix: h, count: -3, kind: lock}\n")),
                HasSubstr("`count` must be a whole number"));
    EXPECT_THAT(error_of(minimal_with("fleets:\n  - {prefix: h, count: 3, kind: lock, profiles: {compliant: 0}}\n")),
                HasSubstr("the profile weights are all 0"));
    EXPECT_THAT(error_of(minimal_with("fleets:\n  - {prefix: h, count: 3, kind: lock, profiles: {compliant: -1, "
                                      "proactive: 2}}\n")),
                HasSubstr("weight of compliant is negative"));
    EXPECT_THAT(error_of(minimal_with("fleets:\n  - {prefix: h, count: 3, kind: lock, profile: compliant, "
                                      "profiles: {compliant: 1}}\n")),
                HasSubstr("has both `profile` and `profiles`"));
    EXPECT_THAT(error_of(minimal_with("fleets:\n  - {prefix: h, count: 3}\n")),
                StartsWith("scenario.yaml:12:5: fleet \"h\" has no `kind:` (expected thermostat or lock)"));
}

TEST(ScenarioErrors, GivenBadParametersWhenLoadedThenTheParameterIsNamed) {
    EXPECT_THAT(error_of(minimal_with("parameters: {thermostat: {time_constant: {uniform: [15h, 55]}}}\n")),
                HasSubstr("parameter `time_constant`: both values of `uniform` must be numbers or both durations"));
    EXPECT_THAT(error_of(minimal_with("parameters: {thermostat: {setpoint_c: {uniform: [23, 19]}}}\n")),
                HasSubstr("uniform low 23 is above high 19"));
    EXPECT_THAT(error_of(minimal_with("parameters: {thermostat: {setpoint_c: {normal: [21, -1]}}}\n")),
                HasSubstr("the standard deviation -1 is negative"));
    EXPECT_THAT(error_of(minimal_with("parameters: {thermostat: {setpoint_c: warm}}\n")),
                HasSubstr("parameter `setpoint_c`: \"warm\" is neither a number"));
    EXPECT_THAT(error_of(minimal_with("parameters: {thermostat: {setpoint_c: {gauss: [21, 1]}}}\n")),
                HasSubstr("unknown key \"gauss\" in parameter `setpoint_c` (allowed: constant, uniform, normal)"));
    EXPECT_THAT(error_of(minimal_with("parameters: {thermo: {setpoint_c: 21}}\n")),
                StartsWith("scenario.yaml:11:14: unknown key \"thermo\" in `parameters` (allowed: thermostat, lock)"));
}

TEST(ScenarioErrors, GivenInconsistentInteractionsWhenLoadedThenTheyAreRejected) {
    const std::string head = "customers:\n  - {devices: ";
    EXPECT_THAT(error_of(minimal_with(head + "[thermo-1], via: voice, action: query, rate: 1/h}\n")),
                HasSubstr("customer with via: voice has no `recipient:`"));
    EXPECT_THAT(error_of(minimal_with(head + "[thermo-1], via: physical, recipient: voice-partner, action: query, "
                                             "rate: 1/h}\n")),
                HasSubstr("`recipient` only applies to via: voice or app"));
    EXPECT_THAT(error_of(minimal_with(head + "[thermo-1], via: app, recipient: vendor-cloud, action: lock, "
                                             "rate: 1/h}\n")),
                HasSubstr("action `lock` does not apply to thermostat \"thermo-1\""));
    EXPECT_THAT(error_of(minimal_with(head + "[thermo-1], via: app, recipient: vendor-cloud, action: set_setpoint, "
                                             "rate: 1/h}\n")),
                HasSubstr("has no `value:`"));
    EXPECT_THAT(error_of(minimal_with(head + "[thermo-1], via: app, recipient: vendor-cloud, action: set_mode, "
                                             "value: toasty, rate: 1/h}\n")),
                HasSubstr("unknown mode \"toasty\" (expected heat, cool, auto, eco or off)"));
    EXPECT_THAT(error_of(minimal_with(head + "\"*\", via: app, recipient: vendor-cloud, action: query, rate: 4}\n")),
                HasSubstr("`rate` \"4\" is not a rate"));
    EXPECT_THAT(error_of(minimal_with(head + "\"*\", via: app, recipient: vendor-cloud, action: query, rate: 1/h, "
                                             "hours: \"7-23\"}\n")),
                HasSubstr("bad `hours` window \"7-23\""));
}

TEST(ScenarioErrors, GivenBadTimelineEventsWhenLoadedThenEachIsExplained) {
    const std::string head = "timeline:\n  - ";
    EXPECT_THAT(error_of(minimal_with(head + "{at: 1h}\n")), HasSubstr("timeline event has no action"));
    EXPECT_THAT(error_of(minimal_with(head + "{at: 1h, network: {device: thermo-1, up: false}, "
                                             "link: {device: thermo-1, recipient: vendor-cloud, linked: true}}\n")),
                HasSubstr("has both `network` and `link`"));
    EXPECT_THAT(error_of(minimal_with(head + "{at: 1h, fault: {device: thermo-1, kind: drift}}\n")),
                HasSubstr("kind: drift has no `rate_c_per_h:`"));
    EXPECT_THAT(error_of(minimal_with(head + "{at: 1h, fault: {device: thermo-1, kind: modbus_timeout, rate_c_per_h: 1}}\n")),
                HasSubstr("`rate_c_per_h` only applies to kind: drift (this fault is modbus_timeout)"));
    EXPECT_THAT(error_of(minimal_with(head + "{at: 1h, fault: {device: thermo-1, kind: timeout}}\n")),
                HasSubstr("modbus_timeout"));  // the error lists the kinds there are
    EXPECT_THAT(error_of(minimal_with(head + "{at: 1h, network: {device: thermo-1, up: maybe}}\n")),
                HasSubstr("`up` must be true or false"));
    EXPECT_THAT(error_of(minimal_with(head + "{at: 1h, env: {device: thermo-1}}\n")), HasSubstr("sets nothing"));
    EXPECT_THAT(error_of(minimal_with(head + "{at: 1h, profile: {name: proactive}}\n")),
                StartsWith("scenario.yaml:12:23: `profile` event has no `device:`"));
    EXPECT_THAT(error_of(minimal_with(head + "{at: 1h, consent: {device: thermo-1, recipient: vendor-cloud, "
                                             "categories: [heat], granted: false}}\n")),
                HasSubstr("unknown category \"heat\""));
}

TEST(ScenarioErrors, GivenMissingOrBadTopLevelValuesWhenLoadedThenEachIsNamed) {
    EXPECT_THAT(error_of("start: 2026-01-05T00:00:00Z\n"), HasSubstr("has no `name:`"));
    EXPECT_THAT(error_of(full_with("name: proactive-state", "name: Proactive State")),
                StartsWith("scenario.yaml:1:7: `name` \"Proactive State\" may only contain"));
    EXPECT_THAT(error_of(full_with("seed: 42", "seed: -1")), StartsWith("scenario.yaml:3:7: `seed` must be a whole"));
    EXPECT_THAT(error_of(full_with("timezone: Europe/Berlin", "timezone: Mars/Olympus")),
                HasSubstr("unknown timezone \"Mars/Olympus\""));
    EXPECT_THAT(error_of(full_with("  vendor-cloud: json\n", "  vendor-cloud: xml\n")),
                StartsWith("scenario.yaml:18:17: recipient \"vendor-cloud\": unknown wire format \"xml\""));
    EXPECT_EQ(error_of(full_with("  vendor-cloud: json\n", "  vendor-cloud:\n")),
              "scenario.yaml:18:3: recipient \"vendor-cloud\" has no wire format, found no value (expected alexa, "
              "google, matter or json)");
    EXPECT_THAT(error_of(R"(name: x
start: 2026-01-05T00:00:00Z
duration: 1h
consent: []
recipients: {r: json}
)"),
                HasSubstr("the scenario has no devices"));
    EXPECT_THAT(error_of(minimal_with("network: {loss: 1.5}\n")), HasSubstr("`loss` must be a probability"));
}

// =============================================================================================
// check_expectations
// =============================================================================================

TEST(CheckExpectations, GivenNoneExpectedWhenThereAreNoFindingsThenItPasses) {
    const Expectations none;
    std::vector<std::string> problems;
    EXPECT_TRUE(check_expectations(none, {}, &problems).ok());
    EXPECT_TRUE(problems.empty());
}

TEST(CheckExpectations, GivenNoneExpectedWhenOneIsFoundThenItFailsNamingIt) {
    const Expectations none;
    std::vector<std::string> problems;
    const Heads found = {finding(FindingType::after_revocation, "thermo-1", "vendor-cloud",
                                                Category::temperature, kStart + 18 * kMsPerHour + 2500)};
    const Status status = check_expectations(none, found, &problems);
    ASSERT_FALSE(status.ok());
    EXPECT_THAT(problems, ElementsAre("unexpected finding: after_revocation thermo-1 → vendor-cloud temperature at "
                                      "2026-01-05T18:00:02.500Z"));
    EXPECT_EQ(status.error().message, problems[0]);
}

TEST(CheckExpectations, GivenAnExactCountWhenTheCountDiffersThenItFailsWithBothNumbers) {
    const Scenario s = load(minimal_with("expect:\n  findings:\n    - {type: out_of_window, device: thermo-1, "
                                         "recipient: voice-partner, category: temperature, count: 3}\n"));
    const FindingHead hit = finding(FindingType::out_of_window, "thermo-1", "voice-partner", Category::temperature);
    std::vector<std::string> problems;
    EXPECT_FALSE(check_expectations(s.expect, Heads{hit}, &problems).ok());
    EXPECT_THAT(problems, ElementsAre("expected exactly 3 out_of_window for thermo-1 → voice-partner (temperature), "
                                      "found 1 (scenario.yaml:13:7)"));
    EXPECT_TRUE(check_expectations(s.expect, Heads{hit, hit, hit}).ok());
    EXPECT_FALSE(check_expectations(s.expect, Heads{hit, hit, hit, hit}).ok());
}

TEST(CheckExpectations, GivenAnExactCountWhenAFindingDiffersInCategoryThenItIsNotCounted) {
    ExpectedFinding e;
    e.type = FindingType::out_of_window;
    e.device = "thermo-1";
    e.category = Category::temperature;
    e.min = 1;
    e.max = 1;
    Expectations x;
    x.findings.push_back(e);
    const FindingHead other = finding(FindingType::out_of_window, "thermo-1", "voice-partner", Category::setpoint);
    std::vector<std::string> problems;
    EXPECT_FALSE(check_expectations(x, Heads{other}, &problems).ok());
    ASSERT_EQ(problems.size(), 2U);
    EXPECT_EQ(problems[0], "expected exactly 1 out_of_window for thermo-1 (temperature), found 0");
    EXPECT_THAT(problems[1], StartsWith("unexpected finding: out_of_window thermo-1 → voice-partner setpoint at"));
}

TEST(CheckExpectations, GivenAMinimumWhenMetOrNotThenItPassesOrFails) {
    const Scenario s = load(minimal_with("fleets:\n  - {prefix: door, count: 20, kind: lock}\nexpect:\n  findings:\n"
                                         "    - {type: side_channel, device: door, min: 2}\n"));
    const FindingHead one = finding(FindingType::side_channel, "door-07", "voice-partner", std::nullopt);
    const FindingHead two = finding(FindingType::side_channel, "door-20", "vendor-cloud", std::nullopt);
    const FindingHead not_member = finding(FindingType::side_channel, "lock-front", "vendor-cloud", std::nullopt);
    std::vector<std::string> problems;
    EXPECT_FALSE(check_expectations(s.expect, Heads{one}, &problems).ok());
    EXPECT_THAT(problems, ElementsAre("expected at least 2 side_channel for fleet door, found 1 (scenario.yaml:15:7)"));
    EXPECT_TRUE(check_expectations(s.expect, Heads{one, two}).ok());
    EXPECT_FALSE(check_expectations(s.expect, Heads{one, not_member}).ok());
}

TEST(CheckExpectations, GivenAnUnexpectedExtraFindingWhenOtherwiseMatchingThenItFails) {
    const Scenario s = load(minimal_with("expect:\n  findings:\n    - {type: side_channel, device: lock-front}\n"));
    const FindingHead expected = finding(FindingType::side_channel, "lock-front", "voice-partner", std::nullopt);
    const FindingHead extra = finding(FindingType::cause_mismatch, "thermo-1", "voice-partner", std::nullopt,
                                  kStart + kMsPerHour);
    std::vector<std::string> problems;
    EXPECT_TRUE(check_expectations(s.expect, Heads{expected}).ok());
    const Status status = check_expectations(s.expect, Heads{expected, extra}, &problems);
    ASSERT_FALSE(status.ok());
    EXPECT_THAT(problems, ElementsAre("unexpected finding: cause_mismatch thermo-1 → voice-partner at "
                                      "2026-01-05T01:00:00.000Z"));
}

TEST(CheckExpectations, GivenAllowOtherWhenAnExtraFindingComesThenItPasses) {
    const Scenario s = load(minimal_with("expect:\n  allow_other: true\n  findings:\n"
                                         "    - {type: side_channel, device: lock-front, min: 1}\n"));
    const FindingHead expected = finding(FindingType::side_channel, "lock-front", "voice-partner", std::nullopt);
    const FindingHead extra = finding(FindingType::out_of_window, "thermo-1", "voice-partner", Category::temperature);
    EXPECT_TRUE(check_expectations(s.expect, Heads{expected, extra}).ok());
    // allow_other does not excuse a missing expected finding.
    EXPECT_FALSE(check_expectations(s.expect, Heads{extra}).ok());
}

TEST(CheckExpectations, GivenManyUnexpectedFindingsWhenCheckedThenTheListIsCutWithACount) {
    const Expectations none;
    Heads found;
    for (int i = 0; i < 25; ++i) {
        found.push_back(finding(FindingType::out_of_window, "thermo-1", "voice-partner", Category::temperature,
                                kStart + i * kMsPerSecond));
    }
    std::vector<std::string> problems;
    EXPECT_FALSE(check_expectations(none, found, &problems).ok());
    ASSERT_EQ(problems.size(), kMaxUnexpectedListed + 1);
    EXPECT_THAT(problems[0], HasSubstr("at 2026-01-05T00:00:00.000Z"));
    EXPECT_EQ(problems.back(), "… and 5 more unexpected findings");
}
