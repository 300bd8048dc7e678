// bench/plant — the Modbus plant server's request rate against a bare libmodbus server.
//
//   build/ci/bin/bench_plant [seconds-per-run=1] [rounds=3]
//
// For each link — Modbus TCP on loopback, Modbus RTU on a pseudo-terminal pair — one libmodbus
// client sends requests back to back (the board's poll pattern: nine reads of the whole input
// register block, then one heat-coil write) to
//   bare:  a libmodbus server and nothing else (modbus_mapping_new + modbus_receive +
//          modbus_reply in a loop, the library's own example server), and
//   plant: consentrig's plant::Server serving a plant::Plant (thermal model in real time,
//          sensor noise, coil effects, counters),
// alternating bare/plant for `rounds` rounds of `seconds-per-run` each, in the same process.
// Prints requests/s of each (best round — the machine's noise only ever slows a run down) and
// the ratio plant/bare. Goal (issue 5): >= 90 %.
#include <arpa/inet.h>
#include <modbus.h>
#include <netinet/in.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "plant/plant.hpp"
#include "plant/server.hpp"

namespace cp = consentrig::plant;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kRegs = cp::kRegisterCount;
constexpr int kWriteEvery = 10;

struct Pty {
    int master = -1;
    int slave = -1;
    std::string path;
    Pty() {
        termios tio{};
        cfmakeraw(&tio);
        char name[256] = {};
        if (::openpty(&master, &slave, name, &tio, nullptr) == 0) path = name;
    }
    ~Pty() {
        if (master >= 0) ::close(master);
        if (slave >= 0) ::close(slave);
    }
};

/// Requests per second a client achieves in `seconds` (0 on failure).
double drive(modbus_t* client, double seconds) {
    std::uint16_t regs[kRegs];
    const auto end = Clock::now() + std::chrono::duration<double>(seconds);
    const auto t0 = Clock::now();
    long n = 0;
    bool heat = false;
    for (;;) {
        for (int i = 0; i < 64; ++i, ++n) {
            if (n % kWriteEvery == kWriteEvery - 1) {
                heat = !heat;
                if (modbus_write_bit(client, cp::kCoilHeat, heat ? 1 : 0) != 1) return 0;
            } else if (modbus_read_input_registers(client, 0, kRegs, regs) != kRegs) {
                std::fprintf(stderr, "bench_plant: request failed: %s\n", modbus_strerror(errno));
                return 0;
            }
        }
        if (Clock::now() >= end) break;
    }
    return static_cast<double>(n) / std::chrono::duration<double>(Clock::now() - t0).count();
}

/// The bare libmodbus server loop: receive, reply, until `stop`.
void bare_loop(modbus_t* ctx, const std::atomic<bool>& stop) {
    modbus_mapping_t* map = modbus_mapping_new(cp::kCoilCount, cp::kDiscreteInputCount, kRegs, kRegs);
    modbus_set_indication_timeout(ctx, 0, 100000);
    std::uint8_t q[MODBUS_RTU_MAX_ADU_LENGTH > MODBUS_TCP_MAX_ADU_LENGTH ? MODBUS_RTU_MAX_ADU_LENGTH
                                                                         : MODBUS_TCP_MAX_ADU_LENGTH];
    while (!stop.load(std::memory_order_relaxed)) {
        const int rc = modbus_receive(ctx, q);
        if (rc > 0) {
            modbus_reply(ctx, q, rc, map);
        } else if (rc < 0 && errno != ETIMEDOUT) {
            if (errno == EMBBADCRC || errno == EMBBADDATA) continue;
            break;
        }
    }
    modbus_mapping_free(map);
}

std::shared_ptr<cp::Plant> make_plant() {
    return std::make_shared<cp::Plant>(cp::PlantConfig{}, 1767567600000);
}

double tcp_bare(double seconds) {
    modbus_t* srv = modbus_new_tcp("127.0.0.1", 0);  // port 0: an ephemeral port
    const int lfd = modbus_tcp_listen(srv, 1);
    if (lfd < 0) {
        std::fprintf(stderr, "bench_plant: listen: %s\n", modbus_strerror(errno));
        return 0;
    }
    sockaddr_in sa{};
    socklen_t sl = sizeof sa;
    ::getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &sl);
    const int port = ntohs(sa.sin_port);
    std::atomic<bool> stop{false};
    std::thread t([&] {
        int fd = lfd;
        if (modbus_tcp_accept(srv, &fd) < 0) return;
        bare_loop(srv, stop);
    });
    modbus_t* c = modbus_new_tcp("127.0.0.1", port);
    modbus_connect(c);
    const double r = drive(c, seconds);
    stop = true;
    modbus_close(c);
    modbus_free(c);
    t.join();
    modbus_close(srv);
    ::close(lfd);
    modbus_free(srv);
    return r;
}

double tcp_plant(double seconds) {
    auto s = cp::Server::tcp("127.0.0.1", 0);
    if (!s) return 0;
    auto server = std::move(*s);
    server->add_plant(1, make_plant());
    if (!server->start()) return 0;
    modbus_t* c = modbus_new_tcp("127.0.0.1", server->port());
    modbus_connect(c);
    modbus_set_slave(c, 1);
    const double r = drive(c, seconds);
    modbus_close(c);
    modbus_free(c);
    server->stop();
    return r;
}

modbus_t* client_on_master(int fd) {
    modbus_t* c = modbus_new_rtu("/dev/null", 115200, 'N', 8, 1);
    modbus_set_socket(c, fd);
    modbus_set_slave(c, 1);
    return c;
}

double rtu_bare(double seconds) {
    Pty pty;
    modbus_t* srv = modbus_new_rtu(pty.path.c_str(), 115200, 'N', 8, 1);
    modbus_set_slave(srv, 1);
    if (modbus_connect(srv) != 0) return 0;
    std::atomic<bool> stop{false};
    std::thread t([&] { bare_loop(srv, stop); });
    modbus_t* c = client_on_master(pty.master);
    const double r = drive(c, seconds);
    stop = true;
    t.join();
    modbus_free(c);
    modbus_close(srv);
    modbus_free(srv);
    return r;
}

double rtu_plant(double seconds) {
    Pty pty;
    auto s = cp::Server::rtu(pty.path);
    if (!s) return 0;
    auto server = std::move(*s);
    server->add_plant(1, make_plant());
    if (!server->start()) return 0;
    modbus_t* c = client_on_master(pty.master);
    const double r = drive(c, seconds);
    modbus_free(c);
    server->stop();
    return r;
}

void report(const char* link, double bare, double plant) {
    std::printf("%-22s bare libmodbus %9.0f req/s   plant server %9.0f req/s   plant/bare %5.1f %%\n", link, bare,
                plant, bare > 0 ? 100.0 * plant / bare : 0.0);
}

}  // namespace

int main(int argc, char** argv) {
    const double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
    const int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
    if (!(seconds > 0) || rounds < 1) {
        std::fprintf(stderr, "usage: bench_plant [seconds-per-run=1] [rounds=3]\n");
        return 2;
    }
    std::printf("bench_plant: %d rounds x %.1f s per server and link; requests: 9 x read 9 input registers, "
                "1 x write coil\n",
                rounds, seconds);
    double tb = 0, tp = 0, rb = 0, rp = 0;
    for (int i = 0; i < rounds; ++i) {
        tb = std::max(tb, tcp_bare(seconds));
        tp = std::max(tp, tcp_plant(seconds));
        rb = std::max(rb, rtu_bare(seconds));
        rp = std::max(rp, rtu_plant(seconds));
    }
    report("Modbus TCP (loopback)", tb, tp);
    report("Modbus RTU (pty)", rb, rp);
    return tb > 0 && tp > 0 && rb > 0 && rp > 0 ? 0 : 1;
}
