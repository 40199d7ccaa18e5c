/* xmhf/runtime/msr_policy.c: the MSR bitmap (SDM Vol. 3 25.6.9) against the
 * allow-list, and what is never passed through (docs/msr-policy.md). */
#include "fake_cpu.h"
#include <runtime/msr_policy.h>
#include <xmhf/msr.h>
#include <xmhf/paging.h>

static u8 bitmap[PAGE_SIZE];

/* The bitmap's layout, decoded here independently of msr_policy.c: read
 * low, read high, write low, write high; outside the two ranges every
 * access exits. */
static bool exits(u32 msr, bool write)
{
	u32 base = write ? 2048 : 0;
	if (msr >= 0xc0000000u && msr < 0xc0002000u)
		base += 1024, msr -= 0xc0000000u;
	else if (msr >= 0x2000)
		return true;
	return bitmap[base + msr / 8] & (1u << (msr % 8));
}

static bool listed(u32 msr, bool write)
{
	for (u32 i = 0; i < msr_pass_through_count; i++)
		if (msr >= msr_pass_through[i].first && msr <= msr_pass_through[i].last)
			return write ? msr_pass_through[i].write : msr_pass_through[i].read;
	return false;
}

static int setup(void **state)
{
	(void)state;
	fake_reset(0);
	memset(bitmap, 0, sizeof(bitmap));
	msr_bitmap_build(bitmap);
	return 0;
}

/* Every allow-listed access passes, every other one in both ranges exits. */
static void test_bitmap_is_the_list(void **state)
{
	(void)state;
	for (u32 half = 0; half < 2; half++)
		for (u32 msr = half * 0xc0000000u; msr < half * 0xc0000000u + 0x2000; msr++)
			for (u32 w = 0; w < 2; w++)
				if (exits(msr, w) == listed(msr, w))
					fail_msg("MSR 0x%x %s: bitmap says %s", msr, w ? "write" : "read",
						 exits(msr, w) ? "exit" : "pass");
}

/* An allow-list entry outside the bitmap's ranges would not pass (the CPU
 * exits on every such MSR): the list would lie. Entries do not overlap. */
static void test_list_inside_ranges(void **state)
{
	(void)state;
	for (u32 i = 0; i < msr_pass_through_count; i++) {
		const struct msr_range *r = &msr_pass_through[i];
		bool low = r->last < 0x2000, high = r->first >= 0xc0000000u && r->last < 0xc0002000u;
		assert_true(r->first <= r->last);
		assert_true(low || high);
		assert_true(r->read || r->write);
		for (u32 j = i + 1; j < msr_pass_through_count; j++)
			assert_true(msr_pass_through[j].first > r->last || msr_pass_through[j].last < r->first);
	}
	assert_true(exits(0x2000, false) && exits(0x40000000, true) && exits(0xc0002000, false));
	assert_true(exits(0xc0010000, true) && exits(0xffffffff, false));
}

/* Samples both ways: what the guest needs without exits, and what must
 * exit (hypervisor-owned, or able to write memory from VMX root). */
static void test_samples(void **state)
{
	(void)state;
	static const u32 pass_rw[] = {
		MSR_IA32_FS_BASE, MSR_IA32_GS_BASE, MSR_IA32_KERNEL_GS_BASE, MSR_IA32_EFER, MSR_IA32_PAT,
		MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_EIP, 0xc0000082 /* LSTAR */, MSR_IA32_TSC_AUX,
		MSR_IA32_TSC_DEADLINE, 0x80b /* x2APIC EOI */,
	};
	static const u32 exit_rw[] = {
		MSR_IA32_FEATURE_CONTROL, MSR_MTRRCAP, MSR_MTRR_PHYSBASE0, MSR_MTRR_FIX4K_F8000, MSR_MTRR_DEF_TYPE,
		MSR_IA32_VMX_BASIC, MSR_IA32_VMX_VMFUNC, MSR_IA32_VMX_PROCBASED_CTLS3, MSR_IA32_VMX_EXIT_CTLS2,
		MSR_IA32_RTIT_OUTPUT_BASE, MSR_IA32_RTIT_CTL, MSR_IA32_RTIT_ADDR3_B, MSR_IA32_DS_AREA,
		MSR_IA32_PEBS_ENABLE, MSR_IA32_PERF_GLOBAL_CTRL, MSR_IA32_PERF_GLOBAL_STATUS,
		MSR_IA32_PERF_GLOBAL_OVF_CTRL, MSR_IA32_FIXED_CTR_CTRL, MSR_IA32_FIXED_CTR0, MSR_IA32_PERFEVTSEL0,
		MSR_IA32_PMC0, MSR_IA32_A_PMC0, MSR_IA32_DEBUGCTL, MSR_IA32_MISC_ENABLE, MSR_IA32_XSS,
		0x79 /* BIOS_UPDT_TRIG */, 0x1fff, 0xc0001fff,
	};
	for (u32 i = 0; i < sizeof(pass_rw) / sizeof(pass_rw[0]); i++)
		assert_false(exits(pass_rw[i], false) || exits(pass_rw[i], true));
	for (u32 i = 0; i < sizeof(exit_rw) / sizeof(exit_rw[0]); i++)
		assert_true(exits(exit_rw[i], false) && exits(exit_rw[i], true));
	/* reads pass, writes are validated or captured */
	assert_true(!exits(MSR_IA32_APIC_BASE, false) && exits(MSR_IA32_APIC_BASE, true));
	assert_true(!exits(MSR_X2APIC_ICR, false) && exits(MSR_X2APIC_ICR, true));
	assert_true(!exits(MSR_IA32_MPERF, false) && exits(MSR_IA32_APERF, true));
}

/* Nothing that can make the CPU write trace, PEBS or BTS records is
 * passed through or forwarded. */
static void test_trace_msrs_never_reach_the_cpu(void **state)
{
	(void)state;
	static const struct { u32 first, last; } never[] = {
		{ MSR_IA32_RTIT_OUTPUT_BASE, MSR_IA32_RTIT_ADDR3_B }, { MSR_IA32_DS_AREA, MSR_IA32_DS_AREA },
		{ MSR_IA32_PEBS_ENABLE, MSR_IA32_PEBS_ENABLE + 6 },  { MSR_IA32_FIXED_CTR_CTRL, 0x391 },
		{ MSR_IA32_PMC0, MSR_IA32_PMC0 + 7 },                { MSR_IA32_PERFEVTSEL0, MSR_IA32_PERFEVTSEL0 + 7 },
		{ MSR_IA32_FIXED_CTR0, MSR_IA32_FIXED_CTR0 + 3 },    { MSR_IA32_A_PMC0, MSR_IA32_A_PMC0 + 7 },
		{ MSR_IA32_DEBUGCTL, MSR_IA32_DEBUGCTL },
	};
	for (u32 i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		for (u32 msr = never[i].first; msr <= never[i].last; msr++)
			for (u32 w = 0; w < 2; w++)
				assert_true(exits(msr, w) && !msr_forwarded(msr, w));
	/* IA32_XSS writes are checked: the PT state component */
	assert_true(exits(MSR_IA32_XSS, true) && !msr_forwarded(MSR_IA32_XSS, true));
}

/* What firmware may have left on is turned off in VMX root. */
static void test_root_clear(void **state)
{
	(void)state;
	msr_set(MSR_IA32_RTIT_CTL, 1);
	msr_set(MSR_IA32_PEBS_ENABLE, 0xf);
	msr_set(MSR_IA32_PERF_GLOBAL_CTRL, 0x70000000full);
	msr_root_clear();
	assert_int_equal(msr_get(MSR_IA32_RTIT_CTL), 0);
	assert_int_equal(msr_get(MSR_IA32_PEBS_ENABLE), 0);
	assert_int_equal(msr_get(MSR_IA32_PERF_GLOBAL_CTRL), 0);
	fake_reset(0);
	msr_root_clear(); /* a CPU without them: the faults are absorbed */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_bitmap_is_the_list, setup),
		cmocka_unit_test_setup(test_list_inside_ranges, setup),
		cmocka_unit_test_setup(test_samples, setup),
		cmocka_unit_test_setup(test_trace_msrs_never_reach_the_cpu, setup),
		cmocka_unit_test_setup(test_root_clear, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
