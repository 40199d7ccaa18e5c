/* 16550 UART console and port 0xE9 mirror. The guest may own the UART
 * too (its own console, or a UART it stops or slows): a byte waits for THRE
 * at most UART_POLLS_PER_DIVISOR polls per unit of the configured divisor
 * (a byte time is proportional to it); after a timeout the UART counts as
 * stalled, and lines are dropped (one poll each) and counted until THRE is
 * back, when the count is reported. No CPU waits long under the line lock.
 *
 * The guest's bytes to the transmit register come through
 * console_guest_write (the I/O exit), under the same lock, so that the two
 * writers' lines never split each other. The hypervisor's lines wait in
 * 'pending' while the guest's line is open (until its LF) and while the
 * guest has the UART in a state where bytes would not be text (LCR.DLAB:
 * they would set the divisor; MCR.LOOP: they would come back as input), for
 * at most GUEST_HOLD_MAX TSC ticks or until 'pending' is full; then the
 * guest's line is broken with CR LF and the waiting lines go out. */
#include <xmhf/console.h>
#include <xmhf/cpu.h>
#include <xmhf/format.h>
#include <xmhf/spinlock.h>
#include <xmhf/string.h>

#define UART_THR 0 /* transmit holding register (DLAB=0) */
#define UART_DLL 0 /* divisor latch low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define UART_CLOCK_DIV 115200 /* 1.8432 MHz / 16 */
#define UART_POLLS_PER_DIVISOR 20000 /* >> a byte time at ~1 us a poll */
#define UART_DRAIN_LIMIT 1000000
#define E9_PORT 0xe9
#define GUEST_HOLD_MAX 100000000ull /* TSC ticks: ~2 s of Bochs, ~30 ms at 3 GHz */
#define PENDING_BYTES 8192
#define DRAIN_CPU 0xfffffffeu /* the CPU index console_drain takes the line lock as */

static u16 uart_port;
static u32 byte_polls; /* at most, for one byte */
static bool mirror_e9;
static struct spinlock line_lock;
static bool uart_stalled;  /* under the line lock */
static u32 dropped_lines;
static void (*sink_line)(const char *s);
static void (*sink_drain)(void);
/* under the line lock */
static bool guest_mid_line; /* the guest's last byte was not LF */
static bool hv_wrote;       /* the hypervisor sent bytes after the guest's last */
static char pending[PENDING_BYTES]; /* the hypervisor's waiting lines, NUL after each */
static u32 pending_len;
static u64 pending_since; /* TSC when the first of them was queued */

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
	hv_wrote = true;
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
static void uart_line(u32 cpu, const char *s)
{
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

static void send_pending(u32 cpu)
{
	for (u32 at = 0; at < pending_len; at += (u32)strlen(pending + at) + 1)
		uart_line(cpu, pending + at);
	pending_len = 0;
}

/* End the guest's open line with CR LF (its rest follows on a line of its
 * own), then send the lines that waited for it. */
static void break_guest_line(u32 cpu)
{
	if (guest_mid_line && !uart_stalled)
		uart_write("\r\n");
	guest_mid_line = false;
	send_pending(cpu);
}

static bool pending_overdue(void) { return rdtsc() - pending_since >= GUEST_HOLD_MAX; }

/* The guest's set-up of the UART: what is sent now is no text. */
static bool uart_not_text(void)
{
	return (inb(uart_port + UART_LCR) & LCR_DLAB) || (inb(uart_port + UART_MCR) & MCR_LOOP);
}

static bool queue_line(const char *s)
{
	u32 n = (u32)strlen(s) + 1;
	if (n > PENDING_BYTES - pending_len)
		return false;
	if (!pending_len)
		pending_since = rdtsc();
	memcpy(pending + pending_len, s, n);
	pending_len += n;
	return true;
}

static void put_line(u32 cpu, const char *s)
{
	if (sink_line)
		sink_line(s);
	e9_write(s);
	e9_write("\r\n");
	if (!uart_port)
		return;
	if (guest_mid_line || uart_not_text()) {
		if (!(pending_len && pending_overdue()) && queue_line(s))
			return;
		break_guest_line(cpu);
	} else if (pending_len) {
		send_pending(cpu);
	}
	uart_line(cpu, s);
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

u16 console_uart_port(void) { return uart_port; }

void console_guest_write(u32 cpu, u8 c)
{
	console_lock(cpu);
	if (inb(uart_port + UART_LCR) & LCR_DLAB) {
		outb(uart_port + UART_DLL, c);
	} else if (inb(uart_port + UART_MCR) & MCR_LOOP) {
		outb(uart_port + UART_THR, c); /* comes back as input */
	} else {
		if (pending_len && (!guest_mid_line || pending_overdue()))
			break_guest_line(cpu);
		/* The guest waited for THRE before its byte, but maybe not for ours. */
		for (u32 i = 0; hv_wrote && i < byte_polls && !(inb(uart_port + UART_LSR) & LSR_THRE); i++)
			cpu_relax();
		hv_wrote = false;
		outb(uart_port + UART_THR, c);
		guest_mid_line = c != '\n';
		if (!guest_mid_line)
			send_pending(cpu);
	}
	console_unlock();
}

void console_set_sink(void (*line)(const char *s), void (*drain)(void))
{
	sink_drain = drain;
	sink_line = line;
}

/* Lines still waiting for the guest go out first: under the line lock if
 * it comes within UART_DRAIN_LIMIT tries, else without it (a halting CPU
 * holds it, and the others are stopped). */
void console_drain(void)
{
	if (sink_drain)
		sink_drain();
	if (pending_len) {
		u32 i = 0;
		while (i < UART_DRAIN_LIMIT && !spin_trylock(&line_lock, DRAIN_CPU))
			i++;
		break_guest_line(0);
		if (i < UART_DRAIN_LIMIT)
			console_unlock();
	}
	if (!uart_port || uart_stalled)
		return;
	for (u32 i = 0; i < UART_DRAIN_LIMIT; i++) {
		if ((inb(uart_port + UART_LSR) & (LSR_THRE | LSR_TEMT)) == (LSR_THRE | LSR_TEMT))
			return;
		cpu_relax();
	}
}
