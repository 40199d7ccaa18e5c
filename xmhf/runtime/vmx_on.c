/* Entering VMX root operation (SDM Vol. 3 25.7 "Enabling and entering VMX
 * operation", 25.8 "Restrictions on VMX operation"). */
#include <xmhf/fixup.h>
#include <runtime/vmx_caps.h>
#include <xmhf/cpu.h>
#include <xmhf/msr.h>
#include <xmhf/vmx.h>

static void read_caps(struct vmx_caps *c)
{
	c->basic = rdmsr(MSR_IA32_VMX_BASIC);
	c->misc = rdmsr(MSR_IA32_VMX_MISC);
	c->vmcs_enum = rdmsr(MSR_IA32_VMX_VMCS_ENUM);
	c->cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	c->cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	c->cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	c->cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	c->raw_pinbased = rdmsr(MSR_IA32_VMX_PINBASED_CTLS);
	c->raw_procbased = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS);
	c->raw_exit = rdmsr(MSR_IA32_VMX_EXIT_CTLS);
	c->raw_entry = rdmsr(MSR_IA32_VMX_ENTRY_CTLS);
	if (c->basic & VMX_BASIC_TRUE_CTLS) {
		c->pinbased = rdmsr(MSR_IA32_VMX_TRUE_PINBASED_CTLS);
		c->procbased = rdmsr(MSR_IA32_VMX_TRUE_PROCBASED_CTLS);
		c->exit = rdmsr(MSR_IA32_VMX_TRUE_EXIT_CTLS);
		c->entry = rdmsr(MSR_IA32_VMX_TRUE_ENTRY_CTLS);
	} else {
		c->pinbased = c->raw_pinbased;
		c->procbased = c->raw_procbased;
		c->exit = c->raw_exit;
		c->entry = c->raw_entry;
	}
	/* A.3.3: PROCBASED_CTLS2 exists iff "activate secondary controls" may be 1;
	 * A.10: EPT_VPID_CAP iff EPT or VPID may be 1; A.11: VMFUNC iff VM functions. */
	c->procbased2 = 0;
	c->ept_vpid = 0;
	c->vmfunc = 0;
	if (vmx_ctl_allowed1(c->raw_procbased) & PROC_ACTIVATE_SECONDARY) {
		c->procbased2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
		u32 allowed2 = vmx_ctl_allowed1(c->procbased2);
		if (allowed2 & (PROC2_ENABLE_EPT | PROC2_ENABLE_VPID))
			c->ept_vpid = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
		if (allowed2 & PROC2_VMFUNC)
			c->vmfunc = rdmsr(MSR_IA32_VMX_VMFUNC);
	}
}

/* The features the hypervisor cannot run without, each with its name. */
static const char *missing_feature(const struct vmx_caps *c)
{
	u32 allowed2 = vmx_ctl_allowed1(c->procbased2);

	if (!(vmx_ctl_allowed1(c->raw_procbased) & PROC_ACTIVATE_SECONDARY))
		return "missing secondary processor-based VM-execution controls";
	if (!(allowed2 & PROC2_ENABLE_EPT))
		return "missing EPT (IA32_VMX_PROCBASED_CTLS2 bit 33)";
	if (!(allowed2 & PROC2_UNRESTRICTED_GUEST))
		return "missing unrestricted guest (IA32_VMX_PROCBASED_CTLS2 bit 39)";
	if (!(allowed2 & PROC2_ENABLE_VPID))
		return "missing VPID (IA32_VMX_PROCBASED_CTLS2 bit 37)";
	if (!(c->ept_vpid & EPT_CAP_WALK_4))
		return "missing EPT 4-level page walk (IA32_VMX_EPT_VPID_CAP bit 6)";
	if (!(c->ept_vpid & EPT_CAP_WB))
		return "missing EPT write-back memory type (IA32_VMX_EPT_VPID_CAP bit 14)";
	if (!(c->ept_vpid & EPT_CAP_INVEPT))
		return "missing INVEPT (IA32_VMX_EPT_VPID_CAP bit 20)";
	return NULL;
}

const char *vmx_cpu_on(struct vmx_caps *caps, void *vmxon_region)
{
	u64 fc;

	if (!(cpuid(1, 0).ecx & CPUID1_ECX_VMX))
		return "missing VMX (CPUID.1:ECX.VMX = 0)";
	if (!rdmsr_safe(MSR_IA32_FEATURE_CONTROL, &fc))
		return "IA32_FEATURE_CONTROL is not readable";
	if (!(fc & FEATURE_CONTROL_LOCK)) {
		/* 25.7: firmware left it unlocked; allow VMX outside SMX and lock it. */
		fc |= FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX;
		if (!wrmsr_safe(MSR_IA32_FEATURE_CONTROL, fc))
			return "IA32_FEATURE_CONTROL cannot be written";
	} else if (!(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
		return "VMX disabled by firmware (IA32_FEATURE_CONTROL locked with bit 2 clear)";
	}
	read_caps(caps);
	const char *missing = missing_feature(caps);
	if (missing)
		return missing;

	/* 25.8: CR0 and CR4 must honour the FIXED0/FIXED1 MSRs in VMX operation. */
	write_cr0((read_cr0() | caps->cr0_fixed0) & caps->cr0_fixed1);
	write_cr4((read_cr4() | caps->cr4_fixed0 | CR4_VMXE) & caps->cr4_fixed1);

	/* XSETBV on behalf of the guest needs CR4.OSXSAVE in the host */
	if (cpuid(1, 0).ecx & CPUID1_ECX_XSAVE)
		write_cr4(read_cr4() | CR4_OSXSAVE);

	*(u32 *)vmxon_region = (u32)(caps->basic & VMX_BASIC_REVISION_MASK);
	u64 pa = (u64)vmxon_region;
	u8 failed;
	__asm__ volatile("vmxon %1; setbe %0" : "=qm"(failed) : "m"(pa) : "cc", "memory");
	return failed ? "VMXON failed" : NULL;
}
