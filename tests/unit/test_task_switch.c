/* xmhf/runtime/task_switch.c: guest hardware task switches (SDM Vol. 3 7.3,
 * Table 7-1, Table 7-2; exit qualification Table 28-2) between 32-bit and
 * 16-bit TSSes on the fake VMCS, with a GDT, an LDT, TSSes and stacks in
 * fake guest memory (paging off, or PAE paging for the CR3 cases). Every
 * result is checked against the VM-entry rules it must pass (SDM Vol. 3
 * "Checks on the Guest State Area"): expect_entry_valid. */
#include "fake_cpu.h"
#include "vmentry_check.h"
#include <runtime/task_switch.h>
#include <runtime/vmx_ops.h>
#include <xmhf/vmx.h>
#include <xmhf/x86/segment.h>

#define GDT 0x10000
#define TSS_A 0x20000 /* the current task, selector 0x18 */
#define TSS_B 0x21000 /* selector 0x20 */
#define TSS_C 0x22000 /* 16-bit, selector 0x40 */
#define LDT 0x23000   /* selector 0x38, one data descriptor */
#define PDPT 0x30000  /* PAE paging: identity map of the first 2 MiB */
#define PD 0x31000
#define BAD_PDPT 0x32000
#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_A 0x18
#define SEL_B 0x20
#define SEL_UCODE 0x28 /* DPL 3 */
#define SEL_UDATA 0x30 /* DPL 3 */
#define SEL_LDT 0x38
#define SEL_C 0x40
#define SEL_DATA16 0x48 /* 16-bit stack */
#define SEL_LDT_DATA 0x04 /* LDT entry 0 */
#define CODE_DESC 0x00cf9a000000ffffull /* accessed flag clear */
#define DATA_DESC 0x00cf92000000ffffull
#define UCODE_DESC 0x00cffa000000ffffull
#define UDATA_DESC 0x00cff2000000ffffull
#define DATA16_DESC 0x000092000000ffffull
#define LDT_DESC (0x0000820000000fffull | ((u64)LDT << 16))
#define RIP0 0x1000
#define INSN_LEN 7
#define QUAL(sel, src) ((sel) | ((u64)(src) << 30))
#define EXC(v) (INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR_CODE | (v))
#define OFF_LINK 0x00
#define OFF_CR3 0x1c
#define OFF_EIP 0x20
#define OFF_EFLAGS 0x24
#define OFF_EAX 0x28
#define OFF_ESP 0x38
#define OFF_ES 0x48
#define OFF_CS 0x4c
#define OFF_SS 0x50
#define OFF_DS 0x54
#define OFF_LDT 0x60
#define OFF_TRAP 0x64
/* 16-bit TSS (Figure 7-11) */
#define OFF16_IP 0x0e
#define OFF16_FLAGS 0x10
#define OFF16_AX 0x12
#define OFF16_SP 0x1a
#define OFF16_ES 0x22
#define OFF16_CS 0x24
#define OFF16_SS 0x26
#define OFF16_DS 0x28
#define AR_TSS16_BUSY 0x83
#define PTE_P_RW 0x3
#define PDE_PS BIT(7)

static struct guest_regs regs;

static u32 *m32(u64 gpa) { return (u32 *)guest_mem(gpa, 4); }
static u16 *m16(u64 gpa) { return (u16 *)guest_mem(gpa, 2); }
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

/* Task C (16-bit): IP 0x100, SP 0x6000 on a 16-bit stack, AX..DI = 0xc0 + n. */
static void init_tss_c(void)
{
	*m16(TSS_C + OFF16_IP) = 0x100;
	*m16(TSS_C + OFF16_FLAGS) = 0x2;
	for (u32 i = 0; i < 8; i++)
		*m16(TSS_C + OFF16_AX + 2 * i) = 0xc0 + i;
	*m16(TSS_C + OFF16_SP) = 0x6000;
	*m16(TSS_C + OFF16_ES) = SEL_DATA;
	*m16(TSS_C + OFF16_CS) = SEL_CODE;
	*m16(TSS_C + OFF16_SS) = SEL_DATA16;
	*m16(TSS_C + OFF16_DS) = SEL_DATA;
}

static void set_segment(u32 s, u16 sel, u32 limit, u32 ar)
{
	vmcs_set(VMCS_GUEST_ES_SELECTOR + 2 * s, sel);
	vmcs_set(VMCS_GUEST_ES_BASE + 2 * s, 0);
	vmcs_set(VMCS_GUEST_ES_LIMIT + 2 * s, limit);
	vmcs_set(VMCS_GUEST_ES_AR_BYTES + 2 * s, ar);
}

/* Task A runs at CPL 0 on flat segments, an entry-valid state. */
static int setup(void **state)
{
	(void)state;
	fake_reset(0);
	vmentry_vmcs01(0);
	percpu[0].mtrr.phys_addr_mask = (1ull << 36) - 1;
	fake_dr6 = 0;
	vmcs_set(VMCS_GUEST_CR0, CR0_PE | CR0_ET | CR0_NE);
	vmcs_set(VMCS_GUEST_GDTR_BASE, GDT);
	vmcs_set(VMCS_GUEST_GDTR_LIMIT, 0x7f);
	*gdt(SEL_CODE) = CODE_DESC;
	*gdt(SEL_DATA) = DATA_DESC;
	*gdt(SEL_A) = tss_desc(TSS_A, 0x67, 0xb);
	*gdt(SEL_B) = tss_desc(TSS_B, 0x67, 0x9);
	*gdt(SEL_UCODE) = UCODE_DESC;
	*gdt(SEL_UDATA) = UDATA_DESC;
	*gdt(SEL_LDT) = LDT_DESC;
	*gdt(SEL_C) = tss_desc(TSS_C, 0x2b, 0x1);
	*gdt(SEL_DATA16) = DATA16_DESC;
	*(u64 *)guest_mem(LDT, 8) = DATA_DESC;
	set_segment(1, SEL_CODE, 0xffffffff, 0xc09b);
	for (u32 s = 0; s < 6; s++)
		if (s != 1)
			set_segment(s, SEL_DATA, 0xffffffff, 0xc093);
	vmcs_set(VMCS_GUEST_LDTR_AR_BYTES, AR_UNUSABLE);
	vmcs_set(VMCS_GUEST_TR_SELECTOR, SEL_A);
	vmcs_set(VMCS_GUEST_TR_BASE, TSS_A);
	vmcs_set(VMCS_GUEST_TR_LIMIT, 0x67);
	vmcs_set(VMCS_GUEST_TR_AR_BYTES, 0x8b);
	vmcs_set(VMCS_GUEST_RIP, RIP0);
	vmcs_set(VMCS_GUEST_RSP, 0x8000);
	vmcs_set(VMCS_GUEST_RFLAGS, 0x202);
	vmcs_set(VMCS_VM_EXIT_INSTRUCTION_LEN, INSN_LEN);
	for (u32 i = 0; i < 16; i++)
		*guest_gpr(&regs, i) = 0xa0 + i;
	init_tss_b();
	init_tss_c();
	return 0;
}

/* Paging on, PAE paging through PDPT, which identity-maps the fake memory
 * with one 2 MiB page; BAD_PDPT has a reserved bit set in PDPTE 0. */
static void pae_paging(void)
{
	*(u64 *)guest_mem(PDPT, 8) = PD | 1;
	*(u64 *)guest_mem(PD, 8) = PDE_PS | PTE_P_RW;
	*(u64 *)guest_mem(BAD_PDPT, 8) = PD | 1 | BIT(1);
	vmcs_set(VMCS_GUEST_CR0, CR0_PE | CR0_ET | CR0_NE | CR0_PG);
	vmcs_set(VMCS_GUEST_CR4, CR4_PAE | percpu[0].vmx.cr4_fixed0);
	vmcs_set(VMCS_GUEST_CR3, PDPT);
	vmcs_set(VMCS_GUEST_PDPTE0, PD | 1);
}

/* The VM-entry checks on the guest state a task switch's result must pass
 * (vmentry_check.c), and Bochs' CS.RPL = CS.DPL rule for non-conforming
 * code, which VM entry under Bochs also applies. */
static void expect_entry_valid(void)
{
	u32 cs_ar = (u32)vmcs_get(VMCS_GUEST_CS_AR_BYTES);
	assert_vmentry_ok();
	if (!(vmcs_get(VMCS_GUEST_RFLAGS) & RFLAGS_VM) && !(cs_ar & SEG_TYPE_CONFORMING))
		assert_int_equal((cs_ar >> AR_DPL_SHIFT) & 3, vmcs_get(VMCS_GUEST_CS_SELECTOR) & SEL_RPL);
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
	expect_entry_valid();
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
	vmcs_set(VMCS_GUEST_DR7, 0x4ff);
	task_switch(SEL_B, TASK_SWITCH_JMP);
	expect_in_task_b(RIP0 + INSN_LEN);
	assert_int_equal(vmcs_get(VMCS_GUEST_DR7), 0x4aa); /* L0-L3 cleared */
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP), 0x6000);
	assert_int_equal(gdt_type(SEL_A), 0x9); /* old: not busy */
	assert_int_equal(*m32(TSS_B + OFF_LINK), 0); /* no back link */
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS), 0x2);
	assert_int_equal(*m32(TSS_A + OFF_EFLAGS), 0x202);
}

static void test_call(void **state)
{
	(void)state;
	task_switch(SEL_B, TASK_SWITCH_CALL);
	expect_in_task_b(RIP0 + INSN_LEN);
	assert_int_equal(gdt_type(SEL_A), 0xb); /* old stays busy */
	assert_int_equal(*m32(TSS_B + OFF_LINK), SEL_A);
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS), 0x2 | RFLAGS_NT);
}

static void test_iret_returns_to_back_link(void **state)
{
	(void)state;
	task_switch(SEL_B, TASK_SWITCH_CALL);
	expect_in_task_b(RIP0 + INSN_LEN);
	/* task B executes IRET (NT = 1) at 0x5010; the CPU reports the link */
	vmcs_set(VMCS_GUEST_RIP, 0x5010);
	vmcs_set(VMCS_VM_EXIT_INSTRUCTION_LEN, 1);
	regs.rax = 0x1234;
	task_switch(SEL_A, TASK_SWITCH_IRET);
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
	vmcs_set(VMCS_IDT_VECTORING_INFO, EXC(VECTOR_DF));
	vmcs_set(VMCS_IDT_VECTORING_ERROR_CODE, 0);
	*m32(0x5ffc) = 0xdeadbeef;
	task_switch(SEL_B, TASK_SWITCH_GATE);
	expect_in_task_b(RIP0); /* an exception: the RIP of the exit */
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP), 0x5ffc);
	assert_int_equal(*m32(0x5ffc), 0);
	assert_int_equal(*m32(TSS_B + OFF_LINK), SEL_A);
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS), 0x2 | RFLAGS_NT);
	assert_int_equal(gdt_type(SEL_A), 0xb);
}

static void test_gate_error_code_value_and_software_int(void **state)
{
	(void)state;
	vmcs_set(VMCS_IDT_VECTORING_INFO, EXC(13));
	vmcs_set(VMCS_IDT_VECTORING_ERROR_CODE, 0x1234);
	task_switch(SEL_B, TASK_SWITCH_GATE);
	expect_in_task_b(RIP0);
	assert_int_equal(*m32(0x5ffc), 0x1234);
	setup(NULL);
	vmcs_set(VMCS_IDT_VECTORING_INFO, INTR_INFO_VALID | (4u << 8) | 0x80); /* INT 0x80 */
	vmcs_set(VMCS_VM_EXIT_INSTRUCTION_LEN, 2);
	task_switch(SEL_B, TASK_SWITCH_GATE);
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
	expect_entry_valid();
}

static void test_limit_too_small_ts(void **state)
{
	(void)state;
	*gdt(SEL_B) = tss_desc(TSS_B, 0x66, 0x9);
	task_switch(SEL_B, TASK_SWITCH_JMP);
	expect_fault_unchanged(VECTOR_TS, SEL_B);
	assert_int_equal(gdt_type(SEL_B), 0x9);
}

static void test_not_present_np(void **state)
{
	(void)state;
	*gdt(SEL_B) &= ~BIT(47);
	task_switch(SEL_B, TASK_SWITCH_CALL);
	expect_fault_unchanged(VECTOR_NP, SEL_B);
}

static void test_busy_jmp_target_gp(void **state)
{
	(void)state;
	*gdt(SEL_B) = tss_desc(TSS_B, 0x67, 0xb);
	task_switch(SEL_B | 3, TASK_SWITCH_JMP);
	expect_fault_unchanged(VECTOR_GP, SEL_B); /* RPL dropped from the error code */
}

static void test_selector_beyond_gdt_gp_and_ext(void **state)
{
	(void)state;
	task_switch(0x80, TASK_SWITCH_JMP);
	expect_fault_unchanged(VECTOR_GP, 0x80);
	/* through the IDT for an external interrupt: EXT set (6.13) */
	setup(NULL);
	*gdt(SEL_B) = tss_desc(TSS_B, 0x67, 0xb);
	vmcs_set(VMCS_IDT_VECTORING_INFO, INTR_INFO_VALID | 0x30);
	task_switch(SEL_B, TASK_SWITCH_GATE);
	expect_fault_unchanged(VECTOR_GP, SEL_B | 1);
}

/* After the commit point (Table 7-1's segment checks): the fault is the
 * new task's; CS, not loaded, is a flat code segment at CPL 0. */
static void test_bad_segment_in_new_task_ts(void **state)
{
	(void)state;
	*m32(TSS_B + OFF_CS) = SEL_DATA; /* CS must be code: #TS in the new task */
	task_switch(SEL_B, TASK_SWITCH_JMP);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), EXC(VECTOR_TS));
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE), SEL_DATA);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_SELECTOR), SEL_B);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), 0x5000);
	assert_int_equal(regs.rax, 0xb0);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_SELECTOR), SEL_DATA);
	assert_int_equal(vmcs_get(VMCS_GUEST_SS_AR_BYTES), AR_UNUSABLE);
	assert_int_equal(gdt_type(SEL_A), 0x9); /* the switch happened */
	expect_entry_valid();
}

/* The review's case: a CPL-3 task whose SS (DPL 0) faults after CS (DPL 3)
 * loaded. SS is unusable with DPL 3, so CS.DPL = SS.DPL for VM entry. */
static void test_ss_fault_after_cs_loaded_entry_valid(void **state)
{
	(void)state;
	*m32(TSS_B + OFF_CS) = SEL_UCODE | 3;
	*m32(TSS_B + OFF_SS) = SEL_DATA | 3;
	task_switch(SEL_B, TASK_SWITCH_JMP);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), EXC(VECTOR_TS));
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE), SEL_DATA);
	expect_entry_valid(); /* what the base commit failed */
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_SELECTOR), SEL_UCODE | 3);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_AR_BYTES), 0xc0fb);
	assert_int_equal(vmcs_get(VMCS_GUEST_SS_SELECTOR), SEL_DATA | 3);
	assert_int_equal(vmcs_get(VMCS_GUEST_SS_AR_BYTES), AR_UNUSABLE | (3 << AR_DPL_SHIFT));
	assert_int_equal(vmcs_get(VMCS_GUEST_DS_AR_BYTES), AR_UNUSABLE);
	assert_int_equal(vmcs_get(VMCS_GUEST_GS_AR_BYTES), AR_UNUSABLE);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_SELECTOR), SEL_B);
}

/* #NP for a data segment: CS and SS loaded, DS and the rest unusable. */
static void test_data_segment_not_present_np(void **state)
{
	(void)state;
	*gdt(SEL_UDATA) &= ~BIT(47);
	*m32(TSS_B + OFF_DS) = SEL_UDATA;
	task_switch(SEL_B, TASK_SWITCH_JMP);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), EXC(VECTOR_NP));
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE), SEL_UDATA);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_AR_BYTES), 0xc09b);
	assert_int_equal(vmcs_get(VMCS_GUEST_SS_AR_BYTES), 0xc093);
	assert_int_equal(vmcs_get(VMCS_GUEST_DS_SELECTOR), SEL_UDATA);
	assert_int_equal(vmcs_get(VMCS_GUEST_DS_AR_BYTES), AR_UNUSABLE);
	assert_int_equal(vmcs_get(VMCS_GUEST_ES_AR_BYTES), AR_UNUSABLE);
	expect_entry_valid();
}

/* The new task's LDT: loaded, and a DS in it. */
static void test_ldt_and_segment_in_it(void **state)
{
	(void)state;
	*m32(TSS_B + OFF_LDT) = SEL_LDT;
	*m32(TSS_B + OFF_DS) = SEL_LDT_DATA;
	task_switch(SEL_B, TASK_SWITCH_JMP);
	expect_no_event();
	assert_int_equal(vmcs_get(VMCS_GUEST_LDTR_SELECTOR), SEL_LDT);
	assert_int_equal(vmcs_get(VMCS_GUEST_LDTR_BASE), LDT);
	assert_int_equal(vmcs_get(VMCS_GUEST_LDTR_AR_BYTES), AR_LDT);
	assert_int_equal(vmcs_get(VMCS_GUEST_DS_SELECTOR), SEL_LDT_DATA);
	assert_int_equal(vmcs_get(VMCS_GUEST_DS_AR_BYTES), 0xc093);
	assert_int_equal(*(u64 *)guest_mem(LDT, 8), DATA_DESC | BIT(40));
	expect_entry_valid();
}

/* A bad LDT is #TS after the commit point: every segment unloaded. */
static void test_ldt_not_present_ts(void **state)
{
	(void)state;
	*gdt(SEL_LDT) &= ~BIT(47);
	*m32(TSS_B + OFF_LDT) = SEL_LDT;
	task_switch(SEL_B, TASK_SWITCH_CALL);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), EXC(VECTOR_TS));
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE), SEL_LDT);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_SELECTOR), SEL_B);
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS), 0x2 | RFLAGS_NT);
	assert_int_equal(vmcs_get(VMCS_GUEST_LDTR_AR_BYTES), AR_UNUSABLE);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_AR_BYTES), 0xc09b);
	assert_int_equal(vmcs_get(VMCS_GUEST_SS_AR_BYTES), AR_UNUSABLE);
	expect_entry_valid();
}

/* Task B as a virtual-8086 task with its segments at 0x1230 */
static void make_b_v86(void)
{
	*m32(TSS_B + OFF_EFLAGS) = RFLAGS_VM | 0x2;
	for (u32 s = 0; s < 6; s++)
		*m32(TSS_B + OFF_ES + 4 * s) = 0x1230 + s;
	*m32(TSS_B + OFF_EIP) = 0x100;
}

static void expect_v86_segments(void)
{
	assert_true(vmcs_get(VMCS_GUEST_RFLAGS) & RFLAGS_VM);
	for (u32 s = 0; s < 6; s++) {
		assert_int_equal(vmcs_get(VMCS_GUEST_ES_SELECTOR + 2 * s), 0x1230 + s);
		assert_int_equal(vmcs_get(VMCS_GUEST_ES_BASE + 2 * s), (0x1230 + s) << 4);
		assert_int_equal(vmcs_get(VMCS_GUEST_ES_AR_BYTES + 2 * s), AR_V86);
	}
}

static void test_v86_task(void **state)
{
	(void)state;
	make_b_v86();
	task_switch(SEL_B, TASK_SWITCH_JMP);
	expect_no_event();
	expect_v86_segments();
	expect_entry_valid();
}

/* The review's case: a switch into a virtual-8086 task whose LDT is bad:
 * RFLAGS.VM is set, so the segments must be in virtual-8086 form. */
static void test_v86_task_bad_ldt_entry_valid(void **state)
{
	(void)state;
	make_b_v86();
	*m32(TSS_B + OFF_LDT) = SEL_DATA; /* not an LDT */
	task_switch(SEL_B, TASK_SWITCH_JMP);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), EXC(VECTOR_TS));
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE), SEL_DATA);
	expect_entry_valid(); /* what the base commit failed */
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_SELECTOR), SEL_B);
	assert_int_equal(vmcs_get(VMCS_GUEST_LDTR_AR_BYTES), AR_UNUSABLE);
	expect_v86_segments();
}

/* ... and whose CR3 names PDPTEs with reserved bits (PAE paging): #GP(0)
 * in the new task, CR3 and the PDPTEs unchanged. */
static void test_v86_task_bad_cr3_entry_valid(void **state)
{
	(void)state;
	pae_paging();
	make_b_v86();
	*m32(TSS_B + OFF_CR3) = BAD_PDPT;
	task_switch(SEL_B, TASK_SWITCH_JMP);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), EXC(VECTOR_GP));
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE), 0);
	expect_entry_valid(); /* what the base commit failed */
	assert_int_equal(vmcs_get(VMCS_GUEST_CR3), PDPT);
	assert_int_equal(vmcs_get(VMCS_GUEST_PDPTE0), PD | 1);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_SELECTOR), SEL_B);
	expect_v86_segments();
}

/* A good CR3 with PAE paging: CR3 and PDPTEs loaded, translations flushed. */
static void test_pae_cr3_loaded(void **state)
{
	(void)state;
	pae_paging();
	*(u64 *)guest_mem(BAD_PDPT, 8) = PD | 1;
	*m32(TSS_B + OFF_CR3) = BAD_PDPT;
	task_switch(SEL_B, TASK_SWITCH_JMP);
	expect_in_task_b(RIP0 + INSN_LEN);
	assert_int_equal(vmcs_get(VMCS_GUEST_CR3), BAD_PDPT);
	assert_int_equal(vmcs_get(VMCS_GUEST_PDPTE0), PD | 1);
	assert_int_equal(fake_invept_calls, 1);
}

/* Before the commit point: a new TSS in the hypervisor's range is #GP(0)
 * (what an EPT violation gets) with nothing changed, memory included. */
static void test_new_tss_unreachable_gp_before_commit(void **state)
{
	(void)state;
	*gdt(SEL_B) = tss_desc(FAKE_HV_BASE, 0x67, 0x9);
	task_switch(SEL_B, TASK_SWITCH_JMP);
	expect_fault_unchanged(VECTOR_GP, 0);
	assert_int_equal(gdt_type(SEL_B), 0x9);
	assert_int_equal(regs.rax, 0xa0);
}

/* Before the commit point: a new TSS on a page that is not mapped is #PF
 * (CR2 = its base), nothing changed. */
static void test_new_tss_not_mapped_pf_before_commit(void **state)
{
	(void)state;
	pae_paging(); /* PDPTE 1, [1 GiB, 2 GiB), is not present */
	*gdt(SEL_B) = tss_desc(0x40000000 + TSS_B, 0x67, 0x9);
	task_switch(SEL_B, TASK_SWITCH_CALL);
	expect_fault_unchanged(VECTOR_PF, 0);
	assert_int_equal(fake_cr[2], 0x40000000 + TSS_B);
	assert_int_equal(gdt_type(SEL_B), 0x9);
}

/* IRET to a TSS that is not busy: #TS(its selector) before the commit point. */
static void test_iret_to_available_tss_ts(void **state)
{
	(void)state;
	task_switch(SEL_B, TASK_SWITCH_IRET);
	expect_fault_unchanged(VECTOR_TS, SEL_B);
}

/* After the commit point: SS not present is #SS(SS); EIP beyond the new
 * CS limit is #GP(0); an error code that does not fit the new stack is
 * #SS(EXT). Each leaves the new task entry-valid. */
static void test_ss_not_present_ss(void **state)
{
	(void)state;
	*gdt(SEL_UDATA) = DATA_DESC & ~BIT(47);
	*m32(TSS_B + OFF_SS) = SEL_UDATA;
	task_switch(SEL_B, TASK_SWITCH_JMP);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), EXC(VECTOR_SS));
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE), SEL_UDATA);
	assert_int_equal(vmcs_get(VMCS_GUEST_SS_AR_BYTES), AR_UNUSABLE);
	expect_entry_valid();
}

static void test_eip_beyond_cs_limit_gp(void **state)
{
	(void)state;
	*gdt(SEL_UCODE) = 0x00009a000000ffffull; /* DPL 0, limit FFFFH */
	*m32(TSS_B + OFF_CS) = SEL_UCODE;
	*m32(TSS_B + OFF_EIP) = 0x10000;
	task_switch(SEL_B, TASK_SWITCH_JMP);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), EXC(VECTOR_GP));
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), 0x10000);
	assert_int_equal(vmcs_get(VMCS_GUEST_CS_LIMIT), 0xffff);
	expect_entry_valid();
}

static void test_error_code_push_overflows_ss(void **state)
{
	(void)state;
	vmcs_set(VMCS_IDT_VECTORING_INFO, EXC(VECTOR_GP));
	*m32(TSS_B + OFF_SS) = SEL_DATA16;
	*m32(TSS_B + OFF_ESP) = 2; /* room for a word, not a dword */
	task_switch(SEL_B, TASK_SWITCH_GATE);
	/* #SS(EXT) while delivering #GP: contributory twice, so #DF (Table 6-5) */
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), EXC(VECTOR_DF));
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP), 2);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_SELECTOR), SEL_B);
	expect_entry_valid();
}

/* The old TSS must hold what the switch saves: #TS(old TSS) before it. */
static void test_old_tss_limit_ts(void **state)
{
	(void)state;
	vmcs_set(VMCS_GUEST_TR_LIMIT, 0x5e);
	task_switch(SEL_B, TASK_SWITCH_JMP);
	expect_fault_unchanged(VECTOR_TS, SEL_A);
	assert_int_equal(gdt_type(SEL_B), 0x9);
}

static void test_trap_flag_debug(void **state)
{
	(void)state;
	*(u16 *)guest_mem(TSS_B + OFF_TRAP, 2) = 1;
	task_switch(SEL_B, TASK_SWITCH_JMP);
	assert_int_equal(vmcs_get(VMCS_VM_ENTRY_INTR_INFO), INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VECTOR_DB);
	assert_int_equal(fake_dr6, BIT(15));
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_SELECTOR), SEL_B);
	expect_entry_valid();
}

static void test_fault_in_df_gate_shuts_down(void **state)
{
	(void)state;
	*gdt(SEL_B) &= ~BIT(47);
	vmcs_set(VMCS_IDT_VECTORING_INFO, EXC(VECTOR_DF));
	expect_assert_failure(task_switch(SEL_B, TASK_SWITCH_GATE)); /* power_off: triple fault */
	assert_int_equal(fake_log_count(LOG_INFO, "guest triple fault (shutdown)"), 1);
}

/* JMP from a 32-bit TSS to a 16-bit one (7.6): IP, FLAGS and the low
 * halves of the GPRs from it (upper halves FFFFH), FS and GS null, CR3 kept. */
static void test_jmp_to_16bit_tss(void **state)
{
	(void)state;
	task_switch(SEL_C, TASK_SWITCH_JMP);
	expect_no_event();
	expect_entry_valid();
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_SELECTOR), SEL_C);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_BASE), TSS_C);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_LIMIT), 0x2b);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_AR_BYTES), AR_TSS16_BUSY);
	assert_int_equal(gdt_type(SEL_C), 0x3);
	assert_int_equal(gdt_type(SEL_A), 0x9);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), 0x100);
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS), 0x2);
	assert_int_equal(regs.rax, 0xffff00c0);
	assert_int_equal(regs.rdi, 0xffff00c7);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP), 0xffff6000);
	assert_int_equal(vmcs_get(VMCS_GUEST_SS_SELECTOR), SEL_DATA16);
	assert_int_equal(vmcs_get(VMCS_GUEST_SS_AR_BYTES), 0x93);
	assert_int_equal(vmcs_get(VMCS_GUEST_FS_SELECTOR), 0);
	assert_int_equal(vmcs_get(VMCS_GUEST_FS_AR_BYTES), AR_UNUSABLE);
	assert_int_equal(vmcs_get(VMCS_GUEST_GS_AR_BYTES), AR_UNUSABLE);
	assert_int_equal(*m32(TSS_A + OFF_EIP), RIP0 + INSN_LEN);
	assert_int_equal(*m32(TSS_A + OFF_EAX), 0xa0);
}

/* CALL into a 16-bit task (back link, NT), then its IRET back to the
 * 32-bit task: the 16-bit TSS keeps IP, FLAGS (NT clear), the GPRs' low
 * halves and ES, CS, SS, DS. */
static void test_call_16bit_tss_and_iret_back(void **state)
{
	(void)state;
	task_switch(SEL_C, TASK_SWITCH_CALL);
	expect_no_event();
	expect_entry_valid();
	assert_int_equal(*m16(TSS_C + OFF_LINK), SEL_A);
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS), 0x2 | RFLAGS_NT);
	assert_int_equal(gdt_type(SEL_A), 0xb);
	vmcs_set(VMCS_GUEST_RIP, 0x110);
	vmcs_set(VMCS_VM_EXIT_INSTRUCTION_LEN, 1);
	regs.rax = 0x12345678;
	task_switch(SEL_A, TASK_SWITCH_IRET);
	expect_no_event();
	expect_entry_valid();
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_SELECTOR), SEL_A);
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_AR_BYTES), 0x8b);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), RIP0 + INSN_LEN);
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP), 0x8000);
	assert_int_equal(regs.rax, 0xa0);
	assert_int_equal(vmcs_get(VMCS_GUEST_RFLAGS), 0x202);
	assert_int_equal(gdt_type(SEL_C), 0x1);
	assert_int_equal(*m16(TSS_C + OFF16_IP), 0x111);
	assert_int_equal(*m16(TSS_C + OFF16_FLAGS), 0x2);
	assert_int_equal(*m16(TSS_C + OFF16_AX), 0x5678);
	assert_int_equal(*m16(TSS_C + OFF16_SP), 0x6000);
	assert_int_equal(*m16(TSS_C + OFF16_SS), SEL_DATA16);
	assert_int_equal(*m16(TSS_C + OFF16_DS), SEL_DATA);
	assert_int_equal(*m16(TSS_C + 0x2a), 0); /* its LDT field: not written */
}

/* An exception through a task gate to a 16-bit TSS pushes a word. */
static void test_gate_to_16bit_tss_pushes_word(void **state)
{
	(void)state;
	vmcs_set(VMCS_IDT_VECTORING_INFO, EXC(VECTOR_GP));
	vmcs_set(VMCS_IDT_VECTORING_ERROR_CODE, 0x1234);
	*m32(0x5ffc) = 0xdeadbeef;
	task_switch(SEL_C, TASK_SWITCH_GATE);
	expect_no_event();
	expect_entry_valid();
	assert_int_equal(vmcs_get(VMCS_GUEST_RSP), 0xffff5ffe);
	assert_int_equal(*m32(0x5ffc), 0x1234beef);
	assert_int_equal(*m16(TSS_C + OFF_LINK), SEL_A);
	assert_int_equal(*m32(TSS_A + OFF_EIP), RIP0);
}

static void test_16bit_tss_limit_ts(void **state)
{
	(void)state;
	*gdt(SEL_C) = tss_desc(TSS_C, 0x2a, 0x1);
	task_switch(SEL_C, TASK_SWITCH_JMP);
	expect_fault_unchanged(VECTOR_TS, SEL_C);
}

/* A 16-bit current task: JMP to the 32-bit task B saves a 16-bit image. */
static void test_from_16bit_tss(void **state)
{
	(void)state;
	vmcs_set(VMCS_GUEST_TR_SELECTOR, SEL_C);
	vmcs_set(VMCS_GUEST_TR_BASE, TSS_C);
	vmcs_set(VMCS_GUEST_TR_LIMIT, 0x2b);
	vmcs_set(VMCS_GUEST_TR_AR_BYTES, AR_TSS16_BUSY);
	*gdt(SEL_C) = tss_desc(TSS_C, 0x2b, 0x3);
	*gdt(SEL_A) = tss_desc(TSS_A, 0x67, 0x9);
	task_switch(SEL_B, TASK_SWITCH_JMP);
	expect_no_event();
	expect_entry_valid();
	assert_int_equal(vmcs_get(VMCS_GUEST_TR_SELECTOR), SEL_B);
	assert_int_equal(vmcs_get(VMCS_GUEST_RIP), 0x5000);
	assert_int_equal(gdt_type(SEL_C), 0x1);
	assert_int_equal(*m16(TSS_C + OFF16_IP), RIP0 + INSN_LEN);
	assert_int_equal(*m16(TSS_C + OFF16_AX), 0xa0);
	assert_int_equal(*m16(TSS_C + OFF16_SP), 0x8000);
	assert_int_equal(*m16(TSS_C + OFF16_CS), SEL_CODE);
}

static void test_ia32e_mode_is_an_invariant(void **state)
{
	(void)state;
	vmcs_set(VMCS_GUEST_IA32_EFER, EFER_LME | EFER_LMA);
	expect_assert_failure(task_switch(SEL_B, TASK_SWITCH_JMP));
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
		cmocka_unit_test_setup(test_ss_fault_after_cs_loaded_entry_valid, setup),
		cmocka_unit_test_setup(test_data_segment_not_present_np, setup),
		cmocka_unit_test_setup(test_ldt_and_segment_in_it, setup),
		cmocka_unit_test_setup(test_ldt_not_present_ts, setup),
		cmocka_unit_test_setup(test_v86_task, setup),
		cmocka_unit_test_setup(test_v86_task_bad_ldt_entry_valid, setup),
		cmocka_unit_test_setup(test_v86_task_bad_cr3_entry_valid, setup),
		cmocka_unit_test_setup(test_pae_cr3_loaded, setup),
		cmocka_unit_test_setup(test_new_tss_unreachable_gp_before_commit, setup),
		cmocka_unit_test_setup(test_old_tss_limit_ts, setup),
		cmocka_unit_test_setup(test_new_tss_not_mapped_pf_before_commit, setup),
		cmocka_unit_test_setup(test_iret_to_available_tss_ts, setup),
		cmocka_unit_test_setup(test_ss_not_present_ss, setup),
		cmocka_unit_test_setup(test_eip_beyond_cs_limit_gp, setup),
		cmocka_unit_test_setup(test_error_code_push_overflows_ss, setup),
		cmocka_unit_test_setup(test_trap_flag_debug, setup),
		cmocka_unit_test_setup(test_fault_in_df_gate_shuts_down, setup),
		cmocka_unit_test_setup(test_jmp_to_16bit_tss, setup),
		cmocka_unit_test_setup(test_call_16bit_tss_and_iret_back, setup),
		cmocka_unit_test_setup(test_gate_to_16bit_tss_pushes_word, setup),
		cmocka_unit_test_setup(test_16bit_tss_limit_ts, setup),
		cmocka_unit_test_setup(test_from_16bit_tss, setup),
		cmocka_unit_test_setup(test_ia32e_mode_is_an_invariant, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
