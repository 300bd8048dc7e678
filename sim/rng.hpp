#pragma once
/// sim/rng.hpp — the simulator's one random-number generator, seeded per device.
///
/// `Rng` is SplitMix64 (Steele, Lea & Flood 2014; the generator `java.util.SplittableRandom`
/// uses): 8 bytes of state, one add and a 64-bit finaliser per number, and the same integer
/// stream on every platform. A device's stream is derived from (scenario seed, device id
/// [, stream name]) with FNV-1a 64 over the id bytes and the SplitMix64 finaliser — see
/// `Rng::Rng(seed, device_id, stream)` and docs/sim-models.md §1. Separate stream names give a
/// device independent streams per process (`"network"`, `"door"`, `"sensor"`…), so a change in
/// how many numbers one model draws never shifts what another model sees.
///
/// Reproducibility: integers and `uniform()` are bit-identical everywhere. Variates built on
/// `std::log`/`std::sqrt`/`std::exp` are bit-identical on one platform and C library (glibc's
/// `log`/`exp` are correctly rounded in practice; `sqrt` is exact by IEEE 754); across different
/// C libraries they may differ in the last bit.
#include <cstdint>
#include <string_view>

#include "core/hash.hpp"

namespace consentrig::sim {

using core::fnv1a64;  ///< FNV-1a 64 (core/hash.hpp): a device id → its stream's seed
inline constexpr std::uint64_t kSplitMix64Gamma = 0x9e3779b97f4a7c15ULL;  ///< 2^64 / golden ratio

/// The SplitMix64 output finaliser (a bijection on 64-bit words with full avalanche).
[[nodiscard]] constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

class Rng {
public:
    /// A generator with this raw state (tests, and sub-streams built by the caller).
    explicit constexpr Rng(std::uint64_t state) noexcept : state_(state) {}

    /// The stream of device `device_id` in a scenario with `scenario_seed`, optionally one of
    /// several named streams of that device:
    ///   h      = FNV-1a64(device_id)                         (+ FNV-1a64 over "\0" + stream)
    ///   state0 = mix64(scenario_seed ^ mix64(h))
    Rng(std::uint64_t scenario_seed, std::string_view device_id,
        std::string_view stream = {}) noexcept;

    /// Next 64 random bits: state += gamma; return mix64(state).
    constexpr std::uint64_t next_u64() noexcept {
        state_ += kSplitMix64Gamma;
        return mix64(state_);
    }

    /// Uniform on [0, 1) with 53 random bits (exactly representable, platform-independent).
    double uniform() noexcept;
    /// Uniform on [lo, hi).
    double uniform(double lo, double hi) noexcept;
    /// Uniform integer in [0, n) without modulo bias (n > 0).
    std::uint64_t below(std::uint64_t n) noexcept;
    /// true with probability p (p <= 0: never; p >= 1: always).
    bool bernoulli(double p) noexcept;
    /// Exponential with the given rate (mean 1/rate), by inversion: -ln(1 - U) / rate.
    /// rate <= 0 gives +infinity (the event never happens).
    double exponential(double rate) noexcept;
    /// Normal(mean, sigma), by the ziggurat method (Marsaglia & Tsang, in Doornik's form): one
    /// draw per try, almost always one try; docs/sim-models.md §1.
    double normal(double mean = 0.0, double sigma = 1.0) noexcept;
    /// Lognormal: exp(mu + sigma * Z).
    double lognormal(double mu, double sigma) noexcept;
    /// Lognormal given by its median: median * exp(sigma_log * Z).
    double lognormal_median(double median, double sigma_log) noexcept;

    [[nodiscard]] constexpr std::uint64_t state() const noexcept { return state_; }

private:
    std::uint64_t state_;
};

static_assert(sizeof(Rng) == 8, "Rng must stay one 64-bit word per device");

}  // namespace consentrig::sim
