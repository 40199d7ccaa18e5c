/* xmhf/boot/uefi/mmap.c: the UEFI memory map's E820 view and coverage checks */
#include "unit.h"
#include <uefi_boot.h>

#define MiB(x) ((u64)(x) << 20)
#define PAGES(bytes) ((bytes) / UEFI_PAGE_SIZE)

/* Descriptors DESC_SIZE bytes apart, as firmware lays them out (larger than the struct). */
#define DESC_SIZE 48
static u8 raw[64 * DESC_SIZE];
static u32 n_raw;
static struct e820_map e;

static void add(u32 type, u64 start, u64 bytes)
{
	struct uefi_mem_desc d = { .type = type, .phys_start = start, .virt_start = 0xdead, .n_pages = PAGES(bytes) };
	assert_true(n_raw < 64);
	memset(raw + n_raw * DESC_SIZE, 0xa5, DESC_SIZE);
	memcpy(raw + n_raw * DESC_SIZE, &d, sizeof(d));
	n_raw++;
}

/* An exactly sized heap copy of the map (freed by done()). */
static struct uefi_mmap map(void)
{
	return (struct uefi_mmap){ exact_copy(raw, n_raw * DESC_SIZE), n_raw * DESC_SIZE, DESC_SIZE };
}

static void done(struct uefi_mmap *m) { free((void *)m->desc); }

/* OVMF-like: low RAM, a legacy hole, boot services, free memory around the
 * hypervisor's 256 MiB, runtime services and ACPI at the top, MMIO. */
static int setup_ovmf(void **state)
{
	(void)state;
	n_raw = 0;
	add(UEFI_BOOT_SERVICES_CODE, 0, 0x1000);
	add(UEFI_CONVENTIONAL_MEMORY, 0x1000, 0x9f000);
	add(UEFI_CONVENTIONAL_MEMORY, MiB(1), MiB(7));
	add(UEFI_ACPI_MEMORY_NVS, MiB(8), 0x8000);
	add(UEFI_BOOT_SERVICES_DATA, MiB(8) + 0x8000, MiB(1) - 0x8000);
	add(UEFI_LOADER_CODE, MiB(9), MiB(1));
	add(UEFI_CONVENTIONAL_MEMORY, MiB(10), MiB(300));
	add(UEFI_RESERVED_MEMORY, MiB(310), MiB(2));
	add(UEFI_RUNTIME_SERVICES_DATA, MiB(312), MiB(1));
	add(UEFI_ACPI_RECLAIM_MEMORY, MiB(313), MiB(1));
	add(UEFI_UNUSABLE_MEMORY, MiB(314), MiB(1));
	add(UEFI_PERSISTENT_MEMORY, MiB(315), MiB(1));
	add(UEFI_MEMORY_MAPPED_IO, 0xffc00000, MiB(4));
	return 0;
}

static void assert_entry(u32 i, u64 base, u64 length, u32 type)
{
	assert_true(i < e.n);
	assert_int_equal(e.e[i].base, base);
	assert_int_equal(e.e[i].length, length);
	assert_int_equal(e.e[i].type, type);
}

static void test_type_mapping(void **state)
{
	static const u32 e820_of[] = {
		[UEFI_RESERVED_MEMORY] = E820_RESERVED,    [UEFI_LOADER_CODE] = E820_RAM,
		[UEFI_LOADER_DATA] = E820_RAM,             [UEFI_BOOT_SERVICES_CODE] = E820_RAM,
		[UEFI_BOOT_SERVICES_DATA] = E820_RAM,      [UEFI_RUNTIME_SERVICES_CODE] = E820_RESERVED,
		[UEFI_RUNTIME_SERVICES_DATA] = E820_RESERVED, [UEFI_CONVENTIONAL_MEMORY] = E820_RAM,
		[UEFI_UNUSABLE_MEMORY] = E820_UNUSABLE,    [UEFI_ACPI_RECLAIM_MEMORY] = E820_ACPI,
		[UEFI_ACPI_MEMORY_NVS] = E820_NVS,         [UEFI_MEMORY_MAPPED_IO] = E820_RESERVED,
		[UEFI_MEMORY_MAPPED_IO_PORT_SPACE] = E820_RESERVED, [UEFI_PAL_CODE] = E820_RESERVED,
		[UEFI_PERSISTENT_MEMORY] = E820_RESERVED,
	};
	(void)state;
	for (u32 t = 0; t < sizeof(e820_of) / sizeof(e820_of[0]); t++)
		assert_int_equal(uefi_type_to_e820(t), e820_of[t]);
	assert_int_equal(uefi_type_to_e820(15), E820_RESERVED);
	assert_int_equal(uefi_type_to_e820(0x80000000u), E820_RESERVED); /* OEM types */
}

static void test_to_e820_merges_continuing_entries(void **state)
{
	(void)state;
	struct uefi_mmap m = map();
	assert_true(uefi_mmap_to_e820(&m, &e));
	done(&m);
	assert_int_equal(e.n, 9);
	assert_entry(0, 0, 0xa0000, E820_RAM);            /* boot services code + conventional */
	assert_entry(1, MiB(1), MiB(7), E820_RAM);        /* not continuing: the legacy hole */
	assert_entry(2, MiB(8), 0x8000, E820_NVS);
	assert_entry(3, MiB(8) + 0x8000, MiB(302) - 0x8000, E820_RAM); /* BS data, loader, free */
	assert_entry(4, MiB(310), MiB(3), E820_RESERVED); /* reserved + runtime services data */
	assert_entry(5, MiB(313), MiB(1), E820_ACPI);
	assert_entry(6, MiB(314), MiB(1), E820_UNUSABLE);
	assert_entry(7, MiB(315), MiB(1), E820_RESERVED); /* persistent memory: not the OS's RAM */
	assert_entry(8, 0xffc00000, MiB(4), E820_RESERVED);
}

static void test_to_e820_mmio_and_empty_descriptors(void **state)
{
	(void)state;
	n_raw = 0;
	add(UEFI_CONVENTIONAL_MEMORY, MiB(1), 0);
	add(UEFI_MEMORY_MAPPED_IO, 0xfec00000, 0x1000);
	struct uefi_mmap m = map();
	assert_true(uefi_mmap_to_e820(&m, &e));
	done(&m);
	assert_int_equal(e.n, 1);
	assert_entry(0, 0xfec00000, 0x1000, E820_RESERVED);
}

static void test_to_e820_full_and_wrapping(void **state)
{
	(void)state;
	n_raw = 0;
	add(UEFI_CONVENTIONAL_MEMORY, ~0ull - 0x1fff, 0x1000); /* ends right below 2^64 - 4 KiB */
	struct uefi_mmap m = map();
	assert_true(uefi_mmap_to_e820(&m, &e));
	done(&m);
	assert_entry(0, ~0ull - 0x1fff, 0x1000, E820_RAM);
	n_raw = 0;
	add(UEFI_CONVENTIONAL_MEMORY, MiB(1), MiB(1));
	add(UEFI_CONVENTIONAL_MEMORY, ~0ull - 0xfff, 0x1000); /* reaches 2^64 */
	m = map();
	assert_false(uefi_mmap_to_e820(&m, &e));
	done(&m);
	assert_int_equal(e.n, 1);
	/* more separate descriptors than E820_MAX: false, what fit is kept */
	n_raw = 0;
	struct uefi_mmap big = { NULL, 0, DESC_SIZE };
	u8 *many = malloc((E820_MAX + 1) * DESC_SIZE);
	assert_non_null(many);
	for (u32 i = 0; i <= E820_MAX; i++) {
		struct uefi_mem_desc d = { .type = i % 2 ? UEFI_CONVENTIONAL_MEMORY : UEFI_RESERVED_MEMORY,
					   .phys_start = MiB(i), .n_pages = 1 };
		memcpy(many + i * DESC_SIZE, &d, sizeof(d));
	}
	big.desc = many;
	big.size = (E820_MAX + 1) * DESC_SIZE;
	assert_false(uefi_mmap_to_e820(&big, &e));
	assert_int_equal(e.n, E820_MAX);
	big.size = E820_MAX * DESC_SIZE + DESC_SIZE - 1; /* a partial last descriptor is ignored */
	assert_true(uefi_mmap_to_e820(&big, &e));
	assert_int_equal(e.n, E820_MAX);
	big.desc_size = sizeof(struct uefi_mem_desc) - 1; /* too small: no descriptors */
	assert_true(uefi_mmap_to_e820(&big, &e));
	assert_int_equal(e.n, 0);
	free(many);
}

static void test_covers(void **state)
{
	(void)state;
	struct uefi_mmap m = map();
	/* the hypervisor's default range, inside free memory */
	assert_true(uefi_mmap_covers(&m, UEFI_CONVENTIONAL_MEMORY, MiB(256), MiB(6)));
	assert_true(uefi_mmap_covers(&m, UEFI_CONVENTIONAL_MEMORY, MiB(10), MiB(300)));
	assert_false(uefi_mmap_covers(&m, UEFI_CONVENTIONAL_MEMORY, MiB(10), MiB(300) + 1));
	assert_false(uefi_mmap_covers(&m, UEFI_CONVENTIONAL_MEMORY, MiB(10) - 1, 2));
	/* the legacy hole between two free descriptors */
	assert_false(uefi_mmap_covers(&m, UEFI_CONVENTIONAL_MEMORY, 0x1000, MiB(2)));
	assert_true(uefi_mmap_covers(&m, UEFI_RESERVED_MEMORY, MiB(311), 0x1000));
	assert_false(uefi_mmap_covers(&m, UEFI_RESERVED_MEMORY, MiB(311), MiB(2)));
	/* empty and wrapping ranges */
	assert_false(uefi_mmap_covers(&m, UEFI_CONVENTIONAL_MEMORY, MiB(256), 0));
	assert_false(uefi_mmap_covers(&m, UEFI_CONVENTIONAL_MEMORY, ~0ull, 2));
	done(&m);
}

static void test_covers_across_unsorted_adjacent_descriptors(void **state)
{
	(void)state;
	n_raw = 0;
	add(UEFI_RESERVED_MEMORY, MiB(258), MiB(4));
	add(UEFI_CONVENTIONAL_MEMORY, MiB(100), MiB(1));
	add(UEFI_RESERVED_MEMORY, MiB(256), MiB(2));
	struct uefi_mmap m = map();
	assert_true(uefi_mmap_covers(&m, UEFI_RESERVED_MEMORY, MiB(256), MiB(6)));
	assert_true(uefi_mmap_covers(&m, UEFI_RESERVED_MEMORY, MiB(257), MiB(2)));
	assert_false(uefi_mmap_covers(&m, UEFI_RESERVED_MEMORY, MiB(256), MiB(6) + 1));
	assert_false(uefi_mmap_covers(&m, UEFI_RESERVED_MEMORY, MiB(255), MiB(2)));
	done(&m);
	/* a descriptor reaching 2^64 is malformed: it covers nothing */
	n_raw = 0;
	add(UEFI_RESERVED_MEMORY, ~0ull - 0x1fff, 0x2000);
	m = map();
	assert_false(uefi_mmap_covers(&m, UEFI_RESERVED_MEMORY, ~0ull - 0x1fff, 0x1000));
	assert_int_equal(uefi_mmap_other_type(&m, UEFI_CONVENTIONAL_MEMORY, ~0ull - 0x1fff, 0x1000), -1);
	done(&m);
}

static void test_other_type(void **state)
{
	(void)state;
	struct uefi_mmap m = map();
	assert_int_equal(uefi_mmap_other_type(&m, UEFI_CONVENTIONAL_MEMORY, MiB(256), MiB(6)), -1);
	assert_int_equal(uefi_mmap_other_type(&m, UEFI_CONVENTIONAL_MEMORY, MiB(309), MiB(2)), UEFI_RESERVED_MEMORY);
	assert_int_equal(uefi_mmap_other_type(&m, UEFI_CONVENTIONAL_MEMORY, MiB(8), 1), UEFI_ACPI_MEMORY_NVS);
	assert_int_equal(uefi_mmap_other_type(&m, UEFI_RESERVED_MEMORY, MiB(256), MiB(6)), UEFI_CONVENTIONAL_MEMORY);
	/* holes are no descriptor of another type */
	assert_int_equal(uefi_mmap_other_type(&m, UEFI_CONVENTIONAL_MEMORY, 0xa0000, 0x60000), -1);
	done(&m);
}

#define OVMF_TEST(t) cmocka_unit_test_setup(t, setup_ovmf)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_mapping),
		OVMF_TEST(test_to_e820_merges_continuing_entries),
		cmocka_unit_test(test_to_e820_mmio_and_empty_descriptors),
		cmocka_unit_test(test_to_e820_full_and_wrapping),
		OVMF_TEST(test_covers),
		cmocka_unit_test(test_covers_across_unsorted_adjacent_descriptors),
		OVMF_TEST(test_other_type),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
