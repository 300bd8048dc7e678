/*
 * fw/frame.h — the board protocol's frame layer (PROTOCOL.md §1), board side and shared.
 *
 * One C11 implementation of the wire format that every host of the firmware uses: the host
 * (pty) HAL, the Cortex-M3 HAL and — wrapped in C++ — the rig (rig/frame.hpp). No heap, no
 * floating point, no libc beyond memcpy/memset; cross-compiles for Cortex-M3.
 *
 * WIRE FORMAT
 *   frame on the wire = COBS(body) 0x00            (no 0x00 inside, one 0x00 at the end)
 *   body              = version(1) = 0x01 | type(1) | seq(2, uint16 LE) | payload(n) | crc(4)
 *   crc               = CRC-32 IEEE 802.3 (zlib crc32) of version…payload, little-endian
 *   body length       <= FW_FRAME_BODY_MAX (2048), so payload <= FW_FRAME_PAYLOAD_MAX (2040)
 *
 * SENDING
 *   fw_frame_encode() turns one payload into a complete wire frame (COBS, CRC, delimiter).
 *   fw_frame_tx keeps the sender's sequence number plus a payload and a wire buffer and builds
 *   the board's frames (HELLO, REPLY, UPLINK, TRUTH, LOG) with their JSON envelopes:
 *
 *     static fw_frame_tx tx;                       // ~4.1 KB; static on an MCU
 *     fw_frame_tx_init(&tx);
 *     size_t n = fw_frame_tx_uplink(&tx, t_ms, "voice-partner", "alexa", body, body_len);
 *     if (n != 0) uart_write(tx.wire, n);          // 0: did not fit, nothing was consumed
 *
 * RECEIVING
 *   fw_frame_rx is a streaming decoder: feed it whatever bytes arrive; it returns each frame
 *   as soon as its 0x00 arrives, or the kind of error that frame had. After an error it has
 *   already resynchronised (it skips to the next 0x00). Every outcome is counted:
 *
 *     static fw_frame_rx rx; fw_frame_rx_init(&rx);   // ~2.1 KB
 *     for (size_t off = 0, used = 0; off < n; off += used) {
 *         fw_frame f;
 *         if (fw_frame_rx_feed(&rx, buf + off, n - off, &used, &f) == FW_FRAME_OK)
 *             handle(f.type, f.payload, f.payload_len);
 *     }
 *
 *   Checks, in order, each counted under its own kind: COBS (a 0x00 inside a COBS block, i.e.
 *   a block cut short) → size (> 2048 decoded bytes: skipped to the next 0x00 without storing)
 *   → length (a non-empty body shorter than 8 bytes: `runt`) → CRC → version → JSON (the payload
 *   must be one valid JSON object; optional, on by default). Only a frame that passes all of
 *   them is returned, and only such frames take part in sequence tracking:
 *   seq != expected adds (seq - expected) mod 65536 to `lost`. A HELLO whose seq is not the
 *   expected one restarts the expectation without counting (the sender rebooted). An empty
 *   frame (two 0x00 in a row, or a 0x00 first) is ignored silently, so a sender may send a
 *   0x00 first to flush whatever a receiver has half-read.
 *
 * CRC
 *   fw_crc32() is a table-driven (256 x 32-bit, in flash) CRC-32 identical to zlib's crc32().
 *   Both fw_frame_tx and fw_frame_rx take an optional replacement (`crc32` member, same
 *   contract as zlib's crc32(crc, buf, len)) — the rig plugs zlib in; NULL uses fw_crc32_update.
 */
#ifndef FW_FRAME_H
#define FW_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FW_FRAME_VERSION 0x01u
#define FW_FRAME_BODY_MAX 2048u    /* version + type + seq + payload + crc */
#define FW_FRAME_HEADER 4u         /* version, type, seq */
#define FW_FRAME_TRAILER 4u        /* crc */
#define FW_FRAME_OVERHEAD (FW_FRAME_HEADER + FW_FRAME_TRAILER)
#define FW_FRAME_PAYLOAD_MAX (FW_FRAME_BODY_MAX - FW_FRAME_OVERHEAD) /* 2040 */
/* Longest COBS encoding of n bytes (one code byte per started 254-byte block). */
#define FW_COBS_MAX(n) ((n) + (n) / 254u + 1u)
/* Longest wire frame: COBS of the largest body plus the 0x00 delimiter (2058). */
#define FW_FRAME_WIRE_MAX (FW_COBS_MAX(FW_FRAME_BODY_MAX) + 1u)
#define FW_FRAME_JSON_DEPTH_MAX 32u /* deeper nesting counts as bad JSON */

/* Frame types (PROTOCOL.md §1). */
typedef enum fw_frame_type {
    FW_FRAME_HELLO = 0x01,     /* board → rig */
    FW_FRAME_HELLO_REQ = 0x02, /* rig → board */
    FW_FRAME_COMMAND = 0x10,   /* rig → board */
    FW_FRAME_REPLY = 0x11,     /* board → rig */
    FW_FRAME_UPLINK = 0x20,    /* board → rig */
    FW_FRAME_TRUTH = 0x21,     /* board → rig */
    FW_FRAME_LOG = 0x30        /* board → rig */
} fw_frame_type;

/* "HELLO", "COMMAND", …; "UNKNOWN" for other values. */
const char* fw_frame_type_name(uint8_t type);

/* CRC function with zlib's contract: crc32(crc, buf, len), start with crc = 0. */
typedef uint32_t (*fw_crc32_fn)(uint32_t crc, const uint8_t* data, size_t len);

/* CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320, init/xorout 0xFFFFFFFF) — zlib's crc32().
   fw_crc32_update(0, "123456789", 9) == 0xCBF43926. Chainable like zlib's. */
uint32_t fw_crc32_update(uint32_t crc, const uint8_t* data, size_t len);
uint32_t fw_crc32(const void* data, size_t len);

/* COBS (Cheshire & Baker). Encoding: no trailing delimiter; a block of 254 non-zero bytes that
   ends the input is not followed by an extra 0x01 code (the common convention; the decoder
   accepts both). Returns the encoded length, or 0 when cap is too small (even an empty input
   encodes to one byte, 0x01). */
size_t fw_cobs_encode(const uint8_t* in, size_t len, uint8_t* out, size_t cap);

/* Decodes one COBS block sequence (without the delimiter) into out. Returns the decoded length;
   *ok = false when the input is not valid COBS (contains 0x00 or a block runs past the end) or
   the output does not fit cap (then the return value is meaningless). */
size_t fw_cobs_decode(const uint8_t* in, size_t len, uint8_t* out, size_t cap, bool* ok);

/* True when s[0..n) is exactly one JSON object (RFC 8259, optional surrounding whitespace),
   strings valid UTF-8 (no overlongs, no surrogates), nesting at most FW_FRAME_JSON_DEPTH_MAX. */
bool fw_json_object_valid(const char* s, size_t n);

/* One complete wire frame of `type`/`seq` around payload[0..len) into out (COBS + 0x00).
   Returns its length, or 0 when the body would exceed FW_FRAME_BODY_MAX or out is too small
   (FW_FRAME_WIRE_MAX always suffices). crc32 may be NULL (built-in). The payload is not
   checked: a sender may build invalid frames on purpose (tests). */
size_t fw_frame_encode(uint8_t type, uint16_t seq, const void* payload, size_t len, uint8_t* out,
                       size_t cap, fw_crc32_fn crc32);

/* ---------------------------------------------------------------------------------------- */
/* Sender                                                                                    */
/* ---------------------------------------------------------------------------------------- */

typedef struct fw_frame_tx {
    uint16_t seq;        /* sequence number of the next frame (+1 per frame built, wraps) */
    fw_crc32_fn crc32;   /* NULL: fw_crc32_update */
    char payload[FW_FRAME_PAYLOAD_MAX + 1];
    uint8_t wire[FW_FRAME_WIRE_MAX];
} fw_frame_tx;

void fw_frame_tx_init(fw_frame_tx* tx);

/* Each builder writes one frame into tx->wire and returns its length (0: did not fit; then
   nothing is consumed, seq does not advance). The JSON envelopes are exactly PROTOCOL.md §1's;
   every string is JSON-escaped (quotes, backslashes, control characters, invalid UTF-8 → U+FFFD). */

/* Any type around a ready payload (copied verbatim, unchecked). */
size_t fw_frame_tx_raw(fw_frame_tx* tx, uint8_t type, const char* payload, size_t len);

typedef struct fw_hello {
    const char* board;     /* "host-pty", "mps2-an385", … */
    const char* firmware;  /* "thermostat-stub" / "lock-stub" */
    const char* version;   /* "0.1.0" */
    const char* device_id; /* bytes; id_len of them (any bytes, escaped) */
    size_t id_len;
    const char* kind;      /* "thermostat" / "lock" */
    const char* const* caps; /* cap_count names, e.g. "time_scale", "plant_modbus" */
    size_t cap_count;
} fw_hello;
/* {"proto":1,"board":…,"firmware":…,"version":…,"device":{"id":…,"kind":…},"caps":[…]} */
size_t fw_frame_tx_hello(fw_frame_tx* tx, const fw_hello* hello);
/* {"id":<id>,"ok":true} or {"id":<id>,"ok":false,"error":"<error>"} (error NULL = ok) */
size_t fw_frame_tx_reply(fw_frame_tx* tx, uint32_t id, const char* error);
/* {"t":<t_ms>,"to":"<recipient>","format":"<format>","body":<body>} — body is a JSON object */
size_t fw_frame_tx_uplink(fw_frame_tx* tx, uint64_t t_ms, const char* recipient,
                          const char* format, const char* body, size_t body_len);
/* {"t":<t_ms>,"state":<state>} — state is a JSON object */
size_t fw_frame_tx_truth(fw_frame_tx* tx, uint64_t t_ms, const char* state, size_t state_len);
/* {"t":<t_ms>,"level":"<level>","msg":"<msg>"} — level "debug"|"info"|"warn"|"error" */
size_t fw_frame_tx_log(fw_frame_tx* tx, uint64_t t_ms, const char* level, const char* msg,
                       size_t msg_len);

/* ---------------------------------------------------------------------------------------- */
/* Receiver                                                                                  */
/* ---------------------------------------------------------------------------------------- */

typedef enum fw_frame_result {
    FW_FRAME_MORE = 0,     /* all input consumed, no frame ended */
    FW_FRAME_OK,           /* a valid frame is in *out */
    FW_FRAME_BAD_COBS,     /* a frame ended with a dropped error of this kind… */
    FW_FRAME_OVERSIZE,
    FW_FRAME_RUNT,
    FW_FRAME_BAD_CRC,
    FW_FRAME_BAD_VERSION,
    FW_FRAME_BAD_JSON
} fw_frame_result;

/* "ok", "bad_cobs", "oversize", "runt", "bad_crc", "bad_version", "bad_json", "more". */
const char* fw_frame_result_name(fw_frame_result r);

typedef struct fw_frame_counters {
    uint64_t bytes;      /* every byte fed */
    uint64_t frames;     /* valid frames returned */
    uint64_t bad_cobs;
    uint64_t oversize;
    uint64_t runt;       /* non-empty body shorter than 8 bytes */
    uint64_t bad_crc;
    uint64_t bad_version;
    uint64_t bad_json;
    uint64_t lost;       /* frames missing by sequence gap */
} fw_frame_counters;

/* A decoded frame; payload points into the decoder and stays valid until the next feed. */
typedef struct fw_frame {
    uint8_t type;
    uint16_t seq;
    const char* payload; /* NUL-terminated as well */
    size_t payload_len;
    uint16_t gap;        /* frames lost right before this one (by sequence number) */
} fw_frame;

typedef struct fw_frame_rx {
    fw_crc32_fn crc32;   /* NULL: fw_crc32_update */
    bool check_json;     /* default true: payload must be a JSON object */
    fw_frame_counters n;
    /* internal */
    uint16_t expect_seq;
    bool have_seq;
    bool skipping;       /* oversize: drop until the next 0x00 */
    uint8_t block;       /* current COBS code */
    uint8_t remain;      /* data bytes left in the current block */
    bool in_frame;       /* a byte of this frame has been seen */
    bool zero_pending;   /* the previous block ended below 0xFF: a 0x00 follows if data does */
    size_t len;          /* decoded bytes so far */
    uint8_t buf[FW_FRAME_BODY_MAX + 1]; /* +1: the payload's NUL */
} fw_frame_rx;

void fw_frame_rx_init(fw_frame_rx* rx);
/* Forget the half-read frame (e.g. after the link was reopened); counters are kept. */
void fw_frame_rx_reset_partial(fw_frame_rx* rx);
/* Forget the expected sequence number (the next valid frame counts no gap). */
void fw_frame_rx_reset_seq(fw_frame_rx* rx);

/* Feeds data[0..len): consumes bytes up to and including the first 0x00 that ends a non-empty
   frame, or all of them. *used = bytes consumed. Returns FW_FRAME_OK with *out filled, an error
   kind for a dropped frame (already counted; out untouched), or FW_FRAME_MORE when everything
   was consumed without a frame ending. Call again with the rest until it returns MORE. */
fw_frame_result fw_frame_rx_feed(fw_frame_rx* rx, const uint8_t* data, size_t len, size_t* used,
                                 fw_frame* out);

#ifdef __cplusplus
}
#endif

#endif /* FW_FRAME_H */
