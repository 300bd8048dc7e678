#pragma once
// What a board running firmware-stubs/m3 must do against the rig's plant — shared by the
// host-run board test (the same C code on the host) and the QEMU mps2-an385 test (the
// cross-built image on emulated silicon). Deadlines are generous: QEMU on a loaded 2-core
// machine is slow; nothing waits for a fixed time.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "board_link.hpp"
#include "modbus_test_util.hpp"
#include "plant/plant.hpp"
#include "plant/server.hpp"

namespace plant_test {

using namespace std::chrono_literals;

inline constexpr auto kDeadline = 60s;
/// With M3_DEBUG set: prints the seconds since the first call and what the test does next.
inline void step(const char* what) {
    static const auto t0 = std::chrono::steady_clock::now();
    if (std::getenv("M3_DEBUG") != nullptr) {
        std::fprintf(stderr, "%8.3f s  %s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                     what);
    }
}

/// When the test has failed by the time it goes out of scope: prints every frame received.
struct DumpFramesOnFailure {
    const BoardLink& link;
    ~DumpFramesOnFailure() {
        if (!testing::Test::HasFailure()) return;
        std::fprintf(stderr, "frames received (%zu):\n", link.frames().size());
        for (const auto& f : link.frames()) std::fprintf(stderr, "  %s %s\n", fw_frame_type_name(f.type), f.payload.c_str());
    }
};
inline constexpr consentrig::plant::TimeMs kEpoch = 1767567600000;  // 2026-01-05T00:00:00+01:00

/// The rig's side of the board's Modbus line: a plant made from `config`, served as unit 1 on
/// `port`. Fails the test fatally when the server cannot start — call it under
/// ASSERT_NO_FATAL_FAILURE.
inline void serve_plant(const std::string& port, const consentrig::plant::PlantConfig& config,
                        std::shared_ptr<consentrig::plant::Plant>& plant,
                        std::unique_ptr<consentrig::plant::Server>& server) {
    plant = std::make_shared<consentrig::plant::Plant>(config, kEpoch);
    auto s = consentrig::plant::Server::rtu(port);
    ASSERT_TRUE(s) << port << ": " << s.error().message;
    server = std::move(*s);
    server->add_plant(1, plant);
    ASSERT_TRUE(server->start()) << port;
}

/// The board config for a thermostat whose setpoint is 21 °C (docs/m3-board.md §Configuration).
inline std::string thermostat_config(const std::string& id) {
    return "# consentrig board config\n"
           "kind=thermostat\n"
           "id=" + id + "\n"
           "profile=compliant\n"
           "seed=7\n"
           "set=setpoint_c=21\n"
           "recipient=voice-partner=alexa,window=120,categories=all\n"
           "recipient=vendor-cloud=json,basis=all\n";
}

inline std::string lock_config(const std::string& id) {
    return "kind=lock\nid=" + id + "\nprofile=compliant\n";
}

/// A plant for the thermostat: 20 °C inside (below the 20.5 °C switch-on point), quiet sensor.
inline consentrig::plant::PlantConfig thermostat_plant() {
    consentrig::plant::PlantConfig c;
    c.initial_temperature_c = 20.0;
    c.sensor.noise_sigma_c = 0.02;
    c.house.outdoor_amplitude_c = 0.0;
    return c;
}

inline void expect_hello(const Frame& f, const std::string& board, const std::string& id, const std::string& kind) {
    ASSERT_EQ(f.type, FW_FRAME_HELLO);
    ASSERT_TRUE(f.json.is_object()) << f.payload;
    EXPECT_EQ(f.json.value("proto", 0), 1);
    EXPECT_EQ(f.json.value("board", ""), board);
    EXPECT_EQ(f.json.value("firmware", ""), kind + "-stub");
    EXPECT_EQ(f.json.value("version", ""), "0.1.0");
    EXPECT_EQ(f.json["device"].value("id", ""), id);
    EXPECT_EQ(f.json["device"].value("kind", ""), kind);
    EXPECT_EQ(f.json["caps"], nlohmann::json::parse(R"(["plant_modbus","time_scale"])"));
}

/// The thermostat closes its loop against the plant: at 1000 × time the heating goes on, the
/// room warms (TRUTH temperature rises), and the heating goes off at 21.5 °C. Then a voice
/// query is answered (REPLY + UPLINK to the voice partner) and HELLO_REQ gets a HELLO.
inline void thermostat_closed_loop(BoardLink& link, consentrig::plant::Plant& plant, const std::string& board,
                                   const std::string& id) {
    const DumpFramesOnFailure dump{link};
    step("thermostat: HELLO at boot");
    auto hello = link.wait_for([](const Frame& f) { return f.type == FW_FRAME_HELLO; }, kDeadline);
    ASSERT_TRUE(hello) << "no HELLO from the board";
    expect_hello(*hello, board, id, "thermostat");
    ASSERT_EQ(link.frames().front().type, FW_FRAME_HELLO) << "HELLO must be the first frame";

    step("thermostat: first readings");
    // The first readings reach the firmware: TRUTH carries the plant's 20 °C and 45 %.
    auto first = link.wait_for(
        [](const Frame& f) { return truth_state(f).contains("temperature") && truth_state(f).contains("humidity"); },
        kDeadline);
    ASSERT_TRUE(first) << "no TRUTH with temperature and humidity: the board did not read the plant";
    const double t_first = truth_state(*first)["temperature"].get<double>();
    EXPECT_NEAR(t_first, 20.0, 0.2);
    EXPECT_EQ(truth_state(*first).value("humidity", -1), 45);

    step("thermostat: set_clock, time_scale");
    link.command(1, {{"op", "set_clock"}, {"epoch_ms", kEpoch}});
    auto r1 = link.reply(1, kDeadline);
    ASSERT_TRUE(r1);
    EXPECT_EQ(r1->json.value("ok", false), true) << r1->payload;

    // Compress time on both sides: the board's timers and the house.
    link.command(2, {{"op", "time_scale"}, {"factor", 1000}});
    auto r2 = link.reply(2, kDeadline);
    ASSERT_TRUE(r2);
    EXPECT_EQ(r2->json.value("ok", false), true) << r2->payload;
    ASSERT_TRUE(plant.set_time_scale(1000.0));

    step("thermostat: heating on");
    // Heating on (after the compressor protection, 5 min of device time = 0.3 s) …
    auto heating = link.wait_for([](const Frame& f) { return truth_state(f).value("hvac_state", "") == "heating"; },
                                 kDeadline);
    ASSERT_TRUE(heating) << "the thermostat never switched the heating on";
    ASSERT_TRUE(wait_for([&] { return plant.snapshot().heat; }, kDeadline)) << "the heat coil never reached the plant";

    step("thermostat: room warms");
    // … the room warms: TRUTH temperature rises by more than noise could explain …
    auto warmer = link.wait_for(
        [&](const Frame& f) {
            const auto s = truth_state(f);
            return s.contains("temperature") && s["temperature"].get<double>() >= t_first + 0.8;
        },
        kDeadline);
    ASSERT_TRUE(warmer) << "TRUTH temperature never rose 0.8 °C above " << t_first;

    step("thermostat: heating off above the band");
    // … and at the top of the band (setpoint + 0.5 °C) the heating goes off again, in the
    // firmware and in the plant.
    auto off = link.wait_for(
        [](const Frame& f) {
            const auto s = truth_state(f);
            return s.value("hvac_state", "") == "idle" && s.contains("temperature") &&
                   s["temperature"].get<double>() >= 21.5 - 1e-9;
        },
        kDeadline);
    ASSERT_TRUE(off) << "the heating never switched off at 21.5 °C";
    ASSERT_TRUE(wait_for([&] { return !plant.snapshot().heat; }, kDeadline));
    EXPECT_GT(plant.snapshot().room_c, 21.3);  // the truth behind a 21.5 °C reading, σ = 0.02 °C

    step("thermostat: voice query");
    // A voice query: REPLY ok and the answer to the voice partner (an Alexa StateReport).
    const std::size_t before = link.mark();
    link.command(3, {{"op", "interact"}, {"via", "voice"}, {"recipient", "voice-partner"}, {"action", "query"}});
    auto r3 = link.reply(3, kDeadline);
    ASSERT_TRUE(r3);
    EXPECT_EQ(r3->json.value("ok", false), true) << r3->payload;
    auto up = link.wait_for(
        [](const Frame& f) { return f.type == FW_FRAME_UPLINK && f.json.value("to", "") == "voice-partner"; }, kDeadline,
        before);
    ASSERT_TRUE(up) << "no UPLINK answered the voice query";
    EXPECT_EQ(up->json.value("format", ""), "alexa");
    EXPECT_EQ(up->json["body"]["event"]["header"].value("name", ""), "StateReport") << up->payload;
    EXPECT_NE(up->payload.find("Alexa.TemperatureSensor"), std::string::npos);

    step("thermostat: HELLO_REQ");
    // A rig that opened the port late finds the board with HELLO_REQ.
    const std::size_t m = link.mark();
    link.hello_req();
    auto again = link.wait_for([](const Frame& f) { return f.type == FW_FRAME_HELLO; }, kDeadline, m);
    ASSERT_TRUE(again);
    expect_hello(*again, board, id, "thermostat");

    EXPECT_EQ(link.counters().bad_crc + link.counters().bad_cobs + link.counters().bad_json, 0U);
    EXPECT_EQ(link.counters().lost, 0U);
}

/// The lock drives the plant's bolt: a voice unlock runs the motor (coil → bolt unlocked in the
/// plant, TRUTH unlocked), auto-relock locks it again; the plant's battery reaches the firmware.
/// Then the plant stops answering: the board logs it, and logs again when it answers.
inline void lock_drives_bolt(BoardLink& link, consentrig::plant::Plant& plant, const std::string& board,
                             const std::string& id) {
    const DumpFramesOnFailure dump{link};
    auto hello = link.wait_for([](const Frame& f) { return f.type == FW_FRAME_HELLO; }, kDeadline);
    ASSERT_TRUE(hello);
    expect_hello(*hello, board, id, "lock");
    // The plant's battery (reads 87.5 %) replaces the firmware's own estimate.
    ASSERT_TRUE(link.wait_for([](const Frame& f) { return truth_state(f).value("battery", -1) == 87; }, kDeadline))
        << "the plant's battery reading never reached the firmware";

    link.command(1, {{"op", "time_scale"}, {"factor", 20}});
    ASSERT_TRUE(link.reply(1, kDeadline));
    ASSERT_TRUE(plant.set_time_scale(20.0));

    const std::size_t before = link.mark();
    link.command(2, {{"op", "interact"}, {"via", "voice"}, {"recipient", "voice-partner"}, {"action", "unlock"}});
    auto r2 = link.reply(2, kDeadline);
    ASSERT_TRUE(r2);
    EXPECT_EQ(r2->json.value("ok", false), true) << r2->payload;
    ASSERT_TRUE(wait_for([&] { return plant.snapshot().bolt == consentrig::sim::Bolt::unlocked; }, kDeadline))
        << "the plant's bolt never unlocked";
    ASSERT_TRUE(link.wait_for([](const Frame& f) { return truth_state(f).value("lock_state", "") == "unlocked"; },
                              kDeadline, before));
    // Auto-relock after 30 s of device time (1.5 s at 20 ×), bolt and TRUTH.
    ASSERT_TRUE(link.wait_for([](const Frame& f) { return truth_state(f).value("lock_state", "") == "locked"; },
                              kDeadline, before));
    ASSERT_TRUE(wait_for([&] { return plant.snapshot().bolt == consentrig::sim::Bolt::locked; }, kDeadline));
    EXPECT_NEAR(plant.snapshot().battery_pct, 87.5 - 2 * 0.02, 1e-3);

    // The Modbus timeout fault: the board notices and says so, then recovers.
    const std::size_t m = link.mark();
    plant.stop_answering();
    auto silent = link.wait_for(
        [](const Frame& f) { return f.type == FW_FRAME_LOG && f.json.value("msg", "").find("no answer") != std::string::npos; },
        kDeadline, m);
    ASSERT_TRUE(silent) << "the board did not report the plant's silence";
    EXPECT_EQ(silent->json.value("level", ""), "warn");
    EXPECT_GT(plant.snapshot().counters.dropped, 0U);
    plant.resume_answering();
    ASSERT_TRUE(link.wait_for(
        [](const Frame& f) { return f.type == FW_FRAME_LOG && f.json.value("msg", "") == "plant: answering again"; },
        kDeadline, m));
}

}  // namespace plant_test
