/* The MSR policy: one allow-list of pass-through MSRs (each entry says why
 * the guest may access the real MSR without an exit), the MSR bitmap built
 * from it, and the short list of intercepted MSRs the exit handler does on
 * the real MSR. SDM Vol. 4 chapter 2 for the MSRs. */
#include <runtime/msr_policy.h>
#include <xmhf/fixup.h>
#include <xmhf/msr.h>
#include <xmhf/paging.h>
#include <xmhf/string.h>

#define MSR_BITMAP_HIGH_BASE 0xc0000000u
#define MSR_BITMAP_RANGE 0x2000u

const struct msr_range msr_pass_through[] = {
	/* RDTSC reads it without an exit anyway; the hypervisor uses the TSC
	 * only to time its own start-up. */
	{ MSR_IA32_TSC, MSR_IA32_TSC, true, true },
	{ MSR_IA32_TSC_ADJUST, MSR_IA32_TSC_ADJUST, true, true },
	/* Reads only: where the guest's APIC is and its mode (writes are
	 * validated, exit_msr.c). */
	{ MSR_IA32_APIC_BASE, MSR_IA32_APIC_BASE, true, false },
	/* SPEC_CTRL, PRED_CMD, FLUSH_CMD only restrict speculation or flush
	 * predictors and the L1D; VMX root runs with the guest's SPEC_CTRL (the
	 * hypervisor sets no mitigation of its own). */
	{ MSR_IA32_SPEC_CTRL, MSR_IA32_PRED_CMD, true, true },
	{ MSR_IA32_FLUSH_CMD, MSR_IA32_FLUSH_CMD, true, true },
	/* SYSENTER_CS/ESP/EIP are guest-state fields; every VM exit loads the
	 * host's (SDM Vol. 3 28.5.1). */
	{ MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_EIP, true, true },
	/* PAT is saved and loaded by the VM-exit and VM-entry controls. */
	{ MSR_IA32_PAT, MSR_IA32_PAT, true, true },
	/* Reads only: free-running counters (information; Linux polls them). */
	{ MSR_IA32_MPERF, MSR_IA32_APERF, true, false },
	/* The guest owns its APIC timer; the hypervisor uses none. */
	{ MSR_IA32_TSC_DEADLINE, MSR_IA32_TSC_DEADLINE, true, true },
	/* x2APIC registers: the guest owns its APIC as it owns the xAPIC page;
	 * only the ICR write is captured (INIT/SIPI, apic_trap.c). */
	{ MSR_X2APIC_FIRST, MSR_X2APIC_ICR - 1, true, true },
	{ MSR_X2APIC_ICR, MSR_X2APIC_ICR, true, false },
	{ MSR_X2APIC_ICR + 1, MSR_X2APIC_LAST, true, true },
	/* EFER is saved and loaded by the VM-exit and VM-entry controls; the
	 * CPU checks the guest's writes. */
	{ MSR_IA32_EFER, MSR_IA32_EFER, true, true },
	/* STAR, LSTAR, CSTAR, FMASK: only SYSCALL/SYSRET use them, which VMX
	 * root never executes. */
	{ MSR_IA32_STAR, MSR_IA32_FMASK, true, true },
	/* FS/GS base are guest-state fields, the host's are loaded on exit;
	 * KERNEL_GS_BASE is used only by SWAPGS, never in VMX root. */
	{ MSR_IA32_FS_BASE, MSR_IA32_KERNEL_GS_BASE, true, true },
	/* Only RDTSCP and RDPID read it, never in VMX root. */
	{ MSR_IA32_TSC_AUX, MSR_IA32_TSC_AUX, true, true },
};
const u32 msr_pass_through_count = sizeof(msr_pass_through) / sizeof(msr_pass_through[0]);

/* Intercepted, then done on the real MSR: information that cannot change
 * anything (reads), or state that only reports (machine checks). */
static const struct msr_range forwarded[] = {
	{ MSR_IA32_PLATFORM_ID, MSR_IA32_PLATFORM_ID, true, false },
	{ MSR_IA32_CORE_THREAD_COUNT, MSR_IA32_CORE_THREAD_COUNT, true, false },
	/* the microcode revision; writing it (0, SDM Vol. 3 10.11.7.1) only
	 * clears it until the next CPUID */
	{ MSR_IA32_BIOS_SIGN_ID, MSR_IA32_BIOS_SIGN_ID, true, true },
	{ MSR_PLATFORM_INFO, MSR_PLATFORM_INFO, true, false },
	{ MSR_IA32_ARCH_CAPABILITIES, MSR_IA32_ARCH_CAPABILITIES, true, false },
	{ MSR_IA32_MCG_CAP, MSR_IA32_MCG_CAP, true, false },
	{ MSR_IA32_MCG_STATUS, MSR_IA32_MCG_STATUS, true, true },
	{ MSR_IA32_THERM_STATUS, MSR_IA32_THERM_STATUS, true, false },
	{ MSR_IA32_TEMPERATURE_TARGET, MSR_IA32_TEMPERATURE_TARGET, true, false },
	{ MSR_IA32_MC0_CTL2, MSR_IA32_MC31_CTL2, true, true },
	{ MSR_IA32_MC0_CTL, MSR_IA32_MC31_MISC, true, true },
	/* the XSAVES-managed components (writes are checked, exit_msr.c) */
	{ MSR_IA32_XSS, MSR_IA32_XSS, true, false },
};

static bool in(const struct msr_range *r, u32 n, u32 msr, bool write)
{
	for (u32 i = 0; i < n; i++)
		if (msr >= r[i].first && msr <= r[i].last)
			return write ? r[i].write : r[i].read;
	return false;
}

bool msr_forwarded(u32 msr, bool write)
{
	return in(forwarded, sizeof(forwarded) / sizeof(forwarded[0]), msr, write);
}

/* 25.6.9: read bitmap for 0-1FFFH, read for C0000000H-C0001FFFH, then
 * the two write bitmaps; MSRs outside both ranges always exit. */
static void pass(u8 *bitmap, u32 msr, bool write)
{
	u32 offset = write ? 2048 : 0;
	if (msr >= MSR_BITMAP_HIGH_BASE)
		offset += 1024, msr -= MSR_BITMAP_HIGH_BASE;
	if (msr < MSR_BITMAP_RANGE)
		bitmap[offset + msr / 8] &= (u8)~(1u << (msr % 8));
}

void msr_bitmap_build(u8 *bitmap)
{
	memset(bitmap, 0xff, PAGE_SIZE);
	for (u32 i = 0; i < msr_pass_through_count; i++)
		for (u32 msr = msr_pass_through[i].first; msr <= msr_pass_through[i].last; msr++) {
			if (msr_pass_through[i].read)
				pass(bitmap, msr, false);
			if (msr_pass_through[i].write)
				pass(bitmap, msr, true);
		}
}

void msr_root_clear(void)
{
	wrmsr_safe(MSR_IA32_RTIT_CTL, 0);
	wrmsr_safe(MSR_IA32_PEBS_ENABLE, 0);
	wrmsr_safe(MSR_IA32_PERF_GLOBAL_CTRL, 0);
}
