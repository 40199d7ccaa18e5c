/* The PAL's private guest page tables (issue 8 point 4): only its sections and the sentinel
 * page, user mode, in the caller's paging mode (4-level for a 64-bit caller; 32-bit or PAE
 * paging for a 32-bit one), laid out in pages the hypervisor gives with their guest-physical
 * addresses (the PAL's EPT maps those pages read-only for the PAL, not for the guest). */
#ifndef TV_PAL_PT_H
#define TV_PAL_PT_H

#include "tv_registry.h"

/* Enough table pages for any PAL: the root; for each section (at most TV_MAX_PAL_PAGES pages,
 * so across at most one boundary of each level) two tables of each lower level; one of each
 * for the sentinel page. */
#define TV_PAL_PT_MAX_PAGES (1 + 6 * TV_MAX_SECTIONS + 3)

struct tv_pt_page {
	void *host;    /* the hypervisor's pointer to the page */
	l1_gpa_t gpa;  /* where the PAL's CR3 and entries see it */
};

struct tv_pt_pool {
	struct tv_pt_page *pages;
	u32 n, used;
};

struct tv_pt_map {
	gva_t gva;
	l1_gpa_t gpa;
	bool write, exec;
};

/* The mappings of a PAL: each page of its sections (CODE and SHARED_CODE read+execute, the
 * others read+write) and page 0 (TV_PAL_SENTINEL_RETURN) read+execute at 'sentinel', a page
 * the PAL's EPT does not map, so that the return is an EPT violation. Returns the count. */
u32 tv_pal_pt_maps(const struct tv_pal *pal, l1_gpa_t sentinel, struct tv_pt_map maps[TV_MAX_PAL_PAGES + 1]);

/* Build the tables for 'maps' from pool (zeroing each page it takes): TV_OK and *cr3 (PAE:
 * the PDPT at offset 0 of a page), TV_ERR_NO_MEMORY when the pool runs out (or, for a 32-bit
 * caller, has a page above 4 GiB), or
 * TV_ERR_SECTION_RANGE for an address outside the mode's linear space or mapped twice. 'nx':
 * the caller runs with EFER.NXE (PAE and 4-level: non-executable pages get XD). */
enum tv_error tv_pal_pt_build(enum tv_paging mode, bool nx, const struct tv_pt_map *maps, u32 n,
			      struct tv_pt_pool *pool, u64 *cr3);

#endif
