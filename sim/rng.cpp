#include "sim/rng.hpp"

#include <array>
#include <cmath>
#include <limits>

namespace consentrig::sim {

namespace {
constexpr int kUniformBits = 53;                          // double mantissa incl. hidden bit
constexpr double kTwoPowMinus53 = 1.0 / 9007199254740992.0;  // 2^-53
constexpr char kStreamSeparator = '\0';
}  // namespace

Rng::Rng(std::uint64_t scenario_seed, std::string_view device_id, std::string_view stream) noexcept
    : state_(0) {
    std::uint64_t h = fnv1a64(device_id);
    if (!stream.empty()) {
        h = fnv1a64(std::string_view(&kStreamSeparator, 1), h);
        h = fnv1a64(stream, h);
    }
    state_ = mix64(scenario_seed ^ mix64(h));
}

double Rng::uniform() noexcept {
    return static_cast<double>(next_u64() >> (64 - kUniformBits)) * kTwoPowMinus53;
}

double Rng::uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }

std::uint64_t Rng::below(std::uint64_t n) noexcept {
    if (n == 0) return 0;
    // Reject the top partial block so every residue is equally likely.
    const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() -
                                std::numeric_limits<std::uint64_t>::max() % n;
    std::uint64_t x = next_u64();
    while (x >= limit) x = next_u64();
    return x % n;
}

bool Rng::bernoulli(double p) noexcept {
    const double u = uniform();  // always consume one number, whatever p is
    return u < p;
}

double Rng::exponential(double rate) noexcept {
    const double u = uniform();
    if (!(rate > 0.0)) return std::numeric_limits<double>::infinity();
    return -std::log1p(-u) / rate;  // 1 - u in (0, 1]: finite
}

namespace {

/// The ziggurat of N(0, 1) in Doornik's form ("An improved ziggurat method to generate normal
/// random samples", 2005, after Marsaglia & Tsang 2000): kLayers strips of equal area kArea,
/// strip 0 being the base with the tail beyond kTailStart. edge[i] is strip i's right edge
/// (edge[0] the base's equivalent width, edge[kLayers] = 0); inner[i] = edge[i+1] / edge[i],
/// the part of strip i under the curve whatever the height.
constexpr unsigned kLayers = 128;
constexpr double kTailStart = 3.442619855899;
constexpr double kArea = 9.91256303526217e-3;

struct Ziggurat {
    std::array<double, kLayers + 1> edge{};
    std::array<double, kLayers> inner{};
    Ziggurat() {
        double f = std::exp(-0.5 * kTailStart * kTailStart);
        edge[0] = kArea / f;
        edge[1] = kTailStart;
        for (unsigned i = 2; i < kLayers; ++i) {
            edge[i] = std::sqrt(-2.0 * std::log(kArea / edge[i - 1] + f));
            f = std::exp(-0.5 * edge[i] * edge[i]);
        }
        edge[kLayers] = 0.0;
        for (unsigned i = 0; i < kLayers; ++i) inner[i] = edge[i + 1] / edge[i];
    }
};

/// Built on first use (a function-local static: safe whatever the order of static initialisation).
const Ziggurat& ziggurat() {
    static const Ziggurat z;
    return z;
}

}  // namespace

double Rng::normal(double mean, double sigma) noexcept {
    const Ziggurat& z = ziggurat();
    for (;;) {
        // One draw per try: the strip from the low 7 bits, the position from the top 53.
        const std::uint64_t bits = next_u64();
        const unsigned layer = static_cast<unsigned>(bits) & (kLayers - 1);
        const double u = 2.0 * (static_cast<double>(bits >> (64 - kUniformBits)) * kTwoPowMinus53) - 1.0;  // [−1, 1)
        if (std::abs(u) < z.inner[layer]) return mean + sigma * (u * z.edge[layer]);
        if (layer == 0) {  // the tail beyond kTailStart (Marsaglia 1964)
            double x = 0, y = 0;
            do {
                x = std::log(1.0 - uniform()) / kTailStart;
                y = std::log(1.0 - uniform());
            } while (-2.0 * y < x * x);
            return mean + sigma * (u < 0 ? x - kTailStart : kTailStart - x);
        }
        // The wedge of strip `layer`: accepted if a uniform height between the strip's bottom and
        // top (f1 and f0, both relative to the curve at x) falls under the curve.
        const double x = u * z.edge[layer];
        const double f0 = std::exp(-0.5 * (z.edge[layer] * z.edge[layer] - x * x));
        const double f1 = std::exp(-0.5 * (z.edge[layer + 1] * z.edge[layer + 1] - x * x));
        if (f1 + uniform() * (f0 - f1) < 1.0) return mean + sigma * x;
    }
}

double Rng::lognormal(double mu, double sigma) noexcept { return std::exp(normal(mu, sigma)); }

double Rng::lognormal_median(double median, double sigma_log) noexcept {
    return median * std::exp(normal(0.0, sigma_log));
}

}  // namespace consentrig::sim
