#pragma once
/// sim/interaction.hpp — when the customer talks to the device through a partner (voice, app).
///
/// A Poisson process with `rate_per_day` expected interactions per day. With a daily window
/// (07:00–23:00 local by default) all of them fall inside it: the rate inside the window is
/// rate_per_day / window length and zero outside. Interactions are what `interaction`-basis
/// consent grants hang on (DESIGN.md, consent model). Sources: docs/sim-models.md §6.
#include <optional>

#include "core/result.hpp"
#include "sim/local_time.hpp"
#include "sim/rng.hpp"

namespace consentrig::sim {

inline constexpr double kDefaultInteractionsPerDay = 2.0;
inline constexpr DurationMs kDefaultWindowStartLocalMs = 7 * kMsPerHour;
inline constexpr DurationMs kDefaultWindowEndLocalMs = 23 * kMsPerHour;

struct InteractionParams {
    double rate_per_day = kDefaultInteractionsPerDay;  ///< expected interactions per day (≥ 0)
    bool windowed = true;                              ///< restrict to the daily window below
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

}  // namespace consentrig::sim
