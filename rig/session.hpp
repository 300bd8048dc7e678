#pragma once
/// rig/session.hpp — one board on one link: handshake, commands, capture (PROTOCOL.md §1).
///
/// A BoardSession owns a SerialLink and a reader thread. The reader decodes every byte as it
/// arrives, stamps each frame with the rig's wall clock at ARRIVAL, answers pending commands
/// with their REPLY and hands UPLINK / TRUTH / LOG frames to the capture callback (on the
/// reader thread, in arrival order). Commands may be sent from any one other thread.
///
///   BoardSession s(make_link({"/dev/pts/7"}), {});
///   s.on_capture([](Capture&& c) { … });
///   auto info = s.start();            // open + HELLO_REQ until HELLO (a board that booted
///                                     // before the port was opened answers the request)
///   s.set_clock(epoch_ms);
///   auto r = s.command("interact", {{"via","voice"}, …});   // waits for the REPLY
///
/// Faults never stop the session: garbage and corrupt frames are skipped and counted (see
/// counters()); when the link fails (the board vanished) the session reports `lost`, keeps
/// trying to reopen the port, re-handshakes and reports `restored` (LinkEvent callback).
/// Errors are values (core::Result / core::Status).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "core/time.hpp"
#include "core/trace.hpp"
#include "rig/frame.hpp"
#include "rig/link.hpp"

namespace consentrig::rig {

/// The rig's wall clock, ms since the Unix epoch.
[[nodiscard]] core::TimeMs wall_now_ms();

/// What a board says about itself in HELLO.
struct BoardInfo {
    int proto = 0;
    std::string board;
    std::string firmware;
    std::string version;
    std::string device_id;
    std::string kind;  ///< "thermostat" / "lock"
    std::vector<std::string> caps;
    [[nodiscard]] bool has_cap(std::string_view cap) const;
};
/// Parses a HELLO payload; errors say which field is wrong.
[[nodiscard]] core::Result<BoardInfo> parse_hello(std::string_view payload);

/// One captured board → rig frame.
struct Capture {
    FrameType type = FrameType::uplink;
    std::uint16_t seq = 0;
    std::optional<std::uint64_t> board_ms;  ///< the payload's `t`
    core::TimeMs arrival_ms = 0;            ///< rig wall clock when the bytes were read
    std::chrono::steady_clock::time_point arrival{};
    std::string to;       ///< uplink
    std::string format;   ///< uplink
    std::string body;     ///< uplink `body`, truth `state` — compact JSON, verbatim otherwise
    std::string level;    ///< log
    std::string msg;      ///< log
    std::string payload;  ///< the frame's payload exactly as received (raw bytes: encode_frame)
};

/// A link lost or restored.
struct LinkEvent {
    enum class Kind : std::uint8_t { lost, restored } kind = Kind::lost;
    core::TimeMs at_ms = 0;   ///< rig wall clock
    std::string reason;       ///< lost: why (the link's error text)
    BoardInfo info;           ///< restored: the HELLO
};

struct Reply {
    std::uint32_t id = 0;
    bool ok = false;
    std::string error;                 ///< when !ok
    core::TimeMs sent_ms = 0;          ///< wall clock just before the COMMAND was written
    core::TimeMs received_ms = 0;      ///< wall clock when the REPLY arrived
    std::chrono::steady_clock::time_point sent{};
    std::chrono::steady_clock::time_point received{};
};

/// Linear map from board time (`t`, ms since boot) to the rig's wall clock, fitted to
/// (t, arrival) pairs by least squares over the lower envelope — the least-delayed frames.
/// drift_ppm says how much faster the board's clock runs than the rig's.
class ClockMap {
public:
    void add(std::uint64_t board_ms, core::TimeMs arrival_ms);
    void reset() { *this = ClockMap{}; }
    [[nodiscard]] bool valid() const { return n_ > 0; }
    /// Wall clock at which the board's clock read `board_ms` (arrival minus the least delay,
    /// corrected for drift).
    [[nodiscard]] core::TimeMs to_wall(std::uint64_t board_ms) const;
    /// (rig ms per board ms − 1) · 10⁶, from the least offsets of the first and latest
    /// kWindowMs of board time; 0 until the board's clock has run for two windows.
    [[nodiscard]] double drift_ppm() const;
    /// Largest (arrival − mapped time) seen: the worst transport + capture delay, ms.
    [[nodiscard]] double max_delay_ms() const { return max_delay_; }
    [[nodiscard]] std::uint64_t samples() const { return n_; }
    static constexpr double kWindowMs = 5000;

private:
    std::uint64_t n_ = 0;
    double first_b_ = 0;       ///< board ms of the first sample
    double first_min_ = 0;     ///< least (arrival − board) in the first window
    double first_min_b_ = 0;   ///< … and where it was seen
    double cur_start_ = 0;     ///< current window: start (board ms), least offset, where
    double cur_min_ = 0;
    double cur_min_b_ = 0;
    double prev_min_ = 0;      ///< the window before it (so "latest" never holds few samples)
    double prev_min_b_ = 0;
    bool have_prev_ = false;
    double max_delay_ = 0;
};

/// A COMMAND on its way: written to the link, its REPLY not yet collected.
struct SentCommand {
    std::uint32_t id = 0;
    std::string op;
    core::TimeMs sent_ms = 0;                   ///< wall clock just before it was written
    std::chrono::steady_clock::time_point sent{};
};

struct SessionOptions {
    std::chrono::milliseconds hello_timeout{5000};     ///< start(): HELLO within this long
    std::chrono::milliseconds hello_retry{200};        ///< resend HELLO_REQ this often meanwhile
    std::chrono::milliseconds command_timeout{3000};   ///< REPLY within this long
    std::chrono::milliseconds reconnect_interval{100}; ///< reopen a lost port this often
    std::string expect_device;  ///< non-empty: a HELLO from another device id is refused
};

class BoardSession {
public:
    BoardSession(std::unique_ptr<SerialLink> link, SessionOptions options = {});
    ~BoardSession();
    BoardSession(const BoardSession&) = delete;
    BoardSession& operator=(const BoardSession&) = delete;

    /// Set before start(). Called on the reader thread.
    void on_capture(std::function<void(Capture&&)> f) { on_capture_ = std::move(f); }
    void on_link_event(std::function<void(const LinkEvent&)> f) { on_link_ = std::move(f); }

    /// Opens the link, starts the reader, sends HELLO_REQ (again every hello_retry) until a
    /// HELLO arrives. A board that vanishes later is reconnected by the reader.
    [[nodiscard]] core::Result<BoardInfo> start();
    /// Stops the reader and closes the link. Idempotent.
    void stop();

    /// Sends COMMAND {"id":…,"op":op,…args} and waits for its REPLY. Error when the board is
    /// not connected, the write fails, or no REPLY comes within the timeout. A REPLY with
    /// ok:false is a Reply with ok == false, not an Error.
    [[nodiscard]] core::Result<Reply> command(std::string_view op, const nlohmann::json& args = nlohmann::json::object(),
                                              std::optional<std::chrono::milliseconds> timeout = std::nullopt);
    /// The two halves of command(), so a caller can send on time without waiting for the
    /// previous REPLY. Every SentCommand must be collected with wait_reply exactly once.
    [[nodiscard]] core::Result<SentCommand> send_command(std::string_view op,
                                                         const nlohmann::json& args = nlohmann::json::object());
    [[nodiscard]] core::Result<Reply> wait_reply(const SentCommand& sent,
                                                 std::optional<std::chrono::milliseconds> timeout = std::nullopt);
    /// wait_reply without waiting: nullopt while the REPLY may still come in time.
    [[nodiscard]] std::optional<core::Result<Reply>> poll_reply(const SentCommand& sent);
    /// set_clock with the given epoch; ok:false becomes an Error.
    [[nodiscard]] core::Status set_clock(core::TimeMs epoch_ms);
    /// Writes raw bytes to the link (tests: garbage on the line).
    [[nodiscard]] core::Status write_raw(std::span<const std::uint8_t> bytes);

    [[nodiscard]] bool connected() const;
    /// Waits until connected (true) or the timeout passes (false).
    [[nodiscard]] bool wait_connected(std::chrono::milliseconds timeout) const;
    [[nodiscard]] BoardInfo info() const;
    [[nodiscard]] FrameCounters counters() const;
    [[nodiscard]] ClockMap clock() const;
    [[nodiscard]] std::string name() const { return name_; }
    /// HELLOs received (the first one and every one after a reconnect or reset).
    [[nodiscard]] std::uint64_t hellos() const;

private:
    void reader();
    void handle(const FrameView& f, core::TimeMs arrival_ms, std::chrono::steady_clock::time_point arrival);
    void lose(const std::string& reason);
    bool send_hello_req();
    bool send_frame(FrameType type, std::string_view payload);

    std::unique_ptr<SerialLink> link_;
    SessionOptions options_;
    std::string name_;
    std::function<void(Capture&&)> on_capture_;
    std::function<void(const LinkEvent&)> on_link_;

    FrameDecoder decoder_;   ///< reader thread only (counters under m_)
    FrameEncoder encoder_;   ///< under write_m_
    std::mutex write_m_;     ///< serialises writes and open/close

    mutable std::mutex m_;
    mutable std::condition_variable cv_;
    bool connected_ = false;
    bool ever_connected_ = false;
    BoardInfo info_;
    FrameCounters counters_;
    ClockMap clock_;
    std::uint64_t hellos_ = 0;
    std::uint32_t next_id_ = 1;
    struct Pending {
        std::optional<Reply> reply;
    };
    std::map<std::uint32_t, Pending> pending_;

    std::atomic<bool> stop_{false};
    std::thread thread_;
};

/// Turns captures into trace records (PROTOCOL.md §2): UPLINK → egress, TRUTH → truth, with
/// `t` = scenario time of the ARRIVAL. LOG has no trace kind: nullopt.
[[nodiscard]] std::optional<core::Record> to_record(const Capture& c, const std::string& device, core::TimeMs t);

}  // namespace consentrig::rig
