/* xmhf/lib/pgtable.c with a page allocator over a static array. Table
 * pages get fake physical addresses from POOL_PA up. */
#include "unit.h"
#include <xmhf/paging.h>

#define POOL_PAGES 64
#define POOL_PA 0x40000000ull

static u64 pool[POOL_PAGES][PT_ENTRIES] __attribute__((aligned(4096)));

struct pool_state {
	u32 used;
	u32 limit;
};

static struct pool_state ps;

static u64 *pool_alloc(void *ctx, hpa_t *pa)
{
	struct pool_state *p = ctx;
	u64 *page;

	if (p->used >= p->limit)
		return NULL;
	page = pool[p->used];
	memset(page, 0, PAGE_SIZE);
	*pa = hpa(POOL_PA + p->used * PAGE_SIZE);
	p->used++;
	return page;
}

static u64 *pool_to_virt(void *ctx, hpa_t pa)
{
	struct pool_state *p = ctx;
	u64 i = (pa.v - POOL_PA) / PAGE_SIZE;

	assert_true(pa.v >= POOL_PA && i < p->used && pa.v % PAGE_SIZE == 0);
	return pool[i];
}

static const struct pt_alloc alloc = { pool_alloc, pool_to_virt, &ps };
static hpa_t root;

/* A fresh pool with 'limit' pages after the root. */
static void new_root(u32 limit)
{
	ps.used = 0;
	ps.limit = 1;
	assert_non_null(pool_alloc(&ps, &root));
	ps.limit = 1 + limit;
}

static const struct pt_range lapic_ioapic[] = {
	{ 0xfee00000, 0x1000 },
	{ 0xfec00000, 0x1000 },
};

/* The host leaf for addr: its level, and check that it maps addr to itself. */
static u64 leaf(u64 addr, unsigned *level)
{
	u64 *e = hpt_lookup(&alloc, root, hpa(addr), level);
	u64 size;

	assert_non_null(e);
	size = PT_LEVEL_SIZE(*level);
	assert_int_equal((*e & PT_ADDR_MASK & ~(size - 1)) + (addr & (size - 1)), addr);
	return *e;
}

#define UC (PTE_PCD | PTE_PWT)

static void test_identity_4g_with_1g_pages(void **state)
{
	unsigned level;

	(void)state;
	new_root(8);
	assert_true(hpt_identity_map(&alloc, root, GiB(4), true, lapic_ioapic, 2));
	assert_int_equal(ps.used, 3);  /* root, one PDPT, one PD for the 4th GiB */
	assert_int_equal(leaf(0, &level), PTE_P | PTE_RW | PTE_PS);
	assert_int_equal(level, 3);
	assert_int_equal(leaf(GiB(2) + 0x1234, &level) & UC, 0);
	assert_int_equal(level, 3);
	/* the GiB with the LAPIC and IOAPIC is split so only they are UC */
	assert_int_equal(leaf(0xfee00000, &level) & UC, UC);
	assert_int_equal(level, 2);
	assert_int_equal(leaf(0xfec00abc, &level) & UC, UC);
	assert_int_equal(leaf(0xfea00000, &level) & UC, 0);
	assert_int_equal(leaf(0xc0000000, &level) & UC, 0);
	assert_int_equal(leaf(0xffffffff, &level) & UC, 0);
	assert_null(hpt_lookup(&alloc, root, hpa(GiB(4)), &level));
}

static void test_identity_4g_with_2m_pages(void **state)
{
	unsigned level;

	(void)state;
	new_root(8);
	assert_true(hpt_identity_map(&alloc, root, GiB(4), false, lapic_ioapic, 2));
	assert_int_equal(ps.used, 1 + 1 + 4);
	for (u64 addr = 0; addr < GiB(4); addr += MiB(2)) {
		u64 e = leaf(addr + 0x5000, &level);
		bool uncached = addr == 0xfee00000 || addr == 0xfec00000;

		assert_int_equal(level, 2);
		assert_int_equal(e & ~PT_ADDR_MASK,
				 PTE_P | PTE_RW | PTE_PS | (uncached ? UC : 0));
	}
	assert_null(hpt_lookup(&alloc, root, hpa(GiB(4)), &level));
}

/* Map 16 GiB and sample it: 1 GiB pages except in the GiB with the
 * LAPIC and IOAPIC, or 2 MiB pages everywhere. */
static void check_identity_16g(bool allow_1g, u32 tables)
{
	unsigned level;

	new_root(40);
	assert_true(hpt_identity_map(&alloc, root, GiB(16), allow_1g, lapic_ioapic, 2));
	assert_int_equal(ps.used, 1 + tables);
	for (u64 addr = 0x1fff; addr < GiB(16); addr += MiB(62) + 0x321) {
		leaf(addr, &level);
		assert_int_equal(level, allow_1g && addr >> 30 != 3 ? 3 : 2);
	}
	assert_int_equal(leaf(0xfee00000, &level) & UC, UC);
	assert_int_equal(leaf(GiB(16) - 1, &level) & UC, 0);
	assert_null(hpt_lookup(&alloc, root, hpa(GiB(16)), &level));
}

static void test_identity_16g(void **state)
{
	(void)state;
	check_identity_16g(false, 1 + 16);  /* a PDPT and 16 PDs */
	check_identity_16g(true, 1 + 1);    /* a PDPT and one PD */
}

static void test_identity_top_not_1g_aligned(void **state)
{
	unsigned level;

	(void)state;
	new_root(8);
	assert_true(hpt_identity_map(&alloc, root, GiB(1) + MiB(2), true, NULL, 0));
	leaf(0, &level);
	assert_int_equal(level, 3);
	leaf(GiB(1) + 0x10, &level);
	assert_int_equal(level, 2);
	assert_null(hpt_lookup(&alloc, root, hpa(GiB(1) + MiB(2)), &level));
}

static void test_identity_out_of_pages(void **state)
{
	(void)state;
	new_root(0);
	assert_false(hpt_identity_map(&alloc, root, GiB(4), true, NULL, 0));
	new_root(4);  /* 2 MiB pages over 4 GiB need 5 */
	assert_false(hpt_identity_map(&alloc, root, GiB(4), false, NULL, 0));
	new_root(5);
	assert_true(hpt_identity_map(&alloc, root, GiB(4), false, NULL, 0));
}

static void test_identity_top_must_be_2m_aligned(void **state)
{
	(void)state;
	new_root(8);
	expect_assert_failure(hpt_identity_map(&alloc, root, GiB(1) + 0x1000, true, NULL, 0));
}

static void test_entry_creates_tables_once(void **state)
{
	unsigned level;
	u64 *e;

	(void)state;
	new_root(8);
	assert_null(hpt_lookup(&alloc, root, hpa(0x1234000), &level));
	e = hpt_entry(&alloc, root, hpa(0x1234000), 1);
	assert_non_null(e);
	assert_int_equal(ps.used, 4);
	assert_int_equal(pool[0][0], (POOL_PA + PAGE_SIZE) | (PTE_P | PTE_RW | PTE_US));
	*e = 0x1234000 | PTE_P;
	assert_ptr_equal(hpt_entry(&alloc, root, hpa(0x1234fff), 1), e);
	assert_ptr_equal(hpt_lookup(&alloc, root, hpa(0x1234abc), &level), e);
	assert_int_equal(level, 1);
	assert_int_equal(ps.used, 4);
	/* a neighbour in the same page table */
	assert_ptr_equal(hpt_entry(&alloc, root, hpa(0x1235000), 1), e + 1);
	assert_null(hpt_lookup(&alloc, root, hpa(0x1235000), &level));
	expect_assert_failure(hpt_entry(&alloc, root, hpa(0), 0));
	expect_assert_failure(hpt_entry(&alloc, root, hpa(0), 5));
}

static void test_entry_out_of_pages(void **state)
{
	(void)state;
	new_root(2);
	assert_null(hpt_entry(&alloc, root, hpa(GiB(5)), 1));
	assert_int_equal(ps.used, 3);
	ps.limit = 4;  /* one more page completes the walk */
	assert_non_null(hpt_entry(&alloc, root, hpa(GiB(5)), 1));
}

/* Attributes of a host large page that must survive splitting. */
#define HOST_ATTRS (PTE_P | PTE_RW | PTE_US | PTE_PWT | PTE_PCD | PTE_A | PTE_D | \
		    PTE_G | PTE_NX | BIT(52) | BIT(62))

static void test_split_host_1g_to_4k_keeps_attributes(void **state)
{
	const u64 base = GiB(3);
	unsigned level;
	u64 *big, *pte;

	(void)state;
	new_root(8);
	big = hpt_entry(&alloc, root, hpa(base), 3);
	*big = base | HOST_ATTRS | PTE_PS | PTE_PAT_LARGE;

	pte = hpt_entry(&alloc, root, hpa(base + MiB(6) + 0x3000), 1);
	assert_non_null(pte);
	/* the 4 KiB entry: PS cleared, PAT moved from bit 12 to bit 7 */
	assert_int_equal(*pte, (base + MiB(6) + 0x3000) | HOST_ATTRS | PTE_PAT_4K);
	hpt_lookup(&alloc, root, hpa(base + MiB(6)), &level);
	assert_int_equal(level, 1);
	/* the other 2 MiB entries of the split GiB keep PS and PAT at bit 12 */
	for (u64 off = 0; off < GiB(1); off += MiB(2)) {
		if (off == MiB(6))
			continue;
		u64 e = *hpt_lookup(&alloc, root, hpa(base + off + 0x10), &level);

		assert_int_equal(level, 2);
		assert_int_equal(e, (base + off) | HOST_ATTRS | PTE_PS | PTE_PAT_LARGE);
	}
	/* the 4 KiB neighbours */
	for (u64 i = 0; i < PT_ENTRIES; i++)
		assert_int_equal(pte[(long)i - 3],
				 (base + MiB(6) + i * PAGE_SIZE) | HOST_ATTRS | PTE_PAT_4K);
	assert_int_equal(ps.used, 1 + 1 + 1 + 1);
}

static void test_split_host_2m_without_pat(void **state)
{
	unsigned level;
	u64 *pde, *pte;

	(void)state;
	new_root(8);
	pde = hpt_entry(&alloc, root, hpa(MiB(4)), 2);
	*pde = MiB(4) | PTE_P | PTE_PS | PTE_PCD;  /* read-only, uncached */
	pte = hpt_entry(&alloc, root, hpa(MiB(4) + 0x1ff000), 1);
	assert_int_equal(*pte, (MiB(4) + 0x1ff000) | PTE_P | PTE_PCD);
	assert_int_equal(*pde & ~PT_ADDR_MASK, (PTE_P | PTE_RW | PTE_US));
	leaf(MiB(4), &level);
	assert_int_equal(level, 1);
}

static void test_split_ept_keeps_memory_type(void **state)
{
	const u64 attrs = EPT_R | EPT_X | (MT_WB << EPT_MT_SHIFT) | EPT_IPAT | EPT_A;
	unsigned level;
	u64 *big, *pte, *pde;

	(void)state;
	new_root(8);
	big = ept_entry(&alloc, root, l1_gpa(GiB(1)), 3);
	*big = GiB(1) | attrs | EPT_LARGE;
	pte = ept_entry(&alloc, root, l1_gpa(GiB(1) + MiB(2) + 0x5000), 1);
	assert_int_equal(*pte, (GiB(1) + MiB(2) + 0x5000) | attrs);
	pde = ept_lookup(&alloc, root, l1_gpa(GiB(1) + MiB(8)), &level);
	assert_int_equal(level, 2);
	assert_int_equal(*pde, (GiB(1) + MiB(8)) | attrs | EPT_LARGE);
	assert_int_equal(*big & ~PT_ADDR_MASK, EPT_RWX);
	/* execute-only is present for EPT */
	*pte = (GiB(1) + MiB(2) + 0x5000) | EPT_X;
	assert_ptr_equal(ept_lookup(&alloc, root, l1_gpa(GiB(1) + MiB(2) + 0x5000), &level), pte);
	*pte &= PT_ADDR_MASK;
	assert_null(ept_lookup(&alloc, root, l1_gpa(GiB(1) + MiB(2) + 0x5000), &level));
}

static void test_split_out_of_pages_keeps_large_entry(void **state)
{
	u64 *big;
	u64 before;

	(void)state;
	new_root(1);  /* the PDPT; nothing left for the split */
	big = hpt_entry(&alloc, root, hpa(0), 3);
	*big = PTE_P | PTE_RW | PTE_PS;
	before = *big;
	assert_null(hpt_entry(&alloc, root, hpa(0x1000), 1));
	assert_int_equal(*big, before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity_4g_with_1g_pages),
		cmocka_unit_test(test_identity_4g_with_2m_pages),
		cmocka_unit_test(test_identity_16g),
		cmocka_unit_test(test_identity_top_not_1g_aligned),
		cmocka_unit_test(test_identity_out_of_pages),
		cmocka_unit_test(test_identity_top_must_be_2m_aligned),
		cmocka_unit_test(test_entry_creates_tables_once),
		cmocka_unit_test(test_entry_out_of_pages),
		cmocka_unit_test(test_split_host_1g_to_4k_keeps_attributes),
		cmocka_unit_test(test_split_host_2m_without_pat),
		cmocka_unit_test(test_split_ept_keeps_memory_type),
		cmocka_unit_test(test_split_out_of_pages_keeps_large_entry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
