/* fw_frame.c — board protocol frames (PROTOCOL.md §1): CRC-32, COBS, JSON object check,
 * frame builders and the streaming decoder. See fw/frame.h. */
#include "fw/frame.h"

#include <string.h>

#include "fw/fw.h" /* fw_write_reply: the REPLY payload */
#include "fw_json.h"
#include "jw.h"

/* ---------------------------------------------------------------------------------------- */
/* CRC-32                                                                                    */
/* ---------------------------------------------------------------------------------------- */

/* Reflected CRC-32, polynomial 0xEDB88320 (generated once; const so it lives in flash). */
static const uint32_t kCrcTable[256] = {
    0x00000000u, 0x77073096u, 0xEE0E612Cu, 0x990951BAu, 0x076DC419u, 0x706AF48Fu, 0xE963A535u,
    0x9E6495A3u, 0x0EDB8832u, 0x79DCB8A4u, 0xE0D5E91Eu, 0x97D2D988u, 0x09B64C2Bu, 0x7EB17CBDu,
    0xE7B82D07u, 0x90BF1D91u, 0x1DB71064u, 0x6AB020F2u, 0xF3B97148u, 0x84BE41DEu, 0x1ADAD47Du,
    0x6DDDE4EBu, 0xF4D4B551u, 0x83D385C7u, 0x136C9856u, 0x646BA8C0u, 0xFD62F97Au, 0x8A65C9ECu,
    0x14015C4Fu, 0x63066CD9u, 0xFA0F3D63u, 0x8D080DF5u, 0x3B6E20C8u, 0x4C69105Eu, 0xD56041E4u,
    0xA2677172u, 0x3C03E4D1u, 0x4B04D447u, 0xD20D85FDu, 0xA50AB56Bu, 0x35B5A8FAu, 0x42B2986Cu,
    0xDBBBC9D6u, 0xACBCF940u, 0x32D86CE3u, 0x45DF5C75u, 0xDCD60DCFu, 0xABD13D59u, 0x26D930ACu,
    0x51DE003Au, 0xC8D75180u, 0xBFD06116u, 0x21B4F4B5u, 0x56B3C423u, 0xCFBA9599u, 0xB8BDA50Fu,
    0x2802B89Eu, 0x5F058808u, 0xC60CD9B2u, 0xB10BE924u, 0x2F6F7C87u, 0x58684C11u, 0xC1611DABu,
    0xB6662D3Du, 0x76DC4190u, 0x01DB7106u, 0x98D220BCu, 0xEFD5102Au, 0x71B18589u, 0x06B6B51Fu,
    0x9FBFE4A5u, 0xE8B8D433u, 0x7807C9A2u, 0x0F00F934u, 0x9609A88Eu, 0xE10E9818u, 0x7F6A0DBBu,
    0x086D3D2Du, 0x91646C97u, 0xE6635C01u, 0x6B6B51F4u, 0x1C6C6162u, 0x856530D8u, 0xF262004Eu,
    0x6C0695EDu, 0x1B01A57Bu, 0x8208F4C1u, 0xF50FC457u, 0x65B0D9C6u, 0x12B7E950u, 0x8BBEB8EAu,
    0xFCB9887Cu, 0x62DD1DDFu, 0x15DA2D49u, 0x8CD37CF3u, 0xFBD44C65u, 0x4DB26158u, 0x3AB551CEu,
    0xA3BC0074u, 0xD4BB30E2u, 0x4ADFA541u, 0x3DD895D7u, 0xA4D1C46Du, 0xD3D6F4FBu, 0x4369E96Au,
    0x346ED9FCu, 0xAD678846u, 0xDA60B8D0u, 0x44042D73u, 0x33031DE5u, 0xAA0A4C5Fu, 0xDD0D7CC9u,
    0x5005713Cu, 0x270241AAu, 0xBE0B1010u, 0xC90C2086u, 0x5768B525u, 0x206F85B3u, 0xB966D409u,
    0xCE61E49Fu, 0x5EDEF90Eu, 0x29D9C998u, 0xB0D09822u, 0xC7D7A8B4u, 0x59B33D17u, 0x2EB40D81u,
    0xB7BD5C3Bu, 0xC0BA6CADu, 0xEDB88320u, 0x9ABFB3B6u, 0x03B6E20Cu, 0x74B1D29Au, 0xEAD54739u,
    0x9DD277AFu, 0x04DB2615u, 0x73DC1683u, 0xE3630B12u, 0x94643B84u, 0x0D6D6A3Eu, 0x7A6A5AA8u,
    0xE40ECF0Bu, 0x9309FF9Du, 0x0A00AE27u, 0x7D079EB1u, 0xF00F9344u, 0x8708A3D2u, 0x1E01F268u,
    0x6906C2FEu, 0xF762575Du, 0x806567CBu, 0x196C3671u, 0x6E6B06E7u, 0xFED41B76u, 0x89D32BE0u,
    0x10DA7A5Au, 0x67DD4ACCu, 0xF9B9DF6Fu, 0x8EBEEFF9u, 0x17B7BE43u, 0x60B08ED5u, 0xD6D6A3E8u,
    0xA1D1937Eu, 0x38D8C2C4u, 0x4FDFF252u, 0xD1BB67F1u, 0xA6BC5767u, 0x3FB506DDu, 0x48B2364Bu,
    0xD80D2BDAu, 0xAF0A1B4Cu, 0x36034AF6u, 0x41047A60u, 0xDF60EFC3u, 0xA867DF55u, 0x316E8EEFu,
    0x4669BE79u, 0xCB61B38Cu, 0xBC66831Au, 0x256FD2A0u, 0x5268E236u, 0xCC0C7795u, 0xBB0B4703u,
    0x220216B9u, 0x5505262Fu, 0xC5BA3BBEu, 0xB2BD0B28u, 0x2BB45A92u, 0x5CB36A04u, 0xC2D7FFA7u,
    0xB5D0CF31u, 0x2CD99E8Bu, 0x5BDEAE1Du, 0x9B64C2B0u, 0xEC63F226u, 0x756AA39Cu, 0x026D930Au,
    0x9C0906A9u, 0xEB0E363Fu, 0x72076785u, 0x05005713u, 0x95BF4A82u, 0xE2B87A14u, 0x7BB12BAEu,
    0x0CB61B38u, 0x92D28E9Bu, 0xE5D5BE0Du, 0x7CDCEFB7u, 0x0BDBDF21u, 0x86D3D2D4u, 0xF1D4E242u,
    0x68DDB3F8u, 0x1FDA836Eu, 0x81BE16CDu, 0xF6B9265Bu, 0x6FB077E1u, 0x18B74777u, 0x88085AE6u,
    0xFF0F6A70u, 0x66063BCAu, 0x11010B5Cu, 0x8F659EFFu, 0xF862AE69u, 0x616BFFD3u, 0x166CCF45u,
    0xA00AE278u, 0xD70DD2EEu, 0x4E048354u, 0x3903B3C2u, 0xA7672661u, 0xD06016F7u, 0x4969474Du,
    0x3E6E77DBu, 0xAED16A4Au, 0xD9D65ADCu, 0x40DF0B66u, 0x37D83BF0u, 0xA9BCAE53u, 0xDEBB9EC5u,
    0x47B2CF7Fu, 0x30B5FFE9u, 0xBDBDF21Cu, 0xCABAC28Au, 0x53B39330u, 0x24B4A3A6u, 0xBAD03605u,
    0xCDD70693u, 0x54DE5729u, 0x23D967BFu, 0xB3667A2Eu, 0xC4614AB8u, 0x5D681B02u, 0x2A6F2B94u,
    0xB40BBE37u, 0xC30C8EA1u, 0x5A05DF1Bu, 0x2D02EF8Du};

uint32_t fw_crc32_update(uint32_t crc, const uint8_t* data, size_t len) {
    uint32_t c = crc ^ 0xFFFFFFFFu;
    for (size_t i = 0; i < len; ++i) c = kCrcTable[(c ^ data[i]) & 0xFFu] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

uint32_t fw_crc32(const void* data, size_t len) {
    return fw_crc32_update(0, (const uint8_t*)data, len);
}

/* ---------------------------------------------------------------------------------------- */
/* COBS                                                                                      */
/* ---------------------------------------------------------------------------------------- */

/* Streaming COBS encoder into a bounded buffer (the frame encoder feeds header, payload and
   CRC through it without assembling the body first). */
typedef struct cobs_w {
    uint8_t* out;
    size_t cap;
    size_t len;     /* bytes written, incl. the current block's code byte */
    size_t code_at; /* where the current block's code byte goes */
    uint8_t code;   /* 1 + data bytes in the current block */
    bool open;      /* a block is open (false only right after a full 254-byte block) */
    bool overflow;
} cobs_w;

static void cobs_open(cobs_w* w) {
    if (w->len >= w->cap) {
        w->overflow = true;
        return;
    }
    w->code_at = w->len++;
    w->code = 1;
    w->open = true;
}

static void cobs_begin(cobs_w* w, uint8_t* out, size_t cap) {
    w->out = out;
    w->cap = cap;
    w->len = 0;
    w->overflow = false;
    cobs_open(w); /* even an empty input encodes to one block (0x01) */
}

static void cobs_put(cobs_w* w, const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n && !w->overflow; ++i) {
        const uint8_t b = p[i];
        if (!w->open) {
            cobs_open(w); /* data continues after a full block */
            if (w->overflow) return;
        }
        if (b == 0) {
            w->out[w->code_at] = w->code; /* the zero is implied by a block below 0xFF */
            cobs_open(w);
            continue;
        }
        if (w->len >= w->cap) {
            w->overflow = true;
            return;
        }
        w->out[w->len++] = b;
        if (++w->code == 0xFF) { /* full block: closed, no zero implied */
            w->out[w->code_at] = 0xFF;
            w->open = false;
        }
    }
}

/* Closes the last block; returns the encoded length or 0 on overflow. An input that ends with
   a full block gets no extra 0x01 code. */
static size_t cobs_end(cobs_w* w) {
    if (w->overflow) return 0;
    if (w->open) w->out[w->code_at] = w->code;
    return w->len;
}

size_t fw_cobs_encode(const uint8_t* in, size_t len, uint8_t* out, size_t cap) {
    cobs_w w;
    cobs_begin(&w, out, cap);
    cobs_put(&w, in, len);
    return cobs_end(&w);
}

size_t fw_cobs_decode(const uint8_t* in, size_t len, uint8_t* out, size_t cap, bool* ok) {
    size_t o = 0;
    size_t i = 0;
    *ok = false;
    while (i < len) {
        uint8_t code = in[i++];
        if (code == 0) return 0;
        for (uint8_t k = 1; k < code; ++k) {
            if (i >= len || in[i] == 0 || o >= cap) return 0;
            out[o++] = in[i++];
        }
        if (code != 0xFF && i < len) {
            if (o >= cap) return 0;
            out[o++] = 0;
        }
    }
    *ok = true;
    return o;
}

/* ---------------------------------------------------------------------------------------- */
/* JSON object check                                                                         */
/* ---------------------------------------------------------------------------------------- */

typedef struct jv {
    const unsigned char* s;
    size_t n;
    size_t i;
} jv;

static void jv_ws(jv* r) { r->i = fw_json_ws(r->s, r->n, r->i); }

static bool jv_string(jv* r) {
    ++r->i; /* opening quote */
    while (r->i < r->n) {
        /* Plain ASCII runs in locals: r->s is unsigned char, which may alias r->i, so the
         * compiler would reload r->i for every byte otherwise. */
        const unsigned char* s = r->s;
        size_t i = r->i;
        const size_t n = r->n;
        while (i < n && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\') ++i;
        r->i = i;
        if (i >= n) break;
        unsigned char c = s[i];
        if (c == '"') {
            ++r->i;
            return true;
        }
        if (c < 0x20) return false;
        if (c == '\\') {
            if (++r->i >= r->n) return false;
            unsigned char e = r->s[r->i++];
            if (e == 'u') {
                unsigned cp;
                if (!fw_json_u_escape(r->s, r->n, &r->i, &cp)) return false;
            } else if (fw_json_escaped_char(e) == 0) {
                return false;
            }
        } else { /* c >= 0x80: a UTF-8 sequence */
            const size_t k = fw_utf8_seq(r->s + r->i, r->n - r->i);
            if (k == 0) return false;
            r->i += k;
        }
    }
    return false;
}

static bool jv_digits(jv* r) {
    size_t at = r->i;
    while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9') ++r->i;
    return r->i > at;
}

static bool jv_number(jv* r) {
    if (r->s[r->i] == '-') ++r->i;
    if (r->i >= r->n) return false;
    if (r->s[r->i] == '0') {
        ++r->i;
    } else if (!jv_digits(r)) {
        return false;
    }
    if (r->i < r->n && r->s[r->i] == '.') {
        ++r->i;
        if (!jv_digits(r)) return false;
    }
    if (r->i < r->n && (r->s[r->i] == 'e' || r->s[r->i] == 'E')) {
        ++r->i;
        if (r->i < r->n && (r->s[r->i] == '+' || r->s[r->i] == '-')) ++r->i;
        if (!jv_digits(r)) return false;
    }
    return true;
}

static bool jv_word(jv* r, const char* w, size_t n) {
    if (r->n - r->i < n || memcmp(r->s + r->i, w, n) != 0) return false;
    r->i += n;
    return true;
}

enum { JV_VALUE, JV_VALUE_OR_CLOSE, JV_KEY, JV_KEY_OR_CLOSE, JV_AFTER_VALUE };

bool fw_json_object_valid(const char* text, size_t n) {
    jv r = {(const unsigned char*)text, n, 0};
    uint32_t stack = 0; /* bit d: 1 = object at depth d+1, 0 = array */
    unsigned depth = 0;
    int state = JV_VALUE;
    jv_ws(&r);
    if (r.i >= r.n || r.s[r.i] != '{') return false;
    for (;;) {
        jv_ws(&r);
        if (state == JV_AFTER_VALUE && depth == 0) return r.i == r.n;
        if (r.i >= r.n) return false;
        unsigned char c = r.s[r.i];
        switch (state) {
        case JV_VALUE_OR_CLOSE:
            if (c == ']') {
                ++r.i;
                --depth;
                state = JV_AFTER_VALUE;
                break;
            }
            /* fall through */
        case JV_VALUE:
            if (c == '{' || c == '[') {
                if (depth >= FW_FRAME_JSON_DEPTH_MAX) return false;
                if (c == '{')
                    stack |= (uint32_t)1u << depth;
                else
                    stack &= ~((uint32_t)1u << depth);
                ++depth;
                ++r.i;
                state = c == '{' ? JV_KEY_OR_CLOSE : JV_VALUE_OR_CLOSE;
                break;
            }
            if (c == '"') {
                if (!jv_string(&r)) return false;
            } else if (c == '-' || (c >= '0' && c <= '9')) {
                if (!jv_number(&r)) return false;
            } else if (c == 't') {
                if (!jv_word(&r, "true", 4)) return false;
            } else if (c == 'f') {
                if (!jv_word(&r, "false", 5)) return false;
            } else if (c == 'n') {
                if (!jv_word(&r, "null", 4)) return false;
            } else {
                return false;
            }
            state = JV_AFTER_VALUE;
            break;
        case JV_KEY_OR_CLOSE:
            if (c == '}') {
                ++r.i;
                --depth;
                state = JV_AFTER_VALUE;
                break;
            }
            /* fall through */
        case JV_KEY:
            if (c != '"' || !jv_string(&r)) return false;
            jv_ws(&r);
            if (r.i >= r.n || r.s[r.i] != ':') return false;
            ++r.i;
            state = JV_VALUE;
            break;
        case JV_AFTER_VALUE: {
            bool obj = (stack >> (depth - 1)) & 1u;
            if (c == ',') {
                ++r.i;
                state = obj ? JV_KEY : JV_VALUE;
            } else if (c == (obj ? '}' : ']')) {
                ++r.i;
                --depth;
            } else {
                return false;
            }
            break;
        }
        default: return false;
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Frame encoding                                                                            */
/* ---------------------------------------------------------------------------------------- */

size_t fw_frame_encode(uint8_t type, uint16_t seq, const void* payload, size_t len, uint8_t* out,
                       size_t cap, fw_crc32_fn crc32) {
    if (len > FW_FRAME_PAYLOAD_MAX || cap < 1) return 0;
    if (crc32 == NULL) crc32 = fw_crc32_update;
    const uint8_t hdr[FW_FRAME_HEADER] = {(uint8_t)FW_FRAME_VERSION, type, (uint8_t)(seq & 0xFFu),
                                          (uint8_t)(seq >> 8)};
    uint32_t crc = crc32(0, hdr, sizeof hdr);
    if (len > 0) crc = crc32(crc, (const uint8_t*)payload, len);
    const uint8_t tail[FW_FRAME_TRAILER] = {(uint8_t)(crc & 0xFFu), (uint8_t)((crc >> 8) & 0xFFu),
                                            (uint8_t)((crc >> 16) & 0xFFu), (uint8_t)(crc >> 24)};
    cobs_w w;
    cobs_begin(&w, out, cap - 1); /* keep one byte for the delimiter */
    cobs_put(&w, hdr, sizeof hdr);
    cobs_put(&w, (const uint8_t*)payload, len);
    cobs_put(&w, tail, sizeof tail);
    size_t n = cobs_end(&w);
    if (n == 0) return 0;
    out[n] = 0;
    return n + 1;
}

const char* fw_frame_type_name(uint8_t type) {
    switch (type) {
    case FW_FRAME_HELLO: return "HELLO";
    case FW_FRAME_HELLO_REQ: return "HELLO_REQ";
    case FW_FRAME_COMMAND: return "COMMAND";
    case FW_FRAME_REPLY: return "REPLY";
    case FW_FRAME_UPLINK: return "UPLINK";
    case FW_FRAME_TRUTH: return "TRUTH";
    case FW_FRAME_LOG: return "LOG";
    default: return "UNKNOWN";
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Sender                                                                                    */
/* ---------------------------------------------------------------------------------------- */

void fw_frame_tx_init(fw_frame_tx* tx) {
    tx->seq = 0;
    tx->crc32 = NULL;
    tx->payload[0] = '\0';
}

static size_t tx_send(fw_frame_tx* tx, uint8_t type, const char* payload, size_t len) {
    size_t n = fw_frame_encode(type, tx->seq, payload, len, tx->wire, sizeof tx->wire, tx->crc32);
    if (n != 0) tx->seq = (uint16_t)(tx->seq + 1u);
    return n;
}

size_t fw_frame_tx_raw(fw_frame_tx* tx, uint8_t type, const char* payload, size_t len) {
    return tx_send(tx, type, payload, len);
}

/* jw keeps one byte for the NUL: the payload buffer is FW_FRAME_PAYLOAD_MAX + 1. */
static size_t tx_finish(fw_frame_tx* tx, jw* w, uint8_t type) {
    if (jw_finish(w) == NULL) return 0;
    return tx_send(tx, type, tx->payload, w->len);
}

static void put_str_or_empty(jw* w, const char* s) { jw_cstr(w, s != NULL ? s : ""); }

size_t fw_frame_tx_hello(fw_frame_tx* tx, const fw_hello* h) {
    jw w;
    jw_init(&w, tx->payload, sizeof tx->payload);
    jw_lit(&w, "{\"proto\":1,\"board\":");
    put_str_or_empty(&w, h->board);
    jw_lit(&w, ",\"firmware\":");
    put_str_or_empty(&w, h->firmware);
    jw_lit(&w, ",\"version\":");
    put_str_or_empty(&w, h->version);
    jw_lit(&w, ",\"device\":{\"id\":");
    jw_str(&w, h->device_id != NULL ? h->device_id : "", h->device_id != NULL ? h->id_len : 0);
    jw_lit(&w, ",\"kind\":");
    put_str_or_empty(&w, h->kind);
    jw_lit(&w, "},\"caps\":[");
    for (size_t i = 0; i < h->cap_count; ++i) {
        if (i > 0) jw_char(&w, ',');
        put_str_or_empty(&w, h->caps[i]);
    }
    jw_lit(&w, "]}");
    return tx_finish(tx, &w, FW_FRAME_HELLO);
}

size_t fw_frame_tx_reply(fw_frame_tx* tx, uint32_t id, const char* error) {
    const size_t n = fw_write_reply(tx->payload, sizeof tx->payload, id, error);
    return n != 0 ? tx_send(tx, FW_FRAME_REPLY, tx->payload, n) : 0;
}

size_t fw_frame_tx_uplink(fw_frame_tx* tx, uint64_t t_ms, const char* recipient,
                          const char* format, const char* body, size_t body_len) {
    jw w;
    jw_init(&w, tx->payload, sizeof tx->payload);
    jw_lit(&w, "{\"t\":");
    jw_u64(&w, t_ms);
    jw_lit(&w, ",\"to\":");
    put_str_or_empty(&w, recipient);
    jw_lit(&w, ",\"format\":");
    put_str_or_empty(&w, format);
    jw_lit(&w, ",\"body\":");
    jw_raw(&w, body, body_len);
    jw_char(&w, '}');
    return tx_finish(tx, &w, FW_FRAME_UPLINK);
}

size_t fw_frame_tx_truth(fw_frame_tx* tx, uint64_t t_ms, const char* state, size_t state_len) {
    jw w;
    jw_init(&w, tx->payload, sizeof tx->payload);
    jw_lit(&w, "{\"t\":");
    jw_u64(&w, t_ms);
    jw_lit(&w, ",\"state\":");
    jw_raw(&w, state, state_len);
    jw_char(&w, '}');
    return tx_finish(tx, &w, FW_FRAME_TRUTH);
}

size_t fw_frame_tx_log(fw_frame_tx* tx, uint64_t t_ms, const char* level, const char* msg,
                       size_t msg_len) {
    jw w;
    jw_init(&w, tx->payload, sizeof tx->payload);
    jw_lit(&w, "{\"t\":");
    jw_u64(&w, t_ms);
    jw_lit(&w, ",\"level\":");
    put_str_or_empty(&w, level);
    jw_lit(&w, ",\"msg\":");
    jw_str(&w, msg != NULL ? msg : "", msg != NULL ? msg_len : 0);
    jw_char(&w, '}');
    return tx_finish(tx, &w, FW_FRAME_LOG);
}

/* ---------------------------------------------------------------------------------------- */
/* Receiver                                                                                  */
/* ---------------------------------------------------------------------------------------- */

const char* fw_frame_result_name(fw_frame_result r) {
    switch (r) {
    case FW_FRAME_MORE: return "more";
    case FW_FRAME_OK: return "ok";
    case FW_FRAME_BAD_COBS: return "bad_cobs";
    case FW_FRAME_OVERSIZE: return "oversize";
    case FW_FRAME_RUNT: return "runt";
    case FW_FRAME_BAD_CRC: return "bad_crc";
    case FW_FRAME_BAD_VERSION: return "bad_version";
    case FW_FRAME_BAD_JSON: return "bad_json";
    default: return "unknown";
    }
}

void fw_frame_rx_reset_partial(fw_frame_rx* rx) {
    rx->skipping = false;
    rx->block = 0;
    rx->remain = 0;
    rx->in_frame = false;
    rx->zero_pending = false;
    rx->len = 0;
}

void fw_frame_rx_reset_seq(fw_frame_rx* rx) {
    rx->have_seq = false;
    rx->expect_seq = 0;
}

void fw_frame_rx_init(fw_frame_rx* rx) {
    memset(&rx->n, 0, sizeof rx->n);
    rx->crc32 = NULL;
    rx->check_json = true;
    fw_frame_rx_reset_seq(rx);
    fw_frame_rx_reset_partial(rx);
}

/* A frame's delimiter arrived: judge what was collected. */
static fw_frame_result rx_finish(fw_frame_rx* rx, fw_frame* out) {
    fw_frame_result r;
    if (rx->skipping) {
        ++rx->n.oversize;
        r = FW_FRAME_OVERSIZE;
    } else if (rx->remain != 0) {
        ++rx->n.bad_cobs;
        r = FW_FRAME_BAD_COBS;
    } else if (rx->len < FW_FRAME_OVERHEAD) {
        ++rx->n.runt;
        r = FW_FRAME_RUNT;
    } else {
        const size_t plen = rx->len - FW_FRAME_OVERHEAD;
        const uint8_t* b = rx->buf;
        const uint8_t* c = b + FW_FRAME_HEADER + plen;
        const uint32_t got = (uint32_t)c[0] | ((uint32_t)c[1] << 8) | ((uint32_t)c[2] << 16) |
                             ((uint32_t)c[3] << 24);
        fw_crc32_fn crc = rx->crc32 != NULL ? rx->crc32 : fw_crc32_update;
        if (crc(0, b, FW_FRAME_HEADER + plen) != got) {
            ++rx->n.bad_crc;
            r = FW_FRAME_BAD_CRC;
        } else if (b[0] != FW_FRAME_VERSION) {
            ++rx->n.bad_version;
            r = FW_FRAME_BAD_VERSION;
        } else {
            rx->buf[FW_FRAME_HEADER + plen] = 0; /* NUL over the CRC's first byte */
            const char* payload = (const char*)(b + FW_FRAME_HEADER);
            if (rx->check_json && !fw_json_object_valid(payload, plen)) {
                ++rx->n.bad_json;
                r = FW_FRAME_BAD_JSON;
            } else {
                const uint16_t seq = (uint16_t)(b[2] | (b[3] << 8));
                uint16_t gap = 0;
                if (rx->have_seq && seq != rx->expect_seq && b[1] != FW_FRAME_HELLO) {
                    gap = (uint16_t)(seq - rx->expect_seq);
                    rx->n.lost += gap;
                }
                rx->have_seq = true;
                rx->expect_seq = (uint16_t)(seq + 1u);
                ++rx->n.frames;
                out->type = b[1];
                out->seq = seq;
                out->payload = payload;
                out->payload_len = plen;
                out->gap = gap;
                r = FW_FRAME_OK;
            }
        }
    }
    fw_frame_rx_reset_partial(rx);
    return r;
}

fw_frame_result fw_frame_rx_feed(fw_frame_rx* rx, const uint8_t* data, size_t len, size_t* used,
                                 fw_frame* out) {
    size_t i = 0;
    while (i < len) {
        const uint8_t b = data[i++];
        if (b == 0) {
            if (!rx->in_frame) continue; /* empty frame: ignored */
            rx->n.bytes += i;
            *used = i;
            return rx_finish(rx, out);
        }
        rx->in_frame = true;
        if (rx->skipping) continue;
        if (rx->remain == 0) { /* a code byte */
            if (rx->zero_pending) {
                if (rx->len >= FW_FRAME_BODY_MAX) {
                    rx->skipping = true;
                    continue;
                }
                rx->buf[rx->len++] = 0;
            }
            rx->block = b;
            rx->remain = (uint8_t)(b - 1u);
            rx->zero_pending = b != 0xFF;
        } else {
            /* A data byte: take the rest of the block's data at once, up to a 0x00 (the
             * frame's end) or the end of `data`; what does not fit starts skipping. */
            const size_t at = i - 1;
            size_t run = rx->remain;
            if (run > len - at) run = len - at;
            const uint8_t* zero = (const uint8_t*)memchr(data + at, 0, run);
            if (zero) run = (size_t)(zero - (data + at)); /* ≥ 1: data[at] is b ≠ 0 */
            const size_t room = FW_FRAME_BODY_MAX - rx->len;
            if (run > room) {
                memcpy(rx->buf + rx->len, data + at, room);
                rx->len += room;
                rx->skipping = true;
                i = at + room + 1; /* the byte that did not fit is consumed */
                continue;
            }
            memcpy(rx->buf + rx->len, data + at, run);
            rx->len += run;
            rx->remain = (uint8_t)(rx->remain - run);
            i = at + run;
        }
    }
    rx->n.bytes += i;
    *used = i;
    return FW_FRAME_MORE;
}
