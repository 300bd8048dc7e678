#include "rig/qemu.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>
#include <utility>

namespace consentrig::rig {

namespace {
/// A host-stub `--set` that describes the house, not the firmware: the plant takes it (the m3
/// board's configuration has no such keys).
bool plant_param(const std::string& name, double v, plant::PlantConfig& pc) {
    if (name == "room_initial_c") pc.initial_temperature_c = v;
    else if (name == "room_tau_h") pc.house.time_constant_ms = static_cast<core::DurationMs>(v * 3'600'000.0);
    else if (name == "heat_rate_c_per_h") pc.house.heat_rate_c_per_h = v;
    else if (name == "outdoor_c") pc.house.outdoor_mean_c = v;
    else if (name == "humidity_pct") pc.humidity_pct = v;
    else return false;
    return true;
}
}  // namespace

core::Result<M3Setup> m3_setup(const std::vector<std::string>& args, const M3SetupOptions& options) {
    M3Setup m;
    m.config = "# " + options.written_by + "\n";
    if (!options.humidity_sensor) m.config += "humidity_sensor=0\n";
    std::string kind, id;
    for (std::size_t i = 0; i < args.size(); i += 2) {
        const std::string& k = args[i];
        const bool known = k == "--kind" || k == "--profile" || k == "--id" || k == "--seed" || k == "--recipient" || k == "--set";
        if (!known || i + 1 >= args.size()) {
            return core::Error{"board argument '" + k + "': a QEMU board takes --kind, --profile, --id, --seed, --set and "
                               "--recipient, each with a value (configuration lines, docs/m3-board.md)"};
        }
        const std::string& v = args[i + 1];
        if (k == "--seed") {
            char* end = nullptr;
            errno = 0;
            const unsigned long long seed = std::strtoull(v.c_str(), &end, 10);
            if (v.empty() || *end != '\0' || errno != 0) return core::Error{"board argument '--seed " + v + "': not a number"};
            m.plant.seed = seed;
            m.config += "seed=" + std::to_string(seed & 0xffffffffULL) + "\n";
            continue;
        }
        if (k == "--set") {
            const auto eq = v.find('=');
            if (eq != std::string::npos && plant_param(v.substr(0, eq), std::strtod(v.c_str() + eq + 1, nullptr), m.plant)) continue;
        }
        if (k == "--kind") kind = v;
        if (k == "--id") id = v;
        m.config += k.substr(2) + "=" + v + "\n";
    }
    if (!id.empty() || !kind.empty()) m.plant.device_id = !id.empty() ? id : kind;
    return m;
}

using core::Error;
using core::Result;
using core::Status;
namespace fs = std::filesystem;

namespace {

/// Points `link` at `target`, replacing whatever was there in one step.
Status replace_symlink(const fs::path& link, const std::string& target) {
    const fs::path tmp = link.string() + ".new";
    std::error_code ec;
    fs::remove(tmp, ec);
    fs::create_symlink(target, tmp, ec);
    if (ec) return Error{tmp.string() + ": cannot create symlink: " + ec.message()};
    fs::rename(tmp, link, ec);
    if (ec) return Error{link.string() + ": cannot replace: " + ec.message()};
    return {};
}

std::string read_all(const fs::path& p) {
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

Result<QemuProcess> QemuProcess::spawn(const QemuOptions& o) {
    const std::string program = o.program.empty() ? default_qemu_program() : o.program;
    if (program.empty()) return Error{"qemu-system-arm not found on PATH (install qemu-system-arm, e.g. scripts/bootstrap)"};
    const fs::path image = o.image.empty() ? default_m3_image() : o.image;
    std::error_code ec;
    if (image.empty() || !fs::exists(image, ec)) {
        return Error{"Cortex-M3 board image " + (image.empty() ? std::string("board.elf") : image.string()) +
                     " not found (build the target m3_board; needs arm-none-eabi-gcc — docs/m3-board.md)"};
    }
    fs::create_directories(o.work_dir, ec);
    const fs::path cfg = o.work_dir / (o.name + ".cfg");
    const fs::path log = o.work_dir / (o.name + ".log");
    {
        std::ofstream out(cfg, std::ios::trunc);
        out << o.config_text;
        if (!out.flush()) return Error{cfg.string() + ": cannot write"};
    }
    // The monitor on a pipe (for `cont`), QEMU's output appended to the log we then read the pty
    // paths from: a pipe nobody drains could fill up and stall QEMU.
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return Error{std::string("pipe: ") + std::strerror(errno)};
    const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        ::close(in[0]);
        ::close(in[1]);
        return Error{log.string() + ": cannot open: " + std::strerror(errno)};
    }
    const std::vector<std::string> argv = {program,  "-M",     "mps2-an385", "-nographic", "-monitor", "stdio",
                                           "-serial", "pty",   "-serial",    "pty",        "-kernel",  image.string(),
                                           "-device", "loader,file=" + cfg.string() + ",addr=0x3ff000,force-raw=on", "-S"};
    auto child = ChildProcess::spawn(argv, in[0], log_fd, log_fd);
    ::close(in[0]);
    ::close(log_fd);
    if (!child) {
        ::close(in[1]);
        return child.error();
    }
    QemuProcess q;
    q.child_ = std::move(*child);
    q.monitor_fd_ = in[1];
    q.dir_ = o.work_dir;
    q.name_ = o.name;
    // "char device redirected to /dev/pts/N (label serial0)"
    const std::regex re(R"(char device redirected to (\S+) \(label (serial[01])\))");
    const auto deadline = std::chrono::steady_clock::now() + o.timeout;
    while (q.serial0_.empty() || q.serial1_.empty()) {
        const std::string text = read_all(log);
        for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) {
            ((*it)[2] == "serial0" ? q.serial0_ : q.serial1_) = (*it)[1];
        }
        if (!q.serial0_.empty() && !q.serial1_.empty()) break;
        if (!q.child_.running()) return Error{program + " exited at start: " + text};
        if (std::chrono::steady_clock::now() > deadline) {
            return Error{program + " printed no pty paths within " + std::to_string(o.timeout.count()) + " ms: " + text};
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (auto st = replace_symlink(q.link(), q.serial0_); !st) return st.error();
    if (auto st = replace_symlink(q.plant_link(), q.serial1_); !st) return st.error();
    return q;
}

QemuProcess::QemuProcess(QemuProcess&& o) noexcept
    : child_(std::move(o.child_)),
      monitor_fd_(std::exchange(o.monitor_fd_, -1)),
      dir_(std::move(o.dir_)),
      name_(std::move(o.name_)),
      serial0_(std::move(o.serial0_)),
      serial1_(std::move(o.serial1_)) {}

QemuProcess& QemuProcess::operator=(QemuProcess&& o) noexcept {
    if (this != &o) {
        terminate();
        child_ = std::move(o.child_);
        monitor_fd_ = std::exchange(o.monitor_fd_, -1);
        dir_ = std::move(o.dir_);
        name_ = std::move(o.name_);
        serial0_ = std::move(o.serial0_);
        serial1_ = std::move(o.serial1_);
    }
    return *this;
}

QemuProcess::~QemuProcess() { terminate(); }

fs::path QemuProcess::link() const { return dir_ / (name_ + ".pty"); }
fs::path QemuProcess::plant_link() const { return dir_ / (name_ + ".plant"); }

Status QemuProcess::cont() {
    static constexpr char kCont[] = "cont\n";
    if (monitor_fd_ < 0 || ::write(monitor_fd_, kCont, sizeof kCont - 1) != static_cast<ssize_t>(sizeof kCont - 1)) {
        return Error{"QEMU monitor: cannot send cont: " + std::string(std::strerror(errno))};
    }
    return {};
}

void QemuProcess::close_monitor() {
    if (monitor_fd_ >= 0) ::close(monitor_fd_);
    monitor_fd_ = -1;
}

void QemuProcess::kill() {
    child_.kill();
    close_monitor();
}

void QemuProcess::terminate() {
    child_.terminate();
    close_monitor();
}

std::string default_qemu_program() {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        const fs::path p = fs::path(dir.empty() ? "." : dir) / "qemu-system-arm";
        if (::access(p.c_str(), X_OK) == 0) return p.string();
    }
    return {};
}

fs::path default_m3_image() {
    std::error_code ec;
    if (const char* env = std::getenv("CONSENTRIG_M3_IMAGE"); env && *env) return env;
#ifdef CONSENTRIG_M3_IMAGE
    if (fs::exists(CONSENTRIG_M3_IMAGE, ec)) return CONSENTRIG_M3_IMAGE;
#endif
    return {};
}

}  // namespace consentrig::rig
