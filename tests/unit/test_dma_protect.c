/* runtime/dma_protect.c on the fake backend: the DMAR table found through
 * the ACPI tables, the remapping units' register pages not present in a
 * CPU's EPT01 (the guest cannot turn the protection off), and the one line
 * a machine without a usable DMAR table prints. Programming the units is
 * test_dmar's (a fake unit's MMIO). */
#include "fake_cpu.h"
#include "fake_acpi.h"
#include <runtime/dma_protect.h>
#include <runtime/ept01.h>
#include <xmhf/dmar.h>
#include <xmhf/vmx.h>

#define CPU 1
#define RSDP_PA 0xe0000ull
#define RSDT_PA 0x1000ull
#define DMAR_PA 0x2000ull
#define UNIT_A 0xfed90000ull /* 8 KiB register set */
#define UNIT_B 0xfed80000ull /* 4 KiB */

void udelay(u32 us) { (void)us; }

/* RSDP (revision 0) -> RSDT -> DMAR with units A and B; drhd_len is the
 * first DRHD's length field. */
static void build_acpi(u16 drhd_len)
{
	u8 *dmar = fake_acpi_mem + DMAR_PA;
	u32 len = DMAR_STRUCTS_OFFSET;

	memset(fake_acpi_mem, 0, sizeof(fake_acpi_mem));
	dmar[DMAR_HAW_OFFSET] = 38;
	put16(dmar + len, DMAR_TYPE_DRHD);
	put16(dmar + len + 2, drhd_len);
	dmar[len + 5] = 1;
	put64(dmar + len + 8, UNIT_A);
	len += DMAR_DRHD_LEN;
	put16(dmar + len, DMAR_TYPE_DRHD);
	put16(dmar + len + 2, DMAR_DRHD_LEN);
	dmar[len + 4] = DMAR_DRHD_INCLUDE_PCI_ALL;
	put64(dmar + len + 8, UNIT_B);
	len += DMAR_DRHD_LEN;
	fake_acpi_sdt(DMAR_PA, "DMAR", len);
	fake_acpi_root(RSDP_PA, RSDT_PA, DMAR_PA, true);
}

static int setup(void **state)
{
	(void)state;
	fake_reset_platform(CPU);
	ept01_init_mtrr(CPU);
	return 0;
}

/* Runs first: nothing probed yet, as on a machine without a DMAR table. */
static void test_no_dmar(void **state)
{
	(void)state;
	build_acpi(DMAR_DRHD_LEN);
	memcpy(fake_acpi_mem + DMAR_PA, "APIC", 4); /* the RSDT lists no DMAR */
	dma_protect_probe(RSDP_PA, fake_acpi_map);
	struct e820_map e820 = { 0 };
	dma_protect_enable(&e820);
	assert_int_equal(fake_log_count(LOG_WARN, "xmhf: no DMAR table: DMA protection unavailable "
					"(see docs/security.md)"), 1);
	struct pt_range r[DMAR_MAX_UNITS];
	assert_int_equal(dma_protect_mmio(r, DMAR_MAX_UNITS), 0);
	ept01_build(CPU);
	u32 pages = ept01_pages(CPU);
	dma_protect_hide_units(CPU);
	assert_int_equal(ept01_pages(CPU), pages);
}

static void test_malformed_dmar(void **state)
{
	(void)state;
	build_acpi(DMAR_DRHD_LEN - 1);
	dma_protect_probe(RSDP_PA, fake_acpi_map);
	struct e820_map e820 = { 0 };
	dma_protect_enable(&e820);
	assert_int_equal(fake_log_count(LOG_WARN, "xmhf: a DMAR structure has a wrong length: "
					"DMA protection unavailable"), 1);
}

static void test_units_hidden(void **state)
{
	struct pt_range r[DMAR_MAX_UNITS];

	(void)state;
	build_acpi(DMAR_DRHD_LEN);
	dma_protect_probe(RSDP_PA, fake_acpi_map);
	assert_int_equal(dma_protect_mmio(r, DMAR_MAX_UNITS), 2);
	assert_int_equal(r[0].base, UNIT_A);
	assert_int_equal(r[0].size, 0x2000);
	assert_int_equal(r[1].base, UNIT_B);
	assert_int_equal(r[1].size, 0x1000);

	ept01_build(CPU);
	dma_protect_hide_units(CPU);
	assert_int_equal(ept01_get_prot(CPU, l1_gpa(UNIT_A)), 0);
	assert_int_equal(ept01_get_prot(CPU, l1_gpa(UNIT_A + 0x1fff)), 0);
	assert_int_equal(ept01_get_prot(CPU, l1_gpa(UNIT_B)), 0);
	assert_int_equal(ept01_get_prot(CPU, l1_gpa(UNIT_A + 0x2000)), EPT_RWX);
	assert_int_equal(ept01_get_prot(CPU, l1_gpa(UNIT_B + 0x1000)), EPT_RWX);
	assert_int_equal(ept01_get_prot(CPU, l1_gpa(UNIT_B - 0x1000)), EPT_RWX);
	assert_int_equal(ept01_get_prot(CPU, l1_gpa(0xfee00000)), EPT_R); /* the APIC trap stays */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_no_dmar, setup),
		cmocka_unit_test_setup(test_malformed_dmar, setup),
		cmocka_unit_test_setup(test_units_hidden, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
