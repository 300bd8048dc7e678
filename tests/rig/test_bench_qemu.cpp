// `consentrig run SCENARIO --bench BENCH.yaml` end to end over QEMU Cortex-M3 boards
// (firmware-stubs/m3 on qemu-system-arm mps2-an385) with the rig's Modbus plant on each board's
// UART1: a leaky profile is detected, the compliant boards stay clean while the thermostat closes
// its loop against the plant (the room warms in TRUTH while the heating is on), and a QEMU board
// killed mid-run leaves a gap, comes back (the rig restarts QEMU: "the port returns") and is
// captured again; a plant that stops answering shows in the board's log. CTest label `qemu`.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "bench_outcome.hpp"
#include "core/trace.hpp"

namespace consentrig {
namespace {

namespace fs = std::filesystem;
using testing::run_process;

const char* kHead = R"(seed: 5
start: 2026-01-05T08:00:00Z
timezone: UTC
recipients:
  voice-partner: alexa
  vendor-cloud: json
consent:
  - {recipient: voice-partner, categories: [all], basis: interaction, within: 120s}
  - {recipient: vendor-cloud, categories: [temperature, humidity, setpoint, hvac_mode, hvac_state, lock_state, battery, connectivity], basis: always}
)";

using Outcome = testing::BenchOutcome;
using testing::describe;

/// Runs `consentrig run scenario.yaml --bench bench.yaml` in a fresh folder.
Outcome run_on_qemu(const std::string& name, const std::string& scenario_body, const std::string& bench,
                    const std::string& duration = "") {
    const fs::path dir = fs::temp_directory_path() / ("consentrig-qemu-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::ofstream(dir / "scenario.yaml") << "name: " << name << "\n" << kHead << scenario_body;
    std::ofstream(dir / "bench.yaml") << bench;
    std::vector<std::string> argv = {testing::built_program("consentrig"), "run", (dir / "scenario.yaml").string(), "--bench",
                                     (dir / "bench.yaml").string(), "--out", (dir / "out").string(), "--quiet"};
    if (!duration.empty()) argv.insert(argv.end(), {"--duration", duration});
    return testing::run_bench_and_read(dir, argv, {"CONSENTRIG_M3_IMAGE=" CONSENTRIG_M3_BOARD_ELF});
}


std::vector<core::Record> records(const Outcome& o) {
    std::vector<core::Record> out;
    auto src = core::open_trace(o.dir / "out" / "trace.db");
    EXPECT_TRUE(src) << src.error().message;
    if (!src) return out;
    while (true) {
        auto r = (*src)->next();
        EXPECT_TRUE(r) << r.error().message;
        if (!r || !*r) break;
        out.push_back(**r);
    }
    return out;
}

const char* kQemuBench = "time_scale: 500\ndefault: qemu\n";

TEST(BenchQemu, ProactiveBoardIsOutOfWindow) {
    // GIVEN a proactive thermostat on a QEMU board, voice partner consented only on interaction
    const auto o = run_on_qemu("qemu-proactive", "duration: 1h\ndevices:\n  - {id: thermo-1, kind: thermostat, profile: proactive}\n",
                               kQemuBench);
    // THEN its unasked-for state reports are found
    ASSERT_EQ(o.exit_code, 1) << describe(o);
    EXPECT_TRUE(o.types.count("out_of_window")) << describe(o);
    ASSERT_TRUE(o.run.is_object()) << describe(o);
    EXPECT_EQ(o.run["boards"][0]["type"], "qemu");
    EXPECT_EQ(o.run["boards"][0]["board"], "mps2-an385");
}

TEST(BenchQemu, CompliantBoardsAreCleanAndTheRoomWarmsInTruth) {
    // GIVEN a compliant thermostat in an 18 °C room set to 21 °C and a compliant lock, both on
    // QEMU, with interactions, a consent withdrawal and an outage
    const auto o = run_on_qemu("qemu-compliant",
                               "duration: 1h\n"
                               "devices:\n"
                               "  - {id: thermo-1, kind: thermostat, params: {setpoint_c: 21, initial_c: 18, heat_rate_c_per_h: 6}}\n"
                               "  - {id: lock-front, kind: lock}\n"
                               "timeline:\n"
                               "  - {at: 10m, interact: {device: \"*\", via: voice, recipient: voice-partner, action: query}}\n"
                               "  - {at: 25m, interact: {device: lock-front, via: voice, recipient: voice-partner, action: unlock}}\n"
                               "  - {at: 35m, consent: {device: \"*\", recipient: vendor-cloud, categories: [temperature], granted: false}}\n"
                               "  - {at: 40m, network: {device: \"*\", up: false}}\n"
                               "  - {at: 45m, network: {device: \"*\", up: true}}\n",
                               kQemuBench);
    // THEN nothing is found
    ASSERT_EQ(o.exit_code, 0) << describe(o);
    ASSERT_TRUE(o.findings.is_object()) << describe(o);
    EXPECT_TRUE(o.findings["findings"].empty()) << o.findings.dump();
    ASSERT_TRUE(o.run.is_object()) << describe(o);
    for (const auto& b : o.run["boards"]) {
        EXPECT_EQ(b["type"], "qemu") << b.dump();
        EXPECT_EQ(b["frames"]["bad_crc"].get<int>(), 0) << b.dump();
        EXPECT_EQ(b["frames"]["lost_by_sequence_gap"].get<int>(), 0) << b.dump();
        ASSERT_TRUE(b["plant"].is_object()) << b.dump();
        EXPECT_GT(b["plant"]["requests"].get<int>(), 10) << b.dump();  // the board polled its plant
    }
    // AND the loop closed: TRUTH says heating, and a later TRUTH temperature is ≥ 1 °C above the
    // first (18 °C ± sensor noise σ 0.1; +6 °C/h heating reaches 21 °C within the hour)
    double first = 0, highest = -100;
    bool have_first = false, heating = false;
    for (const auto& r : records(o)) {
        if (r.kind != core::RecordKind::truth || r.device != "thermo-1") continue;
        const auto s = nlohmann::json::parse(r.payload, nullptr, false);
        if (!s.is_object()) continue;
        if (s.value("hvac_state", "") == "heating") heating = true;
        if (!s.contains("temperature")) continue;
        const double t = s["temperature"].get<double>();
        if (!have_first) first = t, have_first = true;
        highest = std::max(highest, t);
    }
    ASSERT_TRUE(have_first) << "no TRUTH with a temperature from the QEMU thermostat";
    EXPECT_NEAR(first, 18.0, 0.6);
    EXPECT_TRUE(heating);
    EXPECT_GE(highest, first + 1.0) << "TRUTH temperature did not rise: first " << first << ", highest " << highest;
}

TEST(BenchQemu, KilledBoardLeavesAGapComesBackAndAPlantTimeoutIsLogged) {
    // GIVEN a proactive thermostat whose QEMU is killed at 20 min and restarted 10 min later,
    // and a lock whose plant stops answering from 10 to 20 min
    const auto o = run_on_qemu("qemu-kill",
                               "duration: 1h\ndevices:\n  - {id: thermo-1, kind: thermostat, profile: proactive}\n"
                               "  - {id: lock-front, kind: lock}\n",
                               std::string(kQemuBench) +
                                   "faults:\n"
                                   "  - {device: thermo-1, at: 20m, kill: 10m}\n"
                                   "  - {device: lock-front, at: 10m, modbus_timeout: 10m}\n");
    ASSERT_EQ(o.exit_code, 1) << describe(o);
    ASSERT_TRUE(o.run.is_object()) << describe(o);
    const auto& b = o.run["boards"][0];
    EXPECT_EQ(b["device"], "thermo-1");
    EXPECT_EQ(b["gaps"].get<int>(), 1) << b.dump();
    EXPECT_GE(b["hellos"].get<int>(), 2) << b.dump();  // a HELLO from the restarted QEMU
    EXPECT_GT(o.run["boards"][1]["plant"]["dropped"].get<int>(), 0) << o.run["boards"][1].dump();
    const core::TimeMs start = *core::parse_rfc3339("2026-01-05T08:00:00Z");
    std::size_t before = 0, after = 0, gaps = 0;
    for (const auto& r : records(o)) {
        if (r.kind == core::RecordKind::gap) {
            ++gaps;
            EXPECT_EQ(r.device, "thermo-1");
            EXPECT_GE(r.t, start + 20 * 60'000 - 2000);
            EXPECT_GT(r.t_end, r.t);
            EXPECT_NE(r.payload.find("disconnected"), std::string::npos) << r.payload;
            continue;
        }
        if (r.kind != core::RecordKind::egress || r.device != "thermo-1") continue;
        if (r.t < start + 20 * 60'000) ++before;
        if (r.t > start + 30 * 60'000) ++after;
    }
    EXPECT_EQ(gaps, 1U);
    EXPECT_GT(before, 0U);  // captured before the kill: kept
    EXPECT_GT(after, 0U);   // the restarted board was captured again
    // the lock's firmware noticed its plant going silent and coming back
    std::ifstream log(o.dir / "out" / "board-log.jsonl");
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("plant: no answer (Modbus timeout)"), std::string::npos) << text;
    EXPECT_NE(text.find("plant: answering again"), std::string::npos) << text;
}

/// Each leaky profile on a QEMU board, with the stimuli the host-stub tests use for it
/// (test_bench_e2e.cpp): the same firmware core, now on the Cortex-M3 behind the plant.
struct LeakCase {
    const char* profile;
    const char* body;   ///< devices and timeline
    const char* bench;  ///< BENCH.yaml
    const char* finding;
};
void PrintTo(const LeakCase& c, std::ostream* os) { *os << c.profile; }

class BenchQemuLeak : public ::testing::TestWithParam<LeakCase> {};

TEST_P(BenchQemuLeak, GivenALeakyProfileOnAQemuBoard_WhenReplayed_ThenItsLeakClassIsFound) {
    const LeakCase& c = GetParam();
    const auto o = run_on_qemu(std::string("qemu-leak-") + c.profile, c.body, c.bench);
    ASSERT_EQ(o.exit_code, 1) << describe(o);
    EXPECT_TRUE(o.types.count(c.finding)) << describe(o);
}

INSTANTIATE_TEST_SUITE_P(
    Profiles, BenchQemuLeak,
    ::testing::Values(
        LeakCase{"scope_creep", "duration: 1h\ndevices:\n  - {id: thermo-1, kind: thermostat, profile: scope_creep}\n",
                 kQemuBench, "outside_scope"},
        LeakCase{"cause_lie", "duration: 1h\ndevices:\n  - {id: thermo-1, kind: thermostat, profile: cause_lie}\n",
                 kQemuBench, "cause_mismatch"},
        LeakCase{"flush_after_revoke",
                 "duration: 6m\ndevices:\n  - {id: thermo-1, kind: thermostat, profile: flush_after_revoke}\n"
                 "timeline:\n"
                 "  - {at: 5m, interact: {device: thermo-1, via: app, recipient: vendor-cloud, action: set_setpoint, value: 23}}\n"
                 "  - {at: 5m, consent: {device: thermo-1, recipient: vendor-cloud, categories: [all], granted: false}}\n",
                 "time_scale: 20\ndefault: qemu\n", "after_revocation"},
        LeakCase{"store_and_forward",
                 "duration: 40m\ndevices:\n  - {id: thermo-1, kind: thermostat, profile: store_and_forward}\n"
                 "timeline:\n"
                 "  - {at: 5m, network: {device: thermo-1, up: false}}\n"
                 "  - {at: 12m, env: {device: thermo-1, occupied: false}}\n"
                 "  - {at: 19m50s, interact: {device: thermo-1, via: voice, recipient: voice-partner, action: query}}\n"
                 "  - {at: 20m, network: {device: thermo-1, up: true}}\n",
                 "time_scale: 200\ndefault: qemu\n", "stale_sample"},
        LeakCase{"keepalive_leak",
                 "duration: 3h\ndevices:\n  - {id: lock-front, kind: lock, profile: keepalive_leak}\n"
                 "customers:\n  - {via: app, recipient: vendor-cloud, action: unlock, rate: 200/day}\n",
                 kQemuBench, "side_channel"}));

TEST(BenchQemu, ScenarioPlantEventsAndFaultsActOnThePlant) {
    // GIVEN a compliant thermostat on a QEMU board whose scenario sets the outdoor temperature,
    // silences the sensor bus for 10 min and then sticks the sensor for 10 min
    const auto o = run_on_qemu("qemu-plant-faults",
                               "duration: 1h\ndevices:\n  - {id: thermo-1, kind: thermostat}\n"
                               "timeline:\n"
                               "  - {at: 5m, env: {device: thermo-1, outdoor_c: -7.5}}\n"
                               "  - {at: 10m, fault: {device: thermo-1, kind: modbus_timeout, duration: 10m}}\n"
                               "  - {at: 30m, fault: {device: thermo-1, kind: stuck, duration: 10m}}\n",
                               kQemuBench);
    ASSERT_EQ(o.exit_code, 0) << describe(o);
    ASSERT_TRUE(o.run.is_object()) << describe(o);
    // THEN every event reached the plant (nothing was left as a warning) …
    EXPECT_TRUE(o.run["warnings"].empty()) << o.run["warnings"].dump();
    const auto& plant = o.run["boards"][0]["plant"];
    EXPECT_NEAR(plant["outdoor_c"].get<double>(), -7.5, 0.05) << plant.dump();  // °C
    EXPECT_GT(plant["dropped"].get<int>(), 0) << plant.dump();  // requests left unanswered
    // … and the board's firmware saw its bus go silent and come back
    std::ifstream log(o.dir / "out" / "board-log.jsonl");
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("plant: no answer (Modbus timeout)"), std::string::npos) << text;
    EXPECT_NE(text.find("plant: answering again"), std::string::npos) << text;
}

}  // namespace
}  // namespace consentrig
