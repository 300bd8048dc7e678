// GIVEN/WHEN/THEN tests of the network model (sim/network.hpp): latency distribution, loss,
// outages, retries and backoff timing.
#include "sim/network.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

using namespace consentrig::sim;

namespace {
constexpr TimeMs kT0 = 1767571200000;  // 2026-01-05T00:00:00Z

NetworkParams lossless() {
    NetworkParams p;
    p.loss_probability = 0;
    return p;
}
}  // namespace

TEST(Network, GivenDefaults_WhenValidated_ThenOkAndBadValuesRejected) {
    EXPECT_TRUE(validate(NetworkParams{}).ok());
    NetworkParams p;
    p.loss_probability = 1.5;
    EXPECT_FALSE(validate(p).ok());
    p = {};
    p.outages = {{kT0 + 10, kT0}};
    EXPECT_FALSE(validate(p).ok());
}

TEST(Network, GivenNoLoss_WhenManyMessagesSent_ThenLatencyMedianAndSpreadMatch) {
    const NetworkModel net(lossless());  // median 50 ms, σ_log 0.43
    Rng rng(41, "thermostat-9", "network");
    constexpr int kN = 20000;
    std::vector<double> latency;
    latency.reserve(kN);
    for (int i = 0; i < kN; ++i) {
        const TimeMs send = kT0 + i * kMsPerMinute;
        const Delivery d = net.deliver(rng, send);
        ASSERT_TRUE(d.delivered);
        ASSERT_EQ(d.attempts, 1);
        latency.push_back(static_cast<double>(d.arrival_ms - send));
    }
    std::sort(latency.begin(), latency.end());
    // Median: s.e. ≈ 1.25·σ_log·median/√N ≈ 0.19 ms; tolerance 1.5 ms (3 %) also covers ms rounding.
    EXPECT_NEAR(latency[kN / 2], 50.0, 1.5);
    // 90th percentile: 50·e^{0.43·1.2816} = 86.7 ms; tolerance 3 ms.
    EXPECT_NEAR(latency[kN * 9 / 10], 86.7, 3.0);
}

TEST(Network, GivenLossWithoutRetries_WhenManySent_ThenLossRateMatches) {
    NetworkParams p;
    p.loss_probability = 0.1;
    p.max_retries = 0;
    const NetworkModel net(p);
    Rng rng(42, "lock-9", "network");
    constexpr int kN = 50000;
    int lost = 0;
    for (int i = 0; i < kN; ++i) {
        const Delivery d = net.deliver(rng, kT0 + i * kMsPerSecond);
        EXPECT_EQ(d.attempts, 1);
        lost += d.delivered ? 0 : 1;
    }
    // σ of the frequency = 0.0013; tolerance 0.007 ≈ 5σ.
    EXPECT_NEAR(static_cast<double>(lost) / kN, 0.1, 0.007);
}

TEST(Network, GivenLossWithRetries_WhenManySent_ThenOnlyAllAttemptsLostIsLost) {
    NetworkParams p;
    p.loss_probability = 0.3;
    p.max_retries = 2;
    const NetworkModel net(p);
    Rng rng(43, "lock-10", "network");
    constexpr int kN = 50000;
    int lost = 0;
    double attempts = 0;
    for (int i = 0; i < kN; ++i) {
        const Delivery d = net.deliver(rng, kT0 + i * kMsPerHour);
        lost += d.delivered ? 0 : 1;
        attempts += d.attempts;
    }
    EXPECT_NEAR(static_cast<double>(lost) / kN, 0.027, 0.004);    // 0.3³; σ 0.0007
    EXPECT_NEAR(attempts / kN, 1 + 0.3 + 0.09, 0.02);              // E[attempts]; σ ≈ 0.003
}

TEST(Network, GivenSendDuringLongOutage_WhenAllRetriesFallInside_ThenNotDelivered) {
    NetworkParams p = lossless();
    p.outages = {{kT0, kT0 + kMsPerHour}};
    const NetworkModel net(p);
    Rng rng(44);
    const Delivery d = net.deliver(rng, kT0 + 10 * kMsPerSecond);
    EXPECT_FALSE(d.delivered);
    EXPECT_EQ(d.attempts, 1 + p.max_retries);
    EXPECT_LT(d.last_attempt_ms, kT0 + kMsPerHour);
    EXPECT_TRUE(net.in_outage(kT0));
    EXPECT_FALSE(net.in_outage(kT0 + kMsPerHour));  // [from, to)
    EXPECT_EQ(net.outage_end(kT0 + 5), kT0 + kMsPerHour);
}

TEST(Network, GivenShortOutage_WhenRetriedWithBackoff_ThenDeliveredAfterItEndsAtExactRetryTimes) {
    NetworkParams p = lossless();
    p.latency_sigma_log = 0;  // exactly 50 ms
    p.backoff_jitter = BackoffJitter::none;
    p.outages = {{kT0, kT0 + 2500}};
    const NetworkModel net(p);
    Rng rng(45);
    const Delivery d = net.deliver(rng, kT0);
    // Attempts at +0 (down), +1000 (down), +3000 (= 1000 + 2000, up): arrives at +3050.
    EXPECT_TRUE(d.delivered);
    EXPECT_EQ(d.attempts, 3);
    EXPECT_EQ(d.last_attempt_ms, kT0 + 3000);
    EXPECT_EQ(d.arrival_ms, kT0 + 3050);
    EXPECT_EQ(net.backoff_ms(0), 1000);
    EXPECT_EQ(net.backoff_ms(3), 8000);
    EXPECT_EQ(net.backoff_ms(20), 128000);  // capped at the maximum
}

TEST(Network, GivenMessageInFlightWhenOutageStarts_WhenDelivered_ThenLostAndRetried) {
    NetworkParams p = lossless();
    p.latency_sigma_log = 0;
    p.backoff_jitter = BackoffJitter::none;
    p.outages = {{kT0 + 20, kT0 + 500}};
    const NetworkModel net(p);
    Rng rng(46);
    const Delivery d = net.deliver(rng, kT0);  // would arrive at +50, inside the outage
    EXPECT_TRUE(d.delivered);
    EXPECT_EQ(d.attempts, 2);
    EXPECT_EQ(d.arrival_ms, kT0 + 1050);
}

TEST(Network, GivenFullJitter_WhenRetried_ThenEachWaitWithinItsWindow) {
    NetworkParams p;
    p.loss_probability = 1.0;  // every attempt lost: we only look at the retry times
    p.max_retries = 4;
    p.latency_sigma_log = 0;
    p.backoff_jitter = BackoffJitter::full;
    const NetworkModel net(p);
    Rng rng(47, "thermostat-3", "network");
    DurationMs total = 0;
    for (int i = 0; i < 2000; ++i) {
        const Delivery d = net.deliver(rng, kT0);
        ASSERT_FALSE(d.delivered);
        ASSERT_EQ(d.attempts, 5);
        const DurationMs waited = d.last_attempt_ms - kT0;
        ASSERT_GE(waited, 0);
        ASSERT_LE(waited, 1000 + 2000 + 4000 + 8000);
        total += waited;
    }
    // Mean of full jitter = half of each window: 7.5 s; σ of the mean ≈ 0.05 s; tolerance 0.3 s.
    EXPECT_NEAR(static_cast<double>(total) / 2000 / kMsPerSecond, 7.5, 0.3);
}

TEST(Network, GivenPerDeviceOutageList_WhenDelivered_ThenOnlyThatListApplies) {
    NetworkParams p = lossless();
    p.latency_sigma_log = 0;
    const NetworkModel net(p);  // no outages of its own: devices outside the selector
    const std::vector<Outage> home_wifi_down = normalize_outages({{kT0, kT0 + kMsPerHour}});
    Rng a(49);
    Rng b(49);
    EXPECT_TRUE(net.deliver(a, kT0 + 5).delivered);
    const Delivery d = net.deliver(b, kT0 + 5, home_wifi_down);
    EXPECT_FALSE(d.delivered);
    EXPECT_EQ(d.attempts, 1 + p.max_retries);
    // Default backoff is plain doubling, as scenario files describe it: 1 + 2 + 4 + 8 s.
    EXPECT_EQ(d.last_attempt_ms, kT0 + 5 + 15 * kMsPerSecond);
}

TEST(Network, GivenOverlappingOutages_WhenModelBuilt_ThenMerged) {
    NetworkParams p;
    p.outages = {{kT0 + 100, kT0 + 200}, {kT0, kT0 + 150}, {kT0 + 300, kT0 + 300}};
    const NetworkModel net(p);
    ASSERT_EQ(net.params().outages.size(), 1U);
    EXPECT_EQ(net.params().outages[0].from_ms, kT0);
    EXPECT_EQ(net.params().outages[0].to_ms, kT0 + 200);
    EXPECT_FALSE(net.in_outage(kT0 + 300));
}

TEST(Network, GivenSameSeed_WhenDeliveredTwice_ThenSameOutcome) {
    NetworkParams p;
    p.loss_probability = 0.2;
    const NetworkModel net(p);
    Rng a(48, "dev", "network");
    Rng b(48, "dev", "network");
    for (int i = 0; i < 500; ++i) {
        const Delivery x = net.deliver(a, kT0 + i * kMsPerMinute);
        const Delivery y = net.deliver(b, kT0 + i * kMsPerMinute);
        ASSERT_EQ(x.delivered, y.delivered);
        ASSERT_EQ(x.arrival_ms, y.arrival_ms);
        ASSERT_EQ(x.attempts, y.attempts);
    }
}
