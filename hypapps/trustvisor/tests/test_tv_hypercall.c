/* tv_hypercall.c: hypercall numbers (with the L2 offset), the detection CPUID leaf and
 * TV_HC_TEST's log line; unknown and micro-TPM numbers get error codes. */
#include "unit.h"
#include "tv_hypercall.h"

static struct tv_hypercall hc;

static void decode(u64 rax, u64 rcx, u64 rsi, u64 rdi, bool c64, bool l2)
{
	struct tv_hc_regs r = { .rax = rax, .rcx = rcx, .rsi = rsi, .rdi = rdi, .caller64 = c64, .l2 = l2 };
	memset(&hc, 0xa5, sizeof(hc));
	tv_hc_decode(&r, &hc);
}

static void test_numbers(void **state)
{
	(void)state;
	decode(TV_HC_REG, 0x7000, 0x8000, 0x401000, true, false);
	assert_int_equal(hc.kind, TV_HC_KIND_REG);
	assert_int_equal(hc.sections.v, 0x7000);
	assert_int_equal(hc.params.v, 0x8000);
	assert_int_equal(hc.entry.v, 0x401000);
	decode(TV_HC_UNREG, 0x401000, 1, 2, true, false);
	assert_int_equal(hc.kind, TV_HC_KIND_UNREG);
	assert_int_equal(hc.entry.v, 0x401000);
	decode(TV_HC_TEST, 0x123456789abcdefull, 0, 0, true, false);
	assert_int_equal(hc.kind, TV_HC_KIND_TEST);
	assert_int_equal(hc.value, 0x123456789abcdefull);
}

static void test_l2_offset(void **state)
{
	(void)state;
	decode(TV_HC_L2_OFFSET + TV_HC_REG, 1, 2, 3, true, true);
	assert_int_equal(hc.kind, TV_HC_KIND_REG);
	decode(TV_HC_L2_OFFSET + TV_HC_TEST, 5, 0, 0, false, true);
	assert_int_equal(hc.kind, TV_HC_KIND_TEST);
	/* an L2 caller without the offset, or an L1 caller with it */
	decode(TV_HC_TEST, 5, 0, 0, true, true);
	assert_int_equal(hc.kind, TV_HC_KIND_ERROR);
	assert_int_equal(hc.error, TV_ERR_UNKNOWN_HYPERCALL);
	decode(TV_HC_L2_OFFSET + TV_HC_TEST, 5, 0, 0, true, false);
	assert_int_equal(hc.kind, TV_HC_KIND_ERROR);
	assert_int_equal(hc.error, TV_ERR_UNKNOWN_HYPERCALL);
	decode(0, 0, 0, 0, true, true);
	assert_int_equal(hc.error, TV_ERR_UNKNOWN_HYPERCALL);
}

/* Which L2 exits the hypapp takes from L1: its numbers and its leaf only. */
static void test_l2_exits_claimed(void **state)
{
	(void)state;
	assert_true(tv_hc_is_l2_call(TV_HC_L2_OFFSET, true));
	assert_true(tv_hc_is_l2_call(TV_HC_L2_OFFSET + 0xff, true));
	assert_false(tv_hc_is_l2_call(TV_HC_L2_OFFSET + 0x100, true));
	assert_false(tv_hc_is_l2_call(TV_HC_L2_OFFSET - 1, true));
	assert_false(tv_hc_is_l2_call(TV_HC_TEST, true)); /* e.g. KVM's own hypercalls: L1's */
	assert_false(tv_hc_is_l2_call(0x100000000ull | TV_HC_L2_OFFSET, true));
	assert_true(tv_hc_is_l2_call(0x100000000ull | TV_HC_L2_OFFSET, false)); /* low half only */
	assert_true(tv_cpuid_is_l2_leaf(TV_CPUID_LEAF, TV_HC_L2_OFFSET));
	assert_false(tv_cpuid_is_l2_leaf(TV_CPUID_LEAF, 0));
	assert_false(tv_cpuid_is_l2_leaf(TV_CPUID_LEAF + 1, TV_HC_L2_OFFSET));
}

/* In L1's VMX root operation: TrustVisor's three calls, nothing else (micro-TPM's 3 included). */
static void test_l1_root_calls_claimed(void **state)
{
	(void)state;
	assert_true(tv_hc_is_l1_root_call(TV_HC_REG, true));
	assert_true(tv_hc_is_l1_root_call(TV_HC_UNREG, true));
	assert_true(tv_hc_is_l1_root_call(0xdead00000000ull | TV_HC_TEST, false)); /* low half only */
	assert_false(tv_hc_is_l1_root_call(0xdead00000000ull | TV_HC_TEST, true));
	assert_false(tv_hc_is_l1_root_call(0, true)); /* nested VMX's VMfail */
	assert_false(tv_hc_is_l1_root_call(3, true));
	assert_false(tv_hc_is_l1_root_call(TV_HC_L2_OFFSET + TV_HC_REG, true));
}

/* A 32-bit caller's registers count with their low halves (undefined upper halves). */
static void test_32bit_caller(void **state)
{
	(void)state;
	decode(0xdead000000000000ull | TV_HC_REG, 0xffff00000007000ull, 0x1100008000ull, 0x2200401000ull, false, false);
	assert_int_equal(hc.kind, TV_HC_KIND_REG);
	assert_int_equal(hc.sections.v, 0x7000);
	assert_int_equal(hc.params.v, 0x8000);
	assert_int_equal(hc.entry.v, 0x401000);
	decode(0x100000000ull | TV_HC_TEST, 0x1234567887654321ull, 0, 0, false, false);
	assert_int_equal(hc.value, 0x87654321);
	/* while a 64-bit caller's full RAX is the number */
	decode(0x100000000ull | TV_HC_TEST, 0, 0, 0, true, false);
	assert_int_equal(hc.error, TV_ERR_UNKNOWN_HYPERCALL);
}

static void test_unsupported_and_unknown(void **state)
{
	(void)state;
	for (u64 nr = 0; nr < 300; nr++) {
		decode(nr, 0, 0, 0, true, false);
		if (nr == TV_HC_REG || nr == TV_HC_UNREG || nr == TV_HC_TEST) {
			assert_int_not_equal(hc.kind, TV_HC_KIND_ERROR);
			continue;
		}
		assert_int_equal(hc.kind, TV_HC_KIND_ERROR);
		bool utpm = (nr >= 3 && nr <= 13) || (nr >= 21 && nr <= 23);
		assert_int_equal(hc.error, utpm ? TV_ERR_UNSUPPORTED : TV_ERR_UNKNOWN_HYPERCALL);
	}
	decode(~0ull, 0, 0, 0, true, false);
	assert_int_equal(hc.error, TV_ERR_UNKNOWN_HYPERCALL);
	decode(TV_HC_L2_OFFSET + 7, 0, 0, 0, true, true);
	assert_int_equal(hc.error, TV_ERR_UNSUPPORTED);
}

static void test_test_line(void **state)
{
	(void)state;
	char buf[64];
	assert_int_equal(tv_hc_test_line(buf, sizeof(buf), 0x7e57), 38);
	assert_string_equal(buf, "test hypercall, rcx=0x0000000000007e57");
	tv_hc_test_line(buf, sizeof(buf), 0xfedcba9876543210ull);
	assert_string_equal(buf, "test hypercall, rcx=0xfedcba9876543210");
	tv_hc_test_line(buf, 10, 1); /* truncated, terminated */
	assert_string_equal(buf, "test hype");
}

static void test_cpuid(void **state)
{
	(void)state;
	struct tv_cpuid r;
	struct tv_cpuid_query q = { .eax = TV_CPUID_LEAF, .ecx = 0, .caller64 = true };
	assert_true(tv_cpuid_answer(&q, &r));
	assert_int_equal(r.eax, 0x7a767274);
	assert_int_equal(r.ebx, 0xffffffff);
	assert_int_equal(r.ecx, 1);
	assert_int_equal(r.edx, 0);
	q = (struct tv_cpuid_query){ .eax = TV_CPUID_LEAF, .in_pal = true, .pal_id = 3 };
	assert_true(tv_cpuid_answer(&q, &r));
	assert_int_equal(r.ebx, 3);
	assert_int_equal(r.ecx, 0);
	q = (struct tv_cpuid_query){ .eax = TV_CPUID_LEAF, .ecx = TV_HC_L2_OFFSET, .l2 = true, .caller64 = true, .ept12 = true };
	assert_true(tv_cpuid_answer(&q, &r));
	assert_int_equal(r.ecx, 3);
	assert_int_equal(r.ebx, 0xffffffff);
	q.ecx = 0; /* an L2 caller asking L1's question: not ours */
	assert_false(tv_cpuid_answer(&q, &r));
	q = (struct tv_cpuid_query){ .eax = TV_CPUID_LEAF, .ecx = TV_HC_L2_OFFSET };
	assert_false(tv_cpuid_answer(&q, &r));
	q = (struct tv_cpuid_query){ .eax = TV_CPUID_LEAF, .ecx = 1 };
	assert_false(tv_cpuid_answer(&q, &r));
	q = (struct tv_cpuid_query){ .eax = 0x40000000 };
	assert_false(tv_cpuid_answer(&q, &r));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_l2_offset),
		cmocka_unit_test(test_l2_exits_claimed),
		cmocka_unit_test(test_l1_root_calls_claimed),
		cmocka_unit_test(test_32bit_caller),
		cmocka_unit_test(test_unsupported_and_unknown),
		cmocka_unit_test(test_test_line),
		cmocka_unit_test(test_cpuid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
