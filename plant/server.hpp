#pragma once
/// plant/server.hpp — the Modbus server that answers as each board's plant (libmodbus).
///
/// One `Server` serves one link: Modbus RTU on a serial device (a real port, a USB-serial
/// adapter, a pty slave such as QEMU's `-serial pty`), RTU on a file descriptor it is handed (a
/// pty master), or Modbus TCP on a loopback address. Each plant on the link has a unit id
/// (default 1). A background thread frames requests itself (RTU by function code, TCP by the
/// MBAP header — a pty has no inter-frame silence to go by) and lets libmodbus build every
/// answer and exception (`modbus_reply`) from the plant's register tables.
///
/// RS-485 mode (`modbus_rtu_set_serial_mode`) is never used: the ioctl fails on a pty; a real
/// RS-485 transceiver is driven by the board (docs/m3-board.md).
#include <atomic>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "core/result.hpp"
#include "plant/plant.hpp"

namespace consentrig::plant {

/// Link-level counters (the plants count what they answered).
struct ServerStats {
    std::uint64_t frames = 0;       ///< complete, well-formed requests received (any unit)
    std::uint64_t bad_crc = 0;      ///< RTU: candidate frames with a wrong CRC (a byte is skipped)
    std::uint64_t bad_frames = 0;   ///< RTU: bytes dropped after a partial frame timed out;
                                    ///< TCP: malformed MBAP headers (the connection is closed)
    std::uint64_t other_unit = 0;   ///< requests for a unit id served by nobody here
    std::uint64_t broadcasts = 0;   ///< RTU unit 0: ignored, never answered
    std::uint64_t connections = 0;  ///< TCP clients accepted; RTU device (re)opened
    std::uint64_t link_errors = 0;  ///< read/write errors and hang-ups
};

struct ServerOptions {
    /// RTU: a frame still incomplete this long after its last byte is given up (its first byte
    /// is dropped and the rest re-scanned).
    int byte_timeout_ms = 100;
    /// RTU on a device path: how often to retry opening it after it vanished (QEMU killed, USB
    /// unplugged).
    int reopen_interval_ms = 100;
};

class Server {
public:
    /// RTU on a serial device path (8N1 at `baud`); libmodbus opens and configures it. The
    /// device may vanish and come back: the server reopens it.
    static core::Result<std::unique_ptr<Server>> rtu(const std::string& device, int baud = 115200,
                                                     ServerOptions options = {});
    /// RTU on an open file descriptor (e.g. a pty master); the server owns and closes it.
    static core::Result<std::unique_ptr<Server>> rtu_fd(int fd, ServerOptions options = {});
    /// Modbus TCP, listening on address:port (port 0: an ephemeral port, see port()).
    static core::Result<std::unique_ptr<Server>> tcp(const std::string& address = "127.0.0.1", int port = 0,
                                                     ServerOptions options = {});

    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Serve `plant` as unit `unit` (1…247). Before start(). On TCP a server with exactly one
    /// plant answers every unit id (clients commonly send 0, 1 or 255).
    void add_plant(std::uint8_t unit, std::shared_ptr<Plant> plant);
    /// Starts the serving thread.
    core::Status start();
    /// Stops and joins it (also done by the destructor).
    void stop();

    [[nodiscard]] int port() const { return port_; }  ///< TCP: the bound port
    [[nodiscard]] ServerStats stats() const;
    [[nodiscard]] bool running() const { return thread_.joinable(); }

private:
    enum class Kind : std::uint8_t { rtu_path, rtu_fd, tcp };
    Server(Kind kind, ServerOptions options);

    void run();
    void run_rtu();
    void run_tcp();

    Kind kind_;
    ServerOptions options_;
    std::string device_;
    int baud_ = 115200;
    int port_ = 0;
    int listen_fd_ = -1;
    int rtu_fd_ = -1;      ///< rtu_fd: the adopted descriptor
    int stop_fd_ = -1;     ///< eventfd: stop() wakes the thread
    _modbus* ctx_ = nullptr;
    std::array<std::shared_ptr<Plant>, 256> plants_{};
    int plant_count_ = 0;
    std::thread thread_;

    struct AtomicStats {
        std::atomic<std::uint64_t> frames{0}, bad_crc{0}, bad_frames{0}, other_unit{0}, broadcasts{0},
            connections{0}, link_errors{0};
    };
    AtomicStats stats_;
};

}  // namespace consentrig::plant
