/* xmhf/runtime/exit_msr.c: RDMSR/WRMSR exits (SDM Vol. 2B RDMSR/WRMSR,
 * Vol. 3 25.7 IA32_FEATURE_CONTROL, 12.11 MTRRs, 12.4.4 IA32_APIC_BASE,
 * 12.12 x2APIC; docs/msr-policy.md). */
#include "fake_cpu.h"
#include <config.h>
#include <runtime/ept01.h>
#include "vmentry_check.h"
#include <runtime/exit_handlers.h>
#include <runtime/vmx_ops.h>
#include <xmhf/lapic.h>
#include <xmhf/msr.h>
#include <xmhf/vmx.h>

#define CPU 1
#define RIP0 0x100000
#define GP_EC (INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR_CODE | VECTOR_GP)

static struct guest_regs regs;

/* ept01.c's, for the fake hypervisor range */
bool gpa_is_hypervisor(l1_gpa_t gpa, u64 size) { return gpa.v < FAKE_HV_END && FAKE_HV_BASE < gpa.v + size; }

static int setup(void **state)
{
	(void)state;
	fake_reset(CPU);
	vmentry_vmcs01(CPU);
	fake_wrmsr_safe_calls = 0; /* count the handlers' own */
	for (u32 i = 0; i < 4; i++)
		cpu_register(2 * i); /* APIC ids 0, 2, 4, 6 */
	vmcs_set(VMCS_GUEST_CR0, CR0_PE | CR0_NE | CR0_ET);
	vmcs_set(VMCS_VM_EXIT_INSTRUCTION_LEN, 2);
	struct mtrr_state *m = &percpu[CPU].mtrr;
	m->cap = MTRR_CAP_FIX | 8;
	m->def_type = MTRR_DEF_E | MTRR_DEF_FE | 6;
	m->phys_addr_mask = (1ull << 36) - 1;
	cpuid_set(1, 0, (struct cpuid_regs){ 0x50654, 0, CPUID1_ECX_X2APIC, 0 });
	msr_set(MSR_IA32_APIC_BASE, LAPIC_DEFAULT_BASE | APIC_BASE_ENABLE);
	return 0;
}

static void exit_prepare(u32 msr, u64 value)
{
	regs = (struct guest_regs){ .rcx = 0xffffffff00000000ull | msr, .rax = 0xaaaaaaaa00000000ull | (u32)value,
				    .rdx = 0xbbbbbbbb00000000ull | (value >> 32) };
	vmcs_set(VMCS_GUEST_RIP, RIP0);
	vmcs_set(VMCS_VM_ENTRY_INTR_INFO, 0);
}

/* RDMSR: true if it completed (else #GP(0) was injected, RIP unchanged). */
static bool guest_rdmsr(u32 msr, u64 *value)
{
	exit_prepare(msr, 0);
	handle_rdmsr(&regs);
	assert_vmentry_ok();
	if (vmcs_get(VMCS_VM_ENTRY_INTR_INFO) & INTR_INFO_VALID) {
		assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), GP_EC);
		assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE), 0);
		assert_int_equal(vmcs_get(VMCS_GUEST_RIP), RIP0);
		return false;
	}
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), RIP0 + 2);
	assert_int_equal(regs.rax >> 32, 0);
	assert_int_equal(regs.rdx >> 32, 0);
	*value = (regs.rdx << 32) | regs.rax;
	return true;
}

static bool guest_wrmsr(u32 msr, u64 value)
{
	exit_prepare(msr, value);
	handle_wrmsr(&regs);
	assert_vmentry_ok();
	if (vmcs_get(VMCS_VM_ENTRY_INTR_INFO) & INTR_INFO_VALID) {
		assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), GP_EC);
		assert_int_equal(vmcs_get(VMCS_GUEST_RIP), RIP0);
		return false;
	}
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), RIP0 + 2);
	return true;
}

/* Legal IA32_APIC_BASE writes go to the CPU; a new base moves the EPT01 trap. */
static void test_apic_base_moves_trap(void **state)
{
	(void)state;
	assert_true(guest_wrmsr(MSR_IA32_APIC_BASE, 0xfed00000ull | APIC_BASE_ENABLE));
	assert_int_equal(fake_ept01_moved_apic_cpu, CPU);
	assert_int_equal(fake_ept01_moved_apic_page, 0xfed00000ull);
	fake_ept01_moved_apic_cpu = ~0u;
	assert_true(guest_wrmsr(MSR_IA32_APIC_BASE, 0xfed00000ull | APIC_BASE_ENABLE | APIC_BASE_X2APIC));
	assert_int_equal(fake_ept01_moved_apic_cpu, ~0u); /* mode only: same page */
	assert_int_equal(msr_get(MSR_IA32_APIC_BASE), 0xfed00000ull | APIC_BASE_ENABLE | APIC_BASE_X2APIC);
	/* x2APIC -> disabled -> xAPIC is the legal way back (12.12.5) */
	assert_true(guest_wrmsr(MSR_IA32_APIC_BASE, 0xfed00000ull));
	assert_true(guest_wrmsr(MSR_IA32_APIC_BASE, LAPIC_DEFAULT_BASE | APIC_BASE_ENABLE));
	assert_int_equal(fake_ept01_moved_apic_page, LAPIC_DEFAULT_BASE);
	assert_int_equal(fake_wrmsr_safe_calls, 4);
}

/* The BSP flag is the CPU's: a write can neither set nor clear it. */
static void test_apic_base_bsp_read_only(void **state)
{
	(void)state;
	assert_true(guest_wrmsr(MSR_IA32_APIC_BASE, LAPIC_DEFAULT_BASE | APIC_BASE_ENABLE | APIC_BASE_BSP));
	assert_int_equal(msr_get(MSR_IA32_APIC_BASE), LAPIC_DEFAULT_BASE | APIC_BASE_ENABLE);
	msr_set(MSR_IA32_APIC_BASE, LAPIC_DEFAULT_BASE | APIC_BASE_ENABLE | APIC_BASE_BSP);
	assert_true(guest_wrmsr(MSR_IA32_APIC_BASE, LAPIC_DEFAULT_BASE | APIC_BASE_ENABLE));
	assert_int_equal(msr_get(MSR_IA32_APIC_BASE), LAPIC_DEFAULT_BASE | APIC_BASE_ENABLE | APIC_BASE_BSP);
}

static void apic_base_rejected(u64 from, u64 value)
{
	msr_set(MSR_IA32_APIC_BASE, from);
	assert_false(guest_wrmsr(MSR_IA32_APIC_BASE, value));
	assert_int_equal(msr_get(MSR_IA32_APIC_BASE), from);
}

/* 12.4.4, 12.12.5 and our placement rules: #GP, the MSR unchanged, no move. */
static void test_apic_base_invalid_gp(void **state)
{
	(void)state;
	u64 xapic = LAPIC_DEFAULT_BASE | APIC_BASE_ENABLE, x2apic = xapic | APIC_BASE_X2APIC;
	for (u32 bit = 0; bit < 8; bit++)
		apic_base_rejected(xapic, xapic | BIT(bit));
	apic_base_rejected(xapic, xapic | BIT(9));
	apic_base_rejected(xapic, xapic | BIT(36)); /* MAXPHYADDR = 36 */
	apic_base_rejected(xapic, xapic | BIT(63));
	apic_base_rejected(xapic, LAPIC_DEFAULT_BASE | APIC_BASE_X2APIC); /* EN=0, EXTD=1: invalid */
	apic_base_rejected(x2apic, xapic);                                /* x2APIC -> xAPIC */
	apic_base_rejected(LAPIC_DEFAULT_BASE, x2apic);                   /* disabled -> x2APIC */
	apic_base_rejected(xapic, FAKE_HV_BASE | APIC_BASE_ENABLE);       /* in the hypervisor */
	apic_base_rejected(xapic, (FAKE_HV_END - PAGE_SIZE) | APIC_BASE_ENABLE);
	apic_base_rejected(x2apic, FAKE_HV_BASE | APIC_BASE_ENABLE | APIC_BASE_X2APIC);
	apic_base_rejected(xapic, CONFIG_MEM | APIC_BASE_ENABLE);         /* not in the host page tables */
	/* no x2APIC in CPUID: EXTD is reserved */
	cpuid_set(1, 0, (struct cpuid_regs){ 0x50654, 0, 0, 0 });
	apic_base_rejected(xapic, x2apic);
	assert_int_equal(fake_ept01_moved_apic_cpu, ~0u);
	assert_int_equal(fake_wrmsr_safe_calls, 0);
	/* in every mode: a disabled APIC could be enabled there later */
	cpuid_set(1, 0, (struct cpuid_regs){ 0x50654, 0, CPUID1_ECX_X2APIC, 0 });
	apic_base_rejected(xapic, FAKE_HV_BASE);
	apic_base_rejected(LAPIC_DEFAULT_BASE, CONFIG_MEM);
	assert_int_equal(fake_wrmsr_safe_calls, 0);
}

static void test_feature_control(void **state)
{
	(void)state;
	u64 v;
	msr_set(MSR_IA32_FEATURE_CONTROL, FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
	assert_true(guest_rdmsr(MSR_IA32_FEATURE_CONTROL, &v));
	assert_int_equal(v, FEATURE_CONTROL_LOCK); /* locked, VMX off */
	assert_false(guest_wrmsr(MSR_IA32_FEATURE_CONTROL, FEATURE_CONTROL_LOCK));
	assert_false(guest_wrmsr(MSR_IA32_FEATURE_CONTROL, 0));
	assert_int_equal(msr_get(MSR_IA32_FEATURE_CONTROL), FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
}

static void test_vmx_msrs_gp(void **state)
{
	(void)state;
	u64 v;
	for (u32 msr = MSR_IA32_VMX_BASIC; msr <= MSR_IA32_VMX_EXIT_CTLS2; msr++) {
		msr_set(msr, 0x1234);
		assert_false(guest_rdmsr(msr, &v));
		assert_false(guest_wrmsr(msr, 0x1234));
	}
	assert_int_equal(fake_wrmsr_safe_calls, 0);
}

/* The MSRs msr_policy.c forwards go to the real MSR; a fault is #GP(0). */
static void test_forwarded(void **state)
{
	(void)state;
	u64 v;
	msr_set(MSR_PLATFORM_INFO, 0x123456789abcdefull);
	assert_true(guest_rdmsr(MSR_PLATFORM_INFO, &v));
	assert_int_equal(v, 0x123456789abcdefull);
	assert_false(guest_wrmsr(MSR_PLATFORM_INFO, 0)); /* read-only information */
	msr_set(MSR_IA32_BIOS_SIGN_ID, 0x2800000000ull);
	assert_true(guest_wrmsr(MSR_IA32_BIOS_SIGN_ID, 0));
	assert_int_equal(msr_get(MSR_IA32_BIOS_SIGN_ID), 0);
	assert_false(guest_rdmsr(MSR_IA32_ARCH_CAPABILITIES, &v)); /* the CPU faults on it */
	/* real mode: #GP without error code */
	vmcs_set(VMCS_GUEST_CR0, CR0_NE | CR0_ET);
	exit_prepare(MSR_IA32_ARCH_CAPABILITIES, 0);
	handle_rdmsr(&regs);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VECTOR_GP);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), RIP0);
}

/* Everything nobody judged safe #GPs, even where the CPU has the MSR: Intel
 * PT, DS/PEBS, the PMU (they write memory from VMX root), LBRs, microcode
 * loads, and MSRs the policy does not know. */
static void test_unlisted_msrs_gp(void **state)
{
	(void)state;
	static const u32 denied[] = {
		MSR_IA32_RTIT_OUTPUT_BASE, MSR_IA32_RTIT_OUTPUT_MASK_PTRS, MSR_IA32_RTIT_CTL, MSR_IA32_RTIT_ADDR3_B,
		MSR_IA32_DS_AREA, MSR_IA32_PEBS_ENABLE, MSR_IA32_PERF_GLOBAL_CTRL, MSR_IA32_PERF_GLOBAL_STATUS,
		MSR_IA32_PERF_GLOBAL_OVF_CTRL, MSR_IA32_FIXED_CTR_CTRL, MSR_IA32_FIXED_CTR0, MSR_IA32_PERFEVTSEL0,
		MSR_IA32_PMC0, MSR_IA32_A_PMC0, MSR_IA32_PERF_CAPABILITIES, 0x79 /* BIOS_UPDT_TRIG */,
		0x1c9 /* LBR_TOS */, 0x680 /* LBR_FROM_0 */, 0x14ce /* LBR_CTL */, 0x4d4d, 0xc0000103 + 0x100,
		0x40000000, 0xc0011000,
	};
	u64 v;
	for (u32 i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		msr_set(denied[i], 0);
		assert_false(guest_rdmsr(denied[i], &v));
		assert_false(guest_wrmsr(denied[i], 1));
		assert_int_equal(msr_get(denied[i]), 0);
	}
	assert_int_equal(fake_wrmsr_safe_calls, 0);
}

/* IA32_MISC_ENABLE reads with no PMU, BTS or PEBS; no bit may change. */
static void test_misc_enable(void **state)
{
	(void)state;
	u64 v;
	msr_set(MSR_IA32_MISC_ENABLE, MISC_ENABLE_PERF_MON | BIT(0) | BIT(34));
	assert_true(guest_rdmsr(MSR_IA32_MISC_ENABLE, &v));
	assert_int_equal(v, MISC_ENABLE_BTS_UNAVAILABLE | MISC_ENABLE_PEBS_UNAVAILABLE | BIT(0) | BIT(34));
	assert_true(guest_wrmsr(MSR_IA32_MISC_ENABLE, v));
	assert_false(guest_wrmsr(MSR_IA32_MISC_ENABLE, v & ~BIT(34))); /* XD disable */
	assert_false(guest_wrmsr(MSR_IA32_MISC_ENABLE, v & ~MISC_ENABLE_PEBS_UNAVAILABLE));
	assert_int_equal(msr_get(MSR_IA32_MISC_ENABLE), MISC_ENABLE_PERF_MON | BIT(0) | BIT(34));
	assert_int_equal(fake_wrmsr_safe_calls, 0);
}

/* DEBUGCTL reads 0 and takes only 0: no LBR, BTF, BTS (the CPU clears it on
 * every VM exit and VMCS01 does not load it). IA32_XSS: never the PT state. */
static void test_debugctl_and_xss(void **state)
{
	(void)state;
	u64 v;
	msr_set(MSR_IA32_DEBUGCTL, 0x3);
	assert_true(guest_rdmsr(MSR_IA32_DEBUGCTL, &v));
	assert_int_equal(v, 0);
	assert_true(guest_wrmsr(MSR_IA32_DEBUGCTL, 0));
	assert_false(guest_wrmsr(MSR_IA32_DEBUGCTL, BIT(6) | BIT(7))); /* BTS to the DS area */
	assert_false(guest_wrmsr(MSR_IA32_DEBUGCTL, BIT(0)));
	assert_int_equal(msr_get(MSR_IA32_DEBUGCTL), 0x3);
	msr_set(MSR_IA32_XSS, 0);
	assert_false(guest_wrmsr(MSR_IA32_XSS, XSS_PT));
	assert_int_equal(msr_get(MSR_IA32_XSS), 0);
	assert_true(guest_wrmsr(MSR_IA32_XSS, BIT(11) | BIT(12)));
	assert_int_equal(msr_get(MSR_IA32_XSS), BIT(11) | BIT(12));
	assert_true(guest_rdmsr(MSR_IA32_XSS, &v));
	assert_int_equal(v, BIT(11) | BIT(12));
}

static void test_mtrr_reads_from_guest_view(void **state)
{
	(void)state;
	u64 v;
	percpu[CPU].mtrr.fixed[3] = 0x0505050505050505ull;
	msr_set(0x268, 0); /* the real MSR is not what the guest sees */
	assert_true(guest_rdmsr(0x268, &v));
	assert_int_equal(v, 0x0505050505050505ull);
	assert_true(guest_rdmsr(MSR_MTRRCAP, &v));
	assert_int_equal(v, MTRR_CAP_FIX | 8);
}

static void test_mtrr_invalid_writes_gp(void **state)
{
	(void)state;
	struct mtrr_state before = percpu[CPU].mtrr;
	assert_false(guest_wrmsr(MSR_MTRR_DEF_TYPE, MTRR_DEF_E | 2));
	assert_false(guest_wrmsr(MSR_MTRR_DEF_TYPE, MTRR_DEF_E | 7));
	assert_false(guest_wrmsr(MSR_MTRR_DEF_TYPE, BIT(12) | 6));
	assert_false(guest_wrmsr(MSR_MTRR_PHYSBASE0, 0x100000 | 3));
	assert_false(guest_wrmsr(MSR_MTRR_PHYSBASE0 + 1, 0xfff00000ull | 1));
	assert_false(guest_wrmsr(0x250, 0x0606060606060602ull));
	assert_false(guest_wrmsr(MSR_MTRRCAP, 0)); /* read-only */
	assert_memory_equal(&before, &percpu[CPU].mtrr, sizeof(before));
	assert_int_equal(fake_ept01_rebuild_calls, 0);
	assert_int_equal(fake_wrmsr_safe_calls, 0);
}

static void test_mtrr_valid_write_rebuilds_ept(void **state)
{
	(void)state;
	assert_true(guest_wrmsr(MSR_MTRR_PHYSBASE0 + 2, 0x80000000ull | 0));
	assert_int_equal(percpu[CPU].mtrr.var_base[1], 0x80000000ull);
	assert_int_equal(fake_ept01_rebuild_calls, 1);
	assert_int_equal(fake_ept01_rebuild_cpu, CPU);
	/* disabling them makes everything UC (SDM "IA32_MTRR_DEF_TYPE MSR"):
	 * a rebuild; then none until they are enabled again */
	assert_true(guest_wrmsr(MSR_MTRR_DEF_TYPE, 0));
	assert_int_equal(fake_ept01_rebuild_calls, 2);
	assert_true(guest_wrmsr(0x26f, 0x0404040404040404ull));
	assert_int_equal(percpu[CPU].mtrr.fixed[10], 0x0404040404040404ull);
	assert_true(guest_wrmsr(MSR_MTRR_DEF_TYPE, MTRR_DEF_FE | 6));
	assert_int_equal(fake_ept01_rebuild_calls, 2);
	assert_true(guest_wrmsr(MSR_MTRR_DEF_TYPE, MTRR_DEF_E | 6));
	assert_int_equal(fake_ept01_rebuild_calls, 3);
	assert_int_equal(percpu[CPU].mtrr.def_type, MTRR_DEF_E | 6);
	assert_true(guest_wrmsr(MSR_MTRR_DEF_TYPE, MTRR_DEF_E | MTRR_DEF_FE | 6)); /* FE on */
	assert_int_equal(fake_ept01_rebuild_calls, 4);
	assert_int_equal(fake_wrmsr_safe_calls, 0); /* never the real MTRRs */
}

static void test_x2apic_icr(void **state)
{
	(void)state;
	fake_x2apic = true;
	percpu[2].in_guest = true;
	/* INIT to APIC ID 4 (CPU 2): emulated, NMI kick, never the real ICR */
	assert_true(guest_wrmsr(MSR_X2APIC_ICR, (4ull << 32) | ICR_DELIVERY_INIT | ICR_LEVEL_ASSERT));
	assert_int_equal(percpu[2].requests, REQUEST_INIT);
	assert_int_equal(fake_n_ipis, 1);
	assert_int_equal(fake_ipis[0].dest, 4);
	assert_int_equal(fake_ipis[0].icr_low & ICR_DELIVERY_MASK, ICR_DELIVERY_NMI);
	assert_true(guest_wrmsr(MSR_X2APIC_ICR, (4ull << 32) | ICR_DELIVERY_STARTUP | 0x9a));
	assert_int_equal(percpu[2].requests, REQUEST_INIT | REQUEST_SIPI);
	assert_int_equal(percpu[2].sipi_vector, 0x9a);
	assert_int_equal(fake_n_ipis, 1);
	/* a fixed IPI goes to the real ICR as written */
	assert_true(guest_wrmsr(MSR_X2APIC_ICR, (4ull << 32) | ICR_LEVEL_ASSERT | 0xec));
	assert_int_equal(fake_n_ipis, 2);
	assert_int_equal(fake_ipis[1].dest, 4);
	assert_int_equal(fake_ipis[1].icr_low, ICR_LEVEL_ASSERT | 0xec);
	assert_int_equal(fake_wrmsr_safe_calls, 0);
}

/* 12.12.9: reserved ICR bits #GP, nothing is sent or emulated; bit 12
 * (xAPIC delivery status) is ignored. */
static void test_x2apic_icr_reserved_gp(void **state)
{
	(void)state;
	fake_x2apic = true;
	static const u64 reserved[] = { BIT(13), BIT(16), BIT(17), BIT(20), BIT(31) };
	for (u32 i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		assert_false(guest_wrmsr(MSR_X2APIC_ICR, (4ull << 32) | reserved[i] | 0xec));
		assert_false(guest_wrmsr(MSR_X2APIC_ICR, (4ull << 32) | reserved[i] | ICR_DELIVERY_INIT | ICR_LEVEL_ASSERT));
	}
	assert_int_equal(fake_n_ipis, 0);
	assert_int_equal(percpu[2].requests, 0);
	assert_true(guest_wrmsr(MSR_X2APIC_ICR, (4ull << 32) | ICR_SEND_PENDING | 0xec));
	assert_int_equal(fake_n_ipis, 1);
	assert_int_equal(fake_ipis[0].icr_low, 0xec);
}

static void test_icr_msr_in_xapic_mode_faults(void **state)
{
	(void)state;
	fake_x2apic = false;
	assert_false(guest_wrmsr(MSR_X2APIC_ICR, (1ull << 32) | ICR_DELIVERY_INIT | ICR_LEVEL_ASSERT));
	assert_int_equal(percpu[1].requests | percpu[2].requests | percpu[3].requests, 0);
	assert_int_equal(fake_n_ipis, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_apic_base_moves_trap, setup),
		cmocka_unit_test_setup(test_apic_base_bsp_read_only, setup),
		cmocka_unit_test_setup(test_apic_base_invalid_gp, setup),
		cmocka_unit_test_setup(test_feature_control, setup),
		cmocka_unit_test_setup(test_vmx_msrs_gp, setup),
		cmocka_unit_test_setup(test_forwarded, setup),
		cmocka_unit_test_setup(test_unlisted_msrs_gp, setup),
		cmocka_unit_test_setup(test_misc_enable, setup),
		cmocka_unit_test_setup(test_debugctl_and_xss, setup),
		cmocka_unit_test_setup(test_mtrr_reads_from_guest_view, setup),
		cmocka_unit_test_setup(test_mtrr_invalid_writes_gp, setup),
		cmocka_unit_test_setup(test_mtrr_valid_write_rebuilds_ept, setup),
		cmocka_unit_test_setup(test_x2apic_icr, setup),
		cmocka_unit_test_setup(test_x2apic_icr_reserved_gp, setup),
		cmocka_unit_test_setup(test_icr_msr_in_xapic_mode_faults, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
