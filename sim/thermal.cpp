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

/// sin/cos of the daily phase at one millisecond of the day (a pure function of it), kept for
/// the next call on this thread: the runner advances a house to `now` and then searches from the
/// state at `now`, which needs the same pair again.
struct PhaseMemo {
    DurationMs since_coldest = -1;
    double cos_ph = 1;
    double sin_ph = 0;
};
thread_local PhaseMemo phase_memo;

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

    [[nodiscard]] DurationMs since_coldest(TimeMs t) const {
        return floor_mod(t + params->utc_offset_ms - params->outdoor_coldest_local_ms, kMsPerDay);
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
            PhaseMemo& memo = phase_memo;
            const DurationMs since = since_coldest(t);
            if (memo.since_coldest != since) {
                const double ph = kOmegaPerMs * static_cast<double>(since);
                memo = {since, std::cos(ph), std::sin(ph)};
            }
            e.cos_ph = memo.cos_ph;
            e.sin_ph = memo.sin_ph;
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
    /// Upper bounds of |T''| and |T'''| on [t, ∞): ωⁿ·amp + kⁿ·|transient(t)| (the transient
    /// only decays); `transient_slack` covers the rounding of the evaluated transient.
    struct Bounds {
        double second = 0;
        double third = 0;
    };
    [[nodiscard]] Bounds derivative_bounds(const At& e, double transient_slack) const {
        constexpr double kW2 = kOmegaPerMs * kOmegaPerMs;
        const double tr = (std::abs(e.transient) + transient_slack) * (1.0 + kBoundMargin);
        const double w2 = kW2 * amp * (1.0 + kBoundMargin);
        return {w2 + k * k * tr, kOmegaPerMs * w2 + k * k * k * tr};
    }
    /// T⁽ⁿ⁾ for n = 1…5 (index n; 0 unused) and a bound of |T⁽⁶⁾| on [t, ∞). Each derivative
    /// turns the periodic part by a quarter period (P, ωQ, −ω²P, −ω³Q, …, Q = −a·sin + b·cos)
    /// and multiplies the transient by −k: no libm call beyond those of `e`.
    struct Taylor {
        std::array<double, 6> d{};
        double bound6 = 0;
    };
    [[nodiscard]] Taylor taylor(const At& e, double transient_slack) const {
        constexpr double w = kOmegaPerMs;
        const double p = periodic(e);
        const double q = periodic_on ? -a * e.sin_ph + b * e.cos_ph : 0.0;
        const double tr = e.transient;
        const double k2 = k * k;
        const double k3 = k2 * k;
        Taylor t;
        t.d[1] = w * q - k * tr;
        t.d[2] = -(w * w) * p + k2 * tr;
        t.d[3] = -(w * w * w) * q - k3 * tr;
        t.d[4] = (w * w * w * w) * p + k2 * k2 * tr;
        t.d[5] = (w * w * w * w * w) * q - k2 * k3 * tr;
        t.bound6 = ((w * w * w * w * w * w) * amp + k3 * k3 * (std::abs(tr) + transient_slack)) * (1.0 + kBoundMargin);
        return t;
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

/// S ≥ 0 such that L(s) = Σₙ cₙ·sⁿ/n! − bound6·s⁶/720 > 0 for every s in [0, S] (n = 0…5, at
/// most `limit`), for c₀ > 0 > c₁ (moving towards the target): Halley's method from the
/// second-order guess for the first root, shortened by 2 µs, then proven — L decreasing on
/// [0, S] (c₁ plus the positive higher terms at S stays < 0) and L(S) > 0, both with their
/// rounding counted. 0 where the proof fails (the caller falls back to the quadratic bounds).
double taylor_span(const std::array<double, 6>& c, double bound6, double limit) {
    if (!(c[0] > 0.0) || !(c[1] < 0.0)) return 0.0;
    // L(s) = Σ pₙ·sⁿ; L'(s) = Σ n·pₙ·sⁿ⁻¹. (Multiplying by 1/n! instead of dividing rounds
    // differently in the last bit; the coefficients' allowances ηₙ are 64 u wide.)
    const double p2 = c[2] * 0.5;
    const double p3 = c[3] * (1.0 / 6.0);
    const double p4 = c[4] * (1.0 / 24.0);
    const double p5 = c[5] * (1.0 / 120.0);
    const double p6 = -bound6 * (1.0 / 720.0);
    auto value = [&](double x) { return (((((p6 * x + p5) * x + p4) * x + p3) * x + p2) * x + c[1]) * x + c[0]; };
    auto slope = [&](double x) {
        return ((((6.0 * p6 * x + 5.0 * p5) * x + 4.0 * p4) * x + 3.0 * p3) * x + 2.0 * p2) * x + c[1];
    };
    auto curve = [&](double x) {
        return (((30.0 * p6 * x + 20.0 * p5) * x + 12.0 * p4) * x + 6.0 * p3) * x + 2.0 * p2;
    };
    // Second-order guess s₁·(1 + c₂·s₁/(2|c₁|)), s₁ = c₀/|c₁|: off by 1 ms – 10 s for a crossing
    // 20 min away. Halley's steps (cubic convergence; L, L' and L'' evaluated side by side) leave
    // an error of about step³·(L''/L')²: one step mostly suffices for the 1e-6 ms aimed at, well
    // inside the 2 µs the span gives away. The proof below, not this estimate, decides.
    const double linear = c[0] / -c[1];
    double root = linear * (1.0 + std::clamp(c[2] * linear / (-2.0 * c[1]), -0.5, 0.5));
    for (int i = 0; i < 6 && root < limit; ++i) {
        const double f = value(root);
        const double d = slope(root);
        const double h = curve(root);
        if (!(d < 0.0)) return 0.0;
        const double step = -2.0 * f * d / (2.0 * d * d - f * h);
        root += step;
        const double bend = h / d;
        if (std::abs(step * step * step) * bend * bend < 1e-6) break;
    }
    const double x = std::min(root - 2e-3 - 1e-12 * root, limit);
    if (!(x > 0.0)) return 0.0;
    // L' ≤ c₁ + Σ max(n·pₙ, 0)·xⁿ⁻¹ on [0, x] (n = 2…5; the x⁵ term is ≤ 0), and the scales
    // of the rounding of that sum and of L(x).
    const double x2 = x * x;
    const double x3 = x2 * x;
    const double x4 = x2 * x2;
    const double t2 = 2.0 * p2 * x;
    const double t3 = 3.0 * p3 * x2;
    const double t4 = 4.0 * p4 * x3;
    const double t5 = 5.0 * p5 * x4;
    const double rise = std::max(t2, 0.0) + std::max(t3, 0.0) + std::max(t4, 0.0) + std::max(t5, 0.0);
    const double rise_abs = std::abs(t2) + std::abs(t3) + std::abs(t4) + std::abs(t5);
    const double size = c[0] + x * (std::abs(c[1]) + rise_abs - p6 * x4 * x);
    const double u = kRoundoff;
    if (!(c[1] + rise < -16.0 * u * (std::abs(c[1]) + rise_abs))) return 0.0;
    if (!(value(x) > 32.0 * u * size)) return 0.0;
    return x;
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
        // ηₙ bounds |evaluated − exact| of the n-th derivative at a base (its scale ωⁿ·amp + kⁿ·|tr|).
        double wn = 1;
        double kn = 1;
        for (std::size_t n = 1; n < eta_.size(); ++n) {
            wn *= kOmegaPerMs;
            kn *= s.k;
            eta_[n] = 64.0 * u * (wn * s.amp + kn * tr_max_ * (1.0 + back));
        }
        eta_[1] += 64.0 * u * std::abs(slope_);
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
            // Every ms up to certified_to_ stays on its side: the next candidate is the one after,
            // and the base's upper bounds usually prove it crossed without evaluating it.
            if (proven_crossed(certified_to_ + 1)) return certified_to_ + 1;
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
    /// The last ms of a span (≥ 0) from here_ (certified_to_ semantics), clipped to the horizon.
    [[nodiscard]] TimeMs reach(double span_ms) const {
        if (span_ms >= static_cast<double>(end_ - here_.t)) return end_;
        return here_.t + static_cast<DurationMs>(span_ms);  // truncation = floor for span ≥ 0
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
    /// With rounding, also keeps the upper Taylor bound of every target being approached, for
    /// proven_crossed.
    [[nodiscard]] double certify(bool with_rounding) {
        upper_base_ = with_rounding ? here_.t : kNoBase;
        approached_ = 0;
        const double rate = s_.rate(here_);
        const double curv = s_.curvature(here_);
        const auto [m2, m3] = s_.derivative_bounds(here_, tr_slack_);
        const double rounding = with_rounding ? 2.0 * delta_ : 0.0;
        const double eta1 = with_rounding ? eta_[1] : 0.0;
        const double eta2 = with_rounding ? eta_[2] : 0.0;
        const auto remaining = static_cast<double>(end_ - here_.t);
        std::optional<Solution::Taylor> taylor;  // only for a target being approached
        double shortest = std::numeric_limits<double>::infinity();
        for (std::size_t j = 0; j < n_; ++j) {
            const double m = side_[j] * g(j, here_) - rounding;
            const double v = side_[j] * (rate - slope_) - eta1;
            const double c = side_[j] * curv - eta2;
            // Moving towards the target: the degree-5 Taylor bound (the first step lands within
            // ~0.1 ms of a crossing a degree away), else a window just past where the local
            // quadratic crosses (Newton-like with a cubic error). Otherwise, or if these fall well
            // short, over the whole horizon (|T''| ≤ M₂, or T'' within M₃·W of its value here).
            double best = 0;
            double guess = remaining;
            if (v < 0.0 && with_rounding) {
                if (!taylor) taylor = s_.taylor(here_, tr_slack_);
                std::array<double, 6> coef{m, v, c, 0, 0, 0};
                for (std::size_t n = 3; n < coef.size(); ++n) coef[n] = side_[j] * taylor->d[n] - eta_[n];
                keep_upper(j, m + 2.0 * rounding, v + 2.0 * eta1, c + 2.0 * eta2, *taylor);
                best = taylor_span(coef, taylor->bound6, remaining);
                if (best > 0.0 && best * std::max(kOmegaPerMs, s_.k) < 0.5) {
                    shortest = std::min(shortest, best);
                    continue;
                }
            }
            if (v < 0.0) {
                guess = positive_span(m, v, c, remaining);
                if (guess < remaining) {
                    const double window = guess * 1.01 + 1.0;
                    best = std::max(best, positive_span(m, v, std::max(c - m3 * window, -m2), window));
                }
            }
            if (best < 0.5 * guess) best = std::max(best, positive_span(m, v, std::max(c - m3 * remaining, -m2), remaining));
            shortest = std::min(shortest, best);
        }
        return shortest;
    }

    /// U(s) ≥ side·g(here_ + s) as evaluated, the mirror of taylor_span's lower bound: every term
    /// with its allowance added (value 2δ, derivatives ηₙ) and the remainder M₆·s⁶/720 added.
    /// Kept as the coefficients of Σ uₙ·sⁿ for the target j approached from here_.
    void keep_upper(std::size_t j, double m_up, double v_up, double c_up, const Solution::Taylor& t) {
        auto& u = upper_[j];
        u = {m_up, v_up, c_up * 0.5, 0, 0, 0, t.bound6 * (1.0 / 720.0)};
        constexpr std::array<double, 6> kInvFactorial{1.0, 1.0, 0.5, 1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0};
        for (std::size_t n = 3; n < 6; ++n) u[n] = (side_[j] * t.d[n] + eta_[n]) * kInvFactorial[n];
        approached_ |= 1U << j;
    }

    /// Whether millisecond `t` has crossed for some target approached from here_, proven by the
    /// upper bounds certify kept: U(t − here_) < 0 with the rounding of its evaluation counted
    /// means the evaluated g is strictly past the target. (So the answer is t exactly when
    /// every millisecond before it is certified, without the sin/cos/exp of evaluating it.)
    [[nodiscard]] bool proven_crossed(TimeMs t) const {
        if (upper_base_ != here_.t) return false;
        const auto x = static_cast<double>(t - here_.t);
        for (std::size_t j = 0; j < n_; ++j) {
            if (!(approached_ & (1U << j))) continue;
            const auto& u = upper_[j];
            double value = u[6];
            double size = std::abs(u[6]);
            for (std::size_t n = 6; n-- > 0;) {
                value = value * x + u[n];
                size = size * x + std::abs(u[n]);
            }
            if (value < -32.0 * kRoundoff * size) return true;
        }
        return false;
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
    std::array<double, 6> eta_{};  ///< … of g⁽ⁿ⁾ as evaluated at a base, n = 1…5
    Solution::At here_;     ///< the base: the last instant evaluated (or the state itself)
    TimeMs certified_to_ = 0;  ///< every ms in (here_.t, certified_to_] stays on its side
    static constexpr TimeMs kNoBase = std::numeric_limits<TimeMs>::min();
    TimeMs upper_base_ = kNoBase;  ///< the base upper_ was kept for (certify with rounding)
    unsigned approached_ = 0;      ///< bit j: upper_[j] holds (target j approached from there)
    std::array<std::array<double, 7>, 2> upper_{};  ///< keep_upper's coefficients per target
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
