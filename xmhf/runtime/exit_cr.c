/* MOV to CR0/CR4 and LMSW exits (only bits the hypervisor owns cause them,
 * 26.6.6; CR0.PG is owned so that IA-32e mode activation exits) and
 * XSETBV. Faults follow SDM Vol. 2B "MOV to/from Control Registers" and
 * Vol. 2C XSETBV. */
#include <runtime/ept01.h>
#include <runtime/exit_handlers.h>
#include <runtime/guest_walk.h>
#include <runtime/percpu.h>
#include <runtime/vmx_ops.h>
#include <xmhf/cpu.h>
#include <xmhf/fixup.h>
#include <xmhf/nested.h>
#include <xmhf/vmx.h>
#include <xmhf/x86/segment.h>

#define CR_QUAL_NUMBER(q) ((q) & 0xf)
#define CR_QUAL_TYPE(q) (((q) >> 4) & 3)
#define CR_QUAL_GPR(q) (((q) >> 8) & 0xf)
#define CR_QUAL_LMSW_SOURCE(q) (((q) >> 16) & 0xffff)
#define CR_ACCESS_MOV_TO 0
#define CR_ACCESS_LMSW 3
#define XCR0_X87 BIT(0)
#define XCR0_SSE BIT(1)
#define XCR0_AVX BIT(2)

/* PAE paging outside IA-32e mode (4.4.1): a MOV to CR0/CR4 that leaves it
 * in effect loads the PDPTEs from CR3, and faults instead if a present one
 * has a reserved bit set (Table 4-8; VM entry would fail on it, 27.3.1.6). */
static bool pae_legacy_paging(u64 cr0, u64 cr4, u64 efer)
{
	/* with CR0.PG set, EFER.LMA follows EFER.LME */
	return (cr0 & CR0_PG) && (cr4 & CR4_PAE) && !(efer & EFER_LME);
}

/* The guest's view of CR0 or CR4: owned bits from the read shadow (25.6.6). */
static u64 guest_view(enum vmcs_field real, enum vmcs_field shadow, u64 owned)
{
	return (vmread(real) & ~owned) | (vmread(shadow) & owned);
}

/* SDM Vol. 2B "MOV—Move to/from Control Registers" (#GP(0) list), Vol. 3
 * 2.5 CR0/CR4, 4.10.1 PCIDE, 10.8.5 IA-32e mode: may the guest's CR0 and
 * CR4 go from (cr0, cr4) to (new0, new4)? Only one of them changes. */
static bool cr_write_allowed(u64 cr0, u64 cr4, u64 new0, u64 new4, u64 efer)
{
	const struct vmx_caps *c = &this_cpu()->vmx;
	bool lma = efer & EFER_LMA, code64 = lma && (vmread(VMCS_GUEST_CS_AR_BYTES) & AR_L);
	bool activates = !(cr0 & CR0_PG) && (new0 & CR0_PG) && (efer & EFER_LME);

	if ((new0 >> 32) || ((new0 & CR0_PG) && !(new0 & CR0_PE)) || ((new0 & CR0_NW) && !(new0 & CR0_CD)))
		return false;
	/* reserved: bits the CPU does not allow, and SMXE (SMX is not
	 * offered); VMXE and VMX operation's fixed bits: nested VMX's */
	if ((new4 & ~c->cr4_fixed1) || (new4 & CR4_SMXE) || !nested_cr_write_allowed(new0, new4))
		return false;
	if (activates && (!(new4 & CR4_PAE) || (vmread(VMCS_GUEST_CS_AR_BYTES) & AR_L)))
		return false; /* IA-32e mode needs PAE and CS.L = 0 (as KVM) */
	if ((cr0 & CR0_PG) && !(new0 & CR0_PG) && code64)
		return false; /* leaving paging from 64-bit code */
	if ((new4 & CR4_PCIDE) && !(new0 & CR0_PG))
		return false;
	if ((new4 & CR4_CET) && !(new0 & CR0_WP))
		return false;
	if ((new4 & CR4_PCIDE) && !(cr4 & CR4_PCIDE) && (!lma || (vmread(VMCS_GUEST_CR3) & 0xfff)))
		return false;
	if (lma && (!(new4 & CR4_PAE) || ((new4 ^ cr4) & CR4_LA57)))
		return false;
	return true;
}

/* Commit a checked write: read shadows, the real registers (fixed bits and
 * caches on, 25.8), IA-32e mode (EFER.LMA and the VM-entry control follow
 * EFER.LME && CR0.PG, 10.8.5), the PDPTEs and the TLB flush the CPU does. */
static void cr_write_commit(u64 cr0, u64 cr4, u64 new0, u64 new4, u64 efer, const u64 *pdpte)
{
	struct percpu *p = this_cpu();
	u64 forced0 = p->cr0_mask & ~(CR0_PE | CR0_PG); /* unrestricted guest: PE/PG as written */
	u64 entry = vmread(VMCS_VM_ENTRY_CONTROLS);
	bool lma = (efer & EFER_LME) && (new0 & CR0_PG);

	vmwrite(VMCS_CR0_READ_SHADOW, new0);
	vmwrite(VMCS_GUEST_CR0, ((new0 & ~forced0) | (p->vmx.cr0_fixed0 & forced0)) & ~(CR0_CD | CR0_NW));
	vmwrite(VMCS_CR4_READ_SHADOW, new4);
	vmwrite(VMCS_GUEST_CR4, new4 | p->vmx.cr4_fixed0);
	if (lma && !(efer & EFER_LMA)) {
		/* The SDM does not fault IA-32e mode activation with a 16-bit TSS
		 * in TR, but VM entry wants type 11 (27.3.1.2); in IA-32e mode the
		 * CPU reads the TSS in the 64-bit format anyway (as KVM does). */
		u64 tr = vmread(VMCS_GUEST_TR_AR_BYTES);
		if ((tr & AR_TYPE_MASK) != DESC_TSS32_BUSY)
			vmwrite(VMCS_GUEST_TR_AR_BYTES, (tr & ~AR_TYPE_MASK) | DESC_TSS32_BUSY);
	}
	vmwrite(VMCS_GUEST_IA32_EFER, lma ? efer | EFER_LMA : efer & ~EFER_LMA);
	vmwrite(VMCS_VM_ENTRY_CONTROLS, lma ? entry | ENTRY_IA32E_MODE_GUEST : entry & ~ENTRY_IA32E_MODE_GUEST);
	if (pdpte)
		for (u32 i = 0; i < 4; i++)
			vmwrite(VMCS_GUEST_PDPTE0 + 2 * i, pdpte[i]);
	/* 4.10.4.1: these changes invalidate TLBs and paging-structure caches;
	 * single-context INVEPT drops every combined mapping of this EPT
	 * (29.4.3.1), a superset */
	if (((cr0 ^ new0) & CR0_PG) || ((cr4 ^ new4) & (CR4_PGE | CR4_PAE | CR4_PCIDE | CR4_SMEP)))
		invept(INVEPT_SINGLE_CONTEXT, vmread(VMCS_EPT_POINTER));
}

/* The guest's CR0 and CR4, (cr0, cr4) as it sees them, become (new0,
 * new4): check everything, then commit (an emulated write happens whole or
 * not at all). */
static bool guest_write_cr(u64 cr0, u64 cr4, u64 new0, u64 new4)
{
	u64 efer = vmread(VMCS_GUEST_IA32_EFER), pdpte[4];

	/* 2.5: CR0's reserved bits 31:0 ignore writes; ET is hardwired to 1 */
	new0 = (new0 & ~CR0_RESERVED_LOW) | CR0_ET;
	if (!cr_write_allowed(cr0, cr4, new0, new4, efer))
		return false;
	bool pae = pae_legacy_paging(new0, new4, efer);
	if (pae && !guest_pae_pdptes(vmread(VMCS_GUEST_CR3), this_cpu()->mtrr.phys_addr_mask, pdpte))
		return false;
	cr_write_commit(cr0, cr4, new0, new4, efer, pae ? pdpte : NULL);
	return true;
}

void handle_cr_access(struct guest_regs *regs)
{
	struct percpu *p = this_cpu();
	u64 q = vmread(VMCS_EXIT_QUALIFICATION);
	u64 cr0 = guest_view(VMCS_GUEST_CR0, VMCS_CR0_READ_SHADOW, p->cr0_mask);
	u64 cr4 = guest_view(VMCS_GUEST_CR4, VMCS_CR4_READ_SHADOW, p->cr4_mask);
	bool ok;

	if (CR_QUAL_TYPE(q) == CR_ACCESS_LMSW) {
		/* LMSW writes CR0 bits 3:0 but cannot clear PE */
		u64 src = CR_QUAL_LMSW_SOURCE(q) & 0xf;
		ok = guest_write_cr(cr0, cr4, (cr0 & ~0xeull) | src | (cr0 & CR0_PE), cr4);
	} else if (CR_QUAL_TYPE(q) != CR_ACCESS_MOV_TO) {
		vmexit_unexpected("unexpected control-register access");
	} else {
		u64 value = *guest_gpr(regs, CR_QUAL_GPR(q));
		if (!(vmread(VMCS_GUEST_CS_AR_BYTES) & AR_L) || !(vmread(VMCS_GUEST_IA32_EFER) & EFER_LMA))
			value = (u32)value; /* outside 64-bit mode the source is 32 bits */
		if (CR_QUAL_NUMBER(q) == 0)
			ok = guest_write_cr(cr0, cr4, value, cr4);
		else if (CR_QUAL_NUMBER(q) == 4)
			ok = guest_write_cr(cr0, cr4, cr0, value);
		else
			vmexit_unexpected("unexpected MOV to control register");
	}
	if (!ok) {
		inject_gp0();
		return;
	}
	skip_instruction();
}

/* XSETBV: #UD (CR4.OSXSAVE = 0) and #GP for CPL > 0 are raised by the CPU
 * before the exit (25.1.1); the value checks are ours. */
void handle_xsetbv(struct guest_regs *regs)
{
	u64 value = (regs->rdx << 32) | (u32)regs->rax;
	struct cpuid_regs xsave = cpuid(0xd, 0);
	u64 supported = ((u64)xsave.edx << 32) | xsave.eax;

	if ((u32)regs->rcx != 0 || !(value & XCR0_X87) || (value & ~supported) ||
	    ((value & XCR0_AVX) && !(value & XCR0_SSE)) || !xsetbv_safe(0, value)) {
		inject_gp0();
		return;
	}
	skip_instruction();
}
