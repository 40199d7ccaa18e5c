/* runtime/dma_protect.c on the fake backend: the DMAR table found through
 * the ACPI tables, the remapping units' register pages not present in a
 * CPU's EPT01 (the guest cannot turn the protection off), and the one line
 * a machine without a usable DMAR table prints. Programming the units is
 * test_dmar's (a fake unit's MMIO). */
#include "fake_cpu.h"
#include "table_bytes.h"
#include <runtime/dma_protect.h>
#include <runtime/ept01.h>
#include <xmhf/dmar.h>
#include <xmhf/msr.h>
#include <xmhf/mtrr.h>
#include <xmhf/vmx.h>

#define CPU 1
#define RSDP_PA 0xe0000ull
#define RSDT_PA 0x1000ull
#define DMAR_PA 0x2000ull
#define UNIT_A 0xfed90000ull /* 8 KiB register set */
#define UNIT_B 0xfed80000ull /* 4 KiB */

static u8 acpi_mem[0x100000];

void udelay(u32 us) { (void)us; }

static const void *map(u64 pa, u64 len)
{
	return pa < sizeof(acpi_mem) && len <= sizeof(acpi_mem) - pa ? acpi_mem + pa : NULL;
}

static void sdt_header(u8 *p, const char *sig, u32 len)
{
	memcpy(p, sig, 4);
	put32(p + 4, len);
	p[8] = 1;
	fix_checksum(p, len, 9);
}

/* RSDP (revision 0) -> RSDT -> DMAR with units A and B; drhd_len is the
 * first DRHD's length field. */
static void build_acpi(u16 drhd_len)
{
	u8 *rsdp = acpi_mem + RSDP_PA, *rsdt = acpi_mem + RSDT_PA, *dmar = acpi_mem + DMAR_PA;
	u32 len = DMAR_STRUCTS_OFFSET;

	memset(acpi_mem, 0, sizeof(acpi_mem));
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
	sdt_header(dmar, "DMAR", len);
	put32(rsdt + sizeof(struct acpi_sdt_header), DMAR_PA);
	sdt_header(rsdt, "RSDT", sizeof(struct acpi_sdt_header) + 4);
	memcpy(rsdp, "RSD PTR ", 8);
	put32(rsdp + 16, RSDT_PA);
	fix_checksum(rsdp, 20, 8);
}

static int setup(void **state)
{
	(void)state;
	fake_reset(CPU);
	fake_n_log = 0;
	msr_set(MSR_IA32_APIC_BASE, 0xfee00000 | APIC_BASE_ENABLE);
	msr_set(MSR_MTRRCAP, 0);
	msr_set(MSR_MTRR_DEF_TYPE, MTRR_DEF_E | MT_UC);
	percpu[CPU].vmx.ept_vpid = EPT_CAP_WALK_4 | EPT_CAP_WB | EPT_CAP_2M | EPT_CAP_1G | EPT_CAP_INVEPT;
	ept01_init_mtrr(CPU);
	return 0;
}

/* Runs first: nothing probed yet, as on a machine without a DMAR table. */
static void test_no_dmar(void **state)
{
	(void)state;
	build_acpi(DMAR_DRHD_LEN);
	memcpy(acpi_mem + DMAR_PA, "APIC", 4); /* the RSDT lists no DMAR */
	dma_protect_probe(RSDP_PA, map);
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
	dma_protect_probe(RSDP_PA, map);
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
	dma_protect_probe(RSDP_PA, map);
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
