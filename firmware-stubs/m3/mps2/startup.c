/* startup.c — vector table and reset handler for the Cortex-M3 on MPS2 AN385 (QEMU mps2-an385).
 *
 * The core reads the initial stack pointer and the reset vector from address 0 (VTOR = 0). The
 * AN385 wires the CMSDK UARTs to NVIC lines RX 0 / TX 1 (UART0), RX 2 / TX 3 (UART1), …
 * (QEMU hw/arm/mps2.c; ARM AN385 §"Interrupt map"); only the RX lines are used here.
 */
#include <stdint.h>
#include <string.h>

extern uint32_t __stack_top;
extern uint32_t __data_load, __data_start, __data_end, __bss_start, __bss_end;

int main(void);
void Reset_Handler(void);
void Default_Handler(void);
void SysTick_Handler(void);
void UART0_RX_Handler(void);
void UART1_RX_Handler(void);

void Default_Handler(void) {
    for (;;) {
        __asm volatile("bkpt #0");
    }
}

void Reset_Handler(void) {
    const uint32_t* src = &__data_load;
    for (uint32_t* dst = &__data_start; dst < &__data_end;) *dst++ = *src++;
    for (uint32_t* dst = &__bss_start; dst < &__bss_end;) *dst++ = 0;
    (void)main();
    for (;;) {
    }
}

typedef void (*vector)(void);

/* 16 system exceptions + 32 interrupt lines (AN385 has num-irq 32). */
__attribute__((section(".vectors"), used)) static const vector vectors[16 + 32] = {
    (vector)(uintptr_t)&__stack_top,
    Reset_Handler,
    Default_Handler, /* NMI */
    Default_Handler, /* HardFault */
    Default_Handler, /* MemManage */
    Default_Handler, /* BusFault */
    Default_Handler, /* UsageFault */
    0, 0, 0, 0,      /* reserved */
    Default_Handler, /* SVCall */
    Default_Handler, /* DebugMonitor */
    0,               /* reserved */
    Default_Handler, /* PendSV */
    SysTick_Handler,
    /* IRQ 0 */ UART0_RX_Handler,
    /* IRQ 1 */ Default_Handler,
    /* IRQ 2 */ UART1_RX_Handler,
    /* IRQ 3 … 31 */ Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
};
