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

void jw_str(jw* w, const char* s, size_t n) {
    const unsigned char* u = (const unsigned char*)s;
    jw_char(w, '"');
    size_t i = 0;
    while (i < n && !w->overflow) {
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
        } else if (c < 0x80) {
            jw_raw(w, s + i, 1);
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

void jw_u64(jw* w, uint64_t v) {
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + (v % 10u));
        v /= 10u;
    } while (v != 0);
    char out[20];
    for (size_t i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
    jw_raw(w, out, n);
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
    uint32_t a;
    if (centi < 0) {
        jw_char(w, '-');
        a = (uint32_t)0 - (uint32_t)centi;
    } else {
        a = (uint32_t)centi;
    }
    jw_u64(w, a / 100u);
    uint32_t frac = a % 100u;
    char f[3] = {'.', (char)('0' + frac / 10u), (char)('0' + frac % 10u)};
    jw_raw(w, f, (frac % 10u) == 0 ? 2 : 3);
}

void jw_bool(jw* w, bool v) { jw_lit(w, v ? "true" : "false"); }

void jw_rfc3339(jw* w, uint64_t epoch_ms) {
    char buf[32];
    size_t n = fw_format_rfc3339(epoch_ms, buf, sizeof buf);
    jw_char(w, '"');
    jw_raw(w, buf, n);
    jw_char(w, '"');
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

/* Days since 1970-01-01 → civil date (proleptic Gregorian). H. Hinnant, "chrono-Compatible
   Low-Level Date Algorithms", civil_from_days — integer arithmetic only. */
static void civil_from_days(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const uint64_t doe = (uint64_t)(z - era * 146097);                    /* [0, 146096] */
    const uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    const int64_t yy = (int64_t)yoe + era * 400;
    const uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);         /* [0, 365] */
    const uint64_t mp = (5 * doy + 2) / 153;                              /* [0, 11] */
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);                        /* [1, 31] */
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);                           /* [1, 12] */
    *y = yy + (*m <= 2 ? 1 : 0);
}

static size_t put_digits(char* out, uint64_t v, unsigned width) {
    for (unsigned i = 0; i < width; ++i) {
        out[width - 1 - i] = (char)('0' + (v % 10u));
        v /= 10u;
    }
    return width;
}

size_t fw_format_rfc3339(uint64_t epoch_ms, char* buf, size_t cap) {
    char tmp[40];
    const uint64_t ms = epoch_ms % 1000u;
    const uint64_t secs = epoch_ms / 1000u;
    const uint64_t sod = secs % 86400u;
    int64_t y;
    unsigned mo, d;
    civil_from_days((int64_t)(secs / 86400u), &y, &mo, &d);
    size_t n = 0;
    if (y > 9999) { /* more digits: beyond RFC 3339, never reached by real clocks */
        char yy[20];
        size_t k = 0;
        uint64_t v = (uint64_t)y;
        while (v) {
            yy[k++] = (char)('0' + v % 10u);
            v /= 10u;
        }
        while (k) tmp[n++] = yy[--k];
    } else {
        n += put_digits(tmp + n, (uint64_t)y, 4);
    }
    tmp[n++] = '-';
    n += put_digits(tmp + n, mo, 2);
    tmp[n++] = '-';
    n += put_digits(tmp + n, d, 2);
    tmp[n++] = 'T';
    n += put_digits(tmp + n, sod / 3600u, 2);
    tmp[n++] = ':';
    n += put_digits(tmp + n, (sod / 60u) % 60u, 2);
    tmp[n++] = ':';
    n += put_digits(tmp + n, sod % 60u, 2);
    tmp[n++] = '.';
    n += put_digits(tmp + n, ms, 3);
    tmp[n++] = 'Z';
    if (cap == 0) return 0;
    size_t out = n < cap - 1 ? n : cap - 1;
    for (size_t i = 0; i < out; ++i) buf[i] = tmp[i];
    buf[out] = '\0';
    return out;
}
