#pragma once
/// sim/interaction.hpp — when the customer talks to the device through a partner (voice, app).
///
/// A Poisson process at `rate_per_day`, optionally restricted to a daily local window (07:00–23:00
/// by default). Restricted how is `window_rate`: `thinned` (the default, and what scenario files
/// mean by a customer's `hours`: core/scenario.hpp CustomerSpec) keeps the rate and drops what
/// falls outside, so a 16 h window sees 16/24 of rate_per_day; `concentrated` puts all
/// rate_per_day interactions inside the window. Interactions are what `interaction`-basis consent
/// grants hang on (DESIGN.md, consent model). Sources: docs/sim-models.md §6.
#include <cmath>
#include <cstdint>
#include <optional>
#include <type_traits>

#include "core/result.hpp"
#include "sim/local_time.hpp"
#include "sim/rng.hpp"

namespace consentrig::sim {

inline constexpr double kDefaultInteractionsPerDay = 2.0;
inline constexpr DurationMs kDefaultWindowStartLocalMs = 7 * kMsPerHour;
inline constexpr DurationMs kDefaultWindowEndLocalMs = 23 * kMsPerHour;

enum class WindowRate : std::uint8_t {
    thinned,       ///< rate_per_day over the whole day; the window only filters
    concentrated,  ///< rate_per_day interactions per day, all inside the window
};

struct InteractionParams {
    double rate_per_day = kDefaultInteractionsPerDay;  ///< interactions per day (≥ 0), see WindowRate
    bool windowed = true;                              ///< restrict to the daily window below
    WindowRate window_rate = WindowRate::thinned;
    /// [start, end) local time of day; end < start wraps past midnight (e.g. 22:00–02:00);
    /// start == end means the whole day.
    DurationMs window_start_local_ms = kDefaultWindowStartLocalMs;
    DurationMs window_end_local_ms = kDefaultWindowEndLocalMs;
};
[[nodiscard]] core::Status validate(const InteractionParams& params);

/// The next interaction strictly after `after_utc_ms` (UTC), local time given by `offset`.
/// nullopt if the rate is 0. Draws exactly one exponential from `rng`.
///
/// Method: draw the gap in "window time" (time inside windows only) and walk forward through
/// the windows; exact for a fixed offset. Around a DST change the window on that day may be off
/// by the size of the jump.
[[nodiscard]] std::optional<TimeMs> next_interaction(Rng& rng, const InteractionParams& params,
                                                     TimeMs after_utc_ms, OffsetRef offset = {});

/// For windows one daily interval cannot express (several windows, some weekdays only — a
/// scenario's `hours` list): a Poisson process at `rate_per_day` thinned by `in_hours(utc_ms)`.
/// The next accepted instant strictly after `after_utc_ms`, looking at most `horizon_ms` ahead.
/// Draws one exponential per candidate, accepted or not.
template <class InHours>
    requires std::is_invocable_r_v<bool, const InHours&, TimeMs>
[[nodiscard]] std::optional<TimeMs> next_interaction_where(Rng& rng, double rate_per_day, TimeMs after_utc_ms,
                                                           DurationMs horizon_ms, const InHours& in_hours) {
    if (!(rate_per_day > 0.0)) return std::nullopt;
    const double rate_per_ms = rate_per_day / static_cast<double>(kMsPerDay);
    const TimeMs limit = after_utc_ms + horizon_ms;
    TimeMs t = after_utc_ms;
    for (;;) {
        const double gap = rng.exponential(rate_per_ms);
        if (!(gap < static_cast<double>(limit - t))) return std::nullopt;
        t += gap < 1.0 ? 1 : static_cast<DurationMs>(std::ceil(gap));
        if (in_hours(t)) return t;
    }
}

}  // namespace consentrig::sim
