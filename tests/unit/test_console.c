/* xmhf/lib/console.c: lines to a 16550 UART (here a fake one behind the
 * port I/O functions) never wait long: a byte waits for THRE a bounded
 * number of polls; a stalled UART (the guest may own it) drops lines at
 * one poll each and counts them; the count is reported when it works
 * again. Port 0xE9 gets every line regardless. The guest's bytes to the
 * same UART (console_guest_write) and the hypervisor's lines never split
 * each other: the hypervisor's wait for the guest's open line, a bounded
 * time and space. */
#include "unit.h"
#include <xmhf/console.h>
#include <xmhf/cpu.h>

#define COM1 0x3f8
#define LCR (COM1 + 3)
#define MCR (COM1 + 4)
#define LSR (COM1 + 5)
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define E9 0xe9

#define GUEST_HOLD_MAX 100000000ull /* console.c */

static bool uart_ready;
static u8 lcr = 0x03, mcr = 0x03;
static u32 lsr_polls;
static u64 tsc;

u64 rdtsc(void) { return tsc; }
static char uart_out[16384], e9_out[16384];
static size_t n_uart, n_e9;

void outb(u16 port, u8 v)
{
	if (port == COM1 && n_uart + 1 < sizeof(uart_out))
		uart_out[n_uart++] = (char)v;
	else if (port == E9 && n_e9 + 1 < sizeof(e9_out))
		e9_out[n_e9++] = (char)v;
}

u8 inb(u16 port)
{
	if (port == LCR)
		return lcr;
	if (port == MCR)
		return mcr;
	assert_int_equal(port, LSR);
	lsr_polls++;
	return uart_ready ? LSR_THRE | LSR_TEMT : 0;
}

static int setup(void **state)
{
	(void)state;
	console_init(&(struct uart_config){ .baud = 115200, .data_bits = 8, .parity = 'n', .stop_bits = 1, .port = COM1 },
		     true);
	uart_ready = true;
	memset(uart_out, 0, sizeof(uart_out));
	memset(e9_out, 0, sizeof(e9_out));
	n_uart = n_e9 = 0;
	lsr_polls = 0;
	lcr = 0x03;
	mcr = 0x03;
	return 0;
}

static void guest_writes(u32 cpu, const char *s)
{
	for (; *s; s++)
		console_guest_write(cpu, (u8)*s);
}

static void test_lines_stall_and_recover(void **state)
{
	(void)state;
	console_write_line(0, "one");
	assert_string_equal(uart_out, "one\r\n");

	/* the UART stops taking bytes: the first line waits a bounded time */
	uart_ready = false;
	lsr_polls = 0;
	console_write_line(1, "two");
	assert_in_range(lsr_polls, 1000, 100000); /* 20000 at divisor 1 */
	/* then each line costs one poll and is dropped */
	for (u32 i = 0; i < 5; i++) {
		lsr_polls = 0;
		console_write_line(1, "dropped");
		assert_int_equal(lsr_polls, 1);
	}
	console_drain(); /* no waiting on a stalled UART either */
	assert_int_equal(lsr_polls, 1);
	assert_string_equal(uart_out, "one\r\n");

	uart_ready = true;
	console_write_line(2, "three");
	assert_string_equal(uart_out, "one\r\n\r\n[2] xmhf: console: 6 lines dropped\r\nthree\r\n");
	console_write_line(2, "four");
	assert_string_equal(uart_out + strlen(uart_out) - 6, "four\r\n");
	/* port 0xE9 lost nothing */
	assert_string_equal(e9_out, "one\r\ntwo\r\ndropped\r\ndropped\r\ndropped\r\ndropped\r\ndropped\r\nthree\r\nfour\r\n");
}

/* The wait scales with the byte time: 96 times longer at 1200 baud. */
static void test_wait_scales_with_baud(void **state)
{
	(void)state;
	uart_ready = false;
	console_write_line(0, "x");
	u32 fast = lsr_polls;
	console_init(&(struct uart_config){ .baud = 1200, .data_bits = 8, .parity = 'n', .stop_bits = 1, .port = COM1 },
		     false);
	uart_ready = true;
	console_write_line(0, "y"); /* the stall ends */
	uart_ready = false;
	lsr_polls = 0;
	console_write_line(0, "z");
	assert_int_equal(lsr_polls, 96 * fast);
	uart_ready = true;
	console_write_line(0, "flowing again"); /* for the next test */
}

/* The line lock is re-entrant for its owner (halt_all_cpus after a fault
 * while printing takes it again). */
static void test_lock_reentrant(void **state)
{
	(void)state;
	console_lock(3);
	console_lock(3);
	console_write_line(3, "nested");
	console_unlock();
	assert_string_equal(uart_out, "nested\r\n");
}

/* A guest line in two parts around two hypervisor lines: they go out
 * after its LF, whole, in order; the guest's bytes never wait for THRE
 * after its own (it polls LSR itself), once after a hypervisor byte. */
static void test_hypervisor_lines_wait_for_guest_line(void **state)
{
	(void)state;
	assert_int_equal(console_uart_port(), COM1);
	guest_writes(0, "G");
	lsr_polls = 0;
	guest_writes(0, "UEST-RC: ");
	assert_int_equal(lsr_polls, 0);
	console_write_line(1, "[1] evlog: a: 1");
	console_write_line(0, "[0] evlog: b: 2");
	assert_string_equal(uart_out, "GUEST-RC: ");
	assert_string_equal(e9_out, "[1] evlog: a: 1\r\n[0] evlog: b: 2\r\n"); /* at once */
	guest_writes(1, "rc=0\r\n");
	assert_string_equal(uart_out, "GUEST-RC: rc=0\r\n[1] evlog: a: 1\r\n[0] evlog: b: 2\r\n");
	lsr_polls = 0;
	guest_writes(0, "$");
	assert_int_equal(lsr_polls, 1);
	console_write_line(0, "held");
	guest_writes(0, "\n");
	console_write_line(0, "at once");
	assert_string_equal(uart_out + strlen("GUEST-RC: rc=0\r\n[1] evlog: a: 1\r\n[0] evlog: b: 2\r\n"),
			    "$\nheld\r\nat once\r\n");
}

/* A guest line left open (a shell prompt) holds the hypervisor's lines
 * GUEST_HOLD_MAX TSC ticks at most: the next line or guest byte after
 * that breaks it with CR LF; console_drain (halt, power-off) at once. */
static void test_open_guest_line_broken_when_overdue(void **state)
{
	(void)state;
	guest_writes(0, "~ # ");
	console_write_line(0, "one");
	tsc += GUEST_HOLD_MAX - 1;
	console_write_line(0, "two");
	assert_string_equal(uart_out, "~ # ");
	tsc += 1;
	console_write_line(0, "three");
	assert_string_equal(uart_out, "~ # \r\none\r\ntwo\r\nthree\r\n");
	guest_writes(0, "ls"); /* a new open line */
	console_write_line(0, "four");
	tsc += GUEST_HOLD_MAX;
	guest_writes(0, "\r");
	assert_string_equal(uart_out, "~ # \r\none\r\ntwo\r\nthree\r\nls\r\nfour\r\n\r");
	console_write_line(0, "five");
	console_drain();
	assert_string_equal(uart_out, "~ # \r\none\r\ntwo\r\nthree\r\nls\r\nfour\r\n\r\r\nfive\r\n");
	console_write_line(0, "six"); /* the guest's line is closed */
	assert_string_equal(uart_out + strlen(uart_out) - 5, "six\r\n");
}

/* Waiting lines have a bounded buffer: the line that does not fit breaks
 * the guest's line and goes out after the others. */
static void test_pending_full_breaks_guest_line(void **state)
{
	(void)state;
	char line[200];
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = 0;
	guest_writes(0, "open");
	u32 queued = 0;
	for (; queued < 100 && !strstr(uart_out, "\r\n"); queued++)
		console_write_line(0, line);
	assert_in_range(queued, 8192 / 200, 8192 / 200 + 1);
	assert_int_equal(strncmp(uart_out, "open\r\nxxx", 9), 0);
	assert_int_equal(n_uart, 6 + queued * (sizeof(line) + 1));
	guest_writes(0, "\n");
}

/* With LCR.DLAB set a byte is the divisor's low byte, with MCR.LOOP it
 * comes back as input: the guest's bytes then are no text (LF ends no
 * line) and the hypervisor's lines wait; the guest's first byte after
 * lets them out before it. */
static void test_divisor_and_loopback_hold_lines(void **state)
{
	(void)state;
	lcr = LCR_DLAB | 0x03;
	console_guest_write(0, 0x01);
	console_write_line(0, "one");
	lcr = 0x03;
	mcr = MCR_LOOP | 0x03;
	guest_writes(0, "\n");
	console_write_line(0, "two");
	assert_memory_equal(uart_out, "\x01\n", 3);
	mcr = 0x03;
	guest_writes(0, "x\n");
	assert_string_equal(uart_out + 2, "one\r\ntwo\r\nx\n");
	lcr = LCR_DLAB | 0x03;
	console_write_line(0, "three");
	lcr = 0x03;
	console_write_line(0, "four"); /* the UART takes text again */
	assert_string_equal(uart_out + 2, "one\r\ntwo\r\nx\nthree\r\nfour\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_lines_stall_and_recover, setup),
		cmocka_unit_test_setup(test_wait_scales_with_baud, setup),
		cmocka_unit_test_setup(test_lock_reentrant, setup),
		cmocka_unit_test_setup(test_hypervisor_lines_wait_for_guest_line, setup),
		cmocka_unit_test_setup(test_open_guest_line_broken_when_overdue, setup),
		cmocka_unit_test_setup(test_pending_full_breaks_guest_line, setup),
		cmocka_unit_test_setup(test_divisor_and_loopback_hold_lines, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
