/* TV_HC_REG's structures, read from the guest and validated (issue 8 points 4, 5 and 9): the
 * section and parameter lists become a tv_pal_layout the rest of TrustVisor trusts. Errors:
 * tv_errors.h. Pure logic; guest memory through struct tv_guest_mem. */
#ifndef TV_REGISTER_H
#define TV_REGISTER_H

#include <tv_abi.h>
#include "tv_errors.h"
#include "tv_guest.h"
#include <xmhf/paging.h>

/* Pages a PAL may have in all (its sections together): keeps the registry and the PAL's page
 * tables bounded (each section then spans at most two page tables of each level). */
#define TV_MAX_PAL_PAGES 64u

struct tv_section {
	u32 type;  /* TV_PAL_SECTION_* */
	u32 pages;
	gva_t start;
};

struct tv_param {
	u32 type;  /* TV_PAL_PM_* */
	u64 bytes; /* POINTER: words x caller word size; INTEGER: 0 */
};

struct tv_pal_layout {
	bool caller64;         /* registered (and called) from 64-bit mode */
	gva_t entry;
	u32 n_sections, n_params, pages;
	u32 param_sec, stack_sec; /* indices of the PARAM and STACK sections */
	u64 area_bytes;        /* the parameter area: count, entries, pointer data */
	struct tv_section sections[TV_MAX_SECTIONS];
	struct tv_param params[TV_MAX_PARAMS];
};

/* The caller's word size (4 or 8 bytes). */
static inline u64 tv_word(bool caller64) { return caller64 ? 8 : 4; }
static inline u64 tv_section_end(const struct tv_section *s) { return s->start.v + ((u64)s->pages << PAGE_SHIFT); }

/* Whether [start, start + bytes) lies in the caller's address space without wrapping: below
 * 4 GiB for a 32-bit caller, in one canonical half for a 64-bit one (SDM Vol. 3 3.3.7.1). */
bool tv_in_address_space(u64 start, u64 bytes, bool caller64);

/* Validate the lists as copied from the guest: TV_OK and *out, or the first error found. */
enum tv_error tv_validate(const struct tv_pal_sections *secs, const struct tv_pal_params *params,
			  gva_t entry, bool caller64, struct tv_pal_layout *out);

/* TV_HC_REG's arguments: read both structures through 'caller' (a 32-bit caller's addresses
 * are 32 bits) and validate them. */
enum tv_error tv_parse_registration(const struct tv_guest_mem *caller, gva_t sections, gva_t params,
				    gva_t entry, bool caller64, struct tv_pal_layout *out);

#endif
