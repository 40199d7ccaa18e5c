/* VPID02: the VPIDs L2 runs with (docs/nested.md "VPID02"). L1 tags L2's
 * TLB entries with its VPID12s; on this CPU each VPID12 in use gets one of
 * a few VPIDs of L0's own (never VPID01 or 0), the least recently used one
 * recycled after an INVVPID of its old entries. Per CPU, on that CPU. */
#ifndef NESTED_VPID02_H
#define NESTED_VPID02_H

#include <nested/caps.h>
#include <xmhf/types.h>

#define VPID02_FIRST 2 /* VPID01 is 1 (the core's VMCS01) */
#define VPID02_COUNT 8

struct vpid02_map {
	u16 vpid12[VPID02_COUNT]; /* 0: slot free */
	u32 last_use[VPID02_COUNT];
	u32 clock;
};

/* Whether VMCS02 can enable VPID (the CPU has the INVVPID types the
 * recycling and L1's INVVPID need); else L2 runs with VPID 0 (29.1: its
 * entries are flushed at every VM entry and exit). */
bool vpid02_usable(const struct l1_caps *c);
/* The VPID02 for L1's vpid12 (not 0). */
u16 vpid02_of(struct vpid02_map *m, const struct l1_caps *c, u16 vpid12);
/* L1's INVVPID of a valid descriptor (SDM Vol. 3 32.3 INVVPID): the same
 * invalidation of the VPID02s it names; nothing for a VPID12 without one
 * (its entries were invalidated when its VPID02 was recycled). */
void vpid02_invvpid(struct vpid02_map *m, const struct l1_caps *c, u64 type, u16 vpid12, u64 linear);

#endif
