// BoardSession over the recording fake link: handshake, commands, timeouts, capture, counters,
// a vanishing port and the reconnect. No processes, no sleeps: waits are on conditions.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "rig/frame.hpp"
#include "rig/link.hpp"
#include "rig/session.hpp"
#include "rig/bench.hpp"

namespace consentrig::rig {
namespace {

using namespace std::chrono_literals;

/// A scripted board on a FakeLink: answers HELLO_REQ with HELLO and COMMAND with REPLY.
class FakeBoard {
public:
    explicit FakeBoard(FakeLink& link, std::string id = "thermo-1") : link_(link), id_(std::move(id)) {
        link_.on_write([this](std::span<const std::uint8_t> bytes) {
            std::vector<std::vector<std::uint8_t>> out;
            {
                std::lock_guard lock(m_);
                dec_.feed(bytes, [&](const FrameView& f) {
                    if (f.type() == FrameType::hello_req && answer_hello) out.push_back(hello());
                    if (f.type() == FrameType::command) {
                        ++commands;
                        auto j = nlohmann::json::parse(f.payload);
                        last_op = j.value("op", "");
                        if (!answer_commands) return;
                        nlohmann::json r{{"id", j["id"]}, {"ok", j["op"] != "bogus"}};
                        if (j["op"] == "bogus") r["error"] = "unknown op";
                        out.push_back(enc_.encode(FrameType::reply, r.dump()));
                    }
                });
            }
            for (auto& f : out) link_.push(f);
        });
    }
    std::vector<std::uint8_t> hello() {
        return enc_.encode(FrameType::hello,
                           R"({"proto":1,"board":"fake","firmware":"thermostat-stub","version":"0.1.0","device":{"id":")" + id_ +
                               R"(","kind":"thermostat"},"caps":["time_scale"]})");
    }
    void send(FrameType t, const std::string& payload) {
        std::vector<std::uint8_t> f;
        {
            std::lock_guard lock(m_);
            f = enc_.encode(t, payload);
        }
        link_.push(f);
    }
    std::atomic<bool> answer_hello{true};
    std::atomic<bool> answer_commands{true};
    std::atomic<int> commands{0};
    std::string last_op;

private:
    FakeLink& link_;
    std::string id_;
    std::mutex m_;
    FrameDecoder dec_;
    FrameEncoder enc_;
};

struct Captured {
    std::mutex m;
    std::condition_variable cv;
    std::vector<Capture> items;
    std::vector<LinkEvent> events;
    bool wait_items(std::size_t n) {
        std::unique_lock lock(m);
        return cv.wait_for(lock, 10s, [&] { return items.size() >= n; });
    }
    bool wait_events(std::size_t n) {
        std::unique_lock lock(m);
        return cv.wait_for(lock, 10s, [&] { return events.size() >= n; });
    }
};

std::unique_ptr<BoardSession> make_session(FakeLink*& raw, Captured& cap, SessionOptions o = {}) {
    auto link = std::make_unique<FakeLink>("fake0");
    raw = link.get();
    auto s = std::make_unique<BoardSession>(std::move(link), o);
    s->on_capture([&cap](Capture&& c) {
        std::lock_guard lock(cap.m);
        cap.items.push_back(std::move(c));
        cap.cv.notify_all();
    });
    s->on_link_event([&cap](const LinkEvent& e) {
        std::lock_guard lock(cap.m);
        cap.events.push_back(e);
        cap.cv.notify_all();
    });
    return s;
}

TEST(Session, HandshakeCommandsAndReplies) {
    Captured cap;
    FakeLink* link = nullptr;
    auto s = make_session(link, cap);
    FakeBoard board(*link);
    auto info = s->start();
    ASSERT_TRUE(info) << info.error().message;
    EXPECT_EQ(info->device_id, "thermo-1");
    EXPECT_EQ(info->kind, "thermostat");
    EXPECT_TRUE(info->has_cap("time_scale"));
    // the rig's first bytes: a flushing 0x00, then HELLO_REQ {}
    const auto w = link->written();
    ASSERT_FALSE(w.empty());
    EXPECT_EQ(w[0], 0);
    auto r = s->command("set_clock", {{"epoch_ms", 1767567600000}});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r->ok);
    EXPECT_EQ(board.last_op, "set_clock");
    EXPECT_LE(r->sent, r->received);
    r = s->command("bogus");
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->ok);
    EXPECT_EQ(r->error, "unknown op");
    EXPECT_TRUE(s->set_clock(1).ok());
}

TEST(Session, CommandTimesOutAndTheSessionGoesOn) {
    Captured cap;
    FakeLink* link = nullptr;
    auto s = make_session(link, cap);
    FakeBoard board(*link);
    ASSERT_TRUE(s->start());
    board.answer_commands = false;
    auto r = s->command("reset", {}, 100ms);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("no REPLY to reset"), std::string::npos) << r.error().message;
    board.answer_commands = true;
    r = s->command("reset");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r->ok);
}

/// A connected session whose board answers no COMMAND until told to.
struct SilentBoard {
    explicit SilentBoard(std::chrono::milliseconds command_timeout) {
        SessionOptions o;
        o.command_timeout = command_timeout;
        session = make_session(link, cap, o);
        board = std::make_unique<FakeBoard>(*link);
        EXPECT_TRUE(session->start());
        board->answer_commands = false;
    }
    Captured cap;
    FakeLink* link = nullptr;
    std::unique_ptr<FakeBoard> board;      // outlives the session, which may still write to it
    std::unique_ptr<BoardSession> session;
};

TEST(Session, GivenABoardThatHasNotAnsweredYet_WhenCommandsAreSentBackToBack_ThenNoneWaitsAndEachReplyFindsItsCommand) {
    // GIVEN a connected board that holds its REPLYs
    SilentBoard held(10s);
    auto& s = held.session;
    auto& board = *held.board;
    // WHEN three commands are sent without waiting for REPLYs
    std::vector<SentCommand> sent;
    for (const char* op : {"network", "interact", "consent"}) {
        auto c = s->send_command(op);
        ASSERT_TRUE(c) << c.error().message;
        sent.push_back(*c);
    }
    // THEN all three are on the line, nothing is settled, and the ids differ
    EXPECT_EQ(board.commands, 3);
    for (const auto& c : sent) EXPECT_FALSE(s->poll_reply(c).has_value()) << c.op;
    EXPECT_NE(sent[0].id, sent[1].id);
    EXPECT_LE(sent[0].sent, sent[2].sent);
    // AND when the board answers the last one first (refusing it) and then the others
    board.send(FrameType::reply, nlohmann::json{{"id", sent[2].id}, {"ok", false}, {"error", "no"}}.dump());
    board.send(FrameType::reply, nlohmann::json{{"id", sent[0].id}, {"ok", true}}.dump());
    board.send(FrameType::reply, nlohmann::json{{"id", sent[1].id}, {"ok", true}}.dump());
    auto r2 = s->wait_reply(sent[2]);
    ASSERT_TRUE(r2) << r2.error().message;
    EXPECT_FALSE(r2->ok);
    EXPECT_EQ(r2->error, "no");
    for (int i = 0; i < 2; ++i) {
        auto r = s->wait_reply(sent[static_cast<std::size_t>(i)]);
        ASSERT_TRUE(r) << r.error().message;
        EXPECT_TRUE(r->ok);
        EXPECT_EQ(r->id, sent[static_cast<std::size_t>(i)].id);
        EXPECT_EQ(r->sent, sent[static_cast<std::size_t>(i)].sent);
    }
}

TEST(Session, GivenACommandNobodyAnswers_WhenPolledAfterItsTimeout_ThenItSettlesAsATimeout) {
    // GIVEN a board that never answers and a short command timeout
    SilentBoard held(50ms);
    auto& s = held.session;
    auto c = s->send_command("reset");
    ASSERT_TRUE(c);
    // WHEN polled until it settles (the deadline is the timeout itself, not a sleep)
    std::optional<core::Result<Reply>> r;
    while (!(r = s->poll_reply(*c))) std::this_thread::yield();
    // THEN it is a timeout naming the op
    ASSERT_FALSE(*r);
    EXPECT_NE(r->error().message.find("no REPLY to reset"), std::string::npos) << r->error().message;
}

TEST(Session, NoHelloIsAnError) {
    Captured cap;
    FakeLink* link = nullptr;
    SessionOptions o;
    o.hello_timeout = 300ms;
    o.hello_retry = 50ms;
    auto s = make_session(link, cap, o);
    FakeBoard board(*link);
    board.answer_hello = false;
    auto info = s->start();
    ASSERT_FALSE(info);
    EXPECT_NE(info.error().message.find("no HELLO"), std::string::npos);
}

TEST(Session, WrongBoardIsNotAccepted) {
    Captured cap;
    FakeLink* link = nullptr;
    SessionOptions o;
    o.hello_timeout = 300ms;
    o.expect_device = "lock-front";
    auto s = make_session(link, cap, o);
    FakeBoard board(*link, "thermo-9");
    EXPECT_FALSE(s->start());
}

TEST(Session, CapturesUplinkTruthLogWithArrivalTimeAndCountsGarbage) {
    Captured cap;
    FakeLink* link = nullptr;
    auto s = make_session(link, cap);
    FakeBoard board(*link);
    ASSERT_TRUE(s->start());
    const auto before = wall_now_ms();
    board.send(FrameType::uplink, R"({"t":1000,"to":"voice-partner","format":"alexa","body":{ "a" : [1, 2] }})");
    const std::vector<std::uint8_t> garbage = {0x55, 0x13, 0x99, 0x00, 0x07, 0x01, 0x02, 0x00};
    link->push(garbage);
    board.send(FrameType::truth, R"({"t":1001,"state":{"battery":87}})");
    board.send(FrameType::log, R"({"t":1002,"level":"warn","msg":"hi"})");
    board.send(FrameType::uplink, R"({"t":1003,"to":"x"})");  // no body: bad JSON for the rig
    ASSERT_TRUE(cap.wait_items(3));
    std::lock_guard lock(cap.m);
    ASSERT_EQ(cap.items.size(), 3u);
    EXPECT_EQ(cap.items[0].type, FrameType::uplink);
    EXPECT_EQ(cap.items[0].to, "voice-partner");
    EXPECT_EQ(cap.items[0].format, "alexa");
    EXPECT_EQ(cap.items[0].body, R"({"a":[1,2]})");  // minified
    EXPECT_EQ(cap.items[0].board_ms, 1000u);
    EXPECT_GE(cap.items[0].arrival_ms, before);
    EXPECT_EQ(cap.items[1].body, R"({"battery":87})");
    EXPECT_EQ(cap.items[2].msg, "hi");
    EXPECT_EQ(cap.items[2].level, "warn");
    const auto rec = to_record(cap.items[0], "thermo-1", 42);
    ASSERT_TRUE(rec);
    EXPECT_EQ(rec->kind, core::RecordKind::egress);
    EXPECT_EQ(rec->t, 42);
    EXPECT_EQ(rec->recipient, "voice-partner");
    EXPECT_FALSE(to_record(cap.items[2], "thermo-1", 42));
    // counters: two junk frames, one payload the rig could not use (wait for the last frame)
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (s->counters().bad_json == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
    const auto n = s->counters();
    EXPECT_EQ(n.dropped() - n.bad_json, 2u);
    EXPECT_EQ(n.bad_json, 1u);
}

TEST(Session, VanishingPortGivesLostThenRestoredAfterReHandshake) {
    Captured cap;
    FakeLink* link = nullptr;
    SessionOptions o;
    o.reconnect_interval = 20ms;
    auto s = make_session(link, cap, o);
    FakeBoard board(*link);
    ASSERT_TRUE(s->start());
    board.send(FrameType::truth, R"({"t":1,"state":{"battery":87}})");
    ASSERT_TRUE(cap.wait_items(1));
    link->vanish();
    ASSERT_TRUE(cap.wait_events(1));
    EXPECT_FALSE(s->connected());
    auto r = s->command("reset", {}, 100ms);
    EXPECT_FALSE(r);
    link->reappear();
    ASSERT_TRUE(cap.wait_events(2));
    {
        std::lock_guard lock(cap.m);
        EXPECT_EQ(cap.events[0].kind, LinkEvent::Kind::lost);
        EXPECT_EQ(cap.events[1].kind, LinkEvent::Kind::restored);
        EXPECT_LE(cap.events[0].at_ms, cap.events[1].at_ms);
        EXPECT_EQ(cap.events[1].info.device_id, "thermo-1");
        EXPECT_EQ(cap.items.size(), 1u);  // what came before the loss is kept
    }
    EXPECT_TRUE(s->connected());
    EXPECT_EQ(s->hellos(), 2u);
    EXPECT_GE(link->opens(), 2);
    r = s->command("reset");
    ASSERT_TRUE(r) << r.error().message;
}

TEST(ClockMapTest, OffsetAndDrift) {
    ClockMap m;
    EXPECT_FALSE(m.valid());
    // board clock runs 100 ppm fast relative to the rig; delays 1…3 ms
    const double rate = 1.0 / (1.0 + 100e-6);
    for (int i = 0; i <= 4000; ++i) {
        const std::uint64_t b = static_cast<std::uint64_t>(i) * 10;  // 40 s of board time
        const double wall = 1'000'000.0 + static_cast<double>(b) * rate + 1 + (i % 3);
        m.add(b, static_cast<core::TimeMs>(std::llround(wall)));
    }
    EXPECT_TRUE(m.valid());
    EXPECT_NEAR(m.drift_ppm(), -100, 40);  // rig ms per board ms − 1 (board fast → negative)
    EXPECT_NEAR(static_cast<double>(m.to_wall(20000)), 1'000'000.0 + 20000 * rate + 1, 2);
    EXPECT_LE(m.max_delay_ms(), 4);
}

TEST(Percentiles, Basic) {
    std::vector<double> v;
    for (int i = 1; i <= 100; ++i) v.push_back(i);
    auto p = percentiles(v);
    EXPECT_EQ(p.count, 100u);
    EXPECT_EQ(p.p50_us, 50);
    EXPECT_EQ(p.p99_us, 99);
    EXPECT_EQ(p.max_us, 100);
    EXPECT_EQ(percentiles({}).count, 0u);
}

}  // namespace
}  // namespace consentrig::rig
