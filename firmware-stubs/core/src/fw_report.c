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

uint16_t fw_snapshot_present(fw_kind kind, const fw_snapshot* s) {
    if (kind == FW_KIND_LOCK) return FW_LOCK_CATS;
    uint16_t m = FW_THERMO_CATS;
    if (s->t.temp_centi_c == FW_TEMP_UNKNOWN) m &= (uint16_t)~FW_CAT_BIT(FW_CAT_TEMPERATURE);
    if (s->t.humidity_pct == FW_HUMIDITY_UNKNOWN) m &= (uint16_t)~FW_CAT_BIT(FW_CAT_HUMIDITY);
    return m;
}

uint16_t fw_format_categories(fw_format f) {
    if (f == FW_FMT_MATTER) return (uint16_t)(FW_CATS_ALL & ~FW_CAT_BIT(FW_CAT_CONNECTIVITY));
    return FW_CATS_ALL;
}

static const char* const kModeAlexa[FW_MODE_COUNT] = {"OFF", "HEAT", "COOL", "AUTO", "ECO"};
static const char* const kModeGoogle[FW_MODE_COUNT] = {"off", "heat", "cool", "heatcool", "eco"};
static const char* const kModeJson[FW_MODE_COUNT] = {"off", "heat", "cool", "auto", "eco"};
/* Matter SystemMode: 0 Off, 1 Auto, 3 Cool, 4 Heat; eco has no SystemMode (it is a preset in
   Matter) and is reported as Heat, which is what the device does in eco. */
static const int kModeMatter[FW_MODE_COUNT] = {0, 4, 3, 1, 4};
static const char* const kHvacJson[3] = {"idle", "heating", "cooling"};
static const char* const kHvacGoogle[3] = {"none", "heat", "cool"};
static const char* const kLockAlexa[3] = {"LOCKED", "UNLOCKED", "JAMMED"};
static const char* const kLockJson[3] = {"locked", "unlocked", "jammed"};

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

static void ax_begin(ax* a, const char* ns, const char* name) {
    jw* w = a->w;
    jw_sep(w, &a->first);
    jw_lit(w, "{\"namespace\":\"");
    jw_lit(w, ns);
    jw_lit(w, "\",\"name\":\"");
    jw_lit(w, name);
    jw_lit(w, "\",\"value\":");
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

static void ax_str(ax* a, const char* ns, const char* name, const char* value) {
    ax_begin(a, ns, name);
    jw_qlit(a->w, value);
    ax_end(a);
}

static void ax_temp(ax* a, const char* ns, const char* name, int32_t centi) {
    ax_begin(a, ns, name);
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
            ax_temp(a, "Alexa.TemperatureSensor", "temperature", s->t.temp_centi_c);
            break;
        case FW_CAT_HUMIDITY:
            ax_begin(a, "Alexa.HumiditySensor", "relativeHumidity");
            jw_u64(w, s->t.humidity_pct);
            ax_end(a);
            break;
        case FW_CAT_SETPOINT:
            ax_temp(a, "Alexa.ThermostatController", "targetSetpoint", s->t.setpoint_centi_c);
            break;
        case FW_CAT_HVAC_MODE:
            ax_str(a, "Alexa.ThermostatController", "thermostatMode",
                   kModeAlexa[SNAP_MODE(s->t.bits) % FW_MODE_COUNT]);
            break;
        case FW_CAT_HVAC_STATE: {
            fw_hvac_state h = SNAP_HVAC(s->t.bits);
            ax_str(a, "Alexa.ThermostatController.HVAC.Components", "primaryHeaterOperation",
                   h == FW_HVAC_HEATING ? "STAGE_1" : "OFF");
            ax_str(a, "Alexa.ThermostatController.HVAC.Components", "coolerOperation",
                   h == FW_HVAC_COOLING ? "STAGE_1" : "OFF");
            break;
        }
        case FW_CAT_OCCUPANCY:
            ax_str(a, "Alexa.MotionSensor", "detectionState",
                   SNAP_OCC(s->t.bits) ? "DETECTED" : "NOT_DETECTED");
            break;
        case FW_CAT_LOCK_STATE:
            ax_str(a, "Alexa.LockController", "lockState", kLockAlexa[s->l.lock_state % 3u]);
            break;
        case FW_CAT_DOOR_STATE:
            /* Alexa.ContactSensor: DETECTED = the contact is open */
            ax_str(a, "Alexa.ContactSensor", "detectionState",
                   s->l.door_closed ? "NOT_DETECTED" : "DETECTED");
            break;
        case FW_CAT_BATTERY: {
            unsigned pct = battery_pct(s);
            ax_begin(a, "Alexa.EndpointHealth", "battery");
            jw_lit(w, pct >= 20 ? "{\"health\":{\"state\":\"OK\"},\"levelPercentage\":"
                                : "{\"health\":{\"state\":\"WARNING\",\"reasons\":[\"LOW_CHARGE\"]},"
                                  "\"levelPercentage\":");
            jw_u64(w, pct);
            jw_char(w, '}');
            ax_end(a);
            break;
        }
        case FW_CAT_CONNECTIVITY:
            ax_begin(a, "Alexa.EndpointHealth", "connectivity");
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
        jw_lit(w, fw_cause_name(in->cause));
        jw_lit(w, "\"},\"properties\":[");
        alexa_props(&a, in->change);
        jw_lit(w, "]}}},\"context\":{\"properties\":[");
        a.first = true;
        alexa_props(&a, in->context);
    }
    jw_lit(w, "]}}");
}

/* ---- google ---- */

static const char* google_capacity(unsigned pct) {
    if (pct >= 90) return "FULL";
    if (pct >= 60) return "HIGH";
    if (pct >= 30) return "MEDIUM";
    if (pct >= 10) return "LOW";
    return "CRITICALLY_LOW";
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
            jw_member(w, &first, "thermostatTemperatureAmbient");
            jw_centi(w, s->t.temp_centi_c);
            break;
        case FW_CAT_HUMIDITY:
            jw_member(w, &first, "thermostatHumidityAmbient");
            jw_u64(w, s->t.humidity_pct);
            break;
        case FW_CAT_SETPOINT:
            jw_member(w, &first, "thermostatTemperatureSetpoint");
            jw_centi(w, s->t.setpoint_centi_c);
            break;
        case FW_CAT_HVAC_MODE:
            jw_member(w, &first, "thermostatMode");
            jw_qlit(w, kModeGoogle[SNAP_MODE(s->t.bits) % FW_MODE_COUNT]);
            break;
        case FW_CAT_HVAC_STATE:
            jw_member(w, &first, "activeThermostatMode");
            jw_qlit(w, kHvacGoogle[SNAP_HVAC(s->t.bits) % 3u]);
            break;
        case FW_CAT_OCCUPANCY:
            jw_member(w, &first, "occupancy");
            jw_lit(w, SNAP_OCC(s->t.bits) ? "\"OCCUPIED\"" : "\"UNOCCUPIED\"");
            break;
        case FW_CAT_LOCK_STATE:
            jw_member(w, &first, "isLocked");
            jw_bool(w, s->l.lock_state == FW_LOCK_LOCKED);
            if (s->l.lock_state == FW_LOCK_JAMMED) {
                jw_member(w, &first, "isJammed");
                jw_bool(w, true);
            }
            break;
        case FW_CAT_DOOR_STATE:
            jw_member(w, &first, "openPercent");
            jw_u64(w, s->l.door_closed ? 0u : 100u);
            break;
        case FW_CAT_BATTERY:
            jw_member(w, &first, "descriptiveCapacityRemaining");
            jw_qlit(w, google_capacity(battery_pct(s)));
            break;
        case FW_CAT_CONNECTIVITY:
            jw_member(w, &first, "online");
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

static void state_object(jw* w, fw_kind kind, const fw_snapshot* s, uint16_t m, bool truth) {
    bool first = true;
    jw_char(w, '{');
    for (unsigned c = 0; c < FW_CAT_COUNT; ++c) {
        if (!(m & FW_CAT_BIT(c))) continue;
        if (c == FW_CAT_CONNECTIVITY) { /* both kinds; TRUTH leaves it out */
            if (!truth) {
                jw_member(w, &first, "connectivity");
                jw_lit(w, "\"online\"");
            }
        } else if (kind == FW_KIND_THERMOSTAT) {
            switch ((fw_category)c) {
            case FW_CAT_TEMPERATURE:
                jw_member(w, &first, "temperature");
                jw_centi(w, s->t.temp_centi_c);
                break;
            case FW_CAT_HUMIDITY:
                jw_member(w, &first, "humidity");
                jw_u64(w, s->t.humidity_pct);
                break;
            case FW_CAT_SETPOINT:
                jw_member(w, &first, "setpoint");
                jw_centi(w, s->t.setpoint_centi_c);
                break;
            case FW_CAT_HVAC_MODE:
                jw_member(w, &first, "hvac_mode");
                jw_qlit(w, kModeJson[SNAP_MODE(s->t.bits) % FW_MODE_COUNT]);
                break;
            case FW_CAT_HVAC_STATE:
                jw_member(w, &first, "hvac_state");
                jw_qlit(w, kHvacJson[SNAP_HVAC(s->t.bits) % 3u]);
                break;
            case FW_CAT_OCCUPANCY:
                jw_member(w, &first, "occupancy");
                jw_bool(w, SNAP_OCC(s->t.bits) != 0);
                break;
            default: break;
            }
        } else {
            switch ((fw_category)c) {
            case FW_CAT_LOCK_STATE:
                jw_member(w, &first, "lock_state");
                jw_qlit(w, kLockJson[s->l.lock_state % 3u]);
                break;
            case FW_CAT_DOOR_STATE:
                jw_member(w, &first, "door_state");
                jw_lit(w, s->l.door_closed ? "\"closed\"" : "\"open\"");
                break;
            case FW_CAT_BATTERY:
                jw_member(w, &first, "battery");
                jw_u64(w, battery_pct(s));
                break;
            default: break;
            }
        }
    }
    jw_char(w, '}');
}

static void build_json(jw* w, const fw_body_in* in) {
    jw_lit(w, "{\"type\":\"state\",\"device\":");
    jw_str(w, in->id, in->id_len);
    jw_lit(w, ",\"cause\":\"");
    jw_lit(w, fw_cause_name(in->cause));
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
