/* fw_json.c — JSON text rules shared by the firmware core's writer, frame check and command
 * parser (see fw_json.h). */
#include "fw_json.h"

size_t fw_utf8_seq(const unsigned char* s, size_t n) {
    unsigned c = s[0];
    size_t need;
    unsigned min;
    unsigned cp;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
        min = 0x80;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        min = 0x800;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        min = 0x10000;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < need) return 0;
    for (size_t i = 1; i < need; ++i) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return need;
}

static int hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Four hex digits at s[*i..n) → *v. */
static bool hex4(const unsigned char* s, size_t n, size_t* i, unsigned* v) {
    if (n - *i < 4) return false;
    unsigned x = 0;
    for (size_t k = 0; k < 4; ++k) {
        int h = hexval(s[*i + k]);
        if (h < 0) return false;
        x = (x << 4) | (unsigned)h;
    }
    *i += 4;
    *v = x;
    return true;
}

bool fw_json_u_escape(const unsigned char* s, size_t n, size_t* i, unsigned* cp) {
    unsigned hi;
    if (!hex4(s, n, i, &hi)) return false;
    if (hi >= 0xDC00 && hi <= 0xDFFF) return false; /* lone low surrogate */
    if (hi < 0xD800 || hi > 0xDBFF) {
        *cp = hi;
        return true;
    }
    unsigned lo; /* a high surrogate needs its low half */
    if (n - *i < 2 || s[*i] != '\\' || s[*i + 1] != 'u') return false;
    *i += 2;
    if (!hex4(s, n, i, &lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
    *cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
    return true;
}

char fw_json_escaped_char(unsigned char e) {
    switch (e) {
    case '"': return '"';
    case '\\': return '\\';
    case '/': return '/';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    default: return 0;
    }
}
