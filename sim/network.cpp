#include "sim/network.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace consentrig::sim {

core::Status validate(const NetworkParams& p) {
    if (!std::isfinite(p.latency_median_ms) || p.latency_median_ms < 0)
        return core::Error{"network: latency_median_ms must be finite and >= 0"};
    if (!std::isfinite(p.latency_sigma_log) || p.latency_sigma_log < 0)
        return core::Error{"network: latency_sigma_log must be finite and >= 0"};
    if (!(p.loss_probability >= 0.0 && p.loss_probability <= 1.0))
        return core::Error{"network: loss_probability must be within 0..1"};
    if (p.max_retries < 0) return core::Error{"network: max_retries must be >= 0"};
    if (p.backoff_base_ms < 0 || p.backoff_max_ms < 0)
        return core::Error{"network: backoff delays must be >= 0"};
    for (const Outage& o : p.outages)
        if (o.to_ms < o.from_ms) return core::Error{"network: an outage ends before it starts"};
    return {};
}

std::vector<Outage> normalize_outages(std::vector<Outage> v) {
    std::erase_if(v, [](const Outage& o) { return o.to_ms <= o.from_ms; });
    std::sort(v.begin(), v.end(), [](const Outage& a, const Outage& b) { return a.from_ms < b.from_ms; });
    std::vector<Outage> merged;
    for (const Outage& o : v) {
        if (!merged.empty() && o.from_ms <= merged.back().to_ms) {
            merged.back().to_ms = std::max(merged.back().to_ms, o.to_ms);
        } else {
            merged.push_back(o);
        }
    }
    return merged;
}

std::optional<TimeMs> outage_end(std::span<const Outage> v, TimeMs t_ms) {
    // First outage starting after t; the one before it is the only candidate containing t.
    auto it = std::upper_bound(v.begin(), v.end(), t_ms, [](TimeMs t, const Outage& o) { return t < o.from_ms; });
    if (it == v.begin()) return std::nullopt;
    --it;
    if (t_ms < it->to_ms) return it->to_ms;
    return std::nullopt;
}

NetworkModel::NetworkModel(NetworkParams params) : params_(std::move(params)) {
    params_.outages = normalize_outages(std::move(params_.outages));
}

std::optional<TimeMs> NetworkModel::outage_end(TimeMs t_ms) const { return sim::outage_end(params_.outages, t_ms); }

bool NetworkModel::in_outage(TimeMs t_ms) const { return outage_end(t_ms).has_value(); }

DurationMs NetworkModel::backoff_ms(int retry) const {
    DurationMs delay = params_.backoff_base_ms;
    for (int i = 0; i < retry && delay < params_.backoff_max_ms; ++i) delay *= 2;
    return std::min(delay, params_.backoff_max_ms);
}

Delivery NetworkModel::deliver(Rng& rng, TimeMs send_ms) const { return deliver(rng, send_ms, params_.outages); }

DurationMs NetworkModel::latency_ms(Rng& rng) const {
    return static_cast<DurationMs>(std::llround(rng.lognormal_median(params_.latency_median_ms, params_.latency_sigma_log)));
}

std::optional<TimeMs> NetworkModel::try_send(Rng& rng, TimeMs send_ms) const {
    if (lost(rng)) return std::nullopt;
    return send_ms + latency_ms(rng);
}

DurationMs NetworkModel::retry_wait(Rng& rng, int retry) const {
    const DurationMs wait = backoff_ms(retry);
    if (params_.backoff_jitter == BackoffJitter::full)
        return static_cast<DurationMs>(rng.below(static_cast<std::uint64_t>(wait) + 1));
    return wait;
}

Delivery NetworkModel::deliver(Rng& rng, TimeMs send_ms, std::span<const Outage> outages) const {
    auto in_outage = [&](TimeMs t) { return sim::outage_end(outages, t).has_value(); };
    Delivery d;
    TimeMs attempt_ms = send_ms;
    for (int retry = 0;; ++retry) {
        d.attempts = retry + 1;
        d.last_attempt_ms = attempt_ms;
        if (!in_outage(attempt_ms)) {
            if (const auto arrival = try_send(rng, attempt_ms); arrival && !in_outage(*arrival)) {
                d.delivered = true;
                d.arrival_ms = *arrival;
                return d;
            }
        }
        if (retry >= params_.max_retries) return d;
        attempt_ms += retry_wait(rng, retry);
    }
}

}  // namespace consentrig::sim
