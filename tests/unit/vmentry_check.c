/* VM-entry checks on the fake VMCS (see vmentry_check.h). Section numbers
 * are SDM Vol. 3's; rule names say what must hold. Controls and capability
 * MSRs are the current CPU's; MAXPHYADDR is its MTRR view's (36 bits if
 * unset), linear addresses have 48 bits (the Bochs models). */
#include "vmentry_check.h"
#include <runtime/vmcs01.h>
#include <runtime/vmx_ops.h>
#include <stdio.h>
#include <xmhf/msr.h>
#include <xmhf/paging.h>
#include <xmhf/vmx.h>
#include <xmhf/x86/segment.h>

#define LINEAR_BITS 48
#define SEG_ES 0
#define SEG_CS 1
#define SEG_SS 2
#define SEG_LDTR 6
#define SEG_TR 7
#define AR_RESERVED (0xf00u | 0xfffe0000u) /* bits 11:8 and 31:17 */

static const char *const seg_name[] = { "es", "cs", "ss", "ds", "fs", "gs", "ldtr", "tr" };

struct seg {
	u16 sel;
	u32 limit, ar;
	u64 base;
};

/* What the rules look at, read once. */
struct state {
	struct vmentry_failures *f;
	u64 cr0, cr4, efer, rflags, entry, intr_info;
	u32 intr_type, vector, interruptibility, activity;
	bool ug, ia32e, v86, inject;
	u64 phys_mask; /* bits above MAXPHYADDR */
	struct seg seg[8];
};

static void rule(struct state *s, bool ok, const char *seg, const char *name)
{
	if (ok)
		return;
	if (s->f->n < VMENTRY_MAX_FAILURES)
		snprintf(s->f->rule[s->f->n], VMENTRY_RULE_NAME, "%s%s%s", seg ? seg : "", seg ? " " : "", name);
	s->f->n++;
}
#define RULE(ok, name) rule(s, (ok), NULL, name)

static bool canonical(u64 a) { return (u64)((i64)(a << (64 - LINEAR_BITS)) >> (64 - LINEAR_BITS)) == a; }
static bool usable(const struct seg *g) { return !(g->ar & AR_UNUSABLE); }
static u32 type(const struct seg *g) { return g->ar & AR_TYPE_MASK; }
static u32 dpl(const struct seg *g) { return (g->ar >> AR_DPL_SHIFT) & 3; }

/* G must be 0 if limit bits 11:0 are not all 1, 1 if bits 31:20 are not 0 */
static bool granularity_ok(const struct seg *g)
{
	return ((g->limit & 0xfff) == 0xfff || !(g->ar & AR_G)) && (!(g->limit >> 20) || (g->ar & AR_G));
}

static void read_state(struct state *s)
{
	u64 proc = vmread(VMCS_CPU_BASED_VM_EXEC_CONTROL);
	u64 proc2 = (proc & PROC_ACTIVATE_SECONDARY) ? vmread(VMCS_SECONDARY_VM_EXEC_CONTROL) : 0;
	u64 mask = this_cpu()->mtrr.phys_addr_mask;

	s->cr0 = vmread(VMCS_GUEST_CR0);
	s->cr4 = vmread(VMCS_GUEST_CR4);
	s->efer = vmread(VMCS_GUEST_IA32_EFER);
	s->rflags = vmread(VMCS_GUEST_RFLAGS);
	s->entry = vmread(VMCS_VM_ENTRY_CONTROLS);
	s->intr_info = vmread(VMCS_VM_ENTRY_INTR_INFO);
	s->inject = s->intr_info & INTR_INFO_VALID;
	s->intr_type = s->inject ? INTR_INFO_TYPE(s->intr_info) : ~0u;
	s->vector = INTR_INFO_VECTOR(s->intr_info);
	s->interruptibility = (u32)vmread(VMCS_GUEST_INTERRUPTIBILITY_INFO);
	s->activity = (u32)vmread(VMCS_GUEST_ACTIVITY_STATE);
	s->ug = proc2 & PROC2_UNRESTRICTED_GUEST;
	s->ia32e = s->entry & ENTRY_IA32E_MODE_GUEST;
	s->v86 = s->rflags & RFLAGS_VM;
	s->phys_mask = ~(mask ? mask : (1ull << 36) - 1);
	for (u32 i = 0; i < 8; i++)
		s->seg[i] = (struct seg){ (u16)vmread(VMCS_GUEST_ES_SELECTOR + 2 * i),
					  (u32)vmread(VMCS_GUEST_ES_LIMIT + 2 * i),
					  (u32)vmread(VMCS_GUEST_ES_AR_BYTES + 2 * i),
					  vmread(VMCS_GUEST_ES_BASE + 2 * i) };
}

/* 27.3.1.1 */
static void check_control_registers(struct state *s)
{
	const struct vmx_caps *c = &this_cpu()->vmx;
	u64 fixed0 = c->cr0_fixed0 & ~(s->ug ? CR0_PE | CR0_PG : 0);
	u64 dbg = s->entry & ENTRY_LOAD_DEBUG_CONTROLS;

	RULE((s->cr0 & fixed0) == fixed0 && !(s->cr0 & ~c->cr0_fixed1), "cr0 fixed bits");
	RULE(!(s->cr0 & CR0_PG) || (s->cr0 & CR0_PE), "cr0 pg needs pe");
	RULE((s->cr4 & c->cr4_fixed0) == c->cr4_fixed0 && !(s->cr4 & ~c->cr4_fixed1), "cr4 fixed bits");
	RULE(!(s->cr4 & CR4_CET) || (s->cr0 & CR0_WP), "cr4 cet needs cr0 wp");
	RULE(!dbg || !(vmread(VMCS_GUEST_IA32_DEBUGCTL) & DEBUGCTL_RESERVED), "debugctl reserved bits");
	RULE(!s->ia32e || ((s->cr0 & CR0_PG) && (s->cr4 & CR4_PAE)), "ia32e mode needs cr0 pg and cr4 pae");
	RULE(s->ia32e || !(s->cr4 & CR4_PCIDE), "cr4 pcide needs ia32e mode");
	RULE(!(vmread(VMCS_GUEST_CR3) & s->phys_mask), "cr3 beyond maxphyaddr");
	RULE(!dbg || !(vmread(VMCS_GUEST_DR7) >> 32), "dr7 bits 63:32");
	RULE(canonical(vmread(VMCS_GUEST_SYSENTER_ESP)), "sysenter esp canonical");
	RULE(canonical(vmread(VMCS_GUEST_SYSENTER_EIP)), "sysenter eip canonical");
	if (s->entry & ENTRY_LOAD_PAT) {
		u64 pat = vmread(VMCS_GUEST_IA32_PAT);
		bool ok = true;
		for (u32 i = 0; i < 8; i++) {
			u32 t = (pat >> (8 * i)) & 0xff;
			ok &= t == 0 || t == 1 || (t >= 4 && t <= 7);
		}
		RULE(ok, "pat memory types");
	}
	if (s->entry & ENTRY_LOAD_EFER) {
		RULE(!(s->efer & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)), "efer reserved bits");
		RULE(!!(s->efer & EFER_LMA) == s->ia32e, "efer lma equals ia32e mode guest");
		RULE(!(s->cr0 & CR0_PG) || !!(s->efer & EFER_LMA) == !!(s->efer & EFER_LME),
		     "efer lma equals lme with cr0 pg");
	}
}

/* SS, DS, ES, FS, GS when usable and not in virtual-8086 mode (SS's type
 * and DPL have rules of their own) */
static void check_data_segment(struct state *s, u32 i)
{
	const struct seg *g = &s->seg[i];
	const char *n = seg_name[i];
	if (!usable(g))
		return;
	if (i != SEG_SS) {
		rule(s, type(g) & 1, n, "accessed");
		rule(s, !(type(g) & 8) || (type(g) & 2), n, "code readable");
		rule(s, s->ug || type(g) > 11 || dpl(g) >= (g->sel & SEL_RPL), n, "dpl >= rpl");
	}
	rule(s, g->ar & AR_S, n, "s");
	rule(s, g->ar & AR_P, n, "present");
	rule(s, !(g->ar & AR_RESERVED), n, "reserved bits");
	rule(s, granularity_ok(g), n, "granularity");
}

static void check_system_segment(struct state *s, u32 i, bool type_ok)
{
	const struct seg *g = &s->seg[i];
	const char *n = seg_name[i];
	rule(s, type_ok, n, "type");
	rule(s, !(g->ar & AR_S), n, "s");
	rule(s, g->ar & AR_P, n, "present");
	rule(s, !(g->ar & AR_RESERVED), n, "reserved bits");
	rule(s, granularity_ok(g), n, "granularity");
}

/* 27.3.1.2 */
static void check_segments(struct state *s)
{
	const struct seg *cs = &s->seg[SEG_CS], *ss = &s->seg[SEG_SS];
	const struct seg *tr = &s->seg[SEG_TR], *ldtr = &s->seg[SEG_LDTR];

	RULE(!(tr->sel & SEL_TI), "tr selector ti");
	RULE(!usable(ldtr) || !(ldtr->sel & SEL_TI), "ldtr selector ti");
	RULE(s->v86 || s->ug || (ss->sel & SEL_RPL) == (cs->sel & SEL_RPL), "ss rpl equals cs rpl");
	RULE(canonical(tr->base), "tr base canonical");
	RULE(canonical(s->seg[4].base), "fs base canonical");
	RULE(canonical(s->seg[5].base), "gs base canonical");
	RULE(!usable(ldtr) || canonical(ldtr->base), "ldtr base canonical");
	RULE(!(cs->base >> 32), "cs base bits 63:32");
	for (u32 i = SEG_ES; i <= 3; i++)
		if (i != SEG_CS)
			rule(s, !usable(&s->seg[i]) || !(s->seg[i].base >> 32), seg_name[i], "base bits 63:32");
	if (s->v86) {
		for (u32 i = SEG_ES; i <= 5; i++) {
			const struct seg *g = &s->seg[i];
			rule(s, g->base == (u64)g->sel << 4, seg_name[i], "v86 base");
			rule(s, g->limit == 0xffff, seg_name[i], "v86 limit");
			rule(s, g->ar == AR_V86, seg_name[i], "v86 access rights");
		}
	} else {
		u32 t = type(cs);
		RULE(t == 9 || t == 11 || t == 13 || t == 15 || (s->ug && t == 3), "cs type");
		RULE(cs->ar & AR_S, "cs s");
		RULE(t != 3 || dpl(cs) == 0, "cs dpl 0 with data type");
		RULE((t != 9 && t != 11) || dpl(cs) == dpl(ss), "cs dpl equals ss dpl");
		RULE((t != 13 && t != 15) || dpl(cs) <= dpl(ss), "cs dpl <= ss dpl");
		RULE(cs->ar & AR_P, "cs present");
		RULE(!(cs->ar & AR_RESERVED), "cs reserved bits");
		RULE(!s->ia32e || !(cs->ar & AR_L) || !(cs->ar & AR_DB), "cs d clear with l in ia32e mode");
		RULE(granularity_ok(cs), "cs granularity");
		RULE(!usable(ss) || type(ss) == 3 || type(ss) == 7, "ss type");
		RULE(s->ug || dpl(ss) == (ss->sel & SEL_RPL), "ss dpl equals rpl");
		RULE((t != 3 && (s->cr0 & CR0_PE)) || dpl(ss) == 0, "ss dpl 0 in real mode or with data cs");
		for (u32 i = SEG_ES; i <= 5; i++)
			if (i != SEG_CS)
				check_data_segment(s, i);
	}
	RULE(usable(tr), "tr usable");
	check_system_segment(s, SEG_TR, s->ia32e ? type(tr) == DESC_TSS32_BUSY
						 : type(tr) == DESC_TSS16_BUSY || type(tr) == DESC_TSS32_BUSY);
	if (usable(ldtr))
		check_system_segment(s, SEG_LDTR, type(ldtr) == DESC_LDT);
}

/* 27.3.1.3, 27.3.1.4 */
static void check_descriptor_tables_rip_rflags(struct state *s)
{
	bool code64 = s->ia32e && (s->seg[SEG_CS].ar & AR_L);
	u64 rip = vmread(VMCS_GUEST_RIP);

	RULE(canonical(vmread(VMCS_GUEST_GDTR_BASE)), "gdtr base canonical");
	RULE(canonical(vmread(VMCS_GUEST_IDTR_BASE)), "idtr base canonical");
	RULE(!(vmread(VMCS_GUEST_GDTR_LIMIT) >> 16), "gdtr limit bits 31:16");
	RULE(!(vmread(VMCS_GUEST_IDTR_LIMIT) >> 16), "idtr limit bits 31:16");
	RULE(code64 || !(rip >> 32), "rip bits 63:32 outside 64-bit mode");
	RULE(!code64 || canonical(rip), "rip canonical");
	RULE(!(s->rflags & RFLAGS_RESERVED_0) && (s->rflags & RFLAGS_RESERVED_1), "rflags reserved bits");
	RULE(!s->v86 || (!s->ia32e && (s->cr0 & CR0_PE)), "rflags vm needs protected mode outside ia32e");
	RULE(s->intr_type != EVENT_EXT_INTR || (s->rflags & RFLAGS_IF), "rflags if for external interrupt");
}

/* 27.3.1.5 */
static void check_non_register_state(struct state *s)
{
	const struct vmx_caps *c = &this_cpu()->vmx;
	u32 in = s->interruptibility, a = s->activity;
	bool shadow = in & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS);
	u64 pending = vmread(VMCS_GUEST_PENDING_DBG_EXCEPTIONS);
	u64 link = vmread(VMCS_VMCS_LINK_POINTER);

	RULE(a == ACTIVITY_ACTIVE || (a <= ACTIVITY_WAIT_SIPI && (c->misc & BIT(VMX_MISC_ACTIVITY_SHIFT + a))),
	     "activity state supported");
	RULE(a != ACTIVITY_HLT || dpl(&s->seg[SEG_SS]) == 0, "activity hlt needs ss dpl 0");
	RULE(a == ACTIVITY_ACTIVE || !shadow, "activity active in sti/mov-ss shadow");
	if (s->inject) {
		bool hlt_ok = s->intr_type == EVENT_EXT_INTR || s->intr_type == EVENT_NMI ||
			      (s->intr_type == EVENT_HW_EXCEPTION && (s->vector == VECTOR_DB || s->vector == VECTOR_MC)) ||
			      (s->intr_type == EVENT_OTHER && s->vector == 0);
		bool shutdown_ok = s->intr_type == EVENT_NMI ||
				   (s->intr_type == EVENT_HW_EXCEPTION && s->vector == VECTOR_MC);
		RULE((a != ACTIVITY_HLT || hlt_ok) && (a != ACTIVITY_SHUTDOWN || shutdown_ok) &&
			     a != ACTIVITY_WAIT_SIPI,
		     "injected event blocked by activity state");
	}
	/* bit 4 (enclave interruption) too: the guest has no SGX */
	RULE(!(in & ~0xfu), "interruptibility reserved bits");
	RULE((in & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)) != (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS),
	     "interruptibility sti and mov-ss");
	RULE(!(in & INTERRUPTIBILITY_STI) || (s->rflags & RFLAGS_IF), "interruptibility sti needs rflags if");
	RULE(s->intr_type != EVENT_EXT_INTR || !shadow, "external interrupt injected in sti/mov-ss shadow");
	RULE(s->intr_type != EVENT_NMI || !(in & INTERRUPTIBILITY_MOV_SS), "nmi injected in mov-ss shadow");
	/* "a processor may require" it: we do, as KVM does */
	RULE(s->intr_type != EVENT_NMI || !(in & INTERRUPTIBILITY_STI), "nmi injected in sti shadow");
	RULE(!(in & INTERRUPTIBILITY_SMI), "interruptibility smi blocking outside smm");
	RULE(s->intr_type != EVENT_NMI || !(in & INTERRUPTIBILITY_NMI) ||
		     !(vmread(VMCS_PIN_BASED_VM_EXEC_CONTROL) & PIN_VIRTUAL_NMIS),
	     "virtual nmi injected while blocked");

	RULE(!(pending & ~(DR6_B0_B3 | PENDING_DBG_ENABLED_BP | DR6_BS | DR6_RTM)), "pending debug reserved bits");
	if (shadow || a == ACTIVITY_HLT) {
		bool tf = (s->rflags & RFLAGS_TF) && !(vmread(VMCS_GUEST_IA32_DEBUGCTL) & DEBUGCTL_BTF);
		RULE(!!(pending & DR6_BS) == tf, "pending debug bs equals single-step trap");
	}
	RULE(!(pending & DR6_RTM) || ((pending & 0xffff) == PENDING_DBG_ENABLED_BP && !(in & INTERRUPTIBILITY_MOV_SS)),
	     "pending debug rtm");
	RULE(link == ~0ull || (!(link & 0xfff) && !(link & s->phys_mask)), "vmcs link pointer");
}

/* 27.3.1.6: with EPT, the PDPTE fields are checked under PAE paging */
static void check_pdptes(struct state *s)
{
	if (!(s->cr0 & CR0_PG) || !(s->cr4 & CR4_PAE) || s->ia32e)
		return;
	for (u32 i = 0; i < 4; i++) {
		u64 e = vmread(VMCS_GUEST_PDPTE0 + 2 * i);
		RULE(!(e & PTE_P) || !(e & (PDPTE_RESERVED | s->phys_mask)), "pdpte reserved bits");
	}
}

/* 27.2.1.3 */
static void check_event_injection(struct state *s)
{
	const struct vmx_caps *c = &this_cpu()->vmx;
	u32 t = s->intr_type, v = s->vector;
	bool ec = s->intr_info & INTR_INFO_DELIVER_ERROR_CODE, prot = !s->ug || (s->cr0 & CR0_PE);
	bool ec_vector = v == VECTOR_DF || (v >= VECTOR_TS && v <= VECTOR_PF) || v == VECTOR_AC || v == VECTOR_CP;
	u64 len = vmread(VMCS_VM_ENTRY_INSTRUCTION_LEN);

	if (!s->inject)
		return;
	RULE(!(s->intr_info & 0x7ffff000u), "injection reserved bits");
	RULE(t != EVENT_RESERVED && (t != EVENT_OTHER || (vmx_ctl_allowed1(c->procbased) & PROC_MONITOR_TRAP_FLAG)),
	     "injection type");
	RULE(t != EVENT_NMI || v == VECTOR_NMI, "injected nmi vector 2");
	RULE(t != EVENT_HW_EXCEPTION || v <= 31, "injected exception vector <= 31");
	RULE(t != EVENT_OTHER || v == 0, "injected other event vector 0");
	RULE(prot || !ec, "injected error code in real mode");
	RULE(t == EVENT_HW_EXCEPTION || !ec, "injected error code for a non-exception");
	RULE(t != EVENT_HW_EXCEPTION || !prot || (c->basic & VMX_BASIC_NO_ERROR_CODE_CHECK) || ec == ec_vector,
	     "injected error code matches vector");
	RULE(!ec || !(vmread(VMCS_VM_ENTRY_EXCEPTION_ERROR_CODE) >> 16), "injected error code bits 31:16");
	RULE((t != EVENT_SW_INT && t != EVENT_PRIV_SW_EXCEPTION && t != EVENT_SW_EXCEPTION) ||
		     (len >= 1 && len <= 15) || (len == 0 && (c->misc & VMX_MISC_ZERO_LEN_INJECTION)),
	     "injected software event instruction length");
}

void vmentry_check(struct vmentry_failures *f)
{
	struct state s = { .f = f };
	f->n = 0;
	read_state(&s);
	check_control_registers(&s);
	check_segments(&s);
	check_descriptor_tables_rip_rflags(&s);
	check_non_register_state(&s);
	check_pdptes(&s);
	check_event_injection(&s);
}

void assert_vmentry_ok(void)
{
	struct vmentry_failures f;
	char all[VMENTRY_MAX_FAILURES * (VMENTRY_RULE_NAME + 2)] = "";
	vmentry_check(&f);
	for (u32 i = 0; i < f.n && i < VMENTRY_MAX_FAILURES; i++)
		strcat(strcat(all, i ? ", " : ""), f.rule[i]);
	if (f.n)
		fail_msg("VM entry would fail (%u rules): %s", f.n, all);
}

void vmentry_vmcs01(u32 cpu)
{
	fake_set_cpu(cpu);
	caps_skylake_x(&percpu[cpu].vmx);
	assert_null(vmcs01_init(cpu));
}
