#include "sim/thermal.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <span>
#include <string>

namespace consentrig::sim {

namespace {

constexpr double kTwoPi = 2.0 * std::numbers::pi;
constexpr double kOmegaPerMs = kTwoPi / static_cast<double>(kMsPerDay);  ///< daily cycle, rad/ms
/// u = 2⁻⁵³, the unit roundoff of double: the rounding allowances below are multiples of it.
constexpr double kRoundoff = std::numeric_limits<double>::epsilon() / 2;
/// Relative safety margin on the derivative bounds, far above their own rounding (~1e-16).
constexpr double kBoundMargin = 1e-9;
/// The root formulas are good to a few u (to ~1e-8 near a double root); a certified span is
/// shortened by this much, relatively.
constexpr double kSpanShrink = 1e-6;
/// Consecutive 1 ms steps without a certificate (the room within rounding of a target for long,
/// as in an asymptotic approach) before the search jumps on the evaluated values and bisects.
constexpr int kMaxUncertifiedSteps = 64;

/// The closed-form solution from a state:
///   T(t) = tc + a·cos φ(t) + b·sin φ(t) + d·e^{−k (t − t0)},   φ(t) = ω·((t_local − coldest) mod day)
struct Solution {
    double k = 0;      ///< 1/τ, per ms
    double tc = 0;     ///< equilibrium of the constant part: mean + heating·H·τ
    double a = 0;      ///< cos coefficient of the periodic part
    double b = 0;      ///< sin coefficient of the periodic part
    double d = 0;      ///< transient amplitude at t0
    double amp = 0;    ///< |a| + |b| ≥ √(a² + b²): bounds the periodic part without a hypot
    bool periodic_on = false;  ///< a or b non-zero: the outdoors varies
    TimeMs t0 = 0;
    double value0 = 0;  ///< T(t0), returned exactly (the sum below may differ in the last bit)
    const HouseParams* params = nullptr;

    [[nodiscard]] double phase(TimeMs t) const {
        const DurationMs since_coldest =
            floor_mod(t + params->utc_offset_ms - params->outdoor_coldest_local_ms, kMsPerDay);
        return kOmegaPerMs * static_cast<double>(since_coldest);
    }
    /// The transcendental parts at one instant, computed once: the value and the derivatives at
    /// the same t share them (the libm calls are most of the search's time).
    struct At {
        TimeMs t = 0;
        double cos_ph = 1;
        double sin_ph = 0;
        double transient = 0;
    };
    /// The periodic part's sin/cos only (transient 0): what solve needs at t0.
    [[nodiscard]] At phase_at(TimeMs t) const {
        At e;
        e.t = t;
        if (periodic_on) {
            const double ph = phase(t);
            e.cos_ph = std::cos(ph);
            e.sin_ph = std::sin(ph);
        }
        return e;
    }
    [[nodiscard]] At at(TimeMs t) const {
        At e = phase_at(t);
        e.transient = d * std::exp(-k * static_cast<double>(t - t0));
        return e;
    }
    [[nodiscard]] double periodic(const At& e) const { return periodic_on ? a * e.cos_ph + b * e.sin_ph : 0.0; }
    [[nodiscard]] double periodic_rate(const At& e) const {  // d/dt of the periodic part, per ms
        return periodic_on ? kOmegaPerMs * (-a * e.sin_ph + b * e.cos_ph) : 0.0;
    }
    [[nodiscard]] double value(const At& e) const { return e.t == t0 ? value0 : tc + periodic(e) + e.transient; }
    [[nodiscard]] double rate(const At& e) const { return periodic_rate(e) - k * e.transient; }
    /// T'' (the periodic part's is −ω²·P).
    [[nodiscard]] double curvature(const At& e) const {
        return -kOmegaPerMs * kOmegaPerMs * periodic(e) + k * k * e.transient;
    }
    /// Upper bound of |T⁽ⁿ⁾| on [t, ∞): ωⁿ·amp + kⁿ·|transient(t)| (the transient only decays);
    /// `transient_slack` covers the rounding of the evaluated transient.
    [[nodiscard]] double derivative_bound(const At& e, int order, double transient_slack) const {
        const double w = order == 2 ? kOmegaPerMs * kOmegaPerMs : kOmegaPerMs * kOmegaPerMs * kOmegaPerMs;
        const double kn = order == 2 ? k * k : k * k * k;
        return (w * amp + kn * (std::abs(e.transient) + transient_slack)) * (1.0 + kBoundMargin);
    }
    [[nodiscard]] double value(TimeMs t) const { return t == t0 ? value0 : value(at(t)); }
    [[nodiscard]] double rate(TimeMs t) const { return rate(at(t)); }

    At at_t0;  ///< the state itself: sin/cos at t0 and, as e⁰ = 1, transient d (no exp needed)
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
    s.periodic_on = s.a != 0.0 || s.b != 0.0;
    s.amp = std::abs(s.a) + std::abs(s.b);
    s.value0 = static_cast<double>(state.temperature_c);
    s.at_t0 = s.phase_at(s.t0);
    s.d = s.value0 - s.tc - s.periodic(s.at_t0);
    s.at_t0.transient = s.d;
    return s;
}

/// S ≥ 0 such that q(s) = m + v·s + h·s²/2 > 0 for every s in [0, S], at most `limit`.
/// Cancellation-free root formulas, shortened by kSpanShrink; a convex q whose discriminant is
/// within rounding of 0 falls back to its linear part (q ≥ m + v·s there).
double positive_span(double m, double v, double h, double limit) {
    if (!(m > 0.0)) return 0.0;
    double span = std::numeric_limits<double>::infinity();
    if (h < 0.0) {
        const double root = std::sqrt(v * v - 2.0 * h * m);  // > |v|
        span = v <= 0.0 ? 2.0 * m / (root - v) : (v + root) / -h;
    } else if (v < 0.0) {
        const double disc = v * v - 2.0 * h * m;
        if (h == 0.0 || disc <= 16.0 * kRoundoff * (v * v + 2.0 * h * m)) {
            span = m / -v;
        } else {
            span = 2.0 * m / (std::sqrt(disc) - v);
        }
    }
    span *= 1.0 - kSpanShrink;
    return span >= 0.0 ? std::min(span, limit) : 0.0;  // NaN (non-finite inputs): nothing certified
}

/// The search behind time_to_reach and time_to_reach_either: the first millisecond in
/// [from, from + horizon] at which g_j(t) = T(t) − (target_j + slope·(t − from)), as evaluated,
/// is no longer strictly on its starting side, for any finite target. Method and error budget:
/// docs/sim-models.md §2.3.
class Search {
public:
    Search(const Solution& s, TimeMs from_ms, std::span<const double> targets, DurationMs horizon_ms,
           double slope_per_ms)
        : s_(s), from_(from_ms), end_(from_ms + horizon_ms), slope_(slope_per_ms) {
        for (const double t : targets)
            if (std::isfinite(t) && n_ < targets_.size()) targets_[n_++] = t;
        // δ bounds |evaluated g − exact g| anywhere in the search, step by step through the
        // evaluation: libm's sin/cos/exp within 2 ulp, the phase ω·n within 1 ulp of 2π, each
        // operation within u. A sum whose varying term is 0 is exact, hence the min(…): a
        // constant room has δ = 0. Doubled for slack.
        const double u = kRoundoff;
        const bool before_t0 = from_ms < s.t0;
        const double back = before_t0 ? s.k * static_cast<double>(s.t0 - from_ms) : 0.0;  // max −k(t − t0)
        tr_max_ = std::abs(s.d) * (before_t0 ? std::exp(back) * (1.0 + 1e-6) : 1.0);
        const double drift =
            std::abs(slope_) * (static_cast<double>(horizon_ms) + std::abs(static_cast<double>(from_ms - s.t0)));
        double target_max = 0;
        for (std::size_t j = 0; j < n_; ++j) target_max = std::max(target_max, std::abs(targets_[j]));
        tr_slack_ = u * tr_max_ * (8.0 + back) + u * std::abs(s.d);
        delta_ = 2.0 * (32.0 * u * s.amp + tr_slack_ +                               // P and transient
                        u * std::abs(s.value0 - s.tc) + 2.0 * u * std::abs(s.d) +   // d from T(t0)
                        std::min(u * (std::abs(s.tc) + 2.0 * s.amp), 2.0 * s.amp) +  // tc + P
                        std::min(u * (std::abs(s.tc) + 2.0 * s.amp + 2.0 * tr_max_), 2.0 * tr_max_) +
                        u * drift + std::min(u * (target_max + 2.0 * drift), 2.0 * drift));  // target(t)
        eta1_ = 64.0 * u * (kOmegaPerMs * s.amp + s.k * tr_max_ * (1.0 + back) + std::abs(slope_));
        eta2_ = 64.0 * u * (kOmegaPerMs * kOmegaPerMs * s.amp + s.k * s.k * tr_max_ * (1.0 + back));
    }

    std::optional<TimeMs> run() {
        if (n_ == 0 || end_ < from_) return std::nullopt;
        if (!start()) return from_;
        int uncertified = 0;
        for (;;) {
            if (certified_to_ == here_.t) certified_to_ = reach(certify(true));
            if (certified_to_ >= end_) return std::nullopt;
            if (certified_to_ > here_.t) {
                uncertified = 0;
            } else if (++uncertified > kMaxUncertifiedSteps) {
                return bisect();
            }
            // Every ms up to certified_to_ stays on its side: the next candidate is the one after.
            const Solution::At next = s_.at(certified_to_ + 1);
            if (crossed(next)) return next.t;
            here_ = next;
            certified_to_ = next.t;
        }
    }

private:
    [[nodiscard]] double g(std::size_t j, const Solution::At& e) const {
        return s_.value(e) - (targets_[j] + slope_ * static_cast<double>(e.t - from_));
    }
    [[nodiscard]] bool crossed(const Solution::At& e) const {
        for (std::size_t j = 0; j < n_; ++j)
            if (side_[j] * g(j, e) <= 0.0) return true;
        return false;
    }
    /// The last ms of a span from here_ (certified_to_ semantics), clipped to the horizon.
    [[nodiscard]] TimeMs reach(double span_ms) const {
        const double whole = std::floor(span_ms);
        return whole >= static_cast<double>(end_ - here_.t) ? end_ : here_.t + static_cast<DurationMs>(whole);
    }

    /// Sets here_, side_ and certified_to_; false if a target is met exactly at `from`.
    /// The first base is the state itself when it is at or before `from` (value, rate and
    /// curvature there cost no exp), if that certifies every side through `from`.
    bool start() {
        if (from_ >= s_.t0) {
            here_ = s_.at_t0;
            for (std::size_t j = 0; j < n_; ++j) side_[j] = g(j, here_) > 0.0 ? 1.0 : -1.0;
            certified_to_ = from_ == s_.t0 ? from_ : reach(certify(true));
            if (certified_to_ >= from_) return from_ != s_.t0 || !crossed(here_);
        }
        here_ = s_.at(from_);
        for (std::size_t j = 0; j < n_; ++j) {
            const double g0 = g(j, here_);
            if (g0 == 0.0) return false;
            side_[j] = g0 > 0.0 ? 1.0 : -1.0;
        }
        certified_to_ = from_;
        return true;
    }

    /// The shortest span over the targets that here_'s bounds keep strictly on their sides —
    /// counting rounding (δ, η) when `with_rounding`, on the evaluated values alone otherwise.
    [[nodiscard]] double certify(bool with_rounding) const {
        const double rate = s_.rate(here_);
        const double curv = s_.curvature(here_);
        const double m2 = s_.derivative_bound(here_, 2, tr_slack_);
        const double m3 = s_.derivative_bound(here_, 3, tr_slack_);
        const double rounding = with_rounding ? 2.0 * delta_ : 0.0;
        const double eta1 = with_rounding ? eta1_ : 0.0;
        const double eta2 = with_rounding ? eta2_ : 0.0;
        const auto remaining = static_cast<double>(end_ - here_.t);
        double shortest = std::numeric_limits<double>::infinity();
        for (std::size_t j = 0; j < n_; ++j) {
            const double m = side_[j] * g(j, here_) - rounding;
            const double v = side_[j] * (rate - slope_) - eta1;
            const double c = side_[j] * curv - eta2;
            // Over the whole horizon (|T''| ≤ M₂ or T'' within M₃·W of its value here), then
            // over a window just past where the local quadratic crosses (Newton-like, cubic error).
            double best = positive_span(m, v, std::max(c - m3 * remaining, -m2), remaining);
            if (best < remaining) {
                const double guess = positive_span(m, v, c, remaining);
                if (guess < remaining) {
                    const double window = guess * 1.01 + 1.0;
                    best = std::max(best, positive_span(m, v, std::max(c - m3 * window, -m2), window));
                }
            }
            shortest = std::min(shortest, best);
        }
        return shortest;
    }

    /// Within rounding of a target for long: jump on the evaluated margins alone, then bisect to
    /// a millisecond whose predecessor has not crossed. That is the first one wherever the
    /// evaluated g is monotone in between — as it is for an asymptotic approach (a rounded sum
    /// of a decaying exponential).
    std::optional<TimeMs> bisect() {
        for (;;) {
            const TimeMs probe_t = std::max(reach(certify(false)), here_.t + 1);
            const Solution::At probe = s_.at(std::min(probe_t, end_));
            if (!crossed(probe)) {
                if (probe.t >= end_) return std::nullopt;
                here_ = probe;
                continue;
            }
            TimeMs good = here_.t, bad = probe.t;
            while (bad - good > 1) {
                const TimeMs mid = good + (bad - good) / 2;
                (crossed(s_.at(mid)) ? bad : good) = mid;
            }
            return bad;
        }
    }

    const Solution& s_;
    TimeMs from_;
    TimeMs end_;
    double slope_;  ///< target slope, °C per ms
    std::array<double, 2> targets_{};
    std::array<double, 2> side_{};  ///< +1: starts above the target, −1: below
    std::size_t n_ = 0;
    double tr_max_ = 0;    ///< |transient| anywhere in the search
    double tr_slack_ = 0;  ///< rounding of an evaluated transient
    double delta_ = 0;     ///< |evaluated − exact| of g anywhere in the search
    double eta1_ = 0;      ///< … of g' as evaluated at a base
    double eta2_ = 0;      ///< … of g''
    Solution::At here_;     ///< the base: the last instant evaluated (or the state itself)
    TimeMs certified_to_ = 0;  ///< every ms in (here_.t, certified_to_] stays on its side
};

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

std::optional<TimeMs> time_to_reach_either(const HouseState& state, const HouseParams& params, TimeMs from_ms,
                                           double first_target_c, double second_target_c, DurationMs horizon_ms,
                                           double target_slope_c_per_h) {
    if (horizon_ms < 0 || !std::isfinite(target_slope_c_per_h)) return std::nullopt;
    const Solution s = solve(state, params);
    const std::array<double, 2> targets{first_target_c, second_target_c};
    return Search(s, from_ms, targets, horizon_ms, target_slope_c_per_h / static_cast<double>(kMsPerHour)).run();
}

std::optional<TimeMs> time_to_reach(const HouseState& state, const HouseParams& params, TimeMs from_ms,
                                    double target_c, DurationMs horizon_ms, double target_slope_c_per_h) {
    return time_to_reach_either(state, params, from_ms, target_c, std::numeric_limits<double>::infinity(),
                                horizon_ms, target_slope_c_per_h);
}

}  // namespace consentrig::sim
