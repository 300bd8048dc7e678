#include "rig/session.hpp"
#include "rig/realtime.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cmath>

namespace consentrig::rig {

using core::Error;
using core::Result;
using core::Status;
using core::TimeMs;
using Clock = std::chrono::steady_clock;

TimeMs wall_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// ---- HELLO -----------------------------------------------------------------------------------

bool BoardInfo::has_cap(std::string_view cap) const {
    return std::find(caps.begin(), caps.end(), cap) != caps.end();
}

Result<BoardInfo> parse_hello(std::string_view payload) {
    const auto j = nlohmann::json::parse(payload, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Error{"HELLO: payload is not a JSON object"};
    BoardInfo info;
    auto str = [&](const nlohmann::json& o, const char* key, std::string& out) -> bool {
        const auto it = o.find(key);
        if (it == o.end() || !it->is_string()) return false;
        out = it->get<std::string>();
        return true;
    };
    const auto proto = j.find("proto");
    if (proto == j.end() || !proto->is_number_integer()) return Error{"HELLO: \"proto\" missing or not an integer"};
    info.proto = proto->get<int>();
    if (info.proto != 1) return Error{"HELLO: board speaks protocol " + std::to_string(info.proto) + ", the rig speaks 1"};
    str(j, "board", info.board);
    str(j, "firmware", info.firmware);
    str(j, "version", info.version);
    const auto dev = j.find("device");
    if (dev == j.end() || !dev->is_object() || !str(*dev, "id", info.device_id)) {
        return Error{"HELLO: \"device\".\"id\" missing"};
    }
    str(*dev, "kind", info.kind);
    if (const auto caps = j.find("caps"); caps != j.end() && caps->is_array()) {
        for (const auto& c : *caps) {
            if (c.is_string()) info.caps.push_back(c.get<std::string>());
        }
    }
    return info;
}

// ---- ClockMap --------------------------------------------------------------------------------

void ClockMap::add(std::uint64_t board_ms, TimeMs arrival_ms) {
    const double b = static_cast<double>(board_ms);
    const double off = static_cast<double>(arrival_ms) - b;
    if (n_ == 0) {
        first_b_ = b;
        first_min_ = cur_min_ = off;
        first_min_b_ = cur_min_b_ = b;
        cur_start_ = b;
    } else {
        if (b < first_b_ + kWindowMs && off < first_min_) {
            first_min_ = off;
            first_min_b_ = b;
        }
        if (b >= cur_start_ + kWindowMs) {
            prev_min_ = cur_min_;
            prev_min_b_ = cur_min_b_;
            have_prev_ = true;
            cur_start_ = b;
            cur_min_ = off;
            cur_min_b_ = b;
        } else if (off < cur_min_) {
            cur_min_ = off;
            cur_min_b_ = b;
        }
    }
    ++n_;
    max_delay_ = std::max(max_delay_, static_cast<double>(arrival_ms) - static_cast<double>(to_wall(board_ms)));
}

double ClockMap::drift_ppm() const {
    if (!have_prev_) return 0;
    // the later of the two recent minima, compared with the first window's
    const double lo = std::min(prev_min_, cur_min_);
    const double at = prev_min_ <= cur_min_ ? prev_min_b_ : cur_min_b_;
    if (at - first_min_b_ < kWindowMs) return 0;
    return (lo - first_min_) / (at - first_min_b_) * 1e6;
}

TimeMs ClockMap::to_wall(std::uint64_t board_ms) const {
    const double b = static_cast<double>(board_ms);
    const double off = first_min_ + drift_ppm() * 1e-6 * (b - first_min_b_);
    return static_cast<TimeMs>(std::llround(b + off));
}

// ---- capture parsing -------------------------------------------------------------------------

namespace {

/// Minified JSON text of a raw value (the firmware's bodies are already compact).
bool minify_into(std::string_view raw, std::string& out) {
    while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\r' || raw.back() == '\t')) {
        raw.remove_suffix(1);
    }
    if (std::none_of(raw.begin(), raw.end(), [](char ch) { return ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t'; })) {
        out.assign(raw);  // the firmware's bodies are compact already
        return true;
    }
    out.resize(raw.size() + simdjson::SIMDJSON_PADDING);  // simdjson writes whole blocks
    std::size_t n = 0;
    if (simdjson::minify(raw.data(), raw.size(), out.data(), n) != simdjson::SUCCESS) return false;
    out.resize(n);
    return true;
}

/// Parses UPLINK / TRUTH / LOG payloads into `c`. False when a required field is missing.
bool parse_capture(std::string_view payload, Capture& c) {
    thread_local simdjson::ondemand::parser parser;
    thread_local std::string padded;
    padded.assign(payload);
    padded.resize(payload.size() + simdjson::SIMDJSON_PADDING);
    simdjson::ondemand::document doc;
    if (parser.iterate(padded.data(), payload.size(), padded.size()).get(doc)) return false;
    simdjson::ondemand::object obj;
    if (doc.get_object().get(obj)) return false;
    bool have_main = false;
    for (auto field : obj) {
        std::string_view key;
        if (field.unescaped_key().get(key)) return false;
        auto value = field.value();
        if (key == "t") {
            std::uint64_t t = 0;
            if (!value.get_uint64().get(t)) c.board_ms = t;
        } else if (c.type == FrameType::uplink && (key == "to" || key == "format")) {
            std::string_view s;
            if (value.get_string().get(s)) return false;
            (key == "to" ? c.to : c.format).assign(s);
        } else if ((c.type == FrameType::uplink && key == "body") || (c.type == FrameType::truth && key == "state")) {
            simdjson::ondemand::object inner;
            if (value.get_object().get(inner)) return false;
            std::string_view raw;
            if (inner.raw_json().get(raw)) return false;
            if (!minify_into(raw, c.body)) return false;
            have_main = true;
        } else if (c.type == FrameType::log && (key == "level" || key == "msg")) {
            std::string_view s;
            if (value.get_string().get(s)) return false;
            (key == "level" ? c.level : c.msg).assign(s);
            have_main = have_main || key == "msg";
        }
    }
    if (c.type == FrameType::uplink) return have_main && !c.to.empty() && !c.format.empty();
    return have_main;
}

}  // namespace

std::optional<core::Record> to_record(const Capture& c, const std::string& device, TimeMs t) {
    core::Record r;
    r.t = t;
    r.device = device;
    if (c.type == FrameType::uplink) {
        r.kind = core::RecordKind::egress;
        r.recipient = c.to;
        r.format = c.format;
    } else if (c.type == FrameType::truth) {
        r.kind = core::RecordKind::truth;
    } else {
        return std::nullopt;
    }
    r.payload = c.body;
    return r;
}

// ---- BoardSession ----------------------------------------------------------------------------

BoardSession::BoardSession(std::unique_ptr<SerialLink> link, SessionOptions options)
    : link_(std::move(link)), options_(std::move(options)), name_(link_->name()) {}

BoardSession::~BoardSession() { stop(); }

bool BoardSession::send_frame(FrameType type, std::string_view payload) {
    std::lock_guard lock(write_m_);
    if (!link_->is_open()) return false;
    const auto frame = encoder_.encode(type, payload);
    return link_->write(frame).ok();
}

bool BoardSession::send_hello_req() {
    // A leading 0x00 ends whatever the board's receiver has half-read (an empty frame is ignored).
    std::lock_guard lock(write_m_);
    if (!link_->is_open()) return false;
    auto frame = encoder_.encode(FrameType::hello_req, "{}");
    frame.insert(frame.begin(), std::uint8_t{0});
    return link_->write(frame).ok();
}

Result<BoardInfo> BoardSession::start() {
    if (thread_.joinable()) return Error{name_ + ": session already started"};
    {
        std::lock_guard lock(write_m_);
        if (auto st = link_->open(); !st) return st.error();
    }
    stop_ = false;
    thread_ = std::thread([this] { reader(); });
    const auto deadline = Clock::now() + options_.hello_timeout;
    while (Clock::now() < deadline) {
        if (!send_hello_req()) {
            // the write failed: the reader will notice the link is gone
        }
        std::unique_lock lock(m_);
        const auto until = std::min(deadline, Clock::now() + options_.hello_retry);
        if (cv_.wait_until(lock, until, [&] { return connected_; })) return info_;
    }
    stop();
    return Error{name_ + ": no HELLO from the board within " + std::to_string(options_.hello_timeout.count()) +
                 " ms (is a board speaking protocol v1 on this port?)"};
}

void BoardSession::stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(write_m_);
    link_->close();
    std::lock_guard lk(m_);
    connected_ = false;
    cv_.notify_all();
}

void BoardSession::lose(const std::string& reason) {
    {
        std::lock_guard lock(write_m_);
        link_->close();
    }
    decoder_.reset_partial();
    bool was = false;
    {
        std::lock_guard lock(m_);
        was = connected_;
        connected_ = false;
        cv_.notify_all();
    }
    if (was && on_link_) on_link_(LinkEvent{LinkEvent::Kind::lost, wall_now_ms(), reason, {}});
}

void BoardSession::reader() {
    const RealtimeScope realtime;  // arrival stamps and REPLYs not delayed behind other work
    std::array<std::uint8_t, 65536> buf{};
    auto last_open_try = Clock::now();
    auto last_hello_req = Clock::now();
    bool awaiting_hello = false;  // reopened: HELLO_REQ until a HELLO comes
    while (!stop_) {
        if (!link_->is_open()) {
            const auto now = Clock::now();
            if (now - last_open_try < options_.reconnect_interval) {
                std::this_thread::sleep_for(std::min<Clock::duration>(options_.reconnect_interval - (now - last_open_try),
                                                                      std::chrono::milliseconds(20)));
                continue;
            }
            last_open_try = now;
            bool opened = false;
            {
                std::lock_guard lock(write_m_);
                opened = link_->open().ok();
            }
            if (!opened) continue;
            decoder_.reset_partial();
            awaiting_hello = true;
            last_hello_req = Clock::now();
            send_hello_req();
            continue;
        }
        if (awaiting_hello) {
            std::lock_guard lock(m_);
            if (connected_) awaiting_hello = false;
        }
        if (awaiting_hello && Clock::now() - last_hello_req >= options_.hello_retry) {
            last_hello_req = Clock::now();
            send_hello_req();
        }
        auto n = link_->read(buf, std::chrono::milliseconds(20));
        if (!n) {
            lose(n.error().message);
            continue;
        }
        if (*n == 0) continue;
        const auto arrival = Clock::now();
        const TimeMs arrival_ms = wall_now_ms();
        decoder_.feed(std::span<const std::uint8_t>(buf.data(), *n),
                      [&](const FrameView& f) { handle(f, arrival_ms, arrival); });
        std::lock_guard lock(m_);
        counters_ = decoder_.counters();
    }
}

void BoardSession::handle(const FrameView& f, TimeMs arrival_ms, Clock::time_point arrival) {
    switch (f.type()) {
        case FrameType::hello: {
            auto info = parse_hello(f.payload);
            if (!info) {
                decoder_.count_bad_json();
                return;
            }
            if (!options_.expect_device.empty() && info->device_id != options_.expect_device) {
                // the wrong board on this port: not ours, stay unconnected
                return;
            }
            bool restored = false;
            {
                std::lock_guard lock(m_);
                restored = ever_connected_ && !connected_;
                info_ = *info;
                connected_ = true;
                ever_connected_ = true;
                ++hellos_;
                clock_.reset();  // a HELLO may follow a reboot: board time starts again
                cv_.notify_all();
            }
            if (restored && on_link_) on_link_(LinkEvent{LinkEvent::Kind::restored, arrival_ms, {}, *info});
            return;
        }
        case FrameType::reply: {
            const auto j = nlohmann::json::parse(f.payload, nullptr, false);
            const auto id = j.is_object() ? j.find("id") : j.end();
            if (j.is_discarded() || !j.is_object() || id == j.end() || !id->is_number_unsigned()) {
                decoder_.count_bad_json();
                return;
            }
            std::lock_guard lock(m_);
            const auto it = pending_.find(id->get<std::uint32_t>());
            if (it == pending_.end()) return;  // late reply to a command that timed out
            Reply r;
            r.id = it->first;
            r.ok = j.value("ok", false);
            if (!r.ok) r.error = j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>() : "error";
            r.received_ms = arrival_ms;
            r.received = arrival;
            it->second.reply = std::move(r);
            cv_.notify_all();
            return;
        }
        case FrameType::uplink:
        case FrameType::truth:
        case FrameType::log: {
            Capture c;
            c.type = f.type();
            c.seq = f.seq;
            c.arrival_ms = arrival_ms;
            c.arrival = arrival;
            c.payload.assign(f.payload);
            if (!parse_capture(f.payload, c)) {
                decoder_.count_bad_json();
                return;
            }
            if (c.board_ms) {
                std::lock_guard lock(m_);
                clock_.add(*c.board_ms, arrival_ms);
            }
            if (on_capture_) on_capture_(std::move(c));
            return;
        }
        case FrameType::hello_req:
        case FrameType::command:
        default: decoder_.count_unknown_type(); return;
    }
}

Result<Reply> BoardSession::command(std::string_view op, const nlohmann::json& args,
                                    std::optional<std::chrono::milliseconds> timeout) {
    auto sent = send_command(op, args);
    if (!sent) return sent.error();
    return wait_reply(*sent, timeout);
}

Result<SentCommand> BoardSession::send_command(std::string_view op, const nlohmann::json& args) {
    nlohmann::json cmd = args.is_object() ? args : nlohmann::json::object();
    SentCommand sent;
    sent.op = op;
    {
        std::lock_guard lock(m_);
        if (!connected_) return Error{name_ + ": " + std::string(op) + ": board not connected"};
        sent.id = next_id_++;
        pending_[sent.id] = Pending{};
    }
    cmd["id"] = sent.id;
    cmd["op"] = op;
    const std::string payload = cmd.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    Status written;
    {
        std::lock_guard lock(write_m_);
        const auto frame = encoder_.encode(FrameType::command, payload);
        if (frame.empty()) {
            written = Error{name_ + ": " + std::string(op) + ": command too large for one frame"};
        } else if (!link_->is_open()) {
            written = Error{name_ + ": " + std::string(op) + ": board not connected"};
        } else {
            sent.sent = Clock::now();
            sent.sent_ms = wall_now_ms();
            written = link_->write(frame);
        }
    }
    if (!written) {
        std::lock_guard lock(m_);
        pending_.erase(sent.id);
        return written.error();
    }
    return sent;
}

std::optional<Result<Reply>> BoardSession::poll_reply(const SentCommand& sent) {
    {
        std::lock_guard lock(m_);
        const auto it = pending_.find(sent.id);
        const bool settled = it == pending_.end() || it->second.reply.has_value() || !connected_ ||
                             Clock::now() >= sent.sent + options_.command_timeout;
        if (!settled) return std::nullopt;
    }
    return wait_reply(sent);
}

Result<Reply> BoardSession::wait_reply(const SentCommand& sent, std::optional<std::chrono::milliseconds> timeout) {
    std::unique_lock lock(m_);
    const auto wait = timeout.value_or(options_.command_timeout);
    // The timeout runs from the send, so replies collected late are not given extra time.
    const bool got = cv_.wait_until(lock, sent.sent + wait, [&] { return pending_[sent.id].reply.has_value() || !connected_; });
    auto reply = std::move(pending_[sent.id].reply);
    pending_.erase(sent.id);
    if (!reply) {
        if (!got) return Error{name_ + ": no REPLY to " + sent.op + " within " + std::to_string(wait.count()) + " ms"};
        return Error{name_ + ": " + sent.op + ": board disconnected before its REPLY"};
    }
    reply->sent_ms = sent.sent_ms;
    reply->sent = sent.sent;
    return *reply;
}

Status BoardSession::set_clock(TimeMs epoch_ms) {
    auto r = command("set_clock", {{"epoch_ms", epoch_ms}});
    if (!r) return r.error();
    if (!r->ok) return Error{name_ + ": set_clock refused: " + r->error};
    return {};
}

Status BoardSession::write_raw(std::span<const std::uint8_t> bytes) {
    std::lock_guard lock(write_m_);
    if (!link_->is_open()) return Error{name_ + ": not open"};
    return link_->write(bytes);
}

bool BoardSession::connected() const {
    std::lock_guard lock(m_);
    return connected_;
}

bool BoardSession::wait_connected(std::chrono::milliseconds timeout) const {
    std::unique_lock lock(m_);
    return cv_.wait_for(lock, timeout, [&] { return connected_; });
}

BoardInfo BoardSession::info() const {
    std::lock_guard lock(m_);
    return info_;
}

FrameCounters BoardSession::counters() const {
    std::lock_guard lock(m_);
    return counters_;
}

ClockMap BoardSession::clock() const {
    std::lock_guard lock(m_);
    return clock_;
}

std::uint64_t BoardSession::hellos() const {
    std::lock_guard lock(m_);
    return hellos_;
}

}  // namespace consentrig::rig
