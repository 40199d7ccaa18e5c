/* Machine power: ACPI S5 soft-off (ACPI 6.5 7.4.2 and 4.8.3.2.1) and delays
 * on the ACPI PM timer (4.8.3.3), with the 8254 PIT as the fallback. */
#ifndef XMHF_POWER_H
#define XMHF_POWER_H

#include <xmhf/acpi.h>

/* fadt may be NULL (no ACPI); s5_found tells whether slp_typ is valid. */
void power_init(const struct fadt_info *fadt, bool s5_found, u8 slp_typa, u8 slp_typb);
void udelay(u32 microseconds);
/* Drain the UART, then ACPI S5; halts if S5 is unavailable or fails. */
NORETURN void power_off(void);
/* Drain the UART and halt this CPU with interrupts off. */
NORETURN void console_drain_and_halt(void);

#endif
