/* m3/board_config.c — the board configuration text (docs/m3-board.md §Configuration).
 *
 *   # comment
 *   kind=thermostat|lock
 *   id=thermo-1
 *   profile=compliant|proactive|…
 *   seed=1
 *   epoch_ms=0                      wall clock at boot until set_clock
 *   time_scale=1|0                  advertise/accept the time_scale command
 *   modbus_unit=1
 *   humidity_sensor=1               0: no humidity sensor fitted (as the simulator's thermostat)
 *   poll_ms=1000                    sensor poll period (device time)
 *   poll_min_ms=50                  …but not more often than this (host time)
 *   modbus_timeout_ms=200
 *   recipient=NAME=FORMAT[,window=S][,categories=C+C|all][,basis=C+C|all][,unlinked][,heartbeat][,no-heartbeat]
 *   set=PARAM=VALUE                 firmware parameter, names as consentrig-board --set
 *
 * The same vocabulary as the host stub's command line (firmware-stubs/host), one option per line.
 */
#include <string.h>

#include "m3/board.h"

typedef struct span {
    const char* p;
    size_t n;
} span;

static bool eq(span s, const char* lit) {
    const size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

static span trim(span s) {
    while (s.n > 0 && (s.p[0] == ' ' || s.p[0] == '\t' || s.p[0] == '\r')) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t' || s.p[s.n - 1] == '\r')) s.n--;
    return s;
}

/* Splits s at the first c: head before, *rest after (n = 0 and p = NULL when there is no c). */
static span split(span s, char c, span* rest) {
    for (size_t i = 0; i < s.n; ++i) {
        if (s.p[i] == c) {
            rest->p = s.p + i + 1;
            rest->n = s.n - i - 1;
            span h = {s.p, i};
            return h;
        }
    }
    rest->p = NULL;
    rest->n = 0;
    return s;
}

static bool parse_u64(span s, uint64_t* out) {
    if (s.n == 0 || s.n > 20) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < s.n; ++i) {
        if (s.p[i] < '0' || s.p[i] > '9') return false;
        const uint64_t d = (uint64_t)(s.p[i] - '0');
        if (v > (UINT64_MAX - d) / 10u) return false;
        v = v * 10u + d;
    }
    *out = v;
    return true;
}

static bool parse_u32(span s, uint32_t* out) {
    uint64_t v = 0;
    if (!parse_u64(s, &v) || v > UINT32_MAX) return false;
    *out = (uint32_t)v;
    return true;
}

/* A decimal with at most two fractional digits ("21", "-3.5", "0.25") in hundredths. */
static bool parse_centi(span s, int32_t* out) {
    bool neg = false;
    if (s.n > 0 && (s.p[0] == '-' || s.p[0] == '+')) {
        neg = s.p[0] == '-';
        s.p++;
        s.n--;
    }
    span frac;
    span whole = split(s, '.', &frac);
    uint64_t w = 0;
    if (!parse_u64(whole, &w) || w > 20000000u) return false;
    int64_t v = (int64_t)w * 100;
    if (frac.p != NULL) {
        if (frac.n == 0 || frac.n > 2) return false;
        uint64_t f = 0;
        if (!parse_u64(frac, &f)) return false;
        v += (int64_t)(frac.n == 1 ? f * 10u : f);
    }
    *out = (int32_t)(neg ? -v : v);
    return true;
}

static int format_from(span s) {
    static const char* const names[] = {"alexa", "google", "matter", "json"};
    for (int f = 0; f < 4; ++f)
        if (eq(s, names[f])) return f;
    return -1;
}

static bool categories_from(span s, uint16_t* mask) {
    if (eq(s, "all")) {
        *mask = FW_CATS_ALL;
        return true;
    }
    uint16_t m = 0;
    while (s.n > 0) {
        span rest;
        span one = split(s, '+', &rest);
        const int c = fw_category_from_name(one.p, one.n);
        if (c < 0) return false;
        m = (uint16_t)(m | FW_CAT_BIT(c));
        s = rest;
    }
    *mask = m;
    return true;
}

static const char* parse_recipient(span v, m3_board_config* b, fw_config* cfg) {
    if (cfg->recipient_count >= FW_MAX_RECIPIENTS) return "recipient: at most 4 recipients";
    span attrs;
    span name = split(v, '=', &attrs);
    if (name.n == 0 || name.n >= FW_NAME_MAX || attrs.p == NULL) return "recipient: want NAME=FORMAT[,…]";
    span rest;
    span fmt = split(attrs, ',', &rest);
    const int f = format_from(fmt);
    if (f < 0) return "recipient: unknown format";
    const unsigned r = cfg->recipient_count;
    fw_recipient* fr = &cfg->recipients[r];
    memset(fr, 0, sizeof *fr);
    memcpy(b->names[r], name.p, name.n);
    b->names[r][name.n] = '\0';
    fr->name = b->names[r];
    fr->format = (fw_format)f;
    fr->linked_at_boot = true;
    bool heartbeat_set = false;
    while (rest.p != NULL) {
        span next;
        span a = split(rest, ',', &next);
        span val;
        span key = split(a, '=', &val);
        uint32_t s = 0;
        if (eq(key, "window") && val.p != NULL && parse_u32(val, &s) && s <= 86400u) {
            fr->interaction_window_ms = s * 1000u;
        } else if (eq(key, "categories") && val.p != NULL) {
            if (!categories_from(val, &fr->interaction_categories)) return "recipient: unknown category";
        } else if (eq(key, "basis") && val.p != NULL) {
            if (!categories_from(val, &fr->basis_at_boot)) return "recipient: unknown category";
        } else if (eq(a, "unlinked")) {
            fr->linked_at_boot = false;
        } else if (eq(a, "heartbeat")) {
            fr->heartbeat = heartbeat_set = true;
        } else if (eq(a, "no-heartbeat")) {
            fr->heartbeat = false;
            heartbeat_set = true;
        } else {
            return "recipient: unknown attribute";
        }
        rest = next;
    }
    if (!heartbeat_set) fr->heartbeat = fr->format == FW_FMT_JSON;
    if (fr->interaction_window_ms > 0 && fr->interaction_categories == 0) fr->interaction_categories = FW_CATS_ALL;
    cfg->recipient_count++;
    return NULL;
}

static const char* parse_set(span v, fw_config* c) {
    span val;
    span k = split(v, '=', &val);
    if (val.p == NULL) return "set: want PARAM=VALUE";
    int32_t centi = 0;
    if (!parse_centi(val, &centi)) return "set: not a number";
    const int32_t whole = centi / 100;
    if (eq(k, "setpoint_c")) c->setpoint_at_boot_centi_c = (int16_t)centi;
    else if (eq(k, "hysteresis_c")) c->hysteresis_centi_c = (int16_t)centi;
    else if (eq(k, "report_delta_c")) c->report_delta_centi_c = (int16_t)centi;
    else if (eq(k, "battery_drain_pct")) c->battery_drain_centi_pct = (uint16_t)centi;
    else if (centi < 0 || centi % 100 != 0) return "set: this parameter wants a whole number >= 0";
    else if (eq(k, "min_off_ms")) c->min_off_ms = (uint32_t)whole;
    else if (eq(k, "min_on_ms")) c->min_on_ms = (uint32_t)whole;
    else if (eq(k, "report_min_interval_ms")) c->report_min_interval_ms = (uint32_t)whole;
    else if (eq(k, "report_max_silence_ms")) c->report_max_silence_ms = (uint32_t)whole;
    else if (eq(k, "heartbeat_interval_ms")) c->heartbeat_interval_ms = (uint32_t)whole;
    else if (eq(k, "motor_ms")) c->motor_ms = (uint32_t)whole;
    else if (eq(k, "auto_relock_ms")) c->auto_relock_ms = (uint32_t)whole;
    else if (eq(k, "keepalive_min_delay_ms")) c->keepalive_min_delay_ms = (uint32_t)whole;
    else if (eq(k, "keepalive_max_delay_ms")) c->keepalive_max_delay_ms = (uint32_t)whole;
    else if (eq(k, "flush_delay_ms")) c->flush_delay_ms = (uint32_t)whole;
    else if (eq(k, "interaction_guard_ms")) c->interaction_guard_ms = (uint32_t)whole;
    else return "set: unknown parameter";
    return NULL;
}

static void defaults(m3_board_config* b, fw_config* cfg, fw_kind kind) {
    memset(b, 0, sizeof *b);
    b->kind = kind;
    const char* id = kind == FW_KIND_THERMOSTAT ? "thermo-1" : "lock-1";
    b->id_len = strlen(id);
    memcpy(b->id, id, b->id_len);
    b->seed = 1;
    b->modbus_unit = 1;
    b->poll_ms = 1000;
    b->poll_min_ms = 50;
    b->modbus_timeout_ms = 200;
    b->humidity_sensor = true;
    fw_config_defaults(cfg, kind);
    cfg->allow_time_scale = true;
}

static void default_recipients(m3_board_config* b, fw_config* cfg) {
    static const char voice[] = "voice-partner=alexa,window=120,categories=all";
    static const char vendor[] = "vendor-cloud=json,basis=all";
    span v1 = {voice, sizeof voice - 1};
    span v2 = {vendor, sizeof vendor - 1};
    cfg->recipient_count = 0;
    (void)parse_recipient(v1, b, cfg);
    (void)parse_recipient(v2, b, cfg);
}

/* One pass over the lines; kind_only: just find `kind`. */
static const char* apply(span text, m3_board_config* b, fw_config* cfg, bool kind_only, unsigned* line) {
    unsigned no = 0;
    bool recipients_given = false;
    while (text.p != NULL && text.n > 0) {
        span rest;
        span l = trim(split(text, '\n', &rest));
        text = rest;
        ++no;
        if (line) *line = no;
        if (l.n == 0 || l.p[0] == '#') continue;
        span v;
        span k = trim(split(l, '=', &v));
        if (v.p == NULL) return "want key=value";
        v = trim(v);
        if (eq(k, "kind")) {
            if (eq(v, "thermostat")) b->kind = FW_KIND_THERMOSTAT;
            else if (eq(v, "lock")) b->kind = FW_KIND_LOCK;
            else return "kind: thermostat or lock";
            continue;
        }
        if (kind_only) continue;
        uint32_t u = 0;
        uint64_t u64 = 0;
        if (eq(k, "id")) {
            if (v.n == 0 || v.n > FW_ID_MAX) return "id: 1 to 32 bytes";
            memcpy(b->id, v.p, v.n);
            b->id_len = v.n;
        } else if (eq(k, "profile")) {
            const int p = fw_profile_from_name(v.p, v.n);
            if (p < 0) return "profile: unknown profile";
            cfg->profile_at_boot = (fw_profile)p;
        } else if (eq(k, "seed")) {
            if (!parse_u32(v, &b->seed)) return "seed: not a number";
        } else if (eq(k, "epoch_ms")) {
            if (!parse_u64(v, &u64)) return "epoch_ms: not a number";
            cfg->boot_epoch_ms = u64;
        } else if (eq(k, "time_scale")) {
            if (!parse_u32(v, &u) || u > 1) return "time_scale: 0 or 1";
            cfg->allow_time_scale = u == 1;
        } else if (eq(k, "modbus_unit")) {
            if (!parse_u32(v, &u) || u < 1 || u > 247) return "modbus_unit: 1…247";
            b->modbus_unit = (uint8_t)u;
        } else if (eq(k, "poll_ms")) {
            if (!parse_u32(v, &u) || u < 1 || u > 3600000u) return "poll_ms: 1…3600000";
            b->poll_ms = u;
        } else if (eq(k, "poll_min_ms")) {
            if (!parse_u32(v, &u) || u < 1 || u > 3600000u) return "poll_min_ms: 1…3600000";
            b->poll_min_ms = u;
        } else if (eq(k, "modbus_timeout_ms")) {
            if (!parse_u32(v, &u) || u < 1 || u > 60000u) return "modbus_timeout_ms: 1…60000";
            b->modbus_timeout_ms = u;
        } else if (eq(k, "humidity_sensor")) {
            if (!parse_u32(v, &u) || u > 1) return "humidity_sensor: 0 or 1";
            b->humidity_sensor = u == 1;
        } else if (eq(k, "recipient")) {
            if (!recipients_given) cfg->recipient_count = 0; /* the first one replaces the defaults */
            recipients_given = true;
            const char* e = parse_recipient(v, b, cfg);
            if (e) return e;
        } else if (eq(k, "set")) {
            const char* e = parse_set(v, cfg);
            if (e) return e;
        } else {
            return "unknown key";
        }
    }
    return NULL;
}

const char* m3_config_parse(const char* text, size_t len, const fw_hal* hal, m3_board_config* b, fw_config* cfg,
                            unsigned* line) {
    if (line) *line = 0;
    span t = {text, text ? len : 0};
    defaults(b, cfg, FW_KIND_THERMOSTAT);
    const char* err = apply(t, b, cfg, true, line);
    if (err == NULL) {
        defaults(b, cfg, b->kind);
        default_recipients(b, cfg);
        err = apply(t, b, cfg, false, line);
        if (hal) cfg->hal = *hal;
        if (err == NULL) {
            err = fw_config_check(cfg);
            if (err != NULL && line) *line = 0; /* not one line's fault */
        }
    }
    if (err != NULL) {
        const fw_kind k = b->kind;
        defaults(b, cfg, k);
        default_recipients(b, cfg);
    }
    if (hal) cfg->hal = *hal;
    return err;
}
