#include "sim/thermal.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <string>

namespace consentrig::sim {

namespace {

constexpr double kTwoPi = 2.0 * std::numbers::pi;
constexpr double kOmegaPerMs = kTwoPi / static_cast<double>(kMsPerDay);  ///< daily cycle, rad/ms
/// Relative safety margin on the curvature bound, far above double rounding (~1e-16).
constexpr double kCurvatureMargin = 1e-9;
/// How far back from a rounding-edge crossing we look for an earlier millisecond (see below).
constexpr int kMaxBackSteps = 64;

/// The closed-form solution from a state:
///   T(t) = tc + a·cos φ(t) + b·sin φ(t) + d·e^{−k (t − t0)},   φ(t) = ω·((t_local − coldest) mod day)
struct Solution {
    double k = 0;      ///< 1/τ, per ms
    double tc = 0;     ///< equilibrium of the constant part: mean + heating·H·τ
    double a = 0;      ///< cos coefficient of the periodic part
    double b = 0;      ///< sin coefficient of the periodic part
    double d = 0;      ///< transient amplitude at t0
    double p_amp = 0;  ///< sqrt(a² + b²): amplitude of the periodic part
    TimeMs t0 = 0;
    double value0 = 0;  ///< T(t0), returned exactly (the sum below may differ in the last bit)
    const HouseParams* params = nullptr;

    [[nodiscard]] double phase(TimeMs t) const {
        const DurationMs since_coldest =
            floor_mod(t + params->utc_offset_ms - params->outdoor_coldest_local_ms, kMsPerDay);
        return kOmegaPerMs * static_cast<double>(since_coldest);
    }
    /// The transcendental parts at one instant, computed once: value, rate and the curvature
    /// bound at the same t share them (the libm calls were most of the search's time).
    struct At {
        TimeMs t = 0;
        double cos_ph = 1;
        double sin_ph = 0;
        double transient = 0;
    };
    [[nodiscard]] At at(TimeMs t) const {
        At e;
        e.t = t;
        if (p_amp != 0.0) {
            const double ph = phase(t);
            e.cos_ph = std::cos(ph);
            e.sin_ph = std::sin(ph);
        }
        e.transient = d * std::exp(-k * static_cast<double>(t - t0));
        return e;
    }
    [[nodiscard]] double periodic(const At& e) const { return p_amp == 0.0 ? 0.0 : a * e.cos_ph + b * e.sin_ph; }
    [[nodiscard]] double periodic_rate(const At& e) const {  // d/dt of the periodic part, per ms
        return p_amp == 0.0 ? 0.0 : kOmegaPerMs * (-a * e.sin_ph + b * e.cos_ph);
    }
    [[nodiscard]] double value(const At& e) const { return e.t == t0 ? value0 : tc + periodic(e) + e.transient; }
    [[nodiscard]] double rate(const At& e) const { return periodic_rate(e) - k * e.transient; }
    /// An upper bound of |T''| on [t, ∞): ω²·|P| + k²·|d|·e^{−k (t − t0)} (the transient decays).
    [[nodiscard]] double curvature_bound(const At& e) const {
        return (kOmegaPerMs * kOmegaPerMs * p_amp + k * k * std::abs(e.transient)) * (1.0 + kCurvatureMargin);
    }
    [[nodiscard]] double value(TimeMs t) const { return t == t0 ? value0 : value(at(t)); }
    [[nodiscard]] double rate(TimeMs t) const { return rate(at(t)); }
};

Solution solve(const HouseState& state, const HouseParams& params) {
    Solution s;
    s.params = &params;
    s.t0 = state.updated_ms;
    s.k = 1.0 / static_cast<double>(params.time_constant_ms);
    const double heat_per_ms = state.heating ? params.heat_rate_c_per_h / static_cast<double>(kMsPerHour) : 0.0;
    s.tc = params.outdoor_mean_c + heat_per_ms / s.k;
    // P' + kP = −k·A·cos φ  ⇒  P = −kA/(k²+ω²)·(k cos φ + ω sin φ)
    const double w = kOmegaPerMs;
    const double scale = -s.k * params.outdoor_amplitude_c / (s.k * s.k + w * w);
    s.a = scale * s.k;
    s.b = scale * w;
    s.p_amp = std::hypot(s.a, s.b);
    s.value0 = static_cast<double>(state.temperature_c);
    s.d = 0;
    s.d = s.value0 - s.tc - s.periodic(s.at(s.t0));
    return s;
}

}  // namespace

core::Status validate(const HouseParams& p) {
    auto bad = [](const std::string& what) { return core::Status(core::Error{"house: " + what}); };
    if (p.time_constant_ms <= 0) return bad("time_constant_ms must be > 0");
    if (!std::isfinite(p.heat_rate_c_per_h) || p.heat_rate_c_per_h < 0)
        return bad("heat_rate_c_per_h must be finite and >= 0");
    if (!std::isfinite(p.outdoor_mean_c)) return bad("outdoor_mean_c must be finite");
    if (!std::isfinite(p.outdoor_amplitude_c) || p.outdoor_amplitude_c < 0)
        return bad("outdoor_amplitude_c must be finite and >= 0");
    if (p.outdoor_coldest_local_ms < 0 || p.outdoor_coldest_local_ms >= kMsPerDay)
        return bad("outdoor_coldest_local_ms must be within one day");
    if (p.utc_offset_ms <= -kMsPerDay || p.utc_offset_ms >= kMsPerDay)
        return bad("utc_offset_ms must be less than a day");
    return {};
}

double outdoor_temperature_c(const HouseParams& params, TimeMs t_ms) {
    const DurationMs since_coldest =
        floor_mod(t_ms + params.utc_offset_ms - params.outdoor_coldest_local_ms, kMsPerDay);
    return params.outdoor_mean_c -
           params.outdoor_amplitude_c * std::cos(kOmegaPerMs * static_cast<double>(since_coldest));
}

double temperature_at(const HouseState& state, const HouseParams& params, TimeMs t_ms) {
    return solve(state, params).value(t_ms);
}

double warming_rate_c_per_h(const HouseState& state, const HouseParams& params, TimeMs t_ms) {
    return solve(state, params).rate(t_ms) * static_cast<double>(kMsPerHour);
}

void advance(HouseState& state, const HouseParams& params, TimeMs to_ms) {
    if (to_ms <= state.updated_ms) return;
    state.temperature_c = static_cast<float>(temperature_at(state, params, to_ms));
    state.updated_ms = to_ms;
}

void set_heating(HouseState& state, const HouseParams& params, TimeMs now_ms, bool on) {
    advance(state, params, now_ms);
    state.heating = on;
}

std::optional<TimeMs> time_to_reach(const HouseState& state, const HouseParams& params,
                                    TimeMs from_ms, double target_c, DurationMs horizon_ms,
                                    double target_slope_c_per_h) {
    if (horizon_ms < 0 || !std::isfinite(target_c) || !std::isfinite(target_slope_c_per_h))
        return std::nullopt;
    const Solution s = solve(state, params);
    const double slope = target_slope_c_per_h / static_cast<double>(kMsPerHour);
    // g(t) = T(t) − target(t); we look for the first t where side·g(t) ≤ 0.
    auto g = [&](const Solution::At& e) {
        return s.value(e) - (target_c + slope * static_cast<double>(e.t - from_ms));
    };

    Solution::At here = s.at(from_ms);
    const double g0 = g(here);
    if (g0 == 0.0) return from_ms;
    const double side = g0 > 0.0 ? 1.0 : -1.0;
    const TimeMs end_ms = from_ms + horizon_ms;

    double margin = side * g0;  // > 0: distance to the target on the starting side
    while (here.t < end_ms) {
        // Lower bound for τ ≥ 0:  side·g(at+τ) ≥ margin + v·τ − M·τ²/2, positive for τ < τ*.
        const double v = side * (s.rate(here) - slope);
        const double m = s.curvature_bound(here);
        double safe_ms = 0;
        if (m > 0.0) {
            safe_ms = (v + std::sqrt(v * v + 2.0 * m * margin)) / m;
        } else {
            safe_ms = v >= 0.0 ? std::numeric_limits<double>::infinity() : margin / -v;
        }
        DurationMs step = 1;
        const auto remaining = static_cast<double>(end_ms - here.t);
        if (safe_ms >= remaining) {
            step = end_ms - here.t;
        } else if (safe_ms > 1.0) {
            step = static_cast<DurationMs>(std::floor(safe_ms));
        }
        const Solution::At next = s.at(here.t + step);
        const double next_margin = side * g(next);
        if (next_margin <= 0.0) {
            // Certified positive on (at, at + safe_ms), so this is the first crossing — unless
            // rounding put `next` a hair past the bound; then the crossing may be a few ms earlier.
            TimeMs first = next.t;
            for (int i = 0; i < kMaxBackSteps && first - 1 > here.t && side * g(s.at(first - 1)) <= 0.0; ++i) --first;
            return first;
        }
        here = next;
        margin = next_margin;
    }
    return std::nullopt;
}

}  // namespace consentrig::sim
