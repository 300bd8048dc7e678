// The Cortex-M3 board image (firmware-stubs/m3, cross-built board.elf) on QEMU mps2-an385,
// started by the rig's own launcher rig::QemuProcess (rig/qemu.hpp: two pty serial ports, the
// config at 0x3ff000, the CPU paused). The test opens serial0 as the rig (board protocol) and
// serves the plant on serial1 with plant::Server (Modbus RTU), then lets the CPU run ("cont" on
// the monitor) so that the HELLO sent at boot is not lost, and plays the same scenarios as the
// host-run board test. CTest label `qemu`; registered only where qemu-system-arm and the image
// can be built, and then a missing piece is a failure.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "board_link.hpp"
#include "board_scenarios.hpp"
#include "plant/server.hpp"
#include "rig/qemu.hpp"

namespace cp = consentrig::plant;
namespace rig = consentrig::rig;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

#ifndef CONSENTRIG_QEMU_SYSTEM_ARM
#define CONSENTRIG_QEMU_SYSTEM_ARM ""
#endif
#ifndef CONSENTRIG_M3_BOARD_ELF
#define CONSENTRIG_M3_BOARD_ELF ""
#endif

int open_raw(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -1;
    termios tio{};
    ::tcgetattr(fd, &tio);
    cfmakeraw(&tio);
    ::tcsetattr(fd, TCSANOW, &tio);
    return fd;
}

class QemuBoard : public testing::Test {
protected:
    void SetUp() override {
        ASSERT_FALSE(std::string(CONSENTRIG_QEMU_SYSTEM_ARM).empty()) << "qemu-system-arm not found";
        ASSERT_TRUE(fs::exists(CONSENTRIG_M3_BOARD_ELF)) << "board image not built: " << CONSENTRIG_M3_BOARD_ELF;
    }
    void TearDown() override {
        if (qemu) qemu->kill();
        if (server) server->stop();
        if (!work_dir.empty()) fs::remove_all(work_dir);
    }

    /// Boots the image with `config` and `plant_config`; the CPU runs once rig and plant are
    /// connected.
    void boot(const std::string& config, const cp::PlantConfig& plant_config) {
        plant_test::step("boot");
        work_dir = fs::temp_directory_path() / ("consentrig-m3-qemu-" + std::to_string(::getpid()));
        rig::QemuOptions options;
        options.program = CONSENTRIG_QEMU_SYSTEM_ARM;
        options.image = CONSENTRIG_M3_BOARD_ELF;
        options.config_text = config;
        options.work_dir = work_dir;
        options.name = "board";
        options.timeout = 30s;
        auto q = rig::QemuProcess::spawn(options);
        ASSERT_TRUE(q) << q.error().message;
        qemu.emplace(std::move(*q));
        const int fd = open_raw(qemu->pty());
        ASSERT_GE(fd, 0) << qemu->pty();
        link = std::make_unique<plant_test::BoardLink>(fd);
        ASSERT_NO_FATAL_FAILURE(plant_test::serve_plant(qemu->plant_pty(), plant_config, plant, server));
        plant_test::step("cont");
        const auto running = qemu->cont();
        ASSERT_TRUE(running) << running.error().message;
    }

    fs::path work_dir;
    std::optional<rig::QemuProcess> qemu;
    std::unique_ptr<plant_test::BoardLink> link;
    std::shared_ptr<cp::Plant> plant;
    std::unique_ptr<cp::Server> server;
};

}  // namespace

TEST_F(QemuBoard, ThermostatClosesItsLoopAgainstThePlant) {
    boot(plant_test::thermostat_config("thermo-qemu"), plant_test::thermostat_plant());
    plant_test::thermostat_closed_loop(*link, *plant, "mps2-an385", "thermo-qemu");
}

TEST_F(QemuBoard, LockDrivesTheBoltAndNoticesATimeoutFault) {
    cp::PlantConfig pc;
    pc.battery_pct = 87.5;
    boot(plant_test::lock_config("lock-qemu"), pc);
    plant_test::lock_drives_bolt(*link, *plant, "mps2-an385", "lock-qemu");
}
