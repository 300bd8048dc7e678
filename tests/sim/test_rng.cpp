// GIVEN/WHEN/THEN tests of sim/rng.hpp: known answers (platform-stable stream), determinism,
// and the moments of every distribution over N samples with stated tolerances.
#include "sim/rng.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numbers>
#include <vector>

using namespace consentrig::sim;

namespace {

constexpr int kSamples = 200000;

struct Moments {
    double mean = 0;
    double variance = 0;
};

template <class Draw>
Moments moments(Draw draw, int n = kSamples) {
    double sum = 0;
    double sum_sq = 0;
    for (int i = 0; i < n; ++i) {
        const double x = draw();
        sum += x;
        sum_sq += x * x;
    }
    const double mean = sum / n;
    return {mean, sum_sq / n - mean * mean};
}

}  // namespace

TEST(Rng, GivenKnownInputs_WhenHashedAndMixed_ThenMatchPublishedReferenceValues) {
    // FNV-1a 64 reference values (Fowler/Noll/Vo test vectors).
    EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
    EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
    EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ULL);
    // SplitMix64 from state 0: the reference implementation's first three outputs.
    Rng rng(0);
    EXPECT_EQ(rng.next_u64(), 0xe220a8397b1dcdafULL);
    EXPECT_EQ(rng.next_u64(), 0x6e789e6aa1b965f4ULL);
    EXPECT_EQ(rng.next_u64(), 0x06c45d188009454fULL);
}

TEST(Rng, GivenSeedAndDeviceId_WhenSeeded_ThenStreamIsPinned) {
    // Pinned (computed independently in Python from the documented formula): if this changes,
    // every stored scenario result changes — bump the trace format version instead.
    Rng rng(42, "thermostat-0001");
    EXPECT_EQ(rng.state(), 0xa6f1c611323fb5c2ULL);
    EXPECT_EQ(rng.next_u64(), 0x872a1eac3b42a645ULL);
    EXPECT_EQ(rng.next_u64(), 0x20324baa827de669ULL);
    EXPECT_EQ(rng.next_u64(), 0x16ac9abb7e6cc503ULL);
    EXPECT_EQ(Rng(42, "thermostat-0001", "network").state(), 0xeb79b47b493620dbULL);
}

TEST(Rng, GivenSameSeedAndId_WhenDrawnTwice_ThenIdenticalBitForBit) {
    Rng a(7, "lock-42", "door");
    Rng b(7, "lock-42", "door");
    for (int i = 0; i < 1000; ++i) {
        const double x = a.normal(1.0, 2.0);
        const double y = b.normal(1.0, 2.0);
        ASSERT_EQ(std::memcmp(&x, &y, sizeof x), 0) << i;
        ASSERT_EQ(a.exponential(3.0), b.exponential(3.0)) << i;
        ASSERT_EQ(a.lognormal_median(50.0, 0.4), b.lognormal_median(50.0, 0.4)) << i;
    }
}

TEST(Rng, GivenDifferentSeedIdOrStream_WhenSeeded_ThenStreamsDiffer) {
    const std::uint64_t base = Rng(7, "lock-42").state();
    EXPECT_NE(base, Rng(8, "lock-42").state());
    EXPECT_NE(base, Rng(7, "lock-43").state());
    EXPECT_NE(base, Rng(7, "lock-42", "door").state());
    EXPECT_NE(Rng(7, "lock-42", "door").state(), Rng(7, "lock-42", "network").state());
    // The separator keeps ("ab","c") and ("a","bc") apart.
    EXPECT_NE(Rng(7, "ab", "c").state(), Rng(7, "a", "bc").state());
}

TEST(Rng, GivenUniform_WhenSampled_ThenInUnitIntervalWithMoments) {
    Rng rng(1, "uniform");
    double lo = 1;
    double hi = 0;
    const Moments m = moments([&] {
        const double u = rng.uniform();
        lo = std::min(lo, u);
        hi = std::max(hi, u);
        return u;
    });
    EXPECT_GE(lo, 0.0);
    EXPECT_LT(hi, 1.0);
    // s.e. of the mean sqrt(1/12 / N) = 6.5e-4, of the variance sqrt((1/80 − 1/144) / N) = 1.7e-4;
    // tolerances ≈ 5–6 s.e.
    EXPECT_NEAR(m.mean, 0.5, 0.003);
    EXPECT_NEAR(m.variance, 1.0 / 12.0, 0.001);
}

TEST(Rng, GivenBelow_WhenSampled_ThenEveryValueEquallyLikely) {
    Rng rng(2, "below");
    constexpr int kBuckets = 10;
    std::vector<int> count(kBuckets, 0);
    for (int i = 0; i < kSamples; ++i) ++count[rng.below(kBuckets)];
    // Expected 20,000 per bucket, σ ≈ 134; tolerance 700 ≈ 5σ.
    for (int c : count) EXPECT_NEAR(c, kSamples / kBuckets, 700);
    EXPECT_EQ(rng.below(1), 0U);
}

TEST(Rng, GivenExponential_WhenSampled_ThenMeanAndVarianceMatchRate) {
    Rng rng(3, "exp");
    constexpr double kRate = 2.0;
    const Moments m = moments([&] { return rng.exponential(kRate); });
    // mean 1/λ = 0.5 (s.e. 0.0011), variance 1/λ² = 0.25 (s.e. sqrt(8/λ⁴ / N) = 0.0016):
    // tolerances ≈ 5–6 s.e.
    EXPECT_NEAR(m.mean, 0.5, 0.006);
    EXPECT_NEAR(m.variance, 0.25, 0.01);
    EXPECT_TRUE(std::isinf(rng.exponential(0.0)));
}

TEST(Rng, GivenNormal_WhenSampled_ThenMeanAndSigmaMatch) {
    Rng rng(4, "normal");
    const Moments m = moments([&] { return rng.normal(3.0, 2.0); });
    // mean 3 (s.e. 0.0045), variance 4 (s.e. ≈ 0.0126): tolerances ≈ 5 s.e.
    EXPECT_NEAR(m.mean, 3.0, 0.025);
    EXPECT_NEAR(m.variance, 4.0, 0.07);
}

// GIVEN the ziggurat behind normal(): strips, wedges and a tail, each drawn on its own path
// WHEN a million standard normals are binned
// THEN every bin holds Φ's share, the tail beyond the base strip's edge (3.4426) included
TEST(Rng, GivenNormal_WhenBinned_ThenEveryBinMatchesTheNormalCdf) {
    Rng rng(6, "normal-shape");
    const std::vector<double> edges{-3.4426, -2.5, -1.5, -0.75, 0.0, 0.75, 1.5, 2.5, 3.4426};
    std::vector<int> count(edges.size() + 1, 0);
    double tail_sum = 0;  // of |x| beyond the outer edges
    constexpr int kDraws = 1'000'000;
    for (int i = 0; i < kDraws; ++i) {
        const double x = rng.normal();
        ++count[static_cast<std::size_t>(std::upper_bound(edges.begin(), edges.end(), x) - edges.begin())];
        if (std::abs(x) > edges.back()) tail_sum += std::abs(x);
    }
    const auto cdf = [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); };
    for (std::size_t b = 0; b < count.size(); ++b) {
        const double lo = b == 0 ? 0.0 : cdf(edges[b - 1]);
        const double hi = b == edges.size() ? 1.0 : cdf(edges[b]);
        const double expected = (hi - lo) * kDraws;
        // binomial s.e. √(n·p·(1−p)); tolerance 5 s.e. (the tails: 288 expected, s.e. 17)
        const double se = std::sqrt(expected * (1.0 - (hi - lo)));
        EXPECT_NEAR(count[b], expected, 5.0 * se) << "bin " << b;
    }
    // E[|Z| : |Z| > r] = φ(r) / (1 − Φ(r)) = 3.698 for r = 3.4426; the s.d. there is ≈ 0.25, so
    // over ~576 tail samples the s.e. is ≈ 0.011: tolerance 0.055
    const int tail = count.front() + count.back();
    ASSERT_GT(tail, 0);
    const double r = edges.back();
    const double phi = std::exp(-0.5 * r * r) / std::sqrt(2.0 * std::numbers::pi);
    EXPECT_NEAR(tail_sum / tail, phi / (1.0 - cdf(r)), 0.055);
}

TEST(Rng, GivenLognormal_WhenSampled_ThenMedianAndLogMomentsMatch) {
    Rng rng(5, "lognormal");
    std::vector<double> xs;
    xs.reserve(kSamples);
    for (int i = 0; i < kSamples; ++i) xs.push_back(rng.lognormal_median(50.0, 0.43));
    const Moments log_m = moments([&, i = 0]() mutable { return std::log(xs[static_cast<std::size_t>(i++)]); });
    EXPECT_NEAR(log_m.mean, std::log(50.0), 0.005);       // s.e. 0.001
    EXPECT_NEAR(log_m.variance, 0.43 * 0.43, 0.003);      // s.e. ≈ 0.0006
    std::nth_element(xs.begin(), xs.begin() + kSamples / 2, xs.end());
    EXPECT_NEAR(xs[kSamples / 2], 50.0, 0.5);             // s.e. of the median 0.06: 1 % ≈ 8 s.e.
    Rng rng2(5, "lognormal-mu");
    const Moments lm = moments([&] { return std::log(rng2.lognormal(1.0, 0.5)); });
    EXPECT_NEAR(lm.mean, 1.0, 0.005);       // s.e. 0.0011
    EXPECT_NEAR(lm.variance, 0.25, 0.004);  // s.e. 0.0008
}

TEST(Rng, GivenBernoulli_WhenSampled_ThenFrequencyMatchesP) {
    Rng rng(6, "bernoulli");
    int hits = 0;
    for (int i = 0; i < kSamples; ++i) hits += rng.bernoulli(0.1) ? 1 : 0;
    // p = 0.1, σ of the frequency = 6.7e-4; tolerance 0.004 ≈ 6σ.
    EXPECT_NEAR(static_cast<double>(hits) / kSamples, 0.1, 0.004);
    EXPECT_FALSE(rng.bernoulli(0.0));
    EXPECT_TRUE(rng.bernoulli(1.0));
}
