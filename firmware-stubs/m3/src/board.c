/* m3/board.c — the board firmware's main loop (see m3/board.h, docs/m3-board.md).
 *
 * rig UART  ── frames ──► fw_frame_rx ──► COMMAND → fw_parse_command → fw_on_command → REPLY
 *                                        HELLO_REQ → HELLO
 * firmware callbacks (uplink, truth, log) ──► UPLINK / TRUTH / LOG frames ──► rig UART
 * firmware actuate() ──► wanted coil states ──► Modbus FC 05 ──► plant UART
 * plant UART ◄── Modbus FC 04 every poll period (device time) ──► fw_on_sensor on change
 *
 * Nothing here blocks on the plant: one Modbus transaction is in flight at a time and the loop
 * keeps serving the rig and the firmware's timers while it waits.
 */
#include <string.h>

#include "fw/frame.h"
#include "m3/board.h"
#include "m3/hal.h"
#include "m3/modbus_master.h"

/* Register map v1 of docs/plant-modbus.md (plant/plant.hpp). */
enum {
    REG_ROOM_TEMPERATURE = 0,
    REG_OUTDOOR_TEMPERATURE = 1,
    REG_HUMIDITY = 2,
    REG_OCCUPANCY = 3,
    REG_DOOR = 4,
    REG_BOLT = 5,
    REG_BATTERY = 6,
    REG_HVAC_OUTPUT = 7,
    REG_MAP_VERSION = 8,
    REG_COUNT = 9
};
enum { COIL_HEAT = 0, COIL_COOL = 1, COIL_MOTOR_LOCK = 2, COIL_MOTOR_UNLOCK = 3, COIL_COUNT = 4 };
#define PLANT_MAP_VERSION 1u
#define PLANT_SILENT_AFTER 3u /* failed transactions in a row before the board logs it */

typedef struct board {
    m3_board_config bc;
    fw_config cfg;
    fw_device_storage fw;   /* the device: fw_device_in(&fw) */
    fw_saf_ring saf;
    fw_frame_tx tx;
    fw_frame_rx rx;
    mb_master mb;
    /* coils: what the firmware wants, what the plant was last told (0xFF: unknown) and
       rising edges not yet written (a motor pulse shorter than a Modbus round trip) */
    uint8_t want[COIL_COUNT];
    uint8_t have[COIL_COUNT];
    uint8_t pulse[COIL_COUNT];
    int8_t writing;            /* coil being written, -1 none */
    uint8_t writing_value;
    uint64_t next_poll;        /* host ms */
    uint64_t coil_retry_at;    /* host ms: after a failed write */
    bool resend;               /* deliver every reading at the next poll (boot, reset) */
    bool map_warned;
    uint32_t failures;         /* Modbus transactions failed in a row */
    uint32_t scale_milli;      /* the firmware's time_scale factor × 1000 (as last commanded) */
    uint16_t last[REG_COUNT];
} board;

static board g;

const fw_device* board_device(void) { return fw_device_in(&g.fw); }
const m3_board_config* board_config(void) { return &g.bc; }

/* ---- frames to the rig ------------------------------------------------------------------ */

static void send_tx(size_t n) {
    if (n > 0) hal_rig_write(g.tx.wire, n);
}

static void log_text(const char* level, const char* msg) {
    send_tx(fw_frame_tx_log(&g.tx, hal_millis(), level, msg, strlen(msg)));
}

static void send_hello(void) {
    static const char* const caps_scaled[] = {"plant_modbus", "time_scale"};
    static const char* const caps_plain[] = {"plant_modbus"};
    fw_hello h;
    memset(&h, 0, sizeof h);
    h.board = hal_board_name();
    h.firmware = g.bc.kind == FW_KIND_THERMOSTAT ? "thermostat-stub" : "lock-stub";
    h.version = M3_FIRMWARE_VERSION;
    h.device_id = g.bc.id;
    h.id_len = g.bc.id_len;
    h.kind = g.bc.kind == FW_KIND_THERMOSTAT ? "thermostat" : "lock";
    h.caps = g.cfg.allow_time_scale ? caps_scaled : caps_plain;
    h.cap_count = g.cfg.allow_time_scale ? 2u : 1u;
    send_tx(fw_frame_tx_hello(&g.tx, &h));
}

/* ---- firmware callbacks ----------------------------------------------------------------- */

static void cb_uplink(void* ctx, const fw_device* dev, uint64_t t, const char* to, const char* fmt,
                      const char* body, size_t len) {
    (void)ctx;
    (void)dev;
    send_tx(fw_frame_tx_uplink(&g.tx, t, to, fmt, body, len));
}

static void cb_truth(void* ctx, const fw_device* dev, uint64_t t, const char* state, size_t len) {
    (void)ctx;
    (void)dev;
    send_tx(fw_frame_tx_truth(&g.tx, t, state, len));
}

static void cb_log(void* ctx, const fw_device* dev, uint64_t t, fw_log_level level, const char* msg, size_t len) {
    static const char* const levels[] = {"debug", "info", "warn", "error"};
    (void)ctx;
    (void)dev;
    send_tx(fw_frame_tx_log(&g.tx, t, levels[(unsigned)level & 3u], msg, len));
}

static void want_coil(unsigned c, bool on) {
    const uint8_t v = on ? 1u : 0u;
    if (v && !g.want[c]) g.pulse[c] = 1; /* remember the edge even if it is over before the write */
    g.want[c] = v;
}

static void cb_actuate(void* ctx, const fw_device* dev, uint64_t t, fw_actuator a, int32_t value) {
    (void)ctx;
    (void)dev;
    (void)t;
    if (a == FW_ACT_HVAC_RELAY) {
        want_coil(COIL_HEAT, value == FW_RELAY_HEAT);
        want_coil(COIL_COOL, value == FW_RELAY_COOL);
    } else if (a == FW_ACT_LOCK_MOTOR) {
        want_coil(COIL_MOTOR_LOCK, value == FW_MOTOR_LOCK);
        want_coil(COIL_MOTOR_UNLOCK, value == FW_MOTOR_UNLOCK);
    }
}

static size_t cb_device_id(void* ctx, const fw_device* dev, char* buf, size_t cap) {
    (void)ctx;
    (void)dev;
    const size_t n = g.bc.id_len < cap ? g.bc.id_len : cap;
    memcpy(buf, g.bc.id, n);
    return n;
}

/* The one device's store_and_forward buffer (RAM used only by that profile). */
static fw_saf_ring* cb_saf_ring(void* ctx, const fw_device* dev) {
    (void)ctx;
    (void)dev;
    return &g.saf;
}

/* ---- boot ------------------------------------------------------------------------------- */

static void plant_sync_after_boot(uint64_t now) {
    /* The coils of this kind are written once at boot so the plant matches the firmware. */
    const unsigned first = g.bc.kind == FW_KIND_THERMOSTAT ? COIL_HEAT : COIL_MOTOR_LOCK;
    for (unsigned c = 0; c < COIL_COUNT; ++c) g.have[c] = (c == first || c == first + 1) ? 0xFFu : g.want[c];
    g.resend = true;
    g.next_poll = now;
    g.coil_retry_at = now;
}

void board_init(void) {
    memset(&g, 0, sizeof g);
    size_t len = 0;
    const char* text = hal_config_text(&len);
    unsigned line = 0;
    const fw_hal hal = {&g, cb_uplink, cb_truth, cb_log, cb_actuate, cb_device_id, cb_saf_ring};
    const char* cfg_error = m3_config_parse(text, len, &hal, &g.bc, &g.cfg, &line);
    fw_frame_tx_init(&g.tx);
    fw_frame_rx_init(&g.rx);
    mb_init(&g.mb, g.bc.modbus_timeout_ms);
    g.writing = -1;
    g.scale_milli = 1000u;

    const uint64_t now = hal_millis();
    send_hello();
    if (cfg_error != NULL) {
        char msg[160] = "board config: ";
        size_t n = strlen(msg);
        if (line > 0) {
            char num[12];
            size_t k = 0;
            for (unsigned v = line; v > 0 && k < sizeof num; v /= 10u) num[k++] = (char)('0' + v % 10u);
            memcpy(msg + n, "line ", 5);
            n += 5;
            while (k > 0) msg[n++] = num[--k];
            msg[n++] = ':';
            msg[n++] = ' ';
        }
        const size_t el = strlen(cfg_error);
        memcpy(msg + n, cfg_error, el < sizeof msg - n - 1 ? el : sizeof msg - n - 1);
        log_text("error", msg);
        log_text("warn", "board config: running on the defaults");
    }
    (void)fw_init(fw_device_in(&g.fw), &g.cfg, 1u, g.bc.seed, now);
    plant_sync_after_boot(now);
}

/* ---- the rig link ----------------------------------------------------------------------- */

static void on_frame(const fw_frame* f) {
    const uint64_t now = hal_millis();
    if (f->type == FW_FRAME_HELLO_REQ) {
        send_hello();
        return;
    }
    if (f->type != FW_FRAME_COMMAND) return; /* nothing else is for a board */
    fw_command cmd;
    memset(&cmd, 0, sizeof cmd);
    const char* err = fw_parse_command(f->payload, f->payload_len, &cmd);
    if (err == NULL) err = fw_on_command(fw_device_in(&g.fw), now, &cmd);
    if (err == NULL && cmd.op == FW_OP_TIME_SCALE) g.scale_milli = cmd.factor_milli;
    if (err == NULL && cmd.op == FW_OP_RESET) g.scale_milli = 1000u; /* reset returns to 1 */
    send_tx(fw_frame_tx_reply(&g.tx, cmd.id, err));
    if (err == NULL && cmd.op == FW_OP_RESET) {
        send_hello();
        plant_sync_after_boot(now); /* the core forgot its readings: deliver them again */
    }
}

static bool rig_step(void) {
    uint8_t buf[256];
    const size_t n = hal_rig_read(buf, sizeof buf);
    for (size_t off = 0; off < n;) {
        size_t used = 0;
        fw_frame f;
        if (fw_frame_rx_feed(&g.rx, buf + off, n - off, &used, &f) == FW_FRAME_OK) on_frame(&f);
        off += used;
    }
    return n > 0;
}

/* ---- the plant link --------------------------------------------------------------------- */

static uint64_t poll_period(void) {
    /* poll_ms of device time in host time: slower devices time runs, the more often. */
    uint64_t p = (uint64_t)g.bc.poll_ms * 1000u / (g.scale_milli ? g.scale_milli : 1000u);
    return p < g.bc.poll_min_ms ? g.bc.poll_min_ms : p;
}

static void sense(uint64_t now, fw_sensor s, int32_t value) { (void)fw_on_sensor(fw_device_in(&g.fw), now, s, value); }

static void on_readings(uint64_t now, const uint16_t* r) {
    if (r[REG_MAP_VERSION] != PLANT_MAP_VERSION) {
        if (!g.map_warned) log_text("error", "plant: unsupported register map version");
        g.map_warned = true;
        return;
    }
    const bool all = g.resend;
    g.resend = false;
    if (g.bc.kind == FW_KIND_THERMOSTAT) {
        if (all || r[REG_ROOM_TEMPERATURE] != g.last[REG_ROOM_TEMPERATURE])
            sense(now, FW_SENSOR_TEMPERATURE, (int16_t)r[REG_ROOM_TEMPERATURE]);
        const uint32_t hum = (r[REG_HUMIDITY] + 50u) / 100u, hum_before = (g.last[REG_HUMIDITY] + 50u) / 100u;
        if (g.bc.humidity_sensor && (all || hum != hum_before)) sense(now, FW_SENSOR_HUMIDITY, (int32_t)hum);
        if (all || r[REG_OCCUPANCY] != g.last[REG_OCCUPANCY])
            sense(now, FW_SENSOR_OCCUPANCY, r[REG_OCCUPANCY] ? 1 : 0);
    } else {
        if (all || r[REG_DOOR] != g.last[REG_DOOR]) sense(now, FW_SENSOR_DOOR, r[REG_DOOR] ? 1 : 0);
        if (all || r[REG_BATTERY] != g.last[REG_BATTERY])
            sense(now, FW_SENSOR_BATTERY, r[REG_BATTERY] > 10000u ? 10000 : (int32_t)r[REG_BATTERY]);
    }
    memcpy(g.last, r, sizeof g.last);
}

static void plant_result(uint64_t now, mb_result r) {
    const bool ok = r == MB_DONE;
    if (ok) {
        if (g.failures >= PLANT_SILENT_AFTER) log_text("info", "plant: answering again");
        g.failures = 0;
    } else if (++g.failures == PLANT_SILENT_AFTER) {
        log_text("warn", r == MB_TIMEOUT     ? "plant: no answer (Modbus timeout)"
                         : r == MB_EXCEPTION ? "plant: Modbus exception"
                                             : "plant: garbled answers (Modbus CRC)");
    }
    if (g.writing >= 0) {
        if (ok) {
            g.have[g.writing] = g.writing_value;
        } else {
            g.coil_retry_at = now + g.bc.poll_min_ms;
        }
        g.writing = -1;
        return;
    }
    if (ok) on_readings(now, g.mb.regs);
    g.next_poll = now + poll_period();
}

/* The next coil write: pending pulses first, then releases, then levels. -1: none. */
static int next_coil(uint8_t* value) {
    for (unsigned c = 0; c < COIL_COUNT; ++c) {
        if (g.pulse[c] && g.have[c] == 1u) g.pulse[c] = 0; /* the plant never saw it drop: no new edge */
    }
    for (unsigned c = 0; c < COIL_COUNT; ++c) {
        if (g.pulse[c] && g.have[c] != 1u) {
            *value = 1;
            return (int)c;
        }
    }
    for (unsigned c = 0; c < COIL_COUNT; ++c) {
        if (g.want[c] == 0 && g.have[c] != 0u && !g.pulse[c]) {
            *value = 0;
            return (int)c;
        }
    }
    for (unsigned c = 0; c < COIL_COUNT; ++c) {
        if (g.want[c] == 1 && g.have[c] != 1u) {
            *value = 1;
            return (int)c;
        }
    }
    return -1;
}

static bool plant_step(uint64_t now) {
    bool did = false;
    uint8_t buf[64];
    size_t n;
    while ((n = hal_plant_read(buf, sizeof buf)) > 0) {
        (void)mb_feed(&g.mb, buf, n);
        did = true;
    }
    const mb_result r = mb_poll(&g.mb, now);
    if (r == MB_PENDING) return did;
    if (r != MB_IDLE) {
        plant_result(now, r);
        did = true;
    }
    /* Idle: start the next transaction. */
    uint8_t value = 0;
    const int coil = now >= g.coil_retry_at ? next_coil(&value) : -1;
    size_t len = 0;
    if (coil >= 0) {
        g.writing = (int8_t)coil;
        g.writing_value = value;
        if (value) g.pulse[coil] = 0;
        len = mb_write_coil(&g.mb, g.bc.modbus_unit, (uint16_t)coil, value != 0, now);
    } else if (now >= g.next_poll) {
        len = mb_read_registers(&g.mb, g.bc.modbus_unit, MB_FC_READ_INPUT, 0, REG_COUNT, now);
    }
    if (len > 0) {
        hal_plant_write(g.mb.tx, len);
        did = true;
    }
    return did;
}

/* ---- the loop --------------------------------------------------------------------------- */

bool board_step(void) {
    bool did = rig_step();
    const uint64_t now = hal_millis();
    if (plant_step(now)) did = true;
    const uint64_t wake = fw_next_wakeup(fw_device_in(&g.fw));
    if (wake != FW_NO_WAKEUP && wake <= now) {
        fw_on_timer(fw_device_in(&g.fw), now);
        did = true;
    }
    return did;
}
