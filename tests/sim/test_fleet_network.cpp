// The fleet runner's network model: lost attempts, retransmissions with backoff, outages at a
// retry. Every transmission is an egress record at the device (PROTOCOL.md §2), so a retry is
// the same message again, byte for byte, at its own send time.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "sim/fleet.hpp"
#include "tests/sim/fleet_test_util.hpp"

using namespace consentrig;
using sim::testing::Collect;
using sim::testing::scenario;

namespace {

std::string home(const std::string& network, const std::string& rest = "") {
    return R"(
name: home
seed: 5
start: 2026-01-05T00:00:00Z
duration: 24h
timezone: Europe/Berlin
recipients: {voice-partner: alexa, vendor-cloud: json}
consent:
  - {recipient: voice-partner, categories: [temperature, setpoint, hvac_mode], basis: interaction, within: 120s}
  - {recipient: vendor-cloud, categories: [all], basis: always}
devices:
  - {id: thermo-1, kind: thermostat, profile: proactive}
  - {id: thermo-2, kind: thermostat, profile: compliant}
customers:
  - {devices: "*", via: voice, recipient: voice-partner, action: query, rate: 8/day}
)" + network + rest;
}

/// Send times of each distinct message (device, recipient, format, body).
std::map<std::tuple<std::string, std::string, std::string, std::string>, std::vector<core::TimeMs>> transmissions(
    const std::vector<core::Record>& records) {
    std::map<std::tuple<std::string, std::string, std::string, std::string>, std::vector<core::TimeMs>> out;
    for (const auto& r : records) {
        if (r.kind == core::RecordKind::egress) out[{r.device, r.recipient, r.format, r.payload}].push_back(r.t);
    }
    return out;
}

}  // namespace

TEST(FleetNetwork, GivenLoss30PercentAndTwoRetries_WhenADayRuns_ThenLostAttemptsAreSentAgainAfter2sThen4s) {
    // GIVEN every attempt lost with probability 0.3, 2 retries, backoff 2 s (doubling)
    const auto s = scenario(home("network: {loss: 0.3, retries: 2, backoff: 2s}\n"));
    // WHEN a day runs
    Collect sink;
    auto stats = sim::run_fleet(s, sink);
    ASSERT_TRUE(stats.ok()) << stats.error().message;
    // THEN each message (bodies carry ids or sample times, so equal bodies are one message) went
    // out at t, and after losses at t + 2 s and t + 6 s — never more than 3 times
    std::uint64_t repeats = 0, egress = 0;
    for (const auto& [message, times] : transmissions(sink.records)) {
        egress += times.size();
        ASSERT_LE(times.size(), 3u);
        for (std::size_t k = 1; k < times.size(); ++k) {
            EXPECT_EQ(times[k] - times[k - 1], 2000 * (1 << (k - 1))) << std::get<3>(message);
            ++repeats;
        }
    }
    EXPECT_EQ(egress, stats->messages);
    EXPECT_EQ(repeats, stats->retransmissions);
    EXPECT_EQ(stats->attempts_lost, stats->retransmissions + stats->messages_dropped);
    // and the share of attempts lost is the loss probability (N ≈ 400 attempts: ±0.07 is > 3 σ)
    const double lost_share = static_cast<double>(stats->attempts_lost) / static_cast<double>(stats->messages);
    EXPECT_GT(stats->messages, 300u);
    EXPECT_NEAR(lost_share, 0.3, 0.07);
    // dropped after the third loss: 0.3³ of the messages, so a few in a day
    EXPECT_GT(stats->messages_dropped, 0u);
}

TEST(FleetNetwork, GivenNoLossAndNoOutage_WhenRun_ThenTheTraceIsTheOneWithoutANetworkSection) {
    // GIVEN latency and retries but nothing that can lose an attempt
    const auto with = scenario(home("network: {latency: {median: 200ms, jitter: 100ms}, loss: 0, retries: 5}\n"));
    const auto without = scenario(home(""));
    // WHEN both run
    Collect a, b;
    auto stats = sim::run_fleet(with, a);
    ASSERT_TRUE(stats.ok());
    ASSERT_TRUE(sim::run_fleet(without, b).ok());
    // THEN the capture is the same: latency moves arrivals, which the device's egress never sees
    EXPECT_EQ(a.records, b.records);
    EXPECT_EQ(stats->retransmissions, 0u);
}

TEST(FleetNetwork, GivenEveryAttemptLostAndAnOutageOverTheFirstRetry_WhenAnswering_ThenThatRetryNeverLeavesTheDevice) {
    // GIVEN loss 1 (every attempt lost), 3 retries at +2 s, +6 s, +14 s, and thermo-2's link down
    // from 10:00:01 to 10:00:05 UTC; a voice query at 10:00:00 makes thermo-2 answer at once
    const auto s = scenario(home(R"(network:
  loss: 1
  retries: 3
  backoff: 2s
  outages: [{at: 10h1s, duration: 4s, devices: thermo-2}]
)",
                                 R"(timeline:
  - {at: 10h, interact: {device: thermo-2, via: voice, recipient: voice-partner, action: query}}
)"));
    // WHEN the day runs
    Collect sink;
    auto stats = sim::run_fleet(s, sink);
    ASSERT_TRUE(stats.ok()) << stats.error().message;
    // THEN the answer goes out at 10:00:00, not at +2 s (link down: the attempt is lost inside the
    // device), again at +6 s and +14 s, and is then given up
    const core::TimeMs at = s.start + 10 * core::kMsPerHour;
    std::vector<core::TimeMs> answer;
    for (const auto& [message, times] : transmissions(sink.records)) {
        if (std::get<0>(message) == "thermo-2" && std::get<1>(message) == "voice-partner" && times.front() == at) {
            answer = times;
        }
    }
    EXPECT_EQ(answer, (std::vector<core::TimeMs>{at, at + 6000, at + 14000}));
    EXPECT_GT(stats->messages_dropped, 0u);
    // and every transmission was lost, plus the retry that never left the device
    EXPECT_GT(stats->attempts_lost, stats->messages);
    // and no message goes out more than 1 + 3 times
    for (const auto& [message, times] : transmissions(sink.records)) EXPECT_LE(times.size(), 4u);
}

TEST(FleetNetwork, GivenLossyNetwork_WhenRunTwiceAndInTwoShards_ThenEachDeviceSeesTheSameRetransmissions) {
    const auto s = scenario(home("network: {loss: 0.2, retries: 3, backoff: 1s}\n"));
    Collect whole, again;
    ASSERT_TRUE(sim::run_fleet(s, whole).ok());
    ASSERT_TRUE(sim::run_fleet(s, again).ok());
    EXPECT_EQ(whole.records, again.records);
    std::map<std::string, std::vector<core::Record>> joined, expected;
    for (const auto& r : whole.records) {
        if (r.device != "*") expected[r.device].push_back(r);
    }
    for (std::uint32_t i = 0; i < 2; ++i) {
        Collect part;
        sim::FleetOptions o;
        o.shard = {i, 2};
        ASSERT_TRUE(sim::run_fleet(s, part, o).ok());
        for (const auto& r : part.records) {
            if (r.device != "*") joined[r.device].push_back(r);
        }
    }
    EXPECT_EQ(joined, expected);
}

TEST(FleetNetwork, GivenTheSameOutageAsANetworkScheduleOrAsTimelineEvents_WhenSimulated_ThenTheTracesAreTheSame) {
    // GIVEN twenty thermostats (some proactive, some compliant; a hysteresis narrower than the report
    // threshold, so some readings go unreported) losing their network for 2 h 17 min: once from
    // `network: outages`, once from two timeline `network` events. The re-sync on reconnect
    // reports the latest reading and so moves the report band: the next reading is planned anew.
    const std::string fleet = R"(fleets:
  - {prefix: th, count: 20, kind: thermostat, profiles: {compliant: 0.5, proactive: 0.5},
     params: {setpoint_c: 20, time_constant: 18h, hysteresis_c: 0.3}}
)";
    const auto scheduled = scenario(home("network:\n  outages:\n    - {at: 3h41m17s, duration: 2h17m, devices: \"*\"}\n", fleet));
    const auto timeline = scenario(home("timeline:\n  - {at: 3h41m17s, network: {device: \"*\", up: false}}\n"
                                        "  - {at: 5h58m17s, network: {device: \"*\", up: true}}\n",
                                        fleet));
    // WHEN both run
    Collect a, b;
    ASSERT_TRUE(sim::run_fleet(scheduled, a).ok());
    ASSERT_TRUE(sim::run_fleet(timeline, b).ok());
    // THEN every record is the same, at the same millisecond
    const auto lines = [](const std::vector<core::Record>& records) {
        std::vector<std::string> out;
        for (const auto& r : records) out.push_back(core::to_jsonl(r));
        return out;
    };
    const auto la = lines(a.records), lb = lines(b.records);
    ASSERT_GT(la.size(), 1000u);
    const auto [ia, ib] = std::mismatch(la.begin(), la.end(), lb.begin(), lb.end());
    EXPECT_TRUE(ia == la.end() && ib == lb.end())
        << "first difference at record " << (ia - la.begin()) << ":\n  scheduled: " << (ia != la.end() ? *ia : "(none)")
        << "\n  timeline:  " << (ib != lb.end() ? *ib : "(none)");
}
