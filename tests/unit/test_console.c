/* xmhf/lib/console.c: lines to a 16550 UART (here a fake one behind the
 * port I/O functions) never wait long: a byte waits for THRE a bounded
 * number of polls; a stalled UART (the guest may own it) drops lines at
 * one poll each and counts them; the count is reported when it works
 * again. Port 0xE9 gets every line regardless. */
#include "unit.h"
#include <xmhf/console.h>
#include <xmhf/cpu.h>

#define COM1 0x3f8
#define LSR (COM1 + 5)
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define E9 0xe9

static bool uart_ready;
static u32 lsr_polls;
static char uart_out[4096], e9_out[4096];
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
	return 0;
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_lines_stall_and_recover, setup),
		cmocka_unit_test_setup(test_wait_scales_with_baud, setup),
		cmocka_unit_test_setup(test_lock_reentrant, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
