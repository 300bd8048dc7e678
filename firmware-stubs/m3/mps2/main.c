/* main.c — the consentrig board firmware on MPS2 AN385 (QEMU mps2-an385). */
#include "m3/board.h"
#include "m3/hal.h"

int main(void) {
    hal_init();
    board_init();
    for (;;) {
        if (!board_step()) hal_wait();
    }
}
