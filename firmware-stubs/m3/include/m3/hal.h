/*
 * m3/hal.h — the handful of functions a board must provide to run the consentrig board
 * firmware (firmware-stubs/m3/src/board.c: the firmware core + board protocol on one UART +
 * a Modbus RTU master on another).
 *
 * This is the whole porting surface. The QEMU mps2-an385 implementation is
 * firmware-stubs/m3/mps2/hal_mps2.c (CMSDK APB UARTs, SysTick); docs/m3-board.md has a porting
 * guide for an STM32 Nucleo or an ESP32 (pins, wiring to a USB-serial adapter and an RS-485
 * transceiver). Everything is single-threaded: board.c calls these from its main loop only;
 * interrupt handlers stay inside the HAL.
 */
#ifndef M3_HAL_H
#define M3_HAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Brings up clocks, the millisecond tick and both UARTs (8N1, 115200 baud). Called once, first. */
void hal_init(void);

/* Milliseconds since hal_init; monotonic, never wraps in practice (64 bits). */
uint64_t hal_millis(void);

/* Sleeps until something may have happened: an interrupt (a received byte, the next tick) —
   at most about a millisecond. May return at once (a host HAL polls). */
void hal_wait(void);

/* The board's name in HELLO ("mps2-an385", "nucleo-f401re", …). */
const char* hal_board_name(void);

/* ---- the rig link (board protocol, PROTOCOL.md §1) --------------------------------------- */

/* Copies up to cap received bytes into buf and returns how many; never blocks. The HAL buffers
   what arrives between calls (an RX interrupt into a ring of >= 256 bytes). */
size_t hal_rig_read(uint8_t* buf, size_t cap);

/* Sends n bytes; returns when they are queued or sent (may block for the UART's time). */
void hal_rig_write(const uint8_t* data, size_t n);

/* ---- the plant link (Modbus RTU master; RS-485 on a real board) -------------------------- */

/* As hal_rig_read, for the plant UART. */
size_t hal_plant_read(uint8_t* buf, size_t cap);

/* Sends one Modbus request: on RS-485, drive the transceiver's DE (and /RE) high, send, wait
   until the last stop bit has left the shift register (TC flag), then release DE — only then
   can the answer be received. Blocks for the frame's time on the wire. */
void hal_plant_write(const uint8_t* data, size_t n);

/* ---- configuration ------------------------------------------------------------------------ */

/* The board configuration text (docs/m3-board.md §Configuration) and its length, or NULL when
   the board has none (then the compiled-in defaults apply). On QEMU it is a 4 KB page the
   rig fills with `-device loader`; on a real board, a flash page. */
const char* hal_config_text(size_t* len);

#ifdef __cplusplus
}
#endif

#endif /* M3_HAL_H */
