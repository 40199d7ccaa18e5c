/* xmhf/lib/e820.c */
#include "unit.h"
#include <xmhf/e820.h>

static struct e820_map m;

#define RAM E820_RAM
#define RES E820_RESERVED

/* Expect exactly these {base, length, type} entries, in this order. */
static void expect_map(const struct e820_entry *want, u32 n)
{
	assert_int_equal(m.n, n);
	for (u32 i = 0; i < n; i++) {
		assert_int_equal(m.e[i].base, want[i].base);
		assert_int_equal(m.e[i].length, want[i].length);
		assert_int_equal(m.e[i].type, want[i].type);
	}
}
#define EXPECT_MAP(...)                                                      \
	do {                                                                 \
		const struct e820_entry want_[] = { __VA_ARGS__ };           \
		expect_map(want_, sizeof(want_) / sizeof(want_[0]));         \
	} while (0)

/* A typical PC: low RAM, the BIOS hole, RAM above 1 MiB, ACPI, RAM above 4G. */
static int setup_pc(void **state)
{
	(void)state;
	memset(&m, 0, sizeof(m));
	assert_true(e820_add(&m, 0, 0x9fc00, RAM));
	assert_true(e820_add(&m, 0x9fc00, 0x400, RES));
	assert_true(e820_add(&m, 0x100000, 0x7ff00000, RAM));     /* to 2 GiB */
	assert_true(e820_add(&m, 0x80000000, 0x10000, E820_ACPI));
	assert_true(e820_add(&m, 0x100000000, 0x80000000, RAM)); /* 4..6 GiB */
	return 0;
}

static void test_add_drops_zero_length_and_fills_up(void **state)
{
	(void)state;
	memset(&m, 0, sizeof(m));
	assert_true(e820_add(&m, 0x1000, 0, RAM));
	assert_int_equal(m.n, 0);
	for (u32 i = 0; i < E820_MAX; i++)
		assert_true(e820_add(&m, i * 0x1000ull, 0x1000, RAM));
	assert_false(e820_add(&m, 0x10000000, 0x1000, RAM));
	assert_int_equal(m.n, E820_MAX);
	assert_true(e820_add(&m, 0x10000000, 0, RAM));  /* nothing to add */
}

static void test_add_clamps_at_top_of_memory(void **state)
{
	(void)state;
	memset(&m, 0, sizeof(m));
	assert_true(e820_add(&m, UINT64_MAX - 0xfff, 0x2000, RES));
	assert_int_equal(m.e[0].length, 0xfff);
	assert_int_equal(e820_top(&m), UINT64_MAX);
}

static void test_top(void **state)
{
	(void)state;
	assert_int_equal(e820_top(&m), 0x180000000);
	memset(&m, 0, sizeof(m));
	assert_int_equal(e820_top(&m), 0);
	e820_add(&m, 0x5000, 0x1000, RAM);
	e820_add(&m, 0x1000, 0x1000, RES);  /* unsorted: top is not the last */
	assert_int_equal(e820_top(&m), 0x6000);
}

static void test_is_ram(void **state)
{
	(void)state;
	assert_true(e820_is_ram(&m, 0x100000, 0x1000));
	assert_true(e820_is_ram(&m, 0, 0x9fc00));
	assert_true(e820_is_ram(&m, 0x17ffff000, 0x1000));  /* last page */
	assert_false(e820_is_ram(&m, 0x17ffff000, 0x1001)); /* past the end */
	assert_false(e820_is_ram(&m, 0x9f000, 0x1000));     /* into reserved */
	assert_false(e820_is_ram(&m, 0xa0000, 0x1000));     /* a gap */
	assert_false(e820_is_ram(&m, 0x7ffff000, 0x2000));  /* into ACPI */
	assert_false(e820_is_ram(&m, 0x100000, 0));
	assert_false(e820_is_ram(&m, UINT64_MAX, 2));       /* wraps */
}

static void test_is_ram_across_adjacent_and_overlapping_entries(void **state)
{
	(void)state;
	memset(&m, 0, sizeof(m));
	e820_add(&m, 0x3000, 0x2000, RAM);
	e820_add(&m, 0x1000, 0x2000, RAM);  /* adjacent, listed out of order */
	e820_add(&m, 0x4000, 0x3000, RAM);  /* overlaps the first */
	assert_true(e820_is_ram(&m, 0x1000, 0x6000));
	assert_false(e820_is_ram(&m, 0x1000, 0x6001));
	e820_add(&m, 0x5000, 0x10, RES);    /* a non-RAM entry inside RAM wins */
	assert_false(e820_is_ram(&m, 0x1000, 0x6000));
	assert_true(e820_is_ram(&m, 0x1000, 0x4000));
}

static void test_reserve_middle_of_entry_makes_three_pieces(void **state)
{
	(void)state;
	assert_true(e820_reserve(&m, 0x10000000, 0x200000));
	EXPECT_MAP({ 0, 0x9fc00, RAM }, { 0x9fc00, 0x400, RES },
		   { 0x100000, 0x10000000 - 0x100000, RAM },
		   { 0x10000000, 0x200000, RES },
		   { 0x10200000, 0x80000000 - 0x10200000, RAM },
		   { 0x80000000, 0x10000, E820_ACPI },
		   { 0x100000000, 0x80000000, RAM });
	assert_false(e820_is_ram(&m, 0x101ff000, 0x1000));
	assert_true(e820_is_ram(&m, 0x10200000, 0x1000));
}

static void test_reserve_start_and_end_of_entry(void **state)
{
	(void)state;
	assert_true(e820_reserve(&m, 0x100000, 0x100000));          /* start */
	assert_true(e820_reserve(&m, 0x7ff00000, 0x100000));        /* end */
	EXPECT_MAP({ 0, 0x9fc00, RAM }, { 0x9fc00, 0x400, RES },
		   { 0x100000, 0x100000, RES },
		   { 0x200000, 0x7fd00000, RAM },
		   { 0x7ff00000, 0x100000, RES },
		   { 0x80000000, 0x10000, E820_ACPI },
		   { 0x100000000, 0x80000000, RAM });
}

static void test_reserve_straddling_entries_and_gaps(void **state)
{
	(void)state;
	/* from low RAM over the reserved entry and the gap into RAM above 1M */
	assert_true(e820_reserve(&m, 0x90000, 0x80000));
	EXPECT_MAP({ 0, 0x90000, RAM }, { 0x90000, 0x80000, RES },
		   { 0x110000, 0x7fef0000, RAM },
		   { 0x80000000, 0x10000, E820_ACPI },
		   { 0x100000000, 0x80000000, RAM });
}

static void test_reserve_covering_whole_entries(void **state)
{
	(void)state;
	/* covers the ACPI entry completely and both neighbours partly */
	assert_true(e820_reserve(&m, 0x7fff0000, 0x80020000));
	EXPECT_MAP({ 0, 0x9fc00, RAM }, { 0x9fc00, 0x400, RES },
		   { 0x100000, 0x7fef0000, RAM },
		   { 0x7fff0000, 0x80020000, RES },
		   { 0x100010000, 0x7fff0000, RAM });
	/* exactly one whole entry: replaced in place */
	assert_true(e820_reserve(&m, 0x100000, 0x7fef0000));
	assert_int_equal(m.n, 5);
	assert_int_equal(m.e[2].type, RES);
	assert_int_equal(m.e[2].length, 0x7fef0000);
}

static void test_reserve_last_entry_and_beyond(void **state)
{
	(void)state;
	assert_true(e820_reserve(&m, 0x17fff0000, 0x10000));
	assert_int_equal(m.n, 6);
	EXPECT_MAP({ 0, 0x9fc00, RAM }, { 0x9fc00, 0x400, RES },
		   { 0x100000, 0x7ff00000, RAM },
		   { 0x80000000, 0x10000, E820_ACPI },
		   { 0x100000000, 0x7fff0000, RAM },
		   { 0x17fff0000, 0x10000, RES });
	/* entirely above the map, and in a gap: inserted in address order */
	assert_true(e820_reserve(&m, 0x200000000, 0x1000));
	assert_true(e820_reserve(&m, 0x90000000, 0x1000));
	assert_int_equal(m.n, 8);
	assert_int_equal(m.e[4].base, 0x90000000);
	assert_int_equal(m.e[7].base, 0x200000000);
	assert_int_equal(e820_top(&m), 0x200001000);
}

static void test_reserve_unsorted_map(void **state)
{
	(void)state;
	memset(&m, 0, sizeof(m));
	e820_add(&m, 0x100000, 0x100000, RAM);  /* 1..2 MiB */
	e820_add(&m, 0, 0xa0000, RAM);
	e820_add(&m, 0x300000, 0x100000, E820_NVS);
	e820_add(&m, 0x200000, 0x100000, RAM);  /* 2..3 MiB */
	/* 1.5 .. 2.5 MiB: the reserved entry takes the place of the first
	 * overlapped entry in map order; untouched entries keep their order */
	assert_true(e820_reserve(&m, 0x180000, 0x100000));
	EXPECT_MAP({ 0x100000, 0x80000, RAM }, { 0x180000, 0x100000, RES },
		   { 0, 0xa0000, RAM }, { 0x300000, 0x100000, E820_NVS },
		   { 0x280000, 0x80000, RAM });
}

static void test_reserve_non_ram_is_split_too(void **state)
{
	(void)state;
	assert_true(e820_reserve(&m, 0x80004000, 0x1000));
	assert_int_equal(m.n, 7);
	assert_int_equal(m.e[3].type, E820_ACPI);
	assert_int_equal(m.e[3].length, 0x4000);
	assert_int_equal(m.e[4].type, RES);
	assert_int_equal(m.e[5].type, E820_ACPI);
	assert_int_equal(m.e[5].base, 0x80005000);
}

static void test_reserve_zero_size_and_wrap(void **state)
{
	struct e820_map before = m;

	(void)state;
	assert_true(e820_reserve(&m, 0x100000, 0));
	assert_memory_equal(&m, &before, sizeof(m));
	assert_false(e820_reserve(&m, UINT64_MAX - 10, 20));
	assert_memory_equal(&m, &before, sizeof(m));
}

static void test_reserve_overflow_leaves_map_unchanged(void **state)
{
	struct e820_map before;

	(void)state;
	memset(&m, 0, sizeof(m));
	for (u32 i = 0; i < E820_MAX - 1; i++)
		e820_add(&m, i * 0x10000ull, 0x10000, RAM);
	before = m;
	/* needs 2 more entries (split + reserved) with only 1 free */
	assert_false(e820_reserve(&m, 0x8000, 0x1000));
	assert_memory_equal(&m, &before, sizeof(m));
	/* start of an entry: 1 more entry fits exactly */
	assert_true(e820_reserve(&m, 0x10000, 0x1000));
	assert_int_equal(m.n, E820_MAX);
	/* full, but replacing whole entries needs no more room */
	assert_true(e820_reserve(&m, 0x30000, 0x20000));
	assert_int_equal(m.n, E820_MAX - 1);
	assert_int_equal(m.e[E820_MAX - 2].base, (E820_MAX - 2) * 0x10000ull);
}

#define PC_TEST(t) cmocka_unit_test_setup(t, setup_pc)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_drops_zero_length_and_fills_up),
		cmocka_unit_test(test_add_clamps_at_top_of_memory),
		PC_TEST(test_top),
		PC_TEST(test_is_ram),
		cmocka_unit_test(test_is_ram_across_adjacent_and_overlapping_entries),
		PC_TEST(test_reserve_middle_of_entry_makes_three_pieces),
		PC_TEST(test_reserve_start_and_end_of_entry),
		PC_TEST(test_reserve_straddling_entries_and_gaps),
		PC_TEST(test_reserve_covering_whole_entries),
		PC_TEST(test_reserve_last_entry_and_beyond),
		cmocka_unit_test(test_reserve_unsorted_map),
		PC_TEST(test_reserve_non_ram_is_split_too),
		PC_TEST(test_reserve_zero_size_and_wrap),
		cmocka_unit_test(test_reserve_overflow_leaves_map_unchanged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
