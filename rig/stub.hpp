#pragma once
/// rig/stub.hpp — boards the rig starts as child processes: a host-stub board
/// (firmware-stubs/host: consentrig-board) learns its pty from the first line it prints;
/// rig/qemu.hpp starts QEMU boards behind the same `BoardProcess` interface.
///
///   auto b = StubProcess::spawn(program, {"--kind", "lock", "--link", "out/lock.pty"});
///   b->pty();        // "/dev/pts/7"
///   b->kill();       // SIGKILL: the board vanishes mid-run (a fault test)
#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

#include "core/result.hpp"

namespace consentrig::rig {

/// A child process that gets SIGTERM when the rig dies, and is terminated and reaped when this
/// object goes. Move-only.
class ChildProcess {
public:
    /// Starts argv[0] (PATH lookup) with the given descriptors as stdin/stdout/stderr (-1: inherit).
    [[nodiscard]] static core::Result<ChildProcess> spawn(const std::vector<std::string>& argv, int stdin_fd, int stdout_fd,
                                                          int stderr_fd);
    ChildProcess() = default;
    ChildProcess(ChildProcess&& o) noexcept;
    ChildProcess& operator=(ChildProcess&& o) noexcept;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ~ChildProcess();  ///< terminate()

    [[nodiscard]] pid_t pid() const { return pid_; }
    [[nodiscard]] bool running();
    /// SIGKILL and reap.
    void kill();
    /// SIGTERM, wait up to 2 s, then SIGKILL; reaps. Idempotent.
    void terminate();
    /// Waits for the exit (blocking). Idempotent.
    void reap();

private:
    bool try_reap();
    pid_t pid_ = -1;
};

/// What the bench needs of a board it starts (host stub, QEMU): the port the board protocol is
/// on, and a way to make the board vanish.
class BoardProcess {
public:
    virtual ~BoardProcess() = default;
    /// The board-protocol port as the board opened it (a /dev/pts path).
    [[nodiscard]] virtual const std::string& pty() const = 0;
    [[nodiscard]] virtual bool running() = 0;
    /// SIGKILL (the board vanishes without a word).
    virtual void kill() = 0;
    /// Orderly stop.
    virtual void terminate() = 0;
};

class StubProcess final : public BoardProcess {
public:
    /// Starts `program args…` (stdout to a pipe, stderr to `log_path` when given, else
    /// inherited) and waits up to `timeout` for the pty path line.
    [[nodiscard]] static core::Result<StubProcess> spawn(const std::string& program, const std::vector<std::string>& args,
                                                         const std::string& log_path = {},
                                                         std::chrono::milliseconds timeout = std::chrono::seconds(10));
    StubProcess(StubProcess&& o) noexcept;
    StubProcess& operator=(StubProcess&& o) noexcept;
    StubProcess(const StubProcess&) = delete;
    StubProcess& operator=(const StubProcess&) = delete;
    ~StubProcess() override;

    [[nodiscard]] const std::string& pty() const override { return pty_; }
    [[nodiscard]] pid_t pid() const { return child_.pid(); }
    [[nodiscard]] bool running() override { return child_.running(); }
    void kill() override;
    void terminate() override;

private:
    StubProcess() = default;
    void close_out();
    ChildProcess child_;
    int out_fd_ = -1;
    std::string pty_;
};

/// The consentrig-board program next to the running executable (same build tree bin/), else
/// the build tree it was configured in, else "consentrig-board" on PATH.
[[nodiscard]] std::string default_stub_program();

}  // namespace consentrig::rig
