/* The registered PALs (issue 8 point 4): each with its layout, the caller's address space
 * (CR3 address bits and mode) and every page of its sections, guest-virtual and L1
 * guest-physical. A page is lent to at most one PAL; unregistering a PAL or the guest's
 * shutdown or reset hands every page to a sink that scrubs it and gives it back (bug_109).
 * Pure logic: the caller serializes calls (one lock) and applies the EPT01 changes. */
#ifndef TV_REGISTRY_H
#define TV_REGISTRY_H

#include "tv_register.h"

#define TV_MAX_PALS 16u

struct tv_page {
	gva_t gva;
	l1_gpa_t gpa;
	u32 type; /* its section's TV_PAL_SECTION_* */
};

struct tv_pal {
	bool used;
	u32 id;      /* the CPUID EBX answer inside it: its slot */
	u32 running; /* CPUs running it (tv_registry_remove refuses while non-zero) */
	u64 cr3_key; /* tv_cr3_key of the caller's CR3 */
	struct tv_pal_layout layout;
	struct tv_page pages[TV_MAX_PAL_PAGES]; /* layout.pages of them, in section order */
};

struct tv_registry {
	struct tv_pal pals[TV_MAX_PALS];
};

/* Receives each page of a removed PAL (to scrub and give back to the guest). */
struct tv_page_sink {
	void (*page)(void *ctx, const struct tv_page *p);
	void *ctx;
};

/* The address bits of CR3 for 'mode' (SDM Vol. 3 4.2 Table 4-2 .. 4.5): without PCID, PWT/PCD
 * and the bits a PAE CR3 ignores, so one address space has one key (bug_017); an L2 caller's
 * key has TV_CR3_KEY_L2 too (bit 0, never an address bit), so L1 and L2 keys never meet. */
#define TV_CR3_KEY_L2 BIT(0)
u64 tv_cr3_key(u64 cr3, enum tv_paging mode, bool l2);

/* Whether a page's contents are the PAL's (scrubbed when it goes): all but SHARED_CODE. */
static inline bool tv_page_private(const struct tv_page *p) { return p->type != TV_PAL_SECTION_SHARED_CODE; }

void tv_registry_init(struct tv_registry *r);

/* Register: translate every page through the caller's page tables with the rights the PAL
 * gets (bug_106: writable for DATA/PARAM/STACK, executable for CODE/SHARED_CODE), refuse a
 * page another PAL holds or two pages that are one. TV_OK and *out, or an error and no change. */
enum tv_error tv_registry_add(struct tv_registry *r, const struct tv_pal_layout *l, u64 cr3_key,
			      const struct tv_translator *t, struct tv_pal **out);

/* The PAL entered by a fetch at 'entry' in this address space and mode, or NULL. */
struct tv_pal *tv_registry_find(struct tv_registry *r, gva_t entry, u64 cr3_key, bool caller64);

/* The PAL holding the guest-physical page of 'gpa', or NULL (the page of *page if given). */
const struct tv_pal *tv_registry_owner(const struct tv_registry *r, l1_gpa_t gpa, const struct tv_page **page);

/* The page of the PAL's sections holding va, or NULL. */
const struct tv_page *tv_pal_page(const struct tv_pal *pal, gva_t va);

/* Whether [va, va + len) shares a byte with a section of a PAL of this address space;
 * true for a wrapping range. */
bool tv_registry_covers(const struct tv_registry *r, u64 cr3_key, gva_t va, u64 len);

/* TV_HC_UNREG: remove the PAL, each of its pages to 'sink'. */
enum tv_error tv_registry_remove(struct tv_registry *r, gva_t entry, u64 cr3_key, bool caller64,
				 const struct tv_page_sink *sink);

/* Guest shutdown or reset: remove every PAL, running or not, each page to 'sink'. */
void tv_registry_clear(struct tv_registry *r, const struct tv_page_sink *sink);

#endif
