/* 16550 UART console and port 0xE9 mirror. The guest may own the UART
 * too (its own console, or a UART it stops or slows): a byte waits for THRE
 * at most UART_POLLS_PER_DIVISOR polls per unit of the configured divisor
 * (a byte time is proportional to it); after a timeout the UART counts as
 * stalled, and
 * lines are dropped (one poll each) and counted until THRE is back, when
 * the count is reported. No CPU waits long under the line lock. */
#include <xmhf/console.h>
#include <xmhf/cpu.h>
#include <xmhf/format.h>
#include <xmhf/spinlock.h>

#define UART_THR 0 /* transmit holding register (DLAB=0) */
#define UART_DLL 0 /* divisor latch low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LCR_DLAB 0x80
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define UART_CLOCK_DIV 115200 /* 1.8432 MHz / 16 */
#define UART_POLLS_PER_DIVISOR 20000 /* >> a byte time at ~1 us a poll */
#define UART_DRAIN_LIMIT 1000000
#define E9_PORT 0xe9

static u16 uart_port;
static u32 byte_polls; /* at most, for one byte */
static bool mirror_e9;
static struct spinlock line_lock;
static bool uart_stalled;  /* under the line lock */
static u32 dropped_lines;

static u8 lcr_bits(const struct uart_config *u)
{
	u8 lcr = (u8)(u->data_bits - 5);
	if (u->stop_bits == 2)
		lcr |= 0x04;
	switch (u->parity) {
	case 'o': lcr |= 0x08; break;
	case 'e': lcr |= 0x18; break;
	case 'm': lcr |= 0x28; break;
	case 's': lcr |= 0x38; break;
	default: break;
	}
	return lcr;
}

void console_init(const struct uart_config *uart, bool e9)
{
	u16 div = (u16)(UART_CLOCK_DIV / uart->baud);

	uart_port = uart->port;
	byte_polls = UART_POLLS_PER_DIVISOR * div;
	mirror_e9 = e9;
	outb(uart_port + UART_IER, 0);
	outb(uart_port + UART_LCR, LCR_DLAB);
	outb(uart_port + UART_DLL, (u8)div);
	outb(uart_port + UART_DLM, (u8)(div >> 8));
	outb(uart_port + UART_LCR, lcr_bits(uart));
	outb(uart_port + UART_FCR, 0xc7); /* enable and clear FIFOs */
	outb(uart_port + UART_MCR, 0x03); /* DTR, RTS */
}

/* Wait for THRE (at most 'polls' LSR reads), then send c. */
static bool uart_put(char c, u32 polls)
{
	for (u32 i = 1; !(inb(uart_port + UART_LSR) & LSR_THRE); i++) {
		if (i >= polls)
			return false;
		cpu_relax();
	}
	outb(uart_port + UART_THR, (u8)c);
	return true;
}

static bool uart_write(const char *s)
{
	for (; *s; s++)
		if (!uart_put(*s, byte_polls))
			return false;
	return true;
}

static void e9_write(const char *s)
{
	for (; mirror_e9 && *s; s++)
		outb(E9_PORT, (u8)*s);
}

/* One line with CR LF on the UART, or dropped while it is stalled (one
 * poll); the first line after a stall reports the count (on a line of its
 * own, the stall may have cut the last one). */
static void put_line(u32 cpu, const char *s)
{
	e9_write(s);
	e9_write("\r\n");
	if (!uart_port)
		return;
	if (uart_stalled) {
		char note[64];
		if (!(inb(uart_port + UART_LSR) & LSR_THRE)) {
			dropped_lines++;
			return;
		}
		xsnprintf(note, sizeof(note), "\r\n[%u] xmhf: console: %u lines dropped\r\n", cpu, dropped_lines);
		if (!uart_write(note))
			goto stall;
		uart_stalled = false;
		dropped_lines = 0;
	}
	if (uart_write(s) && uart_write("\r\n"))
		return;
stall:
	uart_stalled = true;
	dropped_lines++;
}

void console_lock(u32 cpu)
{
	if (spin_held_by(&line_lock, cpu))
		return;
	while (!spin_trylock(&line_lock, cpu))
		cpu_relax();
}

void console_unlock(void) { spin_unlock(&line_lock); }

void console_write_line(u32 cpu, const char *s)
{
	/* A fault while this CPU prints must still get its dump out. */
	bool nested = spin_held_by(&line_lock, cpu);

	if (!nested)
		console_lock(cpu);
	put_line(cpu, s);
	if (!nested)
		console_unlock();
}

void console_drain(void)
{
	if (!uart_port || uart_stalled)
		return;
	for (u32 i = 0; i < UART_DRAIN_LIMIT; i++) {
		if ((inb(uart_port + UART_LSR) & (LSR_THRE | LSR_TEMT)) == (LSR_THRE | LSR_TEMT))
			return;
		cpu_relax();
	}
}
