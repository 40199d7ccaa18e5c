/* xmhf/boot/uefi/load_options.c: LoadOptions (UCS-2 or 8-bit) to the ASCII command line */
#include "unit.h"
#include <uefi_boot.h>

static char out[64];

/* UCS-2 little-endian copy of s, with its NUL iff nul; exactly sized */
static void *ucs2(const char *s, bool nul, u32 *size)
{
	size_t n = strlen(s) + (nul ? 1 : 0);
	u8 *p = malloc(2 * n + 1);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		p[2 * i] = (u8)s[i];
		p[2 * i + 1] = 0;
	}
	*size = (u32)(2 * n);
	return p;
}

static bool convert_ucs2(const char *s, bool nul)
{
	u32 size;
	void *p = ucs2(s, nul, &size);
	bool whole = uefi_load_options_to_ascii(p, size, out, sizeof(out));
	free(p);
	return whole;
}

static void test_shell_line_drops_the_image_path(void **state)
{
	(void)state;
	assert_true(convert_ucs2("\\EFI\\xmhf\\xmhf.efi serial=9600 loglvl=debug", true));
	assert_string_equal(out, "serial=9600 loglvl=debug");
	assert_true(convert_ucs2("fs0:\\xmhf.efi   e9=on", false));
	assert_string_equal(out, "e9=on");
	assert_true(convert_ucs2("xmhf.efi", true));
	assert_string_equal(out, "");
}

static void test_options_only_are_kept_whole(void **state)
{
	(void)state;
	/* efibootmgr --unicode passes only what follows -u */
	assert_true(convert_ucs2("loglvl=trace keep_reserved=on", false));
	assert_string_equal(out, "loglvl=trace keep_reserved=on");
	assert_true(convert_ucs2("  boot_drive=0x81", true));
	assert_string_equal(out, "boot_drive=0x81");
}

static void test_empty_and_null(void **state)
{
	(void)state;
	memset(out, 'x', sizeof(out));
	assert_true(uefi_load_options_to_ascii(NULL, 0, out, sizeof(out)));
	assert_string_equal(out, "");
	memset(out, 'x', sizeof(out));
	assert_true(uefi_load_options_to_ascii(NULL, 100, out, sizeof(out)));
	assert_string_equal(out, "");
	assert_true(convert_ucs2("", true));
	assert_string_equal(out, "");
}

static void test_stops_at_nul_and_at_size(void **state)
{
	static const u8 opts[] = { 'a', 0, '=', 0, '1', 0, 0, 0, 'z', 0, '=', 0 };
	(void)state;
	void *p = exact_copy(opts, sizeof(opts));
	assert_true(uefi_load_options_to_ascii(p, sizeof(opts), out, sizeof(out)));
	assert_string_equal(out, "a=1");
	/* odd size: the half code unit is not read */
	assert_true(uefi_load_options_to_ascii(p, 5, out, sizeof(out)));
	assert_string_equal(out, "a=");
	free(p);
}

static void test_non_ascii_and_controls(void **state)
{
	static const u8 opts[] = { 'k', 0, '=', 0, 0xe9, 0, 0x14, 0x20, '\t', 0, 'b', 0, '=', 0, 0x01, 0, '\n', 0 };
	(void)state;
	void *p = exact_copy(opts, sizeof(opts));
	assert_true(uefi_load_options_to_ascii(p, sizeof(opts), out, sizeof(out)));
	assert_string_equal(out, "k=?? b=? ");
	free(p);
}

static void test_eight_bit_options(void **state)
{
	static const char opts[] = "serial=57600 e9=on";
	(void)state;
	/* efibootmgr without --unicode: bytes, no NUL (exactly sized) */
	void *p = exact_copy(opts, strlen(opts));
	assert_true(uefi_load_options_to_ascii(p, (u32)strlen(opts), out, sizeof(out)));
	assert_string_equal(out, "serial=57600 e9=on");
	free(p);
	static const char with_path[] = "\\xmhf.efi loglvl=warn\0ignored";
	p = exact_copy(with_path, sizeof(with_path));
	assert_true(uefi_load_options_to_ascii(p, sizeof(with_path), out, sizeof(out)));
	assert_string_equal(out, "loglvl=warn");
	free(p);
}

static void test_truncation(void **state)
{
	char small[8];
	u32 size;
	(void)state;
	void *p = ucs2("a=12345678", true, &size);
	assert_false(uefi_load_options_to_ascii(p, size, small, sizeof(small)));
	assert_string_equal(small, "a=12345");
	assert_true(uefi_load_options_to_ascii(p, 2 * 7, small, sizeof(small)));
	assert_string_equal(small, "a=12345");
	assert_false(uefi_load_options_to_ascii(p, size, small, 1));
	assert_string_equal(small, "");
	free(p);
}

static void test_random_garbage_stays_in_bounds(void **state)
{
	u8 buf[97];
	(void)state;
	srand(11);
	for (int round = 0; round < 2000; round++) {
		u32 n = (u32)(rand() % (int)sizeof(buf));
		for (u32 i = 0; i < n; i++)
			buf[i] = (u8)rand();
		void *p = exact_copy(buf, n);
		uefi_load_options_to_ascii(p, n, out, sizeof(out));
		free(p);
		size_t len = strlen(out);
		assert_true(len < sizeof(out));
		for (size_t i = 0; i < len; i++)
			assert_true(out[i] >= 0x20 && out[i] <= 0x7e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shell_line_drops_the_image_path),
		cmocka_unit_test(test_options_only_are_kept_whole),
		cmocka_unit_test(test_empty_and_null),
		cmocka_unit_test(test_stops_at_nul_and_at_size),
		cmocka_unit_test(test_non_ascii_and_controls),
		cmocka_unit_test(test_eight_bit_options),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_random_garbage_stays_in_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
