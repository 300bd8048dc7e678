/* hal_mps2.c — m3/hal.h for ARM MPS2 + AN385 (Cortex-M3), as QEMU `-M mps2-an385` models it.
 *
 *   UART0 (CMSDK APB UART @ 0x40004000, NVIC 0 RX)  the rig: board protocol   (-serial #1)
 *   UART1 (CMSDK APB UART @ 0x40005000, NVIC 2 RX)  the plant: Modbus RTU      (-serial #2)
 *   SysTick on the 25 MHz core clock                 1 ms tick, wakes WFI
 *   TIMER0 (CMSDK APB timer @ 0x40000000)            free-running: the millisecond clock
 *   0x003FF000, 4 KB                                 board configuration text
 *
 * Register layout: ARM Cortex-M System Design Kit TRM (DDI 0479), "APB UART"; QEMU
 * hw/char/cmsdk-apb-uart.c. The UART has a one-byte receive buffer: every byte raises the RX
 * interrupt, the handler moves it into a ring. Transmit is polled (TXFULL).
 */
#include <stdint.h>
#include <string.h>

#include "m3/hal.h"

#define SYSCLK_HZ 25000000u
#define BAUD 115200u

typedef struct cmsdk_uart {
    volatile uint32_t data;      /* 0x00 */
    volatile uint32_t state;     /* 0x04 bit0 TX full, bit1 RX full, bit2/3 overruns (W1C) */
    volatile uint32_t ctrl;      /* 0x08 bit0 TX en, bit1 RX en, bit2 TX int, bit3 RX int */
    volatile uint32_t intstatus; /* 0x0C read status / write 1 to clear */
    volatile uint32_t bauddiv;   /* 0x10 >= 16 */
} cmsdk_uart;

#define UART0 ((cmsdk_uart*)0x40004000u)
#define UART1 ((cmsdk_uart*)0x40005000u)
#define UART_STATE_TXFULL 1u
#define UART_STATE_RXFULL 2u
#define UART_STATE_OVERRUNS 0xCu
#define UART_CTRL_TX_EN 1u
#define UART_CTRL_RX_EN 2u
#define UART_CTRL_RX_INTEN 8u
#define UART_INT_RX 2u

#define TIMER0_CTRL (*(volatile uint32_t*)0x40000000u)
#define TIMER0_VALUE (*(volatile uint32_t*)0x40000004u)
#define TIMER0_RELOAD (*(volatile uint32_t*)0x40000008u)
#define SYST_CSR (*(volatile uint32_t*)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t*)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t*)0xE000E018u)
#define NVIC_ISER0 (*(volatile uint32_t*)0xE000E100u)
#define IRQ_UART0_RX 0u
#define IRQ_UART1_RX 2u

extern const char __config_start[];
extern const char __config_size[];

#define RING 2048u /* power of two */
typedef struct ring {
    volatile uint32_t head; /* written by the ISR */
    volatile uint32_t tail; /* written by the main loop */
    volatile uint32_t dropped;
    uint8_t buf[RING];
} ring;

static ring rig_rx, plant_rx;
static uint64_t timer_cycles;      /* TIMER0 counts elapsed, main loop only */
static uint32_t timer_last = 0xFFFFFFFFu;

static void uart_init(cmsdk_uart* u) {
    u->ctrl = 0;
    u->bauddiv = SYSCLK_HZ / BAUD;
    u->state = UART_STATE_OVERRUNS;
    u->intstatus = 0xFu;
    u->ctrl = UART_CTRL_TX_EN | UART_CTRL_RX_EN | UART_CTRL_RX_INTEN;
}

static void uart_isr(cmsdk_uart* u, ring* r) {
    u->intstatus = UART_INT_RX; /* clear first: a byte arriving after the drain interrupts again */
    while (u->state & UART_STATE_RXFULL) {
        const uint8_t b = (uint8_t)u->data;
        const uint32_t h = r->head;
        if (h - r->tail < RING) {
            r->buf[h & (RING - 1u)] = b;
            r->head = h + 1u;
        } else {
            r->dropped++;
        }
    }
    u->state = UART_STATE_OVERRUNS;
}

void UART0_RX_Handler(void) { uart_isr(UART0, &rig_rx); }
void UART1_RX_Handler(void) { uart_isr(UART1, &plant_rx); }
void SysTick_Handler(void) {} /* only wakes hal_wait */

static size_t ring_read(ring* r, uint8_t* out, size_t cap) {
    const uint32_t head = r->head;
    uint32_t tail = r->tail;
    size_t n = 0;
    while (tail != head && n < cap) out[n++] = r->buf[tail++ & (RING - 1u)];
    r->tail = tail;
    return n;
}

static void uart_write(cmsdk_uart* u, const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        while (u->state & UART_STATE_TXFULL) {
        }
        u->data = p[i];
    }
}

void hal_init(void) {
    uart_init(UART0);
    uart_init(UART1);
    NVIC_ISER0 = (1u << IRQ_UART0_RX) | (1u << IRQ_UART1_RX);
    TIMER0_RELOAD = 0xFFFFFFFFu;
    TIMER0_VALUE = 0xFFFFFFFFu;
    TIMER0_CTRL = 1u; /* enable, no interrupt: read, never waited on */
    SYST_RVR = SYSCLK_HZ / 1000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* processor clock, interrupt, enable */
}

/* Time is read from a free-running down-counter, not counted in SysTick interrupts: on a loaded
   host QEMU delivers late ticks as one, and a tick count then falls behind the host clock (a
   board clock that lags dates its answers before the rig's records). The counter wraps every
   2^32 / 25 MHz = 171 s; the main loop reads it every millisecond or so. */
uint64_t hal_millis(void) {
    const uint32_t now = TIMER0_VALUE;
    timer_cycles += (uint32_t)(timer_last - now);
    timer_last = now;
    return timer_cycles / (SYSCLK_HZ / 1000u);
}

void hal_wait(void) { __asm volatile("wfi"); }

const char* hal_board_name(void) { return "mps2-an385"; }

size_t hal_rig_read(uint8_t* buf, size_t cap) { return ring_read(&rig_rx, buf, cap); }
void hal_rig_write(const uint8_t* data, size_t n) { uart_write(UART0, data, n); }
size_t hal_plant_read(uint8_t* buf, size_t cap) { return ring_read(&plant_rx, buf, cap); }

/* No transceiver on the emulated board. On RS-485 hardware: DE high here, wait for the UART's
   transmit-complete after the loop, DE low (docs/m3-board.md). */
void hal_plant_write(const uint8_t* data, size_t n) { uart_write(UART1, data, n); }

const char* hal_config_text(size_t* len) {
    const size_t cap = (size_t)(uintptr_t)__config_size;
    size_t n = 0;
    while (n < cap && __config_start[n] != '\0') ++n;
    *len = n;
    return n > 0 ? __config_start : (const char*)0;
}
