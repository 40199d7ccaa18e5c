/* xmhf/runtime/guest_ram.c: which guest-physical ranges the hypervisor
 * touches on the guest's behalf: the memory types of the guest's E820 map
 * (RAM, ACPI reclaim, NVS), below CONFIG_MEM, minus the hypervisor's range
 * [FAKE_HV_BASE, FAKE_HV_END), device pages, non-memory entries. */
#include "fake_cpu.h"
#include <config.h>
#include <runtime/ept01.h>
#include <runtime/guest_ram.h>

#define LAPIC 0xfee00000ull
#define IOAPIC 0xfec00000ull

static struct e820_map map;

static bool ram(u64 gpa, u64 size) { return guest_ram_contains(l1_gpa(gpa), size); }

static int setup(void **state)
{
	(void)state;
	fake_reset(0);
	memset(&map, 0, sizeof(map));
	return 0;
}

static void add(u64 base, u64 length, u32 type) { assert_true(e820_add(&map, base, length, type)); }

static void test_typical_map(void **state)
{
	(void)state;
	static const struct pt_range devices[] = { { LAPIC, PAGE_SIZE }, { IOAPIC, PAGE_SIZE } };
	add(0, 0x9fc00, E820_RAM);
	add(0x9fc00, 0x400, E820_RESERVED);
	add(0xf0000, 0x10000, E820_RESERVED);
	add(0x100000, 0x1ff00000 - 0x100000, E820_RAM);
	add(0x1ff00000, 0x80000, E820_ACPI);
	add(0x1ff80000, 0x80000, E820_NVS);
	add(0xfffc0000, 0x40000, E820_RESERVED);
	add(GiB(4), GiB(20), E820_RAM); /* reaches above CONFIG_MEM (16 GiB) */
	guest_ram_init(&map, devices, 2);

	assert_true(ram(0, FAKE_HV_BASE));
	assert_true(ram(FAKE_HV_END, 0x9fc00 - FAKE_HV_END));
	assert_false(ram(0x9fc00 - 4, 8));          /* straddles RAM -> reserved */
	assert_false(ram(0x9fc00, 1));
	assert_false(ram(0xa0000, 4));              /* VGA hole: in no entry */
	assert_false(ram(0xf0000, 4));
	assert_true(ram(0x100000, 4));
	assert_true(ram(0x1ff00000 - 8, 16));       /* RAM -> ACPI reclaim: both memory */
	assert_true(ram(0x1ff7fff8, 16));           /* ACPI -> NVS */
	assert_false(ram(0x1ffffff8, 16));          /* NVS -> hole */
	assert_false(ram(IOAPIC, 4));
	assert_false(ram(LAPIC + 0x300, 4));
	assert_true(ram(GiB(4), GiB(12)));          /* up to CONFIG_MEM */
	assert_false(ram(CONFIG_MEM - 4, 8));       /* straddles --mem */
	assert_false(ram(CONFIG_MEM, 1));
	assert_false(ram(GiB(20), 1));
}

static void test_hypervisor_and_devices_in_ram(void **state)
{
	(void)state;
	static const struct pt_range devices[] = { { 0x5000, PAGE_SIZE } };
	add(0, GiB(1), E820_RAM);
	guest_ram_init(&map, devices, 1);
	assert_true(ram(0x4ff8, 8));
	assert_false(ram(0x4ffc, 8));
	assert_false(ram(0x5800, 1));
	assert_true(ram(0x6000, 8));
	assert_false(ram(FAKE_HV_BASE - 4, 8));
	assert_false(ram(FAKE_HV_END - 1, 1));
	assert_true(ram(FAKE_HV_END, 1));
	assert_true(ram(0x6000, FAKE_HV_BASE - 0x6000));
	assert_false(ram(0x6000, FAKE_HV_BASE - 0x6000 + 1));
}

static void test_wrapping_and_empty(void **state)
{
	(void)state;
	add(0, GiB(1), E820_RAM);
	add(0xfffffffffffff000ull, 0x1000, E820_RAM); /* the top page: above --mem */
	guest_ram_init(&map, NULL, 0);
	assert_false(ram(0x1000, 0));
	assert_false(ram(0x1000, ~0ull));            /* 0x1000 + size wraps to 0xfff */
	assert_false(ram(0x1000, ~0ull - 0xfff + 1)); /* wraps to exactly 0 */
	assert_false(ram(0xfffffffffffffff0ull, 0x20));
	assert_false(ram(0xfffffffffffffff0ull, 8));
}

/* Overlapping entries: a non-memory entry wins over RAM (as e820_is_ram);
 * overlapping memory entries add up. Unsorted maps are fine. */
static void test_overlaps_unsorted(void **state)
{
	(void)state;
	add(0x200000, 0x100000, E820_RAM);
	add(0, 0x180000, E820_RAM);
	add(0x100000, 0x1000, E820_RESERVED);
	add(0x1ff000, 0x2000, E820_UNUSABLE);
	add(0x280000, 0x1000, 7); /* unknown type */
	guest_ram_init(&map, NULL, 0);
	assert_true(ram(FAKE_HV_END, 0x100000 - FAKE_HV_END));
	assert_false(ram(0x100000, 1));
	assert_true(ram(0x101000, 0x7f000));
	assert_false(ram(0x180000, 1));             /* the gap */
	assert_false(ram(0x200000, 1));
	assert_true(ram(0x201000, 0x7f000));
	assert_false(ram(0x280000, 8));
	assert_true(ram(0x281000, 0x7f000));
}

/* A full map of 128 alternating entries: every one is looked up. */
static void test_full_map(void **state)
{
	(void)state;
	for (u32 i = 0; i < E820_MAX; i++)
		add(GiB(1) + MiB(2) * i, MiB(1), i % 2 ? E820_RESERVED : E820_RAM);
	guest_ram_init(&map, NULL, 0);
	for (u32 i = 0; i < E820_MAX; i++) {
		assert_int_equal(ram(GiB(1) + MiB(2) * i, MiB(1)), i % 2 == 0);
		assert_false(ram(GiB(1) + MiB(2) * i + MiB(1), 1));
	}
}

/* guest_ram_ptr: RAM only, and never this CPU's APIC page (moved into RAM). */
static void test_ptr_refuses_moved_apic(void **state)
{
	(void)state;
	add(0, FAKE_GUEST_MEM, E820_RAM);
	guest_ram_init(&map, NULL, 0);
	assert_ptr_equal(guest_ram_ptr(l1_gpa(0x7000), 8), guest_mem(0x7000, 8));
	this_cpu()->ept_apic_page = l1_gpa(0x7000);
	assert_null(guest_ram_ptr(l1_gpa(0x7ffc), 4));
	assert_null(guest_ram_ptr(l1_gpa(0x6ffc), 8));
	assert_non_null(guest_ram_ptr(l1_gpa(0x6ff8), 8));
	assert_non_null(guest_ram_ptr(l1_gpa(0x8000), 8));
	assert_null(guest_ram_ptr(l1_gpa(FAKE_GUEST_MEM - 4), 8));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_typical_map, setup),
		cmocka_unit_test_setup(test_hypervisor_and_devices_in_ram, setup),
		cmocka_unit_test_setup(test_wrapping_and_empty, setup),
		cmocka_unit_test_setup(test_overlaps_unsorted, setup),
		cmocka_unit_test_setup(test_full_map, setup),
		cmocka_unit_test_setup(test_ptr_refuses_moved_apic, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
