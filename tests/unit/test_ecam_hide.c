/* runtime/ecam_hide.c on the fake backend: the network log NIC's ECAM
 * page, found through RSDP -> RSDT -> MCFG, becomes an all-ones page in
 * EPT01 (ept01_show_ones); no MCFG, a bus it does not cover or a page at
 * or above --mem hide nothing; a malformed MCFG gets a warning; a page
 * EPT01 refuses panics. Without --test-hypercalls (the unit tests'
 * config.h) test_ecam_page= is ignored. The all-ones list is global:
 * the tests that hide run last. */
#include "fake_cpu.h"
#include "table_bytes.h"
#include <runtime/ecam_hide.h>
#include <runtime/ept01.h>
#include <xmhf/msr.h>
#include <xmhf/mtrr.h>
#include <xmhf/vmx.h>

#define CPU 0
#define RSDP_PA 0x800ull
#define RSDT_PA 0x1000ull
#define MCFG_PA 0x2000ull
#define ECAM 0xe0000000ull
#define NIC_BDF 0x0018 /* 00:03.0 */
#define SDT_LEN ((u32)sizeof(struct acpi_sdt_header))
#define MCFG_REGIONS 44

static u8 acpi_mem[0x10000];

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

/* RSDP (revision 0) -> RSDT -> an MCFG with one segment-0 region at base for
 * buses [0, bus_end], of mcfg_len bytes (MCFG_REGIONS + 16 when well formed);
 * with_mcfg false: the RSDT lists nothing. */
static void build_acpi(bool with_mcfg, u64 base, u8 bus_end, u32 mcfg_len)
{
	u8 *rsdp = acpi_mem + RSDP_PA, *rsdt = acpi_mem + RSDT_PA, *mcfg = acpi_mem + MCFG_PA;

	memset(acpi_mem, 0, sizeof(acpi_mem));
	put64(mcfg + MCFG_REGIONS, base);
	mcfg[MCFG_REGIONS + 11] = bus_end;
	sdt_header(mcfg, "MCFG", mcfg_len);
	put32(rsdt + SDT_LEN, MCFG_PA);
	sdt_header(rsdt, "RSDT", SDT_LEN + (with_mcfg ? 4 : 0));
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
	return 0;
}

static void test_nothing_to_hide(void **state)
{
	(void)state;
	build_acpi(false, ECAM, 0xff, MCFG_REGIONS + 16);
	ecam_hide_function(RSDP_PA, map, NIC_BDF);
	build_acpi(true, ECAM, 0x00, MCFG_REGIONS + 16); /* bus 0 only */
	ecam_hide_function(RSDP_PA, map, 0x0100 | NIC_BDF);
	build_acpi(true, CONFIG_MEM, 0xff, MCFG_REGIONS + 16); /* EPT01 maps nothing there */
	ecam_hide_function(RSDP_PA, map, NIC_BDF);
	assert_false(ept01_is_ones_page(l1_gpa(ECAM + 0x118000)));
	assert_false(ept01_is_ones_page(l1_gpa(CONFIG_MEM + 0x18000)));
	assert_int_equal(fake_n_log, 0);
}

static void test_malformed_mcfg_warns(void **state)
{
	(void)state;
	build_acpi(true, ECAM, 0xff, MCFG_REGIONS + 12); /* part of a region */
	ecam_hide_function(RSDP_PA, map, NIC_BDF);
	assert_false(ept01_is_ones_page(l1_gpa(ECAM + 0x18000)));
	assert_int_equal(fake_log_count(LOG_WARN, "the ACPI MCFG is malformed: no ECAM page to hide"), 1);
}

static void test_key_ignored_without_test_hypercalls(void **state)
{
	struct cmdline c;

	(void)state;
	cmdline_parse("test_ecam_page=0x2000000", &c);
	ecam_hide_test_page(&c);
	assert_false(ept01_is_ones_page(l1_gpa(0x2000000)));
	assert_int_equal(fake_n_log, 0);
}

/* The function's page reads as all ones in the EPT01 built after it. */
static void test_function_page_hidden(void **state)
{
	(void)state;
	build_acpi(true, ECAM, 0xff, MCFG_REGIONS + 16);
	ecam_hide_function(RSDP_PA, map, NIC_BDF);
	assert_true(ept01_is_ones_page(l1_gpa(ECAM + 0x18000)));
	assert_false(ept01_is_ones_page(l1_gpa(ECAM + 0x17000)));
	assert_int_equal(fake_log_count(LOG_INFO, "the ECAM page 0xe0018000 of PCI function 00:03.0 reads as all ones"), 1);
	ept01_init_mtrr(CPU);
	ept01_build(CPU);
	assert_int_equal(ept01_get_prot(CPU, l1_gpa(ECAM + 0x18000)), EPT_R);
	assert_int_equal(ept01_get_prot(CPU, l1_gpa(ECAM + 0x17000)), EPT_RWX);
}

/* A page EPT01 cannot show as all ones (here: listed already) is a panic,
 * never a NIC the guest can read. */
static void test_refused_page_panics(void **state)
{
	(void)state;
	build_acpi(true, ECAM, 0xff, MCFG_REGIONS + 16);
	expect_assert_failure(ecam_hide_function(RSDP_PA, map, NIC_BDF));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_nothing_to_hide, setup),
		cmocka_unit_test_setup(test_malformed_mcfg_warns, setup),
		cmocka_unit_test_setup(test_key_ignored_without_test_hypercalls, setup),
		cmocka_unit_test_setup(test_function_page_hidden, setup),
		cmocka_unit_test_setup(test_refused_page_panics, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
