/* fw_internal.h — shared between the firmware core's source files (not installed). */
#ifndef FW_INTERNAL_H
#define FW_INTERNAL_H

#include "fw/fw.h"
#include "jw.h"

/* snapshot bit packing (thermostat) */
#define SNAP_MODE(b) ((fw_hvac_mode)((b)&7u))
#define SNAP_HVAC(b) ((fw_hvac_state)(((b) >> 3) & 3u))
#define SNAP_OCC(b) (((b) >> 5) & 1u)
#define SNAP_BITS(mode, hvac, occ) \
    ((uint8_t)(((unsigned)(mode)&7u) | (((unsigned)(hvac)&3u) << 3) | (((unsigned)(occ)&1u) << 5)))

/* Categories each kind has. */
#define FW_THERMO_CATS                                                                           \
    ((uint16_t)(FW_CAT_BIT(FW_CAT_TEMPERATURE) | FW_CAT_BIT(FW_CAT_HUMIDITY) |                   \
                FW_CAT_BIT(FW_CAT_SETPOINT) | FW_CAT_BIT(FW_CAT_HVAC_MODE) |                     \
                FW_CAT_BIT(FW_CAT_HVAC_STATE) | FW_CAT_BIT(FW_CAT_OCCUPANCY) |                   \
                FW_CAT_BIT(FW_CAT_CONNECTIVITY)))
#define FW_LOCK_CATS                                                                             \
    ((uint16_t)(FW_CAT_BIT(FW_CAT_LOCK_STATE) | FW_CAT_BIT(FW_CAT_DOOR_STATE) |                  \
                FW_CAT_BIT(FW_CAT_BATTERY) | FW_CAT_BIT(FW_CAT_CONNECTIVITY)))

/* Categories present in a snapshot (unknown readings left out). Inline: asked per recipient
   of every report. */
static inline uint16_t fw_snapshot_present(fw_kind kind, const fw_snapshot* s) {
    if (kind == FW_KIND_LOCK) return FW_LOCK_CATS;
    uint16_t m = FW_THERMO_CATS;
    if (s->t.temp_centi_c == FW_TEMP_UNKNOWN) m &= (uint16_t)~FW_CAT_BIT(FW_CAT_TEMPERATURE);
    if (s->t.humidity_pct == FW_HUMIDITY_UNKNOWN) m &= (uint16_t)~FW_CAT_BIT(FW_CAT_HUMIDITY);
    return m;
}

/* Categories a format can carry (matter has no connectivity attribute). */
static inline uint16_t fw_format_categories(fw_format f) {
    if (f == FW_FMT_MATTER) return (uint16_t)(FW_CATS_ALL & ~FW_CAT_BIT(FW_CAT_CONNECTIVITY));
    return FW_CATS_ALL;
}

/* fw_cause_name with its length */
jw_text fw_cause_text(fw_cause c);

/* What one partner message says. */
typedef struct fw_body_in {
    fw_kind kind;
    fw_format format;
    bool state_report;       /* alexa: StateReport (everything in context); else ChangeReport */
    uint16_t change;         /* alexa: change.properties; other formats: the whole body */
    uint16_t context;        /* alexa only: context.properties */
    fw_cause cause;
    const fw_snapshot* snap;
    uint64_t sample_wall_ms; /* timeOfSample / sampled_at */
    const char* id;
    size_t id_len;
    const char* agent_user_id;
    uint32_t subscription_id;
    uint32_t rnd[4];         /* messageId / requestId */
} fw_body_in;

/* Writes the body; returns its length, 0 if it did not fit (nothing must be sent then). */
size_t fw_build_body(const fw_body_in* in, char* buf, size_t cap);

/* TRUTH state object of a snapshot. */
size_t fw_build_truth(fw_kind kind, const fw_snapshot* s, char* buf, size_t cap);

#endif
