/* xmhf/lib/string.c: the standard-named functions under their host prefix
 * (xmhf_host_*), strlcpy and parse_u64. */
#include "unit.h"
#include <xmhf/string.h>

static void test_memcpy_copies_exactly_n(void **state)
{
	char dst[8] = "xxxxxxx";

	(void)state;
	assert_ptr_equal(xmhf_host_memcpy(dst + 1, "abc", 3), dst + 1);
	assert_memory_equal(dst, "xabcxxx", 8);
	xmhf_host_memcpy(dst, "zz", 0);
	assert_int_equal(dst[0], 'x');
}

static void test_memmove_overlap_both_directions(void **state)
{
	char fwd[] = "123456789";
	char back[] = "123456789";

	(void)state;
	xmhf_host_memmove(fwd + 2, fwd, 5);   /* dst above src */
	assert_string_equal(fwd, "121234589");
	xmhf_host_memmove(back, back + 2, 5); /* dst below src */
	assert_string_equal(back, "345676789");
}

static void test_memset_fills_low_byte(void **state)
{
	unsigned char b[5] = { 0 };

	(void)state;
	assert_ptr_equal(xmhf_host_memset(b + 1, 0x1ab, 3), b + 1);
	assert_int_equal(b[0], 0);
	assert_int_equal(b[1], 0xab);
	assert_int_equal(b[3], 0xab);
	assert_int_equal(b[4], 0);
}

static void test_memcmp_is_unsigned(void **state)
{
	(void)state;
	assert_int_equal(xmhf_host_memcmp("abc", "abc", 3), 0);
	assert_true(xmhf_host_memcmp("abc", "abd", 3) < 0);
	assert_true(xmhf_host_memcmp("\x80", "\x01", 1) > 0);
	assert_int_equal(xmhf_host_memcmp("a", "b", 0), 0);
}

static void test_strlen(void **state)
{
	(void)state;
	assert_int_equal(xmhf_host_strlen(""), 0);
	assert_int_equal(xmhf_host_strlen("hello"), 5);
}

static void test_strcmp_and_strncmp(void **state)
{
	(void)state;
	assert_int_equal(xmhf_host_strcmp("abc", "abc"), 0);
	assert_true(xmhf_host_strcmp("ab", "abc") < 0);
	assert_true(xmhf_host_strcmp("abc", "ab") > 0);
	assert_true(xmhf_host_strcmp("\xff", "a") > 0);
	assert_int_equal(xmhf_host_strncmp("abcX", "abcY", 3), 0);
	assert_true(xmhf_host_strncmp("abcX", "abcY", 4) < 0);
	assert_int_equal(xmhf_host_strncmp("a", "b", 0), 0);
	/* stops at the NUL: must not read past either string */
	assert_int_equal(xmhf_host_strncmp("ab", "ab", 100), 0);
}

static void test_strlcpy_truncates_and_terminates(void **state)
{
	char buf[4] = "zzz";

	(void)state;
	assert_int_equal(strlcpy(buf, "hello", sizeof(buf)), 5);
	assert_string_equal(buf, "hel");
	assert_int_equal(strlcpy(buf, "hi", sizeof(buf)), 2);
	assert_string_equal(buf, "hi");
	assert_int_equal(strlcpy(buf, "abc", sizeof(buf)), 3);
	assert_string_equal(buf, "abc");
	assert_int_equal(strlcpy(buf, "q", 0), 1);  /* size 0: nothing written */
	assert_string_equal(buf, "abc");
	assert_int_equal(strlcpy(buf, "q", 1), 1);
	assert_string_equal(buf, "");
}

static bool parse(const char *s, u64 *v)
{
	return parse_u64(s, strlen(s), v);
}

static void test_parse_u64_accepts(void **state)
{
	u64 v;

	(void)state;
	assert_true(parse("0", &v));
	assert_int_equal(v, 0);
	assert_true(parse("115200", &v));
	assert_int_equal(v, 115200);
	assert_true(parse("0x3f8", &v));
	assert_int_equal(v, 0x3f8);
	assert_true(parse("0XABCDEF", &v));
	assert_int_equal(v, 0xabcdef);
	assert_true(parse("18446744073709551615", &v));
	assert_int_equal(v, UINT64_MAX);
	assert_true(parse("0xffffffffffffffff", &v));
	assert_int_equal(v, UINT64_MAX);
	assert_true(parse("007", &v));
	assert_int_equal(v, 7);
}

static void test_parse_u64_rejects(void **state)
{
	static const char *const bad[] = {
		"", "0x", "0X", "x10", "12a", "abc", "-1", "+1", " 1", "1 ",
		"0x0x1", "0xg", "18446744073709551616", "0x10000000000000000",
		"99999999999999999999",
	};
	u64 v = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(parse(bad[i], &v));
		assert_int_equal(v, 42);  /* untouched on failure */
	}
}

static void test_parse_u64_reads_only_len_bytes(void **state)
{
	const char digits[3] = { '1', '2', '3' };  /* no NUL */
	u64 v;

	(void)state;
	assert_true(parse_u64(digits, 2, &v));
	assert_int_equal(v, 12);
	assert_true(parse_u64("0x1fz", 4, &v));
	assert_int_equal(v, 0x1f);
	assert_false(parse_u64("5", 0, &v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memcpy_copies_exactly_n),
		cmocka_unit_test(test_memmove_overlap_both_directions),
		cmocka_unit_test(test_memset_fills_low_byte),
		cmocka_unit_test(test_memcmp_is_unsigned),
		cmocka_unit_test(test_strlen),
		cmocka_unit_test(test_strcmp_and_strncmp),
		cmocka_unit_test(test_strlcpy_truncates_and_terminates),
		cmocka_unit_test(test_parse_u64_accepts),
		cmocka_unit_test(test_parse_u64_rejects),
		cmocka_unit_test(test_parse_u64_reads_only_len_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
