/* 4-level host page tables and EPT (SDM Vol. 3 4.5 and 29.3.2). */
#include <xmhf/check.h>
#include <xmhf/paging.h>

/* A page-table format: host paging or EPT. */
struct pt_format {
	u64 table_bits;  /* bits of an entry that points to a table */
	u64 large_bit;   /* bit that makes a level-2/3 entry a leaf */
	u64 present_mask;/* entry is present iff (entry & present_mask) != 0 */
	u64 pat_large;   /* PAT bit of a large-page entry, 0 if none */
	u64 pat_4k;      /* PAT bit of a 4 KiB entry, 0 if none */
};

/* Entries that point to tables allow everything: the leaves decide. */
static const struct pt_format format_host = {
	.table_bits = PTE_P | PTE_RW | PTE_US,
	.large_bit = PTE_PS,
	.present_mask = PTE_P,
	.pat_large = PTE_PAT_LARGE,  /* SDM Vol. 3 Tables 4-18, 4-20 */
	.pat_4k = PTE_PAT_4K,        /* SDM Vol. 3 Table 4-21 */
};

/* EPT leaves hold the memory type in bits 5:3 at every level (Table 29-4
 * .. 29-6): there is no PAT bit to move. */
static const struct pt_format format_ept = {
	.table_bits = EPT_RWX,
	.large_bit = EPT_LARGE,
	.present_mask = EPT_RWX,
};

static bool is_present(const struct pt_format *f, u64 e)
{
	return (e & f->present_mask) != 0;
}

/* Only PDEs and PDPTEs can map large pages. */
static bool is_large(const struct pt_format *f, u64 e, unsigned level)
{
	return (level == 2 || level == 3) && (e & f->large_bit);
}

/* Attribute bits for the children of the large entry e split to 'level':
 * all of e's, with the large bit and the PAT bit in their place there. */
static u64 child_attrs(const struct pt_format *f, u64 e, unsigned level)
{
	bool pat = (e & f->pat_large) != 0;
	u64 attrs = e & ~PT_ADDR_MASK & ~f->large_bit;

	if (level > 1)
		attrs |= f->large_bit;
	if (pat)
		attrs |= level > 1 ? f->pat_large : f->pat_4k;
	return attrs;
}

/* Point *e at a new table: empty, or, if *e is a large page at 'level',
 * 512 entries one level down that map the same range the same way. The
 * new table is filled before *e is changed. */
static bool link_table(const struct pt_format *f, const struct pt_alloc *a,
		       u64 *e, unsigned level)
{
	hpa_t pa;
	u64 *table = a->alloc(a->ctx, &pa);

	if (!table)
		return false;
	if (is_present(f, *e)) {
		u64 child_size = PT_LEVEL_SIZE(level - 1);
		u64 base = *e & PT_ADDR_MASK & ~(PT_LEVEL_SIZE(level) - 1);
		u64 attrs = child_attrs(f, *e, level - 1);

		for (u64 i = 0; i < PT_ENTRIES; i++)
			table[i] = (base + i * child_size) | attrs;
	}
	*e = pa.v | f->table_bits;
	return true;
}

static u64 *entry(const struct pt_format *f, const struct pt_alloc *a, hpa_t root, u64 addr, unsigned level)
{
	u64 *table = a->to_virt(a->ctx, root);

	CHECK(level >= 1 && level <= PT_LEVELS);
	for (unsigned l = PT_LEVELS; l > level; l--) {
		u64 *e = &table[PT_INDEX(addr, l)];

		if ((!is_present(f, *e) || is_large(f, *e, l)) && !link_table(f, a, e, l))
			return NULL;
		table = a->to_virt(a->ctx, hpa(*e & PT_ADDR_MASK));
	}
	return &table[PT_INDEX(addr, level)];
}

static u64 *lookup(const struct pt_format *f, const struct pt_alloc *a, hpa_t root, u64 addr, unsigned *level)
{
	u64 *table = a->to_virt(a->ctx, root);

	for (unsigned l = PT_LEVELS;; l--) {
		u64 *e = &table[PT_INDEX(addr, l)];

		if (!is_present(f, *e))
			return NULL;
		if (l == 1 || is_large(f, *e, l)) {
			*level = l;
			return e;
		}
		table = a->to_virt(a->ctx, hpa(*e & PT_ADDR_MASK));
	}
}

u64 *hpt_entry(const struct pt_alloc *a, hpa_t root, hpa_t addr, unsigned level)
{
	return entry(&format_host, a, root, addr.v, level);
}

u64 *hpt_lookup(const struct pt_alloc *a, hpa_t root, hpa_t addr, unsigned *level)
{
	return lookup(&format_host, a, root, addr.v, level);
}

u64 *ept_entry(const struct pt_alloc *a, hpa_t root, l1_gpa_t gpa, unsigned level)
{
	return entry(&format_ept, a, root, gpa.v, level);
}

u64 *ept_lookup(const struct pt_alloc *a, hpa_t root, l1_gpa_t gpa, unsigned *level)
{
	return lookup(&format_ept, a, root, gpa.v, level);
}

static bool overlaps_any(const struct pt_range *r, u32 n, u64 base, u64 size)
{
	for (u32 i = 0; i < n; i++) {
		u64 end = r[i].base + r[i].size;

		if (end < r[i].base)  /* wraps: reaches the top of memory */
			end = UINT64_MAX;
		if (r[i].size && r[i].base < base + size && base < end)
			return true;
	}
	return false;
}

bool hpt_identity_map(const struct pt_alloc *a, hpa_t root, u64 top, bool allow_1g,
		      const struct pt_range *uncached, u32 n_uncached)
{
	CHECK(IS_ALIGNED(top, MiB(2)));
	for (u64 addr = 0; addr < top;) {
		bool use_1g = allow_1g && IS_ALIGNED(addr, GiB(1)) && top - addr >= GiB(1) &&
			      !overlaps_any(uncached, n_uncached, addr, GiB(1));
		unsigned level = use_1g ? 3 : 2;
		u64 size = PT_LEVEL_SIZE(level);
		u64 *e = hpt_entry(a, root, hpa(addr), level);

		if (!e)
			return false;
		*e = addr | PTE_P | PTE_RW | PTE_PS;
		if (overlaps_any(uncached, n_uncached, addr, size))
			*e |= PTE_PCD | PTE_PWT;
		addr += size;
	}
	return true;
}
