#include "reports/pdf.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>

extern char** environ;

namespace consentrig::reports {
namespace {

namespace fs = std::filesystem;

bool executable(const fs::path& p) { return ::access(p.c_str(), X_OK) == 0 && fs::is_regular_file(p); }

std::optional<std::string> on_path(const std::string& name) {
    const char* path = std::getenv("PATH");
    if (!path) return std::nullopt;
    std::string_view rest(path);
    while (!rest.empty()) {
        const auto colon = rest.find(':');
        const std::string dir(rest.substr(0, colon));
        rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
        if (dir.empty()) continue;
        const fs::path candidate = fs::path(dir) / name;
        if (executable(candidate)) return candidate.string();
    }
    return std::nullopt;
}

std::string tail_of(const fs::path& log, std::size_t max_lines) {
    std::ifstream in(log);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        // Chromium's harmless complaints in a container (no D-Bus, no GPU) are noise.
        if (line.find("dbus") != std::string::npos || line.find("DBus") != std::string::npos) continue;
        lines.push_back(line);
    }
    std::string out;
    for (std::size_t i = lines.size() > max_lines ? lines.size() - max_lines : 0; i < lines.size(); ++i) out += lines[i] + "\n";
    return out;
}

}  // namespace

std::optional<std::string> find_chromium() {
    if (const char* env = std::getenv("CONSENTRIG_CHROMIUM"); env && *env) {
        if (std::string(env).find('/') != std::string::npos) {
            if (executable(env)) return std::string(env);
            return std::nullopt;
        }
        return on_path(env);
    }
    for (const char* name : {"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}) {
        if (auto p = on_path(name)) return p;
    }
    return std::nullopt;
}

std::vector<std::string> chromium_args(const fs::path& user_data_dir) {
    return {"--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--user-data-dir=" + user_data_dir.string()};
}

int run_process(const std::vector<std::string>& argv, const fs::path& log, int timeout_s, std::string& error,
                const fs::path& err_log) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string out = log.empty() ? std::string("/dev/null") : log.string();
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const std::string err = err_log.string();
    if (err.empty()) posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    else posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    pid_t pid = 0;
    const int rc = argv[0].find('/') == std::string::npos ? posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ)
                                                         : posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        error = argv[0] + ": cannot run: " + std::strerror(rc);
        return -1;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    // Wait without reaping (WNOWAIT): while the leader is a zombie its group id cannot be
    // reused, so the helpers Chromium may leave in the group can be stopped safely.
    bool timed_out = false;
    for (;;) {
        siginfo_t info{};
        const int w = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
        if (w == 0 && info.si_pid == pid) break;
        if (w < 0 && errno != EINTR) break;
        if (std::chrono::steady_clock::now() > deadline) {
            timed_out = true;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(-pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out) {
        error = argv[0] + ": no result after " + std::to_string(timeout_s) + " s; stopped";
        return -1;
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    error = argv[0] + ": killed by signal " + std::to_string(WTERMSIG(status));
    return -1;
}

ChromiumPdf::ChromiumPdf(std::string program, int timeout_s) : program_(std::move(program)), timeout_s_(timeout_s) {
    if (program_.empty()) program_ = find_chromium().value_or("");
}

PdfResult ChromiumPdf::render(const fs::path& html, const fs::path& pdf) {
    if (program_.empty()) {
        return {PdfResult::Status::skipped,
                "no PDF: Chromium not found (install Debian's chromium, e.g. with scripts/bootstrap, or set "
                "CONSENTRIG_CHROMIUM)"};
    }
    std::error_code ec;
    char tmpl[] = "/tmp/consentrig-chromium-XXXXXX";
    const char* dir = ::mkdtemp(tmpl);
    if (!dir) return {PdfResult::Status::failed, std::string("no PDF: cannot create a temporary folder: ") + std::strerror(errno)};
    const fs::path profile = fs::path(dir) / "profile";
    const fs::path log = fs::path(dir) / "chromium.log";
    const fs::path abs_html = fs::absolute(html, ec);
    const fs::path abs_pdf = fs::absolute(pdf, ec);
    std::vector<std::string> argv{program_};
    for (auto& a : chromium_args(profile)) argv.push_back(std::move(a));
    argv.push_back("--no-pdf-header-footer");
    argv.push_back("--print-to-pdf=" + abs_pdf.string());
    argv.push_back("file://" + abs_html.string());
    fs::remove(abs_pdf, ec);
    std::string error;
    const int rc = run_process(argv, log, timeout_s_, error);
    PdfResult result;
    if (rc == 0 && fs::exists(abs_pdf) && fs::file_size(abs_pdf, ec) > 0) {
        result.status = PdfResult::Status::ok;
    } else {
        result.status = PdfResult::Status::failed;
        result.message = "no PDF: " + (error.empty() ? program_ + " exited with status " + std::to_string(rc) : error);
        const std::string tail = tail_of(log, 5);
        if (!tail.empty()) result.message += "\n" + tail;
    }
    fs::remove_all(dir, ec);
    return result;
}

}  // namespace consentrig::reports
