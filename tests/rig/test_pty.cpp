// Over REAL pseudo-terminals: the host stub (consentrig-board) and the rig's BoardSession.
// Handshake with a board that booted before the rig opened the port, commands with REPLY and a
// timeout (stub stopped), a captured interaction answer, corrupt frames on the line, and a board
// killed mid-run (lost → restarted → restored, earlier frames kept). Waits are on conditions
// with generous deadlines (a loaded 2-core CI machine).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>

#include "rig/frame.hpp"
#include "rig/link.hpp"
#include "rig/session.hpp"
#include "rig/stub.hpp"

namespace consentrig::rig {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string stub_program() { return std::string(CONSENTRIG_BINARY_DIR) + "/bin/consentrig-board"; }

fs::path temp_dir(const std::string& name) {
    const fs::path d = fs::temp_directory_path() / ("consentrig-rig-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

struct Sink {
    std::mutex m;
    std::condition_variable cv;
    std::vector<Capture> items;
    std::vector<LinkEvent> events;
    template <class Pred>
    bool wait(Pred p, std::chrono::milliseconds timeout = 20s) {
        std::unique_lock lock(m);
        return cv.wait_for(lock, timeout, [&] { return p(*this); });
    }
    void attach(BoardSession& s) {
        s.on_capture([this](Capture&& c) {
            std::lock_guard lock(m);
            items.push_back(std::move(c));
            cv.notify_all();
        });
        s.on_link_event([this](const LinkEvent& e) {
            std::lock_guard lock(m);
            events.push_back(e);
            cv.notify_all();
        });
    }
};

/// Waits until the pty has bytes for the rig (the board's boot HELLO), without reading them.
bool wait_readable(const std::string& path, std::chrono::milliseconds timeout) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    ::close(fd);
    return r > 0 && (p.revents & POLLIN);
}

TEST(Pty, HandshakeWithABoardThatBootedBeforeTheRigOpenedThePort) {
    auto stub = StubProcess::spawn(stub_program(), {"--kind", "thermostat", "--id", "thermo-7", "--quiet"});
    ASSERT_TRUE(stub) << stub.error().message;
    ASSERT_TRUE(is_pty_path(stub->pty()));
    ASSERT_TRUE(wait_readable(stub->pty(), 20s));  // it has booted and sent HELLO + TRUTH already
    Sink sink;  // outlives the session (its reader thread calls into it)
    BoardSession s(make_link({stub->pty()}));
    sink.attach(s);
    auto info = s.start();
    ASSERT_TRUE(info) << info.error().message;
    EXPECT_EQ(info->device_id, "thermo-7");
    EXPECT_EQ(info->kind, "thermostat");
    EXPECT_EQ(info->firmware, "thermostat-stub");
    EXPECT_EQ(info->board, "host-pty");
    EXPECT_TRUE(info->has_cap("time_scale"));
    // the boot TRUTH waited in the pty too
    ASSERT_TRUE(sink.wait([](Sink& k) {
        return std::any_of(k.items.begin(), k.items.end(), [](const Capture& c) { return c.type == FrameType::truth; });
    }));
    EXPECT_EQ(s.counters().dropped(), 0u);
}

TEST(Pty, CommandsRepliesAnswerAndTimeout) {
    auto stub = StubProcess::spawn(stub_program(), {"--kind", "lock", "--id", "lock-front", "--quiet"});
    ASSERT_TRUE(stub) << stub.error().message;
    Sink sink;  // outlives the session (its reader thread calls into it)
    SessionOptions o;
    o.expect_device = "lock-front";
    BoardSession s(make_link({stub->pty()}), o);
    sink.attach(s);
    ASSERT_TRUE(s.start());
    ASSERT_TRUE(s.set_clock(1'767'567'600'000).ok());
    auto r = s.command("profile", {{"name", "no-such-profile"}});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(r->ok);
    EXPECT_FALSE(r->error.empty());
    r = s.command("frobnicate");
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->ok);
    // a voice query through the voice partner (interaction consent, 120 s): answered at once
    r = s.command("interact", {{"via", "voice"}, {"recipient", "voice-partner"}, {"action", "query"}});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r->ok) << r->error;
    ASSERT_TRUE(sink.wait([](Sink& k) {
        return std::any_of(k.items.begin(), k.items.end(),
                           [](const Capture& c) { return c.type == FrameType::uplink && c.to == "voice-partner"; });
    }));
    {
        std::lock_guard lock(sink.m);
        const auto it = std::find_if(sink.items.begin(), sink.items.end(),
                                     [](const Capture& c) { return c.type == FrameType::uplink && c.to == "voice-partner"; });
        EXPECT_EQ(it->format, "alexa");
        EXPECT_NE(it->body.find("Alexa.LockController"), std::string::npos) << it->body;
        EXPECT_NE(it->body.find("2026-01-04T23:00"), std::string::npos) << it->body;  // set_clock took
        EXPECT_LE(r->sent, it->arrival);
    }
    // a board that stops answering: the command times out, the session carries on
    ::kill(stub->pid(), SIGSTOP);
    r = s.command("network", {{"up", true}}, 300ms);
    EXPECT_FALSE(r);
    ::kill(stub->pid(), SIGCONT);
    r = s.command("network", {{"up", true}}, 10s);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r->ok);
}

TEST(Pty, CorruptFramesOnTheLineAreCountedAndSkipped) {
    // The test plays the board on a pty master of its own.
    int master = -1, slave = -1;
    termios tio{};
    cfmakeraw(&tio);
    ASSERT_EQ(::openpty(&master, &slave, nullptr, &tio, nullptr), 0);
    const std::string path = ::ttyname(slave);
    FrameEncoder enc;
    std::vector<std::uint8_t> junk = {'h', 'e', 'l', 'l', 'o', '\r', '\n', 0x00};
    auto bad = make_body(0x21, 0, "{}");
    bad.back() ^= 0xFF;  // CRC
    auto bad_frame = cobs_encode(bad);
    bad_frame.push_back(0);
    auto hello = enc.encode(FrameType::hello, R"({"proto":1,"device":{"id":"b1","kind":"lock"},"caps":[]})");
    auto not_json = enc.encode(FrameType::truth, R"({"t":1,)");
    auto truth = enc.encode(FrameType::truth, R"({"t":2,"state":{"lock_state":"locked"}})");
    std::vector<std::uint8_t> all;
    for (auto* v : {&junk, &bad_frame, &hello, &not_json, &truth}) all.insert(all.end(), v->begin(), v->end());
    ASSERT_EQ(::write(master, all.data(), all.size()), static_cast<ssize_t>(all.size()));
    Sink sink;  // outlives the session (its reader thread calls into it)
    BoardSession s(make_link({path}));
    sink.attach(s);
    auto info = s.start();
    ASSERT_TRUE(info) << info.error().message;
    EXPECT_EQ(info->device_id, "b1");
    ASSERT_TRUE(sink.wait([](Sink& k) { return !k.items.empty(); }));
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (s.counters().bad_json + s.counters().frames < 3 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
    const auto n = s.counters();
    EXPECT_EQ(n.bad_crc + n.bad_cobs + n.runt, 2u);  // the text junk and the corrupt frame
    EXPECT_EQ(n.bad_json, 1u);
    EXPECT_EQ(n.frames, 2u);
    EXPECT_EQ(n.lost_by_sequence_gap, 1u);  // the dropped frame used sequence number 1
    s.stop();
    ::close(master);
    ::close(slave);
}

TEST(Pty, KilledBoardGivesLostThenRestoredAndKeepsEarlierFrames) {
    const fs::path dir = temp_dir("kill");
    const std::string link = (dir / "thermo-1.pty").string();
    const std::vector<std::string> args = {"--kind", "thermostat", "--id", "thermo-1", "--link", link, "--quiet"};
    auto stub = StubProcess::spawn(stub_program(), args);
    ASSERT_TRUE(stub) << stub.error().message;
    Sink sink;  // outlives the session (its reader thread calls into it)
    SessionOptions o;
    o.reconnect_interval = 50ms;
    o.expect_device = "thermo-1";
    BoardSession s(make_link({link}), o);
    sink.attach(s);
    ASSERT_TRUE(s.start());
    ASSERT_TRUE(s.command("interact", {{"via", "voice"}, {"recipient", "voice-partner"}, {"action", "query"}}));
    ASSERT_TRUE(sink.wait([](Sink& k) { return k.items.size() >= 2; }));
    std::size_t before = 0;
    {
        std::lock_guard lock(sink.m);
        before = sink.items.size();
    }
    stub->kill();  // the port vanishes mid-run
    ASSERT_TRUE(sink.wait([](Sink& k) { return !k.events.empty(); }));
    EXPECT_FALSE(s.connected());
    auto again = StubProcess::spawn(stub_program(), args);  // the port returns (same link path)
    ASSERT_TRUE(again) << again.error().message;
    ASSERT_TRUE(sink.wait([](Sink& k) { return k.events.size() >= 2; }, 30s));
    {
        std::lock_guard lock(sink.m);
        EXPECT_EQ(sink.events[0].kind, LinkEvent::Kind::lost);
        EXPECT_EQ(sink.events[1].kind, LinkEvent::Kind::restored);
        EXPECT_GE(sink.items.size(), before);  // nothing received before the loss is gone
    }
    EXPECT_TRUE(s.connected());
    auto r = s.command("set_clock", {{"epoch_ms", 1'767'567'600'000}});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r->ok);
    s.stop();
    again->terminate();
    EXPECT_FALSE(fs::exists(fs::symlink_status(link)));  // the stub removes its link on exit
    fs::remove_all(dir);
}

}  // namespace
}  // namespace consentrig::rig
