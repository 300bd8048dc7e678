/*
 * m3/board.h — the board firmware: the firmware core (fw/fw.h) on a board, speaking the board
 * protocol (fw/frame.h, PROTOCOL.md §1) on the rig UART and polling its plant over Modbus RTU
 * (m3/modbus_master.h, docs/plant-modbus.md) on the plant UART. Portable C11 over m3/hal.h;
 * the same code runs on QEMU mps2-an385 (firmware-stubs/m3/mps2/) and, for tests, on the host.
 *
 *     int main(void) { hal_init(); board_init(); for (;;) if (!board_step()) hal_wait(); }
 *
 * Configuration (which device, profile, partners, parameters) is a text block the HAL provides
 * (hal_config_text); the format is documented in docs/m3-board.md §Configuration.
 */
#ifndef M3_BOARD_H
#define M3_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw/fw.h"

#ifdef __cplusplus
extern "C" {
#endif

#define M3_FIRMWARE_VERSION "0.1.0"
#define M3_SETS_MAX 16

/* What the configuration text sets besides fw_config. */
typedef struct m3_board_config {
    fw_kind kind;
    char id[FW_ID_MAX];
    size_t id_len;
    uint32_t seed;
    uint8_t modbus_unit;        /* plant unit id (default 1) */
    uint32_t poll_ms;           /* sensor poll period in DEVICE time (default 1000) */
    uint32_t poll_min_ms;       /* ...but never more often than this in host time (default 50) */
    uint32_t modbus_timeout_ms; /* answer timeout, host time (default 200) */
    bool humidity_sensor;       /* report the plant's humidity register (default true) */
    char names[FW_MAX_RECIPIENTS][FW_NAME_MAX]; /* storage behind fw_config.recipients[].name */
} m3_board_config;

/* Parses the configuration text into board (board settings) and cfg (the firmware config:
   fw_config_defaults for the configured kind, every key applied, cfg->hal = *hal, then
   fw_config_check). text may be NULL (all defaults). Returns NULL, or a static reason and
   *line = the offending line (1-based; 0 when fw_config_check refused the whole); board and
   cfg then hold the defaults (of the configured kind, if that much was readable). The default partners are the default scenario's:
   voice-partner (alexa, 120 s interaction window, all categories) and vendor-cloud (json,
   standing basis: all, heartbeat). */
const char* m3_config_parse(const char* text, size_t len, const fw_hal* hal, m3_board_config* board,
                            fw_config* cfg, unsigned* line);

/* Boots the board: parses the configuration, sends HELLO, boots the firmware core. */
void board_init(void);

/* One round of the main loop: frames from the rig, the Modbus transaction, the firmware's
   timers. Returns true when it did something (call again at once), false when the caller
   may hal_wait(). */
bool board_step(void);

/* Views for tests. */
const fw_device* board_device(void);
const m3_board_config* board_config(void);

#ifdef __cplusplus
}
#endif

#endif /* M3_BOARD_H */
