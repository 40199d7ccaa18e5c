/* tests/unit/vmentry_check.c, the VM-entry checker (SDM Vol. 3 27.3.1,
 * 27.2.1.3): valid guest states pass; a state that breaks one rule fails
 * naming exactly that rule. */
#include "vmentry_check.h"
#include <runtime/vmx_ops.h>
#include <xmhf/msr.h>
#include <xmhf/vmx.h>
#include <xmhf/x86/segment.h>

#define CPU 0
#define AR_CODE32 0xc09b   /* code, execute/read, accessed, 4 GiB, 32-bit */
#define AR_DATA32 0xc093   /* data, read/write, accessed, 4 GiB */
#define AR_CODE64 0xa09b   /* code, L = 1 */
#define PDPT_GPA 0x5000
#define INJECT(type, vector) (INTR_INFO_VALID | ((type) << 8) | (vector))
#define WITH_EC INTR_INFO_DELIVER_ERROR_CODE

enum base { REAL, PROT, LONG, PAE, V86, PROT_NO_UG };

static int setup(void **state)
{
	(void)state;
	fake_reset(CPU);
	percpu[CPU].mtrr.phys_addr_mask = (1ull << 36) - 1;
	vmentry_vmcs01(CPU); /* the INIT state: real mode */
	return 0;
}

static void set_segment(u32 i, u16 sel, u64 base, u32 limit, u32 ar)
{
	vmcs_set(VMCS_GUEST_ES_SELECTOR + 2 * i, sel);
	vmcs_set(VMCS_GUEST_ES_BASE + 2 * i, base);
	vmcs_set(VMCS_GUEST_ES_LIMIT + 2 * i, limit);
	vmcs_set(VMCS_GUEST_ES_AR_BYTES + 2 * i, ar);
}

static void flat_segments(u32 cs_ar)
{
	for (u32 i = 0; i < 6; i++)
		set_segment(i, i == 1 ? 0x08 : 0x10, 0, 0xffffffff, i == 1 ? cs_ar : AR_DATA32);
	set_segment(7, 0x18, 0x1000, 0x67, AR_TSS_BUSY);
}

static void load_base(enum base b)
{
	u64 cr0 = CR0_PE | CR0_NE | CR0_ET, cr4 = CR4_VMXE;
	switch (b) {
	case REAL:
		return;
	case PROT:
		break;
	case PROT_NO_UG: /* without unrestricted guest CR0.PG is fixed too */
		vmcs_set(VMCS_SECONDARY_VM_EXEC_CONTROL,
			 vmcs_get(VMCS_SECONDARY_VM_EXEC_CONTROL) & ~PROC2_UNRESTRICTED_GUEST);
		cr0 |= CR0_PG;
		break;
	case LONG:
		cr0 |= CR0_PG | CR0_WP, cr4 |= CR4_PAE;
		vmcs_set(VMCS_GUEST_IA32_EFER, EFER_LME | EFER_LMA);
		vmcs_set(VMCS_VM_ENTRY_CONTROLS, vmcs_get(VMCS_VM_ENTRY_CONTROLS) | ENTRY_IA32E_MODE_GUEST);
		break;
	case PAE:
		cr0 |= CR0_PG, cr4 |= CR4_PAE;
		vmcs_set(VMCS_GUEST_CR3, PDPT_GPA);
		vmcs_set(VMCS_GUEST_PDPTE0, 0x10001);
		vmcs_set(VMCS_GUEST_PDPTE1, 0xfff001e6); /* not present: anything goes */
		break;
	case V86:
		vmcs_set(VMCS_GUEST_RFLAGS, RFLAGS_RESERVED_1 | RFLAGS_VM);
		vmcs_set(VMCS_GUEST_CR0, cr0);
		vmcs_set(VMCS_GUEST_CR4, cr4);
		for (u32 i = 0; i < 6; i++)
			set_segment(i, 0x1000 + (u16)i, (0x1000ull + i) << 4, 0xffff, AR_V86);
		set_segment(7, 0x18, 0x1000, 0x2067, AR_TSS_BUSY);
		return;
	}
	vmcs_set(VMCS_GUEST_CR0, cr0);
	vmcs_set(VMCS_GUEST_CR4, cr4);
	flat_segments(b == LONG ? AR_CODE64 : AR_CODE32);
}

static void expect_only(u32 i, const char *rule)
{
	struct vmentry_failures f;
	vmentry_check(&f);
	if (f.n != 1 || strcmp(f.rule[0], rule))
		fail_msg("case %u: expected only \"%s\", got %u rules, first \"%s\"", i, rule, f.n, f.n ? f.rule[0] : "");
}

static void test_valid_states_pass(void **state)
{
	(void)state;
	static const enum base bases[] = { REAL, PROT, LONG, PAE, V86, PROT_NO_UG };
	for (u32 i = 0; i < ARRAY_SIZE(bases); i++) {
		setup(NULL);
		load_base(bases[i]);
		assert_vmentry_ok();
	}
	/* HLT with a #DB to inject; 16-bit TSS outside IA-32e mode; STI shadow
	 * with a pending single-step trap */
	vmcs_set(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
	vmcs_set(VMCS_VM_ENTRY_INTR_INFO, INJECT(EVENT_HW_EXCEPTION, VECTOR_DB));
	vmcs_set(VMCS_GUEST_TR_AR_BYTES, 0x83);
	assert_vmentry_ok();
	vmcs_set(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
	vmcs_set(VMCS_VM_ENTRY_INTR_INFO, 0);
	vmcs_set(VMCS_GUEST_RFLAGS, RFLAGS_RESERVED_1 | RFLAGS_IF | RFLAGS_TF);
	vmcs_set(VMCS_GUEST_INTERRUPTIBILITY_INFO, INTERRUPTIBILITY_STI);
	vmcs_set(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, DR6_BS);
	assert_vmentry_ok();
}

static void test_valid_injections_pass(void **state)
{
	(void)state;
	const u64 ok[] = { INJECT(EVENT_HW_EXCEPTION, VECTOR_GP) | WITH_EC, INJECT(EVENT_HW_EXCEPTION, VECTOR_UD),
			   INJECT(EVENT_NMI, VECTOR_NMI), INJECT(EVENT_EXT_INTR, 0x30),
			   INJECT(EVENT_SW_INT, 0x80), INJECT(EVENT_HW_EXCEPTION, VECTOR_PF) | WITH_EC };
	load_base(PROT);
	vmcs_set(VMCS_GUEST_RFLAGS, RFLAGS_RESERVED_1 | RFLAGS_IF);
	vmcs_set(VMCS_VM_ENTRY_INSTRUCTION_LEN, 2);
	for (u32 i = 0; i < ARRAY_SIZE(ok); i++) {
		vmcs_set(VMCS_VM_ENTRY_INTR_INFO, ok[i]);
		assert_vmentry_ok();
	}
	/* real mode: exceptions without error code */
	setup(NULL);
	vmcs_set(VMCS_VM_ENTRY_INTR_INFO, INJECT(EVENT_HW_EXCEPTION, VECTOR_GP));
	assert_vmentry_ok();
}

/* One broken rule: a base state, up to four fields, an optional tweak. */
struct broken {
	const char *rule;
	enum base base;
	struct { enum vmcs_field f; u64 v; } set[4];
	void (*tweak)(void);
};

static void cet_allowed(void) { percpu[CPU].vmx.cr4_fixed1 |= CR4_CET; }
static void load_debug_controls(void)
{
	vmcs_set(VMCS_VM_ENTRY_CONTROLS, vmcs_get(VMCS_VM_ENTRY_CONTROLS) | ENTRY_LOAD_DEBUG_CONTROLS);
}
static void no_hlt_state(void) { percpu[CPU].vmx.misc &= ~BIT(VMX_MISC_ACTIVITY_SHIFT + ACTIVITY_HLT); }
static void mtf_allowed(void) { percpu[CPU].vmx.procbased |= (u64)PROC_MONITOR_TRAP_FLAG << 32; }
static void no_zero_len(void) { percpu[CPU].vmx.misc &= ~VMX_MISC_ZERO_LEN_INJECTION; }
static void real_mode_v86_segments(void)
{
	for (u32 i = 0; i < 6; i++)
		set_segment(i, 0, 0, 0xffff, AR_V86);
}

#define F(field) VMCS_GUEST_##field
#define RFL(bits) { F(RFLAGS), RFLAGS_RESERVED_1 | (bits) }
#define INJ(v) { VMCS_VM_ENTRY_INTR_INFO, (v) }
#define INTR(v) { F(INTERRUPTIBILITY_INFO), (v) }
/* most cases need no tweak */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const struct broken cases[] = {
	/* 27.3.1.1 control registers, debug registers, MSRs */
	{ "cr0 fixed bits", PROT, { { F(CR0), CR0_PE | CR0_ET } } },
	{ "cr0 pg needs pe", REAL, { { F(CR0), CR0_PG | CR0_NE | CR0_ET } } },
	{ "cr4 fixed bits", PROT, { { F(CR4), 0 } } },
	{ "cr4 cet needs cr0 wp", PROT, { { F(CR4), CR4_VMXE | CR4_CET } }, cet_allowed },
	{ "debugctl reserved bits", PROT, { { F(IA32_DEBUGCTL), BIT(2) } }, load_debug_controls },
	{ "ia32e mode needs cr0 pg and cr4 pae", LONG, { { F(CR4), CR4_VMXE } } },
	{ "cr4 pcide needs ia32e mode", PROT, { { F(CR4), CR4_VMXE | CR4_PCIDE } } },
	{ "cr3 beyond maxphyaddr", PROT, { { F(CR3), 1ull << 36 } } },
	{ "dr7 bits 63:32", PROT, { { F(DR7), (1ull << 32) | 0x400 } }, load_debug_controls },
	{ "sysenter esp canonical", PROT, { { F(SYSENTER_ESP), 1ull << 47 } } },
	{ "sysenter eip canonical", PROT, { { F(SYSENTER_EIP), 0xff00000000000000ull } } },
	{ "pat memory types", PROT, { { F(IA32_PAT), 0x0007040600070402ull } } },
	{ "efer reserved bits", PROT, { { F(IA32_EFER), BIT(1) } } },
	{ "efer lma equals ia32e mode guest", PROT, { { F(IA32_EFER), EFER_LMA } } },
	{ "efer lma equals lme with cr0 pg", LONG, { { F(IA32_EFER), EFER_LMA } } },
	/* 27.3.1.2 segment registers */
	{ "tr selector ti", PROT, { { F(TR_SELECTOR), 0x1c } } },
	{ "ldtr selector ti", REAL, { { F(LDTR_SELECTOR), 0x04 } } },
	{ "ss rpl equals cs rpl", PROT_NO_UG, { { F(CS_SELECTOR), 0x0b } } },
	{ "tr base canonical", PROT, { { F(TR_BASE), 1ull << 47 } } },
	{ "fs base canonical", PROT, { { F(FS_BASE), 1ull << 47 } } },
	{ "gs base canonical", PROT, { { F(GS_BASE), 1ull << 47 } } },
	{ "ldtr base canonical", REAL, { { F(LDTR_BASE), 1ull << 47 } } },
	{ "cs base bits 63:32", PROT, { { F(CS_BASE), 1ull << 32 } } },
	{ "ss base bits 63:32", PROT, { { F(SS_BASE), 1ull << 32 } } },
	{ "es base bits 63:32", PROT, { { F(ES_BASE), 1ull << 32 } } },
	{ "ds v86 base", V86, { { F(DS_BASE), 0 } } },
	{ "cs v86 limit", V86, { { F(CS_LIMIT), 0xfffff } } },
	{ "ss v86 access rights", V86, { { F(SS_AR_BYTES), AR_DATA_RW_ACCESSED } } },
	{ "cs type", PROT, { { F(CS_AR_BYTES), 0xc091 } } },
	{ "cs s", PROT, { { F(CS_AR_BYTES), 0xc08b } } },
	{ "cs dpl 0 with data type", PROT, { { F(CS_AR_BYTES), 0xc0f3 } } },
	{ "cs dpl equals ss dpl", PROT, { { F(CS_AR_BYTES), 0xc0fb } } },
	{ "cs dpl <= ss dpl", PROT, { { F(CS_AR_BYTES), 0xc0ff } } },
	{ "cs present", PROT, { { F(CS_AR_BYTES), 0xc01b } } },
	{ "cs reserved bits", PROT, { { F(CS_AR_BYTES), 0xc19b } } },
	{ "cs d clear with l in ia32e mode", LONG, { { F(CS_AR_BYTES), 0xe09b } } },
	{ "cs granularity", PROT, { { F(CS_AR_BYTES), 0x409b } } },
	{ "ss type", PROT, { { F(SS_AR_BYTES), 0xc091 } } },
	{ "ss dpl equals rpl", PROT_NO_UG, { { F(SS_AR_BYTES), 0xc0f3 }, { F(CS_AR_BYTES), 0xc09f } } },
	{ "ss dpl 0 in real mode or with data cs", REAL, { { F(SS_AR_BYTES), 0xf3 }, { F(CS_AR_BYTES), 0x9f } } },
	{ "ds accessed", PROT, { { F(DS_AR_BYTES), 0xc092 } } },
	{ "ds code readable", PROT, { { F(DS_AR_BYTES), 0xc099 } } },
	{ "ds dpl >= rpl", PROT_NO_UG, { { F(DS_SELECTOR), 0x13 } } },
	{ "es s", PROT, { { F(ES_AR_BYTES), 0xc083 } } },
	{ "fs present", PROT, { { F(FS_AR_BYTES), 0xc013 } } },
	{ "gs reserved bits", PROT, { { F(GS_AR_BYTES), 0xc293 } } },
	{ "ds granularity", PROT, { { F(DS_LIMIT), 0x100000 }, { F(DS_AR_BYTES), 0x4093 } } },
	{ "ss s", PROT, { { F(SS_AR_BYTES), 0xc083 } } },
	{ "tr usable", PROT, { { F(TR_AR_BYTES), AR_UNUSABLE | AR_TSS_BUSY } } },
	{ "tr type", PROT, { { F(TR_AR_BYTES), 0x89 } } },
	{ "tr type", LONG, { { F(TR_AR_BYTES), 0x83 } } },
	{ "tr s", PROT, { { F(TR_AR_BYTES), 0x9b } } },
	{ "tr present", PROT, { { F(TR_AR_BYTES), 0x0b } } },
	{ "tr reserved bits", PROT, { { F(TR_AR_BYTES), 0x20008b } } },
	{ "tr granularity", PROT, { { F(TR_AR_BYTES), 0x808b } } },
	{ "ldtr type", REAL, { { F(LDTR_AR_BYTES), 0x83 } } },
	{ "ldtr s", REAL, { { F(LDTR_AR_BYTES), 0x92 } } },
	{ "ldtr present", REAL, { { F(LDTR_AR_BYTES), 0x02 } } },
	/* 27.3.1.3 descriptor-table registers, 27.3.1.4 RIP and RFLAGS */
	{ "gdtr base canonical", PROT, { { F(GDTR_BASE), 1ull << 47 } } },
	{ "idtr base canonical", PROT, { { F(IDTR_BASE), 1ull << 47 } } },
	{ "gdtr limit bits 31:16", PROT, { { F(GDTR_LIMIT), 0x10000 } } },
	{ "idtr limit bits 31:16", PROT, { { F(IDTR_LIMIT), 0x10000 } } },
	{ "rip bits 63:32 outside 64-bit mode", PROT, { { F(RIP), 1ull << 32 } } },
	{ "rip bits 63:32 outside 64-bit mode", LONG, { { F(RIP), 1ull << 32 }, { F(CS_AR_BYTES), AR_CODE32 } } },
	{ "rip canonical", LONG, { { F(RIP), 1ull << 47 } } },
	{ "rflags reserved bits", PROT, { { F(RFLAGS), 0 } } },
	{ "rflags reserved bits", PROT, { RFL(BIT(3)) } },
	{ "rflags vm needs protected mode outside ia32e", REAL, { RFL(RFLAGS_VM) }, real_mode_v86_segments },
	{ "rflags if for external interrupt", PROT, { INJ(INJECT(EVENT_EXT_INTR, 0x30)) } },
	/* 27.3.1.5 non-register state */
	{ "activity state supported", PROT, { { F(ACTIVITY_STATE), 4 } } },
	{ "activity state supported", PROT, { { F(ACTIVITY_STATE), ACTIVITY_HLT } }, no_hlt_state },
	{ "activity hlt needs ss dpl 0", PROT,
	  { { F(ACTIVITY_STATE), ACTIVITY_HLT }, { F(SS_AR_BYTES), 0xc0f3 }, { F(CS_AR_BYTES), 0xc09f } } },
	{ "activity active in sti/mov-ss shadow", PROT,
	  { { F(ACTIVITY_STATE), ACTIVITY_HLT }, INTR(INTERRUPTIBILITY_MOV_SS) } },
	{ "injected event blocked by activity state", PROT,
	  { { F(ACTIVITY_STATE), ACTIVITY_WAIT_SIPI }, INJ(INJECT(EVENT_NMI, VECTOR_NMI)) } },
	{ "injected event blocked by activity state", PROT,
	  { { F(ACTIVITY_STATE), ACTIVITY_HLT }, INJ(INJECT(EVENT_HW_EXCEPTION, VECTOR_UD)) } },
	{ "injected event blocked by activity state", PROT,
	  { { F(ACTIVITY_STATE), ACTIVITY_SHUTDOWN }, INJ(INJECT(EVENT_HW_EXCEPTION, VECTOR_DB)) } },
	{ "interruptibility reserved bits", PROT, { INTR(BIT(4)) } },
	{ "interruptibility sti and mov-ss", PROT,
	  { INTR(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS), RFL(RFLAGS_IF) } },
	{ "interruptibility sti needs rflags if", PROT, { INTR(INTERRUPTIBILITY_STI) } },
	{ "external interrupt injected in sti/mov-ss shadow", PROT,
	  { INTR(INTERRUPTIBILITY_MOV_SS), RFL(RFLAGS_IF), INJ(INJECT(EVENT_EXT_INTR, 0x30)) } },
	{ "nmi injected in mov-ss shadow", PROT, { INTR(INTERRUPTIBILITY_MOV_SS), INJ(INJECT(EVENT_NMI, VECTOR_NMI)) } },
	{ "nmi injected in sti shadow", PROT,
	  { INTR(INTERRUPTIBILITY_STI), RFL(RFLAGS_IF), INJ(INJECT(EVENT_NMI, VECTOR_NMI)) } },
	{ "interruptibility smi blocking outside smm", PROT, { INTR(INTERRUPTIBILITY_SMI) } },
	{ "virtual nmi injected while blocked", PROT, { INTR(INTERRUPTIBILITY_NMI), INJ(INJECT(EVENT_NMI, VECTOR_NMI)) } },
	{ "pending debug reserved bits", PROT, { { F(PENDING_DBG_EXCEPTIONS), BIT(4) } } },
	{ "pending debug bs equals single-step trap", PROT,
	  { INTR(INTERRUPTIBILITY_STI), RFL(RFLAGS_IF | RFLAGS_TF) } },
	{ "pending debug bs equals single-step trap", PROT,
	  { INTR(INTERRUPTIBILITY_MOV_SS), { F(PENDING_DBG_EXCEPTIONS), DR6_BS } } },
	{ "pending debug rtm", PROT, { { F(PENDING_DBG_EXCEPTIONS), DR6_RTM } } },
	{ "vmcs link pointer", PROT, { { VMCS_VMCS_LINK_POINTER, 0x1234 } } },
	/* 27.3.1.6 PDPTEs */
	{ "pdpte reserved bits", PAE, { { F(PDPTE2), 0x20001 | BIT(5) } } },
	{ "pdpte reserved bits", PAE, { { F(PDPTE3), 0x20001 | (1ull << 36) } } },
	/* 27.2.1.3 event injection */
	{ "injection reserved bits", PROT, { INJ(INJECT(EVENT_NMI, VECTOR_NMI) | BIT(12)) } },
	{ "injection type", PROT, { INJ(INJECT(EVENT_RESERVED, 0x20)) } },
	{ "injection type", PROT, { INJ(INJECT(EVENT_OTHER, 0)) } },
	{ "injected nmi vector 2", PROT, { INJ(INJECT(EVENT_NMI, 3)) } },
	{ "injected exception vector <= 31", PROT, { INJ(INJECT(EVENT_HW_EXCEPTION, 32)) } },
	{ "injected other event vector 0", PROT, { INJ(INJECT(EVENT_OTHER, 1)) }, mtf_allowed },
	{ "injected error code in real mode", REAL, { INJ(INJECT(EVENT_HW_EXCEPTION, VECTOR_GP) | WITH_EC) } },
	{ "injected error code for a non-exception", PROT, { INJ(INJECT(EVENT_NMI, VECTOR_NMI) | WITH_EC) } },
	{ "injected error code matches vector", PROT, { INJ(INJECT(EVENT_HW_EXCEPTION, VECTOR_UD) | WITH_EC) } },
	{ "injected error code matches vector", PROT, { INJ(INJECT(EVENT_HW_EXCEPTION, VECTOR_GP)) } },
	{ "injected error code bits 31:16", PROT,
	  { INJ(INJECT(EVENT_HW_EXCEPTION, VECTOR_GP) | WITH_EC), { VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE, 0x10000 } } },
	{ "injected software event instruction length", PROT,
	  { INJ(INJECT(EVENT_SW_INT, 0x80)), { VMCS_VM_ENTRY_INSTRUCTION_LEN, 16 } } },
	{ "injected software event instruction length", PROT,
	  { INJ(INJECT(EVENT_SW_EXCEPTION, VECTOR_BP)), { VMCS_VM_ENTRY_INSTRUCTION_LEN, 0 } }, no_zero_len },
};
#pragma GCC diagnostic pop

static void test_each_rule_named(void **state)
{
	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct broken *c = &cases[i];
		setup(NULL);
		load_base(c->base);
		vmcs_set(VMCS_VM_ENTRY_INSTRUCTION_LEN, 2);
		assert_vmentry_ok();
		if (c->tweak)
			c->tweak();
		for (u32 j = 0; j < ARRAY_SIZE(c->set); j++)
			if (c->set[j].f)
				vmcs_set(c->set[j].f, c->set[j].v);
		expect_only(i, c->rule);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_valid_states_pass, setup),
		cmocka_unit_test_setup(test_valid_injections_pass, setup),
		cmocka_unit_test_setup(test_each_rule_named, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
