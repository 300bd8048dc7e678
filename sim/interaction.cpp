#include "sim/interaction.hpp"

#include <cmath>

namespace consentrig::sim {

core::Status validate(const InteractionParams& p) {
    if (!std::isfinite(p.rate_per_day) || p.rate_per_day < 0)
        return core::Error{"interaction: rate_per_day must be finite and >= 0"};
    auto in_day = [](DurationMs t) { return t >= 0 && t < kMsPerDay; };
    if (!in_day(p.window_start_local_ms) || !in_day(p.window_end_local_ms))
        return core::Error{"interaction: window times must be within a day"};
    return {};
}

std::optional<TimeMs> next_interaction(Rng& rng, const InteractionParams& params, TimeMs after_utc_ms,
                                       OffsetRef offset) {
    if (!(params.rate_per_day > 0.0)) return std::nullopt;
    DurationMs window_len = kMsPerDay;
    if (params.windowed) {
        window_len = floor_mod(params.window_end_local_ms - params.window_start_local_ms, kMsPerDay);
        if (window_len == 0) window_len = kMsPerDay;
    }
    const DurationMs window_start = params.windowed ? params.window_start_local_ms : 0;
    // Window time runs only inside windows: "thinned" keeps the all-day rate there.
    const DurationMs rate_basis = params.window_rate == WindowRate::thinned ? kMsPerDay : window_len;
    const double rate_per_ms = params.rate_per_day / static_cast<double>(rate_basis);
    double gap = rng.exponential(rate_per_ms);  // in ms of window time
    // Beyond ~27,000 years the answer is "never" (and TimeMs arithmetic stays far from overflow).
    constexpr double kMaxWindowsAhead = 1e7;
    if (!std::isfinite(gap) || gap / static_cast<double>(window_len) > kMaxWindowsAhead) return std::nullopt;

    // Millisecond slots: the first allowed one is after + 1; slot floor(gap) of window time wins.
    TimeMs at = after_utc_ms + 1;
    for (;;) {
        const DurationMs into_window = floor_mod(time_of_day(offset.to_local(at)) - window_start, kMsPerDay);
        if (into_window >= window_len) {  // outside: jump to the next window start
            at += kMsPerDay - into_window;
            continue;
        }
        const DurationMs left_in_window = window_len - into_window;
        if (gap < static_cast<double>(left_in_window)) return at + static_cast<DurationMs>(gap);
        if (into_window == 0 && gap >= static_cast<double>(window_len)) {
            // Skip whole days at once (one window per day).
            const auto days = static_cast<std::int64_t>(gap / static_cast<double>(window_len));
            gap -= static_cast<double>(days) * static_cast<double>(window_len);
            at += days * kMsPerDay;
            continue;
        }
        gap -= static_cast<double>(left_in_window);
        at += left_in_window;
    }
}

}  // namespace consentrig::sim
