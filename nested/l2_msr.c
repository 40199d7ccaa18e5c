/* MSRs of L2 that L1 lets through (VMCS02 has no MSR bitmap: every access
 * of L2 exits, l2_exit.c), and the VM-entry/VM-exit MSR areas (SDM Vol. 3
 * 27.4, 28.4, 28.6), emulated: VMCS02 has none. An MSR L0 intercepts for L1
 * is the core's (its policy holds for L2 too); one L0 passes through is
 * done here as the CPU does it for the guest of the current VMCS: the MSRs
 * VM entries and exits switch (27.3.2.1, 28.3.3) in its guest state, the
 * others on the real MSR, which VMX root leaves as the guest has it. */
#include <nested/l2_msr.h>
#include <nested/vmcs02.h>
#include <xmhf/fixup.h>
#include <xmhf/log.h>
#include <xmhf/msr.h>
#include <xmhf/nested.h>

#define MSR_IA32_SYSENTER_ESP (MSR_IA32_SYSENTER_CS + 1)
#define MSR_IA32_SMM_MONITOR_CTL 0x9b
#define MSR_X2APIC_RANGE_FIRST 0x800 /* 800H-8FFH */

/* The guest-state field of an MSR VM entries and exits switch (VMCS01 and
 * VMCS02 both load and save PAT and EFER), 0 if none. */
static enum vmcs_field switched_field(u32 msr)
{
	switch (msr) {
	case MSR_IA32_SYSENTER_CS: return VMCS_GUEST_SYSENTER_CS;
	case MSR_IA32_SYSENTER_ESP: return VMCS_GUEST_SYSENTER_ESP;
	case MSR_IA32_SYSENTER_EIP: return VMCS_GUEST_SYSENTER_EIP;
	case MSR_IA32_FS_BASE: return VMCS_GUEST_FS_BASE;
	case MSR_IA32_GS_BASE: return VMCS_GUEST_GS_BASE;
	case MSR_IA32_PAT: return VMCS_GUEST_IA32_PAT;
	case MSR_IA32_EFER: return VMCS_GUEST_IA32_EFER;
	default: return 0;
	}
}

/* A write the CPU refuses with #GP(0) (Vol. 4 PAT; EFER's reserved bits,
 * LMA read-only, LME fixed while paging is on: here always; Vol. 2B WRMSR
 * canonical bases). */
static bool switched_write_ok(u32 msr, u64 value)
{
	switch (msr) {
	case MSR_IA32_PAT:
		for (u32 i = 0; i < 8; i++) {
			u8 t = (u8)(value >> (8 * i));
			if (t == 2 || t == 3 || t > 7)
				return false;
		}
		return true;
	case MSR_IA32_EFER:
		return !(value & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)) &&
		       !((value ^ vmcs02_read(VMCS_GUEST_IA32_EFER)) & (EFER_LMA | EFER_LME));
	case MSR_IA32_SYSENTER_CS: return !(value >> 32);
	default: return (u64)((i64)(value << 16) >> 16) == value;
	}
}

bool guest_msr_read(u32 msr, u64 *value)
{
	enum vmcs_field f = switched_field(msr);
	if (!l0_msr_passed_through(msr, false))
		return false;
	if (f)
		*value = vmcs02_read(f);
	return f || rdmsr_safe(msr, value);
}

bool guest_msr_write(u32 msr, u64 value)
{
	enum vmcs_field f = switched_field(msr);
	if (!l0_msr_passed_through(msr, true))
		return false;
	if (!f)
		return wrmsr_safe(msr, value);
	if (!switched_write_ok(msr, value))
		return false;
	vmcs02_write(f, value);
	return true;
}

bool l2_msr_access(struct guest_regs *regs, bool write)
{
	u32 msr = (u32)regs->rcx;
	u64 value = (regs->rdx << 32) | (u32)regs->rax;
	bool ok;

	if (!l0_msr_passed_through(msr, write))
		return false;
	ok = write ? guest_msr_write(msr, value) : guest_msr_read(msr, &value);
	if (!ok) {
		inject_gp0();
		return true;
	}
	if (!write) {
		regs->rax = (u32)value;
		regs->rdx = value >> 32;
	}
	skip_instruction();
	return true;
}

/* 26.7.2 / 26.8.2 one entry of an MSR area: MSR index, reserved, data */
struct msr_area_entry {
	u32 index, reserved;
	u64 data;
};

static bool area_entry(u64 area, u32 i, struct msr_area_entry *e)
{
	return guest_phys_read(l1_gpa(area + (u64)i * sizeof(*e)), e, sizeof(*e));
}

/* 27.4 (loads) and 28.4 (stores): MSRs no area may name */
static bool area_msr_allowed(const struct msr_area_entry *e, bool load)
{
	if (e->reserved || (load && (e->index == MSR_IA32_FS_BASE || e->index == MSR_IA32_GS_BASE)))
		return false;
	return e->index != MSR_IA32_SMM_MONITOR_CTL && (e->index >> 8) != (MSR_X2APIC_RANGE_FIRST >> 8);
}

u32 msr_area_entry_load(const struct nested_cpu *n)
{
	const struct vmcs12 *v = &n->current;
	u64 area = vmcs12_get(v, VMCS12_IDX_VMENTRY_MSR_LOAD_ADDR);
	struct msr_area_entry e;
	for (u32 i = 0; i < vmcs12_get(v, VMCS12_IDX_VM_ENTRY_MSR_LOAD_COUNT); i++)
		if (!area_entry(area, i, &e) || !area_msr_allowed(&e, true) || !guest_msr_write(e.index, e.data)) {
			pr_debug("nested: VM entry: MSR-load entry %u (MSR 0x%x) fails", i + 1, e.index);
			return i + 1;
		}
	return 0;
}

void msr_area_exit_store(const struct nested_cpu *n)
{
	const struct vmcs12 *v = &n->current;
	u64 area = vmcs12_get(v, VMCS12_IDX_VMEXIT_MSR_STORE_ADDR);
	struct msr_area_entry e;
	for (u32 i = 0; i < vmcs12_get(v, VMCS12_IDX_VM_EXIT_MSR_STORE_COUNT); i++)
		if (!area_entry(area, i, &e) || !area_msr_allowed(&e, false) || !guest_msr_read(e.index, &e.data) ||
		    !guest_phys_write(l1_gpa(area + (u64)i * sizeof(e)), &e, sizeof(e)))
			vmx_abort(n, VMX_ABORT_MSR_STORE);
}

void msr_area_exit_load(const struct nested_cpu *n)
{
	const struct vmcs12 *v = &n->current;
	u64 area = vmcs12_get(v, VMCS12_IDX_VMEXIT_MSR_LOAD_ADDR);
	struct msr_area_entry e;
	for (u32 i = 0; i < vmcs12_get(v, VMCS12_IDX_VM_EXIT_MSR_LOAD_COUNT); i++)
		if (!area_entry(area, i, &e) || !area_msr_allowed(&e, true) || !guest_msr_write(e.index, e.data))
			vmx_abort(n, VMX_ABORT_MSR_LOAD);
}

/* 28.7 VMX abort: the indicator into L1's VMCS region, then shutdown (as
 * for a triple fault: the guest is powered off, logged). */
void vmx_abort(const struct nested_cpu *n, enum vmx_abort_indicator what)
{
	u32 indicator = what;
	guest_phys_write(l1_gpa(n->current.addr + 4), &indicator, sizeof(indicator));
	guest_reset_power_off(what == VMX_ABORT_MSR_STORE ? "VMX abort (VM-exit MSR store)" : "VMX abort (VM-exit MSR load)");
}
