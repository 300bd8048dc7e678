/* fw_device.c — the thermostat / lock firmware core: state machine, timers, consent view,
 * behaviour profiles. See fw/fw.h for the hosting model and docs/firmware.md for behaviour. */
#include <string.h>

#include "fw_internal.h"

/* dev->flags */
#define DF_NET_UP 0x01u
#define DF_SOON 0x02u /* soon_due_ms armed (keep-alive or queue flush) */
#define DF_HB 0x04u   /* heartbeat armed */
#define DF_SAF 0x08u  /* the host's store_and_forward ring holds samples */

/* dev->k.t.flags */
#define TF_PENDING 0x01u   /* a sensor report waits for report_min_interval_ms */
#define TF_PUBLISHED 0x02u /* at least one report was made */

/* dev->k.l.flags */
#define LF_MOTOR 0x01u      /* motor running; mech_due_ms = done (or timeout) */
#define LF_RELOCK 0x02u     /* auto-relock armed; mech_due_ms = relock time */
#define LF_BATT_DIRTY 0x04u /* battery whole-% changed, report with the motor result */

/* ---------------------------------------------------------------------------------------- */
/* names                                                                                     */
/* ---------------------------------------------------------------------------------------- */

static const char* const kCategoryNames[FW_CAT_COUNT] = {
    "temperature", "humidity",   "setpoint",   "hvac_mode", "hvac_state",
    "occupancy",   "lock_state", "door_state", "battery",   "connectivity"};
static const char* const kProfileNames[FW_PROFILE_COUNT] = {
    "compliant",   "proactive",      "flush_after_revoke", "store_and_forward",
    "scope_creep", "keepalive_leak", "cause_lie"};
static const char* const kFormatNames[4] = {"alexa", "google", "matter", "json"};
static const jw_text kCauseNames[5] = {JW_TEXT("PERIODIC_POLL"), JW_TEXT("PHYSICAL_INTERACTION"),
                                       JW_TEXT("VOICE_INTERACTION"), JW_TEXT("APP_INTERACTION"),
                                       JW_TEXT("RULE_TRIGGER")};

const char* fw_category_name(fw_category c) {
    return (unsigned)c < FW_CAT_COUNT ? kCategoryNames[c] : "?";
}
const char* fw_profile_name(fw_profile p) {
    return (unsigned)p < FW_PROFILE_COUNT ? kProfileNames[p] : "?";
}
const char* fw_format_name(fw_format f) { return (unsigned)f < 4u ? kFormatNames[f] : "?"; }
jw_text fw_cause_text(fw_cause c) {
    const jw_text unknown = JW_TEXT("?");
    return (unsigned)c < 5u ? kCauseNames[c] : unknown;
}
const char* fw_cause_name(fw_cause c) { return fw_cause_text(c).s; }

static int name_index(const char* name, size_t len, const char* const* names, int count) {
    for (int i = 0; i < count; ++i) {
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0) return i;
    }
    return -1;
}
int fw_category_from_name(const char* name, size_t len) {
    return name_index(name, len, kCategoryNames, FW_CAT_COUNT);
}
int fw_profile_from_name(const char* name, size_t len) {
    return name_index(name, len, kProfileNames, FW_PROFILE_COUNT);
}

/* ---------------------------------------------------------------------------------------- */
/* config                                                                                    */
/* ---------------------------------------------------------------------------------------- */

void fw_config_defaults(fw_config* cfg, fw_kind kind) {
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = kind;
    cfg->profile_at_boot = FW_PROFILE_COMPLIANT;
    cfg->mode_at_boot = FW_MODE_HEAT;
    cfg->setpoint_at_boot_centi_c = 2000;
    cfg->setpoint_min_centi_c = 500;
    cfg->setpoint_max_centi_c = 3500;
    cfg->hysteresis_centi_c = 50;
    cfg->auto_deadband_centi_c = 200;
    cfg->eco_setback_centi_c = 300;
    cfg->min_off_ms = 300000;
    cfg->min_on_ms = 180000;
    cfg->report_delta_centi_c = 50;
    cfg->report_delta_humidity_pct = 3;
    cfg->report_min_interval_ms = 30000;
    cfg->report_max_silence_ms = 900000;
    cfg->motor_ms = 2000;
    cfg->motor_done_by_host = false;
    cfg->motor_timeout_ms = 6000;
    cfg->auto_relock_ms = 30000;
    cfg->battery_drain_centi_pct = 3;
    cfg->heartbeat_interval_ms = 3600000;
    cfg->keepalive_min_delay_ms = 1000;
    cfg->keepalive_max_delay_ms = 3000;
    cfg->keepalive_trigger_categories = (uint16_t)(FW_CAT_BIT(FW_CAT_LOCK_STATE) |
                                                   FW_CAT_BIT(FW_CAT_DOOR_STATE) |
                                                   FW_CAT_BIT(FW_CAT_OCCUPANCY));
    cfg->flush_delay_ms = 1000;
    cfg->interaction_guard_ms = 500;
    for (unsigned r = 0; r < FW_MAX_RECIPIENTS; ++r) cfg->recipients[r].linked_at_boot = true;
}

#define DAY_MS 86400000u /* upper bound for every duration (keeps device-time maths in range) */

const char* fw_config_check(const fw_config* c) {
    if (c == NULL) return "config is NULL";
    if (c->kind != FW_KIND_THERMOSTAT && c->kind != FW_KIND_LOCK) return "kind is invalid";
    if (c->hal.uplink == NULL) return "hal.uplink is NULL";
    if (c->recipient_count > FW_MAX_RECIPIENTS) return "recipient_count > FW_MAX_RECIPIENTS";
    for (unsigned r = 0; r < c->recipient_count; ++r) {
        const fw_recipient* p = &c->recipients[r];
        if (p->name == NULL || p->name[0] == '\0') return "recipient without a name";
        if (strlen(p->name) >= FW_NAME_MAX) return "recipient name too long";
        if ((unsigned)p->format > FW_FMT_JSON) return "recipient format is invalid";
        if (p->interaction_window_ms > DAY_MS) return "interaction_window_ms > 1 day";
        for (unsigned q = 0; q < r; ++q)
            if (strcmp(c->recipients[q].name, p->name) == 0) return "duplicate recipient name";
    }
    if ((unsigned)c->profile_at_boot >= FW_PROFILE_COUNT) return "profile_at_boot is invalid";
    if ((unsigned)c->mode_at_boot >= FW_MODE_COUNT) return "mode_at_boot is invalid";
    if (c->setpoint_min_centi_c > c->setpoint_max_centi_c) return "setpoint_min > setpoint_max";
    if (c->setpoint_at_boot_centi_c < c->setpoint_min_centi_c ||
        c->setpoint_at_boot_centi_c > c->setpoint_max_centi_c)
        return "setpoint_at_boot_centi_c outside setpoint_min...max";
    if (c->hysteresis_centi_c < 0 || c->hysteresis_centi_c > 500)
        return "hysteresis_centi_c out of range 0...500";
    if (c->auto_deadband_centi_c < 0 || c->eco_setback_centi_c < 0)
        return "auto_deadband / eco_setback must be >= 0";
    if (c->min_off_ms < 240000 || c->min_off_ms > 900000)
        return "min_off_ms out of range 240000...900000";
    if (c->min_on_ms < 60000 || c->min_on_ms > 900000) return "min_on_ms out of range 60000...900000";
    if (c->report_delta_centi_c <= 0) return "report_delta_centi_c must be > 0";
    if (c->report_delta_humidity_pct == 0) return "report_delta_humidity_pct must be > 0";
    if (c->report_min_interval_ms > DAY_MS || c->report_max_silence_ms > DAY_MS)
        return "report intervals must be <= 1 day";
    if (c->motor_ms == 0 || c->motor_ms > 60000) return "motor_ms out of range 1...60000";
    if (c->motor_timeout_ms == 0 || c->motor_timeout_ms > 60000)
        return "motor_timeout_ms out of range 1...60000";
    if (c->auto_relock_ms > DAY_MS) return "auto_relock_ms > 1 day";
    if (c->battery_drain_centi_pct > 10000) return "battery_drain_centi_pct > 10000";
    if (c->heartbeat_interval_ms != 0 &&
        (c->heartbeat_interval_ms < 1000 || c->heartbeat_interval_ms > DAY_MS))
        return "heartbeat_interval_ms must be 0 or 1000...86400000";
    if (c->keepalive_min_delay_ms > c->keepalive_max_delay_ms ||
        c->keepalive_max_delay_ms > 60000)
        return "keepalive delays: need min <= max <= 60000";
    if (c->flush_delay_ms > 60000) return "flush_delay_ms > 60000";
    if (c->interaction_guard_ms > 60000) return "interaction_guard_ms > 60000";
    return NULL;
}

int fw_recipient_index(const fw_config* cfg, const char* name, size_t len) {
    for (unsigned r = 0; r < cfg->recipient_count; ++r) {
        const char* n = cfg->recipients[r].name;
        if (strlen(n) == len && memcmp(n, name, len) == 0) return (int)r;
    }
    return -1;
}

/* ---------------------------------------------------------------------------------------- */
/* time and randomness                                                                       */
/* ---------------------------------------------------------------------------------------- */

/* floor(host * scale / 1000) without overflow */
static uint64_t scaled(uint64_t host, uint32_t scale_milli) {
    if (scale_milli == 1000u) return host;
    return (host / 1000u) * scale_milli + ((host % 1000u) * scale_milli) / 1000u;
}

static uint64_t dev_time(const fw_device* d, uint64_t host) {
    return (uint64_t)((int64_t)scaled(host, d->scale_milli) + d->time_offset_ms);
}

/* smallest host time whose device time is >= dev_ms */
static uint64_t host_time(const fw_device* d, uint64_t dev_ms) {
    int64_t x = (int64_t)dev_ms - d->time_offset_ms;
    if (x <= 0) return 0;
    if (d->scale_milli == 1000u) return (uint64_t)x;
    uint64_t q = (uint64_t)x / d->scale_milli, r = (uint64_t)x % d->scale_milli;
    return q * 1000u + (r * 1000u + d->scale_milli - 1u) / d->scale_milli;
}

/* splitmix32-style generator: any state is fine */
static uint32_t rnd(fw_device* d) {
    uint32_t z = (d->rng += 0x9E3779B9u);
    z ^= z >> 16;
    z *= 0x85EBCA6Bu;
    z ^= z >> 13;
    z *= 0xC2B2AE35u;
    z ^= z >> 16;
    return z;
}

static uint64_t wall(const fw_device* d, uint64_t dev_ms) {
    return (uint64_t)((int64_t)dev_ms + d->clock_offset_ms);
}

/* ---------------------------------------------------------------------------------------- */
/* HAL helpers                                                                               */
/* ---------------------------------------------------------------------------------------- */

static void logmsg(const fw_device* d, uint64_t host, fw_log_level lvl, const char* msg) {
    if (d->cfg->hal.log == NULL) return;
    d->cfg->hal.log(d->cfg->hal.ctx, d, host, lvl, msg, strlen(msg));
}

static void actuate(const fw_device* d, uint64_t host, fw_actuator a, int32_t v) {
    if (d->cfg->hal.actuate != NULL) d->cfg->hal.actuate(d->cfg->hal.ctx, d, host, a, v);
}

static size_t device_id(const fw_device* d, char* buf) {
    if (d->cfg->hal.device_id != NULL) {
        size_t n = d->cfg->hal.device_id(d->cfg->hal.ctx, d, buf, FW_ID_MAX);
        return n > FW_ID_MAX ? FW_ID_MAX : n;
    }
    jw w;
    jw_init(&w, buf, FW_ID_MAX + 1);
    jw_lit(&w, "dev-");
    jw_u64(&w, d->host_tag);
    return w.len;
}

static void uplink(const fw_device* d, uint64_t host, unsigned r, const char* format,
                   const char* body, size_t len) {
    d->cfg->hal.uplink(d->cfg->hal.ctx, d, host, d->cfg->recipients[r].name, format, body, len);
}

/* ---------------------------------------------------------------------------------------- */
/* consent view                                                                              */
/* ---------------------------------------------------------------------------------------- */

static bool is_linked(const fw_device* d, unsigned r) { return (d->linked >> r) & 1u; }

static uint32_t ia_until_s(const fw_recipient_state* p) {
    return (uint32_t)p->ia_until_s_lo | ((uint32_t)p->ia_until_s_hi << 16);
}
static void set_ia_until_s(fw_recipient_state* p, uint32_t s) {
    p->ia_until_s_lo = (uint16_t)s;
    p->ia_until_s_hi = (uint16_t)(s >> 16);
}

/* what the customer's consent allows r now: standing basis, or interaction window */
static uint16_t consent_allowed(const fw_device* d, unsigned r, uint64_t now) {
    const fw_recipient_state* p = &d->rcp[r];
    uint16_t a = p->basis;
    if (now < (uint64_t)ia_until_s(p) * 1000u) /* = now / 1000 < until, without a division */
        a |= d->cfg->recipients[r].interaction_categories;
    return (uint16_t)(a & ~p->withdrawn & FW_CATS_ALL);
}

static bool ignores_consent(const fw_device* d) {
    return d->profile == FW_PROFILE_PROACTIVE || d->profile == FW_PROFILE_CAUSE_LIE;
}

/* what this profile lets r receive now (link is checked separately) */
static uint16_t profile_allowed(const fw_device* d, unsigned r, uint64_t now) {
    return ignores_consent(d) ? FW_CATS_ALL : consent_allowed(d, r, now);
}

/* ---------------------------------------------------------------------------------------- */
/* state snapshot, TRUTH                                                                     */
/* ---------------------------------------------------------------------------------------- */

static fw_snapshot snapshot(const fw_device* d) {
    fw_snapshot s;
    memset(&s, 0, sizeof s);
    if (d->cfg->kind == FW_KIND_THERMOSTAT) {
        s.t.temp_centi_c = d->k.t.temp_centi_c;
        s.t.setpoint_centi_c = d->k.t.setpoint_centi_c;
        s.t.humidity_pct = d->k.t.humidity_pct;
        s.t.bits = SNAP_BITS(d->k.t.mode, d->k.t.hvac, d->k.t.occupied);
    } else {
        s.l.lock_state = d->k.l.lock_state;
        s.l.door_closed = d->k.l.door_closed;
        s.l.battery_half_pct = (uint8_t)(d->k.l.battery_centi_pct / 50u);
    }
    return s;
}

/* s: the device's snapshot now */
static void emit_truth(const fw_device* d, uint64_t host, const fw_snapshot* s) {
    if (d->cfg->hal.truth == NULL) return;
    char buf[FW_TRUTH_MAX];
    size_t n = fw_build_truth(d->cfg->kind, s, buf, sizeof buf);
    if (n > 0) d->cfg->hal.truth(d->cfg->hal.ctx, d, host, buf, n);
}

/* ---------------------------------------------------------------------------------------- */
/* one unit of work: what changed, why                                                       */
/* ---------------------------------------------------------------------------------------- */

/* A cause tag: the cause (3 bits) and the recipient an interaction came through (+1, 3 bits;
   0 = none). An interaction cause is claimed only towards that recipient: the others did not
   take part in it, so they get a report that claims no interaction (PERIODIC_POLL). */
static uint8_t cause_tag(fw_cause c, int via_recipient) {
    return (uint8_t)((unsigned)c | ((unsigned)(via_recipient + 1) << 3));
}

static fw_cause cause_for(uint8_t tag, unsigned r) {
    const fw_cause c = (fw_cause)(tag & 7u);
    const int via = (int)(tag >> 3) - 1;
    if ((c == FW_CAUSE_VOICE_INTERACTION || c == FW_CAUSE_APP_INTERACTION) && via != (int)r)
        return FW_CAUSE_PERIODIC_POLL;
    return c;
}

typedef struct step {
    uint64_t host;    /* host time */
    uint64_t now;     /* device time */
    uint16_t changed; /* categories whose value changed (to report) */
    uint8_t cause;    /* cause tag */
    bool truth;       /* emit TRUTH */
} step;

/* a step at host time `host`, device time `now` */
static step step_at(uint64_t host, uint64_t now, fw_cause cause) {
    step st;
    st.host = host;
    st.now = now;
    st.changed = 0;
    st.cause = cause_tag(cause, -1);
    st.truth = false;
    return st;
}

static step step_begin(const fw_device* d, uint64_t host, fw_cause cause) {
    return step_at(host, dev_time(d, host), cause);
}

typedef enum { D_CHANGE, D_STATE, D_QUEUED } dmode;

static void send_report(fw_device* d, const step* st, unsigned r, const fw_snapshot* s,
                        uint64_t sample_dev_ms, uint16_t c, uint16_t avail, uint8_t cause, dmode mode);

/* Sends one report to recipient r, filtered by the profile's view of consent.
   D_CHANGE: a change report (nothing if none of `changed` may go to r).
   D_STATE:  an answer to an interaction (all state r may receive).
   D_QUEUED: flush_after_revoke's queue: consent and link were checked when it was queued. */
static inline void deliver(fw_device* d, const step* st, unsigned r, const fw_snapshot* s,
                           uint64_t sample_dev_ms, uint16_t changed, uint8_t cause, dmode mode) {
    const fw_config* cfg = d->cfg;
    uint16_t allowed;
    if (mode == D_QUEUED) {
        allowed = changed; /* exactly what was queued, nothing besides */
    } else {
        if (!is_linked(d, r)) return;
        allowed = profile_allowed(d, r, st->now);
    }
    const uint16_t avail = (uint16_t)(fw_snapshot_present(cfg->kind, s) &
                                      fw_format_categories(cfg->recipients[r].format) & allowed);
    const uint16_t c = (uint16_t)(changed & avail);
    if (mode != D_STATE && c == 0) return;
    if (mode == D_STATE && avail == 0) return;
    send_report(d, st, r, s, sample_dev_ms, c, avail, cause, mode);
}

/* The report deliver decided on: c = the changed categories r may receive, avail = all it may. Out
   of line: most reports a device considers go to nobody, and those cost only the test above. */
static void send_report(fw_device* d, const step* st, unsigned r, const fw_snapshot* s,
                        uint64_t sample_dev_ms, uint16_t c, uint16_t avail, uint8_t cause, dmode mode) {
    const fw_config* cfg = d->cfg;
    const fw_recipient* rc = &cfg->recipients[r];
    const uint16_t x = (uint16_t)(avail & ~c);
    fw_body_in in;
    fw_snapshot creep;
    memset(&in, 0, sizeof in);
    in.kind = cfg->kind;
    in.format = rc->format;
    in.cause = d->profile == FW_PROFILE_CAUSE_LIE ? FW_CAUSE_VOICE_INTERACTION : cause_for(cause, r);
    in.snap = s;
    in.sample_wall_ms = wall(d, sample_dev_ms);
    in.agent_user_id = rc->agent_user_id;
    in.subscription_id = r + 1u;
    if (rc->format == FW_FMT_ALEXA) {
        in.state_report = (mode == D_STATE);
        in.change = c;
        in.context = x;
    } else {
        /* a change report carries what changed (google adds `online`); an answer all */
        in.change = mode == D_STATE ? avail : c;
        if (rc->format == FW_FMT_GOOGLE) in.change |= (uint16_t)(x & FW_CAT_BIT(FW_CAT_CONNECTIVITY));
    }
    if (d->profile == FW_PROFILE_SCOPE_CREEP) {
        /* adds what the consent did not cover: occupancy to temperature reports (thermostat),
           the door contact to lock-state reports (lock) */
        const uint16_t sent = (uint16_t)(in.change | in.context);
        const uint16_t trig = FW_CAT_BIT(cfg->kind == FW_KIND_THERMOSTAT ? FW_CAT_TEMPERATURE
                                                                          : FW_CAT_LOCK_STATE);
        const uint16_t extra = FW_CAT_BIT(cfg->kind == FW_KIND_THERMOSTAT ? FW_CAT_OCCUPANCY
                                                                           : FW_CAT_DOOR_STATE);
        if ((sent & trig) && !(sent & extra)) {
            if (rc->format == FW_FMT_ALEXA)
                in.context |= extra;
            else
                in.change |= extra;
            if (cfg->kind == FW_KIND_THERMOSTAT && SNAP_MODE(s->t.bits) == FW_MODE_ECO) {
                /* occupancy derived from the mode: eco is what the customer sets when away */
                creep = *s;
                creep.t.bits = (uint8_t)(creep.t.bits & ~(1u << 5));
                in.snap = &creep;
            }
        }
    }
    char id[FW_ID_MAX + 1];
    in.id_len = device_id(d, id);
    in.id = id;
    if (rc->format == FW_FMT_ALEXA || rc->format == FW_FMT_GOOGLE)
        for (unsigned i = 0; i < 4; ++i) in.rnd[i] = rnd(d);

    char body[FW_BODY_MAX];
    size_t n = fw_build_body(&in, body, sizeof body);
    if (n == 0) {
        logmsg(d, st->host, FW_LOG_ERROR, "uplink body too large; message dropped");
        return;
    }
    uplink(d, st->host, r, fw_format_name(rc->format), body, n);
}

/* A state-free message's body up to its sequence number, as one constant. */
#define STATE_FREE_HEAD(type) ((jw_text)JW_TEXT("{\"type\":\"" type "\",\"seq\":"))

static void send_state_free(fw_device* d, const step* st, unsigned r, jw_text head) {
    char body[64];
    jw w;
    jw_init(&w, body, sizeof body);
    jw_text_put(&w, head);
    jw_u64(&w, d->seq);
    jw_char(&w, '}');
    if (jw_finish(&w) != NULL) uplink(d, st->host, r, "json", body, w.len);
}

/* ---- store_and_forward ring ---- */

static fw_saf_ring* saf_ring(const fw_device* d) {
    return d->cfg->hal.saf_ring != NULL ? d->cfg->hal.saf_ring(d->cfg->hal.ctx, d) : NULL;
}

static void saf_push(fw_device* d, const step* st, const fw_snapshot* s, uint16_t changed) {
    fw_saf_ring* ring = saf_ring(d);
    if (ring == NULL) {
        d->dirty |= changed;
        logmsg(d, st->host, FW_LOG_WARN, "store_and_forward: the host gave no buffer; sample dropped");
        return;
    }
    if (!(d->flags & DF_SAF)) {
        d->flags |= DF_SAF;
        ring->head = ring->count = 0;
        ring->base_ms = st->now;
    }
    uint64_t off = st->now - ring->base_ms;
    if (off > UINT32_MAX) return; /* an outage longer than 49 days: keep the older samples */
    unsigned slot;
    if (ring->count < FW_SAF_SLOTS) {
        slot = (ring->head + ring->count) % FW_SAF_SLOTS;
        ++ring->count;
    } else { /* full: overwrite the oldest */
        slot = ring->head;
        ring->head = (uint8_t)((ring->head + 1u) % FW_SAF_SLOTS);
    }
    ring->slots[slot].t_off_ms = (uint32_t)off;
    ring->slots[slot].snap = *s;
    ring->slots[slot].changed = changed;
}

static void queue_for_flush(fw_device* d, const step* st, uint16_t changed, uint8_t cause) {
    const fw_snapshot s = snapshot(d);
    const uint16_t present = fw_snapshot_present(d->cfg->kind, &s);
    for (unsigned r = 0; r < d->cfg->recipient_count; ++r) {
        if (!is_linked(d, r)) continue;
        const uint16_t q = (uint16_t)(changed & present & consent_allowed(d, r, st->now) &
                                      fw_format_categories(d->cfg->recipients[r].format));
        if (q == 0) continue;
        d->rcp[r].outbox |= q;
        d->outbox_cause = cause;
    }
}

static void flush_outbox(fw_device* d, const step* st) {
    const fw_snapshot s = snapshot(d);
    for (unsigned r = 0; r < d->cfg->recipient_count; ++r) {
        if (d->rcp[r].outbox == 0) continue;
        deliver(d, st, r, &s, st->now, d->rcp[r].outbox, d->outbox_cause, D_QUEUED);
        d->rcp[r].outbox = 0;
    }
}

static void arm_soon(fw_device* d, uint64_t at) {
    if ((d->flags & DF_SOON) && d->soon_due_ms <= at) return;
    d->flags |= DF_SOON;
    d->soon_due_ms = at;
}

/* A sample the device decided to report (s: its snapshot now): goes to every recipient the
   profile allows. */
static void publish(fw_device* d, const step* st, const fw_snapshot* s, uint16_t changed) {
    changed &= fw_snapshot_present(d->cfg->kind, s);
    if (changed == 0) return;
    if (!(d->flags & DF_NET_UP)) {
        switch ((fw_profile)d->profile) {
        case FW_PROFILE_STORE_AND_FORWARD: saf_push(d, st, s, changed); break;
        case FW_PROFILE_FLUSH_AFTER_REVOKE: queue_for_flush(d, st, changed, st->cause); break;
        default: d->dirty |= changed; break; /* dropped; fresh state is sent on reconnect */
        }
        return;
    }
    if (d->profile == FW_PROFILE_FLUSH_AFTER_REVOKE) {
        queue_for_flush(d, st, changed, st->cause);
        arm_soon(d, st->now + d->cfg->flush_delay_ms);
        return;
    }
    for (unsigned r = 0; r < d->cfg->recipient_count; ++r)
        deliver(d, st, r, s, st->now, changed, st->cause, D_CHANGE);
}

/* ---------------------------------------------------------------------------------------- */
/* thermostat                                                                                */
/* ---------------------------------------------------------------------------------------- */

static fw_hvac_state heat_want(bool on, int t, int target, int h) {
    if (on) return t >= target + h ? FW_HVAC_IDLE : FW_HVAC_HEATING;
    return t <= target - h ? FW_HVAC_HEATING : FW_HVAC_IDLE;
}
static fw_hvac_state cool_want(bool on, int t, int target, int h) {
    if (on) return t <= target - h ? FW_HVAC_IDLE : FW_HVAC_COOLING;
    return t >= target + h ? FW_HVAC_COOLING : FW_HVAC_IDLE;
}

/* what the control law asks for, ignoring the minimum on/off times */
static fw_hvac_state thermo_want(const fw_device* d) {
    const fw_config* c = d->cfg;
    const int t = d->k.t.temp_centi_c, sp = d->k.t.setpoint_centi_c, h = c->hysteresis_centi_c;
    const fw_hvac_state cur = (fw_hvac_state)d->k.t.hvac;
    if (t == FW_TEMP_UNKNOWN) return FW_HVAC_IDLE;
    switch ((fw_hvac_mode)d->k.t.mode) {
    case FW_MODE_HEAT: return heat_want(cur == FW_HVAC_HEATING, t, sp, h);
    case FW_MODE_ECO: return heat_want(cur == FW_HVAC_HEATING, t, sp - c->eco_setback_centi_c, h);
    case FW_MODE_COOL: return cool_want(cur == FW_HVAC_COOLING, t, sp, h);
    case FW_MODE_AUTO: {
        const int hs = sp - c->auto_deadband_centi_c / 2, cs = sp + c->auto_deadband_centi_c / 2;
        if (cur == FW_HVAC_HEATING) return heat_want(true, t, hs, h);
        if (cur == FW_HVAC_COOLING) return cool_want(true, t, cs, h);
        if (heat_want(false, t, hs, h) == FW_HVAC_HEATING) return FW_HVAC_HEATING;
        return cool_want(false, t, cs, h);
    }
    case FW_MODE_OFF:
    case FW_MODE_COUNT: break;
    }
    return FW_HVAC_IDLE;
}

/* next relay state and the device time from which it may switch (UINT64_MAX: stay) */
static uint64_t relay_gate(const fw_device* d, fw_hvac_state* next) {
    fw_hvac_state want = thermo_want(d);
    const fw_hvac_state cur = (fw_hvac_state)d->k.t.hvac;
    if (want == cur) return UINT64_MAX;
    if (cur != FW_HVAC_IDLE && want != FW_HVAC_IDLE) want = FW_HVAC_IDLE; /* via off */
    *next = want;
    return d->kt.t.relay_since_ms + (cur == FW_HVAC_IDLE ? d->cfg->min_off_ms : d->cfg->min_on_ms);
}

static void thermo_control(fw_device* d, step* st) {
    fw_hvac_state next = FW_HVAC_IDLE;
    const uint64_t at = relay_gate(d, &next);
    if (at == UINT64_MAX || st->now < at) return;
    d->k.t.hvac = (uint8_t)next;
    d->kt.t.relay_since_ms = st->now;
    actuate(d, st->host, FW_ACT_HVAC_RELAY,
            next == FW_HVAC_HEATING ? FW_RELAY_HEAT : next == FW_HVAC_COOLING ? FW_RELAY_COOL
                                                                               : FW_RELAY_OFF);
    st->changed |= FW_CAT_BIT(FW_CAT_HVAC_STATE);
    st->truth = true;
}

static int iabs(int v) { return v < 0 ? -v : v; }

/* sensor categories whose value moved past the report threshold since the last report */
static uint16_t sensor_deltas(const fw_device* d) {
    uint16_t m = 0;
    const int16_t t = d->k.t.temp_centi_c, rt = d->k.t.reported_temp_centi_c;
    if (t != FW_TEMP_UNKNOWN &&
        (rt == FW_TEMP_UNKNOWN || iabs(t - rt) >= d->cfg->report_delta_centi_c))
        m |= FW_CAT_BIT(FW_CAT_TEMPERATURE);
    const uint8_t h = d->k.t.humidity_pct, rh = d->k.t.reported_humidity_pct;
    if (h != FW_HUMIDITY_UNKNOWN &&
        (rh == FW_HUMIDITY_UNKNOWN || iabs((int)h - (int)rh) >= d->cfg->report_delta_humidity_pct))
        m |= FW_CAT_BIT(FW_CAT_HUMIDITY);
    return m;
}

static bool rate_ok(const fw_device* d, uint64_t now) {
    return !(d->k.t.flags & TF_PUBLISHED) ||
           now >= d->kt.t.last_publish_ms + d->cfg->report_min_interval_ms;
}

/* after a sensor reading: report now, or once the minimum interval has passed */
static void thermo_sensor_report(fw_device* d, step* st) {
    const uint16_t due = sensor_deltas(d);
    if (due == 0) return;
    if (rate_ok(d, st->now))
        st->changed |= due;
    else
        d->k.t.flags |= TF_PENDING;
}

static const char* set_setpoint(fw_device* d, step* st, int32_t v) {
    if (v < d->cfg->setpoint_min_centi_c || v > d->cfg->setpoint_max_centi_c)
        return "setpoint out of range";
    if (d->k.t.setpoint_centi_c != v) {
        d->k.t.setpoint_centi_c = (int16_t)v;
        st->changed |= FW_CAT_BIT(FW_CAT_SETPOINT);
        st->truth = true;
        thermo_control(d, st);
    }
    return NULL;
}

static const char* set_mode(fw_device* d, step* st, int32_t v) {
    if (v < 0 || v >= FW_MODE_COUNT) return "mode out of range";
    if (d->k.t.mode != v) {
        d->k.t.mode = (uint8_t)v;
        st->changed |= FW_CAT_BIT(FW_CAT_HVAC_MODE);
        st->truth = true;
        thermo_control(d, st);
    }
    return NULL;
}

/* Sensor observations (occupancy, door contact) claim no interaction: the trace has none
   behind them, so their cause is PERIODIC_POLL. */
static void set_occupied(fw_device* d, step* st, bool occ) {
    if (d->k.t.occupied != (uint8_t)occ) {
        d->k.t.occupied = (uint8_t)occ;
        st->cause = cause_tag(FW_CAUSE_PERIODIC_POLL, -1);
        st->changed |= FW_CAT_BIT(FW_CAT_OCCUPANCY);
        st->truth = true;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* lock                                                                                      */
/* ---------------------------------------------------------------------------------------- */

static void relock_update(fw_device* d, const step* st) {
    const bool want = !(d->k.l.flags & LF_MOTOR) && d->k.l.lock_state == FW_LOCK_UNLOCKED &&
                      d->k.l.door_closed && d->cfg->auto_relock_ms > 0;
    if (!want) {
        d->k.l.flags &= (uint8_t)~LF_RELOCK;
    } else if (!(d->k.l.flags & LF_RELOCK)) {
        d->k.l.flags |= LF_RELOCK;
        d->kt.l.mech_due_ms = st->now + d->cfg->auto_relock_ms;
    }
}

/* Starts the motor towards target. NULL when started or nothing to do (*started tells). */
static const char* lock_request(fw_device* d, step* st, fw_lock_state target, uint8_t cause,
                                bool* started) {
    *started = false;
    if (d->k.l.flags & LF_MOTOR) return "lock motor busy";
    if (d->k.l.lock_state == target) return NULL;
    if (target == FW_LOCK_LOCKED && !d->k.l.door_closed) return "cannot lock: the door is open";
    d->k.l.flags = (uint8_t)((d->k.l.flags | LF_MOTOR) & ~LF_RELOCK);
    d->k.l.motor_target = (uint8_t)target;
    d->k.l.motor_cause = cause;
    d->kt.l.mech_due_ms =
        st->now + (d->cfg->motor_done_by_host ? d->cfg->motor_timeout_ms : d->cfg->motor_ms);
    actuate(d, st->host, FW_ACT_LOCK_MOTOR,
            target == FW_LOCK_LOCKED ? FW_MOTOR_LOCK : FW_MOTOR_UNLOCK);
    const uint16_t b = d->k.l.battery_centi_pct, drain = d->cfg->battery_drain_centi_pct;
    const uint16_t nb = (uint16_t)(b > drain ? b - drain : 0);
    d->k.l.battery_centi_pct = nb;
    if (nb / 100u != b / 100u) {
        d->k.l.flags |= LF_BATT_DIRTY;
        st->truth = true;
    }
    *started = true;
    return NULL;
}

static void motor_complete(fw_device* d, step* st, bool jammed) {
    d->k.l.flags &= (uint8_t)~LF_MOTOR;
    actuate(d, st->host, FW_ACT_LOCK_MOTOR, FW_MOTOR_STOP);
    const uint8_t ns = jammed ? (uint8_t)FW_LOCK_JAMMED : d->k.l.motor_target;
    st->cause = d->k.l.motor_cause;
    if (ns != d->k.l.lock_state) {
        d->k.l.lock_state = ns;
        st->changed |= FW_CAT_BIT(FW_CAT_LOCK_STATE);
        st->truth = true;
    }
    if (d->k.l.flags & LF_BATT_DIRTY) {
        d->k.l.flags &= (uint8_t)~LF_BATT_DIRTY;
        st->changed |= FW_CAT_BIT(FW_CAT_BATTERY);
    }
    if (jammed) logmsg(d, st->host, FW_LOG_WARN, "lock motor jammed");
    relock_update(d, st);
}

static void set_door(fw_device* d, step* st, bool closed) {
    if (d->k.l.door_closed == (uint8_t)closed) return;
    d->k.l.door_closed = (uint8_t)closed;
    st->cause = cause_tag(FW_CAUSE_PERIODIC_POLL, -1);
    st->changed |= FW_CAT_BIT(FW_CAT_DOOR_STATE);
    st->truth = true;
    d->k.l.flags &= (uint8_t)~LF_RELOCK; /* closing restarts the relock delay */
    relock_update(d, st);
}

/* ---------------------------------------------------------------------------------------- */
/* finishing a step, timers                                                                  */
/* ---------------------------------------------------------------------------------------- */

static void step_emit(fw_device* d, step* st);

/* Ends a step: a TRUTH if the state changed, reports if something reportable did. Most timer
   steps change nothing: that test is all they cost. */
static void step_finish(fw_device* d, step* st) {
    if (st->truth || st->changed != 0) step_emit(d, st);
}

static void step_emit(fw_device* d, step* st) {
    /* one snapshot for the TRUTH and the report: nothing below changes what it holds */
    const fw_snapshot s = snapshot(d);
    if (st->truth) emit_truth(d, st->host, &s);
    if (st->changed == 0) return;
    if (d->cfg->kind == FW_KIND_THERMOSTAT) {
        st->changed |= sensor_deltas(d); /* a report also carries pending sensor changes */
        d->k.t.flags = (uint8_t)((d->k.t.flags | TF_PUBLISHED) & ~TF_PENDING);
        d->kt.t.last_publish_ms = st->now;
        if (st->changed & FW_CAT_BIT(FW_CAT_TEMPERATURE))
            d->k.t.reported_temp_centi_c = d->k.t.temp_centi_c;
        if (st->changed & FW_CAT_BIT(FW_CAT_HUMIDITY))
            d->k.t.reported_humidity_pct = d->k.t.humidity_pct;
    }
    /* only a real change of state gives the keep-alive away, not a periodic full report */
    if (d->profile == FW_PROFILE_KEEPALIVE_LEAK && st->truth &&
        (st->changed & d->cfg->keepalive_trigger_categories) && !(d->flags & DF_SOON)) {
        const uint32_t span = d->cfg->keepalive_max_delay_ms - d->cfg->keepalive_min_delay_ms;
        arm_soon(d, st->now + d->cfg->keepalive_min_delay_ms + rnd(d) % (span + 1u));
    }
    publish(d, st, &s, st->changed);
}

/* Whether a heartbeat at device time `now` goes to r (the network being up). */
static bool heartbeat_goes_to(const fw_device* d, unsigned r, uint64_t now) {
    return d->cfg->recipients[r].heartbeat && is_linked(d, r) &&
           (profile_allowed(d, r, now) & FW_CAT_BIT(FW_CAT_CONNECTIVITY));
}

static void heartbeat(fw_device* d, const step* st) {
    if (d->flags & DF_NET_UP) {
        bool sent = false;
        for (unsigned r = 0; r < d->cfg->recipient_count; ++r) {
            if (!heartbeat_goes_to(d, r, st->now)) continue;
            send_state_free(d, st, r, STATE_FREE_HEAD("heartbeat"));
            sent = true;
        }
        if (sent) ++d->seq;
    }
    const uint32_t iv = d->cfg->heartbeat_interval_ms / 1000u;
    d->hb_due_s += iv;
    if ((uint64_t)d->hb_due_s * 1000u <= st->now) d->hb_due_s = (uint32_t)(st->now / 1000u) + iv;
}

static void soon_due(fw_device* d, const step* st) {
    d->flags &= (uint8_t)~DF_SOON;
    if (!(d->flags & DF_NET_UP)) return; /* flush: goes out on reconnect; keep-alive: lost */
    if (d->profile == FW_PROFILE_KEEPALIVE_LEAK) {
        bool sent = false;
        for (unsigned r = 0; r < d->cfg->recipient_count; ++r) {
            if (!is_linked(d, r)) continue;
            send_state_free(d, st, r, STATE_FREE_HEAD("keepalive"));
            sent = true;
        }
        if (sent) ++d->seq;
    } else if (d->profile == FW_PROFILE_FLUSH_AFTER_REVOKE) {
        flush_outbox(d, st);
    }
}

/* ---- idle timers --------------------------------------------------------------------------
   A silent-period report or a heartbeat that would reach no recipient changes nothing but its
   own deadline: the device sleeps through it (fw_next_wakeup does not ask for it, a board need
   not wake for it, the fleet simulator saves the event) and the next entry point moves the
   deadline on as the skipped timers would have. What consent allows only narrows while no
   entry point is called (interaction windows close; bases, links, the network and the profile
   change only through calls, which run the due timers first), so a timer that would reach
   nobody at its deadline would reach nobody at every later one until the next call. */

/* The silent-period report due at device time `at` would send nothing and change nothing but
   last_publish_ms: nobody may receive its categories, and what it would mark as reported is. */
static bool silence_is_idle(const fw_device* d, uint64_t at) {
    if (!(d->flags & DF_NET_UP) || d->profile == FW_PROFILE_FLUSH_AFTER_REVOKE) return false;
    const uint8_t flags = d->k.t.flags;
    if (!(flags & TF_PUBLISHED) || (flags & TF_PENDING) ||
        d->k.t.reported_temp_centi_c != d->k.t.temp_centi_c ||
        d->k.t.reported_humidity_pct != d->k.t.humidity_pct)
        return false;
    const fw_snapshot s = snapshot(d);
    const uint16_t present = fw_snapshot_present(FW_KIND_THERMOSTAT, &s);
    if (present == 0) return false; /* such a step changes nothing, not even its deadline */
    for (unsigned r = 0; r < d->cfg->recipient_count; ++r) {
        if (is_linked(d, r) &&
            (present & fw_format_categories(d->cfg->recipients[r].format) & profile_allowed(d, r, at)))
            return false;
    }
    return true;
}

/* The heartbeat due at device time `at` would send nothing (see heartbeat()). */
static bool heartbeat_is_idle(const fw_device* d, uint64_t at) {
    if (!(d->flags & DF_NET_UP)) return true;
    for (unsigned r = 0; r < d->cfg->recipient_count; ++r) {
        if (heartbeat_goes_to(d, r, at)) return false;
    }
    return true;
}

/* Moves the deadlines of idle timers due before `now` on past their skipped runs (a run at
   `now` itself is left to run_due, in its order). */
static void skip_idle_timers(fw_device* d, uint64_t now) {
    const fw_config* c = d->cfg;
    if (c->kind == FW_KIND_THERMOSTAT && c->report_max_silence_ms > 0) {
        const uint64_t last = d->kt.t.last_publish_ms, period = c->report_max_silence_ms;
        if (last + period < now && silence_is_idle(d, last + period))
            d->kt.t.last_publish_ms = last + (now - 1u - last) / period * period;
    }
    if (d->flags & DF_HB) {
        const uint64_t first = (uint64_t)d->hb_due_s * 1000u;
        const uint32_t iv = c->heartbeat_interval_ms / 1000u;
        if (first < now && heartbeat_is_idle(d, first))
            d->hb_due_s += (uint32_t)((now - 1u - first) / ((uint64_t)iv * 1000u) + 1u) * iv;
    }
}

static void run_due(fw_device* d, uint64_t host) {
    const uint64_t now = dev_time(d, host);
    skip_idle_timers(d, now);
    if (d->cfg->kind == FW_KIND_THERMOSTAT) {
        step st = step_at(host, now, FW_CAUSE_RULE_TRIGGER);
        thermo_control(d, &st);
        step_finish(d, &st);
        if ((d->k.t.flags & TF_PENDING) && rate_ok(d, now)) {
            step sp = step_at(host, now, FW_CAUSE_PERIODIC_POLL);
            d->k.t.flags &= (uint8_t)~TF_PENDING;
            sp.changed = sensor_deltas(d);
            step_finish(d, &sp);
        }
        if (d->cfg->report_max_silence_ms > 0 &&
            now >= d->kt.t.last_publish_ms + d->cfg->report_max_silence_ms) {
            step ss = step_at(host, now, FW_CAUSE_PERIODIC_POLL);
            const fw_snapshot s = snapshot(d);
            ss.changed = fw_snapshot_present(FW_KIND_THERMOSTAT, &s);
            step_finish(d, &ss);
        }
    } else if ((d->k.l.flags & (LF_MOTOR | LF_RELOCK)) && now >= d->kt.l.mech_due_ms) {
        step st = step_at(host, now, FW_CAUSE_RULE_TRIGGER);
        if (d->k.l.flags & LF_MOTOR) {
            /* own timer: the motor is done; host-reported mode: no MOTOR_DONE in time */
            motor_complete(d, &st, d->cfg->motor_done_by_host);
        } else {
            bool started;
            d->k.l.flags &= (uint8_t)~LF_RELOCK;
            (void)lock_request(d, &st, FW_LOCK_LOCKED, cause_tag(FW_CAUSE_RULE_TRIGGER, -1),
                               &started);
        }
        step_finish(d, &st);
    }
    if ((d->flags & DF_SOON) && now >= d->soon_due_ms) {
        step st = step_at(host, now, FW_CAUSE_PERIODIC_POLL);
        soon_due(d, &st);
    }
    if ((d->flags & DF_HB) && now >= (uint64_t)d->hb_due_s * 1000u) {
        step st = step_at(host, now, FW_CAUSE_PERIODIC_POLL);
        heartbeat(d, &st);
    }
}

/* Consent changes take effect at their own millisecond, before anything the device would
   send in it (PROTOCOL.md §4: a send in the same millisecond as an unlink is after it). So a
   command or basis change first runs only the timers due strictly before `host`; timers due
   at `host` itself run on the host's next fw_on_timer, which fw_next_wakeup asks for. */
static void run_due_before(fw_device* d, uint64_t host) {
    if (host > 0) run_due(d, host - 1);
}

/* ---------------------------------------------------------------------------------------- */
/* boot                                                                                      */
/* ---------------------------------------------------------------------------------------- */

static void boot(fw_device* d, uint64_t host) {
    const fw_config* c = d->cfg;
    const uint64_t now = dev_time(d, host);
    /* back to real time, continuing the device clock */
    d->scale_milli = 1000;
    d->time_offset_ms = (int64_t)now - (int64_t)host;
    d->clock_offset_ms = (int64_t)c->boot_epoch_ms - (int64_t)now;
    d->profile = (uint8_t)c->profile_at_boot;
    d->flags = DF_NET_UP;
    d->linked = 0;
    d->dirty = 0;
    d->outbox_cause = 0;
    d->soon_due_ms = 0;
    for (unsigned r = 0; r < c->recipient_count; ++r) {
        fw_recipient_state* p = &d->rcp[r];
        memset(p, 0, sizeof *p);
        p->basis = (uint16_t)(c->recipients[r].basis_at_boot & FW_CATS_ALL);
        if (c->recipients[r].linked_at_boot) d->linked |= (uint8_t)(1u << r);
    }
    memset(&d->kt, 0, sizeof d->kt);
    memset(&d->k, 0, sizeof d->k);
    if (c->kind == FW_KIND_THERMOSTAT) {
        d->k.t.temp_centi_c = FW_TEMP_UNKNOWN;
        d->k.t.reported_temp_centi_c = FW_TEMP_UNKNOWN;
        d->k.t.humidity_pct = FW_HUMIDITY_UNKNOWN;
        d->k.t.reported_humidity_pct = FW_HUMIDITY_UNKNOWN;
        d->k.t.setpoint_centi_c = c->setpoint_at_boot_centi_c;
        d->k.t.mode = (uint8_t)c->mode_at_boot;
        d->k.t.hvac = FW_HVAC_IDLE;
        d->k.t.occupied = 1;
        d->kt.t.relay_since_ms = now; /* short-cycle protection also after power-up */
        d->kt.t.last_publish_ms = now;
        actuate(d, host, FW_ACT_HVAC_RELAY, FW_RELAY_OFF);
    } else {
        d->k.l.lock_state = FW_LOCK_LOCKED;
        d->k.l.motor_target = FW_LOCK_LOCKED;
        d->k.l.door_closed = 1;
        d->k.l.battery_centi_pct = 10000;
    }
    if (c->heartbeat_interval_ms > 0) {
        /* first heartbeat at a per-device phase within the first interval */
        const uint32_t iv = c->heartbeat_interval_ms / 1000u;
        d->flags |= DF_HB;
        d->hb_due_s = (uint32_t)(now / 1000u) + 1u + rnd(d) % iv;
    }
    const fw_snapshot s = snapshot(d);
    emit_truth(d, host, &s);
}

size_t fw_device_size(uint8_t recipient_count) { return FW_DEVICE_SIZE(recipient_count); }

const char* fw_init(fw_device* d, const fw_config* cfg, uint32_t host_tag, uint32_t seed,
                    uint64_t now_ms) {
    memset(d, 0, offsetof(fw_device, rcp)); /* the recipient states: boot(), once cfg is checked */
    const char* e = fw_config_check(cfg);
    if (e != NULL) return e;
    d->cfg = cfg;
    d->host_tag = host_tag;
    d->rng = seed ^ (host_tag * 0x9E3779B1u) ^ 0x5DEECE66u;
    (void)rnd(d);
    d->scale_milli = 1000;
    d->time_offset_ms = 0;
    boot(d, now_ms);
    return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* entry points                                                                              */
/* ---------------------------------------------------------------------------------------- */

static void answer(fw_device* d, const step* st, int r) {
    if (r < 0) return;
    if (!(d->flags & DF_NET_UP)) {
        logmsg(d, st->host, FW_LOG_INFO, "network down: interaction answer dropped");
        return;
    }
    const fw_snapshot s = snapshot(d);
    deliver(d, st, (unsigned)r, &s, st->now, 0, st->cause, D_STATE);
}

static void network_restored(fw_device* d, step* st) {
    switch ((fw_profile)d->profile) {
    case FW_PROFILE_STORE_AND_FORWARD:
        /* the buffered samples, with their original sample time, filtered by today's consent */
        if (d->flags & DF_SAF) {
            const fw_saf_ring* ring = saf_ring(d);
            d->flags &= (uint8_t)~DF_SAF;
            for (unsigned i = 0; ring != NULL && i < ring->count; ++i) {
                const fw_saf_entry* e = &ring->slots[(ring->head + i) % FW_SAF_SLOTS];
                for (unsigned r = 0; r < d->cfg->recipient_count; ++r)
                    deliver(d, st, r, &e->snap, ring->base_ms + e->t_off_ms, e->changed,
                            cause_tag(FW_CAUSE_PERIODIC_POLL, -1), D_CHANGE);
            }
        }
        /* samples the host had no buffer for are dirty: fresh state, as compliant sends */
        /* fall through */
    default:
        if (d->dirty != 0) {
            st->cause = cause_tag(FW_CAUSE_PERIODIC_POLL, -1);
            st->changed |= d->dirty; /* fresh sample, today's consent */
        }
        break;
    case FW_PROFILE_FLUSH_AFTER_REVOKE:
        flush_outbox(d, st); /* whatever was queued, whoever may receive it now */
        break;
    }
    d->dirty = 0;
}

static const char* recipient_arg(const fw_device* d, const char* name, int* r) {
    *r = fw_recipient_index(d->cfg, name, strlen(name));
    return *r < 0 ? "unknown recipient" : NULL;
}

const char* fw_on_command(fw_device* d, uint64_t host, const fw_command* cmd) {
    run_due_before(d, host);
    const bool thermo = d->cfg->kind == FW_KIND_THERMOSTAT;
    step st = step_begin(d, host, FW_CAUSE_PHYSICAL_INTERACTION);
    const char* err = NULL;
    int r = -1;
    switch (cmd->op) {
    case FW_OP_SET_CLOCK:
        d->clock_offset_ms = (int64_t)cmd->epoch_ms - (int64_t)st.now;
        break;

    case FW_OP_INTERACT: {
        if (cmd->via != FW_VIA_PHYSICAL) {
            if ((err = recipient_arg(d, cmd->recipient, &r)) != NULL) return err;
        }
        const fw_cause cause = cmd->via == FW_VIA_VOICE ? FW_CAUSE_VOICE_INTERACTION
                               : cmd->via == FW_VIA_APP ? FW_CAUSE_APP_INTERACTION
                                                        : FW_CAUSE_PHYSICAL_INTERACTION;
        const bool thermo_action =
            cmd->action == FW_ACTION_SET_SETPOINT || cmd->action == FW_ACTION_SET_MODE;
        const bool lock_action = cmd->action == FW_ACTION_LOCK || cmd->action == FW_ACTION_UNLOCK;
        if ((thermo_action && !thermo) || (lock_action && thermo))
            return thermo ? "interact: a thermostat cannot lock or unlock"
                          : "interact: a lock has no setpoint or mode";
        if (thermo_action && !cmd->has_value)
            return "interact: missing value";
        st.cause = cause_tag(cause, r);
        if (r >= 0) { /* opens the interaction window for r */
            const fw_recipient* rc = &d->cfg->recipients[r];
            if (rc->interaction_window_ms > d->cfg->interaction_guard_ms) {
                /* window end in whole seconds, rounded down, minus the latency guard */
                const uint32_t until = (uint32_t)(
                    (st.now + rc->interaction_window_ms - d->cfg->interaction_guard_ms) / 1000u);
                if (until > ia_until_s(&d->rcp[r])) set_ia_until_s(&d->rcp[r], until);
            }
        }
        bool answer_now = false;
        switch (cmd->action) {
        case FW_ACTION_QUERY: answer_now = true; break;
        case FW_ACTION_SET_SETPOINT:
            if ((err = set_setpoint(d, &st, cmd->value)) != NULL) return err;
            answer_now = st.changed == 0;
            break;
        case FW_ACTION_SET_MODE:
            if ((err = set_mode(d, &st, cmd->value)) != NULL) return err;
            answer_now = st.changed == 0;
            break;
        case FW_ACTION_LOCK:
        case FW_ACTION_UNLOCK: {
            bool started;
            err = lock_request(d, &st,
                               cmd->action == FW_ACTION_LOCK ? FW_LOCK_LOCKED : FW_LOCK_UNLOCKED,
                               st.cause, &started);
            if (err != NULL) return err;
            answer_now = !started; /* else the report follows when the motor is done */
            break;
        }
        }
        if (answer_now) answer(d, &st, r);
        break;
    }

    case FW_OP_CONSENT:
        if ((err = recipient_arg(d, cmd->recipient, &r)) != NULL) return err;
        if (cmd->granted)
            d->rcp[r].withdrawn &= (uint16_t)~cmd->categories;
        else
            d->rcp[r].withdrawn |= (uint16_t)(cmd->categories & FW_CATS_ALL);
        break;

    case FW_OP_LINK:
        if ((err = recipient_arg(d, cmd->recipient, &r)) != NULL) return err;
        if (cmd->linked)
            d->linked |= (uint8_t)(1u << r);
        else
            d->linked &= (uint8_t)~(1u << r);
        break;

    case FW_OP_NETWORK:
        if (cmd->up && !(d->flags & DF_NET_UP)) {
            d->flags |= DF_NET_UP;
            network_restored(d, &st);
        } else if (!cmd->up) {
            d->flags &= (uint8_t)~DF_NET_UP;
        }
        break;

    case FW_OP_ENV:
        /* outdoor_c is for the HAL's plant model; the core has no outdoor sensor */
        if (cmd->has_occupied && thermo) set_occupied(d, &st, cmd->occupied);
        if (cmd->has_door && !thermo) set_door(d, &st, cmd->door_closed);
        break;

    case FW_OP_PROFILE:
        if ((unsigned)cmd->profile >= FW_PROFILE_COUNT) return "profile: unknown profile";
        d->profile = (uint8_t)cmd->profile;
        /* queues belong to the profile that filled them */
        d->flags &= (uint8_t)~(DF_SOON | DF_SAF);
        for (unsigned i = 0; i < d->cfg->recipient_count; ++i) d->rcp[i].outbox = 0;
        break;

    case FW_OP_TIME_SCALE:
        if (!d->cfg->allow_time_scale) return "time_scale: not supported (no cap time_scale)";
        if (cmd->factor_milli < 1000u || cmd->factor_milli > 1000000u)
            return "time_scale: factor must be 1...1000";
        d->scale_milli = cmd->factor_milli;
        d->time_offset_ms = (int64_t)st.now - (int64_t)scaled(host, d->scale_milli);
        break;

    case FW_OP_RESET:
        boot(d, host);
        return NULL;

    case FW_OP_COUNT:
    default: return "unknown op";
    }
    step_finish(d, &st);
    return NULL;
}

const char* fw_on_sensor(fw_device* d, uint64_t host, fw_sensor sensor, int32_t v) {
    run_due(d, host);
    const bool thermo = d->cfg->kind == FW_KIND_THERMOSTAT;
    step st = step_begin(d, host, FW_CAUSE_PHYSICAL_INTERACTION);
    const char* err = NULL;
    bool started;
    switch (sensor) {
    case FW_SENSOR_TEMPERATURE:
        if (!thermo) return "sensor not fitted to a lock";
        if (v < -5000 || v > 10000) return "temperature out of range";
        if (d->k.t.temp_centi_c != v) {
            d->k.t.temp_centi_c = (int16_t)v;
            st.truth = true;
        }
        st.cause = cause_tag(FW_CAUSE_PERIODIC_POLL, -1);
        thermo_control(d, &st);
        thermo_sensor_report(d, &st);
        if (st.changed & FW_CAT_BIT(FW_CAT_HVAC_STATE))
            st.cause = cause_tag(FW_CAUSE_RULE_TRIGGER, -1);
        break;
    case FW_SENSOR_HUMIDITY:
        if (!thermo) return "sensor not fitted to a lock";
        if (v < 0 || v > 100) return "humidity out of range";
        if (d->k.t.humidity_pct != v) {
            d->k.t.humidity_pct = (uint8_t)v;
            st.truth = true;
        }
        st.cause = cause_tag(FW_CAUSE_PERIODIC_POLL, -1);
        thermo_sensor_report(d, &st);
        break;
    case FW_SENSOR_OCCUPANCY:
        if (!thermo) return "sensor not fitted to a lock";
        set_occupied(d, &st, v != 0);
        break;
    case FW_SENSOR_SETPOINT_DIAL:
        if (!thermo) return "sensor not fitted to a lock";
        err = set_setpoint(d, &st, v);
        break;
    case FW_SENSOR_DOOR:
        if (thermo) return "sensor not fitted to a thermostat";
        set_door(d, &st, v != 0);
        break;
    case FW_SENSOR_KEYPAD:
        if (thermo) return "sensor not fitted to a thermostat";
        err = lock_request(d, &st, v ? FW_LOCK_LOCKED : FW_LOCK_UNLOCKED,
                           cause_tag(FW_CAUSE_PHYSICAL_INTERACTION, -1), &started);
        break;
    case FW_SENSOR_THUMB_TURN: {
        if (thermo) return "sensor not fitted to a thermostat";
        if (d->k.l.flags & LF_MOTOR) return "lock motor busy";
        const uint8_t ns = v ? (uint8_t)FW_LOCK_LOCKED : (uint8_t)FW_LOCK_UNLOCKED;
        if (ns != d->k.l.lock_state) {
            d->k.l.lock_state = ns;
            st.changed |= FW_CAT_BIT(FW_CAT_LOCK_STATE);
            st.truth = true;
            d->k.l.flags &= (uint8_t)~LF_RELOCK;
            relock_update(d, &st);
        }
        break;
    }
    case FW_SENSOR_MOTOR_DONE:
        if (thermo) return "sensor not fitted to a thermostat";
        if (!d->cfg->motor_done_by_host) return "motor_done: the core times the motor itself";
        if (!(d->k.l.flags & LF_MOTOR)) return "motor_done: the motor is not running";
        motor_complete(d, &st, v != 0);
        break;
    case FW_SENSOR_BATTERY:
        if (thermo) return "sensor not fitted to a thermostat";
        if (v < 0 || v > 10000) return "battery out of range";
        if ((uint32_t)v / 100u != d->k.l.battery_centi_pct / 100u) {
            st.changed |= FW_CAT_BIT(FW_CAT_BATTERY);
            st.truth = true;
        }
        d->k.l.battery_centi_pct = (uint16_t)v;
        st.cause = cause_tag(FW_CAUSE_PERIODIC_POLL, -1);
        break;
    case FW_SENSOR_COUNT:
    default: return "unknown sensor";
    }
    step_finish(d, &st);
    return err;
}

void fw_on_timer(fw_device* d, uint64_t host) { run_due(d, host); }

const char* fw_set_basis_allowed(fw_device* d, uint64_t host, unsigned r, uint16_t mask) {
    run_due_before(d, host);
    if (r >= d->cfg->recipient_count) return "recipient index out of range";
    d->rcp[r].basis = (uint16_t)(mask & FW_CATS_ALL);
    return NULL;
}

uint64_t fw_next_wakeup(const fw_device* d) {
    uint64_t due = UINT64_MAX;
#define CONSIDER(t)               \
    do {                          \
        uint64_t t_ = (t);        \
        if (t_ < due) due = t_;   \
    } while (0)
    if (d->cfg->kind == FW_KIND_THERMOSTAT) {
        fw_hvac_state next;
        CONSIDER(relay_gate(d, &next));
        if (d->k.t.flags & TF_PENDING)
            CONSIDER(d->kt.t.last_publish_ms + d->cfg->report_min_interval_ms);
    } else if (d->k.l.flags & (LF_MOTOR | LF_RELOCK)) {
        CONSIDER(d->kt.l.mech_due_ms);
    }
    if (d->flags & DF_SOON) CONSIDER(d->soon_due_ms);
    /* timers that may be idle last, asked about only when they would come first */
    if (d->cfg->kind == FW_KIND_THERMOSTAT && d->cfg->report_max_silence_ms > 0) {
        const uint64_t at = d->kt.t.last_publish_ms + d->cfg->report_max_silence_ms;
        if (at < due && !silence_is_idle(d, at)) due = at;
    }
    if (d->flags & DF_HB) {
        const uint64_t at = (uint64_t)d->hb_due_s * 1000u;
        if (at < due && !heartbeat_is_idle(d, at)) due = at;
    }
#undef CONSIDER
    return due == UINT64_MAX ? FW_NO_WAKEUP : host_time(d, due);
}

/* ---------------------------------------------------------------------------------------- */
/* views                                                                                     */
/* ---------------------------------------------------------------------------------------- */

uint32_t fw_host_tag(const fw_device* d) { return d->host_tag; }
fw_profile fw_get_profile(const fw_device* d) { return (fw_profile)d->profile; }
bool fw_network_up(const fw_device* d) { return (d->flags & DF_NET_UP) != 0; }
bool fw_is_linked(const fw_device* d, unsigned r) {
    return r < d->cfg->recipient_count && is_linked(d, r);
}
uint16_t fw_allowed_now(const fw_device* d, uint64_t host, unsigned r) {
    if (r >= d->cfg->recipient_count) return 0;
    return consent_allowed(d, r, dev_time(d, host));
}
int16_t fw_temperature_centi_c(const fw_device* d) {
    return d->cfg->kind == FW_KIND_THERMOSTAT ? d->k.t.temp_centi_c : FW_TEMP_UNKNOWN;
}
int16_t fw_setpoint_centi_c(const fw_device* d) {
    return d->cfg->kind == FW_KIND_THERMOSTAT ? d->k.t.setpoint_centi_c : 0;
}
fw_hvac_mode fw_get_mode(const fw_device* d) {
    return d->cfg->kind == FW_KIND_THERMOSTAT ? (fw_hvac_mode)d->k.t.mode : FW_MODE_OFF;
}
fw_hvac_state fw_get_hvac_state(const fw_device* d) {
    return d->cfg->kind == FW_KIND_THERMOSTAT ? (fw_hvac_state)d->k.t.hvac : FW_HVAC_IDLE;
}
fw_lock_state fw_get_lock_state(const fw_device* d) {
    return d->cfg->kind == FW_KIND_LOCK ? (fw_lock_state)d->k.l.lock_state : FW_LOCK_UNLOCKED;
}
bool fw_motor_running(const fw_device* d) {
    return d->cfg->kind == FW_KIND_LOCK && (d->k.l.flags & LF_MOTOR) != 0;
}
bool fw_door_closed(const fw_device* d) {
    return d->cfg->kind == FW_KIND_LOCK && d->k.l.door_closed != 0;
}
uint16_t fw_battery_centi_pct(const fw_device* d) {
    return d->cfg->kind == FW_KIND_LOCK ? d->k.l.battery_centi_pct : 0;
}
uint64_t fw_wall_clock_ms(const fw_device* d, uint64_t host) { return wall(d, dev_time(d, host)); }
