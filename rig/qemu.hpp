#pragma once
/// rig/qemu.hpp — a QEMU board: the Cortex-M3 image (firmware-stubs/m3, board.elf) on
/// `qemu-system-arm -M mps2-an385` with two pty serial ports — UART0 the board protocol, UART1
/// the Modbus RTU line to the rig's plant — and its configuration text loaded at 0x3ff000
/// (docs/m3-board.md). QEMU starts paused (-S); `cont()` lets the CPU run once the rig has
/// opened both ports, so the boot HELLO is not lost.
///
/// Stable paths: `<link>` → serial0 and `<plant_link>` → serial1 are symlinks replaced at every
/// start, so a restarted QEMU (new ptys) is found where the session and the plant server look —
/// how the bench models "the port returns".
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "plant/plant.hpp"
#include "rig/stub.hpp"

namespace consentrig::rig {

/// A QEMU board's configuration text and the plant its house is, from the host stub's command
/// line for the same board — one mapping from "this board" to the Cortex-M3 image, for the bench
/// (scenario devices) and the GUI (the window's emulated board).
struct M3Setup {
    std::string config;           ///< the configuration text (docs/m3-board.md)
    plant::PlantConfig plant;     ///< device id and seed of the board; the house's parameters
};

struct M3SetupOptions {
    std::string written_by;       ///< the text's first line, a comment
    bool humidity_sensor = true;  ///< false: none fitted (the bench, as the simulator and host stub)
};

/// `stub_args`: pairs from the host stub's vocabulary — --kind, --profile, --id, --seed,
/// --recipient, --set name=value. A --set describing the house (room_initial_c, room_tau_h,
/// heat_rate_c_per_h, outdoor_c, humidity_pct) goes to the plant; other --set lines to the
/// firmware. --seed seeds the board (its low 32 bits) and the plant. An argument the board
/// cannot take, or one without its value, is an error naming it.
[[nodiscard]] core::Result<M3Setup> m3_setup(const std::vector<std::string>& stub_args, const M3SetupOptions& options);

struct QemuOptions {
    std::string program;                 ///< qemu-system-arm (empty: default_qemu_program())
    std::filesystem::path image;         ///< board.elf (empty: default_m3_image())
    std::string config_text;             ///< the board's configuration (docs/m3-board.md)
    std::filesystem::path work_dir;      ///< config file, QEMU's log, the two links
    std::string name;                    ///< file names: <name>.cfg, <name>.log, <name>.pty, <name>.plant
    std::chrono::milliseconds timeout{15000};  ///< for QEMU to print its pty paths
};

class QemuProcess final : public BoardProcess {
public:
    /// Starts QEMU paused. Errors name what is missing (program, image) or QEMU's own output.
    [[nodiscard]] static core::Result<QemuProcess> spawn(const QemuOptions& options);
    QemuProcess(QemuProcess&& o) noexcept;
    QemuProcess& operator=(QemuProcess&& o) noexcept;
    QemuProcess(const QemuProcess&) = delete;
    QemuProcess& operator=(const QemuProcess&) = delete;
    ~QemuProcess() override;

    [[nodiscard]] const std::string& pty() const override { return serial0_; }
    [[nodiscard]] const std::string& plant_pty() const { return serial1_; }
    [[nodiscard]] std::filesystem::path link() const;        ///< symlink → serial0
    [[nodiscard]] std::filesystem::path plant_link() const;  ///< symlink → serial1
    [[nodiscard]] bool running() override { return child_.running(); }
    /// Lets the paused CPU run ("cont" on the monitor).
    core::Status cont();
    void kill() override;
    void terminate() override;

private:
    QemuProcess() = default;
    void close_monitor();
    ChildProcess child_;
    int monitor_fd_ = -1;
    std::filesystem::path dir_;
    std::string name_;
    std::string serial0_, serial1_;
};

/// qemu-system-arm on PATH (empty when there is none).
[[nodiscard]] std::string default_qemu_program();
/// The cross-built board.elf: $CONSENTRIG_M3_IMAGE, else the build tree's image (empty when
/// neither exists).
[[nodiscard]] std::filesystem::path default_m3_image();

}  // namespace consentrig::rig
