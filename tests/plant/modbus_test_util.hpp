#pragma once
// Helpers for the plant tests: pty pairs, libmodbus clients on either side of them, and waiting
// on conditions with a deadline (never a bare sleep).
#include <fcntl.h>
#include <modbus.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace plant_test {

/// A raw pseudo-terminal pair (openpty): `master` fd, `slave` fd and the slave's path.
struct PtyPair {
    int master = -1;
    int slave = -1;
    std::string path;

    PtyPair() {
        termios tio{};
        cfmakeraw(&tio);
        char name[256] = {};
        if (::openpty(&master, &slave, name, &tio, nullptr) == 0) path = name;
    }
    ~PtyPair() {
        if (master >= 0) ::close(master);
        if (slave >= 0) ::close(slave);
    }
    PtyPair(const PtyPair&) = delete;
    PtyPair& operator=(const PtyPair&) = delete;
    /// Hands the master fd over (the callee closes it).
    int release_master() {
        const int fd = master;
        master = -1;
        return fd;
    }
};

/// A libmodbus RTU client on an open descriptor (a pty master: it has no path to open).
inline modbus_t* rtu_client_on_fd(int fd, int unit = 1) {
    modbus_t* ctx = modbus_new_rtu("/dev/null", 115200, 'N', 8, 1);
    modbus_set_socket(ctx, fd);
    modbus_set_slave(ctx, unit);
    modbus_set_response_timeout(ctx, 2, 0);
    return ctx;
}

/// `ctx` connected, talking to `unit` with a 2 s response timeout; nullptr (ctx freed) when
/// it cannot connect.
inline modbus_t* connected(modbus_t* ctx, int unit) {
    if (ctx == nullptr) return nullptr;
    if (modbus_connect(ctx) != 0) {
        modbus_free(ctx);
        return nullptr;
    }
    modbus_set_slave(ctx, unit);
    modbus_set_response_timeout(ctx, 2, 0);
    return ctx;
}

/// A libmodbus RTU client that opens a device path itself.
inline modbus_t* rtu_client_on_path(const std::string& path, int unit = 1) {
    return connected(modbus_new_rtu(path.c_str(), 115200, 'N', 8, 1), unit);
}

inline modbus_t* tcp_client(int port, int unit = 1) { return connected(modbus_new_tcp("127.0.0.1", port), unit); }

/// Polls `cond` until it holds or `deadline` passes; true when it held.
inline bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds deadline,
                     std::chrono::milliseconds step = std::chrono::milliseconds(2)) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    for (;;) {
        if (cond()) return true;
        if (std::chrono::steady_clock::now() >= end) return false;
        std::this_thread::sleep_for(step);
    }
}

}  // namespace plant_test
