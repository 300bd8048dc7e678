#include "sim/rng.hpp"

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

double Rng::normal(double mean, double sigma) noexcept {
    for (;;) {
        const double u = 2.0 * uniform() - 1.0;
        const double v = 2.0 * uniform() - 1.0;
        const double s = u * u + v * v;
        if (s > 0.0 && s < 1.0) return mean + sigma * u * std::sqrt(-2.0 * std::log(s) / s);
    }
}

double Rng::lognormal(double mu, double sigma) noexcept { return std::exp(normal(mu, sigma)); }

double Rng::lognormal_median(double median, double sigma_log) noexcept {
    return median * std::exp(normal(0.0, sigma_log));
}

}  // namespace consentrig::sim
