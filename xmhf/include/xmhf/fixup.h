/* Instructions that may fault, with an exception fix-up: a fault makes the
 * call return false instead of crashing the hypervisor. */
#ifndef XMHF_FIXUP_H
#define XMHF_FIXUP_H

#include <xmhf/types.h>

bool rdmsr_safe(u32 msr, u64 *value);
bool wrmsr_safe(u32 msr, u64 value);

struct ex_table_entry {
	u64 fault_rip;
	u64 fixup_rip;
};

/* The fix-up address for a fault at rip, or 0. */
u64 ex_table_lookup(u64 rip);

/* XSETBV of XCR xcr; false if it faulted. */
bool xsetbv_safe(u32 xcr, u64 value);

#endif
