#pragma once
/// sim/fleet.hpp — the fleet simulator: runs a scenario's devices in virtual time.
///
/// Every device runs the real firmware core (firmware-stubs/core, the code boards run) against
/// its plant (house thermal model, sensor, occupancy, door) in event-driven virtual time: a
/// device wakes only when its firmware has a deadline, its room temperature crosses a value the
/// firmware cares about (fw_temperature_band), a customer acts, the door is used, occupancy
/// changes, or the scenario's timeline or consent schedule says so. Everything the devices send
/// to partner clouds, every true state change, interaction and consent change goes to a
/// RecordSink in time order — the same records a bench capture produces.
///
///   consentrig run scenarios/proactive-state.yaml     (apps/consentrig/run.cpp)
///
/// Determinism: a device's randomness derives from (seed, device id) only, and devices never
/// influence each other, so a shard of the fleet (`shard.index`/`shard.count`, devices whose
/// fleet-wide index ≡ index mod count) produces exactly the records of those devices in the
/// whole run.
#include <cstdint>
#include <functional>
#include <optional>

#include "core/result.hpp"
#include "core/scenario.hpp"
#include "core/trace.hpp"

namespace consentrig::sim {

struct Shard {
    std::uint32_t index = 0;
    std::uint32_t count = 1;
};

struct FleetProgress {
    core::TimeMs now = 0;        ///< virtual time reached
    double fraction = 0;         ///< of the scenario's duration
    std::uint64_t devices = 0;   ///< in this shard
    std::uint64_t events = 0;
    std::uint64_t messages = 0;  ///< egress records so far
};

struct FleetOptions {
    std::optional<std::uint64_t> seed;  ///< overrides the scenario's seed
    Shard shard;
    /// Called once the fleet is built and booted (fraction 0), then about every 1 % of virtual
    /// time, and at the end.
    std::function<void(const FleetProgress&)> progress;
};

struct FleetStats {
    std::uint64_t devices = 0;   ///< simulated in this shard
    std::uint64_t events = 0;    ///< device wake-ups and timeline/consent events processed
    std::uint64_t messages = 0;  ///< egress records (retransmissions included)
    std::uint64_t records = 0;   ///< all records written
    /// The network model (scenario `network`: loss, latency, retries): transmissions repeated
    /// after a lost attempt, attempts lost (on the way, in flight into an outage, or not sent
    /// because the device's link was down at a retry), and messages given up after the last retry
    /// (a lost attempt whose retry would fall after the end of the run is neither).
    std::uint64_t retransmissions = 0;
    std::uint64_t attempts_lost = 0;
    std::uint64_t messages_dropped = 0;
    std::uint64_t bytes_per_device = 0;  ///< simulator state per device (firmware + plant + queue)
};

/// Receives every record of the run in non-decreasing time (`gap` records carry their start).
class RecordSink {
public:
    virtual ~RecordSink() = default;
    [[nodiscard]] virtual core::Status write(const core::Record& record) = 0;
};

/// Runs the scenario. Errors (unknown parameter names, values out of range, a sink that fails)
/// name the scenario file, line and column where they can.
[[nodiscard]] core::Result<FleetStats> run_fleet(const core::Scenario& scenario, RecordSink& sink,
                                                 const FleetOptions& options = {});

/// The meta record of a run (scenario name, source "sim", start, timezone).
[[nodiscard]] core::TraceMeta fleet_meta(const core::Scenario& scenario);

}  // namespace consentrig::sim
