/*
 * m3/modbus_master.h — a tiny, non-blocking Modbus RTU master (C11, no heap, no floats).
 *
 * Enough for a board to read its sensors and drive its actuators on the rig's plant
 * (docs/plant-modbus.md): FC 03 / FC 04 (read holding / input registers) and FC 05 (write single
 * coil), CRC-16, exception answers, timeouts. One transaction at a time:
 *
 *     mb_master m; mb_init(&m, 200);                        // 200 ms answer timeout
 *     size_t n = mb_read_registers(&m, 1, MB_FC_READ_INPUT, 0, 9, now);
 *     hal_plant_write(m.tx, n);
 *     ...each loop:  bytes from the UART → mb_feed(&m, buf, k);  then r = mb_poll(&m, now);
 *     r == MB_DONE: m.regs[0..8];  MB_EXCEPTION: m.exception;  MB_TIMEOUT / MB_BAD_CRC: retry
 *
 * An RTU answer is delimited by its function code (no reliance on the 3.5-character silence,
 * which a pty or an emulator's UART does not keep): FC 03/04 → 5 + 2·n bytes, FC 05 → 8 bytes,
 * an exception (function | 0x80) → 5 bytes. Bytes before the expected unit id are skipped.
 */
#ifndef M3_MODBUS_MASTER_H
#define M3_MODBUS_MASTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MB_FC_READ_HOLDING 0x03
#define MB_FC_READ_INPUT 0x04
#define MB_FC_WRITE_COIL 0x05
#define MB_MAX_REGS 32 /* registers one read may ask for here (the protocol allows 125) */

typedef enum mb_result {
    MB_IDLE = 0,   /* no transaction */
    MB_PENDING,    /* waiting for (the rest of) the answer */
    MB_DONE,       /* answered; registers in regs[] (reads) */
    MB_EXCEPTION,  /* answered with a Modbus exception; code in `exception` */
    MB_TIMEOUT,    /* no complete answer in time */
    MB_BAD_CRC     /* an answer arrived with a wrong CRC (or a malformed one) */
} mb_result;

typedef struct mb_counters {
    uint32_t requests, ok, exceptions, timeouts, bad_crc, skipped_bytes;
} mb_counters;

typedef struct mb_master {
    uint32_t timeout_ms;
    mb_counters n;
    /* the transaction */
    mb_result state;
    uint8_t unit, fc;
    uint16_t addr, count;
    uint64_t deadline;
    uint8_t tx[8];        /* the request as sent */
    uint8_t rx[5 + 2 * MB_MAX_REGS];
    size_t rx_len;
    /* the answer */
    uint8_t exception;
    uint16_t regs[MB_MAX_REGS];
} mb_master;

/* Modbus CRC-16 (poly 0xA001 reflected, init 0xFFFF); sent low byte first. */
uint16_t mb_crc16(const uint8_t* data, size_t len);

void mb_init(mb_master* m, uint32_t timeout_ms);

/* Start a transaction: builds the request into m->tx and returns its length (8) for the caller
   to send; 0 when count is 0 or > MB_MAX_REGS or fc is not 03/04. Any earlier transaction is
   abandoned. */
size_t mb_read_registers(mb_master* m, uint8_t unit, uint8_t fc, uint16_t addr, uint16_t count, uint64_t now_ms);
size_t mb_write_coil(mb_master* m, uint8_t unit, uint16_t addr, bool on, uint64_t now_ms);

/* Bytes received from the plant. Returns the state after them (PENDING, DONE, EXCEPTION,
   BAD_CRC). Bytes after a finished answer, or while idle, are skipped (counted). */
mb_result mb_feed(mb_master* m, const uint8_t* data, size_t len);

/* The state at now_ms: PENDING becomes TIMEOUT once the deadline has passed. A finished state
   (DONE, EXCEPTION, TIMEOUT, BAD_CRC) is returned once, then the master is IDLE again. */
mb_result mb_poll(mb_master* m, uint64_t now_ms);

#ifdef __cplusplus
}
#endif

#endif /* M3_MODBUS_MASTER_H */
