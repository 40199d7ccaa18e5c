/* MOV to CR0/CR4 exits (only bits the hypervisor owns cause them, 26.6.6)
 * and XSETBV. Faults follow SDM Vol. 2B "MOV to/from Control Registers"
 * and Vol. 2C XSETBV. */
#include <runtime/ept01.h>
#include <xmhf/fixup.h>
#include <runtime/guest_walk.h>
#include <runtime/percpu.h>
#include <runtime/vmexit.h>
#include <runtime/vmx_ops.h>
#include <xmhf/cpu.h>
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

/* IA-32e mode follows EFER.LME and CR0.PG (10.8.5): keep the VM-entry
 * control and the guest EFER.LMA in step when an emulated write moves PG. */
static void update_long_mode(u64 cr0)
{
	u64 efer = vmread(VMCS_GUEST_IA32_EFER);
	u64 entry = vmread(VMCS_VM_ENTRY_CONTROLS);
	bool lma = (efer & EFER_LME) && (cr0 & CR0_PG);
	vmwrite(VMCS_GUEST_IA32_EFER, lma ? efer | EFER_LMA : efer & ~EFER_LMA);
	vmwrite(VMCS_VM_ENTRY_CONTROLS, lma ? entry | ENTRY_IA32E_MODE_GUEST : entry & ~ENTRY_IA32E_MODE_GUEST);
}

/* PAE paging outside IA-32e mode (4.4.1): a MOV to CR0/CR4 that leaves it
 * in effect loads the PDPTEs from CR3, and faults instead if a present one
 * has a reserved bit set (Table 4-8; VM entry would fail on it, 27.3.1.6). */
static bool pae_legacy_paging(u64 cr0, u64 cr4)
{
	/* with CR0.PG set, EFER.LMA follows EFER.LME */
	return (cr0 & CR0_PG) && (cr4 & CR4_PAE) && !(vmread(VMCS_GUEST_IA32_EFER) & EFER_LME);
}

static bool read_pdptes(u64 pdpte[4])
{
	return guest_pae_pdptes(vmread(VMCS_GUEST_CR3), this_cpu()->mtrr.phys_addr_mask, pdpte);
}

static void write_pdptes(const u64 pdpte[4])
{
	for (u32 i = 0; i < 4; i++)
		vmwrite(VMCS_GUEST_PDPTE0 + 2 * i, pdpte[i]);
}

static bool guest_write_cr0(u64 value)
{
	struct percpu *p = this_cpu();
	u64 cr4 = vmread(VMCS_GUEST_CR4);
	u64 pdpte[4];
	if ((value >> 32) || ((value & CR0_PG) && !(value & CR0_PE)) || ((value & CR0_NW) && !(value & CR0_CD)))
		return false;
	if ((value & CR0_PG) && (vmread(VMCS_GUEST_IA32_EFER) & EFER_LME) && !(cr4 & CR4_PAE))
		return false;
	if (!(value & CR0_PG) && (vmread(VMCS_GUEST_CS_AR_BYTES) & AR_L) &&
	    (vmread(VMCS_GUEST_IA32_EFER) & EFER_LMA))
		return false; /* leaving paging from 64-bit code */
	bool pae = pae_legacy_paging(value, cr4);
	if (pae && !read_pdptes(pdpte))
		return false;
	u64 owned = p->cr0_mask;
	u64 real = ((value & ~owned) | (p->vmx.cr0_fixed0 & owned)) & ~(CR0_CD | CR0_NW);
	vmwrite(VMCS_CR0_READ_SHADOW, value);
	vmwrite(VMCS_GUEST_CR0, real);
	update_long_mode(value);
	if (pae)
		write_pdptes(pdpte);
	return true;
}

static bool guest_write_cr4(u64 value)
{
	struct percpu *p = this_cpu();
	bool lma = vmread(VMCS_GUEST_IA32_EFER) & EFER_LMA;
	u64 pdpte[4];
	/* reserved: bits the CPU does not allow, and VMXE and SMXE (VMX and
	 * SMX are not offered) */
	if ((value & ~p->vmx.cr4_fixed1) || (value & (CR4_VMXE | CR4_SMXE)))
		return false;
	if (lma && !(value & CR4_PAE))
		return false;
	if ((value & CR4_PCIDE) && !(vmread(VMCS_GUEST_CR4) & CR4_PCIDE) &&
	    (!lma || (vmread(VMCS_GUEST_CR3) & 0xfff)))
		return false;
	bool pae = pae_legacy_paging(vmread(VMCS_GUEST_CR0), value);
	if (pae && !read_pdptes(pdpte))
		return false;
	vmwrite(VMCS_CR4_READ_SHADOW, value);
	vmwrite(VMCS_GUEST_CR4, value | p->vmx.cr4_fixed0);
	if (pae)
		write_pdptes(pdpte);
	return true;
}

void handle_cr_access(struct guest_regs *regs)
{
	u64 q = vmread(VMCS_EXIT_QUALIFICATION);
	u64 shadow0 = vmread(VMCS_CR0_READ_SHADOW), owned0 = this_cpu()->cr0_mask;
	u64 guest_view_cr0 = (vmread(VMCS_GUEST_CR0) & ~owned0) | (shadow0 & owned0);
	bool ok;

	if (CR_QUAL_TYPE(q) == CR_ACCESS_LMSW) {
		/* LMSW writes CR0 bits 3:0 but cannot clear PE */
		u64 src = CR_QUAL_LMSW_SOURCE(q) & 0xf;
		ok = guest_write_cr0((guest_view_cr0 & ~0xeull) | src | (guest_view_cr0 & CR0_PE));
	} else if (CR_QUAL_TYPE(q) != CR_ACCESS_MOV_TO) {
		vmexit_unexpected("unexpected control-register access");
	} else {
		u64 value = *guest_gpr(regs, CR_QUAL_GPR(q));
		if (!(vmread(VMCS_GUEST_CS_AR_BYTES) & AR_L) || !(vmread(VMCS_GUEST_IA32_EFER) & EFER_LMA))
			value = (u32)value; /* outside 64-bit mode the source is 32 bits */
		if (CR_QUAL_NUMBER(q) == 0)
			ok = guest_write_cr0(value);
		else if (CR_QUAL_NUMBER(q) == 4)
			ok = guest_write_cr4(value);
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
