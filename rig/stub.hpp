#pragma once
/// rig/stub.hpp — starts a host-stub board (firmware-stubs/host: consentrig-board) as a child
/// process and learns its pty from the first line it prints.
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

class StubProcess {
public:
    /// Starts `program args…` (stdout to a pipe, stderr to `log_path` when given, else
    /// inherited) and waits up to `timeout` for the pty path line. The child gets SIGTERM when
    /// this process dies.
    [[nodiscard]] static core::Result<StubProcess> spawn(const std::string& program, const std::vector<std::string>& args,
                                                         const std::string& log_path = {},
                                                         std::chrono::milliseconds timeout = std::chrono::seconds(10));
    StubProcess(StubProcess&& o) noexcept;
    StubProcess& operator=(StubProcess&& o) noexcept;
    StubProcess(const StubProcess&) = delete;
    StubProcess& operator=(const StubProcess&) = delete;
    ~StubProcess();  ///< terminate()

    [[nodiscard]] const std::string& pty() const { return pty_; }
    [[nodiscard]] pid_t pid() const { return pid_; }
    [[nodiscard]] bool running();
    /// SIGKILL and reap (the board vanishes without a word).
    void kill();
    /// SIGTERM, wait up to 2 s, then SIGKILL; reaps. Idempotent.
    void terminate();

private:
    StubProcess() = default;
    void reap(bool block);
    pid_t pid_ = -1;
    int out_fd_ = -1;
    std::string pty_;
};

/// The consentrig-board program next to the running executable (same build tree bin/), else
/// the build tree it was configured in, else "consentrig-board" on PATH.
[[nodiscard]] std::string default_stub_program();

}  // namespace consentrig::rig
