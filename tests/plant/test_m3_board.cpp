// The Cortex-M3 board firmware's main loop (firmware-stubs/m3/src/board.c) on the host, over a
// host implementation of m3/hal.h — the rig link on a socket pair, the plant link on a real pty
// served by plant::Server — running the same scenarios the QEMU test runs on the cross-built
// image (test_m3_qemu.cpp).
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "board_link.hpp"
#include "board_scenarios.hpp"
#include "m3/board.h"
#include "m3/hal.h"
#include "m3/modbus_master.h"
#include "modbus_test_util.hpp"
#include "plant/server.hpp"

namespace cp = consentrig::plant;
using namespace std::chrono_literals;

// ---- a host HAL: m3/hal.h over file descriptors ---------------------------------------------

namespace {
int g_rig_fd = -1;
int g_plant_fd = -1;
std::string g_config;
std::chrono::steady_clock::time_point g_boot;

std::size_t read_fd(int fd, std::uint8_t* buf, std::size_t cap) {
    const ssize_t n = ::read(fd, buf, cap);
    return n > 0 ? static_cast<std::size_t>(n) : 0;
}
void write_fd(int fd, const std::uint8_t* p, std::size_t n) {
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= static_cast<std::size_t>(w);
        } else {
            pollfd pf{fd, POLLOUT, 0};
            ::poll(&pf, 1, 10);
        }
    }
}
}  // namespace

extern "C" {
void hal_init(void) { g_boot = std::chrono::steady_clock::now(); }
uint64_t hal_millis(void) {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - g_boot).count());
}
void hal_wait(void) {
    pollfd p[2] = {{g_rig_fd, POLLIN, 0}, {g_plant_fd, POLLIN, 0}};
    ::poll(p, 2, 1);
}
const char* hal_board_name(void) { return "host-hal"; }
size_t hal_rig_read(uint8_t* buf, size_t cap) { return read_fd(g_rig_fd, buf, cap); }
void hal_rig_write(const uint8_t* data, size_t n) { write_fd(g_rig_fd, data, n); }
size_t hal_plant_read(uint8_t* buf, size_t cap) { return read_fd(g_plant_fd, buf, cap); }
void hal_plant_write(const uint8_t* data, size_t n) { write_fd(g_plant_fd, data, n); }
const char* hal_config_text(size_t* len) {
    *len = g_config.size();
    return g_config.empty() ? nullptr : g_config.data();
}
}

// ---- e2e: the board main loop on the host ----------------------------------------------------

namespace {

class HostBoard : public testing::Test {
protected:
    void boot(const std::string& config, const cp::PlantConfig& plant_config) {
        int sv[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
        g_rig_fd = sv[0];
        link = std::make_unique<plant_test::BoardLink>(sv[1]);
        pty = std::make_unique<plant_test::PtyPair>();
        ASSERT_FALSE(pty->path.empty());
        ::fcntl(pty->master, F_SETFL, ::fcntl(pty->master, F_GETFL) | O_NONBLOCK);
        g_plant_fd = pty->master;
        g_config = config;
        ASSERT_NO_FATAL_FAILURE(plant_test::serve_plant(pty->path, plant_config, plant, server));
        runner = std::thread([this] {
            hal_init();
            board_init();
            while (!stop.load()) {
                if (!board_step()) hal_wait();
            }
        });
    }
    void TearDown() override {
        stop = true;
        if (runner.joinable()) runner.join();
        if (server) server->stop();
        if (g_rig_fd >= 0) ::close(g_rig_fd);
        g_rig_fd = -1;
        g_plant_fd = -1;
    }

    std::unique_ptr<plant_test::BoardLink> link;
    std::unique_ptr<plant_test::PtyPair> pty;
    std::shared_ptr<cp::Plant> plant;
    std::unique_ptr<cp::Server> server;
    std::thread runner;
    std::atomic<bool> stop{false};
};

}  // namespace

TEST_F(HostBoard, ThermostatClosesItsLoopAgainstThePlant) {
    boot(plant_test::thermostat_config("thermo-host"), plant_test::thermostat_plant());
    plant_test::thermostat_closed_loop(*link, *plant, "host-hal", "thermo-host");
}

TEST_F(HostBoard, LockDrivesTheBoltAndNoticesATimeoutFault) {
    cp::PlantConfig pc;
    pc.battery_pct = 87.5;
    boot(plant_test::lock_config("lock-host"), pc);
    plant_test::lock_drives_bolt(*link, *plant, "host-hal", "lock-host");
}

TEST_F(HostBoard, ABadConfigIsReportedAndTheDefaultsRun) {
    boot("kind=thermostat\nprofile=nope\n", plant_test::thermostat_plant());
    auto hello = link->wait_for([](const plant_test::Frame& f) { return f.type == FW_FRAME_HELLO; }, 30s);
    ASSERT_TRUE(hello);
    EXPECT_EQ(hello->json["device"].value("id", ""), "thermo-1");
    auto err = link->wait_for([](const plant_test::Frame& f) { return f.type == FW_FRAME_LOG; }, 30s);
    ASSERT_TRUE(err);
    EXPECT_EQ(err->json.value("level", ""), "error");
    EXPECT_EQ(err->json.value("msg", ""), "board config: line 2: profile: unknown profile");
}
