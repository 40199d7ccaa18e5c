/* tv_pal_pt.c: the PAL's page tables in each paging mode, walked by the hypervisor's own
 * walker (xmhf/runtime/guest_walk.c) on tests/unit's fake guest memory. */
#include "fake_cpu.h"
#include <runtime/guest_walk.h>
#include <xmhf/paging.h>
#include <xmhf/x86/regs.h>
#include "tv_pal_pt.h"

#define PG 0x1000ull
#define POOL_GPA 0x100000ull
#define PAL_GPA 0x10000000ull /* the fake caller tables map the n-th page asked to PAL_GPA + n pages */
#define SENTINEL_GPA 0xfff000ull

static struct tv_pt_page pool_pages[TV_PAL_PT_MAX_PAGES];
static struct tv_pt_pool pool;
static struct guest_paging pg;
static struct tv_registry reg;
static struct tv_pt_map maps[TV_MAX_PAL_PAGES + 1];
static u32 n_translated;

static enum tv_xlate fake_translate(void *ctx, gva_t va, bool write, bool exec, l1_gpa_t *gpa)
{
	(void)ctx, (void)write, (void)exec;
	(void)va;
	*gpa = l1_gpa(PAL_GPA + n_translated++ * PG);
	return TV_XLATE_OK;
}

static const struct tv_translator xl = { .translate = fake_translate };

static int setup(void **state)
{
	(void)state;
	fake_reset(0);
	for (u32 i = 0; i < TV_PAL_PT_MAX_PAGES; i++)
		pool_pages[i] = (struct tv_pt_page){ .host = guest_mem(POOL_GPA + i * PG, PG),
						     .gpa = l1_gpa(POOL_GPA + i * PG) };
	pool = (struct tv_pt_pool){ .pages = pool_pages, .n = TV_PAL_PT_MAX_PAGES };
	memset(pool_pages[0].host, 0xff, PG); /* the builder zeroes what it takes */
	tv_registry_init(&reg);
	n_translated = 0;
	memset(&pg, 0, sizeof(pg));
	pg.phys_addr_mask = BIT(36) - 1;
	return 0;
}

/* A PAL from a section list {type, pages, start}; its page-table mappings in *n. */
static const struct tv_pal *pal_of(const struct tv_pal_section *s, u32 count, bool c64, u32 *n)
{
	struct tv_pal_sections secs = { .count = count };
	struct tv_pal_params params = { .count = 0 };
	struct tv_pal_layout l;
	struct tv_pal *pal;
	memcpy(secs.sections, s, count * sizeof(*s));
	assert_int_equal(tv_validate(&secs, &params, gva(s[0].start), c64, &l), TV_OK);
	assert_int_equal(tv_registry_add(&reg, &l, 0, &xl, &pal), TV_OK);
	*n = tv_pal_pt_maps(pal, l1_gpa(SENTINEL_GPA), maps);
	assert_int_equal(*n, l.pages + 1);
	return pal;
}

static void paging(enum tv_paging mode, bool nx, u64 cr3)
{
	pg.cr0 = CR0_PE | CR0_PG | CR0_WP;
	pg.cr3 = cr3;
	pg.cr4 = mode == TV_PAGING_32 ? 0 : CR4_PAE;
	pg.efer = (mode == TV_PAGING_4LEVEL ? EFER_LME | EFER_LMA : 0) | (nx ? EFER_NXE : 0);
	if (mode == TV_PAGING_PAE)
		assert_true(guest_pae_pdptes(cr3, pg.phys_addr_mask, pg.pdpte)); /* no reserved bit set */
}

static enum gw_result walk(u64 la, u32 access, u64 *gpa)
{
	l1_gpa_t g = { 0 };
	struct gw_fault f;
	enum gw_result r = guest_translate(&pg, gva(la), access | GW_USER, &g, &f);
	*gpa = g.v;
	return r;
}

/* Every page of the PAL as the CPU would see it in the PAL: code RX, the rest RW (and NX). */
static void check_pal_view(const struct tv_pal *pal, bool nx)
{
	u64 gpa;
	for (u32 i = 0; i < pal->layout.pages; i++) {
		const struct tv_page *p = &pal->pages[i];
		bool code = p->type == TV_PAL_SECTION_CODE || p->type == TV_PAL_SECTION_SHARED_CODE;
		assert_int_equal(walk(p->gva.v + 0x567, 0, &gpa), GW_OK);
		assert_int_equal(gpa, p->gpa.v + 0x567);
		assert_int_equal(walk(p->gva.v, GW_WRITE, &gpa), code ? GW_PAGE_FAULT : GW_OK);
		assert_int_equal(walk(p->gva.v, GW_FETCH, &gpa), !code && nx ? GW_PAGE_FAULT : GW_OK);
	}
	/* the sentinel return address: fetchable, not writable */
	assert_int_equal(walk(TV_PAL_SENTINEL_RETURN, GW_FETCH, &gpa), GW_OK);
	assert_int_equal(gpa, SENTINEL_GPA + TV_PAL_SENTINEL_RETURN);
	assert_int_equal(walk(TV_PAL_SENTINEL_RETURN, GW_WRITE, &gpa), GW_PAGE_FAULT);
}

static const struct tv_pal_section demo[] = {
	{ TV_PAL_SECTION_CODE, 2, 0x7f0000400000ull }, { TV_PAL_SECTION_DATA, 1, 0x7f0000402000ull },
	{ TV_PAL_SECTION_STACK, 1, 0x7f0000403000ull }, { TV_PAL_SECTION_PARAM, 2, 0x7f0000404000ull },
	{ TV_PAL_SECTION_SHARED_CODE, 1, 0x1000 }, { TV_PAL_SECTION_DATA, 2, 0x7ffffffff000ull - PG },
};

static void test_4level(void **state)
{
	(void)state;
	u32 n;
	const struct tv_pal *pal = pal_of(demo, ARRAY_SIZE(demo), true, &n);
	u64 cr3 = 0, gpa;
	assert_int_equal(tv_pal_pt_build(TV_PAGING_4LEVEL, true, maps, n, &pool, &cr3), TV_OK);
	assert_int_equal(cr3, POOL_GPA);
	paging(TV_PAGING_4LEVEL, true, cr3);
	check_pal_view(pal, true);
	/* nothing else is mapped: next to the sections, other tables, the caller's kernel */
	static const u64 unmapped[] = { 0x7f0000406000ull, 0x7f00003ff000ull, 0x2000, 0x7f0000600000ull,
					0x400000, 0x7fffffffd000ull, 0xffff800000000000ull };
	for (size_t i = 0; i < ARRAY_SIZE(unmapped); i++)
		assert_int_equal(walk(unmapped[i], 0, &gpa), GW_PAGE_FAULT);
	/* without EFER.NXE the tables must not set XD (reserved, 4.5) */
	setup(NULL);
	pal = pal_of(demo, ARRAY_SIZE(demo), true, &n);
	assert_int_equal(tv_pal_pt_build(TV_PAGING_4LEVEL, false, maps, n, &pool, &cr3), TV_OK);
	paging(TV_PAGING_4LEVEL, false, cr3);
	check_pal_view(pal, false);
}

static const struct tv_pal_section demo32[] = {
	{ TV_PAL_SECTION_CODE, 2, 0x8048000 }, { TV_PAL_SECTION_DATA, 1, 0x804a000 },
	{ TV_PAL_SECTION_STACK, 1, 0xbfffe000 }, { TV_PAL_SECTION_PARAM, 2, 0xc03ff000 },
	{ TV_PAL_SECTION_DATA, 1, 0xfffff000 },
};

static void test_pae(void **state)
{
	(void)state;
	for (int nx = 0; nx < 2; nx++) {
		u32 n;
		setup(NULL);
		const struct tv_pal *pal = pal_of(demo32, ARRAY_SIZE(demo32), false, &n);
		u64 cr3 = 0, gpa;
		assert_int_equal(tv_pal_pt_build(TV_PAGING_PAE, nx, maps, n, &pool, &cr3), TV_OK);
		paging(TV_PAGING_PAE, nx, cr3);
		check_pal_view(pal, nx);
		assert_int_equal(walk(0x804b000, 0, &gpa), GW_PAGE_FAULT);
		assert_int_equal(walk(0x40000000, 0, &gpa), GW_PAGE_FAULT); /* a PDPTE not present */
	}
}

static void test_32bit(void **state)
{
	(void)state;
	u32 n;
	const struct tv_pal *pal = pal_of(demo32, ARRAY_SIZE(demo32), false, &n);
	u64 cr3 = 0, gpa;
	/* 'nx' has no meaning without PAE: data stay fetchable (4.6) */
	assert_int_equal(tv_pal_pt_build(TV_PAGING_32, true, maps, n, &pool, &cr3), TV_OK);
	paging(TV_PAGING_32, false, cr3);
	check_pal_view(pal, false);
	assert_int_equal(walk(0x804b000, 0, &gpa), GW_PAGE_FAULT);
	assert_int_equal(walk(0xc0000000, 0, &gpa), GW_PAGE_FAULT);
}

/* Ten sections, each across a 512 GiB boundary, and the sentinel: the most tables a PAL needs. */
static void test_worst_case_fits(void **state)
{
	(void)state;
	struct tv_pal_section s[TV_MAX_SECTIONS];
	for (u32 i = 0; i < TV_MAX_SECTIONS; i++)
		s[i] = (struct tv_pal_section){ .type = i == 0 ? TV_PAL_SECTION_CODE : i == 1 ? TV_PAL_SECTION_PARAM
							: i == 2 ? TV_PAL_SECTION_STACK : TV_PAL_SECTION_DATA,
						.pages = i == 0 ? TV_MAX_PAL_PAGES - 2 * (TV_MAX_SECTIONS - 1) : 2,
						.start = ((u64)(2 * i + 2) << 39) - PG }; /* no two share a table */
	u32 n;
	const struct tv_pal *pal = pal_of(s, TV_MAX_SECTIONS, true, &n);
	u64 cr3 = 0;
	assert_int_equal(tv_pal_pt_build(TV_PAGING_4LEVEL, true, maps, n, &pool, &cr3), TV_OK);
	assert_int_equal(pool.used, TV_PAL_PT_MAX_PAGES); /* the bound is tight */
	paging(TV_PAGING_4LEVEL, true, cr3);
	check_pal_view(pal, true);
	/* one page less and it does not fit */
	pool.n = pool.used - 1;
	assert_int_equal(tv_pal_pt_build(TV_PAGING_4LEVEL, true, maps, n, &pool, &cr3), TV_ERR_NO_MEMORY);
	pool.n = 0;
	assert_int_equal(tv_pal_pt_build(TV_PAGING_4LEVEL, true, maps, n, &pool, &cr3), TV_ERR_NO_MEMORY);
}

static void test_bad_maps(void **state)
{
	(void)state;
	u64 cr3 = 0;
	struct tv_pt_map m[2] = { { .gva = gva(0x5000), .gpa = l1_gpa(0x20000) }, { .gva = gva(0x5000), .gpa = l1_gpa(0x30000) } };
	assert_int_equal(tv_pal_pt_build(TV_PAGING_4LEVEL, true, m, 1, &pool, &cr3), TV_OK);
	assert_int_equal(tv_pal_pt_build(TV_PAGING_4LEVEL, true, m, 2, &pool, &cr3), TV_ERR_SECTION_RANGE); /* twice */
	m[1].gva = gva(0x100000000ull);
	assert_int_equal(tv_pal_pt_build(TV_PAGING_4LEVEL, true, m, 2, &pool, &cr3), TV_OK);
	assert_int_equal(tv_pal_pt_build(TV_PAGING_PAE, true, m, 2, &pool, &cr3), TV_ERR_SECTION_RANGE);
	assert_int_equal(tv_pal_pt_build(TV_PAGING_32, true, m, 2, &pool, &cr3), TV_ERR_SECTION_RANGE);
	m[1].gva = gva(BIT(47));
	assert_int_equal(tv_pal_pt_build(TV_PAGING_4LEVEL, true, m, 2, &pool, &cr3), TV_ERR_SECTION_RANGE);
	m[1] = (struct tv_pt_map){ .gva = gva(0x6000), .gpa = l1_gpa(0x100000000ull) };
	assert_int_equal(tv_pal_pt_build(TV_PAGING_PAE, true, m, 2, &pool, &cr3), TV_OK);
	assert_int_equal(tv_pal_pt_build(TV_PAGING_32, true, m, 2, &pool, &cr3), TV_ERR_SECTION_RANGE);
	m[1].gpa = l1_gpa(0x30008);
	assert_int_equal(tv_pal_pt_build(TV_PAGING_4LEVEL, true, m, 2, &pool, &cr3), TV_ERR_SECTION_RANGE);
	/* outside IA-32e mode, table pages must lie below 4 GiB */
	pool_pages[TV_PAL_PT_MAX_PAGES - 1].gpa = l1_gpa(0x100000000ull);
	assert_int_equal(tv_pal_pt_build(TV_PAGING_PAE, true, m, 1, &pool, &cr3), TV_ERR_NO_MEMORY);
	assert_int_equal(tv_pal_pt_build(TV_PAGING_32, true, m, 1, &pool, &cr3), TV_ERR_NO_MEMORY);
	assert_int_equal(tv_pal_pt_build(TV_PAGING_4LEVEL, true, m, 1, &pool, &cr3), TV_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_4level, setup),
		cmocka_unit_test_setup(test_pae, setup),
		cmocka_unit_test_setup(test_32bit, setup),
		cmocka_unit_test_setup(test_worst_case_fits, setup),
		cmocka_unit_test_setup(test_bad_maps, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
