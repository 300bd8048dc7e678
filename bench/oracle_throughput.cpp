// bench/oracle_throughput — oracle messages/s from memory and SQLite import rows/s.
//
//   build/release/bin/bench_oracle_throughput [messages=10000000] [all|oracle|import|findings]
//
// Generates a realistic mixed trace (Alexa, Google, Matter and JSON bodies from 1,000 devices,
// interactions, consent changes, truth lines), judges it from memory with findings counted by a
// sink, then writes it as JSONL and imports it into SQLite. Prints figures; asserts nothing.
// `oracle` / `import` run one half only (for profilers); `findings` judges the same trace
// against a policy under which every state-bearing message is a finding (evidence built).
#include <sys/resource.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/oracle.hpp"

using namespace consentrig::core;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kDevices = 1000;
constexpr DurationMs kStepMs = 50;  ///< mean spacing of records

long peak_rss_kib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

/// User and system CPU seconds of this process: on a shared machine the wall time is noisy,
/// the CPU time much less so.
struct CpuTime {
    double user = 0, sys = 0;
};
CpuTime cpu_now() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    const auto secs = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6; };
    return {secs(u.ru_utime), secs(u.ru_stime)};
}

/// A ChangeReport without timeOfSample: the pool is replayed at advancing times, and a fixed
/// sample time would make every replay a stale_sample (sample time = send time instead).
std::string alexa_body(const std::string& dev, double celsius) {
    return R"({"event":{"header":{"namespace":"Alexa","name":"ChangeReport","messageId":"b0c1","payloadVersion":"3"},"endpoint":{"endpointId":")" +
           dev + R"("},"payload":{"change":{"cause":{"type":"PERIODIC_POLL"},"properties":[{"namespace":"Alexa.TemperatureSensor","name":"temperature","value":{"value":)" +
           std::to_string(celsius) + R"(,"scale":"CELSIUS"},"uncertaintyInMilliseconds":500}]}}},"context":{"properties":[]}})";
}

/// A pool of distinct messages; the benchmark replays it with advancing times.
std::vector<Record> make_pool(TimeMs start) {
    std::vector<Record> pool;
    // Blocks of 16 records per device: an interaction through the voice partner, then that
    // device's traffic — consented, as most traffic of a real fleet is (findings are measured
    // separately: every message of the default policy outside a window is a finding).
    for (int i = 0; i < 4096; ++i) {
        Record r;
        const int device = (i / 16) % kDevices;
        r.device = (device % 2 ? "thermo-" : "lock-") + std::to_string(device);
        r.t = start;
        r.line = static_cast<std::uint64_t>(i + 1);
        switch (i % 16) {
            case 0:
                r.kind = RecordKind::interaction;
                r.via = "voice";
                r.recipient = "voice-partner";
                r.action = "query";
                break;
            case 1:
            case 6:
                r.kind = RecordKind::truth;
                r.payload = R"({"temperature":)" + std::to_string(19 + i % 5) + "}";
                break;
            case 2:
                r.kind = RecordKind::egress;
                r.recipient = "vendor-cloud";
                r.format = "google";
                r.payload = R"({"requestId":"ff36","agentUserId":"1836","payload":{"devices":{"states":{")" + r.device +
                            R"(":{"thermostatTemperatureAmbient":20.5,"thermostatMode":"heat","online":true}}}}})";
                break;
            case 3:
                r.kind = RecordKind::egress;
                r.recipient = "vendor-cloud";
                r.format = "matter";
                r.payload = R"({"interaction":"ReportData","subscriptionId":7,"reports":[{"endpoint":1,"cluster":257,"attribute":0,"value":1}]})";
                break;
            case 4:
                r.kind = RecordKind::egress;
                r.recipient = "vendor-cloud";
                r.format = "json";
                r.payload = R"({"type":"keepalive","seq":)" + std::to_string(i) + "}";
                break;
            default:
                r.kind = RecordKind::egress;
                r.recipient = "voice-partner";
                r.format = "alexa";
                r.payload = alexa_body(r.device, 20.0 + (i % 10) * 0.1);
        }
        pool.push_back(std::move(r));
    }
    return pool;
}

}  // namespace

int main(int argc, char** argv) {
    const std::uint64_t messages = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10'000'000;
    const std::string mode = argc > 2 ? argv[2] : "all";
    if (mode != "all" && mode != "oracle" && mode != "import" && mode != "findings") {
        std::fprintf(stderr, "usage: %s [messages] [all|oracle|import|findings]\n", argv[0]);
        return 2;
    }
    // `findings`: the voice partner only inside one minute a day (out_of_window), the vendor
    // cloud only for battery (outside_scope).
    auto policy = mode == "findings" ? parse_policy(R"(
timezone: Europe/Berlin
consent:
  - recipient: voice-partner
    categories: [temperature, setpoint, hvac_mode]
    basis: schedule
    windows: ["Mon-Sun 03:00-03:01"]
  - recipient: vendor-cloud
    categories: [battery]
    basis: always
)", "bench-findings-policy.yaml") : parse_policy(R"(
timezone: Europe/Berlin
consent:
  - recipient: voice-partner
    categories: [temperature, setpoint, hvac_mode]
    basis: interaction
    within: 120s
  - recipient: vendor-cloud
    categories: [all]
    basis: schedule
    windows: ["Mon-Sun 00:00-24:00"]
)", "bench-policy.yaml");
    auto taxonomy = Taxonomy::builtin();
    if (!policy || !taxonomy) {
        std::fprintf(stderr, "setup failed\n");
        return 2;
    }
    const TimeMs start = *parse_rfc3339("2026-01-05T00:00:00.000Z");
    std::vector<Record> pool = make_pool(start);
    TraceMeta meta;
    meta.start = start;
    Record r;
    // Records fed or written: as many as it takes to reach `messages` egress lines.
    std::uint64_t fed = 0;
    for (std::uint64_t egress = 0; egress < messages; ++fed) {
        if (pool[fed % pool.size()].kind == RecordKind::egress) ++egress;
    }

    if (mode != "import") {
        // ---- oracle from memory ----
        Oracle oracle(*policy, *taxonomy);
        oracle.begin(meta);
        std::uint64_t findings = 0;
        FindingCounts by_type{};
        oracle.set_sink([&](Finding&& f) {
            ++findings;
            ++by_type[static_cast<std::size_t>(f.type)];
        });
        const long rss_before = peak_rss_kib();
        std::uint64_t egress = 0;
        const CpuTime c0 = cpu_now();
        const auto t0 = Clock::now();
        for (std::uint64_t i = 0; i < fed; ++i) {
            Record& rec = pool[i % pool.size()];  // replayed in place: the harness copies nothing
            rec.t = start + static_cast<TimeMs>(i) * kStepMs;
            rec.line = i + 1;
            if (rec.kind == RecordKind::egress) ++egress;
            if (!oracle.feed(rec)) return 2;
        }
        (void)oracle.finish();
        const double oracle_s = std::chrono::duration<double>(Clock::now() - t0).count();
        const CpuTime c1 = cpu_now();
        const long rss_after = peak_rss_kib();
        const double oracle_cpu = (c1.user - c0.user) + (c1.sys - c0.sys);
        std::printf("oracle: %llu messages (%llu records) in %.2f s = %.0f messages/s, %llu findings\n",
                    static_cast<unsigned long long>(egress), static_cast<unsigned long long>(fed), oracle_s,
                    static_cast<double>(egress) / oracle_s, static_cast<unsigned long long>(findings));
        std::printf("oracle: CPU %.2f s user + %.2f s sys = %.0f messages/CPU-s\n", c1.user - c0.user, c1.sys - c0.sys,
                    static_cast<double>(egress) / oracle_cpu);
        for (std::size_t k = 0; k < kFindingTypeCount; ++k) {
            if (by_type[k]) std::printf("  %s: %llu\n", std::string(kFindingTypeNames[k]).c_str(), static_cast<unsigned long long>(by_type[k]));
        }
        std::printf("oracle: peak RSS %ld MiB before, %ld MiB after (growth %ld MiB over %llu messages)\n",
                    rss_before / 1024, rss_after / 1024, (rss_after - rss_before) / 1024,
                    static_cast<unsigned long long>(egress));
    }
    if (mode != "all" && mode != "import") return 0;

    // ---- JSONL → SQLite import ----
    const auto dir = std::filesystem::temp_directory_path() / ("consentrig-bench-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto jsonl = dir / "trace.jsonl";
    const auto db = dir / "trace.db";
    {
        std::ofstream out(jsonl);
        out << to_jsonl(meta) << "\n";
        for (std::uint64_t i = 0; i < fed; ++i) {
            r = pool[i % pool.size()];
            r.t = start + static_cast<TimeMs>(i) * kStepMs;
            out << to_jsonl(r) << "\n";
        }
    }
    const auto bytes = std::filesystem::file_size(jsonl);
    const CpuTime c2 = cpu_now();
    const auto t1 = Clock::now();
    auto rows = import_jsonl(jsonl, db);
    const double import_s = std::chrono::duration<double>(Clock::now() - t1).count();
    const CpuTime c3 = cpu_now();
    if (!rows) {
        std::fprintf(stderr, "import failed: %s\n", rows.error().message.c_str());
        return 2;
    }
    std::printf("import: %llu rows (%.0f MiB JSONL) in %.2f s = %.0f rows/s\n", static_cast<unsigned long long>(*rows),
                static_cast<double>(bytes) / (1 << 20), import_s, static_cast<double>(*rows) / import_s);
    std::printf("import: CPU %.2f s user + %.2f s sys = %.0f rows/CPU-s\n", c3.user - c2.user, c3.sys - c2.sys,
                static_cast<double>(*rows) / ((c3.user - c2.user) + (c3.sys - c2.sys)));
    std::filesystem::remove_all(dir);
    return 0;
}
