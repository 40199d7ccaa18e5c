/* xmhf/lib/netlog/line_ring.c: the network log's queue of console lines. */
#include "unit.h"
#include <stdio.h>
#include <line_ring.h>

static struct line_ring ring;

static int setup(void **state)
{
	(void)state;
	memset(&ring, 0, sizeof(ring));
	return 0;
}

static void assert_next(const char *want)
{
	u32 len;
	const char *s = line_ring_peek(&ring, &len);

	assert_non_null(s);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(s, want, len);
	line_ring_pop(&ring);
}

static void test_fifo_order_and_peek_keeps(void **state)
{
	u32 len;

	(void)state;
	assert_null(line_ring_peek(&ring, &len));
	assert_false(line_ring_pending(&ring));
	line_ring_put(&ring, "[0] one");
	assert_true(line_ring_pending(&ring));
	line_ring_put(&ring, "");
	line_ring_put(&ring, "[1] three");
	assert_non_null(line_ring_peek(&ring, &len));
	assert_non_null(line_ring_peek(&ring, &len)); /* peeking twice: still the first */
	assert_next("[0] one");
	assert_next("");
	assert_next("[1] three");
	assert_null(line_ring_peek(&ring, &len));
	assert_false(line_ring_pending(&ring));
	assert_int_equal(line_ring_take_lost(&ring), 0);
}

/* A full ring keeps its lines and counts the newcomers; the count resets
 * when taken; a freed slot takes the next line. */
static void test_full_ring_counts_lost_lines(void **state)
{
	char line[32];

	(void)state;
	for (u32 i = 0; i < LINE_RING_LINES + 5; i++) {
		snprintf(line, sizeof(line), "line %u", i);
		line_ring_put(&ring, line);
	}
	assert_int_equal(line_ring_take_lost(&ring), 5);
	assert_int_equal(line_ring_take_lost(&ring), 0);
	assert_next("line 0");
	line_ring_put(&ring, "late");
	assert_int_equal(line_ring_take_lost(&ring), 0);
	for (u32 i = 1; i < LINE_RING_LINES; i++) {
		snprintf(line, sizeof(line), "line %u", i);
		assert_next(line);
	}
	assert_next("late");
}

/* Indexes wrap around 2^32 without losing or repeating a line. */
static void test_index_wrap(void **state)
{
	(void)state;
	ring.head = ring.tail = 0xfffffffeu;
	line_ring_put(&ring, "a");
	line_ring_put(&ring, "b");
	line_ring_put(&ring, "c");
	assert_int_equal(ring.head, 1);
	assert_next("a");
	assert_next("b");
	assert_next("c");
}

/* A line longer than a slot is cut to LOG_LINE_MAX - 1 bytes. */
static void test_long_line_cut(void **state)
{
	char line[LOG_LINE_MAX + 10];
	u32 len;

	(void)state;
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	line_ring_put(&ring, line);
	const char *s = line_ring_peek(&ring, &len);
	assert_int_equal(len, LOG_LINE_MAX - 1);
	assert_memory_equal(s, line, len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_fifo_order_and_peek_keeps, setup),
		cmocka_unit_test_setup(test_full_ring_counts_lost_lines, setup),
		cmocka_unit_test_setup(test_index_wrap, setup),
		cmocka_unit_test_setup(test_long_line_cut, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
