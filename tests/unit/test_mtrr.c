/* xmhf/lib/mtrr.c: memory types from the MTRRs (SDM Vol. 3 12.11). */
#include "unit.h"
#include <xmhf/mtrr.h>

enum { UC = 0, WC = 1, WT = 4, WP = 5, WB = 6 };
#define PHYS_MASK ((1ull << 36) - 1)
#define VCNT 8

static struct mtrr_state m;

static int setup(void **state)
{
	(void)state;
	memset(&m, 0, sizeof(m));
	m.cap = MTRR_CAP_FIX | VCNT;
	m.def_type = MTRR_DEF_E | MTRR_DEF_FE | WB;
	m.phys_addr_mask = PHYS_MASK;
	return 0;
}

/* Variable range i: [base, base + size), size a power of two. */
static void var(u32 i, u64 base, u64 size, u8 type)
{
	m.var_base[i] = base | type;
	m.var_mask[i] = (~(size - 1) & PHYS_MASK & ~0xfffull) | MTRR_PHYSMASK_VALID;
}

/* The 88 fixed ranges: MSR index, first byte, size (12.11.2.2). */
static void fixed_range(u32 k, u32 *reg, u64 *base, u64 *size)
{
	*reg = k / 8;
	u32 byte = k % 8;
	if (*reg == 0)
		*size = 0x10000, *base = byte * *size;
	else if (*reg <= 2)
		*size = 0x4000, *base = 0x80000 + (*reg - 1) * 0x20000 + byte * *size;
	else
		*size = 0x1000, *base = 0xc0000 + (*reg - 3) * 0x8000 + byte * *size;
}

static const u8 types[] = { UC, WC, WT, WP, WB };

static void test_fixed_ranges_byte_granularity(void **state)
{
	(void)state;
	u32 reg;
	u64 base, size;
	for (u32 k = 0; k < 88; k++) {
		fixed_range(k, &reg, &base, &size);
		m.fixed[reg] |= (u64)types[k % 5] << (8 * (k % 8));
	}
	var(0, 0, 0x100000, UC); /* must not matter below 1 MiB */
	for (u32 k = 0; k < 88; k++) {
		fixed_range(k, &reg, &base, &size);
		assert_int_equal(mtrr_range_type(&m, base, size), types[k % 5]);
		assert_int_equal(mtrr_range_type(&m, base + size - 0x1000, 0x1000), types[k % 5]);
		if (k + 1 < 88) /* neighbours differ: a range over both is mixed */
			assert_int_equal(mtrr_range_type(&m, base, 2 * size), MTRR_MIXED);
	}
	assert_int_equal(mtrr_range_type(&m, 0, 0x200000), MTRR_MIXED); /* across 1 MiB */
}

static void test_fixed_ranges_off_use_variable_and_default(void **state)
{
	(void)state;
	memset(m.fixed, 0, sizeof(m.fixed)); /* all UC, if they applied */
	m.def_type &= ~MTRR_DEF_FE;
	assert_int_equal(mtrr_range_type(&m, 0xc0000, 0x1000), WB);
	m.def_type |= MTRR_DEF_FE;
	m.cap &= ~MTRR_CAP_FIX; /* no fixed ranges on this CPU */
	assert_int_equal(mtrr_range_type(&m, 0xc0000, 0x1000), WB);
	m.cap |= MTRR_CAP_FIX;
	assert_int_equal(mtrr_range_type(&m, 0xc0000, 0x1000), UC);
}

static void test_variable_ranges_and_default(void **state)
{
	(void)state;
	m.def_type = MTRR_DEF_E | UC;
	var(0, 0, 0x80000000, WB);          /* 0 .. 2 GiB WB */
	var(1, 0x70000000, 0x10000000, UC); /* 1.75 .. 2 GiB UC */
	var(2, 0x100000000, 0x40000000, WT);
	var(3, 0x100000000, 0x100000000, WB); /* WT over WB: WT */
	var(4, 0x60000000, 0x1000000, WP);    /* WB+WP: undefined, UC */
	assert_int_equal(mtrr_range_type(&m, 0x100000, 0x1000), WB);
	assert_int_equal(mtrr_range_type(&m, 0x6fe00000, 0x200000), WB);
	assert_int_equal(mtrr_range_type(&m, 0x70000000, 0x200000), UC);
	assert_int_equal(mtrr_range_type(&m, 0x7ffff000, 0x1000), UC);
	assert_int_equal(mtrr_range_type(&m, 0x80000000, 0x40000000), UC); /* default */
	assert_int_equal(mtrr_range_type(&m, 0x100000000, 0x40000000), WT);
	assert_int_equal(mtrr_range_type(&m, 0x140000000, 0x40000000), WB);
	assert_int_equal(mtrr_range_type(&m, 0x60000000, 0x1000), UC);
	m.def_type = MTRR_DEF_E | WB;
	assert_int_equal(mtrr_range_type(&m, 0x80000000, 0x40000000), WB);
	/* an entry without V, or beyond VCNT, does not count */
	var(5, 0x80000000, 0x40000000, UC);
	m.var_mask[5] &= ~MTRR_PHYSMASK_VALID;
	var(VCNT, 0x80000000, 0x40000000, UC);
	assert_int_equal(mtrr_range_type(&m, 0x80000000, 0x40000000), WB);
}

static void test_partial_overlaps_are_mixed(void **state)
{
	(void)state;
	var(0, 0x12345000, 0x1000, UC);    /* one 4 KiB page */
	var(1, 0x40200000, 0x200000, WT);  /* one 2 MiB page */
	assert_int_equal(mtrr_range_type(&m, 0x12345000, 0x1000), UC);
	assert_int_equal(mtrr_range_type(&m, 0x12344000, 0x1000), WB);
	assert_int_equal(mtrr_range_type(&m, 0x12346000, 0x1000), WB);
	assert_int_equal(mtrr_range_type(&m, 0x12200000, 0x200000), MTRR_MIXED);
	assert_int_equal(mtrr_range_type(&m, 0x12400000, 0x200000), WB);
	assert_int_equal(mtrr_range_type(&m, 0x0, 0x40000000), MTRR_MIXED);
	assert_int_equal(mtrr_range_type(&m, 0x40200000, 0x200000), WT);
	assert_int_equal(mtrr_range_type(&m, 0x40000000, 0x200000), WB);
	assert_int_equal(mtrr_range_type(&m, 0x40000000, 0x40000000), MTRR_MIXED);
	assert_int_equal(mtrr_range_type(&m, 0x80000000, 0x40000000), WB);
	/* a mask that ignores address bits: every 4 GiB (aliasing) */
	m.var_base[2] = 0x0 | UC;
	m.var_mask[2] = 0xc0000000ull | MTRR_PHYSMASK_VALID;
	assert_int_equal(mtrr_range_type(&m, 0x100000000, 0x40000000), UC);
	assert_int_equal(mtrr_range_type(&m, 0x140000000, 0x40000000), WB);
}

static void test_disabled_is_uc(void **state)
{
	(void)state;
	var(0, 0, 0x100000000, WB);
	m.fixed[0] = 0x0606060606060606ull;
	m.def_type = MTRR_DEF_FE | WB; /* E = 0 */
	assert_int_equal(mtrr_range_type(&m, 0, 0x1000), UC);
	assert_int_equal(mtrr_range_type(&m, 0x40000000, 0x40000000), UC);
	m.def_type |= MTRR_DEF_E;
	assert_int_equal(mtrr_range_type(&m, 0, 0x1000), WB);
}

/* One type for a region that is not uniform: the strictest of its types
 * (UC wins, WT over WB, two other types give UC); every byte's own type
 * is never stricter. Exhaustive over 4 KiB pages of 16 MiB regions. */
static void check_merged_not_weaker(u64 base, u64 size)
{
	u8 merged = mtrr_range_type_merged(&m, base, size);
	for (u64 a = base; a < base + size; a += 0x1000) {
		u8 t = mtrr_range_type(&m, a, 0x1000);
		assert_true(t == merged || merged == UC || (merged == WT && t == WB));
	}
}

static void test_merged_types(void **state)
{
	(void)state;
	/* non-contiguous mask: address bit 12 only, every other page UC */
	m.var_base[0] = 0 | UC;
	m.var_mask[0] = 0x1000 | MTRR_PHYSMASK_VALID;
	assert_int_equal(mtrr_range_type(&m, 0x200000, 0x200000), MTRR_MIXED);
	assert_int_equal(mtrr_range_type(&m, 0x200000, 0x1000), UC);
	assert_int_equal(mtrr_range_type(&m, 0x201000, 0x1000), WB);
	assert_int_equal(mtrr_range_type_merged(&m, 0x200000, 0x200000), UC);
	assert_int_equal(mtrr_range_type_merged(&m, 0x40000000, 0x40000000), UC);
	check_merged_not_weaker(0x1000000, 0x1000000);
	/* WT on even pages over WB: WT */
	m.var_base[0] = 0 | WT;
	assert_int_equal(mtrr_range_type_merged(&m, 0x200000, 0x200000), WT);
	check_merged_not_weaker(0x1000000, 0x1000000);
	/* WC with a WB default: UC */
	m.var_base[0] = 0 | WC;
	assert_int_equal(mtrr_range_type_merged(&m, 0x200000, 0x200000), UC);
	/* a range covering every byte: the default never applies */
	m.def_type = MTRR_DEF_E | UC;
	var(1, 0, 0x100000000ull, WB);
	m.var_base[0] = 0 | WT;
	assert_int_equal(mtrr_range_type_merged(&m, 0x200000, 0x200000), WT);
	check_merged_not_weaker(0x1000000, 0x1000000);
	/* a range that matches nothing in the region does not count */
	var(2, 0x200000000ull, 0x1000, UC);
	assert_int_equal(mtrr_range_type_merged(&m, 0x200000, 0x200000), WT);
	/* a uniform region: its type */
	m.var_mask[0] = 0;
	assert_int_equal(mtrr_range_type_merged(&m, 0x200000, 0x200000), WB);
	/* MTRRs disabled: UC */
	m.def_type = WB;
	assert_int_equal(mtrr_range_type_merged(&m, 0x200000, 0x200000), UC);
}

static void test_msr_mapping(void **state)
{
	(void)state;
	bool w;
	assert_ptr_equal(mtrr_msr(&m, MSR_MTRRCAP, &w), &m.cap);
	assert_false(w);
	assert_ptr_equal(mtrr_msr(&m, MSR_MTRR_DEF_TYPE, &w), &m.def_type);
	assert_true(w);
	assert_ptr_equal(mtrr_msr(&m, 0x250, &w), &m.fixed[0]);
	assert_ptr_equal(mtrr_msr(&m, 0x258, &w), &m.fixed[1]);
	assert_ptr_equal(mtrr_msr(&m, 0x259, &w), &m.fixed[2]);
	for (u32 i = 0; i < 8; i++) {
		assert_ptr_equal(mtrr_msr(&m, 0x268 + i, &w), &m.fixed[3 + i]);
		assert_true(w);
	}
	for (u32 i = 0; i < VCNT; i++) {
		assert_ptr_equal(mtrr_msr(&m, 0x200 + 2 * i, &w), &m.var_base[i]);
		assert_true(w);
		assert_ptr_equal(mtrr_msr(&m, 0x201 + 2 * i, &w), &m.var_mask[i]);
	}
	const u32 not_mtrr[] = { 0x200 + 2 * VCNT, 0x201 + 2 * VCNT, 0x1ff, 0x24f, 0x251, 0x257, 0x25a,
				 0x267, 0x270, 0x277, 0x2fe, 0x300 };
	for (u32 i = 0; i < ARRAY_SIZE(not_mtrr); i++)
		assert_null(mtrr_msr(&m, not_mtrr[i], &w));
}

static void test_value_valid(void **state)
{
	(void)state;
	/* IA32_MTRR_DEF_TYPE: type in 7:0, FE bit 10, E bit 11, rest reserved */
	assert_true(mtrr_value_valid(&m, MSR_MTRR_DEF_TYPE, 0xc06));
	assert_true(mtrr_value_valid(&m, MSR_MTRR_DEF_TYPE, 0));
	assert_false(mtrr_value_valid(&m, MSR_MTRR_DEF_TYPE, 0xc02));
	assert_false(mtrr_value_valid(&m, MSR_MTRR_DEF_TYPE, 0xc03));
	assert_false(mtrr_value_valid(&m, MSR_MTRR_DEF_TYPE, 0xc07));
	assert_false(mtrr_value_valid(&m, MSR_MTRR_DEF_TYPE, 0xc08));
	assert_false(mtrr_value_valid(&m, MSR_MTRR_DEF_TYPE, 0x100 | WB));
	assert_false(mtrr_value_valid(&m, MSR_MTRR_DEF_TYPE, BIT(12) | WB));
	/* PHYSBASE: type 7:0, 11:8 reserved, address up to MAXPHYADDR */
	assert_true(mtrr_value_valid(&m, 0x200, 0xfffff000ull | WB));
	assert_true(mtrr_value_valid(&m, 0x202, 0xffffff000ull | WT));
	assert_false(mtrr_value_valid(&m, 0x200, 0x1000ull | 2));
	assert_false(mtrr_value_valid(&m, 0x200, 0x1000ull | 3));
	assert_false(mtrr_value_valid(&m, 0x200, 0x1000ull | 7));
	assert_false(mtrr_value_valid(&m, 0x200, 0x100 | WB));
	assert_false(mtrr_value_valid(&m, 0x200, (1ull << 36) | WB));
	/* PHYSMASK: V bit 11, 10:0 reserved */
	assert_true(mtrr_value_valid(&m, 0x201, 0xff0000000ull | MTRR_PHYSMASK_VALID));
	assert_false(mtrr_value_valid(&m, 0x201, 0xff0000000ull | 1));
	assert_false(mtrr_value_valid(&m, 0x201, (1ull << 40) | MTRR_PHYSMASK_VALID));
	/* fixed: every byte a valid type */
	assert_true(mtrr_value_valid(&m, 0x250, 0x0605040100060504ull));
	for (u32 b = 0; b < 8; b++) {
		assert_false(mtrr_value_valid(&m, 0x268, 0x0606060606060606ull ^ (0x04ull << (8 * b)))); /* 2 */
		assert_false(mtrr_value_valid(&m, 0x26f, 0x0606060606060606ull | (0x01ull << (8 * b)))); /* 7 */
		assert_false(mtrr_value_valid(&m, 0x258, 0x0606060606060606ull ^ (0x05ull << (8 * b)))); /* 3 */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_fixed_ranges_byte_granularity, setup),
		cmocka_unit_test_setup(test_fixed_ranges_off_use_variable_and_default, setup),
		cmocka_unit_test_setup(test_variable_ranges_and_default, setup),
		cmocka_unit_test_setup(test_partial_overlaps_are_mixed, setup),
		cmocka_unit_test_setup(test_disabled_is_uc, setup),
		cmocka_unit_test_setup(test_merged_types, setup),
		cmocka_unit_test_setup(test_msr_mapping, setup),
		cmocka_unit_test_setup(test_value_valid, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
