// BENCH.yaml (rig/bench_config.hpp): every setting read into bench options, and every error
// naming file:line:col with what was expected.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "core/scenario.hpp"
#include "rig/bench_config.hpp"

namespace consentrig::rig {
namespace {

core::Scenario scenario() {
    auto s = core::parse_scenario(R"(name: two
seed: 1
start: 2026-01-05T08:00:00Z
duration: 1h
timezone: UTC
recipients: {voice-partner: alexa}
consent: []
devices:
  - {id: thermo-1, kind: thermostat}
  - {id: lock-front, kind: lock}
)",
                                  "s.yaml");
    EXPECT_TRUE(s) << s.error().message;
    return *s;
}

core::Result<BenchConfig> parse(const std::string& text) { return parse_bench_config(text, "BENCH.yaml", scenario(), "/benches"); }

/// GIVEN BENCH.yaml text WHEN parsed THEN it fails with exactly this message.
void expect_error(const std::string& text, const std::string& message) {
    const auto c = parse(text);
    ASSERT_FALSE(c) << text;
    EXPECT_EQ(c.error().message, message) << text;
}

TEST(BenchConfig, EverySettingIsRead) {
    // GIVEN a file with every key
    const auto c = parse(R"(time_scale: 60
pace: true
default: qemu
qemu: {program: /opt/qemu/bin/qemu-system-arm, image: fw/board.elf}
boards:
  thermo-1:
    serial: /dev/ttyUSB0
    baud: 57600
    plant: {rtu: /dev/ttyUSB1, baud: 19200, unit: 7}
  lock-front: stub
faults:
  - {device: lock-front, at: 20m, kill: 5m}
  - {device: thermo-1, at: 30m, modbus_timeout: end}
)");
    // THEN each is in the configuration
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->time_scale, 60.0);
    EXPECT_EQ(c->pace, true);
    EXPECT_EQ(c->default_board, BoardType::qemu);
    EXPECT_EQ(c->qemu_program, "/opt/qemu/bin/qemu-system-arm");
    EXPECT_EQ(c->m3_image, std::filesystem::path("/benches/fw/board.elf"));  // relative to the file
    ASSERT_EQ(c->boards.size(), 2U);
    EXPECT_EQ(c->boards[0].device, "thermo-1");
    EXPECT_EQ(c->boards[0].type, BoardType::serial);
    EXPECT_EQ(c->boards[0].port, "/dev/ttyUSB0");
    EXPECT_EQ(c->boards[0].baud, 57600U);
    EXPECT_EQ(c->boards[0].plant.kind, PlantLink::Kind::rtu);
    EXPECT_EQ(c->boards[0].plant.path, "/dev/ttyUSB1");
    EXPECT_EQ(c->boards[0].plant.baud, 19200U);
    EXPECT_EQ(c->boards[0].plant.unit, 7);
    EXPECT_EQ(c->boards[1].type, BoardType::stub);
    ASSERT_EQ(c->kills.size(), 1U);
    EXPECT_EQ(c->kills[0].device, "lock-front");
    EXPECT_EQ(c->kills[0].at_ms, 20 * 60'000);
    EXPECT_EQ(c->kills[0].down_ms, 5 * 60'000);
    ASSERT_EQ(c->plant_timeouts.size(), 1U);
    EXPECT_EQ(c->plant_timeouts[0].at_ms, 30 * 60'000);
    EXPECT_FALSE(c->plant_timeouts[0].duration_ms.has_value());

    // WHEN applied to options THEN they carry it
    BenchOptions o;
    apply(*c, o);
    EXPECT_EQ(o.time_scale, 60.0);
    EXPECT_TRUE(o.pace);
    EXPECT_EQ(o.default_board, BoardType::qemu);
    EXPECT_EQ(o.boards.size(), 2U);
    EXPECT_EQ(o.kills.size(), 1U);
    EXPECT_EQ(o.plant_timeouts.size(), 1U);
}

TEST(BenchConfig, EmptyFileAndTcpPlant) {
    const auto empty = parse("");
    ASSERT_TRUE(empty) << empty.error().message;
    EXPECT_FALSE(empty->time_scale.has_value());
    EXPECT_EQ(empty->default_board, BoardType::stub);
    EXPECT_TRUE(empty->boards.empty());

    const auto tcp = parse("boards:\n  thermo-1: {serial: /dev/ttyACM0, plant: {tcp: \"0.0.0.0:1502\"}}\n");
    ASSERT_TRUE(tcp) << tcp.error().message;
    EXPECT_EQ(tcp->boards[0].baud, 115200U);
    EXPECT_EQ(tcp->boards[0].plant.kind, PlantLink::Kind::tcp);
    EXPECT_EQ(tcp->boards[0].plant.address, "0.0.0.0");
    EXPECT_EQ(tcp->boards[0].plant.port, 1502);
    EXPECT_EQ(tcp->boards[0].plant.unit, 1);
}

TEST(BenchConfig, MalformedYamlNamesTheSpot) {
    expect_error("boards:\n  thermo-1: [qemu\n", "BENCH.yaml:3:1: malformed YAML: end of sequence flow not found");
}

TEST(BenchConfig, UnknownKeysAreRefused) {
    expect_error("time_scale: 10\ntimescale: 20\n",
                 "BENCH.yaml:2:1: unknown key \"timescale\" in a bench file (allowed: time_scale, pace, default, qemu, boards, faults)");
    expect_error("boards:\n  thermo-1: {serial: /dev/ttyUSB0, bauds: 9600}\n",
                 "BENCH.yaml:2:36: unknown key \"bauds\" in the board of thermo-1 (allowed: serial, baud, plant)");
    expect_error("boards:\n  thermo-1: {serial: /dev/ttyUSB0, plant: {rtu: /dev/ttyUSB1, parity: even}}\n",
                 "BENCH.yaml:2:63: unknown key \"parity\" in `plant` (allowed: rtu, tcp, baud, unit)");
}

TEST(BenchConfig, UnknownDeviceIsNamed) {
    expect_error("boards:\n  thermo-9: qemu\n",
                 "BENCH.yaml:2:3: unknown device \"thermo-9\" (s.yaml has thermo-1, lock-front)");
    expect_error("faults:\n  - {device: lock-back, at: 1m, kill: 1m}\n",
                 "BENCH.yaml:2:14: unknown device \"lock-back\" (s.yaml has thermo-1, lock-front)");
    expect_error("boards:\n  thermo-1: qemu\n  thermo-1: stub\n", "BENCH.yaml:3:3: device thermo-1 is listed twice");
}

TEST(BenchConfig, BadValuesSayWhatWasExpected) {
    expect_error("boards:\n  thermo-1: {serial: /dev/ttyUSB0, baud: 11520}\n",
                 "BENCH.yaml:2:42: baud 11520 is not a standard rate (expected one of 1200, 2400, 4800, 9600, 19200, 38400, "
                 "57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 2000000, 3000000)");
    expect_error("boards:\n  thermo-1: {serial: /dev/ttyUSB0, baud: fast}\n",
                 "BENCH.yaml:2:42: `baud` must be a whole number, found the text \"fast\"");
    expect_error("time_scale: 5000\n",
                 "BENCH.yaml:1:13: `time_scale` must be a number from 1 to 1000 (scenario seconds per wall second), found the text \"5000\"");
    expect_error("pace: sometimes\n", "BENCH.yaml:1:7: `pace` must be true or false, found the text \"sometimes\"");
    expect_error("default: real\n",
                 "BENCH.yaml:1:10: `default` must be `stub` or `qemu` (the board of devices not under `boards:`), found the text \"real\"");
    expect_error("boards:\n  thermo-1: fpga\n",
                 "BENCH.yaml:2:13: board for thermo-1 must be `stub`, `qemu` or a mapping with `serial: PORT`, found the text \"fpga\"");
    expect_error("boards:\n  thermo-1: {baud: 9600}\n",
                 "BENCH.yaml:2:13: the board of thermo-1 has no `serial:` port (or write `stub` or `qemu` instead of a mapping)");
    expect_error("boards:\n  thermo-1: {serial: /dev/ttyUSB0, plant: {tcp: localhost}}\n",
                 "BENCH.yaml:2:49: `tcp` must be ADDRESS:PORT such as 127.0.0.1:1502 (port 0: any free port), found \"localhost\"");
    expect_error("boards:\n  thermo-1: {serial: /dev/ttyUSB0, plant: {rtu: /dev/ttyUSB1, unit: 300}}\n",
                 "BENCH.yaml:2:69: `unit` must be a Modbus unit id 1…247, found 300");
    expect_error("boards:\n  thermo-1: {serial: /dev/ttyUSB0, plant: {unit: 2}}\n",
                 "BENCH.yaml:2:43: `plant` needs exactly one of `rtu: /dev/ttyUSB1` or `tcp: 127.0.0.1:1502`");
    expect_error("boards: [thermo-1]\n",
                 "BENCH.yaml:1:9: `boards` must be a mapping DEVICE: stub | qemu | {serial: PORT, …}, found a list");
}

TEST(BenchConfig, FaultsMustFitTheBoard) {
    expect_error("boards:\n  thermo-1: {serial: /dev/ttyUSB0}\nfaults:\n  - {device: thermo-1, at: 1m, kill: 1m}\n",
                 "BENCH.yaml:4:38: `kill` needs a board the rig starts (stub or qemu); thermo-1 is on a serial port — unplug it by hand");
    expect_error("faults:\n  - {device: thermo-1, at: 1m, modbus_timeout: 1m}\n",
                 "BENCH.yaml:2:48: `modbus_timeout` needs a board with a Modbus plant (qemu, or serial with `plant:`); thermo-1 is a "
                 "stub board without one");
    expect_error("faults:\n  - {device: thermo-1, at: soon, kill: 1m}\n",
                 "BENCH.yaml:2:28: `at` must be a duration such as 90s, 10m or 2h, found the text \"soon\"");
    expect_error("faults:\n  - {device: thermo-1, at: 1m}\n",
                 "BENCH.yaml:2:5: a fault needs exactly one of `kill: DURATION|end` or `modbus_timeout: DURATION|end`");
    // a default of qemu gives every unlisted device a plant
    const auto ok = parse("default: qemu\nfaults:\n  - {device: thermo-1, at: 1m, modbus_timeout: 30s}\n");
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->plant_timeouts.at(0).duration_ms, 30'000);
}

TEST(BenchConfig, LoadNamesAMissingFile) {
    const auto c = load_bench_config("/nonexistent/BENCH.yaml", scenario());
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().message.find("/nonexistent/BENCH.yaml"), std::string::npos) << c.error().message;
}

TEST(BenchConfig, ShippedExampleParses) {
    const auto s = core::load_scenario(std::string(CONSENTRIG_SOURCE_DIR) + "/scenarios/default.yaml");
    ASSERT_TRUE(s) << s.error().message;
    for (const char* name : {"qemu.yaml", "stubs.yaml", "serial.yaml"}) {
        const auto c = load_bench_config(std::string(CONSENTRIG_SOURCE_DIR) + "/examples/bench/" + name, *s);
        EXPECT_TRUE(c) << name << ": " << c.error().message;
    }
}

}  // namespace
}  // namespace consentrig::rig
