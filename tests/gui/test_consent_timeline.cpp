// gui::ConsentTimeline and its ConsentSampler against a real core::Oracle, wired as the
// controller wires them: consent bands whose edges are the oracle's answers to the millisecond (an interaction window running out between two samples, an
// unlink), message ticks, leak ticks from the oracle's findings, and the bounds.
#include <gtest/gtest.h>

#include "core/oracle.hpp"
#include "core/policy.hpp"
#include "core/taxonomy.hpp"
#include "gui/consent_timeline.hpp"

using namespace consentrig;

namespace {
constexpr core::TimeMs kStart = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

struct Fixture {
    core::Policy policy;
    core::Taxonomy taxonomy;
    std::unique_ptr<core::Oracle> oracle;
    gui::ConsentTimeline tl;
    gui::ConsentSampler sampler;  ///< beside the oracle (the controller's capture worker)
    std::vector<core::Finding> findings;
    std::uint64_t line = 0;

    explicit Fixture(const std::string& yaml)
        : policy(*core::parse_policy(yaml, "<test>")), taxonomy(*core::Taxonomy::builtin()) {
        oracle = std::make_unique<core::Oracle>(policy, taxonomy);
        core::TraceMeta meta;
        meta.start = kStart;
        oracle->begin(meta);
        oracle->set_sink([this](core::Finding&& f) { findings.push_back(std::move(f)); });
        tl.reset(kStart, &policy);
        tl.set_device("thermo-1");
        sampler.reset(kStart, &policy);
        sampler.set_device("thermo-1");
    }
    /// Feeds a record to the oracle, the sampler and the timeline; sample() hands the findings
    /// and the sampler's edges over (as the controller does once per release).
    void feed(core::Record r, core::CategorySet cats = {}) {
        r.line = ++line;
        r.device = "thermo-1";
        ASSERT_TRUE(oracle->feed(r));
        sampler.on_record(r);
        tl.on_record(r, cats);
    }
    void sample(core::TimeMs now) {
        oracle->advance(now);
        const auto s = sampler.sample(*oracle, now);
        ASSERT_TRUE(s.has_value());
        tl.apply(*s);
        for (const auto& f : findings) {
            sampler.on_finding(f);
            tl.on_finding(f);
        }
        findings.clear();
    }
    static core::Record egress(core::TimeMs t, const std::string& to) {
        core::Record r;
        r.kind = core::RecordKind::egress;
        r.t = t;
        r.recipient = to;
        r.format = "json";
        r.payload = R"({"temperature":20.5})";
        return r;
    }
};

core::CategorySet temp() {
    core::CategorySet s;
    core::insert(s, core::Category::temperature);
    return s;
}
}  // namespace

TEST(ConsentTimeline, InteractionWindowEdgeFoundToTheMillisecondBetweenSamples) {
    // GIVEN voice-partner may receive the temperature for 2 s after an interaction through it
    Fixture f("consent:\n  - {recipient: voice-partner, categories: [temperature], basis: interaction, within: 2s}\n");
    f.sample(kStart + 500);
    // WHEN the customer asks at +1000 ms and the next samples come only at +1100 and +9000
    core::Record ia;
    ia.kind = core::RecordKind::interaction;
    ia.t = kStart + 1000;
    ia.recipient = "voice-partner";
    ia.via = "voice";
    ia.action = "query";
    f.feed(ia);
    f.sample(kStart + 1100);
    f.sample(kStart + 9000);
    // THEN the band holds exactly [1000, 3000): the window's start from the interaction record,
    // its end found by asking the oracle (tolerance 0 ms)
    const gui::TimelineLane* lane = f.tl.lane("voice-partner");
    ASSERT_NE(lane, nullptr);
    EXPECT_TRUE(lane->shown.test(static_cast<std::size_t>(core::Category::temperature)));
    const auto& band = lane->bands[static_cast<std::size_t>(core::Category::temperature)];
    ASSERT_EQ(band.consent.size(), 1u);
    EXPECT_EQ(band.consent[0].from, kStart + 1000);
    EXPECT_EQ(band.consent[0].to, kStart + 3000);
    EXPECT_FALSE(band.held);
    ASSERT_EQ(lane->interactions.size(), 1u);
    EXPECT_EQ(lane->interactions[0], kStart + 1000);
    // and a category the grant does not list never held
    EXPECT_TRUE(lane->bands[static_cast<std::size_t>(core::Category::setpoint)].consent.empty());
    EXPECT_TRUE(f.tl.physical().empty());
    // WHEN the dial is turned on the device itself THEN it is a physical mark, no lane of its own
    core::Record dial;
    dial.kind = core::RecordKind::interaction;
    dial.t = kStart + 9500;
    dial.via = "physical";
    dial.action = "set_setpoint";
    f.feed(dial);
    f.sample(kStart + 9600);
    ASSERT_EQ(f.tl.physical().size(), 1u);
    EXPECT_EQ(f.tl.physical()[0], kStart + 9500);
    EXPECT_EQ(f.tl.lanes().size(), 1u);
}

TEST(ConsentTimeline, UnlinkEndsConsentAtItsRecordAndTheNextMessageIsALeakTick) {
    // GIVEN vendor-cloud always may receive everything, and a first message at +100
    Fixture f("consent:\n  - {recipient: vendor-cloud, categories: [all], basis: always}\n");
    f.feed(Fixture::egress(kStart + 100, "vendor-cloud"), temp());
    f.sample(kStart + 200);
    // WHEN the account is unlinked at +5000 and a message follows at +6000
    core::Record unlink;
    unlink.kind = core::RecordKind::link;
    unlink.t = kStart + 5000;
    unlink.recipient = "vendor-cloud";
    unlink.flag = false;
    f.feed(unlink);
    f.feed(Fixture::egress(kStart + 6000, "vendor-cloud"), temp());
    f.sample(kStart + 7000);
    // THEN consent held from the start until the unlink, the strip is unlinked from then on,
    // the first message is a tick and the second a leak (after_revocation), marked "unlinked"
    const gui::TimelineLane* lane = f.tl.lane("vendor-cloud");
    ASSERT_NE(lane, nullptr);
    const auto& band = lane->bands[static_cast<std::size_t>(core::Category::temperature)];
    ASSERT_EQ(band.consent.size(), 1u);
    EXPECT_EQ(band.consent[0].from, kStart);
    EXPECT_EQ(band.consent[0].to, kStart + 5000);
    ASSERT_EQ(lane->unlinked.size(), 1u);
    EXPECT_EQ(lane->unlinked[0].from, kStart + 5000);
    EXPECT_EQ(lane->unlinked[0].to, gui::kOpenEnd);
    EXPECT_FALSE(lane->linked);
    EXPECT_EQ(band.sends.size(), 2u);
    ASSERT_EQ(band.leaks.size(), 1u);
    EXPECT_EQ(band.leaks[0], kStart + 6000);
    ASSERT_EQ(lane->marks.size(), 1u);
    EXPECT_EQ(lane->marks[0].text, "unlinked");
    EXPECT_TRUE(lane->marks[0].revokes);
}

TEST(ConsentTimeline, TicksAreCappedAndOldSpellsLeaveAfterTheHorizon) {
    // GIVEN a board far more talkative than the cap
    Fixture f("consent:\n  - {recipient: vendor-cloud, categories: [all], basis: always}\n");
    const std::size_t n = gui::ConsentTimeline::kMaxTicks + 1000;
    for (std::size_t i = 0; i < n; ++i) f.feed(Fixture::egress(kStart + static_cast<core::TimeMs>(i), "vendor-cloud"), temp());
    f.sample(kStart + static_cast<core::TimeMs>(n));
    // THEN only the newest kMaxTicks ticks stay
    const auto& band = f.tl.lane("vendor-cloud")->bands[static_cast<std::size_t>(core::Category::temperature)];
    EXPECT_EQ(band.sends.size(), gui::ConsentTimeline::kMaxTicks);
    EXPECT_EQ(band.sends.back(), kStart + static_cast<core::TimeMs>(n - 1));
    // WHEN the horizon has passed without messages THEN the ticks are gone, the open band stays
    f.sample(kStart + static_cast<core::TimeMs>(n) + gui::ConsentTimeline::kHorizonMs + 1);
    EXPECT_TRUE(band.sends.empty());
    ASSERT_EQ(band.consent.size(), 1u);
    EXPECT_EQ(band.consent[0].to, gui::kOpenEnd);
}
