// `consentrig bench` end to end over host stubs on real ptys, time-compressed: each leaky
// profile is detected as its leak class, the compliant boards stay clean, and a board killed
// mid-run leaves a gap while every record captured before it stays in the trace.
#include <gtest/gtest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "bench_outcome.hpp"
#include "core/trace.hpp"

extern char** environ;

namespace consentrig {
namespace {

namespace fs = std::filesystem;
using testing::run_process;

fs::path temp_dir(const std::string& name) {
    const fs::path d = fs::temp_directory_path() / ("consentrig-bench-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

const char* kHead = R"(seed: 5
start: 2026-01-05T08:00:00Z
timezone: UTC
recipients:
  voice-partner: alexa
  vendor-cloud: json
)";

using Outcome = testing::BenchOutcome;
using testing::describe;

Outcome bench(const std::string& name, const std::string& body, const std::vector<std::string>& extra = {}) {
    const fs::path dir = temp_dir(name);
    const fs::path yaml = dir / "scenario.yaml";
    std::ofstream(yaml) << "name: " << name << "\n" << kHead << body;
    std::vector<std::string> argv = {testing::built_program("consentrig"), "bench", yaml.string(), "--out",
                                     (dir / "out").string(), "--quiet"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return testing::run_bench_and_read(dir, argv);
}

/// Vendor cloud: everything but occupancy, always; voice partner: answers within 2 minutes.
const char* kConsent = R"(consent:
  - {recipient: voice-partner, categories: [all], basis: interaction, within: 120s}
  - {recipient: vendor-cloud, categories: [temperature, humidity, setpoint, hvac_mode, hvac_state, lock_state, battery, connectivity], basis: always}
)";

std::string thermostat(const std::string& profile, const std::string& extra_params = "") {
    return "devices:\n  - {id: thermo-1, kind: thermostat, profile: " + profile +
           ", params: {setpoint_c: 21, initial_c: 18, heat_rate_c_per_h: 6" + extra_params + "}}\n";
}

TEST(BenchE2E, CompliantBoardsAreClean) {
    const auto o = bench("compliant", std::string("duration: 80m\n") + kConsent +
                                          "devices:\n  - {id: thermo-1, kind: thermostat, params: {setpoint_c: 21, initial_c: 18, heat_rate_c_per_h: 6}}\n"
                                          "  - {id: lock-front, kind: lock}\n"
                                          "timeline:\n"
                                          "  - {at: 10m, interact: {device: \"*\", via: voice, recipient: voice-partner, action: query}}\n"
                                          "  - {at: 20m, interact: {device: thermo-1, via: voice, recipient: voice-partner, action: set_setpoint, value: 22}}\n"
                                          "  - {at: 30m, interact: {device: lock-front, via: voice, recipient: voice-partner, action: unlock}}\n"
                                          "  - {at: 40m, consent: {device: \"*\", recipient: vendor-cloud, categories: [temperature], granted: false}}\n"
                                          "  - {at: 50m, network: {device: \"*\", up: false}}\n"
                                          "  - {at: 55m, network: {device: \"*\", up: true}}\n"
                                          "  - {at: 70m, link: {device: \"*\", recipient: voice-partner, linked: false}}\n",
                         {"--time-scale", "200"});
    ASSERT_EQ(o.exit_code, 0) << describe(o);
    ASSERT_TRUE(o.findings.is_object()) << describe(o);
    EXPECT_TRUE(o.findings["findings"].empty());
    EXPECT_GT(o.run["messages"].get<int>(), 0) << describe(o);
    EXPECT_EQ(o.run["stimulus_lateness"]["count"].get<int>(), 12);  // "*" events: one per board
    for (const auto& b : o.run["boards"]) {
        EXPECT_EQ(b["command_errors"].get<int>(), 0) << b.dump();
        EXPECT_EQ(b["frames"]["bad_crc"].get<int>(), 0);
        EXPECT_EQ(b["frames"]["lost_by_sequence_gap"].get<int>(), 0);
    }
}

TEST(BenchE2E, ProactiveIsOutOfWindow) {
    const auto o = bench("proactive", std::string("duration: 1h\n") + kConsent + thermostat("proactive"));
    ASSERT_EQ(o.exit_code, 1) << describe(o);
    EXPECT_TRUE(o.types.count("out_of_window")) << describe(o);
}

TEST(BenchE2E, ScopeCreepIsOutsideScope) {
    const auto o = bench("scope-creep", std::string("duration: 1h\n") + kConsent + thermostat("scope_creep"));
    ASSERT_EQ(o.exit_code, 1) << describe(o);
    EXPECT_TRUE(o.types.count("outside_scope")) << describe(o);
}

TEST(BenchE2E, CauseLieIsCauseMismatch) {
    const auto o = bench("cause-lie", std::string("duration: 1h\n") + kConsent + thermostat("cause_lie"));
    ASSERT_EQ(o.exit_code, 1) << describe(o);
    EXPECT_TRUE(o.types.count("cause_mismatch")) << describe(o);
}

TEST(BenchE2E, FlushAfterRevokeIsAfterRevocation) {
    // The app changes the setpoint and the customer withdraws the vendor cloud's consent at once
    // (sent right after the change's REPLY); the firmware's send queue flushes 1 s after the
    // change anyway. Time scale 20: the withdrawal must reach the board within 50 ms (wall).
    const auto o = bench("flush", std::string("duration: 10m\n") + kConsent + thermostat("flush_after_revoke") +
                                      "timeline:\n"
                                      "  - {at: 5m, interact: {device: thermo-1, via: app, recipient: vendor-cloud, action: set_setpoint, value: 23}}\n"
                                      "  - {at: 5m, consent: {device: thermo-1, recipient: vendor-cloud, categories: [all], granted: false}}\n",
                         {"--time-scale", "20", "--duration", "6m"});
    ASSERT_EQ(o.exit_code, 1) << describe(o);
    EXPECT_TRUE(o.types.count("after_revocation")) << describe(o);
}

TEST(BenchE2E, StoreAndForwardIsStaleSample) {
    // Offline for 15 min while the room warms; the customer asks the voice assistant just
    // before the uplink returns: the buffered samples go to it with their old sample times.
    const auto o = bench("saf", std::string("duration: 40m\n") + kConsent + thermostat("store_and_forward") +
                                    "timeline:\n"
                                    "  - {at: 5m, network: {device: thermo-1, up: false}}\n"
                                    "  - {at: 12m, env: {device: thermo-1, occupied: false}}\n"
                                    "  - {at: 19m50s, interact: {device: thermo-1, via: voice, recipient: voice-partner, action: query}}\n"
                                    "  - {at: 20m, network: {device: thermo-1, up: true}}\n",
                         {"--time-scale", "200"});
    ASSERT_EQ(o.exit_code, 1) << describe(o);
    EXPECT_TRUE(o.types.count("stale_sample")) << describe(o);
}

TEST(BenchE2E, KeepaliveLeakIsSideChannel) {
    const auto o = bench("keepalive", std::string("duration: 3h\n") + kConsent +
                                          "devices:\n  - {id: lock-front, kind: lock, profile: keepalive_leak}\n"
                                          "customers:\n"
                                          "  - {via: app, recipient: vendor-cloud, action: unlock, rate: 200/day}\n");
    ASSERT_EQ(o.exit_code, 1) << describe(o);
    EXPECT_TRUE(o.types.count("side_channel")) << describe(o);
}

TEST(BenchE2E, KilledBoardLeavesAGapAndKeepsEarlierRecords) {
    const auto o = bench("kill", std::string("duration: 1h\n") + kConsent + thermostat("proactive"),
                         {"--kill", "thermo-1@20m+10m"});
    ASSERT_EQ(o.exit_code, 1) << describe(o);
    ASSERT_TRUE(o.run.is_object()) << describe(o);
    const auto& b = o.run["boards"][0];
    EXPECT_EQ(b["gaps"].get<int>(), 1) << b.dump();
    EXPECT_GE(b["hellos"].get<int>(), 2) << b.dump();  // boot HELLOs and answers to HELLO_REQ
    auto src = core::open_trace(o.dir / "out" / "trace.db");
    ASSERT_TRUE(src) << src.error().message;
    const core::TimeMs start = *core::parse_rfc3339("2026-01-05T08:00:00Z");
    std::size_t before = 0, after = 0, gaps = 0;
    while (true) {
        auto r = (*src)->next();
        ASSERT_TRUE(r) << r.error().message;
        if (!*r) break;
        const core::Record& rec = **r;
        if (rec.kind == core::RecordKind::gap) {
            ++gaps;
            EXPECT_GE(rec.t, start + 20 * 60'000 - 2000);
            EXPECT_GT(rec.t_end, rec.t);
            EXPECT_NE(rec.payload.find("disconnected"), std::string::npos);
            continue;
        }
        if (rec.kind != core::RecordKind::egress) continue;
        if (rec.t < start + 20 * 60'000) ++before;
        if (rec.t > start + 30 * 60'000) ++after;
    }
    EXPECT_EQ(gaps, 1u);
    EXPECT_GT(before, 0u);  // captured before the kill: kept
    EXPECT_GT(after, 0u);   // the board came back and was captured again
}

TEST(BenchE2E, RigKilledMidRunLeavesATraceReportedAsIncomplete) {
    // GIVEN a bench run of a proactive thermostat at ×20 (1 h of scenario = 3 min of wall time)
    const fs::path dir = temp_dir("killed-rig");
    const fs::path yaml = dir / "scenario.yaml";
    std::ofstream(yaml) << "name: killed-rig\n" << kHead << "duration: 1h\n" << kConsent << thermostat("proactive");
    const std::string program = testing::built_program("consentrig");
    std::vector<std::string> args = {program, "bench", yaml.string(), "--out", (dir / "out").string(), "--quiet", "--time-scale", "20"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    ASSERT_EQ(::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
    // WHEN the rig is killed (SIGKILL) once the trace holds a few egress records
    const fs::path db = dir / "out" / "trace.db";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::size_t messages = 0;
    while (messages < 3 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (!fs::exists(db)) continue;
        auto src = core::open_trace(db);
        if (!src) continue;
        messages = 0;
        while (true) {
            auto r = (*src)->next();
            if (!r || !*r) break;
            if ((**r).kind == core::RecordKind::egress) ++messages;
        }
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_GE(messages, 3U) << "the rig wrote no egress records within 60 s";
    auto complete = core::read_meta_value(db, "complete");
    ASSERT_TRUE(complete) << complete.error().message;
    EXPECT_EQ(*complete, std::optional<std::string>("false"));
    // THEN `consentrig report` turns the trace into reports marked INCOMPLETE
    const auto r = run_process({program, "report", db.string(), "--scenario", yaml.string(), "--out", (dir / "report").string()});
    ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.out << r.err;
    std::ifstream j(dir / "report" / "report.json");
    const auto report = nlohmann::json::parse(j, nullptr, false);
    ASSERT_TRUE(report.is_object()) << r.out << r.err;
    ASSERT_TRUE(report["metadata"]["incomplete"].is_object()) << report["metadata"].dump();
    const std::string to = report["metadata"]["incomplete"]["replayed_to"].get<std::string>();
    EXPECT_LT(to, "2026-01-05T09:00:00") << to;  // before the scenario's end
    for (const char* f : {"summary.md", "report.html"}) {
        std::ifstream in(dir / "report" / f);
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        EXPECT_NE(text.find("INCOMPLETE — replayed up to"), std::string::npos) << f;
    }
}

}  // namespace
}  // namespace consentrig
