/* The PAL's guest page tables: see tv_pal_pt.h. Entry formats: SDM Vol. 3 4.3 (32-bit),
 * 4.4 (PAE; a PDPTE has no R/W, U/S or XD bit, Table 4-8), 4.5 (4-level). */
#include "tv_pal_pt.h"
#include <xmhf/paging.h>
#include <xmhf/string.h>

#define TABLE_FLAGS (PTE_P | PTE_RW | PTE_US | PTE_A)

struct pt_format {
	unsigned levels, bits, entry_bytes;
	u64 limit; /* linear addresses below it */
};

static const struct pt_format formats[] = {
	[TV_PAGING_32] = { 2, 10, 4, BIT(32) },
	[TV_PAGING_PAE] = { 3, 9, 8, BIT(32) }, /* the top level has 4 entries */
	[TV_PAGING_4LEVEL] = { 4, 9, 8, BIT(47) },
};

static struct tv_pt_page *take(struct tv_pt_pool *pool)
{
	if (pool->used == pool->n)
		return NULL;
	struct tv_pt_page *p = &pool->pages[pool->used++];
	memset(p->host, 0, PAGE_SIZE);
	return p;
}

static u64 get_entry(const struct pt_format *f, const struct tv_pt_page *t, u64 i)
{
	return f->entry_bytes == 8 ? ((u64 *)t->host)[i] : ((u32 *)t->host)[i];
}

static void set_entry(const struct pt_format *f, struct tv_pt_page *t, u64 i, u64 e)
{
	if (f->entry_bytes == 8)
		((u64 *)t->host)[i] = e;
	else
		((u32 *)t->host)[i] = (u32)e;
}

/* The pool page a table entry points to (the pool holds every table of this build). */
static struct tv_pt_page *child(struct tv_pt_pool *pool, u64 e)
{
	for (u32 i = 0; i < pool->used; i++)
		if (pool->pages[i].gpa.v == (e & PT_ADDR_MASK))
			return &pool->pages[i];
	return NULL;
}

static enum tv_error map_page(enum tv_paging mode, bool nx, const struct tv_pt_map *m, struct tv_pt_pool *pool)
{
	const struct pt_format *f = &formats[mode];
	struct tv_pt_page *t = &pool->pages[0];
	if (m->gva.v >= f->limit || !IS_ALIGNED(m->gva.v | m->gpa.v, PAGE_SIZE) ||
	    (mode == TV_PAGING_32 && m->gpa.v >= BIT(32)))
		return TV_ERR_SECTION_RANGE;
	for (unsigned level = f->levels; level > 1; level--) {
		u64 i = (m->gva.v >> (PAGE_SHIFT + f->bits * (level - 1))) & (BIT(f->bits) - 1);
		u64 e = get_entry(f, t, i);
		if (!(e & PTE_P)) {
			struct tv_pt_page *next = take(pool);
			if (!next)
				return TV_ERR_NO_MEMORY;
			bool pdpte = mode == TV_PAGING_PAE && level == 3;
			e = next->gpa.v | (pdpte ? PTE_P : TABLE_FLAGS);
			set_entry(f, t, i, e);
		}
		t = child(pool, e);
	}
	u64 i = (m->gva.v >> PAGE_SHIFT) & (BIT(f->bits) - 1);
	if (get_entry(f, t, i) & PTE_P)
		return TV_ERR_SECTION_RANGE;
	u64 leaf = m->gpa.v | PTE_P | PTE_US | PTE_A | (m->write ? PTE_RW | PTE_D : 0);
	if (nx && mode != TV_PAGING_32 && !m->exec)
		leaf |= PTE_NX;
	set_entry(f, t, i, leaf);
	return TV_OK;
}

enum tv_error tv_pal_pt_build(enum tv_paging mode, bool nx, const struct tv_pt_map *maps, u32 n,
			      struct tv_pt_pool *pool, u64 *cr3)
{
	pool->used = 0;
	for (u32 i = 0; i < pool->n; i++) /* outside IA-32e mode CR3 and 32-bit entries hold 32 bits */
		if (mode != TV_PAGING_4LEVEL && pool->pages[i].gpa.v >= BIT(32))
			return TV_ERR_NO_MEMORY;
	struct tv_pt_page *root = take(pool);
	if (!root)
		return TV_ERR_NO_MEMORY;
	for (u32 i = 0; i < n; i++) {
		enum tv_error e = map_page(mode, nx, &maps[i], pool);
		if (e != TV_OK)
			return e;
	}
	*cr3 = root->gpa.v;
	return TV_OK;
}

u32 tv_pal_pt_maps(const struct tv_pal *pal, l1_gpa_t sentinel, struct tv_pt_map maps[TV_MAX_PAL_PAGES + 1])
{
	u32 n = 0;
	for (; n < pal->layout.pages; n++) {
		const struct tv_page *p = &pal->pages[n];
		bool code = p->type == TV_PAL_SECTION_CODE || p->type == TV_PAL_SECTION_SHARED_CODE;
		maps[n] = (struct tv_pt_map){ .gva = p->gva, .gpa = p->gpa, .write = !code, .exec = code };
	}
	maps[n++] = (struct tv_pt_map){ .gva = gva(ALIGN_DOWN(TV_PAL_SENTINEL_RETURN, PAGE_SIZE)), .gpa = sentinel,
					.exec = true };
	return n;
}
