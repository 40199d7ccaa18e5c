/* The hypervisor's console while the guest owns the UART (issue 7 point 12). The guest slows COM1
 * to 450 baud (divisor 0x100: a byte takes 22 ms), then makes the hypervisor print warnings
 * (blocked reads of its memory, #GP). A hypervisor that waits for the UART under its console lock
 * stalls the guest for seconds (a line is ~100 bytes); one that drops lines while the UART is
 * stalled returns within milliseconds. Bare hardware prints nothing: skipped there. */
#include "kernel.h"

#define COM1 0x3F8
#define LCR (COM1 + 3)
#define LCR_DLAB 0x80
#define LCR_8N1 0x03
#define SLOW_DIVISOR 0x100
#define WARNINGS 5
#define PM_TICKS_PER_MS 3580
#define BOUND_MS 500

static void set_divisor(uint16_t d)
{
    outb(LCR, LCR_DLAB);
    outb(COM1, (uint8_t)d);
    outb(COM1 + 1, (uint8_t)(d >> 8));
    outb(LCR, LCR_8N1);
}

static void read_hv(void *arg)
{
    (void)arg;
    (void)peek32(g_hv_base);
}

void check_console_uart_stalled(void)
{
    if (g_expect == EXPECT_BARE) {
        note("skip: bare");
        return;
    }
    if (!acpi_have_pm_timer()) {
        note("skip: no ACPI PM timer");
        return;
    }
    console_drain();
    set_divisor(SLOW_DIVISOR);
    uint32_t ms = 0;
    int faults = 0;
    for (int i = 0; i < WARNINGS; i++) { /* one at a time: the PM timer wraps after 4.7 s */
        uint32_t t0 = pm_timer_read();
        faults += try_call(read_hv, NULL) == 13;
        ms += pm_ticks_elapsed(t0) / PM_TICKS_PER_MS;
    }
    set_divisor(1);
    udelay(50000);  /* the slow bytes still queued */
    kprintf("\n");  /* ends a line the hypervisor's cut output may have begun */
    if (faults != WARNINGS)
        fail("%d of %d reads of hypervisor memory got #GP", faults, WARNINGS);
    if (ms > BOUND_MS)
        fail("%d hypervisor warnings took %u ms with a slow UART (the hypervisor waited for it)", WARNINGS, ms);
    note("%d warnings in %u ms", WARNINGS, ms);
}
