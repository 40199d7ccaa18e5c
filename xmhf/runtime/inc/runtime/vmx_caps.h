/* Every IA32_VMX_* MSR of one CPU, and VMX on/off for that CPU. */
#ifndef RUNTIME_VMX_CAPS_H
#define RUNTIME_VMX_CAPS_H

#include <xmhf/types.h>

struct vmx_caps {
	u64 basic, misc, vmcs_enum;
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	/* the effective control MSRs: TRUE_* when VMX_BASIC bit 55 is set */
	u64 pinbased, procbased, exit, entry;
	u64 procbased2, ept_vpid, vmfunc; /* 0 when not supported */
	u64 raw_pinbased, raw_procbased, raw_exit, raw_entry; /* non-TRUE MSRs */
};

/* Check VMX and the features the hypervisor needs, read the capability
 * MSRs into caps, and VMXON with vmxon_region. Returns NULL on success or
 * a message naming the missing feature. */
const char *vmx_cpu_on(struct vmx_caps *caps, void *vmxon_region);

#endif
