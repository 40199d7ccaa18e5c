/* xmhf/lib/format.c: fixed expectations, plus the C library's snprintf as
 * an oracle for the conversions both support. */
#include "unit.h"
#include <limits.h>
#include <stdio.h>
#include <xmhf/format.h>
#include <xmhf/string.h>

#define EXPECT(expected, ...)                                         \
	do {                                                          \
		char buf_[128];                                       \
		int n_ = xsnprintf(buf_, sizeof(buf_), __VA_ARGS__);  \
		assert_string_equal(buf_, expected);                  \
		assert_int_equal(n_, strlen(expected));               \
	} while (0)
/* For what gcc's format check rejects in a libc printf. */
#define EXPECT_UNCHECKED(...)                                         \
	do {                                                          \
		_Pragma("GCC diagnostic push")                        \
		_Pragma("GCC diagnostic ignored \"-Wformat\"")        \
		_Pragma("GCC diagnostic ignored \"-Wformat-overflow\"") \
		EXPECT(__VA_ARGS__);                                  \
		_Pragma("GCC diagnostic pop")                         \
	} while (0)

/* The same arguments through both printfs must agree. */
#define SAME_AS_LIBC(...)                                             \
	do {                                                          \
		char ours_[96], libc_[96];                            \
		int n_ours_ = xsnprintf(ours_, sizeof(ours_), __VA_ARGS__); \
		int n_libc_ = snprintf(libc_, sizeof(libc_), __VA_ARGS__); \
		assert_string_equal(ours_, libc_);                    \
		assert_int_equal(n_ours_, n_libc_);                   \
	} while (0)

static void test_integers(void **state)
{
	(void)state;
	EXPECT("0 -1 42", "%d %i %u", 0, -1, 42u);
	EXPECT("-2147483648", "%d", INT_MIN);
	EXPECT("4294967295", "%u", UINT_MAX);
	EXPECT("ff FF", "%x %X", 255u, 255u);
	EXPECT("-9223372036854775808", "%lld", LLONG_MIN);
	EXPECT("18446744073709551615", "%llu", ULLONG_MAX);
	EXPECT("ffffffffffffffff", "%lx", ULONG_MAX);
	EXPECT("123456789abc", "%llx", 0x123456789abcull);
	EXPECT("-5 7", "%ld %lu", -5L, 7UL);
	EXPECT("4096 -3", "%zu %zd", (size_t)4096, (ptrdiff_t)-3);
	EXPECT("ff ffff", "%hhx %hx", 0x1ffu, 0x1ffffu);
}

static void test_width_and_flags(void **state)
{
	(void)state;
	EXPECT("   42|42   |00042", "%5d|%-5d|%05d", 42, 42, 42);
	EXPECT("-0042|  -42", "%05d|%5d", -42, -42);
	EXPECT("0x3f8", "0x%03x", 0x3f8u);
	EXPECT("0000beef", "%08x", 0xbeefu);
	EXPECT("   ab|ab   ", "%*s|%-*s", 5, "ab", 5, "ab");
	EXPECT("ab   |", "%*s|", -5, "ab");  /* negative '*' width: left */
	EXPECT("  x|x  ", "%3c|%-3c", 'x', 'x');
	EXPECT("toolong", "%3s", "toolong");
	/* '0' pads numbers only (it is undefined for s and c in C99) */
	EXPECT_UNCHECKED("   ab|  c", "%05s|%03c", "ab", 'c');
}

static void test_precision(void **state)
{
	(void)state;
	EXPECT("abc|ab", "%.3s|%.*s", "abcdef", 2, "abcdef");
	EXPECT("00042|", "%.5d|%.0d", 42, 0);
	EXPECT_UNCHECKED("   007", "%06.3d", 7);  /* precision disables '0' */
}

static void test_pointer_string_char_percent(void **state)
{
	(void)state;
	EXPECT("0xfee00000", "%p", (void *)0xfee00000ul);
	EXPECT("0x0", "%p", (void *)0);
	EXPECT_UNCHECKED("0x000000f0", "%010p", (void *)0xf0ul);
	EXPECT_UNCHECKED("hi (null)", "%s %s", "hi", (const char *)NULL);
	EXPECT("A%B", "%c%%%c", 'A', 'B');
}

static void test_unknown_conversion_printed_verbatim(void **state)
{
	(void)state;
	EXPECT_UNCHECKED("a%qb", "a%qb");
	EXPECT_UNCHECKED("a%", "a%");
}

static void test_truncation_returns_full_length(void **state)
{
	char buf[8];

	(void)state;
	memset(buf, 'z', sizeof(buf));
	assert_int_equal(xsnprintf(buf, 4, "%s-%d", "abcdef", 123), 10);
	assert_string_equal(buf, "abc");
	assert_int_equal(buf[4], 'z');  /* nothing written past size */
	assert_int_equal(xsnprintf(buf, 1, "hello"), 5);
	assert_string_equal(buf, "");
	buf[0] = 'z';
	assert_int_equal(xsnprintf(NULL, 0, "%d", 12345), 5);
	assert_int_equal(xsnprintf(buf, 0, "x"), 1);
	assert_int_equal(buf[0], 'z');
	assert_int_equal(xsnprintf(buf, sizeof(buf), "%s", "1234567"), 7);
	assert_string_equal(buf, "1234567");
	assert_int_equal(xsnprintf(buf, sizeof(buf), "%s", "12345678"), 8);
	assert_string_equal(buf, "1234567");
}

static void test_agrees_with_libc(void **state)
{
	static const long long values[] = {
		0, 1, -1, 9, 10, 255, -256, 65535, INT_MAX, INT_MIN,
		LLONG_MAX, LLONG_MIN, 0x7fee00000ll,
	};
	static const int widths[] = { 0, 1, 3, 8, 21, 25 };

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		for (size_t j = 0; j < sizeof(widths) / sizeof(widths[0]); j++) {
			long long v = values[i];
			int w = widths[j];

			SAME_AS_LIBC("[%*d|%-*d|%0*d]", w, (int)v, w, (int)v, w, (int)v);
			SAME_AS_LIBC("[%*u|%0*x|%-*X]", w, (unsigned)v, w, (unsigned)v,
				     w, (unsigned)v);
			SAME_AS_LIBC("[%*lld|%0*llx|%-*llu]", w, v, w,
				     (unsigned long long)v, w, (unsigned long long)v);
			SAME_AS_LIBC("[%*ld|%0*lx|%*zu]", w, (long)v, w,
				     (unsigned long)v, w, (size_t)v);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_width_and_flags),
		cmocka_unit_test(test_precision),
		cmocka_unit_test(test_pointer_string_char_percent),
		cmocka_unit_test(test_unknown_conversion_printed_verbatim),
		cmocka_unit_test(test_truncation_returns_full_length),
		cmocka_unit_test(test_agrees_with_libc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
