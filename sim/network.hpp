#pragma once
/// sim/network.hpp — the path from a device to a partner cloud: latency, loss, retries, outages.
///
/// Each attempt to send a message is lost with `loss_probability`; if it gets through it arrives
/// after a lognormal latency (median `latency_median_ms`, shape `latency_sigma_log`). An attempt
/// whose send or arrival instant falls in a scheduled outage [from, to) is lost. After a lost
/// attempt the device waits an exponential backoff — min(base·2^i, max), optionally with AWS-style
/// "full jitter" — and tries again, up to `max_retries` times. Sources: docs/sim-models.md §5.
///
/// Scenario files (core/scenario.hpp NetworkSpec) map on directly: loss → loss_probability,
/// retries → max_retries, backoff_ms → backoff_base_ms (doubling, no jitter: the default here),
/// latency {median_ms, jitter_ms} → latency_median_ms and latency_sigma_log = LatencySpec::sigma().
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/result.hpp"
#include "sim/local_time.hpp"
#include "sim/rng.hpp"

namespace consentrig::sim {

inline constexpr double kDefaultLatencyMedianMs = 50.0;
/// ln(p90 / median) / z_0.9 with p90 ≈ 87 ms, median ≈ 50 ms, z_0.9 = 1.2816.
inline constexpr double kDefaultLatencySigmaLog = 0.43;
inline constexpr double kDefaultLossProbability = 0.004;
inline constexpr int kDefaultMaxRetries = 4;
inline constexpr DurationMs kDefaultBackoffBaseMs = 1 * kMsPerSecond;
inline constexpr DurationMs kDefaultBackoffMaxMs = 128 * kMsPerSecond;

enum class BackoffJitter : std::uint8_t {
    none,  ///< wait exactly min(base·2^i, max)
    full,  ///< wait a uniform whole number of ms in [0, min(base·2^i, max)] ("Full Jitter")
};

/// The link is down on [from_ms, to_ms).
struct Outage {
    TimeMs from_ms = 0;
    TimeMs to_ms = 0;
};

struct NetworkParams {
    double latency_median_ms = kDefaultLatencyMedianMs;
    double latency_sigma_log = kDefaultLatencySigmaLog;  ///< σ of ln(latency); 0 = fixed latency
    double loss_probability = kDefaultLossProbability;   ///< per attempt
    int max_retries = kDefaultMaxRetries;                ///< attempts = 1 + max_retries at most
    DurationMs backoff_base_ms = kDefaultBackoffBaseMs;
    DurationMs backoff_max_ms = kDefaultBackoffMaxMs;
    BackoffJitter backoff_jitter = BackoffJitter::none;
    std::vector<Outage> outages;  ///< any order; overlapping intervals are merged
};
[[nodiscard]] core::Status validate(const NetworkParams& params);

struct Delivery {
    bool delivered = false;
    TimeMs arrival_ms = 0;       ///< when the message reached the cloud (only if delivered)
    int attempts = 0;            ///< attempts made, including the successful one
    TimeMs last_attempt_ms = 0;  ///< send time of the last attempt (the give-up time if not delivered)
};

/// Sorts outages by start, drops empty ones and merges overlapping or touching ones — the form
/// every `outages` span below expects.
[[nodiscard]] std::vector<Outage> normalize_outages(std::vector<Outage> outages);

/// The end of the outage in `outages` (normalized) containing `t_ms`, or nullopt if the link is up.
[[nodiscard]] std::optional<TimeMs> outage_end(std::span<const Outage> outages, TimeMs t_ms);

/// A network path shared by many devices (outages normalized once). Immutable and thread-safe;
/// all randomness comes from the caller's per-device `Rng`.
class NetworkModel {
public:
    explicit NetworkModel(NetworkParams params);

    /// Sends one message at `send_ms` through this model's outages. Draws per attempt: one
    /// uniform for loss (unless the attempt starts in an outage), one normal for latency if not
    /// lost, one integer for the backoff if retrying with full jitter.
    [[nodiscard]] Delivery deliver(Rng& rng, TimeMs send_ms) const;
    /// The same with another (normalized) outage list — for outages that only some devices see
    /// (a scenario outage with a device selector): keep one list per distinct selector.
    [[nodiscard]] Delivery deliver(Rng& rng, TimeMs send_ms, std::span<const Outage> outages) const;

    /// One attempt on a link that is up at `send_ms`: nullopt if it is lost (loss_probability),
    /// else its arrival (send + lognormal latency, whole ms). Outages are the caller's to check,
    /// at the send and in flight. Draws one uniform, and one normal if not lost.
    [[nodiscard]] std::optional<TimeMs> try_send(Rng& rng, TimeMs send_ms) const;
    /// The two halves of try_send, for callers that need the latency only sometimes: whether an
    /// attempt is lost (one uniform), and one attempt's latency in whole ms (one normal).
    [[nodiscard]] bool lost(Rng& rng) const { return rng.bernoulli(params_.loss_probability); }
    [[nodiscard]] DurationMs latency_ms(Rng& rng) const;
    /// The wait before retry number `retry` (0 = after the first attempt): backoff_ms(retry), or
    /// with full jitter a uniform whole number of ms up to it (one draw).
    [[nodiscard]] DurationMs retry_wait(Rng& rng, int retry) const;

    [[nodiscard]] bool in_outage(TimeMs t_ms) const;
    /// The end of the outage containing `t_ms`, or nullopt if the link is up then.
    [[nodiscard]] std::optional<TimeMs> outage_end(TimeMs t_ms) const;
    /// Backoff before retry number `retry` (0 = after the first attempt), without jitter.
    [[nodiscard]] DurationMs backoff_ms(int retry) const;

    [[nodiscard]] const NetworkParams& params() const { return params_; }

private:
    NetworkParams params_;
};

}  // namespace consentrig::sim
