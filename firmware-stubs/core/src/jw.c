/* jw.c — bounded JSON writer, RFC 3339 formatter (integer only). */
#include "jw.h"

#include <string.h>

#include "fw/fw.h"
#include "fw_json.h"

void jw_init(jw* w, char* buf, size_t cap) {
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = (cap == 0);
}

static const char kHex[] = "0123456789abcdef";

static void jw_u_escape(jw* w, unsigned cp) {
    char e[6] = {'\\', 'u', kHex[(cp >> 12) & 15], kHex[(cp >> 8) & 15], kHex[(cp >> 4) & 15],
                 kHex[cp & 15]};
    jw_raw(w, e, 6);
}

/* 1: a byte that goes into a JSON string as it is (printable ASCII but '"' and '\\') */
static const unsigned char kPlain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

void jw_str(jw* w, const char* s, size_t n) {
    const unsigned char* u = (const unsigned char*)s;
    jw_char(w, '"');
    size_t i = 0;
    while (i < n && !w->overflow) {
        /* a run of bytes that need no escape goes out in one piece (ids are all such bytes) */
        size_t j = i;
        while (j < n && kPlain[u[j]]) ++j;
        if (j > i) {
            jw_raw(w, s + i, j - i);
            i = j;
            continue;
        }
        unsigned c = u[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            jw_raw(w, e, 2);
            ++i;
        } else if (c < 0x20 || c == 0x7F) {
            switch (c) {
            case '\n': jw_raw(w, "\\n", 2); break;
            case '\r': jw_raw(w, "\\r", 2); break;
            case '\t': jw_raw(w, "\\t", 2); break;
            case '\b': jw_raw(w, "\\b", 2); break;
            case '\f': jw_raw(w, "\\f", 2); break;
            default: jw_u_escape(w, c); break;
            }
            ++i;
        } else {
            size_t k = fw_utf8_seq(u + i, n - i);
            if (k == 0) {
                jw_u_escape(w, 0xFFFD);
                ++i;
            } else {
                jw_raw(w, s + i, k);
                i += k;
            }
        }
    }
    jw_char(w, '"');
}

void jw_cstr(jw* w, const char* s) {
    size_t n = 0;
    while (s[n] != '\0') ++n;
    jw_str(w, s, n);
}

static const char kPairs[200] = "00010203040506070809101112131415161718192021222324"
                                "25262728293031323334353637383940414243444546474849"
                                "50515253545556575859606162636465666768697071727374"
                                "75767778798081828384858687888990919293949596979899";

/* Writes v's decimal digits to end before `end`; returns where they start. 32-bit steps while
   they suffice (no 64-bit division on a 32-bit core). */
static char* digits_before(char* end, uint64_t v) {
    while (v > UINT32_MAX) {
        *--end = (char)('0' + (v % 10u));
        v /= 10u;
    }
    uint32_t x = (uint32_t)v;
    do {
        *--end = (char)('0' + (x % 10u));
        x /= 10u;
    } while (x != 0);
    return end;
}

void jw_u64(jw* w, uint64_t v) {
    char out[20];
    char* p = digits_before(out + sizeof out, v);
    jw_raw(w, p, (size_t)(out + sizeof out - p));
}

void jw_i64(jw* w, int64_t v) {
    if (v < 0) {
        jw_char(w, '-');
        jw_u64(w, (uint64_t)0 - (uint64_t)v);
    } else {
        jw_u64(w, (uint64_t)v);
    }
}

void jw_centi(jw* w, int32_t centi) {
    char out[16];
    char* p = out + sizeof out;
    const uint32_t a = centi < 0 ? (uint32_t)0 - (uint32_t)centi : (uint32_t)centi;
    uint32_t whole = a / 100u;
    const uint32_t frac = a - whole * 100u;
    if (frac % 10u != 0) { /* two-digit pairs from a table: no division per digit */
        p -= 2;
        memcpy(p, kPairs + 2u * frac, 2);
    } else {
        *--p = kPairs[2u * frac]; /* 21.5, not 21.50 */
    }
    *--p = '.';
    while (whole >= 100u) { /* readings have one to three digits here */
        const uint32_t q = whole / 100u;
        p -= 2;
        memcpy(p, kPairs + 2u * (whole - q * 100u), 2);
        whole = q;
    }
    if (whole >= 10u) {
        p -= 2;
        memcpy(p, kPairs + 2u * whole, 2);
    } else {
        *--p = (char)('0' + whole);
    }
    if (centi < 0) *--p = '-';
    jw_raw(w, p, (size_t)(out + sizeof out - p));
}

static size_t rfc3339(uint64_t epoch_ms, char* out);

void jw_rfc3339(jw* w, uint64_t epoch_ms) {
    /* written in place when the longest text (40 + 2 quotes) fits, else via a copy that
       jw_raw bounds */
    char tmp[48];
    const bool in_place = !w->overflow && w->cap - w->len > 42u;
    char* p = in_place ? w->buf + w->len : tmp;
    p[0] = '"';
    size_t n = 1 + rfc3339(epoch_ms, p + 1);
    p[n++] = '"';
    if (in_place)
        w->len += n;
    else
        jw_raw(w, tmp, n);
}

void jw_uuid(jw* w, const uint32_t r[4]) {
    /* xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx, y in 8…b (RFC 4122 variant) */
    uint32_t a = r[0];
    uint32_t b = (r[1] & 0xFFFF0FFFu) | 0x00004000u;
    uint32_t c = (r[2] & 0x3FFFFFFFu) | 0x80000000u;
    uint32_t d = r[3];
    char out[38];
    size_t n = 0;
    out[n++] = '"';
    for (int i = 28; i >= 0; i -= 4) out[n++] = kHex[(a >> i) & 15];
    out[n++] = '-';
    for (int i = 28; i >= 16; i -= 4) out[n++] = kHex[(b >> i) & 15];
    out[n++] = '-';
    for (int i = 12; i >= 0; i -= 4) out[n++] = kHex[(b >> i) & 15];
    out[n++] = '-';
    for (int i = 28; i >= 16; i -= 4) out[n++] = kHex[(c >> i) & 15];
    out[n++] = '-';
    for (int i = 12; i >= 0; i -= 4) out[n++] = kHex[(c >> i) & 15];
    for (int i = 28; i >= 0; i -= 4) out[n++] = kHex[(d >> i) & 15];
    out[n++] = '"';
    jw_raw(w, out, n);
}

const char* jw_finish(jw* w) {
    if (w->overflow) return NULL;
    w->buf[w->len] = '\0';
    return w->buf;
}

/* Days since 1970-01-01 (none before: the clock is unsigned) → civil date, proleptic
   Gregorian. H. Hinnant, "chrono-Compatible Low-Level Date Algorithms", civil_from_days. In 32
   bits until the year 11,759,221 (no 64-bit division on a 32-bit core), then in 64. */
static void civil_from_days(uint64_t days, uint64_t* y, unsigned* m, unsigned* d) {
    enum { kShift = 719468 }; /* days from 0000-03-01 to 1970-01-01 */
    uint64_t era;
    uint32_t doe; /* [0, 146096] */
    if (days <= UINT32_MAX - kShift) {
        const uint32_t z = (uint32_t)days + kShift;
        era = z / 146097u;
        doe = z - (uint32_t)era * 146097u;
    } else {
        const uint64_t z = days + kShift;
        era = z / 146097u;
        doe = (uint32_t)(z - era * 146097u);
    }
    const uint32_t yoe = (doe - doe / 1460u + doe / 36524u - doe / 146096u) / 365u; /* [0, 399] */
    const uint32_t doy = doe - (365u * yoe + yoe / 4u - yoe / 100u);             /* [0, 365] */
    const uint32_t mp = (5u * doy + 2u) / 153u;                                  /* [0, 11] */
    *d = doy - (153u * mp + 2u) / 5u + 1u;                                       /* [1, 31] */
    *m = mp < 10u ? mp + 3u : mp - 9u;                                           /* [1, 12] */
    *y = era * 400u + yoe + (*m <= 2u ? 1u : 0u);
}

/* two / three / four digits of v (v below 100 / 1000 / 10000) */
static char* put2(char* p, unsigned v) {
    memcpy(p, kPairs + 2u * v, 2);
    return p + 2;
}
static char* put3(char* p, unsigned v) {
    p[0] = (char)('0' + v / 100u);
    return put2(p + 1, v % 100u);
}
static char* put4(char* p, unsigned v) { return put2(put2(p, v / 100u), v % 100u); }

/* The RFC 3339 text of epoch_ms into out (room for 40 bytes), no NUL; returns its length. */
static size_t rfc3339(uint64_t epoch_ms, char* out) {
    const uint32_t kMsPerDay = 86400000u;
    const uint64_t days = epoch_ms / kMsPerDay; /* the one 64-bit division */
    const uint32_t day_ms = (uint32_t)(epoch_ms - days * kMsPerDay);
    const uint32_t sod = day_ms / 1000u;
    const uint32_t ms = day_ms - sod * 1000u;
    uint64_t y;
    unsigned mo, d;
    civil_from_days(days, &y, &mo, &d);
    char* p = out;
    if (y > 9999) { /* more digits: beyond RFC 3339, never reached by real clocks */
        char yy[20];
        char* q = digits_before(yy + sizeof yy, y);
        while (q < yy + sizeof yy) *p++ = *q++;
    } else {
        p = put4(p, (unsigned)y);
    }
    *p++ = '-';
    p = put2(p, mo);
    *p++ = '-';
    p = put2(p, d);
    *p++ = 'T';
    p = put2(p, sod / 3600u);
    *p++ = ':';
    p = put2(p, (sod / 60u) % 60u);
    *p++ = ':';
    p = put2(p, sod % 60u);
    *p++ = '.';
    p = put3(p, ms);
    *p++ = 'Z';
    return (size_t)(p - out);
}

size_t fw_format_rfc3339(uint64_t epoch_ms, char* buf, size_t cap) {
    char tmp[40];
    const size_t n = rfc3339(epoch_ms, tmp);
    if (cap == 0) return 0;
    size_t out = n < cap - 1 ? n : cap - 1;
    for (size_t i = 0; i < out; ++i) buf[i] = tmp[i];
    buf[out] = '\0';
    return out;
}
