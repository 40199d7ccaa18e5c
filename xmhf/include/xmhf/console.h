/* The serial console (a 16550 UART) with an optional mirror to port 0xE9.
 * Output is line-atomic across CPUs and against the guest's own lines on
 * the same UART; while the UART does not take bytes (the guest may own it)
 * lines are dropped and counted, never waited for. The line lock is never
 * taken in NMI
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
/* Wait until the UART has sent every byte (LSR.THRE and LSR.TEMT), and
 * flush the drain hook. */
void console_drain(void);
/* Another sink for every line (the network log): 'line' is called with
 * each line under the line lock and must neither wait nor print; 'drain'
 * (may be NULL) by console_drain, with or without the line lock held. */
void console_set_sink(void (*line)(const char *s), void (*drain)(void));
/* The UART's base port (0 without one), and a guest's OUT of byte c to it
 * (its transmit register, or the divisor while LCR.DLAB is set): sent under
 * the line lock, the hypervisor's lines wait for the guest's open line to
 * end (console.c). */
u16 console_uart_port(void);
void console_guest_write(u32 cpu, u8 c);

#endif
