/* A registered PAL's world (issue 8 point 4): the EPT it runs on (its pages with the rights
 * its sections give, its page tables read-only, nothing else: the sentinel page is absent, so
 * fetching the return address 0x4 exits) and its guest page tables (tv_pal_pt.h), built at
 * registration in the hypervisor's memory, one per registry slot (tv_pal.id). */
#ifndef TV_WORLD_H
#define TV_WORLD_H

#include "tv_pal_pt.h"
#include <xmhf/memprot.h>

/* Where the PAL's page tables put the sentinel page: below 4 GiB (32-bit paging), neither
 * guest RAM (so never a PAL's page) nor the hypervisor's or the APIC's page (so its EPT
 * violation reaches hypapp_ept_violation). The top page of the 4 GiB space is firmware ROM. */
#define TV_SENTINEL_GPA 0xfffff000ull

struct tv_world {
	struct ept_ctx ept;
	u64 cr3;     /* the PAL's CR3 */
	u32 pt_used; /* page-table pages in use */
};

/* Build the world of a PAL whose pages the guest still maps (before they are lent): TV_OK,
 * TV_ERR_NO_MEMORY when its page-table or EPT pages run out, TV_ERR_UNSUPPORTED for PAE
 * paging (its PDPTEs would have to replace the caller's in the VMCS). */
enum tv_error tv_world_build(const struct tv_pal *pal, enum tv_paging mode, bool nx);
const struct tv_world *tv_world_of(const struct tv_pal *pal);
/* Zero the world's pages (the PAL is unregistered and runs nowhere). */
void tv_world_destroy(const struct tv_pal *pal);

#endif
