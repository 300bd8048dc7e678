// bench/fleet — the fleet simulator at scale, and a fixed-tick mode of the same engine.
//
//   build/release/bin/bench_fleet [devices=1000000] [hours=24] [--oracle]
//   build/release/bin/bench_fleet --fixed-tick [thermostats=100000] [hours=24]
//
// Event-driven mode: a fleet of thermostats and locks (6:4) with realistic defaults, customers
// interacting by voice, a consent schedule for the vendor cloud, simulated for `hours` on one
// core. Prints wall time (and how much of it building and booting the fleet took), simulated
// device-hours per second, events/s, messages/s and memory per device. With --oracle every
// record is also judged.
//
// Fixed-tick mode: every thermostat wakes every 60 s and does one closed-form thermal update,
// nothing else — the classic benchmark shape, so the engine (sim/event_queue.hpp, the same
// agenda the fleet runs on) can be compared with other discrete-event engines. Prints events/s.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "core/oracle.hpp"
#include "core/scenario.hpp"
#include "sim/event_queue.hpp"
#include "sim/fleet.hpp"
#include "sim/thermal.hpp"

using namespace consentrig;
using Clock = std::chrono::steady_clock;

namespace {

/// User + system CPU seconds of this process: on a shared, loaded machine the wall time says
/// more about the neighbours than about the simulator.
double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

long peak_rss_kib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

/// The kernel's transparent-huge-page mode ("always", "madvise" or "never"; "unknown" where the
/// file is missing): the device array asks for huge pages (sim/huge_pages.hpp), and under
/// "never" a million-device run takes about 40 % more CPU (92 vs 64 s, docs/performance.md).
std::string thp_mode() {
    std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string line;
    if (!std::getline(f, line)) return "unknown";
    const auto open = line.find('['), close = line.find(']');
    return open != std::string::npos && close > open ? line.substr(open + 1, close - open - 1) : "unknown";
}

/// Anonymous memory of this process in transparent huge pages, KiB (0 where unknown): whether
/// the kernel had them to give, as a run without them takes up to 40 % longer (thp_mode).
long anon_huge_kib() {
    std::ifstream f("/proc/self/smaps_rollup");
    std::string key;
    while (f >> key) {
        if (key == "AnonHugePages:") {
            long kib = 0;
            f >> kib;
            return kib;
        }
        f.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    return 0;
}

class CountingSink final : public sim::RecordSink {
public:
    explicit CountingSink(core::Oracle* oracle) : oracle_(oracle) {}
    core::Status write(const core::Record& r) override {
        ++records;
        return oracle_ ? oracle_->feed(r) : core::Status{};
    }
    std::uint64_t records = 0;

private:
    core::Oracle* oracle_;
};

std::string fleet_yaml(std::uint64_t devices, int hours) {
    const std::uint64_t thermostats = devices * 6 / 10;
    const std::uint64_t locks = devices - thermostats;
    return R"(name: bench-fleet
seed: 1
start: 2026-01-05T00:00:00Z
duration: )" + std::to_string(hours) + R"(h
timezone: Europe/Berlin
recipients:
  voice-partner: alexa
  vendor-cloud: json
network:
  latency: {median: 50ms, jitter: 27ms}
  loss: 0.004
  retries: 4
  backoff: 1s
consent:
  - recipient: voice-partner
    categories: [temperature, setpoint, hvac_mode, lock_state]
    basis: interaction
    within: 120s
  - recipient: vendor-cloud
    categories: [all]
    basis: schedule
    windows: ["Mon-Fri 08:00-20:00"]
fleets:
  - prefix: thermo
    count: )" + std::to_string(thermostats) + R"(
    kind: thermostat
    profiles: {compliant: 0.9, proactive: 0.05, scope_creep: 0.05}
    params:
      time_constant: {uniform: [15h, 55h]}
      setpoint_c: 21
  - prefix: lock
    count: )" + std::to_string(locks) + R"(
    kind: lock
    profiles: {compliant: 0.95, keepalive_leak: 0.05}
customers:
  - devices: "*"
    via: voice
    recipient: voice-partner
    action: query
    rate: 2/day
    hours: "07:00-23:00"
)";
}

int event_driven(std::uint64_t devices, int hours, bool with_oracle) {
    auto scenario = core::parse_scenario(fleet_yaml(devices, hours), "bench-fleet.yaml");
    if (!scenario) {
        std::fprintf(stderr, "%s\n", scenario.error().message.c_str());
        return 2;
    }
    auto taxonomy = core::Taxonomy::builtin();
    core::Oracle oracle(scenario->policy, *taxonomy);
    oracle.begin(sim::fleet_meta(*scenario));
    std::uint64_t findings = 0;
    oracle.set_sink([&](core::Finding&&) { ++findings; });
    CountingSink sink(with_oracle ? &oracle : nullptr);
    const long rss_before = peak_rss_kib();
    const auto t0 = Clock::now();
    const double cpu0 = cpu_seconds();
    long huge_kib = 0;  // the most seen, sampled at every 1 % of the run
    double setup_s = 0;  // until the fleet is built and booted (its first progress report)
    sim::FleetOptions options;
    options.progress = [&](const sim::FleetProgress& p) {
        if (p.fraction == 0.0) setup_s = std::chrono::duration<double>(Clock::now() - t0).count();
        huge_kib = std::max(huge_kib, anon_huge_kib());
    };
    auto stats = sim::run_fleet(*scenario, sink, options);
    if (with_oracle) findings += oracle.finish(scenario->end()).size();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    const double cpu = cpu_seconds() - cpu0;
    if (!stats) {
        std::fprintf(stderr, "%s\n", stats.error().message.c_str());
        return 2;
    }
    const long rss_after = peak_rss_kib();
    const double device_hours = static_cast<double>(stats->devices) * hours;
    std::printf("fleet: %llu devices (60%% thermostats, 40%% locks) for %d h%s\n",
                static_cast<unsigned long long>(stats->devices), hours, with_oracle ? ", judged by the oracle" : "");
    std::printf("  wall time           %.2f s (CPU %.2f s: user + system)\n", s, cpu);
    std::printf("  set-up              %.2f s of it: the fleet built and booted (the kernel zeroes its fresh memory)\n",
                setup_s);
    std::printf("  device-hours/s      %.0f (%.0f per CPU-s)\n", device_hours / s, device_hours / cpu);
    std::printf("  events              %llu (%.0f events/s)\n", static_cast<unsigned long long>(stats->events),
                static_cast<double>(stats->events) / s);
    std::printf("  messages            %llu (%.0f messages/s)\n", static_cast<unsigned long long>(stats->messages),
                static_cast<double>(stats->messages) / s);
    std::printf("  records             %llu\n", static_cast<unsigned long long>(sink.records));
    std::printf("  network             %llu retransmissions, %llu attempts lost, %llu messages dropped\n",
                static_cast<unsigned long long>(stats->retransmissions),
                static_cast<unsigned long long>(stats->attempts_lost),
                static_cast<unsigned long long>(stats->messages_dropped));
    if (with_oracle) std::printf("  findings            %llu\n", static_cast<unsigned long long>(findings));
    std::printf("  state per device    %llu bytes (firmware state, plant, schedule and agenda entry)\n",
                static_cast<unsigned long long>(stats->bytes_per_device));
    std::printf("  peak RSS per device %.0f bytes (peak RSS %ld MiB, %ld MiB before the run)\n",
                static_cast<double>(rss_after - rss_before) * 1024.0 / static_cast<double>(stats->devices),
                rss_after / 1024, rss_before / 1024);
    std::printf("  huge pages          %ld MiB in huge pages at most; kernel mode %s (the device array asks\n"
                "                      for them from 8 MiB)\n",
                huge_kib / 1024, thp_mode().c_str());
    return 0;
}

int fixed_tick(std::uint64_t thermostats, int hours) {
    constexpr core::DurationMs kTickMs = core::kMsPerMinute;
    const core::TimeMs start = 0;
    const core::TimeMs end = start + hours * core::kMsPerHour;
    const sim::HouseParams params;
    std::vector<sim::HouseState> houses(thermostats);
    sim::EventQueue agenda;
    agenda.reserve(thermostats);
    for (std::uint32_t i = 0; i < thermostats; ++i) agenda.push(start + (i % 60) * core::kMsPerSecond, i);
    std::uint64_t events = 0;
    double checksum = 0;
    const auto t0 = Clock::now();
    const double cpu0 = cpu_seconds();
    while (!agenda.empty() && agenda.top().at < end) {
        const sim::Wake w = agenda.top();
        agenda.pop();
        sim::advance(houses[w.id], params, w.at);
        checksum += houses[w.id].temperature_c;
        agenda.push(w.at + kTickMs, w.id);
        ++events;
    }
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("fixed tick: %llu thermostats, one thermal update every 60 s for %d h\n",
                static_cast<unsigned long long>(thermostats), hours);
    const double cpu = cpu_seconds() - cpu0;
    std::printf("  events              %llu in %.2f s = %.0f events/s, %.0f events/CPU-s (checksum %.1f)\n",
                static_cast<unsigned long long>(events), s, static_cast<double>(events) / s,
                static_cast<double>(events) / cpu, checksum);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    bool oracle = false, tick = false;
    std::vector<std::string> numbers;
    for (const auto& a : args) {
        if (a == "--oracle") oracle = true;
        else if (a == "--fixed-tick") tick = true;
        else numbers.push_back(a);
    }
    const int hours = numbers.size() > 1 ? std::atoi(numbers[1].c_str()) : 24;
    if (tick) return fixed_tick(numbers.empty() ? 100'000 : std::strtoull(numbers[0].c_str(), nullptr, 10), hours);
    return event_driven(numbers.empty() ? 1'000'000 : std::strtoull(numbers[0].c_str(), nullptr, 10), hours, oracle);
}
