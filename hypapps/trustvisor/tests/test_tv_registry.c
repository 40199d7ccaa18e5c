/* tv_registry.c: registration's page checks, lookup, unregister and the scrub on unregister
 * and on guest shutdown (bug_109), on a fake translator. */
#include "tv_fake_mem.h"
#include "tv_registry.h"

#define PG 0x1000ull
#define CR3 0x5000ull

/* Fake caller page tables: gva page -> gpa page = gva + offset, except the listed pages. */
static u64 xlate_offset;
static struct { u64 gva; enum tv_xlate r; u64 gpa; bool need_write, need_exec; } special[8];
static u32 n_special;
static u32 n_writes_asked, n_execs_asked;

static enum tv_xlate fake_translate(void *ctx, gva_t va, bool write, bool exec, l1_gpa_t *gpa)
{
	(void)ctx;
	n_writes_asked += write;
	n_execs_asked += exec;
	for (u32 i = 0; i < n_special; i++) {
		if (special[i].gva != va.v)
			continue;
		if ((special[i].need_write && !write) || (special[i].need_exec && !exec))
			break; /* a page that is fine for this access */
		*gpa = l1_gpa(special[i].gpa);
		return special[i].r;
	}
	*gpa = l1_gpa(va.v + xlate_offset + 0x123); /* the offset in the page is dropped */
	return TV_XLATE_OK;
}

static const struct tv_translator xl = { .translate = fake_translate };

static struct tv_registry reg;
static struct tv_page scrubbed[TV_MAX_PALS * TV_MAX_PAL_PAGES];
static u32 n_scrubbed;

static void sink_page(void *ctx, const struct tv_page *p)
{
	(void)ctx;
	scrubbed[n_scrubbed++] = *p;
}

static const struct tv_page_sink sink = { .page = sink_page };

/* CODE 2 pages, DATA, STACK, PARAM, SHARED_CODE 1 page each at base. */
static struct tv_pal_layout layout(u64 base, bool c64)
{
	struct tv_pal_sections s = { .count = 5, .sections = {
		{ TV_PAL_SECTION_CODE, 2, base }, { TV_PAL_SECTION_DATA, 1, base + 2 * PG },
		{ TV_PAL_SECTION_STACK, 1, base + 3 * PG }, { TV_PAL_SECTION_PARAM, 1, base + 4 * PG },
		{ TV_PAL_SECTION_SHARED_CODE, 1, base + 5 * PG } } };
	struct tv_pal_params p = { .count = 0 };
	struct tv_pal_layout l;
	assert_int_equal(tv_validate(&s, &p, gva(base + 0x10), c64, &l), TV_OK);
	return l;
}

static int setup(void **state)
{
	(void)state;
	tv_registry_init(&reg);
	xlate_offset = 0x10000000;
	n_special = n_scrubbed = n_writes_asked = n_execs_asked = 0;
	return 0;
}

static struct tv_pal *add(u64 base, u64 cr3, enum tv_error want)
{
	struct tv_pal_layout l = layout(base, true);
	struct tv_pal *pal = NULL;
	assert_int_equal(tv_registry_add(&reg, &l, tv_cr3_key(cr3, TV_PAGING_4LEVEL, false), &xl, &pal), want);
	return pal;
}

static void test_cr3_key(void **state)
{
	(void)state;
	/* PCID, PWT/PCD and the no-flush bit are not the address space (bug_017) */
	assert_int_equal(tv_cr3_key(0x123456789abcull, TV_PAGING_4LEVEL, false), 0x123456789000ull);
	assert_int_equal(tv_cr3_key(0x8000000000005fffull, TV_PAGING_4LEVEL, false), 0x5000);
	assert_int_equal(tv_cr3_key(0xfff0000000005018ull, TV_PAGING_4LEVEL, false), 0x5000);
	assert_int_equal(tv_cr3_key(0x12345678ull, TV_PAGING_32, false), 0x12345000);
	assert_int_equal(tv_cr3_key(0x12345678ull, TV_PAGING_PAE, false), 0x12345660);
	assert_int_equal(tv_cr3_key(0x1234567full, TV_PAGING_PAE, false), 0x12345660);
	assert_int_equal(tv_cr3_key(0x12345678ull, TV_PAGING_32, true), 0x12345001); /* an L2 caller's */
	assert_int_not_equal(tv_cr3_key(0x5000, TV_PAGING_4LEVEL, true), tv_cr3_key(0x5000, TV_PAGING_4LEVEL, false));
}

static void test_add_find(void **state)
{
	(void)state;
	struct tv_pal *pal = add(0x400000, CR3, TV_OK);
	assert_non_null(pal);
	assert_true(pal->used);
	assert_int_equal(pal->layout.pages, 6);
	assert_int_equal(pal->cr3_key, CR3);
	for (u32 i = 0; i < 6; i++) {
		assert_int_equal(pal->pages[i].gva.v, 0x400000 + i * PG);
		assert_int_equal(pal->pages[i].gpa.v, 0x10400000 + i * PG);
	}
	assert_int_equal(pal->pages[2].type, TV_PAL_SECTION_DATA);
	assert_int_equal(pal->pages[5].type, TV_PAL_SECTION_SHARED_CODE);
	/* bug_106: asked with the PAL world's rights: 3 writable pages, 3 executable ones */
	assert_int_equal(n_writes_asked, 3);
	assert_int_equal(n_execs_asked, 3);
	assert_ptr_equal(tv_registry_find(&reg, gva(0x400010), CR3, true), pal);
	assert_ptr_equal(tv_registry_find(&reg, gva(0x400010), CR3 | 0x5, true), NULL); /* raw CR3 differs: callers pass keys */
	assert_ptr_equal(tv_registry_find(&reg, gva(0x400010), tv_cr3_key(CR3 | 0x805, TV_PAGING_4LEVEL, false), true), pal);
	assert_null(tv_registry_find(&reg, gva(0x400010), CR3 + PG, true)); /* another process */
	assert_null(tv_registry_find(&reg, gva(0x400010), CR3, false));     /* another mode */
	assert_null(tv_registry_find(&reg, gva(0x400000), CR3, true));      /* not the entry */
	const struct tv_page *pg = NULL;
	assert_ptr_equal(tv_registry_owner(&reg, l1_gpa(0x10403fff), &pg), pal);
	assert_int_equal(pg->gva.v, 0x403000);
	assert_null(tv_registry_owner(&reg, l1_gpa(0x10406000), NULL));
	assert_null(tv_registry_owner(&reg, l1_gpa(0x400000), NULL));
}

static void test_page_errors(void **state)
{
	(void)state;
	static const struct { u64 gva; enum tv_xlate r; bool w, x; enum tv_error e; } cases[] = {
		{ 0x401000, TV_XLATE_UNMAPPED, false, false, TV_ERR_SECTION_UNMAPPED },
		{ 0x405000, TV_XLATE_DENIED, false, false, TV_ERR_SECTION_RIGHTS }, /* a kernel page */
		{ 0x402000, TV_XLATE_DENIED, true, false, TV_ERR_SECTION_RIGHTS },  /* read-only DATA */
		{ 0x400000, TV_XLATE_DENIED, false, true, TV_ERR_SECTION_RIGHTS },  /* NX CODE */
		{ 0x404000, TV_XLATE_NOT_RAM, false, false, TV_ERR_SECTION_NOT_RAM },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		setup(NULL);
		special[n_special++] = (typeof(special[0])){ cases[i].gva, cases[i].r, 0, cases[i].w, cases[i].x };
		add(0x400000, CR3, cases[i].e);
		assert_null(tv_registry_find(&reg, gva(0x400010), CR3, true)); /* nothing registered */
		n_special = 0;
		add(0x400000, CR3 + PG, TV_OK); /* a failed registration left no page behind */
	}
}

static void test_lent_and_aliased(void **state)
{
	(void)state;
	struct tv_pal *a = add(0x400000, CR3, TV_OK);
	add(0x400000, CR3, TV_ERR_ALREADY_REGISTERED);
	/* the same pages through another process's tables */
	add(0x400000, CR3 + PG, TV_ERR_PAGE_LENT);
	/* another address whose DATA page is a's STACK page */
	special[n_special++] = (typeof(special[0])){ 0x802000, TV_XLATE_OK, 0x10403000, false, false };
	add(0x800000, CR3, TV_ERR_PAGE_LENT);
	/* two pages of one PAL on one frame */
	n_special = 0;
	special[n_special++] = (typeof(special[0])){ 0x803000, TV_XLATE_OK, 0x10802000, false, false };
	add(0x800000, CR3, TV_ERR_PAGE_ALIASED);
	n_special = 0;
	struct tv_pal *b = add(0x800000, CR3, TV_OK);
	assert_ptr_not_equal(a, b);
	assert_int_not_equal(a->id, b->id);
	assert_ptr_equal(tv_registry_find(&reg, gva(0x800010), CR3, true), b);
}

static void test_capacity(void **state)
{
	(void)state;
	u32 ids = 0;
	for (u32 i = 0; i < TV_MAX_PALS; i++) {
		struct tv_pal *pal = add(0x400000 + i * 0x10000, CR3, TV_OK);
		assert_true(pal->id < TV_MAX_PALS && pal->id != 0xffffffffu);
		ids |= 1u << pal->id;
	}
	assert_int_equal(ids, (1u << TV_MAX_PALS) - 1);
	add(0x400000 + TV_MAX_PALS * 0x10000, CR3, TV_ERR_TOO_MANY_PALS);
	assert_int_equal(tv_registry_remove(&reg, gva(0x410010), CR3, true, &sink), TV_OK);
	add(0x400000 + TV_MAX_PALS * 0x10000, CR3, TV_OK); /* the freed slot */
}

static void test_remove(void **state)
{
	(void)state;
	struct tv_pal *pal = add(0x400000, CR3, TV_OK);
	assert_int_equal(tv_registry_remove(&reg, gva(0x400000), CR3, true, &sink), TV_ERR_UNKNOWN_ENTRY);
	assert_int_equal(tv_registry_remove(&reg, gva(0x400010), CR3 + PG, true, &sink), TV_ERR_UNKNOWN_ENTRY);
	assert_int_equal(tv_registry_remove(&reg, gva(0x400010), CR3, false, &sink), TV_ERR_UNKNOWN_ENTRY);
	assert_int_equal(n_scrubbed, 0);
	pal->running = 1;
	assert_int_equal(tv_registry_remove(&reg, gva(0x400010), CR3, true, &sink), TV_ERR_PAL_BUSY);
	assert_int_equal(n_scrubbed, 0);
	pal->running = 0;
	assert_int_equal(tv_registry_remove(&reg, gva(0x400010), CR3, true, &sink), TV_OK);
	assert_int_equal(n_scrubbed, 6);
	for (u32 i = 0; i < 6; i++)
		assert_int_equal(scrubbed[i].gpa.v, 0x10400000 + i * PG);
	assert_false(tv_page_private(&scrubbed[5])); /* SHARED_CODE stays the guest's */
	assert_true(tv_page_private(&scrubbed[0]) && tv_page_private(&scrubbed[4]));
	assert_null(tv_registry_owner(&reg, l1_gpa(0x10400000), NULL));
	assert_int_equal(tv_registry_remove(&reg, gva(0x400010), CR3, true, &sink), TV_ERR_UNKNOWN_ENTRY);
	add(0x400000, CR3 + PG, TV_OK); /* its pages may be lent again */
}

/* bug_109: shutdown or reset scrubs every PAL, running ones too. */
static void test_clear(void **state)
{
	(void)state;
	add(0x400000, CR3, TV_OK);
	struct tv_pal *b = add(0x800000, CR3 + PG, TV_OK);
	add(0xc00000, CR3, TV_OK);
	b->running = 2;
	assert_int_equal(tv_registry_remove(&reg, gva(0x400010), CR3, true, &sink), TV_OK);
	n_scrubbed = 0;
	tv_registry_clear(&reg, &sink);
	assert_int_equal(n_scrubbed, 12);
	for (u32 i = 0; i < TV_MAX_PALS; i++)
		assert_false(reg.pals[i].used);
	n_scrubbed = 0;
	tv_registry_clear(&reg, &sink);
	assert_int_equal(n_scrubbed, 0);
}

static void test_covers(void **state)
{
	(void)state;
	add(0x400000, CR3, TV_OK);
	u64 k = CR3;
	assert_true(tv_registry_covers(&reg, k, gva(0x400000), 1));
	assert_true(tv_registry_covers(&reg, k, gva(0x3fffff), 2));
	assert_true(tv_registry_covers(&reg, k, gva(0x405fff), 1)); /* SHARED_CODE too */
	assert_false(tv_registry_covers(&reg, k, gva(0x406000), 0x1000));
	assert_false(tv_registry_covers(&reg, k, gva(0x3ff000), 0x1000));
	assert_false(tv_registry_covers(&reg, k, gva(0x401000), 0));
	assert_false(tv_registry_covers(&reg, k + PG, gva(0x400000), 0x1000)); /* another process */
	assert_true(tv_registry_covers(&reg, k, gva(0x100000), ~0ull));        /* wraps */
	assert_true(tv_registry_covers(&reg, k, gva(~0ull), 2));
}

static void test_pal_page(void **state)
{
	(void)state;
	struct tv_pal *pal = add(0x400000, CR3, TV_OK);
	assert_ptr_equal(tv_pal_page(pal, gva(0x400000)), &pal->pages[0]);
	assert_ptr_equal(tv_pal_page(pal, gva(0x401fff)), &pal->pages[1]); /* CODE's second page */
	assert_ptr_equal(tv_pal_page(pal, gva(0x404008)), &pal->pages[4]); /* PARAM */
	assert_int_equal(tv_pal_page(pal, gva(0x404008))->type, TV_PAL_SECTION_PARAM);
	assert_ptr_equal(tv_pal_page(pal, gva(0x405fff)), &pal->pages[5]);
	assert_null(tv_pal_page(pal, gva(0x406000)));
	assert_null(tv_pal_page(pal, gva(0x3fffff)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_cr3_key, setup),
		cmocka_unit_test_setup(test_add_find, setup),
		cmocka_unit_test_setup(test_page_errors, setup),
		cmocka_unit_test_setup(test_lent_and_aliased, setup),
		cmocka_unit_test_setup(test_capacity, setup),
		cmocka_unit_test_setup(test_remove, setup),
		cmocka_unit_test_setup(test_clear, setup),
		cmocka_unit_test_setup(test_covers, setup),
		cmocka_unit_test_setup(test_pal_page, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
