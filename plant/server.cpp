#include "plant/server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <modbus.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "plant/modbus_rtu.hpp"

namespace consentrig::plant {

namespace {

constexpr std::size_t kMbapHeader = 7;         ///< transaction, protocol, length, unit
constexpr std::size_t kTcpMaxAdu = 260;
constexpr std::size_t kReadChunk = 4096;
constexpr int kHangupRetryMs = 20;             ///< pty master without a slave: poll again after this

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

/// Waits until stop_fd is signalled or `ms` pass; true when stopped.
bool wait_stop(int stop_fd, int ms) {
    pollfd p{stop_fd, POLLIN, 0};
    return ::poll(&p, 1, ms) > 0;
}

}  // namespace

Server::Server(Kind kind, ServerOptions options) : kind_(kind), options_(options) {
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

Server::~Server() {
    stop();
    if (ctx_ != nullptr) {
        if (kind_ == Kind::rtu_path) modbus_close(ctx_);
        modbus_free(ctx_);
    }
    if (rtu_fd_ >= 0) ::close(rtu_fd_);
    if (listen_fd_ >= 0) ::close(listen_fd_);
    if (stop_fd_ >= 0) ::close(stop_fd_);
}

core::Result<std::unique_ptr<Server>> Server::rtu(const std::string& device, int baud, ServerOptions options) {
    std::unique_ptr<Server> s(new Server(Kind::rtu_path, options));
    s->device_ = device;
    s->baud_ = baud;
    s->ctx_ = modbus_new_rtu(device.c_str(), baud, 'N', 8, 1);
    if (s->ctx_ == nullptr) return core::Error{"plant: cannot create an RTU context for " + device + ": " + modbus_strerror(errno)};
    if (modbus_connect(s->ctx_) != 0) {
        return core::Error{"plant: cannot open " + device + ": " + modbus_strerror(errno)};
    }
    s->stats_.connections = 1;
    return s;
}

core::Result<std::unique_ptr<Server>> Server::rtu_fd(int fd, ServerOptions options) {
    std::unique_ptr<Server> s(new Server(Kind::rtu_fd, options));
    s->rtu_fd_ = fd;
    // libmodbus needs a device name; it never opens it: the descriptor is set directly.
    s->ctx_ = modbus_new_rtu("/dev/null", 115200, 'N', 8, 1);
    if (s->ctx_ == nullptr) return core::Error{std::string("plant: cannot create an RTU context: ") + modbus_strerror(errno)};
    modbus_set_socket(s->ctx_, fd);
    s->stats_.connections = 1;
    return s;
}

core::Result<std::unique_ptr<Server>> Server::tcp(const std::string& address, int port, ServerOptions options) {
    std::unique_ptr<Server> s(new Server(Kind::tcp, options));
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return core::Error{errno_text("plant: socket")};
    s->listen_fd_ = fd;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1) {
        return core::Error{"plant: not an IPv4 address: " + address};
    }
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        return core::Error{errno_text(("plant: bind " + address + ":" + std::to_string(port)).c_str())};
    }
    if (::listen(fd, 16) != 0) return core::Error{errno_text("plant: listen")};
    socklen_t len = sizeof sa;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    s->port_ = ntohs(sa.sin_port);
    s->ctx_ = modbus_new_tcp(address.c_str(), s->port_);
    if (s->ctx_ == nullptr) return core::Error{std::string("plant: cannot create a TCP context: ") + modbus_strerror(errno)};
    return s;
}

void Server::add_plant(std::uint8_t unit, std::shared_ptr<Plant> plant) {
    if (!plants_[unit] && plant) ++plant_count_;
    if (plants_[unit] && !plant) --plant_count_;
    plants_[unit] = std::move(plant);
}

core::Status Server::start() {
    if (thread_.joinable()) return core::Error{"plant: server already running"};
    if (stop_fd_ < 0) return core::Error{errno_text("plant: eventfd")};
    if (plant_count_ == 0) return core::Error{"plant: no plant to serve"};
    std::uint64_t drain = 0;
    while (::read(stop_fd_, &drain, sizeof drain) > 0) {
    }
    thread_ = std::thread([this] { run(); });
    return {};
}

void Server::stop() {
    if (!thread_.joinable()) return;
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(stop_fd_, &one, sizeof one);
    thread_.join();
}

ServerStats Server::stats() const {
    ServerStats s;
    s.frames = stats_.frames.load();
    s.bad_crc = stats_.bad_crc.load();
    s.bad_frames = stats_.bad_frames.load();
    s.other_unit = stats_.other_unit.load();
    s.broadcasts = stats_.broadcasts.load();
    s.connections = stats_.connections.load();
    s.link_errors = stats_.link_errors.load();
    return s;
}

void Server::run() {
    if (kind_ == Kind::tcp) {
        run_tcp();
    } else {
        run_rtu();
    }
}

// ---- RTU ------------------------------------------------------------------------------------

void Server::run_rtu() {
    std::vector<std::uint8_t> buf(kRtuMaxAdu * 4);
    std::size_t len = 0;
    std::int64_t last_byte_ms = 0;

    // Frames every complete request at the front of buf. `flushing`: an incomplete frame is
    // given up (its first byte dropped) instead of waited for.
    auto process = [&](bool flushing) {
        std::size_t off = 0;
        while (off < len) {
            const std::uint8_t* p = buf.data() + off;
            const std::size_t have = len - off;
            const std::size_t need = rtu_request_length(p, have);
            if (need == 0 || need > have) {
                if (!flushing && need <= kRtuMaxAdu) break;  // wait for the rest
                ++stats_.bad_frames;
                ++off;
                continue;
            }
            if (!rtu_crc_ok(p, need)) {
                ++stats_.bad_crc;
                ++off;  // resynchronise byte by byte
                continue;
            }
            ++stats_.frames;
            const std::uint8_t unit = p[0];
            if (unit == 0) {
                ++stats_.broadcasts;
            } else if (const auto& plant = plants_[unit]) {
                if (plant->serve(ctx_, p, static_cast<int>(need)) == Served::failed) ++stats_.link_errors;
            } else {
                ++stats_.other_unit;
            }
            off += need;
        }
        // Always true (off ≤ len ≤ buf.size()); stated so GCC's -O3 bounds analysis sees it.
        if (off > 0 && off <= len && len <= buf.size()) {
            std::memmove(buf.data(), buf.data() + off, len - off);
            len -= off;
        }
    };

    for (;;) {
        const int fd = kind_ == Kind::rtu_fd ? rtu_fd_ : modbus_get_socket(ctx_);
        if (fd < 0) {
            // The device vanished: retry opening it until it is back or we are stopped.
            if (wait_stop(stop_fd_, options_.reopen_interval_ms)) return;
            if (modbus_connect(ctx_) == 0) {
                ++stats_.connections;
                len = 0;
            }
            continue;
        }
        int timeout = -1;
        if (len > 0) {
            timeout = static_cast<int>(std::max<std::int64_t>(0, last_byte_ms + options_.byte_timeout_ms - steady_ms()));
        }
        pollfd pfds[2] = {{fd, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
        const int n = ::poll(pfds, 2, timeout);
        if (n < 0) {
            if (errno == EINTR) continue;
            ++stats_.link_errors;
            return;
        }
        if ((pfds[1].revents & POLLIN) != 0) return;
        if (n == 0) {
            process(true);  // partial frame timed out
            continue;
        }
        if ((pfds[0].revents & POLLIN) != 0) {
            if (len == buf.size()) process(true);
            const ssize_t r = ::read(fd, buf.data() + len, buf.size() - len);
            if (r > 0) {
                len += static_cast<std::size_t>(r);
                last_byte_ms = steady_ms();
                process(false);
                continue;
            }
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        } else if ((pfds[0].revents & (POLLHUP | POLLERR | POLLNVAL)) == 0) {
            continue;
        }
        // Hang-up or read error.
        ++stats_.link_errors;
        len = 0;
        if (kind_ == Kind::rtu_fd) {
            // A pty master whose slave is not (yet / any more) open: wait for the peer.
            if (wait_stop(stop_fd_, kHangupRetryMs)) return;
        } else {
            modbus_close(ctx_);  // reopen on the next round
        }
    }
}

// ---- TCP ------------------------------------------------------------------------------------

void Server::run_tcp() {
    struct Client {
        int fd;
        std::vector<std::uint8_t> buf;
        std::size_t len;
    };
    std::vector<Client> clients;
    std::vector<pollfd> pfds;
    std::shared_ptr<Plant> only;
    for (const auto& p : plants_) {
        if (p) only = p;
    }
    if (plant_count_ != 1) only.reset();

    auto close_client = [&](std::size_t i) {
        ::close(clients[i].fd);
        clients.erase(clients.begin() + static_cast<std::ptrdiff_t>(i));
    };

    // Serves the complete requests in client c; false when the connection must be closed.
    auto process = [&](Client& c) {
        std::size_t off = 0;
        bool keep = true;
        while (c.len - off >= kMbapHeader) {
            const std::uint8_t* p = c.buf.data() + off;
            const unsigned proto = (static_cast<unsigned>(p[2]) << 8) | p[3];
            const std::size_t mlen = (static_cast<std::size_t>(p[4]) << 8) | p[5];
            if (proto != 0 || mlen < 2 || mlen + 6 > kTcpMaxAdu) {
                ++stats_.bad_frames;
                keep = false;
                break;
            }
            const std::size_t total = 6 + mlen;
            if (c.len - off < total) break;
            ++stats_.frames;
            modbus_set_socket(ctx_, c.fd);
            const std::uint8_t unit = p[6];
            Plant* plant = only ? only.get() : plants_[unit].get();
            if (plant == nullptr) {
                ++stats_.other_unit;
                if (modbus_reply_exception(ctx_, p, MODBUS_EXCEPTION_GATEWAY_TARGET) < 0) keep = false;
            } else if (plant->serve(ctx_, p, static_cast<int>(total)) == Served::failed) {
                ++stats_.link_errors;
                keep = false;
            }
            off += total;
            if (!keep) break;
        }
        if (off > 0 && keep) {
            std::memmove(c.buf.data(), c.buf.data() + off, c.len - off);
            c.len -= off;
        }
        return keep;
    };

    for (;;) {
        pfds.clear();
        pfds.push_back({stop_fd_, POLLIN, 0});
        pfds.push_back({listen_fd_, POLLIN, 0});
        for (const Client& c : clients) pfds.push_back({c.fd, POLLIN, 0});
        const int n = ::poll(pfds.data(), pfds.size(), -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            ++stats_.link_errors;
            break;
        }
        if ((pfds[0].revents & POLLIN) != 0) break;
        // Clients first (their indices match pfds[2 + i]); new connections after.
        for (std::size_t i = clients.size(); i-- > 0;) {
            const short ev = pfds[2 + i].revents;
            if (ev == 0) continue;
            Client& c = clients[i];
            if ((ev & POLLIN) != 0) {
                if (c.len == c.buf.size()) {
                    ++stats_.bad_frames;
                    close_client(i);
                    continue;
                }
                const ssize_t r = ::recv(c.fd, c.buf.data() + c.len, c.buf.size() - c.len, 0);
                if (r > 0) {
                    c.len += static_cast<std::size_t>(r);
                    if (!process(c)) close_client(i);
                    continue;
                }
                if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                if (r < 0) ++stats_.link_errors;
                close_client(i);  // orderly close or error
            } else {
                close_client(i);  // POLLHUP / POLLERR
            }
        }
        if ((pfds[1].revents & POLLIN) != 0) {
            const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd >= 0) {
                const int one = 1;
                ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                timeval tv{1, 0};  // a client that never reads cannot stall the server for long
                ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
                clients.push_back(Client{fd, std::vector<std::uint8_t>(kReadChunk), 0});
                ++stats_.connections;
            }
        }
    }
    for (const Client& c : clients) ::close(c.fd);
}

}  // namespace consentrig::plant
