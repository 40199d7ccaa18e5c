/* xmhf/runtime/apic_trap.c apic_icr_write: the guest's IPIs (SDM Vol. 3
 * 12.6.1 ICR, 9.4 INIT/SIPI). CPUs 0..3 have APIC IDs 0, 2, 4, 6 (so an
 * index is never mistaken for an APIC ID); the guest runs on CPU 1. */
#include "fake_cpu.h"
#include "vmentry_check.h"
#include <runtime/exit_handlers.h>
#include <xmhf/lapic.h>

#define SELF 1
#define INIT (ICR_DELIVERY_INIT | ICR_LEVEL_ASSERT)
#define SIPI(v) (ICR_DELIVERY_STARTUP | (v))

static int setup(void **state)
{
	(void)state;
	fake_reset(SELF);
	vmentry_vmcs01(SELF);
	fake_n_log = 0;
	for (u32 i = 0; i < 4; i++) {
		cpu_register(2 * i);
		percpu[i].in_guest = true;
	}
	return 0;
}

static u32 req(u32 cpu) { return percpu[cpu].requests; }

static void test_init_physical_destination(void **state)
{
	(void)state;
	percpu[3].in_guest = false; /* waiting for SIPI already: no NMI */
	apic_icr_write(NULL, INIT, 4);
	assert_int_equal(req(2), REQUEST_INIT);
	assert_int_equal(req(0) | req(1) | req(3), 0);
	assert_int_equal(fake_n_ipis, 1);
	assert_int_equal(fake_ipis[0].dest, 4);
	assert_int_equal(fake_ipis[0].icr_low, ICR_DELIVERY_NMI | ICR_LEVEL_ASSERT);
	apic_icr_write(NULL, INIT, 6);
	assert_int_equal(req(3), REQUEST_INIT);
	assert_int_equal(fake_n_ipis, 1);
	apic_icr_write(NULL, INIT, 3); /* no CPU has APIC ID 3 (CPU index 3 has 6) */
	assert_int_equal(req(0) | req(1), 0);
	assert_int_equal(fake_n_ipis, 1);
}

/* The boot CPU's INIT to all others (an AP's would reach the boot CPU:
 * test_init_to_boot_cpu_powers_off). */
static void test_init_all_excluding_self(void **state)
{
	(void)state;
	fake_set_cpu(0);
	apic_icr_write(NULL, INIT | ICR_SHORTHAND_ALL_BUT_SELF, 0);
	assert_int_equal(req(0), 0);
	assert_int_equal(req(1), REQUEST_INIT);
	assert_int_equal(req(2), REQUEST_INIT);
	assert_int_equal(req(3), REQUEST_INIT);
	assert_int_equal(fake_n_ipis, 3);
	assert_int_equal(fake_ipis[0].dest, 2);
	assert_int_equal(fake_ipis[1].dest, 4);
	assert_int_equal(fake_ipis[2].dest, 6);
}

static void test_sipi_all_including_self(void **state)
{
	(void)state;
	fake_set_cpu(2);
	apic_icr_write(NULL, SIPI(0x20) | ICR_SHORTHAND_ALL, 0);
	assert_int_equal(req(0), 0); /* the boot CPU: ignored */
	assert_int_equal(req(1), REQUEST_SIPI);
	assert_int_equal(req(2), 0); /* itself: ignored */
	assert_int_equal(req(3), REQUEST_SIPI);
	assert_int_equal(fake_n_ipis, 0);
}

/* 12.6.2.1: the all-ones physical destination (0xff in xAPIC mode,
 * 0xffffffff in x2APIC mode) reaches every CPU, like the ALL shorthand. */
static void test_init_physical_broadcast(void **state)
{
	(void)state;
	expect_assert_failure(apic_icr_write(NULL, INIT, 0xff)); /* the boot CPU too */
	apic_icr_write(NULL, SIPI(0x11), 0xff);
	assert_int_equal(req(0), 0);
	assert_int_equal(req(1), 0); /* itself: ignored */
	assert_int_equal(req(2), REQUEST_SIPI);
	assert_int_equal(req(3), REQUEST_SIPI);
	apic_icr_write(NULL, INIT, 4);
	fake_x2apic = true;
	apic_icr_write(NULL, SIPI(0x12), 0xffffffffu);
	assert_int_equal(req(2), REQUEST_INIT | REQUEST_SIPI);
	assert_int_equal(percpu[3].sipi_vector, 0x12);
	apic_icr_write(NULL, SIPI(0x13), 0xff); /* not a broadcast in x2APIC mode: no CPU has id 0xff */
	assert_int_equal(percpu[3].sipi_vector, 0x12);
}

static void test_self_and_cpu0_ignored(void **state)
{
	(void)state;
	apic_icr_write(NULL, INIT | ICR_SHORTHAND_SELF, 0);
	apic_icr_write(NULL, SIPI(0x10) | ICR_SHORTHAND_SELF, 0);
	apic_icr_write(NULL, SIPI(0x10), 0); /* CPU 0 */
	apic_icr_write(NULL, INIT, 2);       /* itself by APIC ID */
	for (u32 i = 0; i < 4; i++)
		assert_int_equal(req(i), 0);
	assert_int_equal(fake_n_ipis, 0);
}

/* The guest's INIT to the boot CPU resets the machine in effect; the boot
 * CPU cannot wait for a SIPI (nobody would send it): a logged power-off
 * (the stub's power_off is an assertion). */
static void test_init_to_boot_cpu_powers_off(void **state)
{
	(void)state;
	expect_assert_failure(apic_icr_write(NULL, INIT, 0));
	assert_int_equal(fake_log_count(LOG_INFO, "cpu 1: guest INIT to the boot CPU: the guest reset; powering off"), 1);
	fake_n_log = 0;
	expect_assert_failure(apic_icr_write(NULL, INIT | ICR_SHORTHAND_ALL_BUT_SELF, 0));
	assert_int_equal(fake_log_count(LOG_INFO, "guest INIT to the boot CPU"), 1);
}

/* A guest can send INIT/SIPI to itself at will: the warning is rate-limited. */
static void test_ignored_warning_rate_limited(void **state)
{
	(void)state;
	for (u32 i = 0; i < 3000; i++)
		apic_icr_write(NULL, INIT | ICR_SHORTHAND_SELF, 0);
	/* a trace line each, and the warnings (the count goes on from earlier tests) */
	assert_in_range(fake_n_log - 3000, 3000 / GUEST_WARN_EVERY, GUEST_WARN_FIRST + 3000 / GUEST_WARN_EVERY + 1);
}

static void test_sipi(void **state)
{
	(void)state;
	apic_icr_write(NULL, SIPI(0x9a), 4);
	assert_int_equal(req(2), REQUEST_SIPI);
	assert_int_equal(percpu[2].sipi_vector, 0x9a);
	assert_int_equal(fake_n_ipis, 0); /* no NMI for a SIPI */
	apic_icr_write(NULL, SIPI(0x08) | ICR_SHORTHAND_ALL_BUT_SELF, 0);
	assert_int_equal(req(3), REQUEST_SIPI);
	assert_int_equal(percpu[3].sipi_vector, 0x08);
	assert_int_equal(percpu[2].sipi_vector, 0x08);
	assert_int_equal(req(0), 0);
	assert_int_equal(fake_n_ipis, 0);
}

static void test_init_deassert_ignored(void **state)
{
	(void)state;
	apic_icr_write(NULL, ICR_DELIVERY_INIT | ICR_TRIGGER_LEVEL | ICR_SHORTHAND_ALL_BUT_SELF, 0);
	apic_icr_write(NULL, ICR_DELIVERY_INIT | ICR_TRIGGER_LEVEL, 4);
	for (u32 i = 0; i < 4; i++)
		assert_int_equal(req(i), 0);
	assert_int_equal(fake_n_ipis, 0);
}

static void test_other_ipis_forwarded_unchanged(void **state)
{
	(void)state;
	const u32 lows[] = { ICR_LEVEL_ASSERT | 0xec, ICR_DELIVERY_NMI | ICR_LEVEL_ASSERT,
			     ICR_SHORTHAND_ALL_BUT_SELF | ICR_LEVEL_ASSERT | 0xfd,
			     ICR_DEST_LOGICAL | ICR_LEVEL_ASSERT | 0x31, (1u << 8) | 0x41 /* lowest priority */ };
	for (u32 i = 0; i < ARRAY_SIZE(lows); i++) {
		apic_icr_write(NULL, lows[i], 0x10 + i);
		assert_int_equal(fake_n_ipis, i + 1);
		assert_int_equal(fake_ipis[i].dest, 0x10 + i);
		assert_int_equal(fake_ipis[i].icr_low, lows[i]);
	}
	for (u32 i = 0; i < 4; i++)
		assert_int_equal(req(i), 0);
}

/* The target tells the NMI kick from a guest NMI. Two INITs before the
 * target sees the first send one NMI (two would merge in the target into
 * one, leaving a kick that would swallow a later guest NMI). */
static void test_init_kick(void **state)
{
	(void)state;
	apic_icr_write(NULL, INIT, 4); /* CPU 2 runs the guest */
	apic_icr_write(NULL, INIT, 4);
	assert_int_equal(fake_n_ipis, 1);
	assert_true(nmi_is_kick(&percpu[2]));
	assert_false(nmi_is_kick(&percpu[2])); /* the next NMI is the guest's */
	apic_icr_write(NULL, SIPI(0x10), 4);
	assert_int_equal(fake_n_ipis, 1); /* SIPIs send no kick */
	assert_false(nmi_is_kick(&percpu[2]));
	apic_icr_write(NULL, INIT, 4); /* a later INIT kicks again */
	assert_int_equal(fake_n_ipis, 2);
	assert_true(nmi_is_kick(&percpu[2]));
}

/* 12.6.2.2 flat model: a CPU is a target if MDA & its LDR bits != 0. */
static void test_logical_flat(void **state)
{
	(void)state;
	for (u32 i = 0; i < 4; i++) {
		percpu[i].apic_ldr = (1u << i) << 24;
		percpu[i].apic_dfr = 0xffffffffu;
	}
	apic_icr_write(NULL, INIT | ICR_DEST_LOGICAL, 0x0c); /* CPUs 2 and 3 */
	assert_int_equal(req(2), REQUEST_INIT);
	assert_int_equal(req(3), REQUEST_INIT);
	assert_int_equal(req(0) | req(1), 0);
	percpu[3].requests = 0;
	apic_icr_write(NULL, SIPI(0x20) | ICR_DEST_LOGICAL, 0x01); /* CPU 0: ignored */
	assert_int_equal(req(0) | req(3), 0);
	expect_assert_failure(apic_icr_write(NULL, INIT | ICR_DEST_LOGICAL, 0x01)); /* CPU 0: power-off */
}

/* Cluster model (DFR 0x0...): MDA[7:4] is the cluster, MDA[3:0] the mask. */
static void test_logical_cluster(void **state)
{
	(void)state;
	percpu[2].apic_ldr = 0x21u << 24; /* cluster 2, bit 0 */
	percpu[3].apic_ldr = 0x12u << 24; /* cluster 1, bit 1 */
	percpu[2].apic_dfr = percpu[3].apic_dfr = 0x0fffffffu;
	apic_icr_write(NULL, INIT | ICR_DEST_LOGICAL, 0x23);
	assert_int_equal(req(2), REQUEST_INIT);
	assert_int_equal(req(3), 0);
	apic_icr_write(NULL, SIPI(0x20) | ICR_DEST_LOGICAL, 0x12);
	assert_int_equal(req(3), REQUEST_SIPI);
}

/* x2APIC: logical ID = cluster (id >> 4) << 16 | 1 << (id & 15), 12.12.10.2. */
static void test_logical_x2apic(void **state)
{
	(void)state;
	fake_x2apic = true;
	apic_icr_write(NULL, INIT | ICR_DEST_LOGICAL, (0u << 16) | (1u << 4)); /* APIC id 4 = CPU 2 */
	assert_int_equal(req(2), REQUEST_INIT);
	assert_int_equal(req(3), 0);
	apic_icr_write(NULL, INIT | ICR_DEST_LOGICAL, (1u << 16) | (1u << 6)); /* cluster 1: nobody */
	assert_int_equal(req(3), 0);
}

/* The target of an INIT puts its APIC into the after-INIT state. */
static void test_init_resets_target_apic(void **state)
{
	(void)state;
	percpu[1].apic_ldr = 0x02000000;
	percpu[1].apic_dfr = 0x0fffffff;
	percpu[1].requests = REQUEST_INIT | REQUEST_SIPI;
	percpu[1].sipi_vector = 0x30;
	apic_requests(&(struct guest_regs){ 0 });
	assert_vmentry_ok();
	assert_int_equal(fake_lapic_resets, 1);
	assert_int_equal(percpu[1].apic_ldr, 0);
	assert_int_equal(percpu[1].apic_dfr, 0xffffffffu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_init_physical_destination, setup),
		cmocka_unit_test_setup(test_init_all_excluding_self, setup),
		cmocka_unit_test_setup(test_sipi_all_including_self, setup),
		cmocka_unit_test_setup(test_init_physical_broadcast, setup),
		cmocka_unit_test_setup(test_self_and_cpu0_ignored, setup),
		cmocka_unit_test_setup(test_sipi, setup),
		cmocka_unit_test_setup(test_init_deassert_ignored, setup),
		cmocka_unit_test_setup(test_other_ipis_forwarded_unchanged, setup),
		cmocka_unit_test_setup(test_init_kick, setup),
		cmocka_unit_test_setup(test_init_to_boot_cpu_powers_off, setup),
		cmocka_unit_test_setup(test_ignored_warning_rate_limited, setup),
		cmocka_unit_test_setup(test_logical_flat, setup),
		cmocka_unit_test_setup(test_logical_cluster, setup),
		cmocka_unit_test_setup(test_logical_x2apic, setup),
		cmocka_unit_test_setup(test_init_resets_target_apic, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
