#pragma once
// The rig's side of a board link, for tests: reads and decodes board-protocol frames with the
// firmware's C codec (fw/frame.h), keeps every frame received, sends COMMAND / HELLO_REQ, and
// waits for a frame matching a condition with a deadline (never a bare sleep).
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fw/frame.h"

namespace plant_test {

struct Frame {
    std::uint8_t type = 0;
    std::uint16_t seq = 0;
    std::string payload;
    nlohmann::json json;
};

class BoardLink {
public:
    /// Takes ownership of fd (a raw, non-blocking pty or socket).
    explicit BoardLink(int fd) : fd_(fd) {
        fw_frame_rx_init(&rx_);
        ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    }
    ~BoardLink() {
        if (fd_ >= 0) ::close(fd_);
    }
    BoardLink(const BoardLink&) = delete;
    BoardLink& operator=(const BoardLink&) = delete;

    void send(std::uint8_t type, const std::string& payload) {
        std::vector<std::uint8_t> wire(FW_FRAME_WIRE_MAX);
        const std::size_t n = fw_frame_encode(type, seq_++, payload.data(), payload.size(), wire.data(), wire.size(), nullptr);
        std::size_t off = 0;
        while (off < n) {
            const ssize_t w = ::write(fd_, wire.data() + off, n - off);
            if (w > 0) {
                off += static_cast<std::size_t>(w);
            } else {
                pollfd p{fd_, POLLOUT, 0};
                ::poll(&p, 1, 100);
            }
        }
    }
    void command(std::uint32_t id, nlohmann::json cmd) {
        cmd["id"] = id;
        send(FW_FRAME_COMMAND, cmd.dump());
    }
    void hello_req() { send(FW_FRAME_HELLO_REQ, "{}"); }

    /// Index of the next frame to arrive (to wait only for frames after now).
    [[nodiscard]] std::size_t mark() const { return frames_.size(); }

    /// The first frame at index >= from that satisfies pred, reading until the deadline.
    std::optional<Frame> wait_for(const std::function<bool(const Frame&)>& pred, std::chrono::milliseconds deadline,
                                  std::size_t from = 0) {
        const auto end = std::chrono::steady_clock::now() + deadline;
        std::size_t i = from;
        for (;;) {
            for (; i < frames_.size(); ++i) {
                if (pred(frames_[i])) return frames_[i];
            }
            const auto now = std::chrono::steady_clock::now();
            if (now >= end) return std::nullopt;
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - now).count();
            pollfd p{fd_, POLLIN, 0};
            ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 50)));
            read_available();
        }
    }
    /// The REPLY to command id.
    std::optional<Frame> reply(std::uint32_t id, std::chrono::milliseconds deadline) {
        return wait_for([id](const Frame& f) { return f.type == FW_FRAME_REPLY && f.json.value("id", 0U) == id; },
                        deadline);
    }

    [[nodiscard]] const std::vector<Frame>& frames() const { return frames_; }
    [[nodiscard]] const fw_frame_counters& counters() const { return rx_.n; }

private:
    void read_available() {
        std::uint8_t buf[4096];
        for (;;) {
            const ssize_t n = ::read(fd_, buf, sizeof buf);
            if (n <= 0) return;
            std::size_t off = 0;
            while (off < static_cast<std::size_t>(n)) {
                std::size_t used = 0;
                fw_frame f{};
                if (fw_frame_rx_feed(&rx_, buf + off, static_cast<std::size_t>(n) - off, &used, &f) == FW_FRAME_OK) {
                    Frame fr;
                    fr.type = f.type;
                    fr.seq = f.seq;
                    fr.payload.assign(f.payload, f.payload_len);
                    fr.json = nlohmann::json::parse(fr.payload, nullptr, false);
                    frames_.push_back(std::move(fr));
                }
                off += used;
            }
        }
    }

    int fd_;
    fw_frame_rx rx_{};
    std::uint16_t seq_ = 0;
    std::vector<Frame> frames_;
};

/// TRUTH frames' state, or an empty object.
inline nlohmann::json truth_state(const Frame& f) {
    if (f.type != FW_FRAME_TRUTH || !f.json.is_object() || !f.json.contains("state")) return nlohmann::json::object();
    return f.json["state"];
}

}  // namespace plant_test
