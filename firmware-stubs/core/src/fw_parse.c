/* fw_parse.c — the board protocol COMMAND parser (PROTOCOL.md §1), no heap.
 *
 * Two passes over the payload: the first validates the whole object as JSON and remembers
 * where the value of each known key starts and ends (the last duplicate wins); the second
 * interprets the values the op needs. Nesting is limited to 16 levels. */
#include <string.h>

#include "fw/fw.h"
#include "fw_json.h"
#include "jw.h"

#define MAX_DEPTH 16

typedef struct rd {
    const char* s;
    size_t n;
    size_t i;
} rd;

static void ws(rd* r) { r->i = fw_json_ws((const unsigned char*)r->s, r->n, r->i); }

/* Reads a JSON string at r->i (which must be '"'), decoding escapes into out (cap bytes incl.
   NUL; out may be NULL to only validate). Returns 0 ok, 1 ok but truncated (too long),
   -1 invalid. *len gets the decoded length (of what fitted). */
static int read_string(rd* r, char* out, size_t cap, size_t* len) {
    size_t o = 0;
    bool truncated = false;
    if (r->i >= r->n || r->s[r->i] != '"') return -1;
    ++r->i;
    for (;;) {
        if (r->i >= r->n) return -1;
        unsigned char c = (unsigned char)r->s[r->i++];
        char enc[4];
        size_t el = 0;
        if (c == '"') break;
        if (c < 0x20) return -1;
        if (c == '\\') {
            if (r->i >= r->n) return -1;
            const unsigned char e = (unsigned char)r->s[r->i++];
            if (e == 'u') {
                unsigned cp;
                if (!fw_json_u_escape((const unsigned char*)r->s, r->n, &r->i, &cp)) return -1;
                if (cp < 0x80) {
                    enc[el++] = (char)cp;
                } else if (cp < 0x800) {
                    enc[el++] = (char)(0xC0 | (cp >> 6));
                    enc[el++] = (char)(0x80 | (cp & 0x3F));
                } else if (cp < 0x10000) {
                    enc[el++] = (char)(0xE0 | (cp >> 12));
                    enc[el++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                    enc[el++] = (char)(0x80 | (cp & 0x3F));
                } else {
                    enc[el++] = (char)(0xF0 | (cp >> 18));
                    enc[el++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                    enc[el++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                    enc[el++] = (char)(0x80 | (cp & 0x3F));
                }
            } else {
                const char d = fw_json_escaped_char(e);
                if (d == 0) return -1;
                enc[el++] = d;
            }
        } else {
            enc[el++] = (char)c;
        }
        if (out != NULL) {
            if (o + el < cap) {
                memcpy(out + o, enc, el);
                o += el;
            } else {
                truncated = true;
            }
        }
    }
    if (out != NULL && cap > 0) out[o] = '\0';
    if (len != NULL) *len = o;
    return truncated ? 1 : 0;
}

typedef struct num {
    bool neg;
    uint64_t mant;   /* significant digits */
    int exp10;       /* value = mant * 10^exp10 */
    bool dropped;    /* non-zero digits beyond 19 significant ones were dropped */
} num;

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static void num_push(num* v, char c, bool fraction) {
    unsigned d = (unsigned)(c - '0');
    if (v->mant <= (UINT64_MAX - 9u) / 10u) {
        v->mant = v->mant * 10u + d;
        if (fraction) --v->exp10;
    } else {
        if (!fraction) ++v->exp10;
        if (d != 0) v->dropped = true;
    }
}

/* JSON number grammar: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? */
static bool read_number(rd* r, num* v) {
    memset(v, 0, sizeof *v);
    if (r->i < r->n && r->s[r->i] == '-') {
        v->neg = true;
        ++r->i;
    }
    if (r->i >= r->n || !is_digit(r->s[r->i])) return false;
    if (r->s[r->i] == '0') {
        ++r->i;
    } else {
        while (r->i < r->n && is_digit(r->s[r->i])) num_push(v, r->s[r->i++], false);
    }
    if (r->i < r->n && r->s[r->i] == '.') {
        ++r->i;
        if (r->i >= r->n || !is_digit(r->s[r->i])) return false;
        while (r->i < r->n && is_digit(r->s[r->i])) num_push(v, r->s[r->i++], true);
    }
    if (r->i < r->n && (r->s[r->i] == 'e' || r->s[r->i] == 'E')) {
        ++r->i;
        bool eneg = false;
        if (r->i < r->n && (r->s[r->i] == '+' || r->s[r->i] == '-')) eneg = r->s[r->i++] == '-';
        if (r->i >= r->n || !is_digit(r->s[r->i])) return false;
        int e = 0;
        while (r->i < r->n && is_digit(r->s[r->i])) {
            if (e < 10000) e = e * 10 + (r->s[r->i] - '0');
            ++r->i;
        }
        v->exp10 += eneg ? -e : e;
    }
    return true;
}

/* value * 10^p, rounded half away from zero, into [lo, hi]. *exact tells whether no rounding
   happened. false when out of range. */
static bool num_scaled(const num* v, int p, int64_t lo, int64_t hi, int64_t* out, bool* exact) {
    int e = v->exp10 + p;
    uint64_t m = v->mant;
    bool ex = !v->dropped;
    if (m == 0) {
        e = 0;
    }
    if (e > 0) {
        for (int k = 0; k < e; ++k) {
            if (m > UINT64_MAX / 10u) return false;
            m *= 10u;
        }
    } else if (e < 0) {
        if (e < -19) {
            ex = false;
            m = 0;
        } else {
            uint64_t div = 1;
            for (int k = 0; k < -e; ++k) div *= 10u;
            uint64_t q = m / div, rem = m % div;
            if (rem != 0) ex = false;
            if (rem * 2u >= div) ++q;
            m = q;
        }
    }
    if (m > (uint64_t)INT64_MAX) return false;
    int64_t s = v->neg ? -(int64_t)m : (int64_t)m;
    if (s < lo || s > hi) return false;
    *out = s;
    if (exact) *exact = ex;
    return true;
}

static bool match_lit(rd* r, const char* lit) {
    size_t k = strlen(lit);
    if (r->n - r->i < k || memcmp(r->s + r->i, lit, k) != 0) return false;
    r->i += k;
    return true;
}

/* ---- known keys ---- */

enum {
    K_ID,
    K_OP,
    K_EPOCH_MS,
    K_VIA,
    K_RECIPIENT,
    K_ACTION,
    K_VALUE,
    K_CATEGORIES,
    K_GRANTED,
    K_LINKED,
    K_UP,
    K_OUTDOOR_C,
    K_OCCUPIED,
    K_DOOR,
    K_NAME,
    K_FACTOR,
    K_COUNT
};
static const char* const kKeys[K_COUNT] = {
    "id",      "op",     "epoch_ms",  "via",      "recipient", "action",
    "value",   "categories", "granted", "linked", "up",        "outdoor_c",
    "occupied", "door",  "name",      "factor",
};

typedef struct span {
    size_t at; /* start of the value; 0 = absent (a value never starts at offset 0) */
    size_t end;
} span;

static bool present(const span* s) { return s->at != 0; }

static rd span_rd(const char* json, const span* s) {
    rd r = {json, s->end, s->at};
    return r;
}

static bool streq(const char* a, size_t n, const char* lit) {
    return strlen(lit) == n && memcmp(a, lit, n) == 0;
}

static int lookup(const char* s, size_t n, const char* const* names, int count) {
    for (int i = 0; i < count; ++i)
        if (streq(s, n, names[i])) return i;
    return -1;
}

static bool skip_value(rd* r, int depth);

/* After the '[' or '{' at r->i: true (and past it) when `close` ends the container at once. */
static bool empty_container(rd* r, char close) {
    ++r->i;
    ws(r);
    if (r->i < r->n && r->s[r->i] == close) {
        ++r->i;
        return true;
    }
    return false;
}

/* After a member: 1 when a ',' follows (another member comes), 0 when `close` ends the
   container, -1 when neither (invalid). */
static int after_member(rd* r, char close) {
    ws(r);
    if (r->i >= r->n) return -1;
    if (r->s[r->i] == ',') {
        ++r->i;
        return 1;
    }
    if (r->s[r->i] == close) {
        ++r->i;
        return 0;
    }
    return -1;
}

/* Validates the object at r->i ('{') and skips it, its values one level deeper than `depth`.
   With `keys`, remembers where the value of each known key starts and ends (the last duplicate
   wins). */
static bool read_object(rd* r, int depth, span* keys) {
    if (empty_container(r, '}')) return true;
    for (;;) {
        char key[16];
        size_t klen = 0;
        ws(r);
        const int kr = read_string(r, keys != NULL ? key : NULL, sizeof key, &klen);
        if (kr < 0) return false;
        ws(r);
        if (r->i >= r->n || r->s[r->i] != ':') return false;
        ++r->i;
        ws(r);
        const size_t at = r->i;
        if (!skip_value(r, depth + 1)) return false;
        const int k = keys != NULL && kr == 0 ? lookup(key, klen, kKeys, K_COUNT) : -1;
        if (k >= 0) {
            keys[k].at = at;
            keys[k].end = r->i;
        }
        const int next = after_member(r, '}');
        if (next <= 0) return next == 0;
    }
}

/* Validates one JSON value and skips it. */
static bool skip_value(rd* r, int depth) {
    if (depth > MAX_DEPTH) return false;
    ws(r);
    if (r->i >= r->n) return false;
    char c = r->s[r->i];
    if (c == '"') return read_string(r, NULL, 0, NULL) >= 0;
    if (c == 't') return match_lit(r, "true");
    if (c == 'f') return match_lit(r, "false");
    if (c == 'n') return match_lit(r, "null");
    if (c == '-' || is_digit(c)) {
        num v;
        return read_number(r, &v);
    }
    if (c == '[') {
        if (empty_container(r, ']')) return true;
        for (;;) {
            if (!skip_value(r, depth + 1)) return false;
            const int next = after_member(r, ']');
            if (next <= 0) return next == 0;
        }
    }
    if (c == '{') return read_object(r, depth, NULL);
    return false;
}

/* ---- typed readers over a span ---- */

typedef enum { V_OK = 0, V_WRONG_TYPE, V_RANGE } vres;

static vres get_bool(const char* json, const span* s, bool* out) {
    rd r = span_rd(json, s);
    if (match_lit(&r, "true")) {
        *out = true;
        return V_OK;
    }
    if (match_lit(&r, "false")) {
        *out = false;
        return V_OK;
    }
    return V_WRONG_TYPE;
}

/* String into buf; V_RANGE when it did not fit. */
static vres get_str(const char* json, const span* s, char* buf, size_t cap, size_t* len) {
    rd r = span_rd(json, s);
    if (r.i >= r.n || r.s[r.i] != '"') return V_WRONG_TYPE;
    int rc = read_string(&r, buf, cap, len);
    if (rc < 0) return V_WRONG_TYPE;
    return rc == 1 ? V_RANGE : V_OK;
}

static vres get_scaled(const char* json, const span* s, int p, int64_t lo, int64_t hi,
                       bool need_exact, int64_t* out) {
    rd r = span_rd(json, s);
    num v;
    if (r.i >= r.n || !(r.s[r.i] == '-' || is_digit(r.s[r.i]))) return V_WRONG_TYPE;
    if (!read_number(&r, &v)) return V_WRONG_TYPE;
    bool exact = true;
    if (!num_scaled(&v, p, lo, hi, out, &exact)) return V_RANGE;
    if (need_exact && !exact) return V_WRONG_TYPE;
    return V_OK;
}

static const char* const kOps[FW_OP_COUNT] = {"set_clock", "interact", "consent",
                                              "link",      "network",  "env",
                                              "profile",   "time_scale", "reset"};
static const char* const kVias[] = {"voice", "app", "physical"};
static const char* const kActions[] = {"set_setpoint", "set_mode", "lock", "unlock", "query"};
static const char* const kModes[FW_MODE_COUNT] = {"off", "heat", "cool", "auto", "eco"};

const char* fw_op_name(fw_op op) { return (unsigned)op < FW_OP_COUNT ? kOps[op] : "?"; }

static const char* get_recipient(const char* json, const span* s, fw_command* out,
                                 const char* missing, const char* bad, const char* too_long) {
    if (!present(s)) return missing;
    size_t len = 0;
    vres v = get_str(json, s, out->recipient, sizeof out->recipient, &len);
    if (v == V_RANGE) return too_long;
    if (v != V_OK || len == 0) return bad;
    return NULL;
}

const char* fw_parse_command(const char* json, size_t len, fw_command* out) {
    memset(out, 0, sizeof *out);
    out->factor_milli = 1000;
    if (json == NULL) return "payload is not a JSON object";

    span sp[K_COUNT];
    memset(sp, 0, sizeof sp);

    /* pass 1: validate, remember known keys */
    rd r = {json, len, 0};
    ws(&r);
    if (r.i >= r.n || r.s[r.i] != '{') return "payload is not a JSON object";
    if (!read_object(&r, 0, sp)) return "invalid JSON";
    ws(&r);
    if (r.i != r.n) return "invalid JSON";

    /* pass 2: id and op */
    int64_t iv;
    if (!present(&sp[K_ID])) return "missing id";
    if (get_scaled(json, &sp[K_ID], 0, 0, UINT32_MAX, true, &iv) != V_OK)
        return "id must be an integer 0...4294967295";
    out->id = (uint32_t)iv;

    char word[24];
    size_t wl = 0;
    if (!present(&sp[K_OP])) return "missing op";
    vres v = get_str(json, &sp[K_OP], word, sizeof word, &wl);
    if (v == V_WRONG_TYPE) return "op must be a string";
    int op = v == V_OK ? lookup(word, wl, kOps, FW_OP_COUNT) : -1;
    if (op < 0) return "unknown op";
    out->op = (fw_op)op;

    switch (out->op) {
    case FW_OP_SET_CLOCK:
        if (!present(&sp[K_EPOCH_MS])) return "set_clock: missing epoch_ms";
        if (get_scaled(json, &sp[K_EPOCH_MS], 0, 0, INT64_MAX, true, &iv) != V_OK)
            return "set_clock: epoch_ms must be a non-negative integer";
        out->epoch_ms = (uint64_t)iv;
        return NULL;

    case FW_OP_INTERACT: {
        if (!present(&sp[K_VIA])) return "interact: missing via";
        v = get_str(json, &sp[K_VIA], word, sizeof word, &wl);
        int via = v == V_OK ? lookup(word, wl, kVias, 3) : -1;
        if (via < 0) return "interact: via must be voice, app or physical";
        out->via = (fw_via)via;
        if (out->via != FW_VIA_PHYSICAL) {
            const char* e = get_recipient(json, &sp[K_RECIPIENT], out,
                                          "interact: missing recipient (voice/app)",
                                          "interact: recipient must be a non-empty string",
                                          "interact: recipient too long");
            if (e) return e;
        }
        if (!present(&sp[K_ACTION])) return "interact: missing action";
        v = get_str(json, &sp[K_ACTION], word, sizeof word, &wl);
        int act = v == V_OK ? lookup(word, wl, kActions, 5) : -1;
        if (act < 0) return "interact: unknown action";
        out->action = (fw_action)act;
        if (out->action == FW_ACTION_SET_SETPOINT) {
            if (!present(&sp[K_VALUE])) return "interact: set_setpoint needs a value (Celsius)";
            vres vv = get_scaled(json, &sp[K_VALUE], 2, -10000, 10000, false, &iv);
            if (vv == V_WRONG_TYPE) return "interact: set_setpoint value must be a number (Celsius)";
            if (vv == V_RANGE) return "interact: set_setpoint value out of range";
            out->has_value = true;
            out->value = (int32_t)iv;
        } else if (out->action == FW_ACTION_SET_MODE) {
            if (!present(&sp[K_VALUE])) return "interact: set_mode needs a value";
            v = get_str(json, &sp[K_VALUE], word, sizeof word, &wl);
            int m = v == V_OK ? lookup(word, wl, kModes, FW_MODE_COUNT) : -1;
            if (m < 0) return "interact: set_mode value must be off, heat, cool, auto or eco";
            out->has_value = true;
            out->value = m;
        }
        return NULL;
    }

    case FW_OP_CONSENT: {
        const char* e = get_recipient(json, &sp[K_RECIPIENT], out, "consent: missing recipient",
                                      "consent: recipient must be a non-empty string",
                                      "consent: recipient too long");
        if (e) return e;
        if (!present(&sp[K_CATEGORIES])) return "consent: missing categories";
        rd a = span_rd(json, &sp[K_CATEGORIES]);
        if (a.s[a.i] != '[') return "consent: categories must be an array of names";
        ++a.i;
        ws(&a);
        uint16_t mask = 0;
        if (a.i < a.n && a.s[a.i] == ']') return "consent: categories is empty";
        for (;;) {
            ws(&a);
            if (a.i >= a.n || a.s[a.i] != '"') return "consent: categories must be an array of names";
            int rc = read_string(&a, word, sizeof word, &wl);
            if (rc < 0) return "consent: categories must be an array of names";
            int c = rc == 0 ? fw_category_from_name(word, wl) : -1;
            if (rc == 0 && streq(word, wl, "all")) {
                mask = FW_CATS_ALL;
            } else if (c < 0) {
                return "consent: unknown category";
            } else {
                mask |= FW_CAT_BIT(c);
            }
            ws(&a);
            if (a.i < a.n && a.s[a.i] == ',') {
                ++a.i;
                continue;
            }
            break;
        }
        out->categories = mask;
        if (!present(&sp[K_GRANTED])) return "consent: missing granted";
        if (get_bool(json, &sp[K_GRANTED], &out->granted) != V_OK)
            return "consent: granted must be true or false";
        return NULL;
    }

    case FW_OP_LINK: {
        const char* e = get_recipient(json, &sp[K_RECIPIENT], out, "link: missing recipient",
                                      "link: recipient must be a non-empty string",
                                      "link: recipient too long");
        if (e) return e;
        if (!present(&sp[K_LINKED])) return "link: missing linked";
        if (get_bool(json, &sp[K_LINKED], &out->linked) != V_OK)
            return "link: linked must be true or false";
        return NULL;
    }

    case FW_OP_NETWORK:
        if (!present(&sp[K_UP])) return "network: missing up";
        if (get_bool(json, &sp[K_UP], &out->up) != V_OK) return "network: up must be true or false";
        return NULL;

    case FW_OP_ENV:
        if (!present(&sp[K_OUTDOOR_C]) && !present(&sp[K_OCCUPIED]) && !present(&sp[K_DOOR]))
            return "env: needs outdoor_c, occupied or door";
        if (present(&sp[K_OUTDOOR_C])) {
            vres vv = get_scaled(json, &sp[K_OUTDOOR_C], 2, -10000, 10000, false, &iv);
            if (vv == V_WRONG_TYPE) return "env: outdoor_c must be a number (Celsius)";
            if (vv == V_RANGE) return "env: outdoor_c out of range (-100...100)";
            out->has_outdoor = true;
            out->outdoor_centi_c = (int32_t)iv;
        }
        if (present(&sp[K_OCCUPIED])) {
            if (get_bool(json, &sp[K_OCCUPIED], &out->occupied) != V_OK)
                return "env: occupied must be true or false";
            out->has_occupied = true;
        }
        if (present(&sp[K_DOOR])) {
            v = get_str(json, &sp[K_DOOR], word, sizeof word, &wl);
            if (v == V_OK && streq(word, wl, "open")) {
                out->door_closed = false;
            } else if (v == V_OK && streq(word, wl, "closed")) {
                out->door_closed = true;
            } else {
                return "env: door must be \"open\" or \"closed\"";
            }
            out->has_door = true;
        }
        return NULL;

    case FW_OP_PROFILE: {
        if (!present(&sp[K_NAME])) return "profile: missing name";
        v = get_str(json, &sp[K_NAME], word, sizeof word, &wl);
        if (v == V_WRONG_TYPE) return "profile: name must be a string";
        int p = v == V_OK ? fw_profile_from_name(word, wl) : -1;
        if (p < 0) return "profile: unknown profile";
        out->profile = (fw_profile)p;
        return NULL;
    }

    case FW_OP_TIME_SCALE: {
        if (!present(&sp[K_FACTOR])) return "time_scale: missing factor";
        vres vv = get_scaled(json, &sp[K_FACTOR], 3, INT64_MIN, INT64_MAX, false, &iv);
        if (vv == V_WRONG_TYPE) return "time_scale: factor must be a number";
        if (vv == V_RANGE || iv > 1000000) return "time_scale: factor too large (max 1000)";
        if (iv < 1000) return "time_scale: factor must be >= 1";
        out->factor_milli = (uint32_t)iv;
        return NULL;
    }

    case FW_OP_RESET:
        return NULL;

    case FW_OP_COUNT:
        break;
    }
    return "unknown op";
}

size_t fw_write_reply(char* buf, size_t cap, uint32_t id, const char* error) {
    jw w;
    jw_init(&w, buf, cap);
    jw_lit(&w, "{\"id\":");
    jw_u64(&w, id);
    if (error == NULL) {
        jw_lit(&w, ",\"ok\":true}");
    } else {
        jw_lit(&w, ",\"ok\":false,\"error\":");
        jw_cstr(&w, error);
        jw_char(&w, '}');
    }
    return jw_finish(&w) != NULL ? w.len : 0;
}
