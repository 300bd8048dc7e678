// The oracle judged against PROTOCOL.md §4, rule by rule, with the edges the rules name.
#include "core/oracle.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

using namespace consentrig::core;
using nlohmann::json;

namespace {

constexpr const char* kStart = "2026-01-05T00:00:00.000Z";  // a Monday

TimeMs at(const char* rfc3339) {
    const auto t = parse_rfc3339(rfc3339);
    EXPECT_TRUE(t.has_value()) << rfc3339;
    return t.value_or(0);
}

std::string iso(TimeMs t) { return format_rfc3339(t); }

/// An Alexa ChangeReport carrying one temperature sample.
json alexa_temperature(TimeMs sampled, const std::string& cause = "PERIODIC_POLL") {
    return json{{"event",
                 {{"header", {{"namespace", "Alexa"}, {"name", "ChangeReport"}, {"messageId", "m-1"}, {"payloadVersion", "3"}}},
                  {"endpoint", {{"endpointId", "thermo-1"}}},
                  {"payload",
                   {{"change",
                     {{"cause", {{"type", cause}}},
                      {"properties",
                       json::array({{{"namespace", "Alexa.TemperatureSensor"},
                                     {"name", "temperature"},
                                     {"value", {{"value", 20.5}, {"scale", "CELSIUS"}}},
                                     {"timeOfSample", iso(sampled)},
                                     {"uncertaintyInMilliseconds", 0}}})}}}}}}},
                {"context", {{"properties", json::array()}}}};
}

/// Builds a trace line by line and judges it.
class TraceBuilder {
public:
    explicit TraceBuilder(std::string policy_yaml) : policy_yaml_(std::move(policy_yaml)) {
        meta_.start = at(kStart);
    }

    TraceBuilder& egress(TimeMs t, const std::string& to, const std::string& format, const json& body,
                         const std::string& device = "thermo-1") {
        return line(json{{"kind", "egress"}, {"t", iso(t)}, {"device", device}, {"to", to}, {"format", format}, {"body", body}});
    }
    TraceBuilder& temperature(TimeMs t, const std::string& to = "voice-partner", std::optional<TimeMs> sampled = {}) {
        return egress(t, to, "alexa", alexa_temperature(sampled.value_or(t)));
    }
    TraceBuilder& interaction(TimeMs t, const std::string& via, const std::string& recipient,
                              const std::string& device = "thermo-1") {
        json j{{"kind", "interaction"}, {"t", iso(t)}, {"device", device}, {"via", via}, {"action", "query"}};
        if (!recipient.empty()) j["recipient"] = recipient;
        return line(j);
    }
    TraceBuilder& consent(TimeMs t, const std::string& recipient, std::vector<std::string> cats, bool granted,
                          const std::string& device = "thermo-1") {
        return line(json{{"kind", "consent"}, {"t", iso(t)}, {"device", device}, {"recipient", recipient},
                         {"categories", cats}, {"granted", granted}});
    }
    TraceBuilder& link(TimeMs t, const std::string& recipient, bool linked, const std::string& device = "thermo-1") {
        return line(json{{"kind", "link"}, {"t", iso(t)}, {"device", device}, {"recipient", recipient}, {"linked", linked}});
    }
    TraceBuilder& truth(TimeMs t, const json& state, const std::string& device = "thermo-1") {
        return line(json{{"kind", "truth"}, {"t", iso(t)}, {"device", device}, {"state", state}});
    }
    TraceBuilder& line(const json& j) {
        lines_.push_back(j.dump());
        return *this;
    }

    std::vector<Finding> judge(OracleOptions options = {}) {
        auto policy = parse_policy(policy_yaml_, "policy.yaml");
        EXPECT_TRUE(policy.ok()) << (policy.ok() ? "" : policy.error().message);
        auto taxonomy = Taxonomy::builtin();
        EXPECT_TRUE(taxonomy.ok()) << (taxonomy.ok() ? "" : taxonomy.error().message);
        if (!policy.ok() || !taxonomy.ok()) return {};
        Oracle oracle(*policy, *taxonomy, options);
        oracle.begin(meta_);
        std::uint64_t n = 0;
        for (const auto& l : lines_) {
            auto r = parse_record(l, ++n);
            EXPECT_TRUE(r.ok()) << l << ": " << (r.ok() ? "" : r.error().message);
            if (!r.ok()) return {};
            auto s = oracle.feed(*r);
            last_status_ = s;
            if (!s.ok()) return {};
        }
        return oracle.finish();
    }

    Status last_status_;

private:
    std::string policy_yaml_;
    TraceMeta meta_;
    std::vector<std::string> lines_;
};

std::vector<std::string> types_of(const std::vector<Finding>& findings) {
    std::vector<std::string> out;
    for (const auto& f : findings) out.emplace_back(to_string(f.type));
    return out;
}

const char* const kInteractionPolicy = R"(
timezone: Europe/Berlin
consent:
  - recipient: voice-partner
    categories: [temperature, setpoint, hvac_mode]
    basis: interaction
    within: 120s
)";

const char* const kSchedulePolicy = R"(
timezone: Europe/Berlin
consent:
  - recipient: vendor-cloud
    categories: [all]
    basis: schedule
    windows: ["Mon-Fri 08:00-20:00"]
)";

}  // namespace

// ---- interaction basis -------------------------------------------------------------------

TEST(OracleInteraction, GivenVoiceInteraction_WhenSentInsideWindow_ThenNoFinding) {
    const TimeMs i = at("2026-01-05T10:00:00.000Z");
    TraceBuilder b(kInteractionPolicy);
    b.interaction(i, "voice", "voice-partner").temperature(i + 5000);
    EXPECT_TRUE(b.judge().empty());
}

TEST(OracleInteraction, GivenInteraction_WhenSentAtLastMillisecondOfWindow_ThenCovered) {
    const TimeMs i = at("2026-01-05T10:00:00.000Z");
    TraceBuilder b(kInteractionPolicy);
    b.interaction(i, "voice", "voice-partner").temperature(i + 120'000 - 1);
    EXPECT_TRUE(b.judge().empty());
}

TEST(OracleInteraction, GivenInteraction_WhenSentExactlyAtWindowEnd_ThenOutOfWindow) {
    const TimeMs i = at("2026-01-05T10:00:00.000Z");
    TraceBuilder b(kInteractionPolicy);
    b.interaction(i, "voice", "voice-partner").temperature(i + 120'000);
    const auto findings = b.judge();
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(findings[0].type, FindingType::out_of_window);
    EXPECT_EQ(findings[0].category, Category::temperature);
    EXPECT_EQ(findings[0].recipient, "voice-partner");
    EXPECT_EQ(findings[0].t, i + 120'000);
}

TEST(OracleInteraction, GivenInteractionInSameMillisecond_WhenSent_ThenCovered) {
    const TimeMs i = at("2026-01-05T10:00:00.000Z");
    TraceBuilder b(kInteractionPolicy);
    // The egress line comes first in the file; the interaction of the same ms still precedes it.
    b.temperature(i).interaction(i, "voice", "voice-partner");
    EXPECT_TRUE(b.judge().empty());
}

TEST(OracleInteraction, GivenInteractionViaOtherRecipient_WhenSent_ThenOutOfWindow) {
    const TimeMs i = at("2026-01-05T10:00:00.000Z");
    TraceBuilder b(kInteractionPolicy);
    b.interaction(i, "voice", "other-assistant").temperature(i + 1000);
    EXPECT_THAT(types_of(b.judge()), testing::ElementsAre("out_of_window"));
}

TEST(OracleInteraction, GivenProactiveReport_WhenJudged_ThenEvidenceExplainsEveryGrant) {
    const TimeMs t = at("2026-01-05T03:12:09.120Z");
    TraceBuilder b(kInteractionPolicy);
    b.temperature(t);
    const auto findings = b.judge();
    ASSERT_EQ(findings.size(), 1u);
    const json& e = findings[0].evidence;
    EXPECT_EQ(e["sent"], "2026-01-05T03:12:09.120Z");
    EXPECT_EQ(e["message"]["event"]["header"]["name"], "ChangeReport");
    ASSERT_EQ(e["consent_at_send"]["grants"].size(), 1u);
    EXPECT_EQ(e["consent_at_send"]["grants"][0]["holds"], false);
    EXPECT_THAT(e["consent_at_send"]["grants"][0]["why"].get<std::string>(), testing::HasSubstr("no interaction"));
    EXPECT_EQ(e["consent_at_send"]["grants"][0]["where"], "policy.yaml:4:5");
    EXPECT_EQ(e["fields"][0]["category"], "temperature");
}

// ---- schedule basis ----------------------------------------------------------------------

TEST(OracleSchedule, GivenWeekdayWindow_WhenSentAtItsEdges_ThenStartIncludedEndExcluded) {
    // Monday 2026-01-05, Berlin is UTC+1: the window is 07:00Z–19:00Z.
    const TimeMs open = at("2026-01-05T07:00:00.000Z");
    const TimeMs close = at("2026-01-05T19:00:00.000Z");
    TraceBuilder b(kSchedulePolicy);
    b.temperature(open - 1, "vendor-cloud")
        .temperature(open, "vendor-cloud")
        .temperature(close - 1, "vendor-cloud")
        .temperature(close, "vendor-cloud");
    const auto findings = b.judge();
    ASSERT_EQ(findings.size(), 2u);
    EXPECT_EQ(findings[0].t, open - 1);
    EXPECT_EQ(findings[1].t, close);
    EXPECT_EQ(findings[0].type, FindingType::out_of_window);
    EXPECT_EQ(findings[1].type, FindingType::out_of_window);
}

TEST(OracleSchedule, GivenWindowAcrossSpringForward_WhenSentAtLocalEight_ThenCoveredInBothOffsets) {
    const char* const policy = R"(
timezone: Europe/Berlin
consent:
  - recipient: vendor-cloud
    categories: [all]
    basis: schedule
    windows: ["Sat-Sun 08:00-09:00"]
)";
    // Saturday 2026-03-28 is UTC+1; Sunday 2026-03-29 (after 02:00 → 03:00) is UTC+2.
    TraceBuilder ordered(policy);
    ordered.temperature(at("2026-03-28T06:59:59.999Z"), "vendor-cloud")  // 07:59:59.999 CET: outside
        .temperature(at("2026-03-28T07:00:00.000Z"), "vendor-cloud")     // 08:00 CET: inside
        .temperature(at("2026-03-29T06:00:00.000Z"), "vendor-cloud")     // 08:00 CEST: inside
        .temperature(at("2026-03-29T06:59:59.999Z"), "vendor-cloud")     // 08:59:59.999 CEST: inside
        .temperature(at("2026-03-29T07:00:00.000Z"), "vendor-cloud");    // 09:00 CEST: outside
    const auto findings = ordered.judge();
    ASSERT_EQ(findings.size(), 2u);
    EXPECT_EQ(findings[0].t, at("2026-03-28T06:59:59.999Z"));
    EXPECT_EQ(findings[1].t, at("2026-03-29T07:00:00.000Z"));
}

// ---- links and revocation ----------------------------------------------------------------

TEST(OracleRevocation, GivenUnlinkInSameMillisecond_WhenSent_ThenAfterRevocation) {
    const TimeMs t = at("2026-01-05T10:00:00.000Z");
    TraceBuilder b(kSchedulePolicy);
    b.temperature(t, "vendor-cloud").link(t, "vendor-cloud", false);
    const auto findings = b.judge();
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(findings[0].type, FindingType::after_revocation);
    EXPECT_EQ(findings[0].evidence["consent_at_send"]["linked"], false);
}

TEST(OracleRevocation, GivenUnlinkThenRelink_WhenSentAfterRelink_ThenCoveredAgain) {
    const TimeMs t = at("2026-01-05T10:00:00.000Z");
    TraceBuilder b(kSchedulePolicy);
    b.link(t, "vendor-cloud", false)
        .temperature(t + 1000, "vendor-cloud")
        .link(t + 2000, "vendor-cloud", true)
        .temperature(t + 2000, "vendor-cloud");
    EXPECT_THAT(types_of(b.judge()), testing::ElementsAre("after_revocation"));
}

TEST(OracleRevocation, GivenWildcardUnlink_WhenAnyDeviceSends_ThenAfterRevocation) {
    const TimeMs t = at("2026-01-05T10:00:00.000Z");
    TraceBuilder b(kSchedulePolicy);
    b.link(t, "vendor-cloud", false, "*")
        .egress(t + 10, "vendor-cloud", "alexa", alexa_temperature(t + 10), "lock-front");
    const auto findings = b.judge();
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(findings[0].type, FindingType::after_revocation);
    EXPECT_EQ(findings[0].device, "lock-front");
}

TEST(OracleRevocation, GivenWithdrawalThenRegrant_WhenSentBetweenAndAfter_ThenOnlyBetweenIsFlagged) {
    const TimeMs t = at("2026-01-05T10:00:00.000Z");
    TraceBuilder b(kSchedulePolicy);
    b.consent(t, "vendor-cloud", {"temperature"}, false)
        .temperature(t + 1, "vendor-cloud")
        .consent(t + 60'000, "vendor-cloud", {"temperature"}, true)
        .temperature(t + 60'000, "vendor-cloud");
    const auto findings = b.judge();
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(findings[0].type, FindingType::after_revocation);
    EXPECT_EQ(findings[0].t, t + 1);
    EXPECT_THAT(findings[0].evidence["reason"].get<std::string>(), testing::HasSubstr("withdrawn"));
}

TEST(OracleRevocation, GivenWithdrawalOfAll_WhenOtherCategorySent_ThenAfterRevocation) {
    const TimeMs t = at("2026-01-05T10:00:00.000Z");
    TraceBuilder b(kSchedulePolicy);
    b.consent(t, "vendor-cloud", {"all"}, false).temperature(t + 5, "vendor-cloud");
    EXPECT_THAT(types_of(b.judge()), testing::ElementsAre("after_revocation"));
}

TEST(OracleRevocation, GivenRegrantOfNeverGrantedCategory_WhenSent_ThenStillOutsideScope) {
    const TimeMs i = at("2026-01-05T10:00:00.000Z");
    TraceBuilder b(kInteractionPolicy);
    b.consent(i, "voice-partner", {"occupancy"}, true)
        .interaction(i, "voice", "voice-partner")
        .egress(i + 10, "voice-partner", "json", json{{"occupancy", true}});
    EXPECT_THAT(types_of(b.judge()), testing::ElementsAre("outside_scope"));
}

TEST(OracleRevocation, GivenGrantUntilPassed_WhenSent_ThenOutOfWindowNotRevocation) {
    const char* const policy = R"(
consent:
  - recipient: vendor-cloud
    categories: [temperature]
    basis: always
    until: 30h
)";
    const TimeMs start = at(kStart);
    TraceBuilder b(policy);
    b.temperature(start + 30 * kMsPerHour - 1, "vendor-cloud").temperature(start + 30 * kMsPerHour, "vendor-cloud");
    EXPECT_THAT(types_of(b.judge()), testing::ElementsAre("out_of_window"));
}

// ---- recipients and scope ----------------------------------------------------------------

TEST(OracleScope, GivenRecipientWithoutGrant_WhenSent_ThenUnconsentedRecipient) {
    TraceBuilder b(kInteractionPolicy);
    b.temperature(at("2026-01-05T10:00:00.000Z"), "data-broker");
    const auto findings = b.judge();
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(findings[0].type, FindingType::unconsented_recipient);
    EXPECT_EQ(findings[0].recipient, "data-broker");
}

TEST(OracleScope, GivenGrantForOtherDeviceOnly_WhenSent_ThenUnconsentedRecipient) {
    const char* const policy = R"(
consent:
  - recipient: vendor-cloud
    devices: [lock-front]
    categories: [all]
    basis: always
)";
    TraceBuilder b(policy);
    b.temperature(at("2026-01-05T10:00:00.000Z"), "vendor-cloud");
    EXPECT_THAT(types_of(b.judge()), testing::ElementsAre("unconsented_recipient"));
}

TEST(OracleScope, GivenTemperatureOnlyGrant_WhenOccupancyAdded_ThenOutsideScopeForOccupancyOnly) {
    const char* const policy = R"(
consent:
  - recipient: vendor-cloud
    categories: [temperature]
    basis: always
)";
    TraceBuilder b(policy);
    b.egress(at("2026-01-05T10:00:00.000Z"), "vendor-cloud", "json", json{{"temperature", 20.5}, {"occupancy", false}});
    const auto findings = b.judge();
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(findings[0].type, FindingType::outside_scope);
    EXPECT_EQ(findings[0].category, Category::occupancy);
}

TEST(OracleScope, GivenNeverGrant_WhenSent_ThenOutOfWindow) {
    const char* const policy = R"(
consent:
  - recipient: vendor-cloud
    categories: [temperature]
    basis: never
)";
    TraceBuilder b(policy);
    b.temperature(at("2026-01-05T10:00:00.000Z"), "vendor-cloud");
    EXPECT_THAT(types_of(b.judge()), testing::ElementsAre("out_of_window"));
}

// ---- sample times ------------------------------------------------------------------------

TEST(OracleStale, GivenSampleFromBeforeGrant_WhenSentAfterIt_ThenStaleSample) {
    const char* const policy = R"(
consent:
  - recipient: vendor-cloud
    categories: [temperature]
    basis: always
    from: 2h
)";
    const TimeMs start = at(kStart);
    TraceBuilder b(policy);
    b.temperature(start + 2 * kMsPerHour, "vendor-cloud", start + 1 * kMsPerHour)       // stale
        .temperature(start + 2 * kMsPerHour + 1, "vendor-cloud", start + 2 * kMsPerHour);  // sampled at from: fine
    const auto findings = b.judge();
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(findings[0].type, FindingType::stale_sample);
    EXPECT_EQ(findings[0].evidence["sampled"], iso(start + kMsPerHour));
    EXPECT_EQ(findings[0].evidence["consent_at_sample"]["grants"][0]["holds"], false);
}

TEST(OracleStale, GivenSampleDuringWithdrawal_WhenSentAfterRegrant_ThenStaleSample) {
    const TimeMs t = at("2026-01-05T10:00:00.000Z");
    TraceBuilder b(kSchedulePolicy);
    b.consent(t, "vendor-cloud", {"temperature"}, false)
        .consent(t + 60'000, "vendor-cloud", {"temperature"}, true)
        .temperature(t + 61'000, "vendor-cloud", t + 30'000);
    EXPECT_THAT(types_of(b.judge()), testing::ElementsAre("stale_sample"));
}

// ---- cause ---------------------------------------------------------------------------------

TEST(OracleCause, GivenVoiceCauseWithoutInteraction_WhenJudged_ThenCauseMismatchToo) {
    const TimeMs t = at("2026-01-05T10:00:00.000Z");
    TraceBuilder b(kSchedulePolicy);  // covered by the schedule: only the cause is wrong
    b.egress(t, "vendor-cloud", "alexa", alexa_temperature(t, "VOICE_INTERACTION"));
    const auto findings = b.judge();
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(findings[0].type, FindingType::cause_mismatch);
    EXPECT_FALSE(findings[0].category.has_value());
    EXPECT_EQ(findings[0].evidence["declared_cause"], "VOICE_INTERACTION");
}

TEST(OracleCause, GivenVoiceInteractionWithinTolerance_WhenCauseClaimed_ThenNoMismatch) {
    const TimeMs t = at("2026-01-05T10:00:00.000Z");
    TraceBuilder b(kSchedulePolicy);
    b.interaction(t, "voice", "vendor-cloud")
        .egress(t + 60'000, "vendor-cloud", "alexa", alexa_temperature(t, "VOICE_INTERACTION"));
    EXPECT_TRUE(b.judge().empty());
}

TEST(OracleCause, GivenVoiceInteractionJustPastTolerance_WhenCauseClaimed_ThenMismatch) {
    const TimeMs t = at("2026-01-05T10:00:00.000Z");
    TraceBuilder b(kSchedulePolicy);
    b.interaction(t, "voice", "vendor-cloud")
        .egress(t + 60'001, "vendor-cloud", "alexa", alexa_temperature(t, "VOICE_INTERACTION"));
    EXPECT_THAT(types_of(b.judge()), testing::ElementsAre("cause_mismatch"));
}

TEST(OracleCause, GivenFiveInteractions_WhenCauseUnsupported_ThenEvidenceListsTheLastThreeNewestFirst) {
    // GIVEN five interactions ten minutes apart (the oracle keeps only the recent ones), none
    // of them by voice
    const TimeMs t = at("2026-01-05T10:00:00.000Z");
    TraceBuilder b(kSchedulePolicy);
    b.interaction(t, "app", "vendor-cloud")
        .interaction(t + 10 * kMsPerMinute, "app", "home-graph")
        .interaction(t + 20 * kMsPerMinute, "physical", "")
        .interaction(t + 30 * kMsPerMinute, "app", "vendor-cloud")
        .interaction(t + 40 * kMsPerMinute, "physical", "");
    // WHEN a report claims a voice interaction
    b.egress(t + 40 * kMsPerMinute + 1000, "vendor-cloud", "alexa", alexa_temperature(t, "VOICE_INTERACTION"));
    const auto findings = b.judge();
    // THEN the evidence lists the three latest, newest first, with their recipients
    ASSERT_EQ(findings.size(), 1u);
    const json& recent = findings[0].evidence["recent_interactions"];
    ASSERT_EQ(recent.size(), 3u);
    EXPECT_EQ(recent[0]["t"], "2026-01-05T10:40:00.000Z");
    EXPECT_EQ(recent[0]["via"], "physical");
    EXPECT_TRUE(recent[0]["recipient"].is_null());
    EXPECT_EQ(recent[1]["t"], "2026-01-05T10:30:00.000Z");
    EXPECT_EQ(recent[1]["recipient"], "vendor-cloud");
    EXPECT_EQ(recent[2]["t"], "2026-01-05T10:20:00.000Z");
    EXPECT_EQ(recent[2]["via"], "physical");
}

// ---- side channel --------------------------------------------------------------------------

namespace {
const char* const kConnectivityOnlyPolicy = R"(
consent:
  - recipient: vendor-cloud
    categories: [connectivity]
    basis: always
)";
}

TEST(OracleSideChannel, GivenKeepaliveRightAfterEveryLockChange_WhenJudged_ThenSideChannelWithNumbers) {
    TraceBuilder b(kConnectivityOnlyPolicy);
    TimeMs t = at("2026-01-05T00:00:00.000Z");
    b.truth(t, json{{"lock_state", "locked"}}, "lock-front");
    std::uint64_t seq = 0;
    for (int k = 0; k < 24; ++k) {
        t += 37 * kMsPerMinute;  // irregular enough: changes do not fall on the heartbeat
        b.truth(t, json{{"lock_state", k % 2 ? "locked" : "unlocked"}}, "lock-front");
        b.egress(t + 1500, "vendor-cloud", "json", json{{"type", "keepalive"}, {"seq", ++seq}}, "lock-front");
    }
    const auto findings = b.judge();
    ASSERT_EQ(findings.size(), 1u);
    const Finding& f = findings[0];
    EXPECT_EQ(f.type, FindingType::side_channel);
    EXPECT_EQ(f.device, "lock-front");
    EXPECT_FALSE(f.category.has_value());
    EXPECT_EQ(f.evidence["following_unconsented_change"], 24);
    EXPECT_EQ(f.evidence["state_free_messages"], 24);
    EXPECT_LT(f.evidence["p_value"].get<double>(), 1e-10);
    EXPECT_GT(f.evidence["lift"].get<double>(), 10.0);
    EXPECT_EQ(f.evidence["lag"]["min_ms"], 1500);
}

TEST(OracleSideChannel, GivenPurelyPeriodicHeartbeat_WhenStateChangesRandomly_ThenNoFinding) {
    TraceBuilder b(kConnectivityOnlyPolicy);
    const TimeMs start = at("2026-01-05T00:00:00.000Z");
    b.truth(start, json{{"lock_state", "locked"}}, "lock-front");
    // Hourly heartbeats for a week; lock changes at times unrelated to them (a fixed LCG).
    std::vector<std::pair<TimeMs, int>> events;
    for (int h = 1; h <= 24 * 7; ++h) events.emplace_back(start + h * kMsPerHour, -1);
    std::uint64_t x = 12345;
    for (int k = 0; k < 60; ++k) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        events.emplace_back(start + static_cast<TimeMs>((x >> 33) % static_cast<std::uint64_t>(7 * kMsPerDay)), k);
    }
    std::sort(events.begin(), events.end());
    std::uint64_t seq = 0;
    for (const auto& [t, k] : events) {
        if (k < 0) b.egress(t, "vendor-cloud", "json", json{{"type", "heartbeat"}, {"seq", ++seq}}, "lock-front");
        else b.truth(t, json{{"lock_state", k % 2 ? "locked" : "unlocked"}}, "lock-front");
    }
    EXPECT_TRUE(b.judge().empty());
}

TEST(OracleSideChannel, GivenRecipientConsentedToLockState_WhenKeepalivesFollowChanges_ThenNoFinding) {
    const char* const policy = R"(
consent:
  - recipient: vendor-cloud
    categories: [all]
    basis: always
)";
    TraceBuilder b(policy);
    TimeMs t = at("2026-01-05T00:00:00.000Z");
    b.truth(t, json{{"lock_state", "locked"}}, "lock-front");
    for (int k = 0; k < 24; ++k) {
        t += 37 * kMsPerMinute;
        b.truth(t, json{{"lock_state", k % 2 ? "locked" : "unlocked"}}, "lock-front");
        b.egress(t + 1500, "vendor-cloud", "json", json{{"type", "keepalive"}}, "lock-front");
    }
    EXPECT_TRUE(b.judge().empty());
}

// ---- unclassified and input order ----------------------------------------------------------

TEST(OracleUnclassified, GivenUnknownField_WhenJudged_ThenUnclassifiedNamesTheField) {
    TraceBuilder b(kSchedulePolicy);
    b.egress(at("2026-01-05T10:00:00.000Z"), "vendor-cloud", "json", json{{"wifi_ssid_list", {"home", "neighbour"}}});
    const auto findings = b.judge();
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(findings[0].type, FindingType::unclassified);
    EXPECT_FALSE(findings[0].category.has_value());
    EXPECT_EQ(findings[0].evidence["key"], "wifi_ssid_list");
}

TEST(OracleInput, GivenTimeGoingBackwards_WhenFed_ThenErrorNamesTheLine) {
    TraceBuilder b(kSchedulePolicy);
    b.temperature(at("2026-01-05T10:00:00.000Z"), "vendor-cloud").temperature(at("2026-01-05T09:00:00.000Z"), "vendor-cloud");
    (void)b.judge();
    ASSERT_FALSE(b.last_status_.ok());
    EXPECT_THAT(b.last_status_.error().message, testing::HasSubstr("line 2"));
    EXPECT_THAT(b.last_status_.error().message, testing::HasSubstr("backwards"));
}

TEST(OracleDeterminism, GivenSameTrace_WhenJudgedTwice_ThenJsonIdentical) {
    auto build = [] {
        TraceBuilder b(kInteractionPolicy);
        const TimeMs t = at("2026-01-05T10:00:00.000Z");
        b.temperature(t).temperature(t, "data-broker").interaction(t + 5, "voice", "voice-partner").temperature(t + 10);
        std::ostringstream out;
        EXPECT_TRUE(write_findings_json(FindingList::from(b.judge()), json::object(), out).ok());
        return out.str();
    };
    const std::string first = build();
    EXPECT_EQ(first, build());
    EXPECT_THAT(first, testing::HasSubstr("unconsented_recipient"));
}

// ---- consent state queries (timelines in reports) ----------------------------------------

/// An oracle judging under kInteractionPolicy from kStart, fed trace lines one at a time.
class OracleQueries : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(policy_.ok() && taxonomy_.ok());
        oracle_ = std::make_unique<Oracle>(*policy_, *taxonomy_);
        TraceMeta meta;
        meta.start = at(kStart);
        oracle_->begin(meta);
    }
    void feed(const json& line) {
        auto r = parse_record(line.dump(), ++lines_);
        ASSERT_TRUE(r.ok()) << r.error().message;
        ASSERT_TRUE(oracle_->feed(*r).ok());
    }

    Result<Policy> policy_ = parse_policy(kInteractionPolicy, "policy.yaml");
    Result<Taxonomy> taxonomy_ = Taxonomy::builtin();
    std::unique_ptr<Oracle> oracle_;
    std::uint64_t lines_ = 0;
};

TEST_F(OracleQueries, GivenInteractionAndUnlink_WhenAskedAfterFinish_ThenConsentedAtFollowsTheRules) {
    Oracle& oracle = *oracle_;
    const TimeMs i = at("2026-01-05T10:00:00.000Z");
    const TimeMs unlink = at("2026-01-05T12:00:00.000Z");
    feed(json{{"kind", "interaction"}, {"t", iso(i)}, {"device", "thermo-1"}, {"via", "voice"},
              {"recipient", "voice-partner"}, {"action", "query"}});
    feed(json{{"kind", "link"}, {"t", iso(unlink)}, {"device", "*"}, {"recipient", "voice-partner"}, {"linked", false}});
    (void)oracle.finish();
    EXPECT_TRUE(oracle.consented_at("thermo-1", "voice-partner", Category::temperature, i));
    EXPECT_TRUE(oracle.consented_at("thermo-1", "voice-partner", Category::temperature, i + 119'999));
    EXPECT_FALSE(oracle.consented_at("thermo-1", "voice-partner", Category::temperature, i + 120'000));
    EXPECT_FALSE(oracle.consented_at("thermo-1", "voice-partner", Category::occupancy, i + 1));
    EXPECT_TRUE(oracle.linked_at("thermo-1", "voice-partner", unlink - 1));
    EXPECT_FALSE(oracle.linked_at("thermo-1", "voice-partner", unlink));
    EXPECT_FALSE(oracle.linked_at("lock-front", "voice-partner", unlink));  // "*" reaches unseen devices
    EXPECT_THAT(oracle.interactions("thermo-1", "voice-partner"), testing::ElementsAre(i));
    EXPECT_THAT(oracle.recipients("thermo-1"), testing::ElementsAre("voice-partner"));
}

TEST_F(OracleQueries, GivenThousandsOfDevices_WhenAskedAfterFinish_ThenEachKeepsItsOwnInteractions) {
    // GIVEN 5,000 devices (the oracle's name index grows and rebuilds many times), device k
    // with one interaction at start + k seconds, through one of two recipients
    Oracle& oracle = *oracle_;
    constexpr int kDevices = 5000;
    const auto device = [](int k) { return "thermo-" + std::to_string(k); };
    const auto recipient = [](int k) { return k % 2 ? std::string("voice-partner") : std::string("home-graph"); };
    for (int k = 0; k < kDevices; ++k) {
        ASSERT_NO_FATAL_FAILURE(feed(json{{"kind", "interaction"}, {"t", iso(at(kStart) + k * 1000)}, {"device", device(k)},
                                          {"via", "voice"}, {"recipient", recipient(k)}, {"action", "query"}}));
    }
    (void)oracle.finish();
    // THEN every device is known once, and each one's interaction is its own
    EXPECT_EQ(oracle.devices().size(), static_cast<std::size_t>(kDevices));
    for (int k : {0, 1, 15, 16, 17, 2047, 2048, 4999}) {
        EXPECT_THAT(oracle.interactions(device(k), recipient(k)), testing::ElementsAre(at(kStart) + k * 1000)) << device(k);
        EXPECT_TRUE(oracle.interactions(device(k), recipient(k + 1)).empty()) << device(k);
        EXPECT_THAT(oracle.recipients(device(k)), testing::Contains(recipient(k)));
    }
    EXPECT_TRUE(oracle.interactions("thermo-5000", "voice-partner").empty());
}
