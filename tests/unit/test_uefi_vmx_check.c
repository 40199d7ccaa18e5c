/* xmhf/boot/uefi/vmx_check.c: may the CPU enter VMX operation? */
#include "unit.h"
#include <uefi_boot.h>
#include <xmhf/msr.h>
#include <xmhf/vmx.h>

static void test_no_vmx_in_cpuid(void **state)
{
	(void)state;
	/* TCG's qemu64 CPU: CPUID.1:ECX without VMX; the MSR value is not looked at */
	const char *why = uefi_vmx_unavailable(~(u32)CPUID1_ECX_VMX, FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
	assert_non_null(why);
	assert_non_null(strstr(why, "CPUID.1:ECX.VMX = 0"));
}

static void test_locked_off_by_firmware(void **state)
{
	(void)state;
	const char *why = uefi_vmx_unavailable(CPUID1_ECX_VMX, FEATURE_CONTROL_LOCK);
	assert_non_null(why);
	assert_non_null(strstr(why, "IA32_FEATURE_CONTROL"));
	/* VMX inside SMX only is no use outside SMX */
	assert_non_null(uefi_vmx_unavailable(CPUID1_ECX_VMX, FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_IN_SMX));
}

static void test_usable(void **state)
{
	(void)state;
	assert_null(uefi_vmx_unavailable(CPUID1_ECX_VMX, FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX));
	/* unlocked: the runtime enables and locks it (SDM Vol. 3 25.7) */
	assert_null(uefi_vmx_unavailable(CPUID1_ECX_VMX, 0));
	assert_null(uefi_vmx_unavailable(CPUID1_ECX_VMX | 1, FEATURE_CONTROL_VMX_IN_SMX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_vmx_in_cpuid),
		cmocka_unit_test(test_locked_off_by_firmware),
		cmocka_unit_test(test_usable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
