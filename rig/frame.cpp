#include "rig/frame.hpp"

#include <zlib.h>

#include <limits>

#include "fw/frame.h"

namespace consentrig::rig {

static_assert(kBodyMax == FW_FRAME_BODY_MAX);
static_assert(kHeaderSize == FW_FRAME_HEADER && kCrcSize == FW_FRAME_TRAILER);
static_assert(kPayloadMax == FW_FRAME_PAYLOAD_MAX);
static_assert(kWireMax == FW_FRAME_WIRE_MAX);
static_assert(kProtocolVersion == FW_FRAME_VERSION);
static_assert(static_cast<std::uint8_t>(FrameType::hello) == FW_FRAME_HELLO);
static_assert(static_cast<std::uint8_t>(FrameType::hello_req) == FW_FRAME_HELLO_REQ);
static_assert(static_cast<std::uint8_t>(FrameType::command) == FW_FRAME_COMMAND);
static_assert(static_cast<std::uint8_t>(FrameType::reply) == FW_FRAME_REPLY);
static_assert(static_cast<std::uint8_t>(FrameType::uplink) == FW_FRAME_UPLINK);
static_assert(static_cast<std::uint8_t>(FrameType::truth) == FW_FRAME_TRUTH);
static_assert(static_cast<std::uint8_t>(FrameType::log) == FW_FRAME_LOG);

namespace {

/// zlib's crc32 behind the C codec's CRC hook (bodies are at most 2048 bytes: no uInt overflow).
std::uint32_t zlib_crc(std::uint32_t crc, const std::uint8_t* data, std::size_t len) {
    return static_cast<std::uint32_t>(::crc32(crc, data, static_cast<uInt>(len)));
}

}  // namespace

std::string_view to_string(FrameType t) { return fw_frame_type_name(static_cast<std::uint8_t>(t)); }

std::uint32_t crc32(std::span<const std::uint8_t> data, std::uint32_t crc) {
    while (data.size() > std::numeric_limits<uInt>::max()) {
        crc = static_cast<std::uint32_t>(::crc32(crc, data.data(), std::numeric_limits<uInt>::max()));
        data = data.subspan(std::numeric_limits<uInt>::max());
    }
    return static_cast<std::uint32_t>(::crc32(crc, data.data(), static_cast<uInt>(data.size())));
}

std::vector<std::uint8_t> cobs_encode(std::span<const std::uint8_t> data) {
    std::vector<std::uint8_t> out(data.size() + data.size() / 254 + 1);
    out.resize(fw_cobs_encode(data.data(), data.size(), out.data(), out.size()));
    return out;
}

std::optional<std::vector<std::uint8_t>> cobs_decode(std::span<const std::uint8_t> data) {
    std::vector<std::uint8_t> out(data.size());
    bool ok = false;
    const std::size_t n = fw_cobs_decode(data.data(), data.size(), out.data(), out.size(), &ok);
    if (!ok) return std::nullopt;
    out.resize(n);
    return out;
}

std::vector<std::uint8_t> encode_frame(std::uint8_t type, std::uint16_t seq, std::string_view payload) {
    std::vector<std::uint8_t> out(kWireMax);
    out.resize(fw_frame_encode(type, seq, payload.data(), payload.size(), out.data(), out.size(), &zlib_crc));
    return out;
}

std::vector<std::uint8_t> make_body(std::uint8_t type, std::uint16_t seq, std::string_view payload,
                                    std::uint8_t version) {
    std::vector<std::uint8_t> body;
    body.reserve(kHeaderSize + payload.size() + kCrcSize);
    const BodyHeader h{version, type, static_cast<std::uint8_t>(seq & 0xFF), static_cast<std::uint8_t>(seq >> 8)};
    body.push_back(h.version);
    body.push_back(h.type);
    body.push_back(h.seq_lo);
    body.push_back(h.seq_hi);
    body.insert(body.end(), payload.begin(), payload.end());
    const std::uint32_t c = crc32(body);
    for (int i = 0; i < 4; ++i) body.push_back(static_cast<std::uint8_t>(c >> (8 * i)));
    return body;
}

std::vector<std::uint8_t> FrameEncoder::encode(FrameType type, std::string_view payload) {
    auto out = encode_frame(static_cast<std::uint8_t>(type), seq_, payload);
    if (!out.empty()) ++seq_;
    return out;
}

struct FrameDecoder::State {
    fw_frame_rx rx;
};

FrameDecoder::FrameDecoder() : s_(std::make_unique<State>()) {
    fw_frame_rx_init(&s_->rx);
    s_->rx.crc32 = &zlib_crc;
}
FrameDecoder::~FrameDecoder() = default;
FrameDecoder::FrameDecoder(FrameDecoder&&) noexcept = default;
FrameDecoder& FrameDecoder::operator=(FrameDecoder&&) noexcept = default;

std::size_t FrameDecoder::step(std::span<const std::uint8_t> bytes, FrameView& f) {
    fw_frame fr{};
    std::size_t used = 0;
    if (fw_frame_rx_feed(&s_->rx, bytes.data(), bytes.size(), &used, &fr) == FW_FRAME_OK) {
        f.raw_type = fr.type;
        f.seq = fr.seq;
        f.payload = std::string_view(fr.payload, fr.payload_len);
        f.gap = fr.gap;
        if (f.raw_type == 0) ++unknown_type_;  // type 0 is no protocol type: skipped
    }
    return used;
}

FrameCounters FrameDecoder::counters() const {
    const fw_frame_counters& n = s_->rx.n;
    FrameCounters c;
    c.bytes = n.bytes;
    c.frames = n.frames;
    c.bad_cobs = n.bad_cobs;
    c.oversize = n.oversize;
    c.runt = n.runt;
    c.bad_crc = n.bad_crc;
    c.bad_version = n.bad_version;
    c.bad_json = n.bad_json + extra_bad_json_;
    c.lost_by_sequence_gap = n.lost;
    c.unknown_type = unknown_type_;
    return c;
}

void FrameDecoder::reset_partial() { fw_frame_rx_reset_partial(&s_->rx); }
void FrameDecoder::reset_sequence() { fw_frame_rx_reset_seq(&s_->rx); }

}  // namespace consentrig::rig
