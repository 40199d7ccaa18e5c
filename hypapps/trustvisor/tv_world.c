/* A PAL's world: see tv_world.h. */
#include "tv_world.h"
#include <xmhf/string.h>

/* A PAL's EPT: the root, a PDPT, a PD per GiB and a PT per 2 MiB its pages and tables touch;
 * enough for PALs whose pages lie in up to ~28 different 2 MiB regions (else TV_ERR_NO_MEMORY). */
#define TV_WORLD_EPT_PAGES 32u

struct world_store {
	u64 ept[TV_WORLD_EPT_PAGES][PT_ENTRIES];
	u64 pt[TV_PAL_PT_MAX_PAGES][PT_ENTRIES];
};

static struct world_store store[TV_MAX_PALS] __attribute__((aligned(PAGE_SIZE)));
static struct tv_world worlds[TV_MAX_PALS];

static u64 section_rights(u32 type)
{
	bool code = type == TV_PAL_SECTION_CODE || type == TV_PAL_SECTION_SHARED_CODE;
	return code ? EPT_R | EPT_X : EPT_R | EPT_W;
}

/* The page tables, each page at its own physical address. */
static enum tv_error build_tables(const struct tv_pal *pal, enum tv_paging mode, bool nx, struct tv_world *w)
{
	struct world_store *s = &store[pal->id];
	struct tv_pt_page pages[TV_PAL_PT_MAX_PAGES];
	struct tv_pt_map maps[TV_MAX_PAL_PAGES + 1];
	for (u32 i = 0; i < TV_PAL_PT_MAX_PAGES; i++)
		pages[i] = (struct tv_pt_page){ .host = s->pt[i], .gpa = l1_gpa((u64)s->pt[i]) };
	struct tv_pt_pool pool = { pages, TV_PAL_PT_MAX_PAGES, 0 };
	u32 n = tv_pal_pt_maps(pal, l1_gpa(TV_SENTINEL_GPA), maps);
	enum tv_error e = tv_pal_pt_build(mode, nx, maps, n, &pool, &w->cr3);
	w->pt_used = pool.used;
	if (e != TV_OK)
		return e;
	for (u32 i = 0; i < pool.used; i++)
		if (!ept_ctx_map_own(&w->ept, s->pt[i]))
			return TV_ERR_NO_MEMORY;
	return TV_OK;
}

enum tv_error tv_world_build(const struct tv_pal *pal, enum tv_paging mode, bool nx)
{
	struct tv_world *w = &worlds[pal->id];
	if (mode == TV_PAGING_PAE)
		return TV_ERR_UNSUPPORTED;
	if (!ept_ctx_create(&w->ept, store[pal->id].ept, TV_WORLD_EPT_PAGES))
		return TV_ERR_NO_MEMORY;
	enum tv_error e = TV_OK;
	for (u32 i = 0; i < pal->layout.pages && e == TV_OK; i++)
		if (!ept_ctx_map(&w->ept, pal->pages[i].gpa, section_rights(pal->pages[i].type)))
			e = TV_ERR_NO_MEMORY;
	if (e == TV_OK)
		e = build_tables(pal, mode, nx, w);
	if (e != TV_OK)
		tv_world_destroy(pal);
	return e;
}

const struct tv_world *tv_world_of(const struct tv_pal *pal) { return &worlds[pal->id]; }

void tv_world_destroy(const struct tv_pal *pal)
{
	struct tv_world *w = &worlds[pal->id];
	ept_ctx_destroy(&w->ept);
	memset(store[pal->id].pt, 0, (u64)w->pt_used * PAGE_SIZE);
	*w = (struct tv_world){ 0 };
}
