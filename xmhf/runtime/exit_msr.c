/* RDMSR/WRMSR exits (SDM Vol. 2B RDMSR/WRMSR). Every access the MSR bitmap
 * does not pass through (msr_policy.c) comes here: emulated for the MSRs
 * the hypervisor owns, done fault-safely on the real MSR for the few that
 * msr_policy.c forwards, #GP(0) for everything else (the MSRs of features
 * CPUID hides: VMX, Intel PT, the PMU, DS/PEBS/BTS, LBRs, and any MSR
 * nobody has judged safe). */
#include <config.h>
#include <runtime/ept01.h>
#include <runtime/exit_handlers.h>
#include <runtime/msr_policy.h>
#include <runtime/percpu.h>
#include <xmhf/cpu.h>
#include <xmhf/fixup.h>
#include <xmhf/hypapp.h>
#include <xmhf/lapic.h>
#include <xmhf/msr.h>
#include <xmhf/nested.h>
#include <xmhf/paging.h>
#include <xmhf/vmx.h>

static u64 edx_eax(const struct guest_regs *regs) { return (regs->rdx << 32) | (u32)regs->rax; }

/* What the guest reads of IA32_MISC_ENABLE: no PMU, BTS or PEBS (SDM Vol. 4
 * Table 2-2; CPUID hides them too, exit_cpuid.c). */
static bool misc_enable(u64 *value)
{
	if (!rdmsr_safe(MSR_IA32_MISC_ENABLE, value))
		return false;
	*value = (*value & ~MISC_ENABLE_PERF_MON) | MISC_ENABLE_BTS_UNAVAILABLE | MISC_ENABLE_PEBS_UNAVAILABLE;
	return true;
}

void handle_rdmsr(struct guest_regs *regs)
{
	if (hypapp_rdmsr(regs, (u32)regs->rcx) == HYPAPP_DONE)
		return;
	u32 msr = (u32)regs->rcx;
	u64 value;
	bool writable, ok = true;
	u64 *mtrr = mtrr_msr(&this_cpu()->mtrr, msr, &writable);
	enum nested_msr_result vmx;
	if (mtrr)
		value = *mtrr; /* the most frequent: the guest's MTRR reads */
	else if ((vmx = nested_rdmsr(msr, &value)) != NESTED_MSR_NOT_MINE)
		ok = vmx == NESTED_MSR_VALUE; /* IA32_FEATURE_CONTROL and the VMX MSRs, with nested VMX */
	else if (msr == MSR_IA32_FEATURE_CONTROL)
		value = FEATURE_CONTROL_LOCK; /* locked, VMX off: VMX is not offered */
	else if (msr == MSR_IA32_MISC_ENABLE)
		ok = misc_enable(&value);
	else if (msr == MSR_IA32_DEBUGCTL)
		value = 0; /* cleared by every VM exit (SDM Vol. 3 28.5.1): no LBR/BTF/BTS offered */
	else
		ok = msr_forwarded(msr, false) && rdmsr_safe(msr, &value);
	if (!ok) {
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

enum apic_mode { APIC_DISABLED, APIC_INVALID, APIC_XAPIC, APIC_X2APIC };

static enum apic_mode apic_mode(u64 apic_base)
{
	bool en = apic_base & APIC_BASE_ENABLE, x2 = apic_base & APIC_BASE_X2APIC;
	return en ? (x2 ? APIC_X2APIC : APIC_XAPIC) : (x2 ? APIC_INVALID : APIC_DISABLED);
}

/* SDM Vol. 3 12.4.4 (IA32_APIC_BASE) and 12.12.5 (x2APIC state
 * transitions): reserved bits (7:0, 9, at and above MAXPHYADDR, EXTD
 * without x2APIC) #GP, so do EN=0 with EXTD=1, x2APIC -> xAPIC and
 * disabled -> x2APIC. Our choice, in every mode: the base may not be in
 * the hypervisor's range (the CPU's own accesses there would hit APIC
 * registers) nor at or above CONFIG_MEM (not in the host page tables). */
static bool apic_base_valid(u64 old, u64 new)
{
	u64 defined = (APIC_BASE_ADDR_MASK & this_cpu()->mtrr.phys_addr_mask) | APIC_BASE_ENABLE | APIC_BASE_BSP |
		      ((cpuid(1, 0).ecx & CPUID1_ECX_X2APIC) ? APIC_BASE_X2APIC : 0);
	enum apic_mode from = apic_mode(old), to = apic_mode(new);
	l1_gpa_t page = l1_gpa(new & APIC_BASE_ADDR_MASK);

	if ((new & ~defined) || to == APIC_INVALID)
		return false;
	if ((from == APIC_X2APIC && to == APIC_XAPIC) || (from == APIC_DISABLED && to == APIC_X2APIC))
		return false;
	return page.v + PAGE_SIZE <= CONFIG_MEM && !gpa_is_hypervisor(page, PAGE_SIZE);
}

/* The BSP flag is the CPU's (read-only here); a new base moves the EPT01
 * trap of this CPU's APIC page. */
static bool write_apic_base(u64 value)
{
	u64 old = rdmsr(MSR_IA32_APIC_BASE);
	value = (value & ~APIC_BASE_BSP) | (old & APIC_BASE_BSP);
	if (!apic_base_valid(old, value) || !wrmsr_safe(MSR_IA32_APIC_BASE, value))
		return false;
	if ((value & APIC_BASE_ADDR_MASK) != (old & APIC_BASE_ADDR_MASK))
		ept01_move_apic(this_cpu()->index, l1_gpa(lapic_base()));
	return true;
}

/* IA32_XSS: XRSTORS loads the components it enables without an MSR exit,
 * so the PT state (trace MSRs) is never one of them. */
static bool write_xss(u64 value) { return !(value & XSS_PT) && wrmsr_safe(MSR_IA32_XSS, value); }

void handle_wrmsr(struct guest_regs *regs)
{
	if (hypapp_wrmsr(regs, (u32)regs->rcx, edx_eax(regs)) == HYPAPP_DONE)
		return;
	u32 msr = (u32)regs->rcx;
	u64 value = edx_eax(regs), now;
	bool writable;
	u64 *mtrr = mtrr_msr(&this_cpu()->mtrr, msr, &writable);
	bool ok;

	if (mtrr)
		ok = write_mtrr(msr, mtrr, writable, value);
	else if (msr == MSR_X2APIC_ICR && lapic_x2apic_mode()) {
		/* 12.12.9: the ICR's reserved bits #GP */
		ok = !(value & X2APIC_ICR_RESERVED);
		if (ok)
			apic_icr_write(regs, (u32)value & ~ICR_SEND_PENDING, (u32)(value >> 32));
	} else if (msr == MSR_IA32_APIC_BASE)
		ok = write_apic_base(value);
	else if (msr == MSR_IA32_MISC_ENABLE)
		ok = misc_enable(&now) && value == now; /* no feature may be toggled */
	else if (msr == MSR_IA32_DEBUGCTL)
		ok = value == 0;
	else if (msr == MSR_IA32_XSS)
		ok = write_xss(value);
	else
		ok = msr_forwarded(msr, true) && wrmsr_safe(msr, value);
	if (!ok) {
		inject_gp0();
		return;
	}
	skip_instruction();
}
