/* xmhf/runtime/apic_write.c: the guest's writes to its xAPIC page (read-
 * only in EPT01) are emulated in one exit when they are MOV stores, else
 * stepped with events blocked (guest_step.c); other EPT violations are
 * #GP(0) with a rate-limited warning. CPUs 0..3 have APIC IDs 0, 2, 4, 6;
 * the guest runs on CPU 1 with paging off (linear = physical). */
#include "fake_ept01.h"
#include <runtime/guest_step.h>
#include <runtime/exit_handlers.h>
#include <xmhf/lapic.h>
#include <xmhf/paging.h>
#include <xmhf/vmx.h>
#include <xmhf/x86/segment.h>

#define SELF 1
#define APIC 0xfee00000ull
#define CODE 0x1000ull
#define QUAL_WRITE_LINEAR (EPT_QUAL_WRITE | EPT_QUAL_LINEAR_VALID | EPT_QUAL_LINEAR_TRANSLATED)
#define AR_CODE32 (AR_CODE_RX_ACCESSED | AR_DB | AR_G)
#define AR_CODE64 (AR_CODE_RX_ACCESSED | AR_L | AR_G)
#define AR_CODE16 AR_CODE_RX_ACCESSED
#define RFLAGS_FIXED BIT(1)

static struct guest_regs regs;

static int setup(void **state)
{
	(void)state;
	fake_reset(SELF);
	fake_n_log = 0;
	guest_step_cancel(); /* no step left over from an earlier test */
	for (u32 i = 0; i < 4; i++) {
		cpu_register(2 * i);
		percpu[i].in_guest = true;
		percpu[i].ept_apic_page = l1_gpa(APIC);
	}
	fake_apic_ept_entry = APIC | EPT_R;
	vmcs_set(VMCS_GUEST_CR0, CR0_PE);
	vmcs_set(VMCS_GUEST_CS_AR_BYTES, AR_CODE32);
	vmcs_set(VMCS_GUEST_SS_AR_BYTES, AR_DATA_RW_ACCESSED);
	vmcs_set(VMCS_GUEST_RIP, CODE);
	vmcs_set(VMCS_GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_IF);
	memset(&regs, 0, sizeof(regs));
	return 0;
}

/* An EPT violation of the instruction 'insn' at CS:RIP writing GPA 'gpa'
 * at linear 'la'. */
static void write_exit(const u8 *insn, u32 len, u64 gpa, u64 la, u64 q)
{
	memcpy(guest_mem(vmcs_get(VMCS_GUEST_CS_BASE) + vmcs_get(VMCS_GUEST_RIP), len), insn, len);
	vmcs_set(VMCS_GUEST_PHYSICAL_ADDRESS, gpa);
	vmcs_set(VMCS_GUEST_LINEAR_ADDRESS, la);
	vmcs_set(VMCS_EXIT_QUALIFICATION, q);
	vmcs_set(VMCS_VM_ENTRY_INTR_INFO, 0);
	handle_ept_violation(&regs);
}
#define WRITE_EXIT(gpa, la, q, ...) \
	write_exit((const u8[]){ __VA_ARGS__ }, sizeof((const u8[]){ __VA_ARGS__ }), gpa, la, q)

static bool injected_gp(void)
{
	return vmcs_get(VMCS_VM_ENTRY_INTR_INFO) ==
	       (INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VECTOR_GP | INTR_INFO_DELIVER_ERROR_CODE);
}

static void expect_emulated(u64 rip)
{
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), rip);
	assert_false(guest_step_active());
	assert_int_equal(fake_apic_ept_entry, APIC | EPT_R); /* never writable */
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), 0);
}

/* ICR high then ICR low (mov [ebx+0x310], eax; mov dword [0xfee00300],
 * imm32): the INIT reaches CPU 2 (APIC ID 4) in one exit per write. */
static void test_icr_writes_emulated(void **state)
{
	(void)state;
	regs.rbx = APIC;
	regs.rax = 4u << 24;
	WRITE_EXIT(APIC + 0x310, APIC + 0x310, QUAL_WRITE_LINEAR, 0x89, 0x83, 0x10, 0x03, 0x00, 0x00);
	expect_emulated(CODE + 6);
	assert_int_equal(percpu[2].requests, 0);
	vmcs_set(VMCS_GUEST_RIP, CODE);
	WRITE_EXIT(APIC + 0x300, APIC + 0x300, QUAL_WRITE_LINEAR, 0xc7, 0x05, 0x00, 0x03, 0xe0, 0xfe,
		   0x00, 0x45, 0x00, 0x00);
	expect_emulated(CODE + 10);
	assert_int_equal(percpu[2].requests, REQUEST_INIT);
	assert_int_equal(fake_n_ipis, 1); /* the INIT's NMI kick */
	assert_int_equal(fake_ipis[0].dest, 4);
	/* a fixed IPI is sent as written, to the ICR-high destination */
	regs.rax = 0x000000f3;
	vmcs_set(VMCS_GUEST_RIP, CODE);
	WRITE_EXIT(APIC + 0x300, APIC + 0x300, QUAL_WRITE_LINEAR, 0x89, 0x83, 0x00, 0x03, 0x00, 0x00);
	assert_int_equal(fake_n_ipis, 2);
	assert_int_equal(fake_ipis[1].dest, 4);
	assert_int_equal(fake_ipis[1].icr_low, 0xf3);
}

/* 64-bit code, RIP-relative; real mode with 67 66 and a DS base; the
 * emulated MOV ends an STI shadow; the guest's own TF gets its #DB. */
static void test_modes_and_flags(void **state)
{
	(void)state;
	/* 64-bit code: RIP-relative to an APIC the guest moved to 1 MiB */
	u64 moved = 0x100000;
	percpu[SELF].ept_apic_page = l1_gpa(moved);
	fake_apic_ept_entry = moved | EPT_R;
	vmcs_set(VMCS_GUEST_IA32_EFER, EFER_LME | EFER_LMA);
	vmcs_set(VMCS_GUEST_CS_AR_BYTES, AR_CODE64);
	vmcs_set(VMCS_GUEST_CS_BASE, 0x1234000); /* ignored in 64-bit mode */
	vmcs_set(VMCS_GUEST_RIP, 0x10000);
	regs.rsi = 6u << 24;
	u32 disp = (u32)(moved + 0x310 - 0x10006); /* mov [rip+disp], esi */
	memcpy(guest_mem(0x10000, 6), (const u8[]){ 0x89, 0x35, (u8)disp, (u8)(disp >> 8), (u8)(disp >> 16), (u8)(disp >> 24) }, 6);
	vmcs_set(VMCS_GUEST_PHYSICAL_ADDRESS, moved + 0x310);
	vmcs_set(VMCS_GUEST_LINEAR_ADDRESS, moved + 0x310);
	vmcs_set(VMCS_EXIT_QUALIFICATION, QUAL_WRITE_LINEAR);
	handle_ept_violation(&regs);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), 0x10006);
	assert_false(guest_step_active());
	assert_int_equal(fake_apic_ept_entry, moved | EPT_R);
	percpu[SELF].ept_apic_page = l1_gpa(APIC);
	fake_apic_ept_entry = APIC | EPT_R;

	/* real mode: CS base 0x2000, DS base 0 */
	vmcs_set(VMCS_GUEST_IA32_EFER, 0);
	vmcs_set(VMCS_GUEST_CR0, 0);
	vmcs_set(VMCS_GUEST_CS_AR_BYTES, AR_CODE16);
	vmcs_set(VMCS_GUEST_CS_BASE, 0x2000);
	vmcs_set(VMCS_GUEST_RIP, 0xfff8);
	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_STI);
	vmcs_set(VMCS_GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_TF);
	WRITE_EXIT(APIC + 0x310, APIC + 0x310, QUAL_WRITE_LINEAR, 0x67, 0x66, 0x89, 0x05, 0x10, 0x03, 0xe0, 0xfe);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), 0); /* IP wraps at 64 KiB */
	assert_int_equal(vmcs_get(VMCS_GUEST_INTERRUPTIBILITY_INFO), 0);
	assert_int_equal(fake_dr6, DR6_BS);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VECTOR_DB);
}

/* Not emulated but stepped, with every event blocked: an XCHG; a MOV whose
 * operand is not the address that exited (the code changed under it); a
 * paging-structure access; a 2-byte store; a write between registers. */
static void expect_stepped(u64 target)
{
	assert_true(guest_step_active());
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), CODE);
	assert_int_equal(fake_apic_ept_entry, target | EPT_R | EPT_W);
	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP), 0xffffffffu);
	assert_true(vmcs_get(VMCS_GUEST_INTERRUPTIBILITY_INFO) & INTERRUPTIBILITY_NMI);
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS), RFLAGS_FIXED | RFLAGS_TF);
	guest_step_cancel();
	assert_int_equal(fake_apic_ept_entry, APIC | EPT_R);
	assert_int_equal(vmcs_get(VMCS_GUEST_INTERRUPTIBILITY_INFO), 0);
	assert_int_equal(vmcs_get(VMCS_EXCEPTION_BITMAP), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS), RFLAGS_FIXED | RFLAGS_IF);
}

static void test_others_stepped(void **state)
{
	(void)state;
	u64 scratch;
	regs.rbx = APIC;
	WRITE_EXIT(APIC + 0x300, APIC + 0x300, QUAL_WRITE_LINEAR, 0x87, 0x83, 0x00, 0x03, 0x00, 0x00);
	scratch = fake_apic_ept_entry & PT_ADDR_MASK;
	assert_int_not_equal(scratch, APIC); /* ICR: a scratch page */
	expect_stepped(scratch);
	WRITE_EXIT(APIC + 0x300, APIC + 0x310, QUAL_WRITE_LINEAR, 0x89, 0x83, 0x00, 0x03, 0x00, 0x00);
	expect_stepped(scratch);
	WRITE_EXIT(APIC + 0x300, APIC + 0x300, EPT_QUAL_WRITE | EPT_QUAL_LINEAR_VALID, 0x89, 0x83, 0x00, 0x03, 0x00, 0x00);
	expect_stepped(scratch);
	WRITE_EXIT(APIC + 0x80, APIC + 0x80, QUAL_WRITE_LINEAR, 0x66, 0x89, 0x83, 0x80, 0x00, 0x00, 0x00);
	expect_stepped(APIC); /* TPR: the real APIC */
	WRITE_EXIT(APIC + 0x84, APIC + 0x84, QUAL_WRITE_LINEAR, 0x89, 0x83, 0x84, 0x00, 0x00, 0x00);
	expect_stepped(APIC);
}

/* A step ends on its single-step #DB: the ICR value in the scratch page is
 * decoded then; steps do not nest (a second write inside one is blocked). */
static void test_step_completes(void **state)
{
	(void)state;
	regs.rbx = APIC;
	WRITE_EXIT(APIC + 0x300, APIC + 0x300, QUAL_WRITE_LINEAR, 0x87, 0x83, 0x00, 0x03, 0x00, 0x00);
	u8 *scratch = (u8 *)(fake_apic_ept_entry & PT_ADDR_MASK);
	*(u32 *)(scratch + 0x300) = 0xfb; /* what the XCHG wrote */
	WRITE_EXIT(APIC + 0x310, APIC + 0x310, QUAL_WRITE_LINEAR, 0x87, 0x83, 0x10, 0x03, 0x00, 0x00);
	assert_true(injected_gp());
	vmcs_set(VMCS_VM_ENTRY_INTR_INFO, 0);
	vmcs_set(VMCS_EXIT_QUALIFICATION, DR6_BS);
	guest_step_db_exit();
	assert_false(guest_step_active());
	assert_int_equal(fake_n_ipis, 1);
	assert_int_equal(fake_ipis[0].icr_low, 0xfb);
	assert_int_equal(fake_apic_ept_entry, APIC | EPT_R);
}

/* A write to a hidden PCI function's all-ones ECAM page (read-only in
 * EPT01): #GP(0) and a warning that names it; the hypapp is not asked. */
static void test_ones_page_write_blocked(void **state)
{
	const u64 page = 0xe0018000;

	(void)state;
	fake_ones_page = page;
	regs.rbx = page + 0x10;
	WRITE_EXIT(page + 0x10, page + 0x10, QUAL_WRITE_LINEAR, 0x89, 0x03);
	fake_ones_page = ~0ull;
	assert_true(injected_gp());
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), CODE);
	assert_false(guest_step_active());
	assert_int_equal(fake_log_count(LOG_WARN, "blocked (a hidden PCI function's configuration space): #GP(0)"), 1);
}

/* Hypervisor memory: #GP(0); the warning is rate-limited (a guest can
 * cause it at will); after an IRET that unblocked NMIs they are blocked
 * again (qualification bit 12). */
static void test_blocked(void **state)
{
	(void)state;
	for (u32 i = 0; i < 3000; i++)
		WRITE_EXIT(FAKE_HV_BASE, FAKE_HV_BASE, QUAL_WRITE_LINEAR, 0x89, 0x03);
	assert_true(injected_gp());
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE), 0);
	/* (the count goes on from earlier tests) */
	assert_in_range(fake_n_log, 3000 / GUEST_WARN_EVERY, GUEST_WARN_FIRST + 3000 / GUEST_WARN_EVERY + 1);
	assert_int_equal(fake_log_count(LOG_WARN, "blocked (hypervisor memory): #GP(0)"), fake_n_log > 16 ? 16 : fake_n_log);
	assert_int_equal(vmcs_get(VMCS_GUEST_INTERRUPTIBILITY_INFO), 0);
	WRITE_EXIT(FAKE_HV_BASE, FAKE_HV_BASE, EPT_QUAL_NMI_UNBLOCKED_BY_IRET | EPT_QUAL_LINEAR_VALID, 0xcf);
	assert_int_equal(vmcs_get(VMCS_GUEST_INTERRUPTIBILITY_INFO), INTERRUPTIBILITY_NMI);
	/* bit 12 is undefined when the exit was during event delivery */
	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_set(VMCS_IDT_VECTORING_INFO, INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VECTOR_GP);
	WRITE_EXIT(FAKE_HV_BASE, FAKE_HV_BASE, EPT_QUAL_NMI_UNBLOCKED_BY_IRET, 0xcf);
	assert_int_equal(vmcs_get(VMCS_GUEST_INTERRUPTIBILITY_INFO), 0);
}

/* A write to the APIC page by an event delivery (its stack there) is not
 * emulated: blocked. */
static void test_delivery_write_blocked(void **state)
{
	(void)state;
	vmcs_set(VMCS_IDT_VECTORING_INFO, INTR_INFO_VALID | INTR_TYPE_NMI | VECTOR_NMI);
	regs.rbx = APIC;
	WRITE_EXIT(APIC + 0x300, APIC + 0x300, QUAL_WRITE_LINEAR, 0x89, 0x83, 0x00, 0x03, 0x00, 0x00);
	assert_false(guest_step_active());
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), CODE);
	assert_int_equal(fake_n_ipis, 0);
	assert_int_equal(injected_gp(), true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_icr_writes_emulated, setup),
		cmocka_unit_test_setup(test_modes_and_flags, setup),
		cmocka_unit_test_setup(test_others_stepped, setup),
		cmocka_unit_test_setup(test_step_completes, setup),
		cmocka_unit_test_setup(test_ones_page_write_blocked, setup),
		cmocka_unit_test_setup(test_blocked, setup),
		cmocka_unit_test_setup(test_delivery_write_blocked, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
