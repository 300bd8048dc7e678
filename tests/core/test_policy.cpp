#include "core/policy.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

using namespace consentrig::core;
using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace {

constexpr std::string_view kFile = "policy.yaml";

/// Bits of ScheduleWindow::days, 0 = Sunday.
constexpr std::uint8_t kSun = 1U << 0;
constexpr std::uint8_t kMon = 1U << 1;
constexpr std::uint8_t kTue = 1U << 2;
constexpr std::uint8_t kWed = 1U << 3;
constexpr std::uint8_t kThu = 1U << 4;
constexpr std::uint8_t kFri = 1U << 5;
constexpr std::uint8_t kSat = 1U << 6;
constexpr std::uint8_t kAllDays = kSun | kMon | kTue | kWed | kThu | kFri | kSat;
constexpr std::uint8_t kWeekdays = kMon | kTue | kWed | kThu | kFri;

constexpr std::int32_t kMinutesPerHour = 60;
constexpr std::int32_t kMinutesPerDay = 24 * kMinutesPerHour;

constexpr std::string_view kProtocolExample = R"(timezone: Europe/Berlin          # for schedule windows; default UTC
consent:
  - recipient: voice-partner
    devices: [thermo-1, lock-front]   # default: all devices
    categories: [temperature, setpoint, hvac_mode]   # or [all]
    basis: interaction              # always | schedule | interaction | never
    within: 120s                    # interaction: seconds after an interaction via this recipient
  - recipient: vendor-cloud
    categories: [all]
    basis: schedule
    windows: ["Mon-Fri 08:00-20:00", "Sat 10:00-12:00"]
    until: 30h                      # optional; from:/until: take offsets from start or RFC 3339 times
)";

TimeMs at(std::string_view rfc3339) {
    const auto t = parse_rfc3339(rfc3339);
    EXPECT_TRUE(t.has_value()) << "bad test time " << rfc3339;
    return t.value_or(0);
}

/// Loads `yaml`, failing the test (and returning an empty policy) when it does not load.
Policy load(std::string_view yaml) {
    auto policy = parse_policy(yaml, kFile);
    EXPECT_TRUE(policy.ok()) << (policy.ok() ? "" : policy.error().message);
    return policy.ok() ? std::move(policy).value() : Policy{};
}

/// The error message for `yaml`, or a marker that it loaded.
std::string error_of(std::string_view yaml) {
    auto policy = parse_policy(yaml, kFile);
    return policy.ok() ? std::string("<loaded without error>") : policy.error().message;
}

/// A policy with one schedule grant for `window` in `timezone`.
Policy schedule_policy(std::string_view window, std::string_view timezone = "UTC") {
    return load("timezone: " + std::string(timezone) +
                "\nconsent:\n  - recipient: r\n    categories: [all]\n    basis: schedule\n    windows: [\"" +
                std::string(window) + "\"]\n");
}

bool in_window(const Policy& policy, std::string_view rfc3339) {
    if (policy.grants().empty()) return false;
    return policy.in_schedule(policy.grants().front(), at(rfc3339));
}

/// How many whole minutes in [from, to) start inside the policy's first grant's windows.
int minutes_inside(const Policy& policy, std::string_view from, std::string_view to) {
    if (policy.grants().empty()) return -1;
    int count = 0;
    for (TimeMs t = at(from); t < at(to); t += kMsPerMinute) {
        if (policy.in_schedule(policy.grants().front(), t)) ++count;
    }
    return count;
}

/// A grant with the given extra lines (each indented as a grant key).
std::string grant_yaml(std::string_view extra_lines) {
    return "consent:\n  - recipient: r\n" + std::string(extra_lines);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The PROTOCOL.md §3 example
// ---------------------------------------------------------------------------------------------

TEST(PolicyExample, GivenProtocolExample_WhenParsed_ThenEveryValueIsExact) {
    const Policy policy = load(kProtocolExample);
    EXPECT_EQ(policy.timezone_name(), "Europe/Berlin");
    EXPECT_EQ(policy.source(), "policy.yaml");
    ASSERT_EQ(policy.grants().size(), 2U);

    const Grant& voice = policy.grants()[0];
    EXPECT_EQ(voice.recipient, "voice-partner");
    EXPECT_EQ(voice.devices, (std::vector<std::string>{"thermo-1", "lock-front"}));
    CategorySet voice_categories;
    insert(voice_categories, Category::temperature);
    insert(voice_categories, Category::setpoint);
    insert(voice_categories, Category::hvac_mode);
    EXPECT_EQ(voice.categories, voice_categories);
    EXPECT_EQ(voice.basis, Basis::interaction);
    EXPECT_EQ(voice.within_ms, 120 * kMsPerSecond);
    EXPECT_TRUE(voice.windows.empty());
    EXPECT_EQ(voice.from.kind, TimeBound::Kind::none);
    EXPECT_EQ(voice.until.kind, TimeBound::Kind::none);
    EXPECT_EQ(to_string(voice.where), "policy.yaml:3:5");

    const Grant& vendor = policy.grants()[1];
    EXPECT_EQ(vendor.recipient, "vendor-cloud");
    EXPECT_TRUE(vendor.devices.empty());
    EXPECT_EQ(vendor.categories, all_categories());
    EXPECT_EQ(vendor.basis, Basis::schedule);
    EXPECT_EQ(vendor.within_ms, 0);
    ASSERT_EQ(vendor.windows.size(), 2U);
    EXPECT_EQ(vendor.windows[0].days, kWeekdays);
    EXPECT_EQ(vendor.windows[0].start_minute, 8 * kMinutesPerHour);
    EXPECT_EQ(vendor.windows[0].end_minute, 20 * kMinutesPerHour);
    EXPECT_EQ(vendor.windows[0].text, "Mon-Fri 08:00-20:00");
    EXPECT_EQ(vendor.windows[1].days, kSat);
    EXPECT_EQ(vendor.windows[1].start_minute, 10 * kMinutesPerHour);
    EXPECT_EQ(vendor.windows[1].end_minute, 12 * kMinutesPerHour);
    EXPECT_EQ(vendor.windows[1].text, "Sat 10:00-12:00");
    EXPECT_EQ(vendor.from.kind, TimeBound::Kind::none);
    EXPECT_EQ(vendor.until.kind, TimeBound::Kind::offset);
    EXPECT_EQ(vendor.until.value_ms, 30 * kMsPerHour);
    EXPECT_EQ(vendor.until.text, "30h");
    EXPECT_EQ(to_string(vendor.where), "policy.yaml:8:5");
}

TEST(PolicyExample, GivenProtocolExample_WhenAskedAboutDevices_ThenOnlyListedOrAll) {
    const Policy policy = load(kProtocolExample);
    ASSERT_EQ(policy.grants().size(), 2U);
    EXPECT_TRUE(policy.grants()[0].applies_to_device("thermo-1"));
    EXPECT_TRUE(policy.grants()[0].applies_to_device("lock-front"));
    EXPECT_FALSE(policy.grants()[0].applies_to_device("lock-back"));
    EXPECT_FALSE(policy.grants()[0].applies_to_device(""));
    EXPECT_TRUE(policy.grants()[1].applies_to_device("lock-back"));
}

TEST(PolicyExample, GivenProtocolExample_WhenVendorWindowsAsked_ThenBerlinWallClockDecides) {
    const Policy policy = load(kProtocolExample);
    ASSERT_EQ(policy.grants().size(), 2U);
    const Grant& vendor = policy.grants()[1];
    // 2026-01-05 is a Monday; Berlin is UTC+1 in January.
    EXPECT_FALSE(policy.in_schedule(vendor, at("2026-01-05T06:59:59.999Z")));
    EXPECT_TRUE(policy.in_schedule(vendor, at("2026-01-05T07:00:00Z")));
    EXPECT_TRUE(policy.in_schedule(vendor, at("2026-01-05T18:59:59.999Z")));
    EXPECT_FALSE(policy.in_schedule(vendor, at("2026-01-05T19:00:00Z")));
    // Saturday 2026-01-10, 10:00-12:00 local.
    EXPECT_TRUE(policy.in_schedule(vendor, at("2026-01-10T09:00:00Z")));
    EXPECT_FALSE(policy.in_schedule(vendor, at("2026-01-10T11:00:00Z")));
    // Sunday: nothing.
    EXPECT_FALSE(policy.in_schedule(vendor, at("2026-01-11T12:00:00Z")));
}

// ---------------------------------------------------------------------------------------------
// Small value types
// ---------------------------------------------------------------------------------------------

TEST(PolicyValues, GivenEachBasis_WhenFormatted_ThenItsYamlName) {
    EXPECT_EQ(to_string(Basis::always), "always");
    EXPECT_EQ(to_string(Basis::schedule), "schedule");
    EXPECT_EQ(to_string(Basis::interaction), "interaction");
    EXPECT_EQ(to_string(Basis::never), "never");
}

TEST(PolicyValues, GivenSourceLocation_WhenFormatted_ThenFileLineColumn) {
    EXPECT_EQ(to_string(SourceLocation{"a/b.yaml", 12, 7}), "a/b.yaml:12:7");
}

TEST(PolicyValues, GivenNoBound_WhenResolved_ThenNullopt) {
    const TimeBound none;
    EXPECT_FALSE(none.resolve(at("2026-01-05T00:00:00Z")).has_value());
}

TEST(PolicyValues, GivenOffsetBound_WhenResolved_ThenTraceStartPlusOffset) {
    TimeBound offset;
    offset.kind = TimeBound::Kind::offset;
    offset.value_ms = 30 * kMsPerHour;
    EXPECT_EQ(offset.resolve(at("2026-01-05T00:00:00Z")), at("2026-01-06T06:00:00Z"));
    EXPECT_EQ(offset.resolve(at("2026-02-01T00:00:00Z")), at("2026-02-02T06:00:00Z"));
}

TEST(PolicyValues, GivenAbsoluteBound_WhenResolved_ThenTraceStartIgnored) {
    TimeBound absolute;
    absolute.kind = TimeBound::Kind::absolute;
    absolute.value_ms = at("2026-01-05T08:00:00Z");
    EXPECT_EQ(absolute.resolve(at("2026-01-01T00:00:00Z")), at("2026-01-05T08:00:00Z"));
    EXPECT_EQ(absolute.resolve(at("2027-01-01T00:00:00Z")), at("2026-01-05T08:00:00Z"));
}

// ---------------------------------------------------------------------------------------------
// Bases, categories, devices
// ---------------------------------------------------------------------------------------------

TEST(PolicyBasis, GivenAlwaysAndNever_WhenParsed_ThenBasisSetWithoutExtras) {
    const Policy policy = load(
        "consent:\n"
        "  - recipient: a\n    categories: [battery]\n    basis: always\n"
        "  - recipient: b\n    categories: [battery]\n    basis: never\n");
    ASSERT_EQ(policy.grants().size(), 2U);
    EXPECT_EQ(policy.grants()[0].basis, Basis::always);
    EXPECT_EQ(policy.grants()[1].basis, Basis::never);
    EXPECT_EQ(policy.grants()[0].within_ms, 0);
    EXPECT_TRUE(policy.grants()[1].windows.empty());
}

TEST(PolicyBasis, GivenInteractionWithBareSeconds_WhenParsed_ThenWithinInMilliseconds) {
    const Policy policy = load(grant_yaml("    categories: [setpoint]\n    basis: interaction\n    within: 90\n"));
    ASSERT_EQ(policy.grants().size(), 1U);
    EXPECT_EQ(policy.grants()[0].basis, Basis::interaction);
    EXPECT_EQ(policy.grants()[0].within_ms, 90 * kMsPerSecond);
}

TEST(PolicyBasis, GivenInteractionWithMinutes_WhenParsed_ThenWithinInMilliseconds) {
    const Policy policy = load(grant_yaml("    categories: [setpoint]\n    basis: interaction\n    within: 2m\n"));
    ASSERT_EQ(policy.grants().size(), 1U);
    EXPECT_EQ(policy.grants()[0].within_ms, 2 * kMsPerMinute);
}

TEST(PolicyBasis, GivenScheduleGrant_WhenParsed_ThenWindowsKept) {
    const Policy policy =
        load(grant_yaml("    categories: [temperature]\n    basis: schedule\n    windows: [\"08:00-20:00\"]\n"));
    ASSERT_EQ(policy.grants().size(), 1U);
    EXPECT_EQ(policy.grants()[0].basis, Basis::schedule);
    ASSERT_EQ(policy.grants()[0].windows.size(), 1U);
    EXPECT_EQ(policy.grants()[0].windows[0].days, kAllDays);
}

TEST(PolicyBasis, GivenNonScheduleGrant_WhenInScheduleAsked_ThenFalse) {
    const Policy policy = load(grant_yaml("    categories: [temperature]\n    basis: always\n"));
    ASSERT_EQ(policy.grants().size(), 1U);
    EXPECT_FALSE(policy.in_schedule(policy.grants()[0], at("2026-01-05T12:00:00Z")));
}

TEST(PolicyCategories, GivenAll_WhenParsed_ThenEveryCategorySet) {
    const Policy policy = load(grant_yaml("    categories: [all]\n    basis: always\n"));
    ASSERT_EQ(policy.grants().size(), 1U);
    EXPECT_EQ(policy.grants()[0].categories.count(), kCategoryCount);
}

TEST(PolicyCategories, GivenAllMixedWithNames_WhenParsed_ThenStillEveryCategory) {
    const Policy policy = load(grant_yaml("    categories: [battery, all]\n    basis: always\n"));
    ASSERT_EQ(policy.grants().size(), 1U);
    EXPECT_EQ(policy.grants()[0].categories, all_categories());
}

TEST(PolicyCategories, GivenEveryCategoryName_WhenParsed_ThenExactlyThatBit) {
    for (std::size_t i = 0; i < kCategoryCount; ++i) {
        const std::string name(kCategoryNames[i]);
        const Policy policy = load(grant_yaml("    categories: [" + name + "]\n    basis: always\n"));
        ASSERT_EQ(policy.grants().size(), 1U) << name;
        EXPECT_EQ(policy.grants()[0].categories.count(), 1U) << name;
        EXPECT_TRUE(contains(policy.grants()[0].categories, static_cast<Category>(i))) << name;
    }
}

TEST(PolicyDevices, GivenNoDevicesKey_WhenParsed_ThenEveryDeviceApplies) {
    const Policy policy = load(grant_yaml("    categories: [all]\n    basis: always\n"));
    ASSERT_EQ(policy.grants().size(), 1U);
    EXPECT_TRUE(policy.grants()[0].devices.empty());
    EXPECT_TRUE(policy.grants()[0].applies_to_device("thermo-1"));
    EXPECT_TRUE(policy.grants()[0].applies_to_device("anything"));
}

TEST(PolicyDevices, GivenStarString_WhenParsed_ThenEveryDeviceApplies) {
    const Policy policy = load(grant_yaml("    devices: \"*\"\n    categories: [all]\n    basis: always\n"));
    ASSERT_EQ(policy.grants().size(), 1U);
    EXPECT_EQ(policy.grants()[0].devices, (std::vector<std::string>{"*"}));
    EXPECT_TRUE(policy.grants()[0].applies_to_device("lock-front"));
}

TEST(PolicyDevices, GivenStarInsideList_WhenParsed_ThenEveryDeviceApplies) {
    const Policy policy = load(grant_yaml("    devices: [thermo-1, \"*\"]\n    categories: [all]\n    basis: always\n"));
    ASSERT_EQ(policy.grants().size(), 1U);
    EXPECT_TRUE(policy.grants()[0].applies_to_device("lock-front"));
}

TEST(PolicyDevices, GivenHandBuiltGrant_WhenAskedAboutDevices_ThenListDecides) {
    Grant grant;
    grant.devices = {"thermo-1"};
    EXPECT_TRUE(grant.applies_to_device("thermo-1"));
    EXPECT_FALSE(grant.applies_to_device("thermo-10"));
    EXPECT_FALSE(grant.applies_to_device("thermo"));
}

// ---------------------------------------------------------------------------------------------
// from / until
// ---------------------------------------------------------------------------------------------

TEST(PolicyBounds, GivenOffsets_WhenParsed_ThenOffsetKindAndText) {
    const Policy policy = load(grant_yaml("    categories: [all]\n    basis: always\n    from: 90m\n    until: 30h\n"));
    ASSERT_EQ(policy.grants().size(), 1U);
    const Grant& g = policy.grants()[0];
    EXPECT_EQ(g.from.kind, TimeBound::Kind::offset);
    EXPECT_EQ(g.from.value_ms, 90 * kMsPerMinute);
    EXPECT_EQ(g.from.text, "90m");
    EXPECT_EQ(g.until.kind, TimeBound::Kind::offset);
    EXPECT_EQ(g.until.value_ms, 30 * kMsPerHour);
    EXPECT_EQ(g.until.text, "30h");
    EXPECT_EQ(g.from.resolve(at("2026-01-05T00:00:00Z")), at("2026-01-05T01:30:00Z"));
    EXPECT_EQ(g.until.resolve(at("2026-01-05T00:00:00Z")), at("2026-01-06T06:00:00Z"));
}

TEST(PolicyBounds, GivenBareNumber_WhenParsed_ThenSecondsOffset) {
    const Policy policy = load(grant_yaml("    categories: [all]\n    basis: always\n    until: 3600\n"));
    ASSERT_EQ(policy.grants().size(), 1U);
    EXPECT_EQ(policy.grants()[0].until.kind, TimeBound::Kind::offset);
    EXPECT_EQ(policy.grants()[0].until.value_ms, kMsPerHour);
}

TEST(PolicyBounds, GivenRfc3339Times_WhenParsed_ThenAbsoluteKindAndText) {
    const Policy policy = load(grant_yaml(
        "    categories: [all]\n    basis: always\n    from: 2026-01-05T08:00:00Z\n"
        "    until: \"2026-01-06T09:30:00+01:00\"\n"));
    ASSERT_EQ(policy.grants().size(), 1U);
    const Grant& g = policy.grants()[0];
    EXPECT_EQ(g.from.kind, TimeBound::Kind::absolute);
    EXPECT_EQ(g.from.value_ms, at("2026-01-05T08:00:00Z"));
    EXPECT_EQ(g.from.text, "2026-01-05T08:00:00Z");
    EXPECT_EQ(g.until.kind, TimeBound::Kind::absolute);
    EXPECT_EQ(g.until.value_ms, at("2026-01-06T08:30:00Z"));
    EXPECT_EQ(g.until.text, "2026-01-06T09:30:00+01:00");
    EXPECT_EQ(g.until.resolve(at("2020-01-01T00:00:00Z")), at("2026-01-06T08:30:00Z"));
}

TEST(PolicyBounds, GivenMixedKinds_WhenParsed_ThenAcceptedWithoutOrderCheck) {
    // An absolute `until` cannot be compared with an offset `from` before the trace start is known.
    const Policy policy =
        load(grant_yaml("    categories: [all]\n    basis: always\n    from: 30h\n    until: 2000-01-01T00:00:00Z\n"));
    ASSERT_EQ(policy.grants().size(), 1U);
    EXPECT_EQ(policy.grants()[0].from.kind, TimeBound::Kind::offset);
    EXPECT_EQ(policy.grants()[0].until.kind, TimeBound::Kind::absolute);
}

TEST(PolicyBounds, GivenUntilBeforeFromOffsets_WhenParsed_ThenErrorAtUntil) {
    const std::string message =
        error_of(grant_yaml("    categories: [all]\n    basis: always\n    from: 30h\n    until: 10h\n"));
    EXPECT_THAT(message, StartsWith("policy.yaml:6:12: "));
    EXPECT_THAT(message, HasSubstr("`until` \"10h\" must be after `from` \"30h\""));
}

TEST(PolicyBounds, GivenUntilEqualToFromAbsolute_WhenParsed_ThenError) {
    const std::string message = error_of(grant_yaml(
        "    categories: [all]\n    basis: always\n    from: 2026-01-05T08:00:00Z\n"
        "    until: 2026-01-05T09:00:00+01:00\n"));
    EXPECT_THAT(message, StartsWith("policy.yaml:6:12: "));
    EXPECT_THAT(message, HasSubstr("must be after `from`"));
}

TEST(PolicyBounds, GivenMalformedFrom_WhenParsed_ThenErrorAtValueNamingForms) {
    const std::string message = error_of(grant_yaml("    categories: [all]\n    basis: always\n    from: yesterday\n"));
    EXPECT_THAT(message, StartsWith("policy.yaml:5:11: "));
    EXPECT_THAT(message, HasSubstr("`from` \"yesterday\" is neither an offset"));
    EXPECT_THAT(message, HasSubstr("RFC 3339"));
}

TEST(PolicyBounds, GivenMalformedUntilDate_WhenParsed_ThenErrorAtValue) {
    const std::string message =
        error_of(grant_yaml("    categories: [all]\n    basis: always\n    until: 2026-02-30T00:00:00Z\n"));
    EXPECT_THAT(message, StartsWith("policy.yaml:5:12: "));
    EXPECT_THAT(message, HasSubstr("`until` \"2026-02-30T00:00:00Z\""));
}

TEST(PolicyBounds, GivenNegativeOffset_WhenParsed_ThenError) {
    const std::string message = error_of(grant_yaml("    categories: [all]\n    basis: always\n    from: -5s\n"));
    EXPECT_THAT(message, StartsWith("policy.yaml:5:11: "));
}

TEST(PolicyBounds, GivenFromAsList_WhenParsed_ThenWrongTypeError) {
    const std::string message = error_of(grant_yaml("    categories: [all]\n    basis: always\n    from: [1h]\n"));
    EXPECT_THAT(message, StartsWith("policy.yaml:5:11: "));
    EXPECT_THAT(message, HasSubstr("found a list"));
}

// ---------------------------------------------------------------------------------------------
// Top level
// ---------------------------------------------------------------------------------------------

TEST(PolicyTopLevel, GivenNoTimezone_WhenParsed_ThenUtc) {
    const Policy policy = load(grant_yaml("    categories: [all]\n    basis: schedule\n    windows: [\"08:00-09:00\"]\n"));
    EXPECT_EQ(policy.timezone_name(), "UTC");
    ASSERT_EQ(policy.grants().size(), 1U);
    EXPECT_FALSE(in_window(policy, "2026-01-05T07:59:59.999Z"));
    EXPECT_TRUE(in_window(policy, "2026-01-05T08:00:00Z"));
}

TEST(PolicyTopLevel, GivenScenarioFileWithOtherKeys_WhenParsed_ThenOnlyConsentRead) {
    const Policy policy = load(
        "name: proactive-state\n"
        "devices:\n  - id: thermo-1\n    kind: thermostat\n"
        "steps: [{at: 0s, do: boot}]\n"
        "timezone: America/New_York\n"
        "consent:\n  - recipient: r\n    categories: [all]\n    basis: always\n"
        "expect: {findings: 0}\n");
    EXPECT_EQ(policy.timezone_name(), "America/New_York");
    ASSERT_EQ(policy.grants().size(), 1U);
    EXPECT_EQ(policy.grants()[0].recipient, "r");
}

TEST(PolicyTopLevel, GivenEmptyConsentList_WhenParsed_ThenNoGrants) {
    auto policy = parse_policy("consent: []\n", kFile);
    ASSERT_TRUE(policy.ok()) << policy.error().message;
    EXPECT_TRUE(policy->grants().empty());
}

TEST(PolicyTopLevel, GivenNoConsentKey_WhenParsed_ThenErrorSaysSo) {
    const std::string message = error_of("timezone: UTC\nname: x\n");
    EXPECT_THAT(message, StartsWith("policy.yaml:1:1: "));
    EXPECT_THAT(message, HasSubstr("no `consent:` section"));
}

TEST(PolicyTopLevel, GivenEmptyDocument_WhenParsed_ThenNoConsentError) {
    EXPECT_THAT(error_of(""), StartsWith("policy.yaml:1:1: no `consent:` section"));
    EXPECT_THAT(error_of("# only a comment\n"), StartsWith("policy.yaml:1:1: no `consent:` section"));
}

TEST(PolicyTopLevel, GivenConsentWithoutValue_WhenParsed_ThenErrorSuggestsEmptyList) {
    const std::string message = error_of("timezone: UTC\nconsent:\n");
    EXPECT_THAT(message, StartsWith("policy.yaml:2:1: "));
    EXPECT_THAT(message, HasSubstr("consent: []"));
}

TEST(PolicyTopLevel, GivenConsentMapping_WhenParsed_ThenWrongTypeError) {
    const std::string message = error_of("consent:\n  recipient: r\n  basis: always\n");
    EXPECT_THAT(message, StartsWith("policy.yaml:2:3: "));
    EXPECT_THAT(message, HasSubstr("`consent` must be a list of grants"));
    EXPECT_THAT(message, HasSubstr("found a mapping"));
}

TEST(PolicyTopLevel, GivenRootIsList_WhenParsed_ThenWrongTypeError) {
    const std::string message = error_of("- consent: []\n");
    EXPECT_THAT(message, StartsWith("policy.yaml:1:1: "));
    EXPECT_THAT(message, HasSubstr("found a list"));
}

TEST(PolicyTopLevel, GivenDuplicateConsentKey_WhenParsed_ThenErrorNamesBoth) {
    const std::string message = error_of("consent: []\nconsent: []\n");
    EXPECT_THAT(message, StartsWith("policy.yaml:2:1: "));
    EXPECT_THAT(message, HasSubstr("duplicate top-level key `consent` (first at policy.yaml:1:1)"));
}

TEST(PolicyTopLevel, GivenYamlNodeFromScenarioLoader_WhenConverted_ThenSameAsText) {
    const YAML::Node root = YAML::Load(std::string(kProtocolExample));
    auto policy = policy_from_yaml(root, "scenario.yaml");
    ASSERT_TRUE(policy.ok()) << policy.error().message;
    EXPECT_EQ(policy->source(), "scenario.yaml");
    ASSERT_EQ(policy->grants().size(), 2U);
    EXPECT_EQ(to_string(policy->grants()[1].where), "scenario.yaml:8:5");
}

// ---------------------------------------------------------------------------------------------
// Timezone
// ---------------------------------------------------------------------------------------------

TEST(PolicyTimezone, GivenUnknownZone_WhenParsed_ThenErrorAtValue) {
    const std::string message = error_of("timezone: Europe/Berln\nconsent: []\n");
    EXPECT_THAT(message, StartsWith("policy.yaml:1:11: "));
    EXPECT_THAT(message, HasSubstr("unknown timezone \"Europe/Berln\""));
}

TEST(PolicyTimezone, GivenZoneAsList_WhenParsed_ThenWrongTypeError) {
    const std::string message = error_of("consent: []\ntimezone: [Europe/Berlin]\n");
    EXPECT_THAT(message, StartsWith("policy.yaml:2:11: "));
    EXPECT_THAT(message, HasSubstr("found a list"));
}

TEST(PolicyTimezone, GivenEmptyZone_WhenParsed_ThenErrorAtKey) {
    const std::string message = error_of("timezone:\nconsent: []\n");
    EXPECT_THAT(message, StartsWith("policy.yaml:1:1: "));
    EXPECT_THAT(message, HasSubstr("`timezone` must be an IANA timezone name"));
}

// ---------------------------------------------------------------------------------------------
// Grant errors
// ---------------------------------------------------------------------------------------------

TEST(PolicyErrors, GivenMalformedYaml_WhenParsed_ThenLocationAndParserMessage) {
    const std::string message = error_of("consent:\n  - recipient: r\n    categories: [all\n");
    EXPECT_THAT(message, StartsWith("policy.yaml:4:1: "));
    EXPECT_THAT(message, HasSubstr("end of sequence flow not found"));
}

TEST(PolicyErrors, GivenBadIndentation_WhenParsed_ThenLocationOfTheProblem) {
    const std::string message = error_of("consent:\n  - recipient: r\n   basis: always\n");
    EXPECT_THAT(message, StartsWith("policy.yaml:3:4: "));
}

TEST(PolicyErrors, GivenUndefinedAlias_WhenParsed_ThenLocationAndMessage) {
    const std::string message = error_of(grant_yaml("    categories: *cats\n    basis: always\n"));
    EXPECT_THAT(message, StartsWith("policy.yaml:3:17: "));
    EXPECT_THAT(message, HasSubstr("anchor"));
}

TEST(PolicyErrors, GivenUnknownCategory_WhenParsed_ThenNamesItWithItsLocation) {
    const std::string message =
        error_of("consent:\n  - recipient: r\n    basis: always\n    categories: [temperature, temprature]\n");
    EXPECT_EQ(message,
              "policy.yaml:4:31: unknown category \"temprature\" (expected one of temperature, humidity, setpoint, "
              "hvac_mode, hvac_state, occupancy, lock_state, door_state, battery, connectivity, all)");
}

TEST(PolicyErrors, GivenCategoryInWrongCase_WhenParsed_ThenUnknown) {
    EXPECT_THAT(error_of(grant_yaml("    basis: always\n    categories: [Temperature]\n")),
                HasSubstr("unknown category \"Temperature\""));
}

TEST(PolicyErrors, GivenUnknownBasis_WhenParsed_ThenNamesItAndTheChoices) {
    const std::string message = error_of(grant_yaml("    categories: [all]\n    basis: sometimes\n"));
    EXPECT_EQ(message,
              "policy.yaml:4:12: unknown basis \"sometimes\" (expected always, schedule, interaction or never)");
}

TEST(PolicyErrors, GivenMissingBasis_WhenParsed_ThenErrorAtGrant) {
    const std::string message = error_of(grant_yaml("    categories: [all]\n"));
    EXPECT_THAT(message, StartsWith("policy.yaml:2:5: grant for \"r\" has no `basis:`"));
}

TEST(PolicyErrors, GivenMissingCategories_WhenParsed_ThenErrorAtGrant) {
    const std::string message = error_of(grant_yaml("    basis: always\n"));
    EXPECT_THAT(message, StartsWith("policy.yaml:2:5: grant for \"r\" has no `categories:`"));
}

TEST(PolicyErrors, GivenEmptyCategories_WhenParsed_ThenError) {
    const std::string message = error_of(grant_yaml("    basis: always\n    categories: []\n"));
    EXPECT_THAT(message, StartsWith("policy.yaml:4:17: "));
    EXPECT_THAT(message, HasSubstr("empty list"));
}

TEST(PolicyErrors, GivenMissingRecipient_WhenParsed_ThenErrorAtGrant) {
    const std::string message =
        error_of("consent:\n  - recipient: a\n    basis: always\n    categories: [all]\n"
                 "  - basis: always\n    categories: [all]\n");
    EXPECT_THAT(message, StartsWith("policy.yaml:5:5: grant has no `recipient:`"));
}

TEST(PolicyErrors, GivenEmptyRecipient_WhenParsed_ThenError) {
    const std::string message = error_of("consent:\n  - recipient: \"\"\n    basis: always\n    categories: [all]\n");
    EXPECT_THAT(message, StartsWith("policy.yaml:2:16: `recipient` is empty"));
}

TEST(PolicyErrors, GivenMissingWithin_WhenParsed_ThenErrorAtGrant) {
    const std::string message = error_of(grant_yaml("    categories: [setpoint]\n    basis: interaction\n"));
    EXPECT_THAT(message, StartsWith("policy.yaml:2:5: "));
    EXPECT_THAT(message, HasSubstr("basis: interaction but no `within:`"));
}

TEST(PolicyErrors, GivenWithinOnAlwaysGrant_WhenParsed_ThenErrorAtKey) {
    const std::string message = error_of(grant_yaml("    categories: [setpoint]\n    basis: always\n    within: 120s\n"));
    EXPECT_EQ(message,
              "policy.yaml:5:5: `within` only applies to basis: interaction (this grant's basis is always)");
}

TEST(PolicyErrors, GivenMalformedWithin_WhenParsed_ThenErrorAtValue) {
    const std::string message =
        error_of(grant_yaml("    categories: [setpoint]\n    basis: interaction\n    within: soon\n"));
    EXPECT_THAT(message, StartsWith("policy.yaml:5:13: `within` \"soon\" is not a duration"));
}

TEST(PolicyErrors, GivenZeroWithin_WhenParsed_ThenError) {
    const std::string message = error_of(grant_yaml("    categories: [setpoint]\n    basis: interaction\n    within: 0s\n"));
    EXPECT_THAT(message, StartsWith("policy.yaml:5:13: `within` must be longer than 0"));
}

TEST(PolicyErrors, GivenScheduleWithoutWindows_WhenParsed_ThenErrorAtGrant) {
    const std::string message = error_of(grant_yaml("    categories: [all]\n    basis: schedule\n"));
    EXPECT_THAT(message, StartsWith("policy.yaml:2:5: "));
    EXPECT_THAT(message, HasSubstr("basis: schedule but no `windows:`"));
}

TEST(PolicyErrors, GivenScheduleWithEmptyWindows_WhenParsed_ThenError) {
    const std::string message = error_of(grant_yaml("    categories: [all]\n    basis: schedule\n    windows: []\n"));
    EXPECT_THAT(message, StartsWith("policy.yaml:5:14: `windows` is an empty list"));
}

TEST(PolicyErrors, GivenWindowsOnAlwaysGrant_WhenParsed_ThenErrorAtKey) {
    const std::string message =
        error_of(grant_yaml("    categories: [all]\n    basis: never\n    windows: [\"08:00-09:00\"]\n"));
    EXPECT_EQ(message, "policy.yaml:5:5: `windows` only applies to basis: schedule (this grant's basis is never)");
}

TEST(PolicyErrors, GivenBadWindowString_WhenParsed_ThenErrorAtThatWindow) {
    const std::string message = error_of(grant_yaml(
        "    categories: [all]\n    basis: schedule\n    windows:\n      - Mon-Fri 08:00-20:00\n"
        "      - Mon-Fry 08:00-20:00\n"));
    EXPECT_THAT(message, StartsWith("policy.yaml:7:9: bad schedule window \"Mon-Fry 08:00-20:00\": unknown day \"Fry\""));
}

TEST(PolicyErrors, GivenEmptyStartEqualsEndWindow_WhenParsed_ThenAmbiguousError) {
    const std::string message =
        error_of(grant_yaml("    categories: [all]\n    basis: schedule\n    windows: [\"Mon 08:00-08:00\"]\n"));
    EXPECT_THAT(message, StartsWith("policy.yaml:5:15: bad schedule window"));
    EXPECT_THAT(message, HasSubstr("ambiguous"));
}

TEST(PolicyErrors, GivenUnknownGrantKey_WhenParsed_ThenNamesKeyAndAllowedKeys) {
    const std::string message =
        error_of(grant_yaml("    categories: [all]\n    basis: always\n    windws: [\"08:00-09:00\"]\n"));
    EXPECT_EQ(message,
              "policy.yaml:5:5: unknown key \"windws\" in a grant (allowed: recipient, devices, categories, basis, "
              "within, windows, from, until)");
}

TEST(PolicyErrors, GivenDuplicateGrantKey_WhenParsed_ThenErrorNamesFirst) {
    const std::string message =
        error_of(grant_yaml("    categories: [all]\n    basis: always\n    basis: never\n"));
    EXPECT_EQ(message, "policy.yaml:5:5: duplicate key `basis` in this grant (first at policy.yaml:4:5)");
}

TEST(PolicyErrors, GivenGrantIsText_WhenParsed_ThenWrongTypeError) {
    const std::string message = error_of("consent:\n  - voice-partner\n");
    EXPECT_THAT(message, StartsWith("policy.yaml:2:5: each `consent` item must be a mapping"));
}

TEST(PolicyErrors, GivenGrantKeyIsList_WhenParsed_ThenWrongTypeError) {
    const std::string message = error_of("consent:\n  - {recipient: r, [a]: b}\n");
    EXPECT_THAT(message, StartsWith("policy.yaml:2:20: a grant key must be a plain name"));
}

/// Wrong node types: each must give a located, plain-words error, never throw.
struct WrongType {
    const char* grant_lines;
    const char* location;
    const char* words;
};
/// Test names say the case ("3:17 `categories` must be a list"), not the struct's bytes.
void PrintTo(const WrongType& c, std::ostream* os) { *os << c.location << " " << c.words; }

class PolicyWrongTypes : public ::testing::TestWithParam<WrongType> {};

TEST_P(PolicyWrongTypes, GivenWrongNodeType_WhenParsed_ThenLocatedErrorNotException) {
    const WrongType& c = GetParam();
    std::string message;
    ASSERT_NO_THROW(message = error_of(grant_yaml(c.grant_lines)));
    EXPECT_THAT(message, StartsWith(std::string("policy.yaml:") + c.location + ": ")) << message;
    EXPECT_THAT(message, HasSubstr(c.words)) << message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PolicyWrongTypes,
    ::testing::Values(
        WrongType{"    categories: {temperature: true}\n    basis: always\n", "3:17",
                  "`categories` must be a list"},
        WrongType{"    categories: temperature\n    basis: always\n", "3:17", "found the text \"temperature\""},
        WrongType{"    categories:\n    basis: always\n", "3:5", "found no value"},
        WrongType{"    categories: [[temperature]]\n    basis: always\n", "3:18", "each category must be a name"},
        WrongType{"    categories: [all]\n    basis: [always]\n", "4:12", "`basis` must be one of"},
        WrongType{"    categories: [all]\n    basis: {a: b}\n", "4:12", "found a mapping"},
        WrongType{"    categories: [all]\n    basis: always\n    devices: {thermo-1: yes}\n", "5:14",
                  "`devices` must be a list of device ids"},
        WrongType{"    categories: [all]\n    basis: always\n    devices: thermo-1\n", "5:14",
                  "write [thermo-1] for a single device"},
        WrongType{"    categories: [all]\n    basis: always\n    devices: []\n", "5:14", "`devices` is an empty list"},
        WrongType{"    categories: [all]\n    basis: always\n    devices: [{id: x}]\n", "5:15",
                  "each device must be a device id"},
        WrongType{"    categories: [all]\n    basis: interaction\n    within: [120s]\n", "5:13",
                  "`within` must be a duration"},
        WrongType{"    categories: [all]\n    basis: schedule\n    windows: \"08:00-09:00\"\n", "5:14",
                  "`windows` must be a list of windows"},
        WrongType{"    categories: [all]\n    basis: schedule\n    windows: [[\"08:00-09:00\"]]\n", "5:15",
                  "each window must be text"},
        WrongType{"    categories: [all]\n    basis: always\n    until: {in: 3h}\n", "5:12", "found a mapping"}));

TEST(PolicyErrors, GivenRecipientAsList_WhenParsed_ThenWrongTypeError) {
    const std::string message = error_of("consent:\n  - recipient: [a, b]\n    basis: always\n    categories: [all]\n");
    EXPECT_THAT(message, StartsWith("policy.yaml:2:16: `recipient` must be the partner's name"));
    EXPECT_THAT(message, HasSubstr("found a list"));
}

TEST(PolicyErrors, GivenLongOrControlValues_WhenReported_ThenEscapedAndCut) {
    const std::string long_name(200, 'x');
    const std::string message = error_of(grant_yaml("    categories: [all]\n    basis: \"" + long_name + "\\n\"\n"));
    EXPECT_THAT(message, HasSubstr("unknown basis \"" + std::string(60, 'x') + "…\""));
    EXPECT_EQ(message.find('\n'), std::string::npos);
    const std::string control = error_of(grant_yaml("    categories: [all]\n    basis: \"a\\tb\\u0001\"\n"));
    EXPECT_THAT(control, HasSubstr("unknown basis \"a\\tb\\x01\""));
}

TEST(PolicyErrors, GivenManyBrokenDocuments_WhenParsed_ThenNeverThrows) {
    const std::vector<std::string> docs = {
        "consent: [1, 2, 3]\n",
        "consent: [[]]\n",
        "consent: [{}]\n",
        "consent: !!binary aGVsbG8=\n",
        "consent:\n  - recipient: r\n    categories: [~]\n    basis: always\n",
        "consent:\n  - recipient: ~\n",
        "consent:\n  - recipient: r\n    categories: [all]\n    basis: ~\n",
        "consent:\n  - recipient: r\n    categories: [all]\n    basis: schedule\n    windows: [~]\n",
        "consent:\n  - recipient: r\n    categories: [all]\n    basis: always\n    from: ~\n",
        "timezone: ~\nconsent: []\n",
        "timezone: {a: 1}\nconsent: []\n",
        "? [a]\n: b\nconsent: []\n",
        "consent: &a [*a]\n",
        "\t\tconsent: []\n",
        "consent: \"\xff\xfe\"\n",
        std::string("consent: [\0]\n", 13),
    };
    for (const auto& doc : docs) {
        bool ok = false;
        EXPECT_NO_THROW(ok = parse_policy(doc, kFile).ok()) << doc;
        (void)ok;
    }
    // The ones that are errors are located errors.
    EXPECT_THAT(error_of(docs[0]), StartsWith("policy.yaml:1:11: each `consent` item must be a mapping"));
    EXPECT_THAT(error_of(docs[4]), StartsWith("policy.yaml:3:17: each category must be a name"));
    EXPECT_THAT(error_of(docs[5]), StartsWith("policy.yaml:2:5: `recipient` must be"));
}

// ---------------------------------------------------------------------------------------------
// Window syntax
// ---------------------------------------------------------------------------------------------

struct WindowCase {
    const char* text;
    std::uint8_t days;
    std::int32_t start_minute;
    std::int32_t end_minute;
};
void PrintTo(const WindowCase& c, std::ostream* os) { *os << c.text; }

class ScheduleWindowSyntax : public ::testing::TestWithParam<WindowCase> {};

TEST_P(ScheduleWindowSyntax, GivenValidWindow_WhenParsed_ThenDaysAndMinutes) {
    const WindowCase& c = GetParam();
    std::string why;
    const auto window = parse_schedule_window(c.text, &why);
    ASSERT_TRUE(window.has_value()) << c.text << ": " << why;
    EXPECT_EQ(window->days, c.days) << c.text;
    EXPECT_EQ(window->start_minute, c.start_minute) << c.text;
    EXPECT_EQ(window->end_minute, c.end_minute) << c.text;
    EXPECT_EQ(window->text, c.text);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ScheduleWindowSyntax,
    ::testing::Values(WindowCase{"Mon-Fri 08:00-20:00", kWeekdays, 480, 1200},
                      WindowCase{"Sat 10:00-12:00", kSat, 600, 720},
                      WindowCase{"Mon,Wed,Fri 07:30-09:00", kMon | kWed | kFri, 450, 540},
                      WindowCase{"Mon, Wed ,Fri 07:30-09:00", kMon | kWed | kFri, 450, 540},
                      WindowCase{"Sat-Sun 00:00-24:00", kSat | kSun, 0, kMinutesPerDay},
                      WindowCase{"Fri-Mon 22:00-06:00", kFri | kSat | kSun | kMon, 1320, 360},
                      WindowCase{"Sun-Sat 12:00-13:00", kAllDays, 720, 780},
                      WindowCase{"Mon-Mon 12:00-13:00", kMon, 720, 780},
                      WindowCase{"Mon-Wed,Sat 12:00-13:00", kMon | kTue | kWed | kSat, 720, 780},
                      WindowCase{"08:00-20:00", kAllDays, 480, 1200},
                      WindowCase{"daily 08:00-20:00", kAllDays, 480, 1200},
                      WindowCase{"DAILY 08:00-20:00", kAllDays, 480, 1200},
                      WindowCase{"monday-FRIDAY 8:00-9:30", kWeekdays, 480, 570},
                      WindowCase{"Thursday 23:59-24:00", kThu, 1439, kMinutesPerDay},
                      WindowCase{"Sun 22:00-00:00", kSun, 1320, kMinutesPerDay},
                      WindowCase{"  Tue   00:00-00:01  ", kTue, 0, 1}));

class ScheduleWindowErrors : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(ScheduleWindowErrors, GivenMalformedWindow_WhenParsed_ThenNulloptWithReason) {
    const auto& [text, words] = GetParam();
    std::string why;
    EXPECT_FALSE(parse_schedule_window(text, &why).has_value()) << text;
    EXPECT_THAT(why, HasSubstr(words)) << text;
    EXPECT_FALSE(parse_schedule_window(text, nullptr).has_value()) << text;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ScheduleWindowErrors,
    ::testing::Values(std::pair{"", "empty window"}, std::pair{"   ", "empty window"},
                      std::pair{"Mon-Fri", "no time range"}, std::pair{"Mon-Fri 8-20", "time \"8\" is not HH:MM"},
                      std::pair{"Mon-Fri 08:00-24:01", "time \"24:01\""},
                      std::pair{"Mon-Fri 25:00-26:00", "time \"25:00\""},
                      std::pair{"Mon-Fri 08:60-09:00", "time \"08:60\""},
                      std::pair{"Mon-Fri 08:00-9:5", "time \"9:5\""},
                      std::pair{"Mon-Fri 008:00-09:00", "time \"008:00\""},
                      std::pair{"Mon-Fri 24:00-02:00", "cannot start at 24:00"},
                      std::pair{"Mon 08:00-08:00", "ambiguous"}, std::pair{"Mon 00:00-00:00", "ambiguous"},
                      std::pair{"Mnday 08:00-09:00", "unknown day \"Mnday\""},
                      std::pair{"Mon-Fry 08:00-09:00", "unknown day \"Fry\""},
                      std::pair{"Mon,,Fri 08:00-09:00", "empty day"},
                      std::pair{"Mon Fri 08:00-09:00", "unknown day \"Mon Fri\""},
                      std::pair{"Mon-Fri 08:00 - 20:00", "no time range"},
                      std::pair{"Mon-Fri 08:00-20:00-21:00", "time \"20:00-21:00\""}));

// ---------------------------------------------------------------------------------------------
// in_schedule in UTC
// ---------------------------------------------------------------------------------------------

TEST(ScheduleUtc, GivenWeekdayWindow_WhenAtEdges_ThenStartIncludedEndExcluded) {
    const Policy policy = schedule_policy("Mon-Fri 08:00-20:00");
    // 2026-01-05 is a Monday.
    EXPECT_FALSE(in_window(policy, "2026-01-05T07:59:59.999Z"));
    EXPECT_TRUE(in_window(policy, "2026-01-05T08:00:00.000Z"));
    EXPECT_TRUE(in_window(policy, "2026-01-05T08:00:00.001Z"));
    EXPECT_TRUE(in_window(policy, "2026-01-05T19:59:59.999Z"));
    EXPECT_FALSE(in_window(policy, "2026-01-05T20:00:00.000Z"));
    EXPECT_FALSE(in_window(policy, "2026-01-05T20:00:00.001Z"));
    EXPECT_TRUE(in_window(policy, "2026-01-09T12:00:00Z"));   // Friday
    EXPECT_FALSE(in_window(policy, "2026-01-10T12:00:00Z"));  // Saturday
    EXPECT_FALSE(in_window(policy, "2026-01-11T12:00:00Z"));  // Sunday
}

TEST(ScheduleUtc, GivenWindowPastMidnight_WhenChecked_ThenMorningBelongsToStartDay) {
    const Policy policy = schedule_policy("Fri 22:00-06:00");
    EXPECT_FALSE(in_window(policy, "2026-01-09T21:59:59.999Z"));  // Friday
    EXPECT_TRUE(in_window(policy, "2026-01-09T22:00:00Z"));
    EXPECT_TRUE(in_window(policy, "2026-01-09T23:59:59.999Z"));
    EXPECT_TRUE(in_window(policy, "2026-01-10T00:00:00Z"));  // Saturday morning
    EXPECT_TRUE(in_window(policy, "2026-01-10T05:59:59.999Z"));
    EXPECT_FALSE(in_window(policy, "2026-01-10T06:00:00Z"));
    EXPECT_FALSE(in_window(policy, "2026-01-10T22:00:00Z"));  // Saturday evening is not a start day
    EXPECT_FALSE(in_window(policy, "2026-01-09T03:00:00Z"));  // Friday morning belongs to Thursday
    EXPECT_FALSE(in_window(policy, "2026-01-08T23:00:00Z"));  // Thursday evening
}

TEST(ScheduleUtc, GivenWrappingDayRange_WhenChecked_ThenFridayToMondayEvenings) {
    const Policy policy = schedule_policy("Fri-Mon 22:00-06:00");
    EXPECT_TRUE(in_window(policy, "2026-01-12T22:00:00Z"));       // Monday evening
    EXPECT_TRUE(in_window(policy, "2026-01-13T05:59:59.999Z"));   // Tuesday morning, after Monday
    EXPECT_FALSE(in_window(policy, "2026-01-13T06:00:00Z"));
    EXPECT_FALSE(in_window(policy, "2026-01-13T22:00:00Z"));      // Tuesday evening
    EXPECT_FALSE(in_window(policy, "2026-01-14T03:00:00Z"));      // Wednesday morning
    EXPECT_FALSE(in_window(policy, "2026-01-08T23:00:00Z"));      // Thursday evening
    EXPECT_TRUE(in_window(policy, "2026-01-09T23:00:00Z"));       // Friday evening
    EXPECT_TRUE(in_window(policy, "2026-01-10T03:00:00Z"));       // Saturday morning
    EXPECT_TRUE(in_window(policy, "2026-01-11T23:30:00Z"));       // Sunday evening
    EXPECT_FALSE(in_window(policy, "2026-01-10T12:00:00Z"));      // Saturday noon
    EXPECT_EQ(minutes_inside(policy, "2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z"), 4 * 8 * kMinutesPerHour);
}

TEST(ScheduleUtc, GivenWholeWeekendWindow_WhenChecked_ThenSaturdayAndSundayOnly) {
    const Policy policy = schedule_policy("Sat-Sun 00:00-24:00");
    EXPECT_FALSE(in_window(policy, "2026-01-09T23:59:59.999Z"));
    EXPECT_TRUE(in_window(policy, "2026-01-10T00:00:00Z"));
    EXPECT_TRUE(in_window(policy, "2026-01-11T23:59:59.999Z"));
    EXPECT_FALSE(in_window(policy, "2026-01-12T00:00:00Z"));
}

TEST(ScheduleUtc, GivenEndAtMidnight_WhenChecked_ThenLastMillisecondOfDayIncluded) {
    const Policy policy = schedule_policy("Mon 22:00-24:00");
    EXPECT_TRUE(in_window(policy, "2026-01-05T23:59:59.999Z"));
    EXPECT_FALSE(in_window(policy, "2026-01-06T00:00:00Z"));
}

TEST(ScheduleUtc, GivenSeveralWindows_WhenChecked_ThenAnyWindowCounts) {
    const Policy policy = load(grant_yaml(
        "    categories: [all]\n    basis: schedule\n    windows: [\"Mon-Fri 08:00-09:00\", \"Sat 10:00-12:00\"]\n"));
    EXPECT_TRUE(in_window(policy, "2026-01-06T08:30:00Z"));
    EXPECT_TRUE(in_window(policy, "2026-01-10T11:59:59.999Z"));
    EXPECT_FALSE(in_window(policy, "2026-01-10T08:30:00Z"));
    EXPECT_FALSE(in_window(policy, "2026-01-06T11:00:00Z"));
}

TEST(ScheduleUtc, GivenDefaultPolicy_WhenToLocal_ThenUtcWeekdayAndTimeOfDay) {
    const Policy policy;
    const auto monday = policy.to_local(at("2026-01-05T03:12:09.120Z"));
    EXPECT_EQ(monday.weekday, 1);
    EXPECT_EQ(monday.ms_of_day, 3 * kMsPerHour + 12 * kMsPerMinute + 9 * kMsPerSecond + 120);
    const auto epoch = policy.to_local(0);
    EXPECT_EQ(epoch.weekday, 4);  // Thursday
    EXPECT_EQ(epoch.ms_of_day, 0);
    const auto before_epoch = policy.to_local(-1);
    EXPECT_EQ(before_epoch.weekday, 3);  // Wednesday 1969-12-31
    EXPECT_EQ(before_epoch.ms_of_day, kMsPerDay - 1);
}

TEST(ScheduleUtc, GivenExtremeInstants_WhenToLocal_ThenNoOverflow) {
    const Policy berlin = schedule_policy("08:00-20:00", "Europe/Berlin");
    for (const TimeMs t : {std::numeric_limits<TimeMs>::min(), std::numeric_limits<TimeMs>::max()}) {
        const auto local = berlin.to_local(t);
        EXPECT_GE(local.weekday, 0);
        EXPECT_LT(local.weekday, 7);
        EXPECT_GE(local.ms_of_day, 0);
        EXPECT_LT(local.ms_of_day, kMsPerDay);
    }
}

// ---------------------------------------------------------------------------------------------
// DST: windows are local wall-clock times
// ---------------------------------------------------------------------------------------------

TEST(ScheduleDst, GivenBerlinDaytimeWindow_WhenSpringForward_ThenStartsAnHourEarlierInUtc) {
    const Policy policy = schedule_policy("08:00-20:00", "Europe/Berlin");
    // Saturday 2026-03-28, CET (UTC+1).
    EXPECT_FALSE(in_window(policy, "2026-03-28T06:59:59.999Z"));
    EXPECT_TRUE(in_window(policy, "2026-03-28T07:00:00Z"));
    EXPECT_TRUE(in_window(policy, "2026-03-28T18:59:59.999Z"));
    EXPECT_FALSE(in_window(policy, "2026-03-28T19:00:00Z"));
    // Sunday 2026-03-29, CEST (UTC+2) from 01:00Z.
    EXPECT_FALSE(in_window(policy, "2026-03-29T05:59:59.999Z"));
    EXPECT_TRUE(in_window(policy, "2026-03-29T06:00:00Z"));
    EXPECT_FALSE(in_window(policy, "2026-03-29T18:00:00Z"));
    // Monday 2026-03-30.
    EXPECT_FALSE(in_window(policy, "2026-03-30T05:59:59.999Z"));
    EXPECT_TRUE(in_window(policy, "2026-03-30T06:00:00Z"));
    EXPECT_TRUE(in_window(policy, "2026-03-30T17:59:59.999Z"));
    EXPECT_FALSE(in_window(policy, "2026-03-30T18:00:00Z"));
}

TEST(ScheduleDst, GivenBerlinDaytimeWindow_WhenFallBack_ThenStartsAnHourLaterInUtc) {
    const Policy policy = schedule_policy("08:00-20:00", "Europe/Berlin");
    // Saturday 2026-10-24, CEST (UTC+2).
    EXPECT_FALSE(in_window(policy, "2026-10-24T05:59:59.999Z"));
    EXPECT_TRUE(in_window(policy, "2026-10-24T06:00:00Z"));
    EXPECT_FALSE(in_window(policy, "2026-10-24T18:00:00Z"));
    // Sunday 2026-10-25, CET (UTC+1) from 01:00Z.
    EXPECT_FALSE(in_window(policy, "2026-10-25T06:59:59.999Z"));
    EXPECT_TRUE(in_window(policy, "2026-10-25T07:00:00Z"));
    EXPECT_TRUE(in_window(policy, "2026-10-25T18:59:59.999Z"));
    EXPECT_FALSE(in_window(policy, "2026-10-25T19:00:00Z"));
}

TEST(ScheduleDst, GivenBerlinSpringForward_WhenToLocal_ThenClockJumpsFromTwoToThree) {
    const Policy policy = schedule_policy("08:00-20:00", "Europe/Berlin");
    const auto before = policy.to_local(at("2026-03-29T00:59:59.999Z"));
    EXPECT_EQ(before.weekday, 0);
    EXPECT_EQ(before.ms_of_day, 2 * kMsPerHour - 1);
    const auto after = policy.to_local(at("2026-03-29T01:00:00Z"));
    EXPECT_EQ(after.weekday, 0);
    EXPECT_EQ(after.ms_of_day, 3 * kMsPerHour);
}

TEST(ScheduleDst, GivenBerlinFallBack_WhenToLocal_ThenTwoOClockHappensTwice) {
    const Policy policy = schedule_policy("08:00-20:00", "Europe/Berlin");
    EXPECT_EQ(policy.to_local(at("2026-10-25T00:00:00Z")).ms_of_day, 2 * kMsPerHour);
    EXPECT_EQ(policy.to_local(at("2026-10-25T01:00:00Z")).ms_of_day, 2 * kMsPerHour);
}

TEST(ScheduleDst, GivenWindowInsideSpringGap_WhenGapDay_ThenNeverOpen) {
    const Policy policy = schedule_policy("02:00-03:00", "Europe/Berlin");
    // The day before: 02:00 CET is 01:00Z.
    EXPECT_TRUE(in_window(policy, "2026-03-28T01:00:00Z"));
    // On the change day local 02:00-02:59 does not exist.
    EXPECT_FALSE(in_window(policy, "2026-03-29T00:59:59.999Z"));  // 01:59:59.999 CET
    EXPECT_FALSE(in_window(policy, "2026-03-29T01:00:00Z"));      // 03:00 CEST
    EXPECT_EQ(minutes_inside(policy, "2026-03-28T22:00:00Z", "2026-03-29T22:00:00Z"), 0);
    // The day after, 02:00 CEST is 00:00Z.
    EXPECT_TRUE(in_window(policy, "2026-03-30T00:00:00Z"));
}

TEST(ScheduleDst, GivenWindowStartingInSpringGap_WhenGapDay_ThenOpensAtThreeShortened) {
    const Policy policy = schedule_policy("02:30-04:00", "Europe/Berlin");
    EXPECT_FALSE(in_window(policy, "2026-03-29T00:59:59.999Z"));
    EXPECT_TRUE(in_window(policy, "2026-03-29T01:00:00Z"));  // 03:00 CEST
    EXPECT_TRUE(in_window(policy, "2026-03-29T01:59:59.999Z"));
    EXPECT_FALSE(in_window(policy, "2026-03-29T02:00:00Z"));  // 04:00 CEST
    EXPECT_EQ(minutes_inside(policy, "2026-03-28T22:00:00Z", "2026-03-29T22:00:00Z"), 60);
    EXPECT_EQ(minutes_inside(policy, "2026-03-27T23:00:00Z", "2026-03-28T23:00:00Z"), 90);
}

TEST(ScheduleDst, GivenWindowEndingInSpringGap_WhenGapDay_ThenClosesAtTheJump) {
    const Policy policy = schedule_policy("01:30-02:30", "Europe/Berlin");
    EXPECT_TRUE(in_window(policy, "2026-03-29T00:30:00Z"));       // 01:30 CET
    EXPECT_TRUE(in_window(policy, "2026-03-29T00:59:59.999Z"));   // 01:59:59.999 CET
    EXPECT_FALSE(in_window(policy, "2026-03-29T01:00:00Z"));      // 03:00 CEST
    EXPECT_EQ(minutes_inside(policy, "2026-03-28T22:00:00Z", "2026-03-29T22:00:00Z"), 30);
}

TEST(ScheduleDst, GivenWindowInsideRepeatedHour_WhenFallBackDay_ThenOpenForBothPasses) {
    const Policy policy = schedule_policy("02:00-03:00", "Europe/Berlin");
    EXPECT_FALSE(in_window(policy, "2026-10-24T23:59:59.999Z"));  // 01:59:59.999 CEST
    EXPECT_TRUE(in_window(policy, "2026-10-25T00:00:00Z"));       // 02:00 CEST
    EXPECT_TRUE(in_window(policy, "2026-10-25T00:59:59.999Z"));   // 02:59:59.999 CEST
    EXPECT_TRUE(in_window(policy, "2026-10-25T01:00:00Z"));       // 02:00 CET
    EXPECT_TRUE(in_window(policy, "2026-10-25T01:59:59.999Z"));   // 02:59:59.999 CET
    EXPECT_FALSE(in_window(policy, "2026-10-25T02:00:00Z"));      // 03:00 CET
    EXPECT_EQ(minutes_inside(policy, "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"), 120);
}

TEST(ScheduleDst, GivenWindowEndingInRepeatedHour_WhenFallBackDay_ThenReopensOnSecondPass) {
    const Policy policy = schedule_policy("01:00-02:30", "Europe/Berlin");
    EXPECT_TRUE(in_window(policy, "2026-10-24T23:00:00Z"));       // 01:00 CEST
    EXPECT_FALSE(in_window(policy, "2026-10-25T00:30:00Z"));      // 02:30 CEST
    EXPECT_TRUE(in_window(policy, "2026-10-25T01:00:00Z"));       // 02:00 CET, wall clock inside again
    EXPECT_FALSE(in_window(policy, "2026-10-25T01:30:00Z"));      // 02:30 CET
    EXPECT_EQ(minutes_inside(policy, "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"), 90 + 30);
}

TEST(ScheduleDst, GivenOvernightWindowOverSpringForward_WhenChecked_ThenOneHourShorter) {
    const Policy policy = schedule_policy("Sat 22:00-06:00", "Europe/Berlin");
    // Sat 2026-03-28 22:00 CET = 21:00Z … Sun 06:00 CEST = 04:00Z: seven real hours.
    EXPECT_FALSE(in_window(policy, "2026-03-28T20:59:59.999Z"));
    EXPECT_TRUE(in_window(policy, "2026-03-28T21:00:00Z"));
    EXPECT_TRUE(in_window(policy, "2026-03-29T03:59:59.999Z"));
    EXPECT_FALSE(in_window(policy, "2026-03-29T04:00:00Z"));
    EXPECT_EQ(minutes_inside(policy, "2026-03-28T12:00:00Z", "2026-03-29T12:00:00Z"), 7 * kMinutesPerHour);
}

TEST(ScheduleDst, GivenLocalMondayStartsOnUtcSunday_WhenChecked_ThenLocalWeekdayDecides) {
    const Policy policy = schedule_policy("Mon 00:00-01:00", "Europe/Berlin");
    EXPECT_TRUE(in_window(policy, "2026-01-11T23:00:00Z"));   // Sunday in UTC, Monday 00:00 in Berlin
    EXPECT_FALSE(in_window(policy, "2026-01-12T00:00:00Z"));  // Monday 01:00 in Berlin
    EXPECT_FALSE(in_window(policy, "2026-01-12T00:30:00Z"));
}

TEST(ScheduleDst, GivenNewYorkDaytimeWindow_WhenSpringForward_ThenStartsAnHourEarlierInUtc) {
    const Policy policy = schedule_policy("08:00-20:00", "America/New_York");
    // Saturday 2026-03-07, EST (UTC-5); the change is Sunday 2026-03-08 02:00 EST = 07:00Z.
    EXPECT_FALSE(in_window(policy, "2026-03-07T12:59:59.999Z"));
    EXPECT_TRUE(in_window(policy, "2026-03-07T13:00:00Z"));
    EXPECT_FALSE(in_window(policy, "2026-03-08T01:00:00Z"));  // Sat 20:00 EST
    // Monday 2026-03-09, EDT (UTC-4).
    EXPECT_FALSE(in_window(policy, "2026-03-09T11:59:59.999Z"));
    EXPECT_TRUE(in_window(policy, "2026-03-09T12:00:00Z"));
    EXPECT_TRUE(in_window(policy, "2026-03-09T23:59:59.999Z"));
    EXPECT_FALSE(in_window(policy, "2026-03-10T00:00:00Z"));
}

TEST(ScheduleDst, GivenNewYorkFallBack_WhenChecked_ThenRepeatedHourCountsTwice) {
    const Policy daytime = schedule_policy("08:00-20:00", "America/New_York");
    EXPECT_TRUE(in_window(daytime, "2026-10-31T12:00:00Z"));   // Sat 08:00 EDT
    EXPECT_FALSE(in_window(daytime, "2026-11-02T12:59:59.999Z"));
    EXPECT_TRUE(in_window(daytime, "2026-11-02T13:00:00Z"));   // Mon 08:00 EST
    const Policy night = schedule_policy("01:00-02:00", "America/New_York");
    // Sunday 2026-11-01: 01:00 EDT = 05:00Z, clocks fall back at 06:00Z to 01:00 EST, 02:00 EST = 07:00Z.
    EXPECT_FALSE(in_window(night, "2026-11-01T04:59:59.999Z"));
    EXPECT_TRUE(in_window(night, "2026-11-01T05:00:00Z"));
    EXPECT_TRUE(in_window(night, "2026-11-01T06:30:00Z"));
    EXPECT_FALSE(in_window(night, "2026-11-01T07:00:00Z"));
    EXPECT_EQ(minutes_inside(night, "2026-11-01T04:00:00Z", "2026-11-02T04:00:00Z"), 120);
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

namespace {

class TempDir {
public:
    TempDir() {
        path_ = std::filesystem::temp_directory_path() /
                ("consentrig-policy-test-" + std::to_string(::getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

}  // namespace

TEST(PolicyFile, GivenPolicyFile_WhenLoaded_ThenSourceIsThePath) {
    const TempDir dir;
    const auto file = dir.path() / "policy.yaml";
    std::ofstream(file) << kProtocolExample;
    auto policy = load_policy_file(file);
    ASSERT_TRUE(policy.ok()) << policy.error().message;
    EXPECT_EQ(policy->source(), file.string());
    EXPECT_EQ(policy->grants().size(), 2U);
    EXPECT_EQ(policy->grants()[0].where.file, file.string());
}

TEST(PolicyFile, GivenBrokenPolicyFile_WhenLoaded_ThenErrorNamesThePath) {
    const TempDir dir;
    const auto file = dir.path() / "broken.yaml";
    std::ofstream(file) << "consent:\n  - recipient: r\n    basis: alwys\n    categories: [all]\n";
    auto policy = load_policy_file(file);
    ASSERT_FALSE(policy.ok());
    EXPECT_THAT(policy.error().message, StartsWith(file.string() + ":3:12: unknown basis \"alwys\""));
}

TEST(PolicyFile, GivenMissingFile_WhenLoaded_ThenCannotOpenWithReason) {
    const TempDir dir;
    const auto file = dir.path() / "nope.yaml";
    auto policy = load_policy_file(file);
    ASSERT_FALSE(policy.ok());
    EXPECT_EQ(policy.error().message, file.string() + ": cannot open: No such file or directory");
}

TEST(PolicyFile, GivenDirectory_WhenLoaded_ThenCannotOpen) {
    const TempDir dir;
    auto policy = load_policy_file(dir.path());
    ASSERT_FALSE(policy.ok());
    EXPECT_THAT(policy.error().message, StartsWith(dir.path().string() + ": cannot open: "));
}
