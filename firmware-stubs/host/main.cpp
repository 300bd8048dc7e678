// consentrig-board — the host HAL: one firmware-core device on a pseudo-terminal, in real time.
//
// Opens a pty, prints the slave's path (e.g. /dev/pts/7) on stdout, and speaks the board
// protocol (PROTOCOL.md §1) on it exactly as a real board does on its UART: HELLO at boot and on
// HELLO_REQ, COMMAND → fw_parse_command → fw_on_command → REPLY, and UPLINK / TRUTH / LOG frames
// from the firmware's callbacks. The firmware's timers run in real time (poll until
// fw_next_wakeup), faster after a `time_scale` command. Without a Modbus plant the room
// temperature comes from a small built-in RC model (heated by the firmware's relay, outdoor
// temperature from `env outdoor_c`); occupancy and the door come from `env` commands.
// See docs/bench.md ("Host stub").
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fw/frame.h"
#include "fw/fw.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct RecipientOpt {
    std::string name;
    fw_format format = FW_FMT_JSON;
    std::uint32_t window_s = 0;
    std::uint16_t categories = 0;  // interaction grant
    std::uint16_t basis = 0;       // standing basis at boot
    bool linked = true;
    bool heartbeat = false;
    bool heartbeat_set = false;
};

struct Options {
    fw_kind kind = FW_KIND_THERMOSTAT;
    fw_profile profile = FW_PROFILE_COMPLIANT;
    std::string id;
    std::string board = "host-pty";
    std::string link;
    std::uint32_t baud = 115200;
    bool pace = false;
    bool time_scale = true;
    std::uint32_t seed = 1;
    std::vector<RecipientOpt> recipients;
    std::vector<std::pair<std::string, double>> sets;
    bool quiet = false;
};

[[noreturn]] void usage(const char* msg) {
    if (msg) std::fprintf(stderr, "consentrig-board: %s\n", msg);
    std::fprintf(stderr,
                 "usage: consentrig-board [--kind thermostat|lock] [--profile NAME] [--id ID]\n"
                 "         [--recipient NAME=FORMAT[,window=S][,categories=C+C|all][,basis=C+C|all][,unlinked][,heartbeat]]...\n"
                 "         [--set PARAM=VALUE]... [--link PATH] [--baud N] [--pace] [--no-time-scale]\n"
                 "         [--seed N] [--board NAME] [--quiet]\n"
                 "Prints the pty path on stdout, then runs until SIGTERM/SIGINT. docs/bench.md has the details.\n");
    std::exit(2);
}

std::uint16_t parse_categories(std::string_view s) {
    if (s == "all") return FW_CATS_ALL;
    std::uint16_t mask = 0;
    while (!s.empty()) {
        const auto plus = s.find('+');
        const std::string_view one = s.substr(0, plus);
        const int c = fw_category_from_name(one.data(), one.size());
        if (c < 0) usage(("unknown category " + std::string(one)).c_str());
        mask = static_cast<std::uint16_t>(mask | FW_CAT_BIT(c));
        s = plus == std::string_view::npos ? std::string_view{} : s.substr(plus + 1);
    }
    return mask;
}

RecipientOpt parse_recipient(const std::string& text) {
    RecipientOpt r;
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0) usage("--recipient wants NAME=FORMAT[,…]");
    r.name = text.substr(0, eq);
    std::string rest = text.substr(eq + 1);
    std::vector<std::string> parts;
    for (std::size_t at = 0;;) {
        const auto comma = rest.find(',', at);
        parts.push_back(rest.substr(at, comma - at));
        if (comma == std::string::npos) break;
        at = comma + 1;
    }
    static const char* kFormats[] = {"alexa", "google", "matter", "json"};
    bool found = false;
    for (int f = 0; f < 4; ++f) {
        if (parts[0] == kFormats[f]) {
            r.format = static_cast<fw_format>(f);
            found = true;
        }
    }
    if (!found) usage(("unknown format " + parts[0]).c_str());
    for (std::size_t i = 1; i < parts.size(); ++i) {
        const std::string& p = parts[i];
        if (p.rfind("window=", 0) == 0) r.window_s = static_cast<std::uint32_t>(std::strtoul(p.c_str() + 7, nullptr, 10));
        else if (p.rfind("categories=", 0) == 0) r.categories = parse_categories(std::string_view(p).substr(11));
        else if (p.rfind("basis=", 0) == 0) r.basis = parse_categories(std::string_view(p).substr(6));
        else if (p == "unlinked") r.linked = false;
        else if (p == "heartbeat") r.heartbeat = r.heartbeat_set = true;
        else if (p == "no-heartbeat") { r.heartbeat = false; r.heartbeat_set = true; }
        else usage(("unknown recipient attribute " + p).c_str());
    }
    if (!r.heartbeat_set) r.heartbeat = r.format == FW_FMT_JSON;
    if (r.window_s > 0 && r.categories == 0) r.categories = FW_CATS_ALL;
    return r;
}

Options parse_args(int argc, char** argv) {
    Options o;
    auto need = [&](int& i) -> std::string {
        if (i + 1 >= argc) usage((std::string(argv[i]) + " needs a value").c_str());
        return argv[++i];
    };
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--kind") {
            const std::string k = need(i);
            if (k == "thermostat") o.kind = FW_KIND_THERMOSTAT;
            else if (k == "lock") o.kind = FW_KIND_LOCK;
            else usage("--kind is thermostat or lock");
        } else if (a == "--profile") {
            const std::string p = need(i);
            const int v = fw_profile_from_name(p.data(), p.size());
            if (v < 0) usage(("unknown profile " + p).c_str());
            o.profile = static_cast<fw_profile>(v);
        } else if (a == "--id") {
            o.id = need(i);
        } else if (a == "--recipient") {
            o.recipients.push_back(parse_recipient(need(i)));
        } else if (a == "--set") {
            const std::string kv = need(i);
            const auto eq = kv.find('=');
            if (eq == std::string::npos) usage("--set wants PARAM=VALUE");
            char* end = nullptr;
            const double v = std::strtod(kv.c_str() + eq + 1, &end);
            if (*end != '\0') usage(("--set " + kv + ": not a number").c_str());
            o.sets.emplace_back(kv.substr(0, eq), v);
        } else if (a == "--link") {
            o.link = need(i);
        } else if (a == "--baud") {
            o.baud = static_cast<std::uint32_t>(std::strtoul(need(i).c_str(), nullptr, 10));
            if (o.baud == 0) usage("--baud must be > 0");
        } else if (a == "--pace") {
            o.pace = true;
        } else if (a == "--no-time-scale") {
            o.time_scale = false;
        } else if (a == "--seed") {
            o.seed = static_cast<std::uint32_t>(std::strtoul(need(i).c_str(), nullptr, 10));
        } else if (a == "--board") {
            o.board = need(i);
        } else if (a == "--quiet") {
            o.quiet = true;
        } else if (a == "--help" || a == "-h") {
            usage(nullptr);
        } else {
            usage(("unknown option " + a).c_str());
        }
    }
    if (o.id.empty()) o.id = o.kind == FW_KIND_THERMOSTAT ? "thermo-1" : "lock-1";
    if (o.recipients.empty()) {
        // the default scenario's partners: a voice assistant with answers-only consent (2 min),
        // the vendor's own cloud with everything
        o.recipients.push_back(parse_recipient("voice-partner=alexa,window=120,categories=all"));
        o.recipients.push_back(parse_recipient("vendor-cloud=json,basis=all"));
    }
    if (o.recipients.size() > FW_MAX_RECIPIENTS) usage("at most 4 recipients");
    return o;
}

/// The room: T' = (T_out − T)/τ + H·heating, solved exactly between steps (device time).
struct Room {
    double temp_c = 20.0;
    double outdoor_c = 0.0;
    double tau_h = 30.0;
    double heat_c_per_h = 2.2;
    bool heating = false;
    void advance(double hours) {
        if (hours <= 0) return;
        const double target = outdoor_c + (heating ? heat_c_per_h * tau_h : 0.0);
        temp_c = target + (temp_c - target) * std::exp(-hours / tau_h);
    }
};

struct Board {
    Options opt;
    fw_config cfg{};
    fw_device_storage fw{};
    fw_saf_ring saf{};
    fw_frame_tx tx{};
    fw_frame_rx rx{};
    int master = -1;
    int slave = -1;
    std::string pts;
    std::chrono::steady_clock::time_point boot{};
    std::chrono::steady_clock::time_point line_free{};
    Room room;
    std::uint32_t scale_milli = 1000;
    std::uint64_t last_plant_host = 0;
    std::int32_t last_reading = INT32_MIN;
    std::uint64_t dropped_bytes = 0;
    int humidity_pct = -1;  // no humidity sensor unless --set humidity_pct=N (like the simulator)

    [[nodiscard]] std::uint64_t host_ms() const {
        return static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - boot).count());
    }

    /// Writes a frame like a UART: paced when asked; if nobody reads and the pty buffer is
    /// full, the rest is lost (the rig resynchronises at the next 0x00).
    void send(const std::uint8_t* p, std::size_t n) {
        const std::uint64_t ns_per_byte = opt.pace ? 10'000'000'000ULL / opt.baud : 0;
        const std::size_t chunk = ns_per_byte ? std::max<std::size_t>(1, 1'000'000 / ns_per_byte) : n;
        while (n > 0) {
            if (ns_per_byte) {
                const auto now = std::chrono::steady_clock::now();
                if (line_free > now) std::this_thread::sleep_until(line_free);
                else line_free = now;
            }
            const std::size_t want = std::min(chunk, n);
            std::size_t done = 0;
            while (done < want) {
                const ssize_t w = ::write(master, p + done, want - done);
                if (w > 0) {
                    done += static_cast<std::size_t>(w);
                    continue;
                }
                if (w < 0 && errno == EINTR) continue;
                if (w < 0 && errno == EAGAIN) {
                    pollfd pf{master, POLLOUT, 0};
                    if (::poll(&pf, 1, 100) > 0) continue;
                }
                dropped_bytes += n - done;  // nobody is reading: the bytes are lost
                return;
            }
            if (ns_per_byte) line_free += std::chrono::nanoseconds(ns_per_byte * want);
            p += want;
            n -= want;
        }
    }
    void send_tx(std::size_t n) {
        if (n > 0) send(tx.wire, n);
    }

    void hello() {
        const char* caps[] = {"time_scale"};
        char id[FW_ID_MAX];
        const std::size_t id_len = std::min<std::size_t>(opt.id.size(), sizeof id);
        std::memcpy(id, opt.id.data(), id_len);
        fw_hello h{};
        h.board = opt.board.c_str();
        h.firmware = opt.kind == FW_KIND_THERMOSTAT ? "thermostat-stub" : "lock-stub";
        h.version = "0.1.0";
        h.device_id = id;
        h.id_len = id_len;
        h.kind = opt.kind == FW_KIND_THERMOSTAT ? "thermostat" : "lock";
        h.caps = caps;
        h.cap_count = opt.time_scale ? 1 : 0;
        send_tx(fw_frame_tx_hello(&tx, &h));
    }

    // ---- HAL callbacks ----
    static Board* self(void* ctx) { return static_cast<Board*>(ctx); }
    static void hal_uplink(void* ctx, const fw_device*, uint64_t t, const char* to, const char* fmt, const char* body,
                           size_t len) {
        Board* b = self(ctx);
        b->send_tx(fw_frame_tx_uplink(&b->tx, t, to, fmt, body, len));
    }
    static void hal_truth(void* ctx, const fw_device*, uint64_t t, const char* state, size_t len) {
        Board* b = self(ctx);
        b->send_tx(fw_frame_tx_truth(&b->tx, t, state, len));
    }
    static void hal_log(void* ctx, const fw_device*, uint64_t t, fw_log_level level, const char* msg, size_t len) {
        static const char* kLevels[] = {"debug", "info", "warn", "error"};
        Board* b = self(ctx);
        b->send_tx(fw_frame_tx_log(&b->tx, t, kLevels[level & 3], msg, len));
    }
    static void hal_actuate(void* ctx, const fw_device*, uint64_t t, fw_actuator a, int32_t value) {
        Board* b = self(ctx);
        if (a != FW_ACT_HVAC_RELAY) return;  // the core times the lock motor itself
        b->advance_room(t);  // never re-enter the firmware from its own callback
        b->room.heating = value == FW_RELAY_HEAT;
    }
    static size_t hal_device_id(void* ctx, const fw_device*, char* buf, size_t cap) {
        Board* b = self(ctx);
        const std::size_t n = std::min(cap, b->opt.id.size());
        std::memcpy(buf, b->opt.id.data(), n);
        return n;
    }
    static fw_saf_ring* hal_saf_ring(void* ctx, const fw_device*) { return &self(ctx)->saf; }

    /// Advances the room to host time `now` (device time runs scale_milli/1000 as fast) and
    /// reports the sensor reading (0.1 °C resolution) when it changed.
    void advance_room(std::uint64_t now) {
        if (now > last_plant_host) {
            const double dev_ms = static_cast<double>(now - last_plant_host) * scale_milli / 1000.0;
            room.advance(dev_ms / 3'600'000.0);
            last_plant_host = now;
        }
    }
    void plant_step(std::uint64_t now) {
        if (opt.kind != FW_KIND_THERMOSTAT) return;
        advance_room(now);
        const auto reading = static_cast<std::int32_t>(std::lround(room.temp_c * 10.0)) * 10;
        if (reading != last_reading) {
            last_reading = reading;
            static_cast<void>(fw_on_sensor(fw_device_in(&fw), now, FW_SENSOR_TEMPERATURE, reading));
        }
    }

    void on_frame(const fw_frame& f) {
        const std::uint64_t now = host_ms();
        if (f.type == FW_FRAME_HELLO_REQ) {
            hello();
            return;
        }
        if (f.type != FW_FRAME_COMMAND) return;  // not for a board
        fw_command cmd;
        const char* err = fw_parse_command(f.payload, f.payload_len, &cmd);
        if (err == nullptr) {
            plant_step(now);
            err = fw_on_command(fw_device_in(&fw), now, &cmd);
            if (err == nullptr) {
                if (cmd.op == FW_OP_TIME_SCALE) {
                    advance_room(now);
                    scale_milli = cmd.factor_milli;
                }
                if (cmd.op == FW_OP_RESET) scale_milli = 1000;
                if (cmd.op == FW_OP_ENV && cmd.has_outdoor) room.outdoor_c = cmd.outdoor_centi_c / 100.0;
            }
        }
        send_tx(fw_frame_tx_reply(&tx, cmd.id, err));
        if (err == nullptr && cmd.op == FW_OP_RESET) {
            hello();
            last_reading = INT32_MIN;
            plant_step(now);
        }
    }
};

void apply_sets(Board& b) {
    fw_config& c = b.cfg;
    for (const auto& [k, v] : b.opt.sets) {
        auto u32 = [&] { return static_cast<std::uint32_t>(std::llround(v)); };
        auto centi = [&] { return static_cast<std::int16_t>(std::lround(v * 100)); };
        if (k == "setpoint_c") c.setpoint_at_boot_centi_c = centi();
        else if (k == "hysteresis_c") c.hysteresis_centi_c = centi();
        else if (k == "min_off_ms") c.min_off_ms = u32();
        else if (k == "min_on_ms") c.min_on_ms = u32();
        else if (k == "report_delta_c") c.report_delta_centi_c = centi();
        else if (k == "report_min_interval_ms") c.report_min_interval_ms = u32();
        else if (k == "report_max_silence_ms") c.report_max_silence_ms = u32();
        else if (k == "heartbeat_interval_ms") c.heartbeat_interval_ms = u32();
        else if (k == "motor_ms") c.motor_ms = u32();
        else if (k == "auto_relock_ms") c.auto_relock_ms = u32();
        else if (k == "battery_drain_pct") c.battery_drain_centi_pct = static_cast<std::uint16_t>(std::lround(v * 100));
        else if (k == "keepalive_min_delay_ms") c.keepalive_min_delay_ms = u32();
        else if (k == "keepalive_max_delay_ms") c.keepalive_max_delay_ms = u32();
        else if (k == "flush_delay_ms") c.flush_delay_ms = u32();
        else if (k == "interaction_guard_ms") c.interaction_guard_ms = u32();
        else if (k == "humidity_pct") b.humidity_pct = static_cast<int>(std::clamp(v, 0.0, 100.0));
        else if (k == "room_initial_c") b.room.temp_c = v;
        else if (k == "room_tau_h") b.room.tau_h = std::max(0.01, v);
        else if (k == "heat_rate_c_per_h") b.room.heat_c_per_h = std::max(0.0, v);
        else if (k == "outdoor_c") b.room.outdoor_c = v;
        else usage(("unknown parameter " + k).c_str());
    }
}

void make_link(const std::string& link, const std::string& target) {
    const std::string tmp = link + ".tmp." + std::to_string(::getpid());
    ::unlink(tmp.c_str());
    if (::symlink(target.c_str(), tmp.c_str()) != 0 || ::rename(tmp.c_str(), link.c_str()) != 0) {
        std::fprintf(stderr, "consentrig-board: cannot link %s -> %s: %s\n", link.c_str(), target.c_str(),
                     std::strerror(errno));
        std::exit(2);
    }
}

void remove_link(const std::string& link, const std::string& target) {
    char buf[4096];
    const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
    if (n > 0 && std::string(buf, static_cast<std::size_t>(n)) == target) ::unlink(link.c_str());
}

}  // namespace

int main(int argc, char** argv) {
    static Board b;  // ~7 KB of frame buffers: static, as on an MCU
    b.opt = parse_args(argc, argv);

    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    termios tio{};
    cfmakeraw(&tio);
    tio.c_cflag |= CLOCAL | CREAD;
    if (::openpty(&b.master, &b.slave, nullptr, &tio, nullptr) != 0) {
        std::fprintf(stderr, "consentrig-board: openpty: %s\n", std::strerror(errno));
        return 2;
    }
    // Keep our own slave descriptor open: the master then never sees a hang-up while the rig
    // has the port closed, and what we send waits in the pty for the rig to open it.
    ::fcntl(b.master, F_SETFL, ::fcntl(b.master, F_GETFL) | O_NONBLOCK);
    ::fcntl(b.master, F_SETFD, FD_CLOEXEC);
    ::fcntl(b.slave, F_SETFD, FD_CLOEXEC);
    b.pts = ::ttyname(b.slave) ? ::ttyname(b.slave) : "";
    if (!b.opt.link.empty()) make_link(b.opt.link, b.pts);

    fw_config_defaults(&b.cfg, b.opt.kind);
    b.cfg.hal = fw_hal{&b, &Board::hal_uplink, &Board::hal_truth, &Board::hal_log, &Board::hal_actuate,
                       &Board::hal_device_id, &Board::hal_saf_ring};
    b.cfg.profile_at_boot = b.opt.profile;
    b.cfg.allow_time_scale = b.opt.time_scale;
    b.cfg.boot_epoch_ms = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    b.cfg.recipient_count = static_cast<std::uint8_t>(b.opt.recipients.size());
    for (std::size_t i = 0; i < b.opt.recipients.size(); ++i) {
        const RecipientOpt& r = b.opt.recipients[i];
        fw_recipient& fr = b.cfg.recipients[i];
        fr.name = r.name.c_str();
        fr.format = r.format;
        fr.interaction_window_ms = r.window_s * 1000;
        fr.interaction_categories = r.categories;
        fr.basis_at_boot = r.basis;
        fr.linked_at_boot = r.linked;
        fr.heartbeat = r.heartbeat;
    }
    apply_sets(b);
    if (const char* why = fw_config_check(&b.cfg)) {
        std::fprintf(stderr, "consentrig-board: %s\n", why);
        return 2;
    }
    fw_frame_tx_init(&b.tx);
    fw_frame_rx_init(&b.rx);

    std::printf("%s\n", b.pts.c_str());
    std::fflush(stdout);

    // Boot: HELLO first, then the firmware (whose boot TRUTH follows), then the first readings.
    b.boot = std::chrono::steady_clock::now();
    b.hello();
    if (const char* why = fw_init(fw_device_in(&b.fw), &b.cfg, 1, b.opt.seed, 0)) {
        std::fprintf(stderr, "consentrig-board: %s\n", why);
        return 2;
    }
    if (b.opt.kind == FW_KIND_THERMOSTAT) {
        if (b.humidity_pct >= 0) static_cast<void>(fw_on_sensor(fw_device_in(&b.fw), 0, FW_SENSOR_HUMIDITY, b.humidity_pct));
        static_cast<void>(fw_on_sensor(fw_device_in(&b.fw), 0, FW_SENSOR_OCCUPANCY, 1));
        b.plant_step(0);
    }
    if (!b.opt.quiet) {
        std::fprintf(stderr, "consentrig-board: %s %s (%s) on %s%s%s\n", b.opt.kind == FW_KIND_THERMOSTAT ? "thermostat" : "lock",
                     b.opt.id.c_str(), fw_profile_name(b.opt.profile), b.pts.c_str(), b.opt.link.empty() ? "" : " = ",
                     b.opt.link.c_str());
    }

    std::uint8_t buf[4096];
    while (!g_stop) {
        const std::uint64_t now = b.host_ms();
        fw_on_timer(fw_device_in(&b.fw), now);
        b.plant_step(now);
        // Sleep until the firmware's next deadline, a plant step (1 s of device time, at least
        // 5 ms of real time) or a byte from the rig.
        const std::uint64_t wake = fw_next_wakeup(fw_device_in(&b.fw));
        std::uint64_t timeout = b.opt.kind == FW_KIND_THERMOSTAT ? std::max<std::uint64_t>(5, 1'000'000 / b.scale_milli) : 1000;
        if (wake != FW_NO_WAKEUP) timeout = std::min(timeout, wake > now ? wake - now : 0);
        pollfd pf{b.master, POLLIN, 0};
        const int r = ::poll(&pf, 1, static_cast<int>(timeout));
        if (r < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (r == 0 || !(pf.revents & POLLIN)) continue;
        const ssize_t n = ::read(b.master, buf, sizeof buf);
        if (n <= 0) continue;
        std::size_t off = 0;
        while (off < static_cast<std::size_t>(n)) {
            std::size_t used = 0;
            fw_frame f{};
            if (fw_frame_rx_feed(&b.rx, buf + off, static_cast<std::size_t>(n) - off, &used, &f) == FW_FRAME_OK) b.on_frame(f);
            off += used;
        }
    }
    if (!b.opt.link.empty()) remove_link(b.opt.link, b.pts);
    if (!b.opt.quiet) {
        const fw_frame_counters& c = b.rx.n;
        std::fprintf(stderr,
                     "consentrig-board: %s stopped; received %llu frames (%llu bytes), dropped: %llu bad_crc, %llu bad_cobs, "
                     "%llu oversize, %llu runt, %llu bad_version, %llu bad_json; %llu lost by sequence; %llu bytes unsent\n",
                     b.opt.id.c_str(), (unsigned long long)c.frames, (unsigned long long)c.bytes, (unsigned long long)c.bad_crc,
                     (unsigned long long)c.bad_cobs, (unsigned long long)c.oversize, (unsigned long long)c.runt,
                     (unsigned long long)c.bad_version, (unsigned long long)c.bad_json, (unsigned long long)c.lost,
                     (unsigned long long)b.dropped_bytes);
    }
    return 0;
}
