/*
 * fw/fw.h — the portable device firmware core of consentrig (thermostat and door lock).
 *
 * WHAT IT IS FOR
 *   consentrig checks whether smart thermostats and door locks send state to partner clouds
 *   (voice assistant, vendor cloud) outside customer consent. This module is the device side:
 *   one firmware logic that behaves like a real thermostat or lock (hysteresis control with
 *   compressor protection, report-on-change, lock motor and auto-relock, Wi-Fi heartbeat) and
 *   emits partner messages in the four formats of PROTOCOL.md §2 (alexa, google, matter, json).
 *   A per-device *behaviour profile* selects compliant behaviour or one of several deliberately
 *   leaky variants, so the rest of consentrig can be tested against known leaks.
 *
 * HOW IT IS HOSTED ("one firmware logic, three hosts", DESIGN.md)
 *   The core is C11, event driven, allocates nothing (no malloc, no globals holding device
 *   state), calls no OS or libc time function and uses no floating point. Everything a device
 *   remembers lives in an `fw_device` the host owns (FW_DEVICE_SIZE(n) bytes for a config
 *   of n recipients: 112 for two on a 64-bit host); everything devices share
 *   (recipients, formats, timing parameters, the HAL callbacks) lives in an `fw_config` that
 *   many devices point to. The host drives a device with four kinds of call:
 *
 *     fw_on_command(dev, now, cmd)   a board-protocol COMMAND (PROTOCOL.md §1), parsed with
 *                                    fw_parse_command() or built directly by the host
 *     fw_on_sensor(dev, now, s, v)   a sensor reading or physical input (room temperature,
 *                                    door contact, keypad, …)
 *     fw_set_basis_allowed(dev, now, r, mask)
 *                                    what the policy's standing bases (always / schedule
 *                                    windows) allow recipient r now, as the vendor cloud tells
 *                                    the device; the host re-sends it when a window opens/closes
 *     fw_on_timer(dev, now)          time passed; call it at fw_next_wakeup(dev)
 *
 *   and the device answers through the callbacks in `fw_hal` (uplink, truth, log, actuate,
 *   device_id). `now` is always the HOST's clock in milliseconds (for a board: ms since boot,
 *   the `t` of UPLINK/TRUTH/LOG frames; for the fleet simulator: virtual time). It must not go
 *   backwards. Every entry point first runs the timers that are due, so a host that is late
 *   with fw_on_timer loses nothing. fw_next_wakeup() returns the host time of the next
 *   deadline with work in it, or FW_NO_WAKEUP (UINT64_MAX) when nothing is scheduled.
 *
 *   - fleet simulator (virtual time): keeps millions of fw_devices in arrays, one shared
 *     fw_config per device group, a priority queue on fw_next_wakeup(); the HAL's device_id
 *     resolves the id from the device's host tag (fw_host_tag) or from its address.
 *   - host HAL (pseudo-terminal) and Cortex-M3 HAL (QEMU mps2-an385): one device, a COBS/CRC
 *     frame layer around fw_parse_command / the callbacks, a main loop sleeping until
 *     fw_next_wakeup(). After a successful `reset` command the HAL sends HELLO.
 *
 *   Determinism: given the same config, seed and sequence of calls the device makes the same
 *   calls back, byte for byte. Its only randomness (message ids, heartbeat phase, keep-alive
 *   jitter) comes from a PRNG seeded by fw_init's seed and host tag, kept in the fw_device.
 *
 *   Concurrency: a device is not thread-safe; different devices may run on different threads
 *   as long as the HAL callbacks they share are.
 *
 * UNITS
 *   temperatures in centi-°C (`_centi_c`, 2150 = 21.50 °C), durations in ms (`_ms`), humidity
 *   in whole percent (`_pct`), battery in centi-percent (`_centi_pct`, 10000 = 100 %).
 *
 * Full documentation: docs/firmware.md.
 */
#ifndef FW_FW_H
#define FW_FW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------- */
/* Limits                                                                                    */
/* ---------------------------------------------------------------------------------------- */

#define FW_MAX_RECIPIENTS 4   /* partner clouds a config can name */
#define FW_NAME_MAX 48        /* recipient name buffer in fw_command, incl. the NUL */
#define FW_ID_MAX 32          /* longest device id (bytes) the HAL may return; longer are cut */
#define FW_BODY_MAX 1900      /* largest uplink body; with the UPLINK envelope it fits a
                                 2048-byte board frame even for a 32-byte id of control bytes */
#define FW_TRUTH_MAX 256      /* largest TRUTH state object */
#define FW_SAF_SLOTS 4        /* store_and_forward ring entries */
#define FW_NO_WAKEUP UINT64_MAX

/* ---------------------------------------------------------------------------------------- */
/* Vocabulary                                                                                */
/* ---------------------------------------------------------------------------------------- */

/* Data categories, in the order of core/category.hpp. Masks use bit (1 << category). */
typedef enum fw_category {
    FW_CAT_TEMPERATURE = 0,
    FW_CAT_HUMIDITY = 1,
    FW_CAT_SETPOINT = 2,
    FW_CAT_HVAC_MODE = 3,
    FW_CAT_HVAC_STATE = 4,
    FW_CAT_OCCUPANCY = 5,
    FW_CAT_LOCK_STATE = 6,
    FW_CAT_DOOR_STATE = 7,
    FW_CAT_BATTERY = 8,
    FW_CAT_CONNECTIVITY = 9,
    FW_CAT_COUNT = 10
} fw_category;
#define FW_CAT_BIT(c) ((uint16_t)(1u << (unsigned)(c)))
#define FW_CATS_ALL ((uint16_t)0x03FFu)

typedef enum fw_kind { FW_KIND_THERMOSTAT = 0, FW_KIND_LOCK = 1 } fw_kind;

/* Partner body formats of PROTOCOL.md §2. */
typedef enum fw_format { FW_FMT_ALEXA = 0, FW_FMT_GOOGLE, FW_FMT_MATTER, FW_FMT_JSON } fw_format;

/* Behaviour profiles (PROTOCOL op `profile`); exact behaviour in docs/firmware.md. */
typedef enum fw_profile {
    FW_PROFILE_COMPLIANT = 0,
    FW_PROFILE_PROACTIVE,
    FW_PROFILE_FLUSH_AFTER_REVOKE,
    FW_PROFILE_STORE_AND_FORWARD,
    FW_PROFILE_SCOPE_CREEP,
    FW_PROFILE_KEEPALIVE_LEAK,
    FW_PROFILE_CAUSE_LIE,
    FW_PROFILE_COUNT
} fw_profile;

typedef enum fw_hvac_mode {
    FW_MODE_OFF = 0,
    FW_MODE_HEAT,
    FW_MODE_COOL,
    FW_MODE_AUTO,
    FW_MODE_ECO, /* heating to setpoint - eco_setback_centi_c; reads as "away" */
    FW_MODE_COUNT
} fw_hvac_mode;

typedef enum fw_hvac_state { FW_HVAC_IDLE = 0, FW_HVAC_HEATING, FW_HVAC_COOLING } fw_hvac_state;

typedef enum fw_lock_state { FW_LOCK_LOCKED = 0, FW_LOCK_UNLOCKED, FW_LOCK_JAMMED } fw_lock_state;

/* Alexa change causes (event.payload.change.cause.type); also the json `cause`. */
typedef enum fw_cause {
    FW_CAUSE_PERIODIC_POLL = 0,
    FW_CAUSE_PHYSICAL_INTERACTION,
    FW_CAUSE_VOICE_INTERACTION,
    FW_CAUSE_APP_INTERACTION,
    FW_CAUSE_RULE_TRIGGER
} fw_cause;

typedef enum fw_actuator {
    FW_ACT_HVAC_RELAY = 0, /* value: FW_RELAY_OFF / FW_RELAY_HEAT / FW_RELAY_COOL */
    FW_ACT_LOCK_MOTOR = 1  /* value: FW_MOTOR_STOP / FW_MOTOR_LOCK / FW_MOTOR_UNLOCK */
} fw_actuator;
#define FW_RELAY_OFF 0
#define FW_RELAY_HEAT 1
#define FW_RELAY_COOL 2
#define FW_MOTOR_STOP 0
#define FW_MOTOR_LOCK 1
#define FW_MOTOR_UNLOCK 2

typedef enum fw_log_level { FW_LOG_DEBUG = 0, FW_LOG_INFO, FW_LOG_WARN, FW_LOG_ERROR } fw_log_level;

/* Sensor readings and physical inputs (fw_on_sensor). */
typedef enum fw_sensor {
    FW_SENSOR_TEMPERATURE = 0, /* thermostat: room temperature, centi-°C (-5000…10000)       */
    FW_SENSOR_HUMIDITY,        /* thermostat: relative humidity, whole % (0…100)             */
    FW_SENSOR_OCCUPANCY,       /* thermostat: 1 occupied, 0 not                              */
    FW_SENSOR_SETPOINT_DIAL,   /* thermostat: setpoint turned on the device, centi-°C        */
    FW_SENSOR_DOOR,            /* lock: door contact, 1 closed, 0 open                       */
    FW_SENSOR_KEYPAD,          /* lock: keypad code, 1 lock, 0 unlock (motorised)            */
    FW_SENSOR_THUMB_TURN,      /* lock: thumb-turn inside, 1 lock, 0 unlock (manual, no motor)*/
    FW_SENSOR_MOTOR_DONE,      /* lock: motor reached its end stop, 0 ok, 1 jammed — only
                                  used when fw_config.motor_done_by_host is true              */
    FW_SENSOR_BATTERY,         /* any: battery level measured, centi-% (0…10000)             */
    FW_SENSOR_COUNT
} fw_sensor;

/* ---------------------------------------------------------------------------------------- */
/* HAL: how the device talks to its host                                                     */
/* ---------------------------------------------------------------------------------------- */

typedef struct fw_device fw_device;

typedef struct fw_hal {
    void* ctx; /* passed back to every callback */

    /* One message to a partner cloud (an UPLINK frame). `recipient` is the configured name,
       `format` one of "alexa","google","matter","json", `body` a complete JSON object of
       `len` bytes (NUL-terminated as well). t_ms = host time. Required. */
    void (*uplink)(void* ctx, const fw_device* dev, uint64_t t_ms, const char* recipient,
                   const char* format, const char* body, size_t len);

    /* The device's actual state after a change (a TRUTH frame's `state` object). Optional. */
    void (*truth)(void* ctx, const fw_device* dev, uint64_t t_ms, const char* state_json,
                  size_t len);

    /* A diagnostic line (a LOG frame). Optional. */
    void (*log)(void* ctx, const fw_device* dev, uint64_t t_ms, fw_log_level level,
                const char* msg, size_t len);

    /* Drive an actuator: the HVAC relay or the lock motor. Optional. */
    void (*actuate)(void* ctx, const fw_device* dev, uint64_t t_ms, fw_actuator actuator,
                    int32_t value);

    /* Write the device id (e.g. "thermo-1") into buf (at most cap bytes, no NUL needed) and
       return its length (<= FW_ID_MAX). Any bytes are allowed: the core escapes the id
       wherever it places it. NULL: the id is "dev-<host tag>". */
    size_t (*device_id)(void* ctx, const fw_device* dev, char* buf, size_t cap);

    /* The store_and_forward profile's buffer for this device: the same fw_saf_ring on every
       call for one device, kept by the host as long as the device lives (the core resets it
       when it starts buffering; its content need not be initialised). Only devices running
       that profile during an outage ask for it, so a fleet pays for rings only where they
       are used. NULL (callback or result): samples taken during an outage are dropped, as
       the compliant profile does, with a warning in the log. */
    struct fw_saf_ring* (*saf_ring)(void* ctx, const fw_device* dev);
} fw_hal;

/* ---------------------------------------------------------------------------------------- */
/* Shared configuration                                                                      */
/* ---------------------------------------------------------------------------------------- */

typedef struct fw_recipient {
    const char* name;             /* as in commands and the policy, e.g. "voice-partner" */
    fw_format format;             /* body format this partner receives */
    uint32_t interaction_window_ms; /* W of the policy's `interaction` grant for this
                                       recipient (0: no interaction basis) */
    uint16_t interaction_categories; /* categories that interaction grant lists */
    uint16_t basis_at_boot;       /* standing-basis mask until fw_set_basis_allowed (default 0) */
    bool linked_at_boot;          /* account linked at boot (default true) */
    bool heartbeat;               /* receives the Wi-Fi heartbeat (the vendor cloud) */
    const char* agent_user_id;    /* google agentUserId; NULL: "consentrig-user" */
} fw_recipient;

typedef struct fw_config {
    fw_kind kind;
    fw_hal hal;
    uint8_t recipient_count;
    fw_recipient recipients[FW_MAX_RECIPIENTS];
    fw_profile profile_at_boot;   /* default compliant */
    bool allow_time_scale;        /* board cap "time_scale"; default false */
    uint64_t boot_epoch_ms;       /* wall clock at fw_init until set_clock (default 0) */
    uint32_t interaction_guard_ms;/* interaction windows end this much before W is over, so
                                     command latency never stretches them (default 500) */

    /* thermostat */
    fw_hvac_mode mode_at_boot;            /* default heat */
    int16_t setpoint_at_boot_centi_c;     /* default 2000 (20.0 °C) */
    int16_t setpoint_min_centi_c;         /* default 500 */
    int16_t setpoint_max_centi_c;         /* default 3500 */
    int16_t hysteresis_centi_c;           /* default 50: on at sp-0.5, off at sp+0.5 */
    int16_t auto_deadband_centi_c;        /* default 200: auto heats to sp-1, cools to sp+1 */
    int16_t eco_setback_centi_c;          /* default 300: eco heats to sp-3.0 °C */
    uint32_t min_off_ms;                  /* default 300000 (5 min), allowed 240000…900000 */
    uint32_t min_on_ms;                   /* default 180000 (3 min), allowed 60000…900000 */
    int16_t report_delta_centi_c;         /* default 50: report when temperature moved 0.5 °C */
    uint8_t report_delta_humidity_pct;    /* default 3 */
    uint32_t report_min_interval_ms;      /* default 30000: no two reports closer than this */
    uint32_t report_max_silence_ms;       /* default 900000 (15 min): full report at the latest
                                             after this long; 0: never */

    /* lock */
    uint32_t motor_ms;                    /* default 2000: one actuation */
    bool motor_done_by_host;              /* default false: the core times the motor itself;
                                             true: waits for FW_SENSOR_MOTOR_DONE */
    uint32_t motor_timeout_ms;            /* default 6000: no MOTOR_DONE by then → JAMMED */
    uint32_t auto_relock_ms;              /* default 30000 after unlock with the door closed;
                                             0: no auto-relock */
    uint16_t battery_drain_centi_pct;     /* default 3 (0.03 %) per motor actuation */

    /* both kinds */
    uint32_t heartbeat_interval_ms;       /* default 3600000 (1 h); 0: no heartbeat */
    uint32_t keepalive_min_delay_ms;      /* keepalive_leak: default 1000 */
    uint32_t keepalive_max_delay_ms;      /* keepalive_leak: default 3000 */
    uint16_t keepalive_trigger_categories;/* keepalive_leak: default lock_state|door_state|
                                             occupancy */
    uint32_t flush_delay_ms;              /* flush_after_revoke: send-queue delay, default 1000 */
} fw_config;

/* Fills every field with its documented default for `kind`; no recipients, no HAL. */
void fw_config_defaults(fw_config* cfg, fw_kind kind);

/* NULL when cfg is usable, else the reason ("min_off_ms out of range 240000…900000", …). */
const char* fw_config_check(const fw_config* cfg);

/* Index of the recipient called name[0..len) in cfg, or -1. */
int fw_recipient_index(const fw_config* cfg, const char* name, size_t len);

/* ---------------------------------------------------------------------------------------- */
/* Per-device state (owned by the host; opaque — use the functions below)                    */
/* ---------------------------------------------------------------------------------------- */

typedef union fw_snapshot {
    struct {
        int16_t temp_centi_c;     /* FW_TEMP_UNKNOWN until the first reading */
        int16_t setpoint_centi_c;
        uint8_t humidity_pct;     /* FW_HUMIDITY_UNKNOWN until the first reading */
        uint8_t bits;             /* mode (3 bits) | hvac state (2) << 3 | occupied << 5 */
    } t;
    struct {
        uint8_t lock_state;
        uint8_t door_closed;
        uint8_t battery_half_pct; /* 0…200 */
        uint8_t reserved[3];
    } l;
} fw_snapshot;
#define FW_TEMP_UNKNOWN INT16_MIN
#define FW_HUMIDITY_UNKNOWN 0xFFu

typedef struct fw_saf_entry {
    uint32_t t_off_ms;  /* sample time - saf_base_ms */
    fw_snapshot snap;
    uint16_t changed;   /* categories that changed in this sample */
} fw_saf_entry;

/* FW_SAF_SLOTS samples, the oldest overwritten when full (host storage: fw_hal.saf_ring). */
typedef struct fw_saf_ring {
    uint64_t base_ms;   /* device time the entries' t_off_ms count from */
    uint8_t head;
    uint8_t count;
    fw_saf_entry slots[FW_SAF_SLOTS];
} fw_saf_ring;

/* What a device remembers per configured recipient. 2-byte aligned, so that a device's
   array of them packs right after the header (the interaction window end is kept as two
   halves for that reason). */
typedef struct fw_recipient_state {
    uint16_t ia_until_s_lo;   /* interaction window end, device time in s: low half … */
    uint16_t ia_until_s_hi;   /* … and high half */
    uint16_t basis;           /* standing-basis mask */
    uint16_t withdrawn;       /* consent withdrawn */
    uint16_t outbox;          /* flush_after_revoke: queued categories */
} fw_recipient_state;

/* A device's state: a fixed header, then one fw_recipient_state per recipient of its config
   (a flexible array member), so a device with fewer recipients takes fewer bytes. Fields
   ordered by alignment, no padding inside the header. */
struct fw_device {
    int64_t time_offset_ms;   /* device time = host * scale_milli / 1000 + offset */
    int64_t clock_offset_ms;  /* wall clock = device time + offset */
    uint64_t soon_due_ms;     /* keepalive (keepalive_leak) / queue flush (flush_after_revoke) */
    union {
        struct {
            uint64_t relay_since_ms;   /* device time of the last relay change (or boot) */
            uint64_t last_publish_ms;  /* device time of the last report */
        } t;
        struct {
            uint64_t mech_due_ms;      /* motor done / motor timeout / auto-relock */
        } l;
    } kt;                     /* per-kind deadlines (8-byte fields apart from `k`: no hole) */
    const fw_config* cfg;
    uint32_t scale_milli;     /* time_scale factor x 1000 */
    uint32_t rng;             /* PRNG state */
    uint32_t seq;             /* heartbeat / keep-alive sequence number */
    uint32_t host_tag;        /* the host's handle for this device */
    uint32_t hb_due_s;        /* next heartbeat, device time in s */
    union {
        struct {
            int16_t temp_centi_c;
            int16_t setpoint_centi_c;
            int16_t reported_temp_centi_c;
            uint8_t humidity_pct;
            uint8_t reported_humidity_pct;
            uint8_t mode;
            uint8_t hvac;
            uint8_t occupied;
            uint8_t flags;
        } t;
        struct {
            uint16_t battery_centi_pct;
            uint8_t lock_state;
            uint8_t motor_target;
            uint8_t door_closed;
            uint8_t motor_cause;
            uint8_t flags;
        } l;
    } k;                      /* per-kind state */
    uint16_t dirty;           /* changes not sent because the network was down */
    uint8_t profile;
    uint8_t flags;
    uint8_t linked;           /* bit r: recipient r linked */
    uint8_t outbox_cause;
    fw_recipient_state rcp[]; /* cfg->recipient_count entries */
};

#if defined(__cplusplus)
#define FW_ALIGNOF(type) alignof(type)
#define FW_STATIC_ASSERT static_assert
#else
#define FW_ALIGNOF(type) _Alignof(type)
#define FW_STATIC_ASSERT _Static_assert
#endif

/* Bytes a host must provide for a device with n recipients (fw_init with a config of n
   recipients writes exactly these): the header, n recipient states, rounded up to the
   alignment so that such devices can sit back to back in an array. A compile-time constant
   for a constant n. */
#define FW_DEVICE_SIZE(n)                                                                      \
    ((offsetof(struct fw_device, rcp) + (size_t)(n) * sizeof(fw_recipient_state) +             \
      FW_ALIGNOF(struct fw_device) - 1u) /                                                     \
     FW_ALIGNOF(struct fw_device) * FW_ALIGNOF(struct fw_device))

/* FW_DEVICE_SIZE(recipient_count) at run time. */
size_t fw_device_size(uint8_t recipient_count);

/* Storage for a device of any config (FW_MAX_RECIPIENTS recipients), for hosts that keep one
   device in a variable or struct member: declare `fw_device_storage s;` and pass
   fw_device_in(&s). (Not a union with an fw_device member: C++ refuses a struct with a
   flexible array member inside another struct unless it is the last member.) */
typedef union fw_device_storage {
    unsigned char bytes[FW_DEVICE_SIZE(FW_MAX_RECIPIENTS)];
    int64_t align_i64;        /* the alignment of fw_device's members */
    const void* align_ptr;
} fw_device_storage;

static inline fw_device* fw_device_in(fw_device_storage* s) { return (fw_device*)(void*)s; }

FW_STATIC_ASSERT(FW_ALIGNOF(fw_recipient_state) == 2 && sizeof(fw_recipient_state) == 10 &&
                     offsetof(struct fw_device, rcp) % 2u == 0,
                 "recipient states are 2-byte aligned");
FW_STATIC_ASSERT(offsetof(struct fw_device, rcp) <= 88, "fw_device's header must stay within 88 bytes");
FW_STATIC_ASSERT(FW_ALIGNOF(fw_device_storage) == FW_ALIGNOF(struct fw_device) &&
                     sizeof(fw_device_storage) == FW_DEVICE_SIZE(FW_MAX_RECIPIENTS),
                 "fw_device_storage holds any device");
FW_STATIC_ASSERT(FW_DEVICE_SIZE(2) <= 112, "a 2-recipient device must stay within 112 bytes");
FW_STATIC_ASSERT(FW_DEVICE_SIZE(FW_MAX_RECIPIENTS) <= 136, "a device must stay within 136 bytes");

/* ---------------------------------------------------------------------------------------- */
/* Commands (PROTOCOL.md §1 COMMAND payloads)                                                */
/* ---------------------------------------------------------------------------------------- */

typedef enum fw_op {
    FW_OP_SET_CLOCK = 0,
    FW_OP_INTERACT,
    FW_OP_CONSENT,
    FW_OP_LINK,
    FW_OP_NETWORK,
    FW_OP_ENV,
    FW_OP_PROFILE,
    FW_OP_TIME_SCALE,
    FW_OP_RESET,
    FW_OP_COUNT
} fw_op;

typedef enum fw_via { FW_VIA_VOICE = 0, FW_VIA_APP, FW_VIA_PHYSICAL } fw_via;

typedef enum fw_action {
    FW_ACTION_SET_SETPOINT = 0,
    FW_ACTION_SET_MODE,
    FW_ACTION_LOCK,
    FW_ACTION_UNLOCK,
    FW_ACTION_QUERY
} fw_action;

typedef struct fw_command {
    uint32_t id;                  /* COMMAND id (echo it in the REPLY) */
    fw_op op;
    uint64_t epoch_ms;            /* set_clock */
    fw_via via;                   /* interact */
    fw_action action;             /* interact */
    char recipient[FW_NAME_MAX];  /* interact (voice/app), consent, link; "" if none */
    bool has_value;               /* interact: a value was given */
    int32_t value;                /* interact: set_setpoint centi-°C, set_mode fw_hvac_mode */
    uint16_t categories;          /* consent: mask ("all" = FW_CATS_ALL) */
    bool granted;                 /* consent */
    bool linked;                  /* link */
    bool up;                      /* network */
    bool has_outdoor;             /* env: outdoor_c given (for the HAL's plant; the core */
    int32_t outdoor_centi_c;      /*      itself has no use for it)                      */
    bool has_occupied;            /* env */
    bool occupied;
    bool has_door;                /* env */
    bool door_closed;
    fw_profile profile;           /* profile */
    uint32_t factor_milli;        /* time_scale: factor x 1000 (1000…1000000) */
} fw_command;

/* Parses one COMMAND payload (a JSON object, len bytes, need not be NUL-terminated) into out.
   No heap; strings are copied into out's buffers. Returns NULL on success, else the reason
   (static text, e.g. "unknown op", "interact: missing recipient"). out->id is set whenever
   the payload had a valid id, even on error. Unknown keys are ignored. */
const char* fw_parse_command(const char* json, size_t len, fw_command* out);

/* Writes a REPLY payload ({"id":…,"ok":true} or {"id":…,"ok":false,"error":"…"}) into buf;
   returns its length, or 0 if cap is too small. NUL-terminates when room allows. */
size_t fw_write_reply(char* buf, size_t cap, uint32_t id, const char* error);

/* ---------------------------------------------------------------------------------------- */
/* The device                                                                                */
/* ---------------------------------------------------------------------------------------- */

/* Boots a device: state from cfg (which must outlive the device and pass fw_config_check),
   PRNG from (seed, host_tag), clock = cfg->boot_epoch_ms at now_ms. Emits one TRUTH with the
   boot state. Returns NULL or the fw_config_check reason. `dev` must point to at least
   FW_DEVICE_SIZE(cfg->recipient_count) bytes aligned for fw_device (fw_device_storage fits
   any config); those are all the bytes the device ever writes. */
const char* fw_init(fw_device* dev, const fw_config* cfg, uint32_t host_tag, uint32_t seed,
                    uint64_t now_ms);

/* Applies one command. NULL = ok, else the REPLY's error text (static). */
const char* fw_on_command(fw_device* dev, uint64_t now_ms, const fw_command* cmd);

/* A sensor reading / physical input. NULL = ok, else why it was ignored (static text). */
const char* fw_on_sensor(fw_device* dev, uint64_t now_ms, fw_sensor sensor, int32_t value);

/* Runs everything due at now_ms. Calling it early or twice is harmless. */
void fw_on_timer(fw_device* dev, uint64_t now_ms);

/* Host time of the next deadline, FW_NO_WAKEUP if none. May be <= the last `now`. A
   maximum-silence report or heartbeat that would reach nobody and change nothing is not a
   deadline: the next call moves it on as if it had run (docs/firmware.md, idle timers). */
uint64_t fw_next_wakeup(const fw_device* dev);

/* The categories the policy's standing bases (always / schedule) allow recipient_index now.
   NULL = ok, else "recipient index out of range". */
const char* fw_set_basis_allowed(fw_device* dev, uint64_t now_ms, unsigned recipient_index,
                                 uint16_t category_mask);

/* ---- read-only views (for hosts and tests) ---- */
uint32_t fw_host_tag(const fw_device* dev);
fw_profile fw_get_profile(const fw_device* dev);
bool fw_network_up(const fw_device* dev);
bool fw_is_linked(const fw_device* dev, unsigned recipient_index);
/* Categories recipient r may receive now under the device's own consent view (standing basis
   or interaction window, minus withdrawals) — what the compliant profile obeys. */
uint16_t fw_allowed_now(const fw_device* dev, uint64_t now_ms, unsigned recipient_index);
int16_t fw_temperature_centi_c(const fw_device* dev);
int16_t fw_setpoint_centi_c(const fw_device* dev);
fw_hvac_mode fw_get_mode(const fw_device* dev);
fw_hvac_state fw_get_hvac_state(const fw_device* dev);
fw_lock_state fw_get_lock_state(const fw_device* dev);
bool fw_motor_running(const fw_device* dev);
bool fw_door_closed(const fw_device* dev);
uint16_t fw_battery_centi_pct(const fw_device* dev);
uint64_t fw_wall_clock_ms(const fw_device* dev, uint64_t now_ms);

/* ---- names ---- */
const char* fw_category_name(fw_category c);        /* "temperature", … */
const char* fw_profile_name(fw_profile p);          /* "compliant", … */
const char* fw_format_name(fw_format f);            /* "alexa", … */
const char* fw_cause_name(fw_cause c);              /* "VOICE_INTERACTION", … */
const char* fw_op_name(fw_op op);                   /* "set_clock", … */
/* Index of name[0..len) in the list of names, or -1. */
int fw_category_from_name(const char* name, size_t len);
int fw_profile_from_name(const char* name, size_t len);

/* Formats epoch_ms as RFC 3339 UTC with milliseconds ("2026-01-05T03:12:09.120Z") into buf
   (needs 25 bytes incl. NUL for years 0…9999); returns the length. Integer arithmetic only. */
size_t fw_format_rfc3339(uint64_t epoch_ms, char* buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* FW_FW_H */
