// bench/gui_throughput — consentrig-gui under a board sending 1,000 frames/s (docs/gui.md).
//
// A "board" on a pty (this program's writer thread: HELLO on HELLO_REQ, ok REPLY to every
// COMMAND, then UPLINK frames at a fixed rate — Alexa reports to voice-partner and JSON reports
// to vendor-cloud, a TRUTH every second) is connected to the real window (MainWindow →
// BenchController → session, trace.db, oracle, egress model, live state, consent timeline), shown
// on the Qt platform given (offscreen by default; xvfb-run for a real X server). Both partners
// may receive everything (basis always) until, a quarter into the run, the bench unlinks
// vendor-cloud: from then on every other message is a leak (red rows and ticks, the oracle
// building evidence for each), so the second half — where the memory growth is measured — is
// all of one kind, with the table's ring full after 50 s at 1,000 rows/s.
//
// Prints: the UI event loop's latency (a 10 ms timer's lateness: p50/p99/max), rows/s into the
// model, frames written vs. captured, and the resident memory and the heap in use (glibc
// mallinfo2: live allocations) every tenth of the run, with their growth over the last 30 %
// projected to 8 hours. Figures only; nothing passes or fails on time.
//
// Usage: bench_gui_throughput [seconds=240] [frames_per_second=1000] [rows=50000]
#include <fcntl.h>
#include <malloc.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <QApplication>
#include <QTimer>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/policy.hpp"
#include "gui/main_window.hpp"
#include "rig/bench.hpp"
#include "rig/frame.hpp"

using namespace consentrig;
using Clock = std::chrono::steady_clock;

namespace {

std::string loadavg() {
    std::ifstream f("/proc/loadavg");
    std::string a, b, c;
    f >> a >> b >> c;
    return a + " " + b + " " + c;
}

/// Bytes the heap holds for live allocations (all arenas): what the program keeps, apart from
/// what the allocator has not handed back to the system.
double heap_mib() { return static_cast<double>(::mallinfo2().uordblks) / (1024.0 * 1024.0); }

double rss_mib() {
    std::ifstream f("/proc/self/statm");
    long pages = 0, resident = 0;
    f >> pages >> resident;
    return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

/// The board: answers the rig and streams frames at `rate` per second once the clock is set.
class PtyBoard {
public:
    explicit PtyBoard(int rate) : rate_(rate) {
        termios tio{};
        cfmakeraw(&tio);
        if (::openpty(&master_, &slave_, nullptr, &tio, nullptr) != 0) {
            std::perror("openpty");
            std::exit(1);
        }
        path_ = ::ttyname(slave_);
        thread_ = std::thread([this] { run(); });
    }
    ~PtyBoard() {
        stop_ = true;
        thread_.join();
        ::close(master_);
        ::close(slave_);
    }
    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] std::uint64_t uplinks() const { return uplinks_; }

private:
    void send(rig::FrameType type, const std::string& payload) {
        const auto wire = enc_.encode(type, payload);
        const std::uint8_t* p = wire.data();
        std::size_t n = wire.size();
        while (n > 0) {
            const ssize_t w = ::write(master_, p, n);
            if (w <= 0) {
                if (stop_) return;
                std::this_thread::sleep_for(std::chrono::microseconds(200));  // pty full: the reader is behind
                continue;
            }
            p += w;
            n -= static_cast<std::size_t>(w);
        }
    }
    void on_input() {
        std::uint8_t buf[4096];
        const ssize_t n = ::read(master_, buf, sizeof buf);
        if (n <= 0) return;
        dec_.feed(std::span<const std::uint8_t>(buf, static_cast<std::size_t>(n)), [&](const rig::FrameView& f) {
            if (f.type() == rig::FrameType::hello_req) {
                send(rig::FrameType::hello,
                     R"({"proto":1,"board":"bench-pty","firmware":"thermostat-stub","version":"0.1.0","device":{"id":"thermo-1","kind":"thermostat"},"caps":[]})");
            } else if (f.type() == rig::FrameType::command) {
                const auto j = nlohmann::json::parse(f.payload, nullptr, false);
                if (!j.is_object()) return;
                send(rig::FrameType::reply, nlohmann::json{{"id", j.value("id", 0u)}, {"ok", true}}.dump());
                if (j.value("op", "") == "set_clock") streaming_ = true;
            }
        });
    }
    void run() {
        ::fcntl(master_, F_SETFL, ::fcntl(master_, F_GETFL) | O_NONBLOCK);
        const auto boot = Clock::now();
        auto next = Clock::now();
        const auto period = std::chrono::nanoseconds(1'000'000'000 / rate_);
        std::uint64_t i = 0;
        while (!stop_) {
            on_input();
            if (!streaming_) {
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
                next = Clock::now();
                continue;
            }
            const auto now = Clock::now();
            if (now < next) {
                std::this_thread::sleep_for(std::min<Clock::duration>(next - now, std::chrono::milliseconds(1)));
                continue;
            }
            const auto t = std::chrono::duration_cast<std::chrono::milliseconds>(now - boot).count();
            const double temp = 20.0 + static_cast<double>(i % 40) / 10.0;
            nlohmann::json up;
            up["t"] = t;
            if (i % 2 == 0) {
                up["to"] = "vendor-cloud";
                up["format"] = "json";
                up["body"] = {{"device", "thermo-1"}, {"temperature", temp}, {"setpoint", 21.0}, {"hvac_state", "idle"}};
            } else {
                up["to"] = "voice-partner";
                up["format"] = "alexa";
                up["body"] = {{"context", {{"properties", nlohmann::json::array({{{"namespace", "Alexa.TemperatureSensor"},
                                                                                 {"name", "temperature"},
                                                                                 {"value", {{"value", temp}, {"scale", "CELSIUS"}}},
                                                                                 {"uncertaintyInMilliseconds", 0}}})}}},
                              {"event", {{"header", {{"namespace", "Alexa"}, {"name", "StateReport"}}}}}};
            }
            send(rig::FrameType::uplink, up.dump());
            ++uplinks_;
            if (i % static_cast<std::uint64_t>(rate_) == 0) {
                send(rig::FrameType::truth, nlohmann::json{{"t", t}, {"state", {{"temperature", temp}, {"setpoint", 21.0}}}}.dump());
            }
            ++i;
            next += period;
        }
    }

    int rate_;
    int master_ = -1, slave_ = -1;
    std::string path_;
    rig::FrameEncoder enc_;
    rig::FrameDecoder dec_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> streaming_{false};
    std::atomic<std::uint64_t> uplinks_{0};
    std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
    const int seconds = argc > 1 ? std::atoi(argv[1]) : 240;
    const int rate = argc > 2 ? std::atoi(argv[2]) : 1000;
    const std::size_t rows = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : gui::EgressModel::kDefaultCapacity;
    if (seconds <= 0 || rate <= 0 || rows == 0) {
        std::fprintf(stderr, "usage: bench_gui_throughput [seconds>0] [frames_per_second>0] [rows>0]\n");
        return 2;
    }
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    int qargc = 1;
    QApplication app(qargc, argv);

    const auto out = std::filesystem::temp_directory_path() / ("consentrig-bench-gui-" + std::to_string(::getpid()));
    gui::WindowOptions wo;
    wo.out_dir = out;
    wo.capacity = rows;
    wo.restore_state = false;
    gui::MainWindow w(wo);
    auto policy = core::parse_policy("consent:\n"
                                     "  - {recipient: voice-partner, categories: [all], basis: always}\n"
                                     "  - {recipient: vendor-cloud, categories: [all], basis: always}\n",
                                     "<bench policy>");
    if (!policy) return 2;
    w.controller().set_policy(std::move(*policy));
    w.show();
    PtyBoard board(rate);

    std::vector<double> lateness_us, lateness_leaky_us;  ///< before / after the unlink
    bool leaking = false;
    const double rss_start = rss_mib();
    double rss_half = 0, rss_end = 0, heap_end = 0;
    std::uint64_t frames_half = 0;
    struct MemSample {
        std::uint64_t frames = 0;  ///< captured so far
        double rss_mib = 0;
        double heap_mib = 0;
    };
    std::vector<MemSample> rss_samples;  ///< every tenth
    Clock::time_point t_connected{};
    std::uint64_t rows_at_connect = 0;

    // UI latency probe: a 10 ms timer; its lateness is how long the loop was busy elsewhere.
    auto expected = Clock::now();
    QTimer probe;
    probe.setTimerType(Qt::PreciseTimer);
    probe.setInterval(10);
    QObject::connect(&probe, &QTimer::timeout, [&] {
        const auto now = Clock::now();
        if (t_connected != Clock::time_point{}) {
            (leaking ? lateness_leaky_us : lateness_us)
                .push_back(std::max(0.0, std::chrono::duration<double, std::micro>(now - expected).count()));
        }
        expected = now + std::chrono::milliseconds(10);
    });

    QObject::connect(&w.controller(), &gui::BenchController::connect_failed, [](const QString& e) {
        std::fprintf(stderr, "connect failed: %s\n", qPrintable(e));
        QApplication::exit(1);
    });
    QObject::connect(&w.controller(), &gui::BenchController::connected, [&] {
        t_connected = Clock::now();
        rows_at_connect = w.model().total();
        expected = Clock::now() + std::chrono::milliseconds(10);
        probe.start();
        QTimer::singleShot(seconds * 250, [&] {
            w.controller().set_link("vendor-cloud", false);  // leaks from here
            leaking = true;
        });
        for (int k = 1; k < 10; ++k) {
            QTimer::singleShot(seconds * 100 * k, [&, k] {
                rss_samples.push_back({w.controller().health().counters.frames, rss_mib(), heap_mib()});
                if (k == 5) {
                    frames_half = rss_samples.back().frames;
                    rss_half = rss_samples.back().rss_mib;
                }
            });
        }
        QTimer::singleShot(seconds * 1000, [&] {
            rss_end = rss_mib();
            heap_end = heap_mib();
            QApplication::quit();
        });
    });
    w.connect_port(QString::fromStdString(board.path()));
    const int rc = app.exec();
    if (rc != 0) return rc;
    const auto t_end = Clock::now();
    const auto health = w.controller().health();
    const std::uint64_t total_rows = w.model().total() - rows_at_connect;
    const double secs = std::chrono::duration<double>(t_end - t_connected).count();
    const auto lat = rig::percentiles(lateness_us);
    const auto lat_leaky = rig::percentiles(lateness_leaky_us);
    const std::uint64_t frames_end = health.counters.frames;

    std::printf("consentrig-gui under a %d frames/s board for %.1f s (platform %s, %zu-row table; load average %s on "
                "%ld CPUs)\n",
                rate, secs, qPrintable(QGuiApplication::platformName()), rows, loadavg().c_str(), ::sysconf(_SC_NPROCESSORS_ONLN));
    std::printf("  UI event loop latency (10 ms timer lateness), all messages consented (%llu samples): p50 %.2f ms, "
                "p99 %.2f ms, max %.2f ms\n",
                static_cast<unsigned long long>(lat.count), lat.p50_us / 1000, lat.p99_us / 1000, lat.max_us / 1000);
    std::printf("  UI event loop latency, every other message a leak (%llu samples): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                static_cast<unsigned long long>(lat_leaky.count), lat_leaky.p50_us / 1000, lat_leaky.p99_us / 1000,
                lat_leaky.max_us / 1000);
    std::printf("  rows into the model: %llu (%.0f rows/s); shown %d (ring), findings %llu\n",
                static_cast<unsigned long long>(total_rows), static_cast<double>(total_rows) / secs, w.model().rowCount(),
                static_cast<unsigned long long>(health.findings));
    std::printf("  frames: %llu uplinks written, %llu frames captured, %llu bad CRC, %llu dropped, %llu lost by sequence; "
                "%llu records in trace.db\n",
                static_cast<unsigned long long>(board.uplinks()), static_cast<unsigned long long>(frames_end),
                static_cast<unsigned long long>(health.counters.bad_crc), static_cast<unsigned long long>(health.counters.dropped()),
                static_cast<unsigned long long>(health.counters.lost_by_sequence_gap), static_cast<unsigned long long>(health.records));
    std::printf("  RSS / heap in use every tenth of the run (frames: MiB / MiB):");
    for (const auto& m : rss_samples) {
        std::printf(" %llu: %.1f / %.1f", static_cast<unsigned long long>(m.frames), m.rss_mib, m.heap_mib);
    }
    std::printf(" %llu: %.1f / %.1f\n", static_cast<unsigned long long>(frames_end), rss_end, heap_end);
    // The table's ring and the timeline's tick caps fill within the first minutes at 1,000/s;
    // the last three tenths show what is left growing.
    const double tail_secs = secs * 0.3;
    const double tail_from = rss_samples.size() >= 7 ? rss_samples[6].rss_mib : rss_half;
    const double heap_tail_from = rss_samples.size() >= 7 ? rss_samples[6].heap_mib : heap_end;
    const double growth_per_s = (rss_end - tail_from) / tail_secs;
    const double heap_growth_per_s = (heap_end - heap_tail_from) / tail_secs;
    std::printf("  memory (RSS): %.1f MiB before connecting, %.1f MiB after %llu frames, %.1f MiB after %llu frames\n",
                rss_start, rss_half, static_cast<unsigned long long>(frames_half), rss_end,
                static_cast<unsigned long long>(frames_end));
    std::printf("  RSS growth over the last 30 %% of the run: %.3f MiB/min -> %.0f MiB more in 8 h at this rate (%.0f MiB total)\n",
                growth_per_s * 60, growth_per_s * 8 * 3600, rss_end + growth_per_s * (8 * 3600 - secs));
    std::printf("  heap-in-use growth over the last 30 %%: %.3f MiB/min -> %.1f MiB in 8 h at this rate\n", heap_growth_per_s * 60,
                heap_growth_per_s * 8 * 3600);
    std::error_code ec;
    std::filesystem::remove_all(out, ec);
    return 0;
}
