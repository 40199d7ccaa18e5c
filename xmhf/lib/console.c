/* 16550 UART console and port 0xE9 mirror. */
#include <xmhf/console.h>
#include <xmhf/cpu.h>

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
#define UART_SPIN_LIMIT 1000000
#define E9_PORT 0xe9
#define LOCK_FREE 0

static u16 uart_port;
static bool mirror_e9;
static volatile u32 line_lock_owner = LOCK_FREE; /* CPU index + 1 */

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
	mirror_e9 = e9;
	outb(uart_port + UART_IER, 0);
	outb(uart_port + UART_LCR, LCR_DLAB);
	outb(uart_port + UART_DLL, (u8)div);
	outb(uart_port + UART_DLM, (u8)(div >> 8));
	outb(uart_port + UART_LCR, lcr_bits(uart));
	outb(uart_port + UART_FCR, 0xc7); /* enable and clear FIFOs */
	outb(uart_port + UART_MCR, 0x03); /* DTR, RTS */
}

static void put_byte(char c)
{
	if (uart_port) {
		for (u32 i = 0; i < UART_SPIN_LIMIT && !(inb(uart_port + UART_LSR) & LSR_THRE); i++)
			cpu_relax();
		outb(uart_port + UART_THR, (u8)c);
	}
	if (mirror_e9)
		outb(E9_PORT, (u8)c);
}

void console_lock(u32 cpu)
{
	u32 me = cpu + 1;
	while (!__atomic_compare_exchange_n(&line_lock_owner, &(u32){ LOCK_FREE }, me, false,
					    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		cpu_relax();
}

void console_unlock(void)
{
	__atomic_store_n(&line_lock_owner, LOCK_FREE, __ATOMIC_RELEASE);
}

void console_write_line(u32 cpu, const char *s)
{
	/* A fault while this CPU prints must still get its dump out. */
	bool nested = __atomic_load_n(&line_lock_owner, __ATOMIC_RELAXED) == cpu + 1;

	if (!nested)
		console_lock(cpu);
	for (; *s; s++)
		put_byte(*s);
	put_byte('\r');
	put_byte('\n');
	if (!nested)
		console_unlock();
}

void console_drain(void)
{
	if (!uart_port)
		return;
	for (u32 i = 0; i < UART_SPIN_LIMIT; i++) {
		if ((inb(uart_port + UART_LSR) & (LSR_THRE | LSR_TEMT)) == (LSR_THRE | LSR_TEMT))
			return;
		cpu_relax();
	}
}
