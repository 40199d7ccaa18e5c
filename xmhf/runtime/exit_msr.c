/* RDMSR/WRMSR exits (SDM Vol. 2B RDMSR/WRMSR). The MSR bitmap sends only
 * the MSRs the hypervisor owns here, plus every MSR outside the bitmap's
 * ranges, which is passed through fault-safely: a fault becomes #GP(0). */
#include <runtime/ept01.h>
#include <xmhf/fixup.h>
#include <runtime/percpu.h>
#include <runtime/vmexit.h>
#include <runtime/vmx_ops.h>
#include <xmhf/lapic.h>
#include <xmhf/log.h>
#include <xmhf/msr.h>


static u64 edx_eax(const struct guest_regs *regs) { return (regs->rdx << 32) | (u32)regs->rax; }

static bool is_vmx_msr(u32 msr) { return msr >= MSR_IA32_VMX_BASIC && msr <= MSR_IA32_VMX_VMFUNC; }

void handle_rdmsr(struct guest_regs *regs)
{
	u32 msr = (u32)regs->rcx;
	u64 value;
	bool writable;
	u64 *mtrr = mtrr_msr(&this_cpu()->mtrr, msr, &writable);

	if (msr == MSR_IA32_FEATURE_CONTROL) {
		value = FEATURE_CONTROL_LOCK; /* locked, VMX off: VMX is not offered */
	} else if (mtrr) {
		value = *mtrr;
	} else if (is_vmx_msr(msr) || !rdmsr_safe(msr, &value)) {
		inject_gp0();
		return;
	}
	regs->rax = (u32)value;
	regs->rdx = value >> 32;
	skip_instruction();
}

static bool write_mtrr(u32 msr, u64 *slot, bool writable, u64 value)
{
	struct percpu *p = this_cpu();
	bool was_enabled = p->mtrr.def_type & MTRR_DEF_E;
	if (!writable || !mtrr_value_valid(&p->mtrr, msr, value))
		return false;
	if (*slot == value)
		return true; /* nothing changes: no EPT01 rebuild */
	*slot = value;
	/* Types change while MTRRs are enabled, and when E changes: with E = 0
	 * all memory is UC (SDM Vol. 3 "IA32_MTRR_DEF_TYPE MSR"). Writes while
	 * they stay disabled (the guest reprogramming them) change nothing. */
	if (was_enabled || (p->mtrr.def_type & MTRR_DEF_E))
		ept01_rebuild(p->index);
	return true;
}

void handle_wrmsr(struct guest_regs *regs)
{
	u32 msr = (u32)regs->rcx;
	u64 value = edx_eax(regs);
	bool writable;
	u64 *mtrr = mtrr_msr(&this_cpu()->mtrr, msr, &writable);
	bool ok;

	if (msr == MSR_IA32_FEATURE_CONTROL || is_vmx_msr(msr))
		ok = false;
	else if (mtrr)
		ok = write_mtrr(msr, mtrr, writable, value);
	else if (msr == MSR_X2APIC_ICR && lapic_x2apic_mode()) {
		apic_icr_write(regs, (u32)value, (u32)(value >> 32));
		ok = true;
	} else if (msr == MSR_IA32_APIC_BASE) {
		u64 before = lapic_base();
		ok = wrmsr_safe(msr, value);
		if (ok && lapic_base() != before)
			ept01_move_apic(this_cpu()->index, l1_gpa(lapic_base()));
	} else {
		ok = wrmsr_safe(msr, value);
	}
	if (!ok) {
		inject_gp0();
		return;
	}
	skip_instruction();
}
