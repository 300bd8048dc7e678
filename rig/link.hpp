#pragma once
/// rig/link.hpp — serial links between the rig and a board.
///
/// One small interface for every kind of link the rig drives: a pseudo-terminal (termios —
/// libserialport cannot open ptys), a real serial port or USB-serial adapter (libserialport),
/// and a recording fake for unit tests. Writes may be paced at the configured baud rate (8N1:
/// 10 bits per byte), so a pty carries bytes no faster than a real UART would.
///
/// Errors are values. A link that fails (the board vanished: pty master closed, USB unplugged)
/// reports an Error from read/write; the owner then calls close() and may open() again later.
///
/// Threads: read() and write() may run at the same time on two threads (a reader and a
/// writer); open() and close() must not overlap with either.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/result.hpp"

struct sp_port;  // libserialport

namespace consentrig::rig {

struct LinkOptions {
    std::string path;              ///< /dev/pts/7, a symlink to one, /dev/ttyUSB0, COM3…
    std::uint32_t baud = 115200;
    bool pace = false;             ///< write no faster than baud/10 bytes per second
};

class SerialLink {
public:
    virtual ~SerialLink() = default;
    [[nodiscard]] virtual core::Status open() = 0;
    virtual void close() = 0;
    [[nodiscard]] virtual bool is_open() const = 0;
    /// Waits up to `timeout` for bytes, then reads what is there (at most buf.size()).
    /// 0 = nothing arrived in time. Error = the link failed (close it).
    [[nodiscard]] virtual core::Result<std::size_t> read(std::span<std::uint8_t> buf,
                                                         std::chrono::milliseconds timeout) = 0;
    /// Writes every byte (paced when configured). Error = the link failed (close it).
    [[nodiscard]] virtual core::Status write(std::span<const std::uint8_t> data) = 0;
    [[nodiscard]] virtual std::string name() const = 0;
};

/// Spreads writes out at baud/10 bytes per second: a chunk may go once the line would have
/// finished sending everything before it.
class Pacer {
public:
    explicit Pacer(std::uint32_t baud) : ns_per_byte_(baud == 0 ? 0 : 10'000'000'000ULL / baud) {}
    /// Sends `data` through `send(chunk)` in chunks of about a millisecond of line time,
    /// sleeping between them; returns false as soon as send does.
    template <class Send>
    bool run(std::span<const std::uint8_t> data, Send&& send);

private:
    std::uint64_t ns_per_byte_;
    std::chrono::steady_clock::time_point line_free_{};
};

/// A pseudo-terminal (or any tty termios can open): raw 8N1, non-blocking, poll-driven.
class PtyLink final : public SerialLink {
public:
    explicit PtyLink(LinkOptions options);
    ~PtyLink() override;
    PtyLink(const PtyLink&) = delete;
    PtyLink& operator=(const PtyLink&) = delete;
    [[nodiscard]] core::Status open() override;
    void close() override;
    [[nodiscard]] bool is_open() const override { return fd_ >= 0; }
    [[nodiscard]] core::Result<std::size_t> read(std::span<std::uint8_t> buf, std::chrono::milliseconds timeout) override;
    [[nodiscard]] core::Status write(std::span<const std::uint8_t> data) override;
    [[nodiscard]] std::string name() const override { return options_.path; }
    [[nodiscard]] int fd() const { return fd_; }

private:
    core::Status fail(const std::string& what, int err);
    LinkOptions options_;
    Pacer pacer_;
    int fd_ = -1;
};

/// A real serial port through libserialport (8N1, no flow control).
class SerialPortLink final : public SerialLink {
public:
    explicit SerialPortLink(LinkOptions options);
    ~SerialPortLink() override;
    SerialPortLink(const SerialPortLink&) = delete;
    SerialPortLink& operator=(const SerialPortLink&) = delete;
    [[nodiscard]] core::Status open() override;
    void close() override;
    [[nodiscard]] bool is_open() const override { return port_ != nullptr; }
    [[nodiscard]] core::Result<std::size_t> read(std::span<std::uint8_t> buf, std::chrono::milliseconds timeout) override;
    [[nodiscard]] core::Status write(std::span<const std::uint8_t> data) override;
    [[nodiscard]] std::string name() const override { return options_.path; }

private:
    core::Status fail(const std::string& what);
    LinkOptions options_;
    Pacer pacer_;
    ::sp_port* port_ = nullptr;
};

/// PtyLink for pseudo-terminals (/dev/pts/…, /dev/ptmx clients, or a symlink to one),
/// SerialPortLink for everything else.
[[nodiscard]] std::unique_ptr<SerialLink> make_link(const LinkOptions& options);
/// True when `path` (after symlinks) is a pseudo-terminal slave.
[[nodiscard]] bool is_pty_path(const std::string& path);

/// A serial port as the system lists it.
struct PortInfo {
    std::string name;          ///< /dev/ttyUSB0
    std::string description;
    std::string transport;     ///< "usb", "native", "bluetooth"
    std::optional<std::uint16_t> usb_vid;
    std::optional<std::uint16_t> usb_pid;
    std::string serial;        ///< USB serial number, may be empty
    std::string manufacturer;  ///< USB, may be empty
    std::string product;       ///< USB, may be empty
    /// "0483:374b" or "" when not USB.
    [[nodiscard]] std::string vid_pid() const;
};
/// Every serial port libserialport finds (pseudo-terminals are never listed).
[[nodiscard]] core::Result<std::vector<PortInfo>> list_ports();

/// A link for unit tests: bytes the test "sends from the board" are read by the rig; bytes
/// the rig writes are recorded. Thread-safe. It can vanish (reads/writes fail until reopened)
/// and refuse to open, like a port that is gone.
class FakeLink final : public SerialLink {
public:
    explicit FakeLink(std::string name = "fake") : name_(std::move(name)) {}
    [[nodiscard]] core::Status open() override;
    void close() override;
    [[nodiscard]] bool is_open() const override;
    [[nodiscard]] core::Result<std::size_t> read(std::span<std::uint8_t> buf, std::chrono::milliseconds timeout) override;
    [[nodiscard]] core::Status write(std::span<const std::uint8_t> data) override;
    [[nodiscard]] std::string name() const override { return name_; }

    // ---- the test's side ----
    void push(std::span<const std::uint8_t> bytes);  ///< the board sends
    [[nodiscard]] std::vector<std::uint8_t> written() const;  ///< everything the rig wrote
    [[nodiscard]] std::vector<std::uint8_t> take_written();   ///< … and forget it
    /// Waits until the rig has written at least `n` bytes in total (false on timeout).
    [[nodiscard]] bool wait_written(std::size_t n, std::chrono::milliseconds timeout) const;
    void vanish();                    ///< the port disappears: I/O fails, open() is refused
    void reappear();                  ///< open() works again
    [[nodiscard]] int opens() const;  ///< successful open() calls so far
    /// Called (outside the lock) with every chunk the rig writes — a scripted board.
    void on_write(std::function<void(std::span<const std::uint8_t>)> f);

private:
    std::string name_;
    mutable std::mutex m_;
    mutable std::condition_variable cv_;
    std::deque<std::uint8_t> in_;
    std::vector<std::uint8_t> out_;
    std::size_t out_total_ = 0;
    bool open_ = false;
    bool present_ = true;
    int opens_ = 0;
    std::function<void(std::span<const std::uint8_t>)> on_write_;
};

template <class Send>
bool Pacer::run(std::span<const std::uint8_t> data, Send&& send) {
    if (ns_per_byte_ == 0) return send(data);
    using namespace std::chrono;
    const std::size_t chunk = std::max<std::size_t>(1, static_cast<std::size_t>(1'000'000 / ns_per_byte_));
    while (!data.empty()) {
        const auto now = steady_clock::now();
        if (line_free_ > now) std::this_thread::sleep_until(line_free_);
        else line_free_ = now;
        const std::size_t n = std::min(chunk, data.size());
        if (!send(data.first(n))) return false;
        line_free_ += nanoseconds(ns_per_byte_ * n);
        data = data.subspan(n);
    }
    return true;
}

}  // namespace consentrig::rig
