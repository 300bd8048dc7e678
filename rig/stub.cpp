#include "rig/stub.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>
#include <utility>

namespace consentrig::rig {

using core::Error;
using core::Result;

Result<ChildProcess> ChildProcess::spawn(const std::vector<std::string>& args, int stdin_fd, int stdout_fd, int stderr_fd) {
    std::vector<std::string> argv_s = args;
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) return Error{std::string("fork: ") + std::strerror(errno)};
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != parent) ::_exit(127);
        if (stdin_fd >= 0) ::dup2(stdin_fd, STDIN_FILENO);
        if (stdout_fd >= 0) ::dup2(stdout_fd, STDOUT_FILENO);
        if (stderr_fd >= 0) ::dup2(stderr_fd, STDERR_FILENO);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    ChildProcess c;
    c.pid_ = pid;
    return c;
}

ChildProcess::ChildProcess(ChildProcess&& o) noexcept : pid_(std::exchange(o.pid_, -1)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& o) noexcept {
    if (this != &o) {
        terminate();
        pid_ = std::exchange(o.pid_, -1);
    }
    return *this;
}

ChildProcess::~ChildProcess() { terminate(); }

bool ChildProcess::try_reap() {
    if (pid_ <= 0) return true;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) pid_ = -1;
    return pid_ <= 0;
}

void ChildProcess::reap() {
    if (pid_ <= 0) return;
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
}

bool ChildProcess::running() { return !try_reap(); }

void ChildProcess::kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    reap();
}

void ChildProcess::terminate() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (std::chrono::steady_clock::now() < deadline) {
        if (try_reap()) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    kill();
}

Result<StubProcess> StubProcess::spawn(const std::string& program, const std::vector<std::string>& args,
                                       const std::string& log_path, std::chrono::milliseconds timeout) {
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) return Error{std::string("pipe: ") + std::strerror(errno)};
    int log_fd = -1;
    if (!log_path.empty()) {
        log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (log_fd < 0) {
            ::close(pipefd[0]);
            ::close(pipefd[1]);
            return Error{log_path + ": cannot open: " + std::strerror(errno)};
        }
    }
    std::vector<std::string> argv{program};
    argv.insert(argv.end(), args.begin(), args.end());
    auto child = ChildProcess::spawn(argv, -1, pipefd[1], log_fd);
    ::close(pipefd[1]);
    if (log_fd >= 0) ::close(log_fd);
    if (!child) {
        ::close(pipefd[0]);
        return child.error();
    }
    StubProcess p;
    p.child_ = std::move(*child);
    p.out_fd_ = pipefd[0];
    // Read the first line (the pty path) with a deadline.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string line;
    while (line.find('\n') == std::string::npos) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return Error{program + ": printed no pty path within " + std::to_string(timeout.count()) + " ms"};
        pollfd pf{p.out_fd_, POLLIN, 0};
        const int r = ::poll(&pf, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
        char buf[256];
        const ssize_t n = ::read(p.out_fd_, buf, sizeof buf);
        if (n <= 0) {
            p.child_.reap();
            return Error{program + ": exited before printing its pty path (see its stderr)"};
        }
        line.append(buf, static_cast<std::size_t>(n));
    }
    p.pty_ = line.substr(0, line.find('\n'));
    return p;
}

StubProcess::StubProcess(StubProcess&& o) noexcept
    : child_(std::move(o.child_)), out_fd_(std::exchange(o.out_fd_, -1)), pty_(std::move(o.pty_)) {}

StubProcess& StubProcess::operator=(StubProcess&& o) noexcept {
    if (this != &o) {
        terminate();
        child_ = std::move(o.child_);
        out_fd_ = std::exchange(o.out_fd_, -1);
        pty_ = std::move(o.pty_);
    }
    return *this;
}

StubProcess::~StubProcess() { terminate(); }

void StubProcess::close_out() {
    if (out_fd_ >= 0) ::close(out_fd_);
    out_fd_ = -1;
}

void StubProcess::kill() {
    child_.kill();
    close_out();
}

void StubProcess::terminate() {
    child_.terminate();
    close_out();
}

std::string default_stub_program() {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const auto next_to = self.parent_path() / "consentrig-board";
        if (std::filesystem::exists(next_to, ec)) return next_to.string();
    }
#ifdef CONSENTRIG_BOARD_PROGRAM
    if (std::filesystem::exists(CONSENTRIG_BOARD_PROGRAM, ec)) return CONSENTRIG_BOARD_PROGRAM;
#endif
    return "consentrig-board";
}

}  // namespace consentrig::rig
