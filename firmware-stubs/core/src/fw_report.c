/* fw_report.c — partner message bodies (PROTOCOL.md §2) and TRUTH objects.
 *
 * Field names and units per format (the taxonomy in taxonomy/default.yaml maps them back):
 *
 *   category      alexa (namespace.name)                          google key                      matter cluster/attr   json state key
 *   temperature   Alexa.TemperatureSensor.temperature {value,scale} thermostatTemperatureAmbient   513/0  (0.01 °C)      temperature
 *   humidity      Alexa.HumiditySensor.relativeHumidity            thermostatHumidityAmbient      1029/0 (0.01 %)       humidity
 *   setpoint      Alexa.ThermostatController.targetSetpoint        thermostatTemperatureSetpoint  513/18 (513/17 cool)  setpoint
 *   hvac_mode     Alexa.ThermostatController.thermostatMode        thermostatMode                 513/28 SystemMode     hvac_mode
 *   hvac_state    Alexa.ThermostatController.HVAC.Components       activeThermostatMode           513/41 RunningState   hvac_state
 *                 .primaryHeaterOperation + .coolerOperation
 *   occupancy     Alexa.MotionSensor.detectionState                occupancy                      513/2  Occupancy      occupancy
 *   lock_state    Alexa.LockController.lockState                   isLocked (+ isJammed)          257/0  LockState      lock_state
 *   door_state    Alexa.ContactSensor.detectionState (DETECTED=open) openPercent                  257/3  DoorState      door_state
 *   battery       Alexa.EndpointHealth.battery                     descriptiveCapacityRemaining   47/12  (half %)       battery
 *   connectivity  Alexa.EndpointHealth.connectivity                online                         —                     connectivity
 */
#include "fw_internal.h"

/* Enum values as JSON strings, quotes included (written with their length, no strlen). */
#define Q(s) JW_TEXT("\"" s "\"")
static const jw_text kModeAlexa[FW_MODE_COUNT] = {Q("OFF"), Q("HEAT"), Q("COOL"), Q("AUTO"), Q("ECO")};
static const jw_text kModeGoogle[FW_MODE_COUNT] = {Q("off"), Q("heat"), Q("cool"), Q("heatcool"),
                                                   Q("eco")};
static const jw_text kModeJson[FW_MODE_COUNT] = {Q("off"), Q("heat"), Q("cool"), Q("auto"), Q("eco")};
/* Matter SystemMode: 0 Off, 1 Auto, 3 Cool, 4 Heat; eco has no SystemMode (it is a preset in
   Matter) and is reported as Heat, which is what the device does in eco. */
static const int kModeMatter[FW_MODE_COUNT] = {0, 4, 3, 1, 4};
static const jw_text kHvacJson[3] = {Q("idle"), Q("heating"), Q("cooling")};
static const jw_text kHvacGoogle[3] = {Q("none"), Q("heat"), Q("cool")};
static const jw_text kLockAlexa[3] = {Q("LOCKED"), Q("UNLOCKED"), Q("JAMMED")};
static const jw_text kLockJson[3] = {Q("locked"), Q("unlocked"), Q("jammed")};
static const jw_text kStage1 = Q("STAGE_1"), kOff = Q("OFF");
static const jw_text kDetected = Q("DETECTED"), kNotDetected = Q("NOT_DETECTED");
static const jw_text kCapacity[5] = {Q("CRITICALLY_LOW"), Q("LOW"), Q("MEDIUM"), Q("HIGH"), Q("FULL")};
#undef Q

static unsigned battery_pct(const fw_snapshot* s) { return s->l.battery_half_pct / 2u; }

/* ---- alexa ---- */

typedef struct ax {
    jw* w;
    const fw_body_in* in;
    bool first;
    /* timeOfSample, quoted, formatted once: every property of a report carries the same one */
    char sample_time[32];
    size_t sample_time_len;
} ax;

/* A property's opening up to its value, one constant per property. */
#define AX_HEAD(ns, name) \
    ((jw_text)JW_TEXT("{\"namespace\":\"" ns "\",\"name\":\"" name "\",\"value\":"))

static void ax_begin(ax* a, jw_text head) {
    jw_sep(a->w, &a->first);
    jw_text_put(a->w, head);
}

static void ax_end(ax* a) {
    jw* w = a->w;
    jw_lit(w, ",\"timeOfSample\":");
    if (a->sample_time_len == 0) {
        jw t;
        jw_init(&t, a->sample_time, sizeof a->sample_time);
        jw_rfc3339(&t, a->in->sample_wall_ms);
        a->sample_time_len = t.len;
    }
    jw_raw(w, a->sample_time, a->sample_time_len);
    jw_lit(w, ",\"uncertaintyInMilliseconds\":0}");
}

static void ax_str(ax* a, jw_text head, jw_text value) {
    ax_begin(a, head);
    jw_text_put(a->w, value);
    ax_end(a);
}

static void ax_temp(ax* a, jw_text head, int32_t centi) {
    ax_begin(a, head);
    jw_lit(a->w, "{\"value\":");
    jw_centi(a->w, centi);
    jw_lit(a->w, ",\"scale\":\"CELSIUS\"}");
    ax_end(a);
}

static void alexa_props(ax* a, uint16_t mask) {
    const fw_snapshot* s = a->in->snap;
    jw* w = a->w;
    for (unsigned c = 0; c < FW_CAT_COUNT; ++c) {
        if (!(mask & FW_CAT_BIT(c))) continue;
        switch ((fw_category)c) {
        case FW_CAT_TEMPERATURE:
            ax_temp(a, AX_HEAD("Alexa.TemperatureSensor", "temperature"), s->t.temp_centi_c);
            break;
        case FW_CAT_HUMIDITY:
            ax_begin(a, AX_HEAD("Alexa.HumiditySensor", "relativeHumidity"));
            jw_u64(w, s->t.humidity_pct);
            ax_end(a);
            break;
        case FW_CAT_SETPOINT:
            ax_temp(a, AX_HEAD("Alexa.ThermostatController", "targetSetpoint"),
                    s->t.setpoint_centi_c);
            break;
        case FW_CAT_HVAC_MODE:
            ax_str(a, AX_HEAD("Alexa.ThermostatController", "thermostatMode"),
                   kModeAlexa[SNAP_MODE(s->t.bits) % FW_MODE_COUNT]);
            break;
        case FW_CAT_HVAC_STATE: {
            fw_hvac_state h = SNAP_HVAC(s->t.bits);
            ax_str(a, AX_HEAD("Alexa.ThermostatController.HVAC.Components", "primaryHeaterOperation"),
                   h == FW_HVAC_HEATING ? kStage1 : kOff);
            ax_str(a, AX_HEAD("Alexa.ThermostatController.HVAC.Components", "coolerOperation"),
                   h == FW_HVAC_COOLING ? kStage1 : kOff);
            break;
        }
        case FW_CAT_OCCUPANCY:
            ax_str(a, AX_HEAD("Alexa.MotionSensor", "detectionState"),
                   SNAP_OCC(s->t.bits) ? kDetected : kNotDetected);
            break;
        case FW_CAT_LOCK_STATE:
            ax_str(a, AX_HEAD("Alexa.LockController", "lockState"), kLockAlexa[s->l.lock_state % 3u]);
            break;
        case FW_CAT_DOOR_STATE:
            /* Alexa.ContactSensor: DETECTED = the contact is open */
            ax_str(a, AX_HEAD("Alexa.ContactSensor", "detectionState"),
                   s->l.door_closed ? kNotDetected : kDetected);
            break;
        case FW_CAT_BATTERY: {
            unsigned pct = battery_pct(s);
            ax_begin(a, AX_HEAD("Alexa.EndpointHealth", "battery"));
            jw_lit(w, pct >= 20 ? "{\"health\":{\"state\":\"OK\"},\"levelPercentage\":"
                                : "{\"health\":{\"state\":\"WARNING\",\"reasons\":[\"LOW_CHARGE\"]},"
                                  "\"levelPercentage\":");
            jw_u64(w, pct);
            jw_char(w, '}');
            ax_end(a);
            break;
        }
        case FW_CAT_CONNECTIVITY:
            ax_begin(a, AX_HEAD("Alexa.EndpointHealth", "connectivity"));
            jw_lit(w, "{\"value\":\"OK\"}");
            ax_end(a);
            break;
        case FW_CAT_COUNT: break;
        }
    }
}

static void build_alexa(jw* w, const fw_body_in* in) {
    ax a = {w, in, true, {0}, 0};
    jw_lit(w, "{\"event\":{\"header\":{\"namespace\":\"Alexa\",\"name\":\"");
    jw_lit(w, in->state_report ? "StateReport" : "ChangeReport");
    jw_lit(w, "\",\"messageId\":");
    jw_uuid(w, in->rnd);
    jw_lit(w, ",\"payloadVersion\":\"3\"},\"endpoint\":{\"endpointId\":");
    jw_str(w, in->id, in->id_len);
    jw_lit(w, "},\"payload\":");
    if (in->state_report) {
        jw_lit(w, "{}},\"context\":{\"properties\":[");
        alexa_props(&a, (uint16_t)(in->change | in->context));
    } else {
        jw_lit(w, "{\"change\":{\"cause\":{\"type\":\"");
        jw_text_put(w, fw_cause_text(in->cause));
        jw_lit(w, "\"},\"properties\":[");
        alexa_props(&a, in->change);
        jw_lit(w, "]}}},\"context\":{\"properties\":[");
        a.first = true;
        alexa_props(&a, in->context);
    }
    jw_lit(w, "]}}");
}

/* ---- google ---- */

static jw_text google_capacity(unsigned pct) {
    return kCapacity[pct >= 90 ? 4 : pct >= 60 ? 3 : pct >= 30 ? 2 : pct >= 10 ? 1 : 0];
}

static void build_google(jw* w, const fw_body_in* in) {
    const fw_snapshot* s = in->snap;
    const uint16_t m = in->change;
    bool first = true;
    jw_lit(w, "{\"requestId\":");
    jw_uuid(w, in->rnd);
    jw_lit(w, ",\"agentUserId\":");
    jw_cstr(w, in->agent_user_id != NULL ? in->agent_user_id : "consentrig-user");
    jw_lit(w, ",\"payload\":{\"devices\":{\"states\":{");
    jw_str(w, in->id, in->id_len);
    jw_lit(w, ":{");
    for (unsigned c = 0; c < FW_CAT_COUNT; ++c) {
        if (!(m & FW_CAT_BIT(c))) continue;
        switch ((fw_category)c) {
        case FW_CAT_TEMPERATURE:
            JW_MEMBER(w, &first, "thermostatTemperatureAmbient");
            jw_centi(w, s->t.temp_centi_c);
            break;
        case FW_CAT_HUMIDITY:
            JW_MEMBER(w, &first, "thermostatHumidityAmbient");
            jw_u64(w, s->t.humidity_pct);
            break;
        case FW_CAT_SETPOINT:
            JW_MEMBER(w, &first, "thermostatTemperatureSetpoint");
            jw_centi(w, s->t.setpoint_centi_c);
            break;
        case FW_CAT_HVAC_MODE:
            JW_MEMBER(w, &first, "thermostatMode");
            jw_text_put(w, kModeGoogle[SNAP_MODE(s->t.bits) % FW_MODE_COUNT]);
            break;
        case FW_CAT_HVAC_STATE:
            JW_MEMBER(w, &first, "activeThermostatMode");
            jw_text_put(w, kHvacGoogle[SNAP_HVAC(s->t.bits) % 3u]);
            break;
        case FW_CAT_OCCUPANCY:
            JW_MEMBER(w, &first, "occupancy");
            jw_lit(w, SNAP_OCC(s->t.bits) ? "\"OCCUPIED\"" : "\"UNOCCUPIED\"");
            break;
        case FW_CAT_LOCK_STATE:
            JW_MEMBER(w, &first, "isLocked");
            jw_bool(w, s->l.lock_state == FW_LOCK_LOCKED);
            if (s->l.lock_state == FW_LOCK_JAMMED) {
                JW_MEMBER(w, &first, "isJammed");
                jw_bool(w, true);
            }
            break;
        case FW_CAT_DOOR_STATE:
            JW_MEMBER(w, &first, "openPercent");
            jw_u64(w, s->l.door_closed ? 0u : 100u);
            break;
        case FW_CAT_BATTERY:
            JW_MEMBER(w, &first, "descriptiveCapacityRemaining");
            jw_text_put(w, google_capacity(battery_pct(s)));
            break;
        case FW_CAT_CONNECTIVITY:
            JW_MEMBER(w, &first, "online");
            jw_bool(w, true);
            break;
        case FW_CAT_COUNT: break;
        }
    }
    jw_lit(w, "}}}}}");
}

/* ---- matter ---- */

static void build_matter(jw* w, const fw_body_in* in) {
    const fw_snapshot* s = in->snap;
    const uint16_t m = in->change;
    bool first = true;
    jw_lit(w, "{\"interaction\":\"ReportData\",\"subscriptionId\":");
    jw_u64(w, in->subscription_id);
    jw_lit(w, ",\"reports\":[");
    for (unsigned c = 0; c < FW_CAT_COUNT; ++c) {
        if (!(m & FW_CAT_BIT(c))) continue;
        int cluster = -1, attr = 0;
        int64_t value = 0;
        switch ((fw_category)c) {
        case FW_CAT_TEMPERATURE: cluster = 513; attr = 0; value = s->t.temp_centi_c; break;
        case FW_CAT_HUMIDITY: cluster = 1029; attr = 0; value = (int64_t)s->t.humidity_pct * 100; break;
        case FW_CAT_SETPOINT:
            cluster = 513;
            attr = SNAP_MODE(s->t.bits) == FW_MODE_COOL ? 17 : 18;
            value = s->t.setpoint_centi_c;
            break;
        case FW_CAT_HVAC_MODE:
            cluster = 513;
            attr = 28;
            value = kModeMatter[SNAP_MODE(s->t.bits) % FW_MODE_COUNT];
            break;
        case FW_CAT_HVAC_STATE: {
            fw_hvac_state h = SNAP_HVAC(s->t.bits);
            cluster = 513;
            attr = 41; /* ThermostatRunningState bitmap: bit 0 Heat, bit 1 Cool */
            value = h == FW_HVAC_HEATING ? 1 : h == FW_HVAC_COOLING ? 2 : 0;
            break;
        }
        case FW_CAT_OCCUPANCY: cluster = 513; attr = 2; value = SNAP_OCC(s->t.bits); break;
        case FW_CAT_LOCK_STATE:
            cluster = 257;
            attr = 0; /* 0 NotFullyLocked (jammed), 1 Locked, 2 Unlocked */
            value = s->l.lock_state == FW_LOCK_LOCKED ? 1 : s->l.lock_state == FW_LOCK_UNLOCKED ? 2 : 0;
            break;
        case FW_CAT_DOOR_STATE: cluster = 257; attr = 3; value = s->l.door_closed ? 1 : 0; break;
        case FW_CAT_BATTERY: cluster = 47; attr = 12; value = s->l.battery_half_pct; break;
        case FW_CAT_CONNECTIVITY:
        case FW_CAT_COUNT: break;
        }
        if (cluster < 0) continue;
        jw_sep(w, &first);
        jw_lit(w, "{\"endpoint\":1,\"cluster\":");
        jw_u64(w, (uint64_t)cluster);
        jw_lit(w, ",\"attribute\":");
        jw_u64(w, (uint64_t)attr);
        jw_lit(w, ",\"value\":");
        jw_i64(w, value);
        jw_char(w, '}');
    }
    jw_lit(w, "]}");
}

/* ---- json (vendor cloud) and TRUTH share the state object ---- */

/* Members in category order (the kind's own categories, then connectivity), tested one by one
   rather than looping over all ten: a TRUTH object is written for every change of state. */
static void state_object(jw* w, fw_kind kind, const fw_snapshot* s, uint16_t m, bool truth) {
    bool first = true;
    jw_char(w, '{');
    if (kind == FW_KIND_THERMOSTAT) {
        if (m & FW_CAT_BIT(FW_CAT_TEMPERATURE)) {
            JW_MEMBER(w, &first, "temperature");
            jw_centi(w, s->t.temp_centi_c);
        }
        if (m & FW_CAT_BIT(FW_CAT_HUMIDITY)) {
            JW_MEMBER(w, &first, "humidity");
            jw_u64(w, s->t.humidity_pct);
        }
        if (m & FW_CAT_BIT(FW_CAT_SETPOINT)) {
            JW_MEMBER(w, &first, "setpoint");
            jw_centi(w, s->t.setpoint_centi_c);
        }
        if (m & FW_CAT_BIT(FW_CAT_HVAC_MODE)) {
            JW_MEMBER(w, &first, "hvac_mode");
            jw_text_put(w, kModeJson[SNAP_MODE(s->t.bits) % FW_MODE_COUNT]);
        }
        if (m & FW_CAT_BIT(FW_CAT_HVAC_STATE)) {
            JW_MEMBER(w, &first, "hvac_state");
            jw_text_put(w, kHvacJson[SNAP_HVAC(s->t.bits) % 3u]);
        }
        if (m & FW_CAT_BIT(FW_CAT_OCCUPANCY)) {
            JW_MEMBER(w, &first, "occupancy");
            jw_bool(w, SNAP_OCC(s->t.bits) != 0);
        }
    } else {
        if (m & FW_CAT_BIT(FW_CAT_LOCK_STATE)) {
            JW_MEMBER(w, &first, "lock_state");
            jw_text_put(w, kLockJson[s->l.lock_state % 3u]);
        }
        if (m & FW_CAT_BIT(FW_CAT_DOOR_STATE)) {
            JW_MEMBER(w, &first, "door_state");
            jw_lit(w, s->l.door_closed ? "\"closed\"" : "\"open\"");
        }
        if (m & FW_CAT_BIT(FW_CAT_BATTERY)) {
            JW_MEMBER(w, &first, "battery");
            jw_u64(w, battery_pct(s));
        }
    }
    if ((m & FW_CAT_BIT(FW_CAT_CONNECTIVITY)) && !truth) { /* both kinds; TRUTH leaves it out */
        JW_MEMBER(w, &first, "connectivity");
        jw_lit(w, "\"online\"");
    }
    jw_char(w, '}');
}

static void build_json(jw* w, const fw_body_in* in) {
    jw_lit(w, "{\"type\":\"state\",\"device\":");
    jw_str(w, in->id, in->id_len);
    jw_lit(w, ",\"cause\":\"");
    jw_text_put(w, fw_cause_text(in->cause));
    jw_lit(w, "\",\"sampled_at\":");
    jw_rfc3339(w, in->sample_wall_ms);
    jw_lit(w, ",\"state\":");
    state_object(w, in->kind, in->snap, in->change, false);
    jw_char(w, '}');
}

size_t fw_build_body(const fw_body_in* in, char* buf, size_t cap) {
    jw w;
    jw_init(&w, buf, cap);
    switch (in->format) {
    case FW_FMT_ALEXA: build_alexa(&w, in); break;
    case FW_FMT_GOOGLE: build_google(&w, in); break;
    case FW_FMT_MATTER: build_matter(&w, in); break;
    case FW_FMT_JSON: build_json(&w, in); break;
    }
    return jw_finish(&w) != NULL ? w.len : 0;
}

size_t fw_build_truth(fw_kind kind, const fw_snapshot* s, char* buf, size_t cap) {
    jw w;
    jw_init(&w, buf, cap);
    state_object(&w, kind, s, fw_snapshot_present(kind, s), true);
    return jw_finish(&w) != NULL ? w.len : 0;
}
