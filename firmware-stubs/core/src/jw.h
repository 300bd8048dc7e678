/* jw.h — a bounded JSON writer for the firmware core (internal).
 *
 * Writes into a caller-provided buffer; never writes past cap. When something does not fit,
 * `overflow` is set and the output must be discarded (the core then drops the message and
 * logs it — a truncated JSON object is never sent). Strings are escaped for JSON: quote,
 * backslash and control characters; invalid UTF-8 bytes become U+FFFD, so the output is always
 * valid UTF-8 whatever bytes a device id contains. */
#ifndef FW_JW_H
#define FW_JW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct jw {
    char* buf;
    size_t cap; /* buffer size; one byte is kept for the terminating NUL */
    size_t len;
    bool overflow;
} jw;

void jw_init(jw* w, char* buf, size_t cap);

/* memcpy for the short, variable lengths of numbers and table fragments, without a libc call:
   two overlapping fixed-size copies cover 4…16 bytes (a constant n folds to one branch). */
static inline void jw_copy(char* dst, const char* src, size_t n) {
    if (n >= 8 && n <= 16) {
        memcpy(dst, src, 8);
        memcpy(dst + n - 8, src + n - 8, 8);
    } else if (n >= 4 && n < 8) {
        memcpy(dst, src, 4);
        memcpy(dst + n - 4, src + n - 4, 4);
    } else if (n > 0 && n < 4) {
        dst[0] = src[0];
        dst[n / 2] = src[n / 2];
        dst[n - 1] = src[n - 1];
    } else if (n > 16) {
        memcpy(dst, src, n);
    }
}

/* The writes every body is made of are inline: with a literal argument the compiler knows its
   length, and a call per fragment was a large share of building a message. */
static inline void jw_raw(jw* w, const char* s, size_t n) {
    if (w->overflow) return;
    if (n >= w->cap - w->len) { /* keep one byte for the NUL */
        w->overflow = true;
        return;
    }
    jw_copy(w->buf + w->len, s, n);
    w->len += n;
}
/* NUL-terminated literal, unescaped */
static inline void jw_lit(jw* w, const char* s) { jw_raw(w, s, strlen(s)); }
static inline void jw_char(jw* w, char c) { jw_raw(w, &c, 1); }
/* A trusted fragment with its length, for tables of them (no strlen per use). */
typedef struct jw_text {
    const char* s;
    size_t n;
} jw_text;
#define JW_TEXT(lit) {(lit), sizeof(lit) - 1u}
static inline void jw_text_put(jw* w, jw_text t) { jw_raw(w, t.s, t.n); }
/* ',' before each member of an object or array but the first */
static inline void jw_sep(jw* w, bool* first) {
    if (!*first) jw_char(w, ',');
    *first = false;
}
void jw_str(jw* w, const char* s, size_t n); /* "…" escaped */
void jw_cstr(jw* w, const char* s);          /* "…" escaped, NUL-terminated input */
/* The next "key": of an object, with its ',' unless it is the first; key is a string literal,
   so the whole fragment is one constant written at once. */
#define JW_MEMBER(w, first, key) jw_member_text((w), (first), ",\"" key "\":", sizeof(",\"" key "\":") - 1u)
static inline void jw_member_text(jw* w, bool* first, const char* sep_key, size_t n) {
    if (*first) /* without the ','; two calls, so that each copies a constant length */
        jw_raw(w, sep_key + 1, n - 1u);
    else
        jw_raw(w, sep_key, n);
    *first = false;
}
void jw_u64(jw* w, uint64_t v);
void jw_i64(jw* w, int64_t v);
void jw_centi(jw* w, int32_t centi);         /* 2150 → 21.5, 2000 → 20.0, -5 → -0.05 */
static inline void jw_bool(jw* w, bool v) { jw_raw(w, v ? "true" : "false", v ? 4u : 5u); }
void jw_rfc3339(jw* w, uint64_t epoch_ms);   /* quoted RFC 3339 UTC with ms */
void jw_uuid(jw* w, const uint32_t r[4]);    /* quoted version-4 UUID from 128 random bits */
const char* jw_finish(jw* w);                /* NUL-terminates; NULL on overflow */

#endif
