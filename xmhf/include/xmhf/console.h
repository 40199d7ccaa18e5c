/* The serial console (a 16550 UART) with an optional mirror to port 0xE9.
 * Output is line-atomic across CPUs; while the UART does not take bytes
 * (the guest may own it) lines are dropped and counted, never waited for. The line lock is never taken in NMI
 * context: a CPU stopped by NMI never prints, and stop-the-world takes the
 * lock before sending NMIs (see docs/architecture.md, "Locks and NMIs"). */
#ifndef XMHF_CONSOLE_H
#define XMHF_CONSOLE_H

#include <xmhf/cmdline.h>
#include <xmhf/types.h>

void console_init(const struct uart_config *uart, bool e9);
/* Write one line (no newline in s; CR LF is appended) under the line lock.
 * 'cpu' identifies the caller for the lock's owner field. */
void console_write_line(u32 cpu, const char *s);
/* Take (at once if 'cpu' holds it) / release the line lock (for
 * stop-the-world). */
void console_lock(u32 cpu);
void console_unlock(void);
/* Wait until the UART has sent every byte (LSR.THRE and LSR.TEMT). */
void console_drain(void);

#endif
