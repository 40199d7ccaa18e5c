/* xmhf/runtime/exit_msr.c: RDMSR/WRMSR exits (SDM Vol. 2B RDMSR/WRMSR,
 * Vol. 3 25.7 IA32_FEATURE_CONTROL, 12.11 MTRRs, 12.12 x2APIC ICR). */
#include "fake_cpu.h"
#include "vmentry_check.h"
#include <runtime/vmexit.h>
#include <runtime/vmx_ops.h>
#include <xmhf/lapic.h>
#include <xmhf/msr.h>
#include <xmhf/vmx.h>

#define CPU 1
#define RIP0 0x100000
#define GP_EC (INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR_CODE | VECTOR_GP)

static struct guest_regs regs;

static int setup(void **state)
{
	(void)state;
	fake_reset(CPU);
	vmentry_vmcs01(CPU);
	for (u32 i = 0; i < 4; i++)
		cpu_register(2 * i); /* APIC ids 0, 2, 4, 6 */
	vmcs_set(VMCS_GUEST_CR0, CR0_PE | CR0_NE | CR0_ET);
	vmcs_set(VMCS_VM_EXIT_INSTRUCTION_LEN, 2);
	struct mtrr_state *m = &percpu[CPU].mtrr;
	m->cap = MTRR_CAP_FIX | 8;
	m->def_type = MTRR_DEF_E | MTRR_DEF_FE | 6;
	m->phys_addr_mask = (1ull << 36) - 1;
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

/* IA32_APIC_BASE writes go to the CPU; a new base moves the EPT01 trap. */
static void test_apic_base_moves_trap(void **state)
{
	(void)state;
	msr_set(MSR_IA32_APIC_BASE, LAPIC_DEFAULT_BASE | APIC_BASE_ENABLE);
	assert_true(guest_wrmsr(MSR_IA32_APIC_BASE, LAPIC_DEFAULT_BASE | APIC_BASE_ENABLE | APIC_BASE_X2APIC));
	assert_int_equal(fake_ept01_moved_apic_cpu, ~0u); /* mode only: same page */
	assert_true(guest_wrmsr(MSR_IA32_APIC_BASE, 0xfed00000ull | APIC_BASE_ENABLE));
	assert_int_equal(fake_ept01_moved_apic_cpu, CPU);
	assert_int_equal(fake_ept01_moved_apic_page, 0xfed00000ull);
	assert_int_equal(fake_wrmsr_safe_calls, 2);
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
	for (u32 msr = MSR_IA32_VMX_BASIC; msr <= MSR_IA32_VMX_VMFUNC; msr++) {
		msr_set(msr, 0x1234);
		assert_false(guest_rdmsr(msr, &v));
		assert_false(guest_wrmsr(msr, 0x1234));
	}
	assert_int_equal(fake_wrmsr_safe_calls, 0);
}

static void test_pass_through_and_faults(void **state)
{
	(void)state;
	u64 v;
	msr_set(0x10, 0x123456789abcdefull);
	assert_true(guest_rdmsr(0x10, &v));
	assert_int_equal(v, 0x123456789abcdefull);
	assert_false(guest_rdmsr(0x4d4d, &v)); /* the CPU faults on it */
	msr_set(0xc0000103, 0);
	assert_true(guest_wrmsr(0xc0000103, 0xfedcba9876543210ull));
	assert_int_equal(msr_get(0xc0000103), 0xfedcba9876543210ull);
	assert_false(guest_wrmsr(0x4d4d, 1));
	/* real mode: #GP without error code */
	vmcs_set(VMCS_GUEST_CR0, CR0_NE | CR0_ET);
	exit_prepare(0x4d4d, 0);
	handle_rdmsr(&regs);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VECTOR_GP);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), RIP0);
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
		cmocka_unit_test_setup(test_feature_control, setup),
		cmocka_unit_test_setup(test_vmx_msrs_gp, setup),
		cmocka_unit_test_setup(test_pass_through_and_faults, setup),
		cmocka_unit_test_setup(test_mtrr_reads_from_guest_view, setup),
		cmocka_unit_test_setup(test_mtrr_invalid_writes_gp, setup),
		cmocka_unit_test_setup(test_mtrr_valid_write_rebuilds_ept, setup),
		cmocka_unit_test_setup(test_x2apic_icr, setup),
		cmocka_unit_test_setup(test_icr_msr_in_xapic_mode_faults, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
