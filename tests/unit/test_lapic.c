/* xmhf/platform/lapic.c: the hypervisor's own APIC accesses after the guest
 * disabled or reconfigured its APIC (SDM Vol. 3 12.4.3, 12.12.9). Any MMIO
 * access fails the test (fake_cpu.c). */
#include "fake_cpu.h"
#include <xmhf/lapic.h>
#include <xmhf/msr.h>

static int setup(void **state)
{
	(void)state;
	fake_reset(0);
	return 0;
}

/* EN=0: the page at the old base is memory, not the APIC: not touched. */
static void test_disabled_apic_not_touched(void **state)
{
	(void)state;
	msr_set(MSR_IA32_APIC_BASE, LAPIC_DEFAULT_BASE);
	assert_false(lapic_enabled());
	lapic_reset_for_init();
	assert_false(lapic_send_ipi(1, ICR_DELIVERY_NMI | ICR_LEVEL_ASSERT));
	assert_int_equal(lapic_read(APIC_REG_LDR), 0);
	msr_set(MSR_IA32_APIC_BASE, LAPIC_DEFAULT_BASE | APIC_BASE_X2APIC);
	assert_false(lapic_send_ipi(1, ICR_DELIVERY_NMI | ICR_LEVEL_ASSERT));
	assert_int_equal(fake_wrmsr_safe_calls, 0);
}

/* x2APIC: the ICR write is fault-safe. */
static void test_x2apic_icr_write_fault_safe(void **state)
{
	(void)state;
	msr_set(MSR_IA32_APIC_BASE, LAPIC_DEFAULT_BASE | APIC_BASE_ENABLE | APIC_BASE_X2APIC);
	assert_false(lapic_send_ipi(3, ICR_DELIVERY_NMI | ICR_LEVEL_ASSERT)); /* the WRMSR faults */
	msr_set(MSR_X2APIC_ICR, 0);
	assert_true(lapic_send_ipi(3, ICR_DELIVERY_NMI | ICR_LEVEL_ASSERT));
	assert_int_equal(msr_get(MSR_X2APIC_ICR), (3ull << 32) | ICR_DELIVERY_NMI | ICR_LEVEL_ASSERT);
}

/* x2APIC INIT reset: through the MSRs, absent registers skipped. */
static void test_x2apic_reset_for_init(void **state)
{
	(void)state;
	msr_set(MSR_IA32_APIC_BASE, LAPIC_DEFAULT_BASE | APIC_BASE_ENABLE | APIC_BASE_X2APIC);
	msr_set(X2APIC_MSR(APIC_REG_SVR), 0x1ff);
	msr_set(X2APIC_MSR(APIC_REG_LVT_TIMER), 0xec);
	lapic_reset_for_init();
	assert_int_equal(msr_get(X2APIC_MSR(APIC_REG_SVR)), 0xff);
	assert_int_equal(msr_get(X2APIC_MSR(APIC_REG_LVT_TIMER)), BIT(16));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_disabled_apic_not_touched, setup),
		cmocka_unit_test_setup(test_x2apic_icr_write_fault_safe, setup),
		cmocka_unit_test_setup(test_x2apic_reset_for_init, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
