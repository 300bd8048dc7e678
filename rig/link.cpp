#include "rig/link.hpp"

#include <fcntl.h>
#include <libserialport.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace consentrig::rig {

using core::Error;
using core::Result;
using core::Status;

// ---- PtyLink -------------------------------------------------------------------------------

namespace {

speed_t to_speed(std::uint32_t baud) {
    switch (baud) {
        case 9600: return B9600;
        case 19200: return B19200;
        case 38400: return B38400;
        case 57600: return B57600;
        case 115200: return B115200;
        case 230400: return B230400;
        case 460800: return B460800;
        case 921600: return B921600;
        default: return B115200;
    }
}

}  // namespace

PtyLink::PtyLink(LinkOptions options) : options_(std::move(options)), pacer_(options_.pace ? options_.baud : 0) {}
PtyLink::~PtyLink() { close(); }

Status PtyLink::fail(const std::string& what, int err) {
    return Error{options_.path + ": " + what + ": " + std::strerror(err)};
}

Status PtyLink::open() {
    if (fd_ >= 0) return {};
    const int fd = ::open(options_.path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return Error{options_.path + ": cannot open: " + std::strerror(errno)};
    termios tio{};
    if (tcgetattr(fd, &tio) != 0) {
        const int err = errno;
        ::close(fd);
        return Error{options_.path + ": not a terminal: " + std::strerror(err)};
    }
    cfmakeraw(&tio);  // 8 data bits, no parity, no echo, no line editing
    tio.c_cflag &= ~static_cast<tcflag_t>(CSTOPB | CRTSCTS);
    tio.c_cflag |= CLOCAL | CREAD;
    tio.c_cc[VMIN] = 0;
    tio.c_cc[VTIME] = 0;
    cfsetispeed(&tio, to_speed(options_.baud));
    cfsetospeed(&tio, to_speed(options_.baud));
    if (tcsetattr(fd, TCSANOW, &tio) != 0) {
        const int err = errno;
        ::close(fd);
        return Error{options_.path + ": cannot configure: " + std::strerror(err)};
    }
    // No tcflush: a HELLO the board sent before the rig opened the port must still be read.
    fd_ = fd;
    return {};
}

void PtyLink::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

Result<std::size_t> PtyLink::read(std::span<std::uint8_t> buf, std::chrono::milliseconds timeout) {
    if (fd_ < 0) return Error{options_.path + ": not open"};
    pollfd p{fd_, POLLIN, 0};
    const int ms = static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(timeout.count(), 0, INT_MAX));
    const int r = ::poll(&p, 1, ms);
    if (r < 0) {
        if (errno == EINTR) return std::size_t{0};
        return fail("poll", errno).error();
    }
    if (r == 0) return std::size_t{0};
    if (p.revents & POLLIN) {
        const ssize_t n = ::read(fd_, buf.data(), buf.size());
        if (n > 0) return static_cast<std::size_t>(n);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return std::size_t{0};
        if (n < 0) return fail("read", errno).error();
        return fail("read", EIO).error();  // end of file: the other side is gone
    }
    if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) return fail("board disconnected (hang-up)", EIO).error();
    return std::size_t{0};
}

Status PtyLink::write(std::span<const std::uint8_t> data) {
    if (fd_ < 0) return Error{options_.path + ": not open"};
    int err = 0;
    const bool ok = pacer_.run(data, [&](std::span<const std::uint8_t> chunk) {
        while (!chunk.empty()) {
            const ssize_t n = ::write(fd_, chunk.data(), chunk.size());
            if (n > 0) {
                chunk = chunk.subspan(static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) {  // the board is not reading: wait for room
                pollfd p{fd_, POLLOUT, 0};
                const int r = ::poll(&p, 1, 1000);
                if (r == 0) {
                    err = ETIMEDOUT;
                    return false;
                }
                if (r < 0 && errno != EINTR) {
                    err = errno;
                    return false;
                }
                if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) {
                    err = EIO;
                    return false;
                }
                continue;
            }
            err = n < 0 ? errno : EIO;
            return false;
        }
        return true;
    });
    if (!ok) return fail("write", err);
    return {};
}

// ---- SerialPortLink ------------------------------------------------------------------------

SerialPortLink::SerialPortLink(LinkOptions options)
    : options_(std::move(options)), pacer_(options_.pace ? options_.baud : 0) {}
SerialPortLink::~SerialPortLink() { close(); }

Status SerialPortLink::fail(const std::string& what) {
    char* msg = sp_last_error_message();
    std::string text = options_.path + ": " + what + (msg ? std::string(": ") + msg : std::string());
    if (msg) sp_free_error_message(msg);
    return Error{text};
}

Status SerialPortLink::open() {
    if (port_) return {};
    if (sp_get_port_by_name(options_.path.c_str(), &port_) != SP_OK) {
        port_ = nullptr;
        return Error{options_.path + ": no such serial port"};
    }
    if (sp_open(port_, SP_MODE_READ_WRITE) != SP_OK) {
        Status st = fail("cannot open");
        sp_free_port(port_);
        port_ = nullptr;
        return st;
    }
    sp_port_config* cfg = nullptr;
    if (sp_new_config(&cfg) != SP_OK) {
        Status st = fail("cannot configure");
        close();
        return st;
    }
    sp_set_config_baudrate(cfg, static_cast<int>(options_.baud));
    sp_set_config_bits(cfg, 8);
    sp_set_config_parity(cfg, SP_PARITY_NONE);
    sp_set_config_stopbits(cfg, 1);
    sp_set_config_flowcontrol(cfg, SP_FLOWCONTROL_NONE);
    const sp_return r = sp_set_config(port_, cfg);
    sp_free_config(cfg);
    if (r != SP_OK) {
        Status st = fail("cannot configure");
        close();
        return st;
    }
    return {};
}

void SerialPortLink::close() {
    if (!port_) return;
    sp_close(port_);
    sp_free_port(port_);
    port_ = nullptr;
}

Result<std::size_t> SerialPortLink::read(std::span<std::uint8_t> buf, std::chrono::milliseconds timeout) {
    if (!port_) return Error{options_.path + ": not open"};
    // Wait for the first byte, then take whatever else is already there.
    const sp_return first = sp_blocking_read(port_, buf.data(), 1, static_cast<unsigned>(std::max<long long>(0, timeout.count())));
    if (first < 0) return fail("read").error();
    if (first == 0) return std::size_t{0};
    if (buf.size() == 1) return std::size_t{1};
    const sp_return rest = sp_nonblocking_read(port_, buf.data() + 1, buf.size() - 1);
    if (rest < 0) return fail("read").error();
    return static_cast<std::size_t>(1 + rest);
}

Status SerialPortLink::write(std::span<const std::uint8_t> data) {
    if (!port_) return Error{options_.path + ": not open"};
    const bool ok = pacer_.run(data, [&](std::span<const std::uint8_t> chunk) {
        const sp_return n = sp_blocking_write(port_, chunk.data(), chunk.size(), 2000);
        return n == static_cast<sp_return>(chunk.size());
    });
    if (!ok) return fail("write");
    return {};
}

// ---- factory, enumeration --------------------------------------------------------------------

bool is_pty_path(const std::string& path) {
    char resolved[PATH_MAX];
    if (!::realpath(path.c_str(), resolved)) return path.rfind("/dev/pts/", 0) == 0;
    const std::string r = resolved;
    if (r.rfind("/dev/pts/", 0) == 0) return true;
    struct stat st{};
    // Unix 98 pty slaves have major numbers 136…143.
    return ::stat(resolved, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) >= 136 && major(st.st_rdev) <= 143;
}

std::unique_ptr<SerialLink> make_link(const LinkOptions& options) {
    if (is_pty_path(options.path)) return std::make_unique<PtyLink>(options);
    return std::make_unique<SerialPortLink>(options);
}

std::string PortInfo::vid_pid() const {
    if (!usb_vid || !usb_pid) return {};
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04x:%04x", static_cast<unsigned>(*usb_vid), static_cast<unsigned>(*usb_pid));
    return buf;
}

Result<std::vector<PortInfo>> list_ports() {
    sp_port** ports = nullptr;
    if (sp_list_ports(&ports) != SP_OK) {
        char* msg = sp_last_error_message();
        std::string text = std::string("cannot list serial ports") + (msg ? std::string(": ") + msg : std::string());
        if (msg) sp_free_error_message(msg);
        return Error{text};
    }
    auto str = [](const char* s) { return s ? std::string(s) : std::string(); };
    std::vector<PortInfo> out;
    for (int i = 0; ports[i]; ++i) {
        sp_port* p = ports[i];
        PortInfo info;
        info.name = str(sp_get_port_name(p));
        info.description = str(sp_get_port_description(p));
        switch (sp_get_port_transport(p)) {
            case SP_TRANSPORT_USB: {
                info.transport = "usb";
                int vid = 0, pid = 0;
                if (sp_get_port_usb_vid_pid(p, &vid, &pid) == SP_OK) {
                    info.usb_vid = static_cast<std::uint16_t>(vid);
                    info.usb_pid = static_cast<std::uint16_t>(pid);
                }
                info.serial = str(sp_get_port_usb_serial(p));
                info.manufacturer = str(sp_get_port_usb_manufacturer(p));
                info.product = str(sp_get_port_usb_product(p));
                break;
            }
            case SP_TRANSPORT_BLUETOOTH: info.transport = "bluetooth"; break;
            default: info.transport = "native"; break;
        }
        out.push_back(std::move(info));
    }
    sp_free_port_list(ports);
    return out;
}

// ---- FakeLink --------------------------------------------------------------------------------

Status FakeLink::open() {
    std::lock_guard lock(m_);
    if (!present_) return Error{name_ + ": cannot open: No such file or directory"};
    if (!open_) ++opens_;
    open_ = true;
    return {};
}

void FakeLink::close() {
    std::lock_guard lock(m_);
    open_ = false;
    cv_.notify_all();
}

bool FakeLink::is_open() const {
    std::lock_guard lock(m_);
    return open_;
}

Result<std::size_t> FakeLink::read(std::span<std::uint8_t> buf, std::chrono::milliseconds timeout) {
    std::unique_lock lock(m_);
    cv_.wait_for(lock, timeout, [&] { return !in_.empty() || !open_ || !present_; });
    if (!present_) return Error{name_ + ": board disconnected"};
    if (!open_) return Error{name_ + ": not open"};
    std::size_t n = 0;
    while (n < buf.size() && !in_.empty()) {
        buf[n++] = in_.front();
        in_.pop_front();
    }
    return n;
}

Status FakeLink::write(std::span<const std::uint8_t> data) {
    std::function<void(std::span<const std::uint8_t>)> hook;
    {
        std::lock_guard lock(m_);
        if (!present_) return Error{name_ + ": board disconnected"};
        if (!open_) return Error{name_ + ": not open"};
        out_.insert(out_.end(), data.begin(), data.end());
        out_total_ += data.size();
        hook = on_write_;
        cv_.notify_all();
    }
    if (hook) hook(data);
    return {};
}

void FakeLink::push(std::span<const std::uint8_t> bytes) {
    std::lock_guard lock(m_);
    in_.insert(in_.end(), bytes.begin(), bytes.end());
    cv_.notify_all();
}

std::vector<std::uint8_t> FakeLink::written() const {
    std::lock_guard lock(m_);
    return out_;
}

std::vector<std::uint8_t> FakeLink::take_written() {
    std::lock_guard lock(m_);
    return std::exchange(out_, {});
}

bool FakeLink::wait_written(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(m_);
    return cv_.wait_for(lock, timeout, [&] { return out_total_ >= n; });
}

void FakeLink::vanish() {
    std::lock_guard lock(m_);
    present_ = false;
    in_.clear();
    cv_.notify_all();
}

void FakeLink::reappear() {
    std::lock_guard lock(m_);
    present_ = true;
    cv_.notify_all();
}

int FakeLink::opens() const {
    std::lock_guard lock(m_);
    return opens_;
}

void FakeLink::on_write(std::function<void(std::span<const std::uint8_t>)> f) {
    std::lock_guard lock(m_);
    on_write_ = std::move(f);
}

}  // namespace consentrig::rig
