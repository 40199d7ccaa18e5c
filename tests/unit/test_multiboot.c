/* xmhf/lib/multiboot.c: GRUB memory map -> E820 map. */
#include "unit.h"
#include <xmhf/multiboot.h>

static u8 buf[64 * 24];
static u32 buf_len;
static struct e820_map m;

static int reset(void **state)
{
	(void)state;
	memset(buf, 0, sizeof(buf));
	buf_len = 0;
	memset(&m, 0xa5, sizeof(m));
	return 0;
}

/* Append a record whose size field is 'size' (20 for a standard record);
 * the record's bytes beyond addr, len and type are zero. */
static void put_record(u32 size, u64 addr, u64 len, u32 type)
{
	struct multiboot_mmap_entry r = { size, addr, len, type };
	u32 copy = size + 4 < sizeof(r) ? size + 4 : sizeof(r);

	memcpy(buf + buf_len, &r, copy);
	buf_len += 4 + size;
}

/* The map through an exactly sized heap copy, so ASan sees any overread. */
static bool convert(u32 len)
{
	u8 *copy = exact_copy(buf, len);
	bool ok = multiboot_mmap_to_e820(copy, len, &m);
	free(copy);
	return ok;
}

static void test_standard_records(void **state)
{
	(void)state;
	put_record(20, 0, 0x9fc00, 1);
	put_record(20, 0x9fc00, 0x400, 2);
	put_record(20, 0x100000, 0xbff00000, 1);
	put_record(20, 0x100000000, 0x40000000, 1);
	assert_true(convert(buf_len));
	assert_int_equal(m.n, 4);
	assert_int_equal(m.e[1].base, 0x9fc00);
	assert_int_equal(m.e[1].type, E820_RESERVED);
	assert_int_equal(m.e[3].base, 0x100000000);
	assert_int_equal(m.e[3].length, 0x40000000);
	assert_int_equal(e820_top(&m), 0x140000000);
}

static void test_larger_records_are_walked_by_size(void **state)
{
	(void)state;
	put_record(24, 0, 0x1000, 1);  /* ACPI 3.0 extended attributes */
	put_record(20, 0x1000, 0x1000, 3);
	assert_true(convert(buf_len));
	assert_int_equal(m.n, 2);
	assert_int_equal(m.e[1].base, 0x1000);
	assert_int_equal(m.e[1].type, E820_ACPI);
}

static void test_zero_length_records_dropped(void **state)
{
	(void)state;
	put_record(20, 0x1000, 0, 1);
	put_record(20, 0x2000, 0x1000, 1);
	assert_true(convert(buf_len));
	assert_int_equal(m.n, 1);
	assert_int_equal(m.e[0].base, 0x2000);

	reset(NULL);
	put_record(20, 0x1000, 0, 1);
	assert_false(convert(buf_len));  /* nothing left: empty */
	assert_int_equal(m.n, 0);
}

static void test_truncated_record_ends_the_walk(void **state)
{
	(void)state;
	put_record(20, 0, 0x1000, 1);
	put_record(20, 0x1000, 0x1000, 1);
	for (u32 cut = 1; cut < 24; cut++) {
		assert_true(convert(buf_len - cut));
		assert_int_equal(m.n, 1);
	}
	for (u32 len = 0; len < 24; len++)
		assert_false(convert(len));
}

static void test_zero_size_record_ends_the_walk(void **state)
{
	(void)state;
	put_record(20, 0, 0x1000, 1);
	put_record(0, 0, 0, 0);
	put_record(20, 0x1000, 0x1000, 1);
	assert_true(convert(buf_len));
	assert_int_equal(m.n, 1);
}

static void test_too_small_record_is_malformed(void **state)
{
	(void)state;
	put_record(20, 0, 0x1000, 1);
	put_record(12, 0x1000, 0x1000, 1);  /* no room for the type */
	assert_false(convert(buf_len));
}

static void test_empty_and_overflowing_maps(void **state)
{
	(void)state;
	assert_false(convert(0));

	u32 n = E820_MAX + 1;
	u8 *big = calloc(n, 24);

	for (u32 i = 0; i < n; i++) {
		struct multiboot_mmap_entry r = { 20, i * 0x1000ull, 0x1000, 1 };

		memcpy(big + i * 24, &r, 24);
	}
	assert_true(multiboot_mmap_to_e820(big, E820_MAX * 24, &m));
	assert_int_equal(m.n, E820_MAX);
	assert_false(multiboot_mmap_to_e820(big, n * 24, &m));
	free(big);
}

static void test_survives_garbage(void **state)
{
	(void)state;
	srand(2);
	for (int round = 0; round < 5000; round++) {
		u32 len = (u32)rand() % sizeof(buf);

		for (u32 i = 0; i < len; i++)
			buf[i] = (u8)rand();
		/* make small size fields likely */
		for (u32 i = 0; i + 4 <= len; i += 24)
			if (rand() % 2)
				buf[i + 1] = buf[i + 2] = buf[i + 3] = 0;
		if (convert(len))
			assert_true(m.n > 0 && m.n <= E820_MAX);
	}
}

#define T(t) cmocka_unit_test_setup(t, reset)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_standard_records),
		T(test_larger_records_are_walked_by_size),
		T(test_zero_length_records_dropped),
		T(test_truncated_record_ends_the_walk),
		T(test_zero_size_record_ends_the_walk),
		T(test_too_small_record_is_malformed),
		T(test_empty_and_overflowing_maps),
		T(test_survives_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
