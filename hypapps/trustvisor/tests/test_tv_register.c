/* tv_register.c: TV_HC_REG's structures validated, each bad input its own error. */
#include "tv_fake_mem.h"
#include "tv_register.h"

#define BASE 0x400000ull
#define PG 0x1000ull

static struct tv_pal_sections secs;
static struct tv_pal_params params;
static struct tv_pal_layout l;

static void add_section(u32 type, u32 pages, u64 start)
{
	secs.sections[secs.count++] = (struct tv_pal_section){ .type = type, .pages = pages, .start = start };
}

static void add_param(u32 type, u64 size)
{
	params.params[params.count++] = (struct tv_pal_param){ .type = type, .size = size };
}

/* pal_demo's layout: CODE 2 pages, DATA, STACK, PARAM 1 page each, contiguous. */
static int setup(void **state)
{
	(void)state;
	memset(&secs, 0, sizeof(secs));
	memset(&params, 0, sizeof(params));
	add_section(TV_PAL_SECTION_CODE, 2, BASE);
	add_section(TV_PAL_SECTION_DATA, 1, BASE + 2 * PG);
	add_section(TV_PAL_SECTION_STACK, 1, BASE + 3 * PG);
	add_section(TV_PAL_SECTION_PARAM, 1, BASE + 4 * PG);
	return 0;
}

static enum tv_error validate64(void) { return tv_validate(&secs, &params, gva(BASE + 0x123), true, &l); }
static enum tv_error validate32(void) { return tv_validate(&secs, &params, gva(BASE + 0x123), false, &l); }

static void test_good_layout(void **state)
{
	(void)state;
	for (int i = 0; i < 5; i++)
		add_param(TV_PAL_PM_INTEGER, 99); /* an INTEGER's size is ignored */
	for (int i = 0; i < 5; i++)
		add_param(TV_PAL_PM_POINTER, 3);
	assert_int_equal(validate64(), TV_OK);
	assert_true(l.caller64);
	assert_int_equal(l.entry.v, BASE + 0x123);
	assert_int_equal(l.n_sections, 4);
	assert_int_equal(l.pages, 5);
	assert_int_equal(l.param_sec, 3);
	assert_int_equal(l.stack_sec, 2);
	assert_int_equal(l.sections[1].start.v, BASE + 2 * PG);
	assert_int_equal(l.n_params, 10);
	assert_int_equal(l.params[0].bytes, 0);
	assert_int_equal(l.params[9].bytes, 24); /* words x 8 */
	assert_int_equal(l.area_bytes, 8 + 10 * 24 + 5 * 24);
	assert_int_equal(validate32(), TV_OK);
	assert_int_equal(l.params[9].bytes, 12); /* words x 4 */
	assert_int_equal(l.area_bytes, 8 + 10 * 24 + 5 * 12);
}

static void test_section_count(void **state)
{
	(void)state;
	secs.count = 0;
	assert_int_equal(validate64(), TV_ERR_SECTION_COUNT);
	secs.count = TV_MAX_SECTIONS + 1;
	assert_int_equal(validate64(), TV_ERR_SECTION_COUNT);
	secs.count = 0xffffffffu;
	assert_int_equal(validate64(), TV_ERR_SECTION_COUNT);
	secs.count = 4; /* ten sections: the maximum */
	for (u64 i = 0; i < 6; i++)
		add_section(TV_PAL_SECTION_SHARED_CODE, 1, BASE + (5 + i) * PG);
	assert_int_equal(validate64(), TV_OK);
}

static void test_section_fields(void **state)
{
	(void)state;
	static const struct { u32 type, pages; u64 start; enum tv_error e; bool c64; } bad[] = {
		{ 0, 1, BASE + 9 * PG, TV_ERR_SECTION_TYPE, true },
		{ 6, 1, BASE + 9 * PG, TV_ERR_SECTION_TYPE, true }, /* XMHF64's internal SHARED */
		{ 7, 1, BASE + 9 * PG, TV_ERR_SECTION_TYPE, true }, /* and GUEST_PAGE_TABLES */
		{ TV_PAL_SECTION_DATA, 0, BASE + 9 * PG, TV_ERR_SECTION_EMPTY, true },
		{ TV_PAL_SECTION_DATA, 1, BASE + 9 * PG + 8, TV_ERR_SECTION_UNALIGNED, true },
		{ TV_PAL_SECTION_DATA, 1, 0x800, TV_ERR_SECTION_UNALIGNED, true },
		{ TV_PAL_SECTION_DATA, 1, 0, TV_ERR_SECTION_SENTINEL, true },
		{ TV_PAL_SECTION_DATA, 1, 0, TV_ERR_SECTION_SENTINEL, false },
		/* page arithmetic: wraps, crosses the canonical hole or 4 GiB */
		{ TV_PAL_SECTION_DATA, 0xffffffffu, 0xfffffffffffff000ull, TV_ERR_SECTION_RANGE, true },
		{ TV_PAL_SECTION_DATA, 1, 0xfffffffffffff000ull, TV_ERR_SECTION_RANGE, true },
		{ TV_PAL_SECTION_DATA, 2, 0x7ffffffff000ull, TV_ERR_SECTION_RANGE, true },
		{ TV_PAL_SECTION_DATA, 1, 0x800000000000ull, TV_ERR_SECTION_RANGE, true },
		{ TV_PAL_SECTION_DATA, 2, 0xfffff000ull, TV_ERR_SECTION_RANGE, false },
		{ TV_PAL_SECTION_DATA, 1, 0x100000000ull, TV_ERR_SECTION_RANGE, false },
		{ TV_PAL_SECTION_DATA, 0xffffffffu, PG, TV_ERR_SECTION_RANGE, false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		setup(NULL);
		add_section(bad[i].type, bad[i].pages, bad[i].start);
		assert_int_equal(tv_validate(&secs, &params, gva(BASE), bad[i].c64, &l), bad[i].e);
	}
	/* the last pages of each address space are fine */
	setup(NULL);
	add_section(TV_PAL_SECTION_DATA, 1, 0x7ffffffff000ull);
	assert_int_equal(validate64(), TV_OK);
	setup(NULL);
	add_section(TV_PAL_SECTION_DATA, 1, 0xfffff000ull);
	assert_int_equal(validate32(), TV_OK);
}

static void test_too_many_pages(void **state)
{
	(void)state;
	secs.sections[1].pages = TV_MAX_PAL_PAGES - 4; /* DATA at BASE + 2 pages, nothing after it... */
	secs.sections[2].start = BASE + 0x100 * PG;
	secs.sections[3].start = BASE + 0x101 * PG;
	assert_int_equal(validate64(), TV_OK);
	assert_int_equal(l.pages, TV_MAX_PAL_PAGES);
	secs.sections[1].pages++;
	assert_int_equal(validate64(), TV_ERR_TOO_MANY_PAGES);
	/* 32-bit page counts do not wrap the sum */
	setup(NULL);
	secs.sections[1] = (struct tv_pal_section){ TV_PAL_SECTION_DATA, 0xfffff, 0x10000000 };
	add_section(TV_PAL_SECTION_DATA, 0xfffff, 0x200000000ull);
	assert_int_equal(validate64(), TV_ERR_TOO_MANY_PAGES);
}

static void test_overlap(void **state)
{
	(void)state;
	add_section(TV_PAL_SECTION_DATA, 1, BASE + PG); /* the second CODE page */
	assert_int_equal(validate64(), TV_ERR_SECTION_OVERLAP);
	setup(NULL);
	add_section(TV_PAL_SECTION_DATA, 8, BASE - 4 * PG); /* ends inside CODE */
	assert_int_equal(validate64(), TV_ERR_SECTION_OVERLAP);
	setup(NULL);
	add_section(TV_PAL_SECTION_DATA, 4, BASE - 4 * PG); /* ends where CODE starts */
	assert_int_equal(validate64(), TV_OK);
	setup(NULL);
	secs.sections[0] = secs.sections[1]; /* a section twice */
	assert_int_equal(validate64(), TV_ERR_SECTION_OVERLAP);
}

static void test_missing(void **state)
{
	(void)state;
	secs.sections[0].type = TV_PAL_SECTION_SHARED_CODE; /* no CODE */
	assert_int_equal(tv_validate(&secs, &params, gva(BASE + 2 * PG), true, &l), TV_ERR_SECTION_MISSING);
	setup(NULL);
	secs.sections[3].type = TV_PAL_SECTION_DATA; /* no PARAM */
	assert_int_equal(validate64(), TV_ERR_SECTION_MISSING);
	setup(NULL);
	secs.sections[2].type = TV_PAL_SECTION_DATA; /* no STACK */
	assert_int_equal(validate64(), TV_ERR_SECTION_MISSING);
	setup(NULL);
	add_section(TV_PAL_SECTION_PARAM, 1, BASE + 9 * PG); /* two PARAM */
	assert_int_equal(validate64(), TV_ERR_SECTION_MISSING);
	setup(NULL);
	add_section(TV_PAL_SECTION_STACK, 1, BASE + 9 * PG); /* two STACK */
	assert_int_equal(validate64(), TV_ERR_SECTION_MISSING);
	setup(NULL);
	add_section(TV_PAL_SECTION_CODE, 1, BASE + 9 * PG); /* two CODE are fine */
	assert_int_equal(validate64(), TV_OK);
}

static void test_entry(void **state)
{
	(void)state;
	add_section(TV_PAL_SECTION_SHARED_CODE, 1, BASE + 9 * PG);
	add_section(TV_PAL_SECTION_CODE, 1, BASE + 11 * PG);
	static const struct { u64 entry; enum tv_error e; } cases[] = {
		{ BASE, TV_OK }, { BASE + 2 * PG - 1, TV_OK }, { BASE + 11 * PG + 5, TV_OK },
		{ BASE + 2 * PG, TV_ERR_ENTRY_OUTSIDE_CODE },     /* DATA */
		{ BASE + 9 * PG, TV_ERR_ENTRY_OUTSIDE_CODE },     /* SHARED_CODE */
		{ BASE - 1, TV_ERR_ENTRY_OUTSIDE_CODE }, { 0, TV_ERR_ENTRY_OUTSIDE_CODE },
		{ BASE + 12 * PG, TV_ERR_ENTRY_OUTSIDE_CODE },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_int_equal(tv_validate(&secs, &params, gva(cases[i].entry), true, &l), cases[i].e);
}

static void test_params(void **state)
{
	(void)state;
	params.count = TV_MAX_PARAMS + 1;
	assert_int_equal(validate64(), TV_ERR_PARAM_COUNT);
	params.count = 0x80000000u;
	assert_int_equal(validate64(), TV_ERR_PARAM_COUNT);
	params.count = 0;
	assert_int_equal(validate64(), TV_OK); /* no parameters */
	assert_int_equal(l.area_bytes, 8);
	add_param(0, 0);
	assert_int_equal(validate64(), TV_ERR_PARAM_TYPE);
	params.params[0].type = 3;
	assert_int_equal(validate64(), TV_ERR_PARAM_TYPE);
}

/* The area must fit in PARAM after its 0x10 offset: 0x1000 - 0x10 - 8 - 24 bytes of data. */
static void test_param_area_size(void **state)
{
	(void)state;
	u64 room = PG - TV_PARAM_AREA_OFFSET - TV_PARAM_AREA_HEADER - TV_PARAM_AREA_ENTRY;
	add_param(TV_PAL_PM_POINTER, room / 8);
	assert_int_equal(validate64(), TV_OK);
	assert_int_equal(l.area_bytes, PG - TV_PARAM_AREA_OFFSET);
	params.params[0].size++;
	assert_int_equal(validate64(), TV_ERR_PARAM_SIZE);
	params.params[0].size = room / 4; /* the same size in 32-bit words fits */
	assert_int_equal(validate32(), TV_OK);
	params.params[0].size++;
	assert_int_equal(validate32(), TV_ERR_PARAM_SIZE);
	/* sizes whose byte count overflows */
	static const u64 huge[] = { 1ull << 61, 1ull << 62, ~0ull, (~0ull / 8) + 1 };
	for (size_t i = 0; i < ARRAY_SIZE(huge); i++) {
		params.params[0].size = huge[i];
		assert_int_equal(validate64(), TV_ERR_PARAM_SIZE);
		assert_int_equal(validate32(), TV_ERR_PARAM_SIZE);
	}
	/* ten parameters whose entries alone fit, but not with one more word */
	setup(NULL);
	for (int i = 0; i < 10; i++)
		add_param(TV_PAL_PM_POINTER, (room - 9 * 24) / 80);
	assert_int_equal(validate64(), TV_OK);
	params.params[9].size += (room - 9 * 24) % 80 / 8 + 1;
	assert_int_equal(validate64(), TV_ERR_PARAM_SIZE);
	/* a larger PARAM takes more */
	secs.sections[3].pages = 2;
	assert_int_equal(validate64(), TV_OK);
}

/* pal_demo's pal_5_ptr: 5 (INTEGER, POINTER of 99 words) pairs in a 2-page PARAM. */
static void test_pal_demo_5_ptr(void **state)
{
	(void)state;
	secs.sections[3].pages = 2;
	for (int i = 0; i < 5; i++) {
		add_param(TV_PAL_PM_INTEGER, 0);
		add_param(TV_PAL_PM_POINTER, 99);
	}
	assert_int_equal(validate64(), TV_OK);
	assert_int_equal(validate32(), TV_OK);
	secs.sections[3].pages = 1;
	assert_int_equal(validate64(), TV_ERR_PARAM_SIZE);
}

static void test_parse_from_guest(void **state)
{
	(void)state;
	struct fake_as as = { 0 };
	fake_as_init(&as, 0x10000, 0x1000);
	struct tv_guest_mem mem = fake_as_mem(&as);
	add_param(TV_PAL_PM_INTEGER, 0);
	memcpy(fake_as_ptr(&as, 0x10000), &secs, sizeof(secs));
	memcpy(fake_as_ptr(&as, 0x10000 + 0x1000 - sizeof(params)), &params, sizeof(params));
	assert_int_equal(tv_parse_registration(&mem, gva(0x10000), gva(0x11000 - sizeof(params)), gva(BASE), true, &l),
			 TV_OK);
	assert_int_equal(l.n_params, 1);
	assert_int_equal(l.n_sections, 4);
	/* either structure not wholly readable */
	assert_int_equal(tv_parse_registration(&mem, gva(0x10000 + 0x1000 - 8), gva(0x10000), gva(BASE), true, &l),
			 TV_ERR_STRUCT_UNREADABLE);
	assert_int_equal(tv_parse_registration(&mem, gva(0x10000), gva(0x11000 - sizeof(params) + 1), gva(BASE), true, &l),
			 TV_ERR_STRUCT_UNREADABLE);
	assert_int_equal(tv_parse_registration(&mem, gva(~0ull - 8), gva(0x10000), gva(BASE), true, &l),
			 TV_ERR_STRUCT_UNREADABLE);
	/* garbage from the guest is just another bad registration */
	memset(fake_as_ptr(&as, 0x10000), 0xff, sizeof(secs));
	assert_int_equal(tv_parse_registration(&mem, gva(0x10000), gva(0x10000), gva(BASE), true, &l),
			 TV_ERR_SECTION_COUNT);
	free(as.mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_good_layout, setup),
		cmocka_unit_test_setup(test_section_count, setup),
		cmocka_unit_test_setup(test_section_fields, setup),
		cmocka_unit_test_setup(test_too_many_pages, setup),
		cmocka_unit_test_setup(test_overlap, setup),
		cmocka_unit_test_setup(test_missing, setup),
		cmocka_unit_test_setup(test_entry, setup),
		cmocka_unit_test_setup(test_params, setup),
		cmocka_unit_test_setup(test_param_area_size, setup),
		cmocka_unit_test_setup(test_pal_demo_5_ptr, setup),
		cmocka_unit_test_setup(test_parse_from_guest, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
