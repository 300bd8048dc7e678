// The report model: verdicts, provisions, timelines, coverage and aggregates computed once from
// a judged trace (reports/model.hpp).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/time.hpp"
#include "reports/provisions.hpp"
#include "reports/summary.hpp"
#include "support.hpp"

namespace {

using namespace consentrig;
using namespace consentrig::reports;
using namespace consentrig::reports::testing;
using ::testing::HasSubstr;

core::TimeMs at(const char* text) { return *core::parse_rfc3339(text); }

const ProvisionResult& prov(const Report& r, ProvisionId id) { return r.provisions[static_cast<std::size_t>(id)]; }

const Lane* lane(const DeviceTimeline& tl, const std::string& recipient) {
    for (const auto& l : tl.lanes) {
        if (l.recipient == recipient) return &l;
    }
    return nullptr;
}

const Band* band(const Lane& l, core::Category c) {
    for (const auto& b : l.bands) {
        if (b.category == c) return &b;
    }
    return nullptr;
}

class ReportModel : public ::testing::Test {
protected:
    void TearDown() override {
        if (dir_.empty()) return;
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    const Report& fixture() {
        dir_ = test_dir();
        built_ = build(dir_, kPolicy, kTrace);
        return built_->report;
    }
    fs::path dir_;
    std::unique_ptr<Built> built_;
};

TEST_F(ReportModel, GivenFixture_WhenBuilt_ThenFailsWithTheExpectedLeaks) {
    const Report& r = fixture();
    EXPECT_EQ(r.verdict, Verdict::fail);
    ASSERT_EQ(r.findings->size(), 4u);
    EXPECT_EQ(r.aggregates.by_type[static_cast<std::size_t>(core::FindingType::out_of_window)], 2u);
    EXPECT_EQ(r.aggregates.by_type[static_cast<std::size_t>(core::FindingType::outside_scope)], 1u);
    EXPECT_EQ(r.aggregates.by_type[static_cast<std::size_t>(core::FindingType::after_revocation)], 1u);
    EXPECT_EQ(r.aggregates.devices, 1u);
    EXPECT_EQ(r.aggregates.devices_with_findings, 1u);
    EXPECT_EQ(r.meta.messages, 6u);
    EXPECT_EQ(r.meta.gaps, 1u);
    EXPECT_EQ(r.meta.info.source, "sim");
    EXPECT_EQ(r.meta.info.scenario, "fixture");
    ASSERT_EQ(r.aggregates.ranked.size(), 1u);
    EXPECT_EQ(r.aggregates.ranked[0].device, "thermo-1");
    EXPECT_EQ(r.aggregates.ranked[0].messages, 6u);
}

TEST_F(ReportModel, GivenFixture_WhenBuilt_ThenProvisionVerdictsFollowTheMapping) {
    const Report& r = fixture();
    // out_of_window, outside_scope → 6-2, 6-4; after_revocation → 6-3, GDPR 7(3); occupancy → 5.8-2.
    EXPECT_EQ(prov(r, ProvisionId::en_6_1).verdict, Verdict::pass);
    EXPECT_EQ(prov(r, ProvisionId::en_6_2).verdict, Verdict::fail);
    EXPECT_EQ(prov(r, ProvisionId::en_6_2).findings, 3u);
    EXPECT_EQ(prov(r, ProvisionId::en_6_3).verdict, Verdict::fail);
    EXPECT_EQ(prov(r, ProvisionId::gdpr_7_3).verdict, Verdict::fail);
    EXPECT_EQ(prov(r, ProvisionId::en_6_4).verdict, Verdict::fail);
    EXPECT_EQ(prov(r, ProvisionId::en_5_8_2).verdict, Verdict::fail);
    EXPECT_EQ(prov(r, ProvisionId::en_5_8_2).findings, 1u);
    EXPECT_THAT(prov(r, ProvisionId::en_5_8_2).reason, HasSubstr("outside_scope"));
    for (const auto& p : r.provisions) {
        for (std::size_t fi : p.examples) EXPECT_TRUE(provisions_for((*r.findings)[fi]).test(static_cast<std::size_t>(p.id)));
    }
}

TEST(ProvisionMapping, EveryLeakClassBearsOnAProvision_AndOnlySensitiveCategoriesOn5_8_2) {
    for (std::size_t t = 0; t < core::kFindingTypeCount; ++t) {
        const auto type = static_cast<core::FindingType>(t);
        EXPECT_TRUE(provisions_for_type(type).any()) << core::to_string(type);
        EXPECT_FALSE(provisions_for_type(type).test(static_cast<std::size_t>(ProvisionId::en_5_8_2)));
        EXPECT_TRUE(provisions_for(type, core::Category::lock_state).test(static_cast<std::size_t>(ProvisionId::en_5_8_2)));
        EXPECT_FALSE(provisions_for(type, core::Category::temperature).test(static_cast<std::size_t>(ProvisionId::en_5_8_2)));
    }
    const auto rev = provisions_for_type(core::FindingType::after_revocation);
    EXPECT_TRUE(rev.test(static_cast<std::size_t>(ProvisionId::en_6_3)));
    EXPECT_TRUE(rev.test(static_cast<std::size_t>(ProvisionId::gdpr_7_3)));
}

TEST_F(ReportModel, GivenFixture_WhenBuilt_ThenTimelineBandsShowWhenConsentHeld) {
    const Report& r = fixture();
    ASSERT_EQ(r.timelines.size(), 1u);
    const DeviceTimeline& tl = r.timelines[0];
    EXPECT_EQ(tl.device, "thermo-1");
    ASSERT_EQ(tl.gaps.size(), 1u);
    EXPECT_EQ(tl.gaps[0].reason, "board disconnected");

    const Lane* vendor = lane(tl, "vendor-cloud");
    ASSERT_NE(vendor, nullptr);
    const Band* temp = band(*vendor, core::Category::temperature);
    ASSERT_NE(temp, nullptr);
    // The schedule window opens 07:00Z; temperature is withdrawn at 10:00Z.
    ASSERT_EQ(temp->consent.size(), 1u);
    EXPECT_EQ(temp->consent[0].from, at("2026-01-05T07:00:00Z"));
    EXPECT_EQ(temp->consent[0].to, at("2026-01-05T10:00:00Z"));
    const Band* hum = band(*vendor, core::Category::humidity);
    ASSERT_NE(hum, nullptr);
    ASSERT_EQ(hum->consent.size(), 1u);
    EXPECT_EQ(hum->consent[0].to, at("2026-01-05T19:00:00Z"));
    ASSERT_EQ(hum->leaks.size(), 1u);
    EXPECT_EQ(hum->leaks[0].first, at("2026-01-05T20:00:00Z"));
    ASSERT_EQ(vendor->marks.size(), 1u);
    EXPECT_TRUE(vendor->marks[0].revokes);
    EXPECT_THAT(vendor->marks[0].text, HasSubstr("withdrawn: temperature"));

    const Lane* voice = lane(tl, "voice-partner");
    ASSERT_NE(voice, nullptr);
    ASSERT_EQ(voice->interactions.size(), 1u);
    const Band* vtemp = band(*voice, core::Category::temperature);
    ASSERT_NE(vtemp, nullptr);
    ASSERT_EQ(vtemp->consent.size(), 1u);
    EXPECT_EQ(vtemp->consent[0].from, at("2026-01-05T09:00:00Z"));
    EXPECT_EQ(vtemp->consent[0].to, at("2026-01-05T09:02:00Z"));
    EXPECT_EQ(vtemp->sends.size(), 1u);  // the answer inside the window
    ASSERT_EQ(vtemp->leaks.size(), 1u);  // the report half an hour later
    EXPECT_EQ(vtemp->leaks[0].first, at("2026-01-05T09:30:00Z"));
    const Band* occ = band(*voice, core::Category::occupancy);
    ASSERT_NE(occ, nullptr);
    EXPECT_TRUE(occ->consent.empty());  // no grant lists occupancy for the voice assistant
    EXPECT_EQ(occ->leaks.size(), 1u);
}

TEST_F(ReportModel, GivenFixture_WhenBuilt_ThenCoverageNamesExercisedEdgesAndWhatWasNotTested) {
    const Report& r = fixture();
    const CoverageItem* schedule = nullptr;
    const CoverageItem* withdrawal = nullptr;
    const CoverageItem* interaction = nullptr;
    for (const auto& item : r.coverage.items) {
        if (item.kind == "schedule") schedule = &item;
        if (item.kind == "withdrawal") withdrawal = &item;
        if (item.kind == "interaction") interaction = &item;
    }
    ASSERT_NE(schedule, nullptr);
    ASSERT_EQ(schedule->edges.size(), 2u);  // opens 07:00Z, closes 19:00Z
    EXPECT_EQ(schedule->edges[0].what, "opens");
    EXPECT_EQ(schedule->edges[0].sends, 1u);  // 07:05Z
    EXPECT_EQ(schedule->edges[1].what, "closes");
    EXPECT_EQ(schedule->edges[1].changes, 1u);  // the 18:50Z temperature change
    EXPECT_EQ(schedule->status(), "exercised");
    ASSERT_NE(withdrawal, nullptr);
    EXPECT_EQ(withdrawal->exercised, 1u);
    EXPECT_EQ(r.coverage.revocations, 1u);
    EXPECT_EQ(r.coverage.revocations_exercised, 1u);
    ASSERT_NE(interaction, nullptr);
    EXPECT_EQ(interaction->total, 1u);
    EXPECT_EQ(interaction->exercised, 1u);
    bool backfill = false, never_sent = false;
    for (const auto& s : r.coverage.untested) {
        backfill = backfill || s.find("backfill on re-link was not tested") != std::string::npos;
        never_sent = never_sent || (s.find("never sent") != std::string::npos && s.find("setpoint") != std::string::npos);
    }
    EXPECT_TRUE(backfill);
    EXPECT_TRUE(never_sent);  // the voice grant lists setpoint, which never went to the assistant
}

TEST_F(ReportModel, GivenCleanRunWithoutRevocation_WhenBuilt_ThenInconclusiveAndSaysWithdrawalWasNotTested) {
    dir_ = test_dir();
    built_ = build(dir_, kPolicy, kCleanTrace);
    const Report& r = built_->report;
    EXPECT_TRUE(r.findings->empty());
    EXPECT_EQ(r.verdict, Verdict::inconclusive);
    EXPECT_THAT(r.verdict_reason, HasSubstr("GDPR Art. 7(3)"));
    EXPECT_EQ(prov(r, ProvisionId::en_6_2).verdict, Verdict::pass);
    EXPECT_EQ(prov(r, ProvisionId::en_6_3).verdict, Verdict::inconclusive);
    EXPECT_EQ(prov(r, ProvisionId::gdpr_7_3).verdict, Verdict::inconclusive);
    EXPECT_EQ(prov(r, ProvisionId::en_5_8_2).verdict, Verdict::inconclusive);  // nothing sensitive was sent
    ASSERT_FALSE(r.coverage.untested.empty());
    EXPECT_THAT(r.coverage.untested[0], HasSubstr("never withdrew consent"));
}

TEST_F(ReportModel, GivenListedFindings_WhenBuilt_ThenTheirMessagesAreKeptVerbatim) {
    const Report& r = fixture();
    EXPECT_EQ(r.listed.size(), r.findings->size());
    for (std::size_t fi : r.listed) {
        auto it = r.message_of.find(fi);
        ASSERT_NE(it, r.message_of.end()) << fi;
        EXPECT_EQ(r.messages[it->second].front(), '{');
    }
    // Key order as captured (the evidence re-serialises with sorted keys).
    EXPECT_THAT(r.messages, ::testing::Contains(std::string(R"({"state":{"humidity":40}})")));
}

TEST_F(ReportModel, GivenManyDevicesAndSmallCaps_WhenBuilt_ThenOnlyTheWorstGetTimelinesAndListedFindingsAreCapped) {
    dir_ = test_dir();
    std::string trace =
        R"({"kind":"meta","version":1,"scenario":"many","source":"sim","start":"2026-01-05T00:00:00.000Z","timezone":"UTC"})"
        "\n";
    // dev-k sends k leaks (to a recipient no grant names).
    for (int k = 1; k <= 6; ++k) {
        for (int i = 0; i < k; ++i) {
            char line[256];
            std::snprintf(line, sizeof line,
                          R"({"kind":"egress","t":"2026-01-05T%02d:%02d:00.000Z","device":"dev-%d","to":"tracker","format":"json","body":{"temperature":%d}})",
                          k, i, k, i);
            trace += std::string(line) + "\n";
        }
    }
    ReportOptions o;
    o.max_timelines = 2;
    o.max_listed_findings = 5;
    o.max_ranked = 3;
    built_ = build(dir_, kPolicy, trace, {}, o);
    const Report& r = built_->report;
    ASSERT_EQ(r.findings->size(), 21u);
    ASSERT_EQ(r.timelines.size(), 2u);
    EXPECT_EQ(r.timelines[0].device, "dev-6");
    EXPECT_EQ(r.timelines[1].device, "dev-5");
    ASSERT_EQ(r.aggregates.ranked.size(), 3u);
    EXPECT_EQ(r.aggregates.ranked[2].device, "dev-4");
    EXPECT_FALSE(r.aggregates.ranked[2].timeline.has_value());
    EXPECT_EQ(r.listed.size(), 5u);
    EXPECT_EQ(r.aggregates.devices, 6u);
    EXPECT_EQ(prov(r, ProvisionId::en_6_1).verdict, Verdict::fail);  // unconsented_recipient
}

}  // namespace

namespace {

TEST(TextSummary, GivenMessagesLeakingSeveralCategories_WhenListed_ThenOneLinePerMessageAndTheHeadCountsBoth) {
    // GIVEN 3 messages, each leaking 2 categories (6 findings)
    std::vector<consentrig::core::Finding> findings;
    for (int m = 0; m < 3; ++m) {
        for (auto c : {consentrig::core::Category::temperature, consentrig::core::Category::occupancy}) {
            consentrig::core::Finding f;
            f.device = "thermo-1";
            f.recipient = "voice";
            f.t = 1000 * (m + 1);
            f.category = c;
            findings.push_back(f);
        }
    }
    // WHEN two lines may be listed
    const std::string text =
        consentrig::reports::text_summary(consentrig::core::FindingList::from(findings), 1, 3, 2);
    // THEN two message lines carry both categories and the head says what was listed
    EXPECT_THAT(text, HasSubstr("first 4 of 6 findings, 2 messages:"));
    EXPECT_THAT(text, HasSubstr("thermo-1 -> voice  temperature, occupancy"));
    EXPECT_THAT(text, HasSubstr("… 2 more in the JSON report"));
}

}  // namespace
