/* The MSR policy (docs/msr-policy.md): the guest's RDMSR/WRMSR that run
 * without a VM exit, and the intercepted ones done on the real MSR. Every
 * other access exits and is emulated (exit_msr.c) or gets #GP(0). */
#ifndef RUNTIME_MSR_POLICY_H
#define RUNTIME_MSR_POLICY_H

#include <xmhf/types.h>

struct msr_range {
	u32 first, last;
	bool read, write;
};

/* The allow-list: accesses that do not exit. */
extern const struct msr_range msr_pass_through[];
extern const u32 msr_pass_through_count;

/* Fill a 4 KiB MSR bitmap (SDM Vol. 3 25.6.9): every access exits except
 * those of msr_pass_through. */
void msr_bitmap_build(u8 *bitmap);
/* An intercepted access that goes to the real MSR, fault-safely. */
bool msr_forwarded(u32 msr, bool write);
/* Turn off on this CPU what would write trace or PEBS records in VMX
 * root (the guest cannot turn it on again: those MSRs #GP). */
void msr_root_clear(void);

#endif
