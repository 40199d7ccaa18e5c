/* xmhf/runtime/task_switch.c: guest hardware task switches (SDM Vol. 3 7.3,
 * Table 7-1, Table 7-2; exit qualification Table 28-2) on the fake VMCS,
 * with a GDT, TSSes and stacks in fake guest memory (paging off). */
#include "fake_cpu.h"
#include <runtime/task_switch.h>
#include <runtime/vmx_ops.h>
#include <xmhf/vmx.h>

#define GDT 0x10000
#define TSS_A 0x20000 /* the current task, selector 0x18 */
#define TSS_B 0x21000 /* selector 0x20 */
#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_A 0x18
#define SEL_B 0x20
#define CODE_DESC 0x00cf9a000000ffffull /* accessed flag clear */
#define DATA_DESC 0x00cf92000000ffffull
#define RIP0 0x1000
#define INSN_LEN 7
#define QUAL(sel, src) ((sel) | ((u64)(src) << 30))
#define SRC_CALL 0
#define SRC_IRET 1
#define SRC_JMP 2
#define SRC_GATE 3
#define EFLAGS_NT BIT(14)
#define CR0_TS BIT(3)
#define VEC_DF 8
#define VEC_TS 10
#define VEC_NP 11
#define EXC(v) (INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR_CODE | (v))
#define OFF_LINK 0x00
#define OFF_EIP 0x20
#define OFF_EFLAGS 0x24
#define OFF_EAX 0x28
#define OFF_ESP 0x38
#define OFF_ES 0x48
#define OFF_CS 0x4c
#define OFF_TRAP 0x64


static struct guest_regs regs;

static u32 *m32(u64 gpa) { return (u32 *)guest_mem(gpa, 4); }
static u64 *gdt(u16 sel) { return (u64 *)guest_mem(GDT + (sel & ~7u), 8); }
static u32 gdt_type(u16 sel) { return (*gdt(sel) >> 40) & 0xf; }

static u64 tss_desc(u32 base, u32 limit, u32 type)
{
	return (limit & 0xffff) | ((u64)(base & 0xffffff) << 16) | ((u64)(0x80 | type) << 40) |
	       ((u64)(base >> 24) << 56);
}

/* Task B: EIP 0x5000, ESP 0x6000, EAX..EDI = 0xb0 + register number. */
static void init_tss_b(void)
{
	*m32(TSS_B + OFF_EIP) = 0x5000;
	*m32(TSS_B + OFF_EFLAGS) = 0x2;
	for (u32 i = 0; i < 8; i++)
		*m32(TSS_B + OFF_EAX + 4 * i) = 0xb0 + i;
	*m32(TSS_B + OFF_ESP) = 0x6000;
	for (u32 s = 0; s < 6; s++)
		*m32(TSS_B + OFF_ES + 4 * s) = s == 1 ? SEL_CODE : SEL_DATA;
}

static int setup(void **state)
{
	(void)state;
	fake_reset(0);
	percpu[0].mtrr.phys_addr_mask = (1ull << 36) - 1;
	fake_dr6 = 0;
	vmcs_set(VMCS_GUEST_CR0, CR0_PE | CR0_ET | CR0_NE);
	vmcs_set(VMCS_GUEST_GDTR_BASE, GDT);
	vmcs_set(VMCS_GUEST_GDTR_LIMIT, 0x3f);
	*gdt(SEL_CODE) = CODE_DESC;
	*gdt(SEL_DATA) = DATA_DESC;
	*gdt(SEL_A) = tss_desc(TSS_A, 0x67, 0xb);
	*gdt(SEL_B) = tss_desc(TSS_B, 0x67, 0x9);
	vmcs_set(VMCS_GUEST_TR_SELECTOR, SEL_A);
	vmcs_set(VMCS_GUEST_TR_BASE, TSS_A);
	vmcs_set(VMCS_GUEST_TR_LIMIT, 0x67);
	vmcs_set(VMCS_GUEST_TR_AR_BYTES, 0x8b);
	vmcs_set(VMCS_GUEST_CS_SELECTOR, SEL_CODE);
	vmcs_set(VMCS_GUEST_SS_SELECTOR, SEL_DATA);
	vmcs_set(VMCS_GUEST_RIP, RIP0);
	vmcs_set(VMCS_GUEST_RSP, 0x8000);
	vmcs_set(VMCS_GUEST_RFLAGS, 0x202);
	vmcs_set(VMCS_VM_EXIT_INSTRUCTION_LEN, INSN_LEN);
	for (u32 i = 0; i < 16; i++)
		*guest_gpr(&regs, i) = 0xa0 + i;
	init_tss_b();
	return 0;
}

static void task_switch(u16 sel, u32 source)
{
	vmcs_set(VMCS_EXIT_QUALIFICATION, QUAL(sel, source));
	task_switch_emulate(&regs);
}

static void expect_no_event(void) { assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), 0); }

/* The new task B runs with its state; A's state is in TSS A. */
static void expect_in_task_b(u32 saved_eip)
{
	expect_no_event();
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_SELECTOR), SEL_B);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_BASE), TSS_B);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_LIMIT), 0x67);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_AR_BYTES), 0x8b);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), 0x5000);
	assert_int_equal(regs.rax, 0xb0);
	assert_int_equal(regs.rdi, 0xb7);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_SELECTOR), SEL_CODE);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_AR_BYTES), 0xc09b); /* accessed flag set */
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_LIMIT), 0xffffffff);
	assert_int_equal(vmcs_get(VMCS_GUEST_SS_AR_BYTES), 0xc093);
	assert_int_equal(vmcs_get(VMCS_GUEST_LDTR_AR_BYTES), BIT(16)); /* unusable */
	assert_int_equal(*gdt(SEL_CODE), CODE_DESC | BIT(40));
	assert_true(vmcs_get(VMCS_GUEST_CR0) & CR0_TS);
	assert_int_equal(gdt_type(SEL_B), 0xb);
	assert_int_equal(*m32(TSS_A + OFF_EIP), saved_eip);
	assert_int_equal(*m32(TSS_A + OFF_EAX), 0xa0);
	assert_int_equal(*m32(TSS_A + OFF_ESP), 0x8000);
	assert_int_equal(*m32(TSS_A + OFF_CS), SEL_CODE);
}

static void test_jmp(void **state)
{
	(void)state;
	task_switch(SEL_B, SRC_JMP);
	expect_in_task_b(RIP0 + INSN_LEN);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP), 0x6000);
	assert_int_equal(gdt_type(SEL_A), 0x9); /* old: not busy */
	assert_int_equal(*m32(TSS_B + OFF_LINK), 0); /* no back link */
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS), 0x2);
	assert_int_equal(*m32(TSS_A + OFF_EFLAGS), 0x202);
}

static void test_call(void **state)
{
	(void)state;
	task_switch(SEL_B, SRC_CALL);
	expect_in_task_b(RIP0 + INSN_LEN);
	assert_int_equal(gdt_type(SEL_A), 0xb); /* old stays busy */
	assert_int_equal(*m32(TSS_B + OFF_LINK), SEL_A);
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS), 0x2 | EFLAGS_NT);
}

static void test_iret_returns_to_back_link(void **state)
{
	(void)state;
	task_switch(SEL_B, SRC_CALL);
	expect_in_task_b(RIP0 + INSN_LEN);
	/* task B executes IRET (NT = 1) at 0x5010; the CPU reports the link */
	vmcs_set(VMCS_GUEST_RIP, 0x5010);
	vmcs_set(VMCS_VM_EXIT_INSTRUCTION_LEN, 1);
	regs.rax = 0x1234;
	task_switch(SEL_A, SRC_IRET);
	expect_no_event();
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_SELECTOR), SEL_A);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), RIP0 + INSN_LEN);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP), 0x8000);
	assert_int_equal(regs.rax, 0xa0);
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS), 0x202); /* A's own NT (clear) */
	assert_int_equal(gdt_type(SEL_B), 0x9);                /* the task it leaves */
	assert_int_equal(gdt_type(SEL_A), 0xb);
	assert_int_equal(*m32(TSS_B + OFF_EIP), 0x5011);
	assert_int_equal(*m32(TSS_B + OFF_EFLAGS), 0x2);        /* NT cleared in the saved image */
	assert_int_equal(*m32(TSS_B + OFF_EAX), 0x1234);
}

static void test_double_fault_task_gate_pushes_error_code(void **state)
{
	(void)state;
	vmcs_set(VMCS_IDT_VECTORING_INFO, EXC(VEC_DF));
	vmcs_set(VMCS_IDT_VECTORING_ERROR_CODE, 0);
	*m32(0x5ffc) = 0xdeadbeef;
	task_switch(SEL_B, SRC_GATE);
	expect_in_task_b(RIP0); /* an exception: the RIP of the exit */
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP), 0x5ffc);
	assert_int_equal(*m32(0x5ffc), 0);
	assert_int_equal(*m32(TSS_B + OFF_LINK), SEL_A);
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS), 0x2 | EFLAGS_NT);
	assert_int_equal(gdt_type(SEL_A), 0xb);
}

static void test_gate_error_code_value_and_software_int(void **state)
{
	(void)state;
	vmcs_set(VMCS_IDT_VECTORING_INFO, EXC(13));
	vmcs_set(VMCS_IDT_VECTORING_ERROR_CODE, 0x1234);
	task_switch(SEL_B, SRC_GATE);
	expect_in_task_b(RIP0);
	assert_int_equal(*m32(0x5ffc), 0x1234);
	setup(NULL);
	vmcs_set(VMCS_IDT_VECTORING_INFO, INTR_INFO_VALID | (4u << 8) | 0x80); /* INT 0x80 */
	vmcs_set(VMCS_VM_EXIT_INSTRUCTION_LEN, 2);
	task_switch(SEL_B, SRC_GATE);
	expect_in_task_b(RIP0 + 2);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP), 0x6000);
}

/* No state changes when the switch faults before its commit point. */
static void expect_fault_unchanged(u32 vector, u32 ec)
{
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), EXC(vector));
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE), ec);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_SELECTOR), SEL_A);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), RIP0);
	assert_int_equal(gdt_type(SEL_A), 0xb);
	assert_int_equal(*m32(TSS_A + OFF_EIP), 0);
}

static void test_limit_too_small_ts(void **state)
{
	(void)state;
	*gdt(SEL_B) = tss_desc(TSS_B, 0x66, 0x9);
	task_switch(SEL_B, SRC_JMP);
	expect_fault_unchanged(VEC_TS, SEL_B);
	assert_int_equal(gdt_type(SEL_B), 0x9);
}

static void test_not_present_np(void **state)
{
	(void)state;
	*gdt(SEL_B) &= ~BIT(47);
	task_switch(SEL_B, SRC_CALL);
	expect_fault_unchanged(VEC_NP, SEL_B);
}

static void test_busy_jmp_target_gp(void **state)
{
	(void)state;
	*gdt(SEL_B) = tss_desc(TSS_B, 0x67, 0xb);
	task_switch(SEL_B | 3, SRC_JMP);
	expect_fault_unchanged(VECTOR_GP, SEL_B); /* RPL dropped from the error code */
}

static void test_selector_beyond_gdt_gp_and_ext(void **state)
{
	(void)state;
	task_switch(0x40, SRC_JMP);
	expect_fault_unchanged(VECTOR_GP, 0x40);
	/* through the IDT for an external interrupt: EXT set (6.13) */
	setup(NULL);
	*gdt(SEL_B) = tss_desc(TSS_B, 0x67, 0xb);
	vmcs_set(VMCS_IDT_VECTORING_INFO, INTR_INFO_VALID | 0x30);
	task_switch(SEL_B, SRC_GATE);
	expect_fault_unchanged(VECTOR_GP, SEL_B | 1);
}

static void test_bad_segment_in_new_task_ts(void **state)
{
	(void)state;
	*m32(TSS_B + OFF_CS) = SEL_DATA; /* CS must be code: #TS in the new task */
	task_switch(SEL_B, SRC_JMP);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), EXC(VEC_TS));
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE), SEL_DATA);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_SELECTOR), SEL_B);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), 0x5000);
}

static void test_trap_flag_debug(void **state)
{
	(void)state;
	*(u16 *)guest_mem(TSS_B + OFF_TRAP, 2) = 1;
	task_switch(SEL_B, SRC_JMP);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VECTOR_DB);
	assert_int_equal(fake_dr6, BIT(15));
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_SELECTOR), SEL_B);
}

static void test_fault_in_df_gate_shuts_down(void **state)
{
	(void)state;
	*gdt(SEL_B) &= ~BIT(47);
	vmcs_set(VMCS_IDT_VECTORING_INFO, EXC(VEC_DF));
	expect_assert_failure(task_switch(SEL_B, SRC_GATE)); /* power_off: triple fault */
}

static void test_16bit_tss_refused(void **state)
{
	(void)state;
	*gdt(SEL_B) = tss_desc(TSS_B, 0x2b, 0x1);
	expect_assert_failure(task_switch(SEL_B, SRC_JMP)); /* power_off */
}

static void test_ia32e_mode_is_an_invariant(void **state)
{
	(void)state;
	vmcs_set(VMCS_GUEST_IA32_EFER, EFER_LME | EFER_LMA);
	expect_assert_failure(task_switch(SEL_B, SRC_JMP));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_jmp, setup),
		cmocka_unit_test_setup(test_call, setup),
		cmocka_unit_test_setup(test_iret_returns_to_back_link, setup),
		cmocka_unit_test_setup(test_double_fault_task_gate_pushes_error_code, setup),
		cmocka_unit_test_setup(test_gate_error_code_value_and_software_int, setup),
		cmocka_unit_test_setup(test_limit_too_small_ts, setup),
		cmocka_unit_test_setup(test_not_present_np, setup),
		cmocka_unit_test_setup(test_busy_jmp_target_gp, setup),
		cmocka_unit_test_setup(test_selector_beyond_gdt_gp_and_ext, setup),
		cmocka_unit_test_setup(test_bad_segment_in_new_task_ts, setup),
		cmocka_unit_test_setup(test_trap_flag_debug, setup),
		cmocka_unit_test_setup(test_fault_in_df_gate_shuts_down, setup),
		cmocka_unit_test_setup(test_16bit_tss_refused, setup),
		cmocka_unit_test_setup(test_ia32e_mode_is_an_invariant, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
