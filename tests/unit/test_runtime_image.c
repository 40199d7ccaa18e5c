/* xmhf/boot/runtime_image.c: checking and placing runtime.bin (both loaders) */
#include "unit.h"
#include <xmhf/bootinfo.h>
#include <xmhf/paging.h>

#define IMAGE_SIZE (3 * PAGE_SIZE)
#define RESERVED_SIZE (8 * PAGE_SIZE)

static u8 *dest;  /* the "physical" load base: page-aligned host memory */
static u8 *image; /* runtime.bin as the loader carries it */
static struct runtime_header *hdr;

static int setup(void **state)
{
	(void)state;
	dest = aligned_alloc(PAGE_SIZE, RESERVED_SIZE);
	image = malloc(IMAGE_SIZE);
	assert_non_null(dest);
	assert_non_null(image);
	memset(dest, 0xee, RESERVED_SIZE);
	for (u32 i = 0; i < IMAGE_SIZE; i++)
		image[i] = (u8)(i * 7 + 1);
	hdr = (struct runtime_header *)image;
	u64 base = (u64)dest;
	*hdr = (struct runtime_header){
		.magic = RUNTIME_HEADER_MAGIC,
		.base = base,
		.entry = base + PAGE_SIZE,
		.image_end = base + IMAGE_SIZE,
		.reserved_end = base + RESERVED_SIZE,
		.boot_info = base + IMAGE_SIZE + PAGE_SIZE, /* in the runtime's bss */
		.ap_trampoline = 0x8000,
	};
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(dest);
	free(image);
	return 0;
}

static void test_header_accepted(void **state)
{
	(void)state;
	assert_ptr_equal(runtime_image_header(image, IMAGE_SIZE), hdr);
}

static void test_header_rejected(void **state)
{
	(void)state;
	u64 base = hdr->base;
	assert_null(runtime_image_header(image, IMAGE_SIZE - 1)); /* length != image_end - base */
	assert_null(runtime_image_header(image, sizeof(*hdr) - 1));
	struct runtime_header good = *hdr;
#define REJECT(field, value)                                          \
	do {                                                          \
		hdr->field = (value);                                 \
		assert_null(runtime_image_header(image, IMAGE_SIZE)); \
		*hdr = good;                                          \
	} while (0)
	REJECT(magic, RUNTIME_HEADER_MAGIC ^ 1);
	REJECT(base, base + 8);                           /* not page-aligned (and length) */
	REJECT(entry, base + IMAGE_SIZE);                 /* entry past the image */
	REJECT(entry, base - 1);
	REJECT(reserved_end, base + IMAGE_SIZE - 1);      /* bss before the image's end */
	REJECT(boot_info, base + RESERVED_SIZE - sizeof(struct boot_info) + 1);
	REJECT(boot_info, base - 8);
	REJECT(boot_info, ~0ull - 8);                     /* wraps */
	REJECT(image_end, base - PAGE_SIZE);              /* before the base */
	REJECT(ap_trampoline, 0x8010);                    /* SIPI: a page ... */
	REJECT(ap_trampoline, 0x100000);                  /* ... below 1 MiB */
#undef REJECT
	hdr->ap_trampoline = 0xff000;
	assert_non_null(runtime_image_header(image, IMAGE_SIZE));
	*hdr = good;
	/* boot_info right at the end of the reserved range still fits */
	hdr->boot_info = base + RESERVED_SIZE - sizeof(struct boot_info);
	assert_non_null(runtime_image_header(image, IMAGE_SIZE));
}

static void test_install_copies_zeroes_and_hands_over(void **state)
{
	struct boot_info *bi = calloc(1, sizeof(*bi));
	(void)state;
	assert_non_null(bi);
	strcpy(bi->cmdline, "loglvl=debug");
	bi->guest_start = BOOT_GUEST_UEFI_RETURN;
	bi->uefi.rip = 0x1234;
	bi->uefi_rsdp = 0xf0000;
	struct boot_info *got = runtime_image_install(hdr, image, bi);
	assert_ptr_equal(got, (void *)hdr->boot_info);
	assert_memory_equal(dest, image, IMAGE_SIZE);
	for (u64 i = IMAGE_SIZE; i < RESERVED_SIZE; i++)
		if ((u64)(dest + i) < hdr->boot_info || (u64)(dest + i) >= hdr->boot_info + sizeof(*bi))
			assert_int_equal(dest[i], 0);
	assert_int_equal(got->magic, BOOT_INFO_MAGIC);
	assert_string_equal(got->cmdline, "loglvl=debug");
	assert_int_equal(got->guest_start, BOOT_GUEST_UEFI_RETURN);
	assert_int_equal(got->uefi.rip, 0x1234);
	assert_int_equal(got->uefi_rsdp, 0xf0000);
	assert_int_equal(bi->magic, 0); /* the caller's copy is left alone */
	free(bi);
}

static void test_install_over_itself(void **state)
{
	struct boot_info bi = { .n_modules = 1 };
	(void)state;
	/* the image already lies partly in its destination (moved up by a page) */
	u8 *expected = malloc(IMAGE_SIZE);
	assert_non_null(expected);
	memcpy(expected, image, IMAGE_SIZE);
	memcpy(dest + PAGE_SIZE, image, IMAGE_SIZE);
	const struct runtime_header *rt = runtime_image_header(dest + PAGE_SIZE, IMAGE_SIZE);
	assert_non_null(rt);
	runtime_image_install(rt, dest + PAGE_SIZE, &bi);
	assert_memory_equal(dest, expected, IMAGE_SIZE);
	assert_int_equal(((struct boot_info *)((struct runtime_header *)dest)->boot_info)->n_modules, 1);
	free(expected);
}

#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_header_accepted),
		T(test_header_rejected),
		T(test_install_copies_zeroes_and_hands_over),
		T(test_install_over_itself),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
