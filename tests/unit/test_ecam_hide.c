/* runtime/ecam_hide.c on the fake backend: the network log NIC's ECAM
 * page, found through RSDP -> RSDT -> MCFG, becomes an all-ones page in
 * EPT01 (ept01_show_ones); no MCFG, a bus it does not cover or a page at
 * or above --mem hide nothing; a malformed MCFG gets a warning; a page
 * EPT01 refuses panics. Without --test-hypercalls (the unit tests'
 * config.h) test_ecam_page= is ignored. The all-ones list is global:
 * the tests that hide run last. */
#include "fake_cpu.h"
#include "fake_acpi.h"
#include <runtime/ecam_hide.h>
#include <runtime/ept01.h>
#include <xmhf/vmx.h>

#define CPU 0
#define RSDP_PA 0x800ull
#define RSDT_PA 0x1000ull
#define MCFG_PA 0x2000ull
#define ECAM 0xe0000000ull
#define NIC_BDF 0x0018 /* 00:03.0 */
#define MCFG_REGIONS 44

/* RSDP (revision 0) -> RSDT -> an MCFG with one segment-0 region at base for
 * buses [0, bus_end], of mcfg_len bytes (MCFG_REGIONS + 16 when well formed);
 * with_mcfg false: the RSDT lists nothing. */
static void build_acpi(bool with_mcfg, u64 base, u8 bus_end, u32 mcfg_len)
{
	u8 *mcfg = fake_acpi_mem + MCFG_PA;

	memset(fake_acpi_mem, 0, sizeof(fake_acpi_mem));
	put64(mcfg + MCFG_REGIONS, base);
	mcfg[MCFG_REGIONS + 11] = bus_end;
	fake_acpi_sdt(MCFG_PA, "MCFG", mcfg_len);
	fake_acpi_root(RSDP_PA, RSDT_PA, MCFG_PA, with_mcfg);
}

static int setup(void **state)
{
	(void)state;
	fake_reset_platform(CPU);
	return 0;
}

static void test_nothing_to_hide(void **state)
{
	(void)state;
	build_acpi(false, ECAM, 0xff, MCFG_REGIONS + 16);
	ecam_hide_function(RSDP_PA, fake_acpi_map, NIC_BDF);
	build_acpi(true, ECAM, 0x00, MCFG_REGIONS + 16); /* bus 0 only */
	ecam_hide_function(RSDP_PA, fake_acpi_map, 0x0100 | NIC_BDF);
	build_acpi(true, CONFIG_MEM, 0xff, MCFG_REGIONS + 16); /* EPT01 maps nothing there */
	ecam_hide_function(RSDP_PA, fake_acpi_map, NIC_BDF);
	assert_false(ept01_is_ones_page(l1_gpa(ECAM + 0x118000)));
	assert_false(ept01_is_ones_page(l1_gpa(CONFIG_MEM + 0x18000)));
	assert_int_equal(fake_n_log, 0);
}

static void test_malformed_mcfg_warns(void **state)
{
	(void)state;
	build_acpi(true, ECAM, 0xff, MCFG_REGIONS + 12); /* part of a region */
	ecam_hide_function(RSDP_PA, fake_acpi_map, NIC_BDF);
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
	ecam_hide_function(RSDP_PA, fake_acpi_map, NIC_BDF);
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
	expect_assert_failure(ecam_hide_function(RSDP_PA, fake_acpi_map, NIC_BDF));
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
