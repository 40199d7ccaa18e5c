/* CPUID (SDM Vol. 2A CPUID): the real answer with what the guest must not
 * see removed and what it must see derived from its own CR4. */
#include <runtime/vmexit.h>
#include <runtime/vmx_ops.h>
#include <xmhf/cpu.h>
#include <xmhf/vmx.h>

#define CPUID_HV_BASE 0x40000000u
#define CPUID_HV_LAST 0x400000ffu
#define CPUID_HV_MAX_LEAF 0x40000001u
#define CPUID_HV_INTERFACE_VERSION 1
#define CPUID7_EBX_INTEL_PT BIT(25)
#define CPUID7_ECX_OSPKE BIT(4)
/* "XMHFXMHFXMHF" in EBX, ECX, EDX */
#define CPUID_HV_SIGNATURE 0x46484d58u

void handle_cpuid(struct guest_regs *regs)
{
	u32 leaf = (u32)regs->rax, sub = (u32)regs->rcx;
	struct cpuid_regs r = cpuid(leaf, sub);
	u64 cr4 = vmread(VMCS_GUEST_CR4);

	if (leaf >= CPUID_HV_BASE && leaf <= CPUID_HV_LAST) {
		r = (struct cpuid_regs){ 0 };
		if (leaf == CPUID_HV_BASE)
			r = (struct cpuid_regs){ CPUID_HV_MAX_LEAF, CPUID_HV_SIGNATURE, CPUID_HV_SIGNATURE,
						 CPUID_HV_SIGNATURE };
		else if (leaf == CPUID_HV_BASE + 1)
			r.eax = CPUID_HV_INTERFACE_VERSION;
	} else if (leaf == 1) {
		r.ecx &= ~(u32)(CPUID1_ECX_VMX | CPUID1_ECX_SMX | CPUID1_ECX_OSXSAVE);
		r.ecx |= CPUID1_ECX_HYPERVISOR | ((cr4 & CR4_OSXSAVE) ? CPUID1_ECX_OSXSAVE : 0);
	} else if (leaf == 7 && sub == 0) {
		r.ebx &= ~(u32)CPUID7_EBX_INTEL_PT; /* PT could write trace data anywhere */
		r.ecx = (r.ecx & ~(u32)CPUID7_ECX_OSPKE) | ((cr4 & CR4_PKE) ? CPUID7_ECX_OSPKE : 0);
	}
	regs->rax = r.eax;
	regs->rbx = r.ebx;
	regs->rcx = r.ecx;
	regs->rdx = r.edx;
	skip_instruction();
}
