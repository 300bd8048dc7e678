// The Cortex-M3 board image (firmware-stubs/m3, cross-built board.elf) on QEMU mps2-an385:
//   qemu-system-arm -M mps2-an385 -nographic -monitor stdio -serial pty -serial pty
//                   -kernel board.elf -device loader,file=<config>,addr=0x3ff000,force-raw=on -S
// The test reads the two pty paths QEMU prints, opens serial0 as the rig (board protocol) and
// serves the plant on serial1 with plant::Server (Modbus RTU), then lets the CPU run ("cont" on
// the monitor) so that the HELLO sent at boot is not lost, and plays the same scenarios as the
// host-run board test. CTest label `qemu`; skipped where qemu-system-arm or the image is missing.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "board_link.hpp"
#include "board_scenarios.hpp"
#include "plant/server.hpp"

extern char** environ;

namespace cp = consentrig::plant;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

#ifndef CONSENTRIG_QEMU_SYSTEM_ARM
#define CONSENTRIG_QEMU_SYSTEM_ARM ""
#endif
#ifndef CONSENTRIG_M3_BOARD_ELF
#define CONSENTRIG_M3_BOARD_ELF ""
#endif

/// One qemu-system-arm process with two pty serial ports, started paused (-S).
class Qemu {
public:
    ~Qemu() { kill(); }

    /// Starts QEMU and waits until it printed both pty paths. Empty string or the error.
    std::string start(const std::string& elf, const std::string& config_file) {
        int in[2];
        int out[2];
        if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) return "pipe failed";
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        posix_spawn_file_actions_adddup2(&fa, out[1], 2);
        std::vector<std::string> args = {CONSENTRIG_QEMU_SYSTEM_ARM, "-M", "mps2-an385", "-nographic",
                                         "-monitor", "stdio", "-serial", "pty", "-serial", "pty",
                                         "-kernel", elf, "-S"};
        if (!config_file.empty()) {
            args.push_back("-device");
            args.push_back("loader,file=" + config_file + ",addr=0x3ff000,force-raw=on");
        }
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        const int rc = ::posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        ::close(in[0]);
        ::close(out[1]);
        monitor_ = in[1];
        out_ = out[0];
        if (rc != 0) {
            pid_ = -1;
            return "cannot start " + args[0];
        }
        // "char device redirected to /dev/pts/N (label serial0)" — on stdout or stderr.
        const std::regex re(R"(char device redirected to (\S+) \(label (serial[01])\))");
        const auto end = std::chrono::steady_clock::now() + 30s;
        while (serial_.size() < 2) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
            if (left.count() <= 0) return "QEMU printed no pty paths; output: " + text_;
            pollfd p{out_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
            char buf[1024];
            const ssize_t n = ::read(out_, buf, sizeof buf);
            if (n <= 0) return "QEMU exited; output: " + text_;
            text_.append(buf, static_cast<std::size_t>(n));
            for (auto it = std::sregex_iterator(text_.begin(), text_.end(), re); it != std::sregex_iterator(); ++it) {
                serial_[(*it)[2]] = (*it)[1];
            }
        }
        ::fcntl(out_, F_SETFL, ::fcntl(out_, F_GETFL) | O_NONBLOCK);
        return {};
    }

    /// Lets the paused CPU run.
    void cont() {
        const char cmd[] = "cont\n";
        [[maybe_unused]] const auto n = ::write(monitor_, cmd, sizeof cmd - 1);
    }

    [[nodiscard]] std::string serial(const std::string& label) const {
        auto it = serial_.find(label);
        return it == serial_.end() ? std::string{} : it->second;
    }

    void kill() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            ::waitpid(pid_, &status, 0);
            pid_ = -1;
        }
        if (monitor_ >= 0) ::close(monitor_);
        if (out_ >= 0) ::close(out_);
        monitor_ = out_ = -1;
    }

private:
    pid_t pid_ = -1;
    int monitor_ = -1;
    int out_ = -1;
    std::string text_;
    std::map<std::string, std::string> serial_;
};

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
        qemu.kill();
        if (server) server->stop();
        if (!config_path.empty()) fs::remove(config_path);
    }

    /// Boots the image with `config` and `plant_config`; the CPU runs once rig and plant are
    /// connected.
    void boot(const std::string& config, const cp::PlantConfig& plant_config) {
        plant_test::step("boot");
        config_path = (fs::temp_directory_path() / ("consentrig-m3-" + std::to_string(::getpid()) + ".cfg")).string();
        std::ofstream(config_path) << config;
        const std::string err = qemu.start(CONSENTRIG_M3_BOARD_ELF, config_path);
        ASSERT_EQ(err, "");
        const int fd = open_raw(qemu.serial("serial0"));
        ASSERT_GE(fd, 0) << qemu.serial("serial0");
        link = std::make_unique<plant_test::BoardLink>(fd);
        plant = std::make_shared<cp::Plant>(plant_config, plant_test::kEpoch);
        auto s = cp::Server::rtu(qemu.serial("serial1"));
        ASSERT_TRUE(s) << s.error().message;
        server = std::move(*s);
        server->add_plant(1, plant);
        ASSERT_TRUE(server->start());
        plant_test::step("cont");
        qemu.cont();
    }

    Qemu qemu;
    std::string config_path;
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
