/* xmhf/runtime/exit_cr.c: MOV to CR0/CR4 and LMSW exits (SDM Vol. 2B "MOV
 * to/from Control Registers", "LMSW"; Vol. 3 Table 28-3 qualification;
 * 4.4.1 PAE PDPTEs; 10.8.5 IA-32e mode), on a VMCS01 that vmcs01_init
 * set up for skylake_x with the guest in its INIT (real-mode) state. */
#include "fake_cpu.h"
#include "vmentry_check.h"
#include <runtime/vmcs01.h>
#include <runtime/exit_handlers.h>
#include <runtime/vmx_ops.h>
#include <xmhf/vmx.h>
#include <xmhf/x86/segment.h>

#define RIP0 0x1000
#define INSN_LEN 3
#define GP_NO_EC (INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VECTOR_GP)
#define GP_EC (GP_NO_EC | INTR_INFO_DELIVER_ERROR_CODE)
#define AR_CODE64 0xa09b
#define AR_CODE32 0xc09b
#define PDPT_GPA 0x5000

static struct guest_regs regs;

static int setup(void **state)
{
	(void)state;
	fake_reset(0);
	caps_skylake_x(&percpu[0].vmx);
	percpu[0].mtrr.phys_addr_mask = (1ull << 36) - 1; /* MAXPHYADDR 36 */
	assert_null(vmcs01_init(0));
	vmcs_set(VMCS_GUEST_RIP, RIP0);
	vmcs_set(VMCS_VM_EXIT_INSTRUCTION_LEN, INSN_LEN);
	memset(&regs, 0, sizeof(regs));
	return 0;
}

static u64 cr0_view(void)
{
	u64 m = vmcs_get(VMCS_CR0_GUEST_HOST_MASK);
	return (vmcs_get(VMCS_GUEST_CR0) & ~m) | (vmcs_get(VMCS_CR0_READ_SHADOW) & m);
}

static u64 cr4_view(void)
{
	u64 m = vmcs_get(VMCS_CR4_GUEST_HOST_MASK);
	return (vmcs_get(VMCS_GUEST_CR4) & ~m) | (vmcs_get(VMCS_CR4_READ_SHADOW) & m);
}

static void exit_with(u64 qualification)
{
	vmcs_set(VMCS_EXIT_QUALIFICATION, qualification);
	vmcs_set(VMCS_VM_ENTRY_INTR_INFO, 0);
	vmcs_set(VMCS_GUEST_RIP, RIP0);
	handle_cr_access(&regs);
	assert_vmentry_ok();
}

/* MOV to CRn from GPR 'gpr' (Table 28-3: bits 3:0 CR, 5:4 = 0, 11:8 GPR) */
static void mov_to_cr(u32 n, u32 gpr, u64 value)
{
	*guest_gpr(&regs, gpr) = value;
	exit_with(n | (gpr << 8));
}

static void lmsw(u16 source) { exit_with((3u << 4) | ((u64)source << 16)); }

static void expect_ok(void)
{
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO) & INTR_INFO_VALID, 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), RIP0 + INSN_LEN);
}

static void expect_gp(bool error_code)
{
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), error_code ? GP_EC : GP_NO_EC);
	if (error_code)
		assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), RIP0);
}

static void enter_protected_mode(void)
{
	mov_to_cr(0, 0, 0x11); /* ET | PE */
	expect_ok();
	assert_int_equal(cr0_view(), 0x11);
}

/* PAE, EFER.LME (WRMSR EFER does not exit), CR0.PG, then a 64-bit CS */
static void enter_long_mode(void)
{
	enter_protected_mode();
	mov_to_cr(4, 0, CR4_PAE);
	expect_ok();
	vmcs_set(VMCS_GUEST_IA32_EFER, EFER_LME);
	mov_to_cr(0, 0, CR0_PG | CR0_PE | CR0_ET | CR0_NE);
	expect_ok();
	vmcs_set(VMCS_GUEST_CS_AR_BYTES, AR_CODE64);
}

static void test_nw_without_cd_gp(void **state)
{
	(void)state;
	u64 shadow = vmcs_get(VMCS_CR0_READ_SHADOW), real = vmcs_get(VMCS_GUEST_CR0);
	mov_to_cr(0, 3, CR0_NW | CR0_ET);
	expect_gp(false); /* real mode: no error code */
	assert_int_equal(vmcs_get(VMCS_CR0_READ_SHADOW), shadow);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR0), real);
	enter_protected_mode();
	mov_to_cr(0, 3, CR0_NW | CR0_ET | CR0_PE);
	expect_gp(true);
	assert_int_equal(cr0_view(), 0x11);
}

static void test_pg_without_pe_gp(void **state)
{
	(void)state;
	mov_to_cr(0, 0, CR0_PG | CR0_ET);
	expect_gp(false);
	assert_int_equal(cr0_view(), 0x60000010);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR0) & CR0_PG, 0);
}

static void test_ne_clear_accepted_and_cd_nw_kept_out(void **state)
{
	(void)state;
	mov_to_cr(0, 1, CR0_ET); /* caches on, NE = 0 */
	expect_ok();
	assert_int_equal(cr0_view(), CR0_ET);
	assert_true(vmcs_get(VMCS_GUEST_CR0) & CR0_NE);
	mov_to_cr(0, 2, CR0_CD | CR0_NW | CR0_ET | CR0_PE | CR0_NE);
	expect_ok();
	assert_int_equal(cr0_view(), CR0_CD | CR0_NW | CR0_ET | CR0_PE | CR0_NE);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR0) & (CR0_CD | CR0_NW), 0);
	assert_true(vmcs_get(VMCS_GUEST_CR0) & CR0_PE);
	mov_to_cr(0, 2, CR0_CD | CR0_ET | CR0_PE);
	expect_ok();
	assert_int_equal(vmcs_get(VMCS_GUEST_CR0) & (CR0_CD | CR0_NW), 0);
}

/* 2.5: reserved bits 31:0 of CR0 ignore writes, ET reads 1 */
static void test_cr0_reserved_low_bits_ignored(void **state)
{
	(void)state;
	mov_to_cr(0, 0, CR0_RESERVED_LOW | CR0_PE | CR0_NE);
	expect_ok();
	assert_int_equal(cr0_view(), CR0_PE | CR0_NE | CR0_ET);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR0) & CR0_RESERVED_LOW, 0);
}

static void test_source_is_32_bits_outside_64_bit_mode(void **state)
{
	(void)state;
	mov_to_cr(0, 0, (1ull << 32) | 0x11);
	expect_ok();
	assert_int_equal(cr0_view(), 0x11);
}

static void test_long_mode_activation(void **state)
{
	(void)state;
	enter_protected_mode();
	mov_to_cr(4, 0, CR4_PAE);
	expect_ok();
	vmcs_set(VMCS_GUEST_IA32_EFER, EFER_LME); /* WRMSR EFER does not exit */
	vmcs_set(VMCS_GUEST_CR3, PDPT_GPA);
	vmcs_set(VMCS_GUEST_PDPTE0, 0x1234); /* must stay: no PDPTEs in IA-32e mode */
	mov_to_cr(0, 0, CR0_PG | CR0_ET | CR0_PE | CR0_NE);
	expect_ok();
	assert_true(vmcs_get(VMCS_VM_ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST);
	assert_int_equal(vmcs_get(VMCS_GUEST_IA32_EFER), EFER_LME | EFER_LMA);
	assert_true(vmcs_get(VMCS_GUEST_CR0) & CR0_PG);
	assert_int_equal(vmcs_get(VMCS_GUEST_PDPTE0), 0x1234);
	/* in 64-bit mode the whole register is the source: bit 32 is reserved */
	vmcs_set(VMCS_GUEST_CS_AR_BYTES, AR_CODE64);
	mov_to_cr(0, 0, (1ull << 32) | CR0_PG | CR0_PE);
	expect_gp(true);
	/* clearing PAE in IA-32e mode faults */
	mov_to_cr(4, 0, 0);
	expect_gp(true);
	/* leaving paging from 64-bit code faults; from compatibility mode not */
	mov_to_cr(0, 0, CR0_ET | CR0_PE);
	expect_gp(true);
	vmcs_set(VMCS_GUEST_CS_AR_BYTES, AR_CODE32);
	mov_to_cr(0, 0, CR0_ET | CR0_PE);
	expect_ok();
	assert_false(vmcs_get(VMCS_VM_ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST);
	assert_int_equal(vmcs_get(VMCS_GUEST_IA32_EFER), EFER_LME);
}

static void test_long_mode_needs_pae(void **state)
{
	(void)state;
	enter_protected_mode();
	vmcs_set(VMCS_GUEST_IA32_EFER, EFER_LME);
	mov_to_cr(0, 0, CR0_PG | CR0_PE);
	expect_gp(true);
	assert_false(vmcs_get(VMCS_VM_ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST);
}

static void test_cr4_vmxe_and_reserved_gp(void **state)
{
	(void)state;
	enter_protected_mode();
	const u64 bad[] = { CR4_VMXE, CR4_PAE | CR4_VMXE, CR4_PKE, CR4_UMIP, CR4_LA57, BIT(19) };
	for (u32 i = 0; i < ARRAY_SIZE(bad); i++) {
		mov_to_cr(4, 5, bad[i]);
		expect_gp(true);
		assert_int_equal(cr4_view(), 0);
		assert_int_equal(vmcs_get(VMCS_GUEST_CR4), CR4_VMXE);
	}
	/* only 64-bit mode can write bit 32 */
	enter_long_mode();
	mov_to_cr(4, 5, BIT(32) | CR4_PAE);
	expect_gp(true);
	assert_int_equal(cr4_view(), CR4_PAE);
}

static void test_cr4_accepted(void **state)
{
	(void)state;
	mov_to_cr(4, 6, CR4_PAE | CR4_OSFXSR | CR4_PSE);
	expect_ok();
	assert_int_equal(vmcs_get(VMCS_CR4_READ_SHADOW), CR4_PAE | CR4_OSFXSR | CR4_PSE);
	assert_int_equal(cr4_view(), CR4_PAE | CR4_OSFXSR | CR4_PSE);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR4), CR4_VMXE | CR4_PAE | CR4_OSFXSR | CR4_PSE);
}

static u64 *pdpt(void) { return (u64 *)guest_mem(PDPT_GPA, 32); }

static void pae_setup(void)
{
	const u64 e[4] = { 0x10001, 0x20001 | BIT(3) | BIT(4), 0xfffff000ull | BIT(9) | 1, 0x1e6 /* not present */ };
	memcpy(pdpt(), e, sizeof(e));
	enter_protected_mode();
	mov_to_cr(4, 0, CR4_PAE);
	expect_ok();
	vmcs_set(VMCS_GUEST_CR3, PDPT_GPA | 0x18); /* bits 4:0 are ignored */
}

static void test_pae_pdptes_loaded(void **state)
{
	(void)state;
	pae_setup();
	mov_to_cr(0, 0, CR0_PG | CR0_PE | CR0_ET);
	expect_ok();
	for (u32 i = 0; i < 4; i++)
		assert_int_equal(vmcs_get(VMCS_GUEST_PDPTE0 + 2 * i), pdpt()[i]);
	assert_false(vmcs_get(VMCS_VM_ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST);
	/* MOV to CR4 that keeps PAE paging reloads them (4.4.1) */
	pdpt()[1] = 0x30001;
	mov_to_cr(4, 0, CR4_PAE | CR4_OSFXSR);
	expect_ok();
	assert_int_equal(vmcs_get(VMCS_GUEST_PDPTE1), 0x30001);
}

static void test_pae_pdpte_reserved_bits_gp(void **state)
{
	(void)state;
	const u64 reserved[] = { BIT(1), BIT(2), BIT(5), BIT(8), BIT(36), BIT(63) };
	pae_setup();
	for (u32 i = 0; i < ARRAY_SIZE(reserved); i++) {
		pdpt()[2] = 0x40001 | reserved[i];
		vmcs_set(VMCS_GUEST_PDPTE2, 0);
		mov_to_cr(0, 0, CR0_PG | CR0_PE | CR0_ET);
		expect_gp(true);
		assert_int_equal(cr0_view() & CR0_PG, 0);
		assert_int_equal(vmcs_get(VMCS_GUEST_CR0) & CR0_PG, 0);
		assert_int_equal(vmcs_get(VMCS_GUEST_PDPTE2), 0);
	}
}

static void test_pae_pdpt_in_hypervisor_reads_zero(void **state)
{
	(void)state;
	pae_setup();
	memset(guest_mem(FAKE_HV_BASE, 32), 0xff, 32);
	vmcs_set(VMCS_GUEST_CR3, FAKE_HV_BASE);
	for (u32 i = 0; i < 4; i++)
		vmcs_set(VMCS_GUEST_PDPTE0 + 2 * i, 0x1234);
	mov_to_cr(0, 0, CR0_PG | CR0_PE | CR0_ET);
	expect_ok();
	for (u32 i = 0; i < 4; i++)
		assert_int_equal(vmcs_get(VMCS_GUEST_PDPTE0 + 2 * i), 0);
}

static void test_lmsw(void **state)
{
	(void)state;
	lmsw(0xfff1); /* only bits 3:0 count */
	expect_ok();
	assert_int_equal(cr0_view(), 0x60000011);
	lmsw(0xe); /* cannot clear PE; sets MP, EM, TS */
	expect_ok();
	assert_int_equal(cr0_view(), 0x6000001f);
	lmsw(0);
	expect_ok();
	assert_int_equal(cr0_view(), 0x60000011);
	assert_true(vmcs_get(VMCS_GUEST_CR0) & CR0_PE);
}

static void test_unexpected_accesses_stop(void **state)
{
	(void)state;
	expect_assert_failure(exit_with(1u << 4));  /* MOV from CR0: never exits */
	expect_assert_failure(mov_to_cr(3, 0, 0));  /* MOV to CR3: not intercepted */
}

/* Fields an emulated write commits: a faulting write touches none (the
 * check-then-commit order). */
static const enum vmcs_field committed[] = {
	VMCS_GUEST_CR0, VMCS_CR0_READ_SHADOW, VMCS_GUEST_CR4, VMCS_CR4_READ_SHADOW, VMCS_GUEST_IA32_EFER,
	VMCS_VM_ENTRY_CONTROLS, VMCS_GUEST_TR_AR_BYTES, VMCS_GUEST_PDPTE0, VMCS_GUEST_PDPTE3,
};

static void expect_gp_no_change(void (*write)(void))
{
	u32 before[ARRAY_SIZE(committed)], invepts = fake_invept_calls;
	for (u32 i = 0; i < ARRAY_SIZE(committed); i++)
		before[i] = vmcs_writes(committed[i]);
	write();
	expect_gp(true);
	for (u32 i = 0; i < ARRAY_SIZE(committed); i++)
		assert_int_equal(vmcs_writes(committed[i]), before[i]);
	assert_int_equal(fake_invept_calls, invepts);
}

static void clear_pg(void) { mov_to_cr(0, 1, CR0_PE | CR0_ET | CR0_NE); }

/* MOV to CR0 #GP(0): "clear CR0.PG while CR4.PCIDE = 1" (from compatibility
 * mode, where leaving paging is otherwise allowed) */
static void test_clear_pg_with_pcide_gp(void **state)
{
	(void)state;
	enter_long_mode();
	mov_to_cr(4, 0, CR4_PAE | CR4_PCIDE);
	expect_ok();
	vmcs_set(VMCS_GUEST_CS_AR_BYTES, AR_CODE32);
	expect_gp_no_change(clear_pg);
	assert_true(vmcs_get(VMCS_VM_ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST);
}

static void clear_wp(void) { mov_to_cr(0, 1, CR0_PG | CR0_PE | CR0_ET | CR0_NE); }
static void set_cet(void) { mov_to_cr(4, 2, CR4_PAE | CR4_CET); }

/* "clear CR0.WP while CR4.CET = 1" and "set CR4.CET while CR0.WP = 0" */
static void test_wp_and_cet_gp(void **state)
{
	(void)state;
	percpu[0].vmx.cr4_fixed1 |= CR4_CET;
	enter_long_mode();
	mov_to_cr(0, 1, CR0_PG | CR0_WP | CR0_PE | CR0_ET | CR0_NE);
	expect_ok();
	set_cet();
	expect_ok();
	assert_int_equal(cr4_view(), CR4_PAE | CR4_CET);
	expect_gp_no_change(clear_wp);
	assert_true(cr0_view() & CR0_WP);
	mov_to_cr(4, 2, CR4_PAE);
	expect_ok();
	clear_wp();
	expect_ok();
	expect_gp_no_change(set_cet);
}

static void toggle_la57(void) { mov_to_cr(4, 3, CR4_PAE | CR4_LA57); }

/* "change CR4.LA57 in IA-32e mode"; outside it the bit may change */
static void test_la57_change_in_ia32e_mode_gp(void **state)
{
	(void)state;
	percpu[0].vmx.cr4_fixed1 |= CR4_LA57;
	enter_long_mode();
	expect_gp_no_change(toggle_la57);
	setup(NULL);
	percpu[0].vmx.cr4_fixed1 |= CR4_LA57;
	enter_protected_mode();
	toggle_la57();
	expect_ok();
	assert_int_equal(cr4_view(), CR4_PAE | CR4_LA57);
}

/* PCIDE 0 -> 1 only in IA-32e mode with CR3[11:0] = 0 (4.10.1) */
static void set_pcide(void) { mov_to_cr(4, 3, CR4_PAE | CR4_PCIDE); }

static void test_pcide_set_rules(void **state)
{
	(void)state;
	enter_protected_mode();
	mov_to_cr(4, 0, CR4_PAE);
	expect_ok();
	expect_gp_no_change(set_pcide);
	setup(NULL);
	enter_long_mode();
	vmcs_set(VMCS_GUEST_CR3, PDPT_GPA | 1);
	expect_gp_no_change(set_pcide);
	vmcs_set(VMCS_GUEST_CR3, PDPT_GPA);
	set_pcide();
	expect_ok();
}

/* IA-32e mode activation: CR0.PG is the hypervisor's, so it exits; with
 * a 16-bit busy TSS in TR (the SDM does not fault it) TR becomes a busy
 * 64-bit TSS, which VM entry requires (27.3.1.2); back out of IA-32e mode
 * TR stays valid. */
static void test_long_mode_with_16_bit_tr(void **state)
{
	(void)state;
	assert_true(vmcs_get(VMCS_CR0_GUEST_HOST_MASK) & CR0_PG);
	enter_protected_mode();
	vmcs_set(VMCS_GUEST_TR_AR_BYTES, AR_P | DESC_TSS16_BUSY);
	mov_to_cr(4, 0, CR4_PAE);
	expect_ok();
	vmcs_set(VMCS_GUEST_IA32_EFER, EFER_LME);
	mov_to_cr(0, 0, CR0_PG | CR0_PE | CR0_ET | CR0_NE); /* exit_with checks the entry */
	expect_ok();
	assert_true(vmcs_get(VMCS_VM_ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_AR_BYTES), AR_TSS_BUSY);
	clear_pg();
	expect_ok();
	assert_false(vmcs_get(VMCS_VM_ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_AR_BYTES), AR_TSS_BUSY);
}

static void activate_from_cs_l(void) { mov_to_cr(0, 0, CR0_PG | CR0_PE | CR0_ET | CR0_NE); }

/* activating IA-32e mode with CS.L = 1 #GPs (as KVM and Bochs do) */
static void test_long_mode_activation_with_cs_l_gp(void **state)
{
	(void)state;
	enter_protected_mode();
	mov_to_cr(4, 0, CR4_PAE);
	expect_ok();
	vmcs_set(VMCS_GUEST_IA32_EFER, EFER_LME);
	vmcs_set(VMCS_GUEST_CS_AR_BYTES, 0x209b); /* L = 1, D = 0, G = 0 */
	expect_gp_no_change(activate_from_cs_l);
}

/* 4.10.4.1: clearing PG or changing PGE/PAE/PCIDE/SMEP flushes the
 * guest's TLBs (INVEPT of its EPT); other emulated writes do not */
static void test_tlb_flush(void **state)
{
	(void)state;
	pae_setup();
	mov_to_cr(0, 0, CR0_PG | CR0_PE | CR0_ET);
	expect_ok();
	u32 n = fake_invept_calls;
	mov_to_cr(0, 0, CR0_PG | CR0_PE | CR0_ET | CR0_NE | CR0_CD);
	expect_ok();
	assert_int_equal(fake_invept_calls, n);
	mov_to_cr(4, 0, CR4_PAE | CR4_PGE);
	expect_ok();
	assert_int_equal(fake_invept_calls, n + 1);
	assert_int_equal(fake_invept_eptp, vmcs_get(VMCS_EPT_POINTER));
	mov_to_cr(0, 0, CR0_PE | CR0_ET);
	expect_ok();
	assert_int_equal(fake_invept_calls, n + 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_nw_without_cd_gp, setup),
		cmocka_unit_test_setup(test_pg_without_pe_gp, setup),
		cmocka_unit_test_setup(test_ne_clear_accepted_and_cd_nw_kept_out, setup),
		cmocka_unit_test_setup(test_source_is_32_bits_outside_64_bit_mode, setup),
		cmocka_unit_test_setup(test_cr0_reserved_low_bits_ignored, setup),
		cmocka_unit_test_setup(test_long_mode_activation, setup),
		cmocka_unit_test_setup(test_long_mode_needs_pae, setup),
		cmocka_unit_test_setup(test_cr4_vmxe_and_reserved_gp, setup),
		cmocka_unit_test_setup(test_cr4_accepted, setup),
		cmocka_unit_test_setup(test_pae_pdptes_loaded, setup),
		cmocka_unit_test_setup(test_pae_pdpte_reserved_bits_gp, setup),
		cmocka_unit_test_setup(test_pae_pdpt_in_hypervisor_reads_zero, setup),
		cmocka_unit_test_setup(test_lmsw, setup),
		cmocka_unit_test_setup(test_unexpected_accesses_stop, setup),
		cmocka_unit_test_setup(test_clear_pg_with_pcide_gp, setup),
		cmocka_unit_test_setup(test_wp_and_cet_gp, setup),
		cmocka_unit_test_setup(test_la57_change_in_ia32e_mode_gp, setup),
		cmocka_unit_test_setup(test_pcide_set_rules, setup),
		cmocka_unit_test_setup(test_long_mode_with_16_bit_tr, setup),
		cmocka_unit_test_setup(test_long_mode_activation_with_cs_l_gp, setup),
		cmocka_unit_test_setup(test_tlb_flush, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
