// bench/rig — the bench rig's timing and throughput on pseudo-terminals (docs/bench.md).
//
//   1. raw pty throughput: bytes/s one thread writes into a pty master and another reads
//      from the slave, nothing else done (the ceiling for everything below);
//   2. capture throughput: 200-byte UPLINK frames written as fast as the pty takes them, read by
//      a BoardSession (decode, parse, arrival stamp, record) on its reader thread and handed,
//      as run_bench does, to another thread that appends them to a SQLite TraceStore —
//      frames/s, bytes/s, and loss (frames written − frames stored, and the error counters);
//   3. stimulus lateness: commands scheduled every 2 ms to a host-stub board (consentrig-board),
//      each sent when due without waiting for the previous REPLY, from a real-time thread when
//      the system grants it: sent − scheduled p50/p99/max, and the REPLY round trip.
// Usage: bench_rig [frames] [commands]   (defaults 200000 and 1000). Prints figures only.
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/trace.hpp"
#include "rig/bench.hpp"
#include "rig/frame.hpp"
#include "rig/link.hpp"
#include "rig/realtime.hpp"
#include "rig/session.hpp"
#include "rig/stub.hpp"

using namespace consentrig;
using Clock = std::chrono::steady_clock;

namespace {

struct Pty {
    int master = -1, slave = -1;
    std::string path;
    Pty() {
        termios tio{};
        cfmakeraw(&tio);
        if (::openpty(&master, &slave, nullptr, &tio, nullptr) != 0) {
            std::perror("openpty");
            std::exit(1);
        }
        path = ::ttyname(slave);
    }
    ~Pty() {
        ::close(master);
        ::close(slave);
    }
};

void write_all(int fd, const std::uint8_t* p, std::size_t n) {
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w <= 0) return;
        p += w;
        n -= static_cast<std::size_t>(w);
    }
}

std::vector<std::uint8_t> uplink_stream(std::size_t frames, std::size_t& frame_bytes) {
    rig::FrameEncoder enc;
    std::vector<std::uint8_t> out;
    auto hello = enc.encode(rig::FrameType::hello, R"({"proto":1,"board":"bench","device":{"id":"b","kind":"thermostat"},"caps":[]})");
    out.insert(out.end(), hello.begin(), hello.end());
    frame_bytes = 0;
    for (std::size_t i = 0; i < frames; ++i) {
        // a 200-byte UPLINK payload
        std::string payload = R"({"t":)" + std::to_string(i) +
                              R"(,"to":"vendor-cloud","format":"json","body":{"type":"state","device":"thermo-1","cause":"PERIODIC_POLL","state":{"temperature":21.5,"setpoint":21.0,"pad":")";
        payload.append(200 - payload.size() - 4, 'x');
        payload += R"("}}})";
        auto f = enc.encode(rig::FrameType::uplink, payload);
        frame_bytes = f.size();
        out.insert(out.end(), f.begin(), f.end());
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t frames = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
    const std::size_t commands = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1000;
    std::size_t frame_bytes = 0;
    const auto stream = uplink_stream(frames, frame_bytes);
    std::printf("bench_rig: %zu UPLINK frames of %zu wire bytes (200-byte payload), %zu commands\n", frames, frame_bytes,
                commands);

    // 1. raw pty throughput, same bytes
    {
        Pty pty;
        std::atomic<std::size_t> got{0};
        std::thread reader([&] {
            std::vector<std::uint8_t> buf(65536);
            while (got < stream.size()) {
                const ssize_t n = ::read(pty.slave, buf.data(), buf.size());
                if (n <= 0) break;
                got += static_cast<std::size_t>(n);
            }
        });
        const auto t0 = Clock::now();
        write_all(pty.master, stream.data(), stream.size());
        reader.join();
        const double s = std::chrono::duration<double>(Clock::now() - t0).count();
        std::printf("raw pty:          %10.0f bytes/s  (%zu bytes in %.3f s, no decoding)\n", static_cast<double>(got) / s,
                    static_cast<std::size_t>(got), s);
    }

    // 2. capture: reader thread decodes, parses, stamps and queues; a store thread appends (the
    //    split run_bench makes: its reader threads queue, the main thread stores and judges).
    {
        Pty pty;
        const auto db = std::filesystem::temp_directory_path() / ("bench-rig-" + std::to_string(::getpid()) + ".db");
        std::filesystem::remove(db);
        auto store = core::TraceStore::create(db);
        if (!store) {
            std::fprintf(stderr, "%s\n", store.error().message.c_str());
            return 1;
        }
        std::mutex m;
        std::condition_variable cv;
        std::vector<core::Record> queue;
        std::size_t queued = 0;       // guarded by m
        std::size_t max_queue = 0;    // guarded by m
        double reader_done_s = 0;     // guarded by m: when the reader had queued every frame
        std::size_t stored = 0;       // store thread only
        bool store_failed = false;    // store thread only
        rig::BoardSession session(rig::make_link({pty.path}));
        const auto t0 = Clock::now();
        session.on_capture([&](rig::Capture&& c) {
            auto r = rig::to_record(c, "thermo-1", c.arrival_ms);
            if (!r) return;
            std::lock_guard lock(m);
            queue.push_back(std::move(*r));
            max_queue = std::max(max_queue, queue.size());
            if (++queued == frames) reader_done_s = std::chrono::duration<double>(Clock::now() - t0).count();
            cv.notify_one();
        });
        std::thread storer([&] {
            std::vector<core::Record> batch;
            const auto deadline = Clock::now() + std::chrono::seconds(120);
            while (stored < frames && Clock::now() < deadline) {
                {
                    std::unique_lock lock(m);
                    cv.wait_until(lock, deadline, [&] { return !queue.empty(); });
                    batch.swap(queue);
                }
                for (const auto& r : batch) {
                    if (!store->append(r).ok()) store_failed = true;
                    ++stored;
                }
                batch.clear();
            }
            if (!store->commit().ok()) store_failed = true;
        });
        std::thread writer([&] { write_all(pty.master, stream.data(), stream.size()); });
        auto info = session.start();
        if (!info) {
            std::fprintf(stderr, "%s\n", info.error().message.c_str());
            writer.join();
            storer.join();
            return 1;
        }
        writer.join();
        storer.join();
        const double s = std::chrono::duration<double>(Clock::now() - t0).count();
        session.stop();
        const auto n = session.counters();
        std::printf("capture+store:    %10.0f frames/s  %10.0f bytes/s  (%zu of %zu frames stored in %.3f s; dropped %llu, "
                    "lost by sequence %llu%s)\n",
                    static_cast<double>(stored) / s, static_cast<double>(n.bytes) / s, stored, frames, s,
                    static_cast<unsigned long long>(n.dropped()), static_cast<unsigned long long>(n.lost_by_sequence_gap),
                    store_failed ? "; STORE FAILED" : "");
        std::printf("  reader thread:  %10.0f frames/s decoded, parsed, stamped and queued (all queued after %.3f s; "
                    "longest queue %zu records)\n",
                    reader_done_s > 0 ? static_cast<double>(frames) / reader_done_s : 0.0, reader_done_s, max_queue);
        std::printf("                  a 115200-baud line carries 11520 bytes/s: capture has %.0fx headroom\n",
                    static_cast<double>(n.bytes) / s / 11520.0);
        std::filesystem::remove(db);
        std::filesystem::remove(db.string() + "-wal");
        std::filesystem::remove(db.string() + "-shm");
    }

    // 3. stimulus lateness against a host-stub board
    {
        auto stub = rig::StubProcess::spawn(rig::default_stub_program(), {"--kind", "lock", "--id", "lock-1", "--quiet"});
        if (!stub) {
            std::fprintf(stderr, "%s\n", stub.error().message.c_str());
            return 1;
        }
        rig::BoardSession session(rig::make_link({stub->pty()}));
        if (auto info = session.start(); !info) {
            std::fprintf(stderr, "%s\n", info.error().message.c_str());
            return 1;
        }
        // The stimulus loop as run_bench runs it: real-time scheduling when granted, each command
        // sent at its due time without waiting for the previous REPLY (collected afterwards).
        const rig::RealtimeScope realtime;
        std::vector<double> late, rtt;
        std::vector<rig::SentCommand> sent;
        std::size_t failed = 0;
        const auto t0 = Clock::now() + std::chrono::milliseconds(20);
        for (std::size_t i = 0; i < commands; ++i) {
            const auto due = t0 + std::chrono::milliseconds(2 * i);
            std::this_thread::sleep_until(due);
            auto c = session.send_command("network", {{"up", true}});
            if (!c) {
                ++failed;
                continue;
            }
            late.push_back(std::chrono::duration<double, std::micro>(c->sent - due).count());
            sent.push_back(std::move(*c));
        }
        for (const auto& c : sent) {
            auto r = session.wait_reply(c);
            if (!r) {
                ++failed;
                continue;
            }
            rtt.push_back(std::chrono::duration<double, std::micro>(r->received - r->sent).count());
        }
        std::printf("stimulus thread:  %s; %zu commands failed\n", realtime.obtained().c_str(), failed);
        const auto l = rig::percentiles(late);
        const auto q = rig::percentiles(rtt);
        std::printf("stimulus lateness: p50 %.0f µs  p99 %.0f µs  max %.0f µs  (%llu commands every 2 ms)\n", l.p50_us, l.p99_us,
                    l.max_us, static_cast<unsigned long long>(l.count));
        std::printf("command round trip: p50 %.0f µs  p99 %.0f µs  max %.0f µs\n", q.p50_us, q.p99_us, q.max_us);
        session.stop();
    }
    return 0;
}
