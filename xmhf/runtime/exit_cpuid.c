/* CPUID (SDM Vol. 2A CPUID): the real answer with what the guest cannot use
 * removed and what it must see derived from its own CR4. A feature whose
 * instruction needs a secondary control (SDM Vol. 3 26.3, "Instructions
 * That Cause VM Exits Conditionally" / #UD in non-root) is shown only if
 * VMCS01 enabled that control. */
#include <runtime/exit_handlers.h>
#include <runtime/vmx_ops.h>
#include <xmhf/cpu.h>
#include <xmhf/hypapp.h>
#include <xmhf/msr.h>
#include <xmhf/nested.h>
#include <xmhf/vmx.h>

#define CPUID_HV_BASE 0x40000000u
#define CPUID_EXT_BASE 0x80000000u
#define CPUID_HV_LAST 0x400000ffu
#define CPUID_HV_MAX_LEAF 0x40000001u
#define CPUID_HV_INTERFACE_VERSION 1
/* "XMHFXMHFXMHF" in EBX, ECX, EDX */
#define CPUID_HV_SIGNATURE 0x46484d58u
#define ANY_SUBLEAF 0xffffffffu

/* the answer's registers by GPR number (SDM Vol. 3 Table 28-3): bits are removed in struct guest_regs */
enum cpuid_reg { EAX = 0, ECX = 1, EDX = 2, EBX = 3 };

struct gated_feature {
	u32 leaf, sub;
	enum cpuid_reg reg;
	u32 bit;
	u32 control; /* the secondary control it needs; 0: never offered */
};

/* sorted by leaf: remove_gated stops at the first larger leaf */
static const struct gated_feature gated[] = {
	{ 1, ANY_SUBLEAF, ECX, CPUID1_ECX_DTES64, 0 }, /* DS, PEBS, BTS: they write memory from VMX root */
	{ 1, ANY_SUBLEAF, ECX, CPUID1_ECX_DS_CPL, 0 },
	{ 1, ANY_SUBLEAF, ECX, CPUID1_ECX_VMX, 0 }, /* set again if nested VMX offers it */
	{ 1, ANY_SUBLEAF, ECX, CPUID1_ECX_SMX, 0 }, /* GETSEC is not virtualized */
	{ 1, ANY_SUBLEAF, ECX, CPUID1_ECX_PDCM, 0 }, /* IA32_PERF_CAPABILITIES: the PMU is hidden */
	{ 1, ANY_SUBLEAF, EDX, CPUID1_EDX_DS, 0 },
	{ 7, 0, EBX, CPUID7_EBX_INVPCID, PROC2_ENABLE_INVPCID },
	{ 7, 0, EBX, CPUID7_EBX_INTEL_PT, 0 }, /* PT could write trace data anywhere */
	{ 7, 0, ECX, CPUID7_ECX_WAITPKG, PROC2_ENABLE_USER_WAIT_PAUSE },
	{ 7, 0, ECX, CPUID7_ECX_RDPID, PROC2_ENABLE_RDTSCP },
	{ 7, 0, EDX, CPUID7_EDX_PCONFIG, PROC2_ENABLE_PCONFIG },
	{ 7, 0, EDX, CPUID7_EDX_ARCH_LBR, 0 }, /* the LBR MSRs #GP */
	{ 0xd, 1, EAX, CPUID_D1_EAX_XSAVES, PROC2_ENABLE_XSAVES },
	{ 0xd, 1, ECX, XSS_PT, 0 }, /* IA32_XSS may not enable the PT state */
	{ 0x80000001, ANY_SUBLEAF, EDX, CPUID_EXT1_EDX_RDTSCP, PROC2_ENABLE_RDTSCP },
};

/* The highest basic and extended leaves (CPUID.0:EAX, CPUID.80000000H:EAX),
 * the same on every CPU: leaves above them, outside the hypervisor range, are
 * the hypapp's (hypapp.h). */
static u32 max_basic_leaf, max_extended_leaf;

void cpuid_limits_init(void)
{
	max_basic_leaf = cpuid(0, 0).eax;
	max_extended_leaf = cpuid(CPUID_EXT_BASE, 0).eax;
}

static ALWAYS_INLINE void remove_gated(struct guest_regs *regs, u32 leaf, u32 sub)
{
	u32 controls = 0;
	bool read = false;
	for (u32 i = 0; i < sizeof(gated) / sizeof(gated[0]); i++) {
		const struct gated_feature *f = &gated[i];
		if (f->leaf > leaf)
			break;
		if (f->leaf != leaf || (f->sub != ANY_SUBLEAF && f->sub != sub))
			continue;
		if (f->control && !read) {
			controls = (u32)vmread(VMCS_SECONDARY_VM_EXEC_CONTROL);
			read = true;
		}
		if (!f->control || !(controls & f->control))
			*guest_gpr(regs, f->reg) &= ~(u64)f->bit;
	}
}

static void answer(struct guest_regs *regs, struct cpuid_regs r)
{
	regs->rax = r.eax;
	regs->rbx = r.ebx;
	regs->rcx = r.ecx;
	regs->rdx = r.edx;
}

/* A basic or extended leaf: what the guest must see derived from its own
 * CR4, and the leaves of hidden features (all zeros: the PMU, Intel PT, architectural LBRs, the PT XSAVE
 * component). */
static ALWAYS_INLINE struct cpuid_regs cpu_leaf(u32 leaf, u32 sub)
{
	struct cpuid_regs r = cpuid(leaf, sub);
	switch (leaf) {
	case 1:
		r.ecx &= ~(u32)CPUID1_ECX_OSXSAVE;
		r.ecx |= CPUID1_ECX_HYPERVISOR | ((vmread(VMCS_GUEST_CR4) & CR4_OSXSAVE) ? CPUID1_ECX_OSXSAVE : 0);
		break;
	case 7:
		if (sub == 0)
			r.ecx = (r.ecx & ~(u32)CPUID7_ECX_OSPKE) | ((vmread(VMCS_GUEST_CR4) & CR4_PKE) ? CPUID7_ECX_OSPKE : 0);
		break;
	case 0xa:
	case 0x14:
	case 0x1c:
		return (struct cpuid_regs){ 0 };
	case 0xd:
		if (sub == XSS_PT_COMPONENT)
			return (struct cpuid_regs){ 0 };
		break;
	}
	return r;
}

/* The hypervisor's leaves, and those the core does not define, which the
 * hypapp may answer (out of the path of the CPU's own leaves). The CPU
 * answers an undefined leaf as its highest basic leaf (SDM Vol. 2A CPUID),
 * so the guest gets that leaf as the core shows it. */
static NOINLINE void other_leaf(struct guest_regs *regs, u32 leaf, u32 sub)
{
	if (leaf >= CPUID_HV_BASE && leaf <= CPUID_HV_LAST) {
		struct cpuid_regs r = { 0 };
		if (leaf == CPUID_HV_BASE)
			r = (struct cpuid_regs){ CPUID_HV_MAX_LEAF, CPUID_HV_SIGNATURE, CPUID_HV_SIGNATURE,
						 CPUID_HV_SIGNATURE };
		else if (leaf == CPUID_HV_BASE + 1)
			r.eax = CPUID_HV_INTERFACE_VERSION;
		answer(regs, r);
	} else {
		answer(regs, cpu_leaf(max_basic_leaf, sub));
		remove_gated(regs, max_basic_leaf, sub);
		if (hypapp_cpuid(regs, leaf, sub) == HYPAPP_DONE)
			return;
	}
	skip_instruction();
}

/* cpu_leaf and remove_gated are inlined here and in other_leaf: this is
 * the path of every leaf a guest normally asks. */
void handle_cpuid(struct guest_regs *regs)
{
	u32 leaf = (u32)regs->rax, sub = (u32)regs->rcx;

	if (leaf > max_basic_leaf && (leaf < CPUID_EXT_BASE || leaf > max_extended_leaf)) {
		other_leaf(regs, leaf, sub);
		return;
	}
	answer(regs, cpu_leaf(leaf, sub));
	remove_gated(regs, leaf, sub);
	if (leaf == 1 && nested_vmx_offered())
		regs->rcx |= CPUID1_ECX_VMX;
	skip_instruction();
}
