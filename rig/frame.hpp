#pragma once
/// rig/frame.hpp — the board protocol's frames (PROTOCOL.md §1) on the rig side.
///
/// A thin C++ face over the one frame codec every host shares (firmware-stubs/core
/// fw/frame.h: COBS, body layout, streaming decoder with resync and per-kind counters), with
/// the rig's CRC-32 taken from zlib. The layout constants are checked against the C codec at
/// compile time, so the two cannot drift apart.
///
///   FrameEncoder enc;                                    // keeps the rig's sequence number
///   auto wire = enc.encode(FrameType::command, R"({"id":1,"op":"reset"})");
///   FrameDecoder dec;
///   dec.feed(bytes, [](const FrameView& f) { … f.type, f.seq, f.payload … });
///   dec.counters().bad_crc …
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace consentrig::rig {

enum class FrameType : std::uint8_t {
    hello = 0x01,      ///< board → rig
    hello_req = 0x02,  ///< rig → board
    command = 0x10,    ///< rig → board
    reply = 0x11,      ///< board → rig
    uplink = 0x20,     ///< board → rig
    truth = 0x21,      ///< board → rig
    log = 0x30,        ///< board → rig
};
/// "HELLO", "HELLO_REQ", … "UNKNOWN".
[[nodiscard]] std::string_view to_string(FrameType t);

inline constexpr std::uint8_t kProtocolVersion = 0x01;
inline constexpr std::size_t kBodyMax = 2048;     ///< version…crc
inline constexpr std::size_t kHeaderSize = 4;     ///< version, type, seq (LE)
inline constexpr std::size_t kCrcSize = 4;        ///< CRC-32 (LE)
inline constexpr std::size_t kPayloadMax = kBodyMax - kHeaderSize - kCrcSize;  ///< 2040
/// Longest wire frame: COBS of a full body (one code byte per started 254 bytes) + 0x00.
inline constexpr std::size_t kWireMax = kBodyMax + kBodyMax / 254 + 2;       ///< 2058

/// The body header as it lies on the wire (before COBS).
struct BodyHeader {
    std::uint8_t version;
    std::uint8_t type;
    std::uint8_t seq_lo;
    std::uint8_t seq_hi;
};
static_assert(sizeof(BodyHeader) == kHeaderSize && alignof(BodyHeader) == 1);

/// CRC-32 (IEEE 802.3) — zlib's crc32.
[[nodiscard]] std::uint32_t crc32(std::span<const std::uint8_t> data, std::uint32_t crc = 0);

/// COBS without the trailing delimiter.
[[nodiscard]] std::vector<std::uint8_t> cobs_encode(std::span<const std::uint8_t> data);
/// nullopt when `data` is not valid COBS.
[[nodiscard]] std::optional<std::vector<std::uint8_t>> cobs_decode(std::span<const std::uint8_t> data);

/// One wire frame (COBS(body) 0x00). Empty when the payload exceeds kPayloadMax. `type` is a
/// raw byte so tests can send unknown types; the payload is not checked (tests send bad JSON).
[[nodiscard]] std::vector<std::uint8_t> encode_frame(std::uint8_t type, std::uint16_t seq, std::string_view payload);
/// The body (before COBS): header, payload, CRC. For tests that corrupt bodies.
[[nodiscard]] std::vector<std::uint8_t> make_body(std::uint8_t type, std::uint16_t seq, std::string_view payload,
                                                  std::uint8_t version = kProtocolVersion);

/// A sender: numbers its frames +1 each, wrapping.
class FrameEncoder {
public:
    explicit FrameEncoder(std::uint16_t first_seq = 0) : seq_(first_seq) {}
    /// Empty (and no sequence number used) when the payload is too large.
    [[nodiscard]] std::vector<std::uint8_t> encode(FrameType type, std::string_view payload);
    [[nodiscard]] std::uint16_t next_seq() const { return seq_; }

private:
    std::uint16_t seq_;
};

/// Everything a receiver counts (PROTOCOL.md §1: dropped frames by kind, lost by sequence gap).
struct FrameCounters {
    std::uint64_t bytes = 0;                 ///< every byte fed
    std::uint64_t frames = 0;                ///< valid frames delivered
    std::uint64_t bad_cobs = 0;
    std::uint64_t oversize = 0;              ///< body > 2048 bytes
    std::uint64_t runt = 0;                  ///< non-empty body < 8 bytes
    std::uint64_t bad_crc = 0;
    std::uint64_t bad_version = 0;
    std::uint64_t bad_json = 0;
    std::uint64_t lost_by_sequence_gap = 0;
    std::uint64_t unknown_type = 0;          ///< valid frames of a type the rig does not take

    [[nodiscard]] std::uint64_t dropped() const {
        return bad_cobs + oversize + runt + bad_crc + bad_version + bad_json;
    }
    friend bool operator==(const FrameCounters&, const FrameCounters&) = default;
};

/// A decoded frame; `payload` is valid during the callback only.
struct FrameView {
    std::uint8_t raw_type = 0;
    std::uint16_t seq = 0;
    std::string_view payload;
    std::uint16_t gap = 0;  ///< frames lost right before this one
    [[nodiscard]] FrameType type() const { return static_cast<FrameType>(raw_type); }
};

/// Streaming receiver: feed bytes as they arrive; each valid frame is handed to the callback
/// the moment its 0x00 arrives. Garbage and corrupt frames are skipped to the next 0x00 and
/// counted; nothing stops the stream.
class FrameDecoder {
public:
    FrameDecoder();
    ~FrameDecoder();
    FrameDecoder(FrameDecoder&&) noexcept;
    FrameDecoder& operator=(FrameDecoder&&) noexcept;

    template <class OnFrame>
    void feed(std::span<const std::uint8_t> bytes, OnFrame&& on_frame) {
        while (!bytes.empty()) {
            FrameView f;
            const std::size_t used = step(bytes, f);
            bytes = bytes.subspan(used);
            if (f.raw_type != 0) on_frame(static_cast<const FrameView&>(f));
        }
    }
    [[nodiscard]] FrameCounters counters() const;
    /// For receivers that find the payload unusable after all (counted as bad_json) or of a
    /// type they do not take (unknown_type).
    void count_bad_json() { ++extra_bad_json_; }
    void count_unknown_type() { ++unknown_type_; }
    /// The link was reopened: forget the half-read frame (counters and sequence are kept).
    void reset_partial();
    /// The sender restarted: the next frame counts no sequence gap.
    void reset_sequence();

private:
    /// Consumes up to one frame's end; f.raw_type != 0 when a valid frame ended.
    std::size_t step(std::span<const std::uint8_t> bytes, FrameView& f);
    struct State;
    std::unique_ptr<State> s_;
    std::uint64_t extra_bad_json_ = 0;
    std::uint64_t unknown_type_ = 0;
};

}  // namespace consentrig::rig
