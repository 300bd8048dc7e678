// Frame codec (firmware-stubs/core fw/frame.h and rig/frame.hpp): COBS and CRC vectors, body
// layout, the streaming decoder's resync and every error counter, sequence wrap.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "fw/frame.h"
#include "rig/frame.hpp"

namespace consentrig::rig {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes bytes(std::initializer_list<int> v) {
    Bytes b;
    for (int x : v) b.push_back(static_cast<std::uint8_t>(x));
    return b;
}

Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

struct Collected {
    std::vector<std::uint8_t> types;
    std::vector<std::uint16_t> seqs;
    std::vector<std::string> payloads;
    std::vector<std::uint16_t> gaps;
};

Collected feed(FrameDecoder& d, const Bytes& b, std::size_t chunk = SIZE_MAX) {
    Collected c;
    for (std::size_t at = 0; at < b.size(); at += chunk) {
        const std::size_t n = std::min(chunk, b.size() - at);
        d.feed(std::span<const std::uint8_t>(b.data() + at, n), [&](const FrameView& f) {
            c.types.push_back(f.raw_type);
            c.seqs.push_back(f.seq);
            c.payloads.emplace_back(f.payload);
            c.gaps.push_back(f.gap);
        });
    }
    return c;
}

Bytes cobs_frame(const Bytes& body) {
    Bytes out = cobs_encode(body);
    out.push_back(0);
    return out;
}

// ---- CRC ---------------------------------------------------------------------------------

TEST(Crc32, KnownVectors) {
    EXPECT_EQ(fw_crc32("123456789", 9), 0xCBF43926u);
    EXPECT_EQ(fw_crc32("", 0), 0u);
    EXPECT_EQ(fw_crc32("The quick brown fox jumps over the lazy dog", 43), 0x414FA339u);
    const Bytes zeros(32, 0);
    EXPECT_EQ(fw_crc32(zeros.data(), zeros.size()), 0x190A55ADu);
    const Bytes ff(32, 0xFF);
    EXPECT_EQ(fw_crc32(ff.data(), ff.size()), 0xFF6CAB0Bu);
}

TEST(Crc32, TableMatchesZlibOnRandomData) {
    std::mt19937 rng(5);
    for (int i = 0; i < 500; ++i) {
        Bytes b(rng() % 3000);
        for (auto& x : b) x = static_cast<std::uint8_t>(rng());
        const auto z = static_cast<std::uint32_t>(::crc32(0, b.data(), static_cast<uInt>(b.size())));
        ASSERT_EQ(fw_crc32(b.data(), b.size()), z);
        ASSERT_EQ(rig::crc32(b), z);
        // chaining like zlib
        const std::size_t half = b.size() / 2;
        ASSERT_EQ(fw_crc32_update(fw_crc32_update(0, b.data(), half), b.data() + half, b.size() - half), z);
    }
}

// ---- COBS --------------------------------------------------------------------------------

TEST(Cobs, WikipediaVectors) {
    EXPECT_EQ(cobs_encode(bytes({})), bytes({0x01}));
    EXPECT_EQ(cobs_encode(bytes({0x00})), bytes({0x01, 0x01}));
    EXPECT_EQ(cobs_encode(bytes({0x00, 0x00})), bytes({0x01, 0x01, 0x01}));
    EXPECT_EQ(cobs_encode(bytes({0x00, 0x11, 0x00})), bytes({0x01, 0x02, 0x11, 0x01}));
    EXPECT_EQ(cobs_encode(bytes({0x11, 0x22, 0x00, 0x33})), bytes({0x03, 0x11, 0x22, 0x02, 0x33}));
    EXPECT_EQ(cobs_encode(bytes({0x11, 0x22, 0x33, 0x44})), bytes({0x05, 0x11, 0x22, 0x33, 0x44}));
    EXPECT_EQ(cobs_encode(bytes({0x11, 0x00, 0x00, 0x00})), bytes({0x02, 0x11, 0x01, 0x01, 0x01}));
}

TEST(Cobs, LongRuns254And255) {
    Bytes run254(254), run255(255), zero_then_254(255);
    for (int i = 0; i < 254; ++i) run254[i] = static_cast<std::uint8_t>(i + 1);           // 01…FE
    for (int i = 0; i < 255; ++i) run255[i] = static_cast<std::uint8_t>(i + 1);           // 01…FF
    zero_then_254[0] = 0;
    for (int i = 1; i < 255; ++i) zero_then_254[i] = static_cast<std::uint8_t>(i);        // 00 01…FE
    // 01…FE → FF 01…FE (no trailing 01 code)
    Bytes e = cobs_encode(run254);
    ASSERT_EQ(e.size(), 255u);
    EXPECT_EQ(e[0], 0xFF);
    EXPECT_TRUE(std::equal(run254.begin(), run254.end(), e.begin() + 1));
    // 01…FF → FF 01…FE 02 FF
    e = cobs_encode(run255);
    ASSERT_EQ(e.size(), 257u);
    EXPECT_EQ(e[0], 0xFF);
    EXPECT_EQ(e[255], 0x02);
    EXPECT_EQ(e[256], 0xFF);
    // 00 01…FE → 01 FF 01…FE
    e = cobs_encode(zero_then_254);
    ASSERT_EQ(e.size(), 256u);
    EXPECT_EQ(e[0], 0x01);
    EXPECT_EQ(e[1], 0xFF);
    for (const Bytes* b : {&run254, &run255, &zero_then_254}) {
        auto d = cobs_decode(cobs_encode(*b));
        ASSERT_TRUE(d);
        EXPECT_EQ(*d, *b);
    }
    // the decoder also accepts the variant with a trailing 01 code after a full block
    Bytes with_01 = cobs_encode(run254);
    with_01.push_back(0x01);
    auto d = cobs_decode(with_01);
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, run254);
}

TEST(Cobs, RoundTripRandomAndAllZeros) {
    std::mt19937 rng(11);
    for (int i = 0; i < 2000; ++i) {
        Bytes b(rng() % 1200);
        const int mode = i % 3;
        for (auto& x : b) x = mode == 0 ? 0 : mode == 1 ? static_cast<std::uint8_t>(rng() | 1) : static_cast<std::uint8_t>(rng() % 3 == 0 ? 0 : rng());
        const Bytes e = cobs_encode(b);
        ASSERT_LE(e.size(), b.size() + b.size() / 254 + 1);
        ASSERT_EQ(std::count(e.begin(), e.end(), 0), 0);
        auto d = cobs_decode(e);
        ASSERT_TRUE(d);
        ASSERT_EQ(*d, b);
    }
}

TEST(Cobs, RejectsInvalid) {
    EXPECT_FALSE(cobs_decode(bytes({0x03, 0x11})));        // block runs past the end
    EXPECT_FALSE(cobs_decode(bytes({0x02, 0x00})));        // zero inside
    EXPECT_FALSE(cobs_decode(bytes({0x00})));
    std::uint8_t out[2];
    bool ok = true;
    const std::uint8_t in[] = {0x04, 1, 2, 3};
    static_cast<void>(fw_cobs_decode(in, sizeof in, out, sizeof out, &ok));  // output too small
    EXPECT_FALSE(ok);
    std::uint8_t small[3];
    const std::uint8_t data[] = {1, 2, 3};
    EXPECT_EQ(fw_cobs_encode(data, 3, small, sizeof small), 0u);  // needs 4
}

// ---- body layout ---------------------------------------------------------------------------

TEST(Frame, BodyLayoutIsProtocolV1) {
    const std::string payload = R"({"id":7,"op":"reset"})";
    const Bytes wire = encode_frame(0x10, 0x1234, payload);
    ASSERT_FALSE(wire.empty());
    EXPECT_EQ(wire.back(), 0);
    EXPECT_EQ(std::count(wire.begin(), wire.end(), 0), 1);
    auto body = cobs_decode(std::span(wire).first(wire.size() - 1));
    ASSERT_TRUE(body);
    ASSERT_EQ(body->size(), 4 + payload.size() + 4);
    EXPECT_EQ((*body)[0], 0x01);  // version
    EXPECT_EQ((*body)[1], 0x10);  // type COMMAND
    EXPECT_EQ((*body)[2], 0x34);  // seq little-endian
    EXPECT_EQ((*body)[3], 0x12);
    EXPECT_EQ(std::string(body->begin() + 4, body->begin() + 4 + static_cast<long>(payload.size())), payload);
    const std::uint32_t crc = static_cast<std::uint32_t>(::crc32(0, body->data(), static_cast<uInt>(4 + payload.size())));
    const std::size_t c = 4 + payload.size();
    EXPECT_EQ((*body)[c], crc & 0xFF);
    EXPECT_EQ((*body)[c + 1], (crc >> 8) & 0xFF);
    EXPECT_EQ((*body)[c + 2], (crc >> 16) & 0xFF);
    EXPECT_EQ((*body)[c + 3], crc >> 24);
    EXPECT_EQ(*body, make_body(0x10, 0x1234, payload));
}

TEST(Frame, MaxSizeBodyRoundTripsAndOneMoreIsRefused) {
    std::string payload = "{\"x\":\"";
    payload.resize(kPayloadMax - 2, 'a');
    payload += "\"}";
    ASSERT_EQ(payload.size(), kPayloadMax);
    const Bytes wire = encode_frame(0x20, 1, payload);
    ASSERT_FALSE(wire.empty());
    EXPECT_LE(wire.size(), kWireMax);
    FrameDecoder d;
    auto c = feed(d, wire);
    ASSERT_EQ(c.payloads.size(), 1u);
    EXPECT_EQ(c.payloads[0], payload);
    EXPECT_TRUE(encode_frame(0x20, 1, payload + " ").empty());
    FrameEncoder enc;
    EXPECT_TRUE(enc.encode(FrameType::uplink, payload + " ").empty());
    EXPECT_EQ(enc.next_seq(), 0);  // nothing consumed
}

TEST(Frame, WorstCaseWireSizeFitsTheBuffer) {
    // a body without zeros needs the most code bytes
    Bytes body(kBodyMax, 0x41);
    EXPECT_EQ(cobs_encode(body).size() + 1, kWireMax);  // 2048 + 9 code bytes + 0x00
    static_assert(FW_FRAME_WIRE_MAX == kWireMax);
}

// ---- decoder -------------------------------------------------------------------------------

TEST(Decoder, DecodesFramesSplitAtEveryByte) {
    FrameEncoder enc;
    Bytes stream;
    for (int i = 0; i < 5; ++i) {
        auto f = enc.encode(FrameType::truth, R"({"t":)" + std::to_string(i) + R"(,"state":{"battery":87}})");
        stream.insert(stream.end(), f.begin(), f.end());
    }
    FrameDecoder d;
    auto c = feed(d, stream, 1);
    ASSERT_EQ(c.payloads.size(), 5u);
    EXPECT_EQ(c.seqs, (std::vector<std::uint16_t>{0, 1, 2, 3, 4}));
    EXPECT_EQ(c.types[0], 0x21);
    EXPECT_EQ(d.counters().frames, 5u);
    EXPECT_EQ(d.counters().bytes, stream.size());
    EXPECT_EQ(d.counters().dropped(), 0u);
}

TEST(Decoder, ResyncsAfterGarbageAndCountsIt) {
    std::mt19937 rng(3);
    Bytes garbage(300);
    for (auto& x : garbage) x = static_cast<std::uint8_t>(rng() | 1);  // no zeros: one long junk frame
    garbage.push_back(0);
    const Bytes good = encode_frame(0x20, 0, R"({"t":1,"to":"a","format":"json","body":{}})");
    FrameDecoder d;
    auto c = feed(d, concat({garbage, good}));
    ASSERT_EQ(c.payloads.size(), 1u);
    EXPECT_EQ(d.counters().dropped(), 1u);
    // leading zeros / repeated delimiters are empty frames: ignored, not counted
    FrameDecoder d2;
    c = feed(d2, concat({bytes({0, 0, 0}), good, bytes({0, 0})}));
    EXPECT_EQ(c.payloads.size(), 1u);
    EXPECT_EQ(d2.counters().dropped(), 0u);
}

TEST(Decoder, CountsEveryKindOfError) {
    FrameDecoder d;
    const std::string ok = R"({"a":1})";
    // bad CRC: flip one payload bit
    Bytes body = make_body(0x21, 0, ok);
    body[5] ^= 0x01;
    Bytes bad_crc = cobs_frame(body);
    // bad version
    Bytes bad_version = cobs_frame(make_body(0x21, 1, ok, 0x02));
    // bad COBS: a code byte promising more than arrives before the 0x00
    Bytes bad_cobs = bytes({0x09, 0x41, 0x42, 0x00});
    // oversize: a valid-looking COBS stream of 2049 decoded bytes
    Bytes big(kBodyMax + 1, 0x41);
    Bytes oversize = cobs_frame(big);
    // runt: 3 bytes of body
    Bytes runt = cobs_frame(bytes({1, 0x21, 0}));
    // bad JSON: correct frame around a payload that is not one JSON object
    Bytes bad_json = encode_frame(0x21, 2, R"({"a":)");
    Bytes not_object = encode_frame(0x21, 3, R"([1,2])");
    Bytes bad_utf8 = encode_frame(0x21, 4, "{\"a\":\"\xC3\x28\"}");
    Bytes good = encode_frame(0x21, 5, ok);
    auto c = feed(d, concat({bad_crc, bad_version, bad_cobs, oversize, runt, bad_json, not_object, bad_utf8, good}));
    const auto n = d.counters();
    EXPECT_EQ(n.bad_crc, 1u);
    EXPECT_EQ(n.bad_version, 1u);
    EXPECT_EQ(n.bad_cobs, 1u);
    EXPECT_EQ(n.oversize, 1u);
    EXPECT_EQ(n.runt, 1u);
    EXPECT_EQ(n.bad_json, 3u);
    EXPECT_EQ(n.frames, 1u);
    ASSERT_EQ(c.payloads.size(), 1u);
    EXPECT_EQ(c.seqs[0], 5);
    EXPECT_EQ(n.lost_by_sequence_gap, 0u);  // first valid frame: nothing expected yet
    d.count_bad_json();
    d.count_unknown_type();
    EXPECT_EQ(d.counters().bad_json, 4u);
    EXPECT_EQ(d.counters().unknown_type, 1u);
}

TEST(Decoder, GivenEveryKindOfFrameWhenFedInRandomChunksThenTheResultIsTheSameAsInOnePiece) {
    // GIVEN a stream with maximum-size, oversize (by one and by many), escaped and UTF-8 payloads,
    // garbage and a 254-byte run, as the block-at-a-time COBS path must handle them across feeds
    std::string max_payload = "{\"x\":\"";
    max_payload.resize(kPayloadMax - 2, 'a');
    max_payload += "\"}";
    Bytes stream = concat({encode_frame(0x21, 0, max_payload), cobs_frame(Bytes(kBodyMax + 1, 0x41)),
                           cobs_frame(Bytes(3 * kBodyMax, 0x42)),
                           encode_frame(0x21, 1, "{\"s\":\"q\\\"\\\\\\u00e9\\ud83d\\ude00 \xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"}"),
                           bytes({0x05, 0x41, 0x00}), encode_frame(0x21, 2, "{\"p\":\"" + std::string(254, 'y') + "\"}"),
                           encode_frame(0x21, 3, "{\"bad\":\"\xC3\x28\"}"), encode_frame(0x21, 4, R"({"n":[1,2.5e3,-0,true,null]})")});
    FrameDecoder whole;
    const auto expected = feed(whole, stream);
    ASSERT_EQ(expected.payloads.size(), 4u);
    EXPECT_EQ(expected.payloads[0], max_payload);
    EXPECT_EQ(whole.counters().oversize, 2u);
    EXPECT_EQ(whole.counters().bad_json, 1u);
    EXPECT_EQ(whole.counters().bad_cobs, 1u);
    std::mt19937 rng(11);
    for (int round = 0; round < 50; ++round) {
        // WHEN the same bytes arrive in random pieces of 1…300 bytes
        FrameDecoder d;
        Collected c;
        for (std::size_t at = 0; at < stream.size();) {
            const std::size_t n = std::min<std::size_t>(1 + rng() % 300, stream.size() - at);
            const auto part = feed(d, Bytes(stream.begin() + static_cast<std::ptrdiff_t>(at),
                                            stream.begin() + static_cast<std::ptrdiff_t>(at + n)));
            c.payloads.insert(c.payloads.end(), part.payloads.begin(), part.payloads.end());
            at += n;
        }
        // THEN the same frames come out and every counter agrees
        EXPECT_EQ(c.payloads, expected.payloads) << "round " << round;
        const auto a = d.counters(), b = whole.counters();
        EXPECT_EQ(a.frames, b.frames);
        EXPECT_EQ(a.bytes, b.bytes);
        EXPECT_EQ(a.oversize, b.oversize);
        EXPECT_EQ(a.bad_cobs, b.bad_cobs);
        EXPECT_EQ(a.bad_json, b.bad_json);
        EXPECT_EQ(a.bad_crc, b.bad_crc);
    }
}

TEST(Decoder, SequenceGapsAndWrap) {
    FrameDecoder d;
    Bytes s;
    for (std::uint16_t seq : {65533, 65534, 65535, 0, 1, 4, 5}) {
        auto f = encode_frame(0x21, seq, "{}");
        s.insert(s.end(), f.begin(), f.end());
    }
    auto c = feed(d, s);
    EXPECT_EQ(c.payloads.size(), 7u);
    EXPECT_EQ(d.counters().lost_by_sequence_gap, 2u);  // 2 and 3 missing; the wrap is no gap
    EXPECT_EQ(c.gaps, (std::vector<std::uint16_t>{0, 0, 0, 0, 0, 2, 0}));
    // a HELLO restarts the sequence (the board rebooted) without counting a gap
    auto hello = encode_frame(0x01, 0, R"({"proto":1})");
    auto after = encode_frame(0x21, 1, "{}");
    c = feed(d, concat({hello, after}));
    EXPECT_EQ(d.counters().lost_by_sequence_gap, 2u);
    // reset_sequence: the next frame counts nothing
    d.reset_sequence();
    c = feed(d, encode_frame(0x21, 900, "{}"));
    EXPECT_EQ(d.counters().lost_by_sequence_gap, 2u);
}

TEST(Decoder, ResetPartialDropsAHalfFrame) {
    FrameDecoder d;
    Bytes f = encode_frame(0x21, 0, R"({"a":1})");
    Bytes half(f.begin(), f.begin() + 5);
    feed(d, half);
    d.reset_partial();
    auto c = feed(d, f);
    EXPECT_EQ(c.payloads.size(), 1u);
    EXPECT_EQ(d.counters().dropped(), 0u);
}

TEST(Json, ObjectCheck) {
    auto valid = [](std::string_view s) { return fw_json_object_valid(s.data(), s.size()); };
    EXPECT_TRUE(valid("{}"));
    EXPECT_TRUE(valid(" \t\r\n{ } \n"));
    EXPECT_TRUE(valid(R"({"a":[1,-2.5e+10,0.1,{"b":null,"c":true,"d":false}],"e":"\"\\\/\b\f\n\r\t\u00e9"})"));
    EXPECT_TRUE(valid("{\"\\ud83d\\ude00\":\"\xF0\x9F\x98\x80\"}"));
    for (const char* bad : {"", "[]", "1", "\"s\"", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{a:1}", "{\"a\":01}",
                            "{\"a\":1.}", "{\"a\":-}", "{\"a\":tru}", "{\"a\":\"\\x\"}", "{\"a\":\"\\ud800\"}",
                            "{\"a\":\"\\udc00\"}", "{} {}", "{\"a\":[1,]}", "{\"a\":\"\x01\"}", "{\"a\":\"\xC0\xAF\"}",
                            "{\"a\":\"\xED\xA0\x80\"}", "{\"a\":1}x"}) {
        EXPECT_FALSE(valid(bad)) << bad;
    }
    std::string deep = "{\"a\":";
    for (int i = 0; i < 31; ++i) deep += "[";
    deep += "1";
    for (int i = 0; i < 31; ++i) deep += "]";
    deep += "}";
    EXPECT_TRUE(valid(deep));  // 32 levels
    deep = "{\"a\":[" + deep.substr(5, deep.size() - 6) + "]}";
    EXPECT_FALSE(valid(deep));  // 33
}

TEST(Builders, EnvelopesAreProtocolJson) {
    static fw_frame_tx tx;
    fw_frame_tx_init(&tx);
    FrameDecoder d;
    auto one = [&](std::size_t n) {
        EXPECT_GT(n, 0u);
        auto c = feed(d, Bytes(tx.wire, tx.wire + n));
        EXPECT_EQ(c.payloads.size(), 1u);
        return c.payloads.empty() ? std::string() : c.payloads[0];
    };
    const char* caps[] = {"time_scale", "plant_modbus"};
    const char id[] = "th\"ermo\x01";
    fw_hello h{"mps2-an385", "thermostat-stub", "0.1.0", id, sizeof id - 1, "thermostat", caps, 2};
    EXPECT_EQ(one(fw_frame_tx_hello(&tx, &h)),
              R"({"proto":1,"board":"mps2-an385","firmware":"thermostat-stub","version":"0.1.0","device":{"id":"th\"ermo\u0001","kind":"thermostat"},"caps":["time_scale","plant_modbus"]})");
    EXPECT_EQ(one(fw_frame_tx_reply(&tx, 42, nullptr)), R"({"id":42,"ok":true})");
    EXPECT_EQ(one(fw_frame_tx_reply(&tx, 43, "unknown op")), R"({"id":43,"ok":false,"error":"unknown op"})");
    EXPECT_EQ(one(fw_frame_tx_uplink(&tx, 1234, "voice-partner", "alexa", "{\"a\":1}", 7)),
              R"({"t":1234,"to":"voice-partner","format":"alexa","body":{"a":1}})");
    EXPECT_EQ(one(fw_frame_tx_truth(&tx, 5, "{\"battery\":87}", 14)), R"({"t":5,"state":{"battery":87}})");
    EXPECT_EQ(one(fw_frame_tx_log(&tx, 6, "warn", "a\nb", 3)), R"({"t":6,"level":"warn","msg":"a\nb"})");
    EXPECT_EQ(tx.seq, 6);
    EXPECT_EQ(d.counters().lost_by_sequence_gap, 0u);
    // a body too large for a frame is refused and uses no sequence number
    std::string big(3000, 'x');
    EXPECT_EQ(fw_frame_tx_truth(&tx, 1, big.data(), big.size()), 0u);
    EXPECT_EQ(tx.seq, 6);
}

}  // namespace
}  // namespace consentrig::rig
