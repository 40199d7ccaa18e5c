/* CPU-level fault-safe primitives (platform/fixup.S): a fault makes the
 * call return false instead of crashing the hypervisor. The image's
 * exception handler resumes at ex_table_lookup(rip) (platform/ex_table.c);
 * only the runtime links them. */
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
