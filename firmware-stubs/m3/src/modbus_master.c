/* m3/modbus_master.c — see m3/modbus_master.h. */
#include "m3/modbus_master.h"

#include <string.h>

uint16_t mb_crc16(const uint8_t* p, size_t len) {
    uint16_t crc = 0xFFFFu;
    for (size_t i = 0; i < len; ++i) {
        crc = (uint16_t)(crc ^ p[i]);
        for (int b = 0; b < 8; ++b) crc = (crc & 1u) ? (uint16_t)((crc >> 1) ^ 0xA001u) : (uint16_t)(crc >> 1);
    }
    return crc;
}

void mb_init(mb_master* m, uint32_t timeout_ms) {
    memset(m, 0, sizeof *m);
    m->timeout_ms = timeout_ms;
    m->state = MB_IDLE;
}

static size_t start(mb_master* m, uint8_t unit, uint8_t fc, uint16_t addr, uint16_t value, uint64_t now) {
    m->unit = unit;
    m->fc = fc;
    m->addr = addr;
    m->tx[0] = unit;
    m->tx[1] = fc;
    m->tx[2] = (uint8_t)(addr >> 8);
    m->tx[3] = (uint8_t)(addr & 0xFFu);
    m->tx[4] = (uint8_t)(value >> 8);
    m->tx[5] = (uint8_t)(value & 0xFFu);
    const uint16_t crc = mb_crc16(m->tx, 6);
    m->tx[6] = (uint8_t)(crc & 0xFFu);
    m->tx[7] = (uint8_t)(crc >> 8);
    m->rx_len = 0;
    m->exception = 0;
    m->deadline = now + m->timeout_ms;
    m->state = MB_PENDING;
    m->n.requests++;
    return 8;
}

size_t mb_read_registers(mb_master* m, uint8_t unit, uint8_t fc, uint16_t addr, uint16_t count, uint64_t now) {
    if ((fc != MB_FC_READ_HOLDING && fc != MB_FC_READ_INPUT) || count == 0 || count > MB_MAX_REGS) return 0;
    m->count = count;
    return start(m, unit, fc, addr, count, now);
}

size_t mb_write_coil(mb_master* m, uint8_t unit, uint16_t addr, bool on, uint64_t now) {
    m->count = 1;
    return start(m, unit, MB_FC_WRITE_COIL, addr, on ? 0xFF00u : 0x0000u, now);
}

/* The answer's full length once enough of it is there; 0 while unknown. */
static size_t expected(const mb_master* m) {
    if (m->rx_len < 2) return 0;
    if (m->rx[1] == (uint8_t)(m->fc | 0x80u)) return 5;
    if (m->rx[1] != m->fc) return 1; /* malformed: decided at once */
    if (m->fc == MB_FC_WRITE_COIL) return 8;
    return 5u + 2u * m->count;
}

static mb_result finish(mb_master* m, size_t len) {
    const uint16_t crc = mb_crc16(m->rx, len - 2);
    if (m->rx[len - 2] != (uint8_t)(crc & 0xFFu) || m->rx[len - 1] != (uint8_t)(crc >> 8)) {
        m->n.bad_crc++;
        return m->state = MB_BAD_CRC;
    }
    if (m->rx[1] != m->fc) { /* expected() only lets fc | 0x80 through: an exception */
        m->exception = m->rx[2];
        m->n.exceptions++;
        return m->state = MB_EXCEPTION;
    }
    if (m->fc == MB_FC_WRITE_COIL) {
        if (memcmp(m->rx, m->tx, 6) != 0) { /* the echo must match what was asked */
            m->n.bad_crc++;
            return m->state = MB_BAD_CRC;
        }
    } else {
        if (m->rx[2] != 2u * m->count) {
            m->n.bad_crc++;
            return m->state = MB_BAD_CRC;
        }
        for (uint16_t i = 0; i < m->count; ++i)
            m->regs[i] = (uint16_t)((m->rx[3 + 2 * i] << 8) | m->rx[4 + 2 * i]);
    }
    m->n.ok++;
    return m->state = MB_DONE;
}

mb_result mb_feed(mb_master* m, const uint8_t* data, size_t len) {
    for (size_t i = 0; i < len; ++i) {
        if (m->state != MB_PENDING) {
            m->n.skipped_bytes++;
            continue;
        }
        if (m->rx_len == 0 && data[i] != m->unit) { /* not the start of our answer */
            m->n.skipped_bytes++;
            continue;
        }
        if (m->rx_len < sizeof m->rx) m->rx[m->rx_len++] = data[i];
        const size_t want = expected(m);
        if (want == 1) {
            m->n.bad_crc++;
            m->state = MB_BAD_CRC;
        } else if (want != 0 && m->rx_len >= want) {
            finish(m, want);
        }
    }
    return m->state;
}

mb_result mb_poll(mb_master* m, uint64_t now) {
    mb_result r = m->state;
    if (r == MB_PENDING) {
        if (now < m->deadline) return MB_PENDING;
        m->n.timeouts++;
        r = MB_TIMEOUT;
    }
    if (r != MB_IDLE) m->state = MB_IDLE;
    return r;
}
